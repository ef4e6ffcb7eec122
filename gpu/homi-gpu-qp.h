/* SPDX-License-Identifier: MIT */
/* A GPU-usable I/O queue pair as device code sees it: where its SQ, CQ and
 * doorbells are, the submitter's tail/head/phase/CID state, the namespace
 * it reads and writes, and its data buffers with their bus addresses.
 * libhomi-gpu fills it (gpu/homi-gpu.h); the device API uses it
 * (gpu/homi-gpu-dev.cuh). One group (a block or a warp) owns a pair at a
 * time: the state below is not shared between groups. Plain C. */
#pragma once

#include <stdint.h>

#include "vfio/nvme-queue.h"

#ifdef __cplusplus
extern "C" {
#endif

struct homi_gpu_qp {
	/* queue memory and doorbells, as device pointers */
	struct homi_nvme_sqe *sq;
	struct homi_nvme_cqe *cq;
	uint32_t *sqdb, *cqdb;
	uint32_t qid, sq_depth, cq_depth, flags;

	/* submitter state, owned by the group that uses the pair */
	uint32_t sq_tail, cq_head, cq_phase, cid_next;
	uint32_t broken; /* a command timed out: the pair must be recreated */
	uint32_t reserved;
	/* per command, in clock64() cycles of the SM, computed from the peak
	 * clock (cudaDevAttrClockRate): at a lower SM clock the wall time of
	 * a timeout is longer, never shorter */
	uint64_t timeout_cycles;

	/* the namespace */
	uint32_t nsid, lba_shift;
	uint64_t nlbas;
	uint32_t page_size, mdts_bytes;

	/* data buffers: buffer b is buf + b * buf_bytes (device view); its
	 * pages' bus addresses are buf_pages[b * buf_npages ...], its PRP list
	 * (one page, no chaining) is at bus address buf_list[b], 0 if a
	 * buffer spans two pages or fewer */
	uint8_t *buf;
	const uint64_t *buf_pages;
	const uint64_t *buf_list;
	uint32_t nbuf, buf_bytes, buf_npages, reserved2;

	/* counters, kept by the group leader */
	unsigned long long n_cmds;     /* commands submitted */
	unsigned long long n_timeouts; /* commands that got no CQE in time */
	unsigned long long n_proto;    /* CQEs whose CID matched no command in flight */
};

#ifdef __cplusplus
}
#endif
