/* SPDX-License-Identifier: MIT */
/* The loopback endpoint: a controller played by GPU threads in GPU memory
 * (gpu/homi-gpu-loopback.cuh), to measure the ceiling of the device-side
 * queue engine with no PCIe device. Through the controller-endpoint
 * callbacks it looks like any controller: its doorbell page is GPU memory,
 * its "IOVAs" are device pointers, its admin commands record the queues.
 * No data moves: a command completes without touching its buffers. */
#pragma once

#include <stdint.h>

#include "homi-gpu-ctrl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What one responder group serves (device memory, device pointers), and
 * the responder's state, kept between launches. */
struct homi_loopback_queue {
	struct homi_nvme_sqe *sq;
	struct homi_nvme_cqe *cq;
	uint32_t *sqdb, *cqdb;
	uint32_t qid, sq_depth, cq_depth;
	uint32_t sq_head, cq_tail, cq_phase;
};

/* Responder behaviour. */
struct homi_loopback_ctl {
	uint32_t reverse;      /* complete each batch last to first */
	uint32_t err_mod;      /* commands with SLBA % err_mod == err_rem */
	uint32_t err_rem;      /*   complete with err_status (err_mod 0: off) */
	uint32_t err_status;
	uint64_t idle_cycles;  /* give up after this long without a command */
};

struct homi_loopback;

int homi_loopback_create(uint16_t max_queues, struct homi_loopback **out);
void homi_loopback_destroy(struct homi_loopback *lb);
void homi_loopback_endpoint(struct homi_loopback *lb, struct homi_gpu_ctrl *ep);
/* A device array describing queues FIRST_QID .. FIRST_QID + N - 1, all
 * created; free it with homi_loopback_queues_free(). */
int homi_loopback_queues(struct homi_loopback *lb, uint16_t first_qid, uint32_t n,
			 struct homi_loopback_queue **dev);
void homi_loopback_queues_free(struct homi_loopback_queue *dev);

#ifdef __cplusplus
}
#endif
