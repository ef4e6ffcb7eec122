/* SPDX-License-Identifier: MIT */
/* What the parts of the NVMe driver share: register access, barriers, the
 * clock, and the controller and queue pair structures. Not for callers. */
#pragma once

#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "nvme-driver.h"

#define HOMI_NVME_PAGE 4096u
#define HOMI_NVME_DEFAULT_TIMEOUT_MS 5000u
/* Without completions for this long, CSTS is read to see whether the
 * controller is still there. */
#define HOMI_NVME_LIVENESS_NS (10ULL * 1000 * 1000)

/* Stores to DMA memory before a doorbell write; reads of a CQE after its
 * phase tag. x86 keeps both orders by itself (a compiler barrier is enough,
 * as in Linux's writel); arm64 needs dmb against the device. */
static inline void homi_dma_wmb(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("" ::: "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("dmb oshst" ::: "memory");
#else
	__sync_synchronize();
#endif
}

static inline void homi_dma_rmb(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("" ::: "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("dmb oshld" ::: "memory");
#else
	__sync_synchronize();
#endif
}

static inline uint32_t homi_mmio_read32(volatile void *bar, uint32_t off)
{
	return *(volatile uint32_t *)((volatile uint8_t *)bar + off);
}

static inline void homi_mmio_write32(volatile void *bar, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)((volatile uint8_t *)bar + off) = v;
}

static inline uint64_t homi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct homi_nvme_req {
	homi_nvme_done_fn fn;
	void *arg;
	uint64_t deadline;   /* ns */
	uint32_t timeout_ms;
	uint8_t opc;
	bool busy;
};

struct homi_nvme_qpair {
	struct homi_nvme_ctrl *ctrl;
	struct homi_nvme_ioq ioq;
	bool admin;
	struct homi_nvme_sq sq;
	struct homi_nvme_cq cq;
	struct homi_nvme_sqe *sqes;
	volatile struct homi_nvme_cqe *cqes;
	uint16_t db_tail;              /* the tail last written to the doorbell */
	struct homi_nvme_req *reqs;    /* by CID */
	uint16_t *free_cids;
	uint16_t n_free, capacity;
	uint64_t next_deadline;        /* earliest deadline in flight (a lower bound) */
	uint64_t last_progress;        /* ns: last completion, or the first submit after idling */
	int failed;                    /* sticky: 0 or a negative errno */
	struct {
		uint16_t status, cid;
		uint8_t opc;
		uint32_t timeout_ms, csts;
	} last;
	bool owns_mem;                 /* homi_nvme_io_qpair_alloc */
	struct homi_dma_mem mem;
};

struct homi_nvme_ctrl {
	volatile void *bar;
	size_t bar_len;
	const struct homi_dma_ops *ops;
	void *ops_ctx;
	uint64_t cap;
	uint32_t vs, dstrd, page, to_ms, timeout_ms;
	struct homi_dma_mem admin_mem, scratch;
	struct homi_nvme_qpair *admin;
	struct homi_nvme_ctrl_info info;
	bool dead;
	uint32_t last_csts;
};

/* The host queue pair on queue QID with SQES/CQES (zeroed CQ) and the
 * doorbells of QID; used for the admin queue and I/O queues alike. */
int homi_nvme_qpair_init(struct homi_nvme_ctrl *c, const struct homi_nvme_ioq *q, bool admin,
			 struct homi_nvme_qpair **ret);
uint64_t homi_nvme_read_cap(volatile void *bar);
/* 0 when the doorbells of QID lie inside BAR0, else -ERANGE. */
int homi_nvme_ctrl_doorbell_fits(const struct homi_nvme_ctrl *c, uint16_t qid);
