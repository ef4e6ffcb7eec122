/* SPDX-License-Identifier: MIT */
/* The soft controller: an NVMe controller in CPU threads for machines with
 * no NVMe device. Its BAR0 (registers and doorbells), its I/O queues and
 * the data buffers are host memory the submitter (GPU or CPU threads)
 * shares with it; a RAM namespace holds the data. Plain C and pthreads,
 * no CUDA: CI drives it with CPU threads, the device tests with the GPU.
 *
 * It checks what the specification constrains in every SQE (opcode, FUSE,
 * PSDT, NSID, PRINFO/DTYPE, LBA range, MDTS, PRP alignment and list
 * walking, the DMA window), completes in order, reversed or shuffled,
 * injects error statuses, dropped commands, delays, honours CQ-full by
 * stalling until the CQ head doorbell moves, and counts what it saw.
 *
 * The controller comes up enabled (CSTS.RDY = 1); CC/CSTS bring-up is not
 * emulated. Admin commands are executed synchronously by
 * homi_softctrl_admin(), not through an admin queue. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vfio/nvme-queue.h"

#ifdef __cplusplus
extern "C" {
#endif

struct homi_softctrl;

struct homi_softctrl_config {
	uint32_t page_size;   /* controller memory page size, default 4096 */
	uint32_t mdts_pages;  /* maximum transfer in pages, 0 = no limit */
	uint32_t lba_shift;   /* 9 or 12 */
	uint64_t nlbas;       /* namespace size in LBAs */
	uint32_t nsid;        /* the only namespace, default 1 */
	uint16_t max_ioqs;    /* I/O queue pairs, default 64 */
	uint32_t mqes;        /* maximum queue entries, default 4096 */
	uint32_t dstrd;       /* doorbell stride (CAP.DSTRD), default 0 */
	uint32_t workers;     /* worker threads, default min(max_ioqs, 8) */
	uint64_t iova_base;   /* first IOVA dma_map hands out, default 1 << 36 */
};

enum homi_softctrl_order {
	HOMI_SOFTCTRL_IN_ORDER = 0,
	HOMI_SOFTCTRL_REVERSE,  /* each fetched batch completes last to first */
	HOMI_SOFTCTRL_SHUFFLE,  /* each fetched batch completes in random order */
};

/* Faults, effective for commands fetched after homi_softctrl_set_faults(). */
struct homi_softctrl_faults {
	enum homi_softctrl_order order;
	uint32_t max_fetch;     /* SQEs taken per doorbell look, 0 = all */
	uint64_t err_mod;       /* valid reads/writes with SLBA % err_mod == err_rem */
	uint64_t err_rem;       /*   complete with err_status (0 = off) */
	uint16_t err_status;    /*   status field, e.g. media error 0x281 | DNR */
	uint64_t drop_mod;      /* valid reads/writes with SLBA % drop_mod == drop_rem */
	uint64_t drop_rem;      /*   never complete (0 = off) */
	uint32_t delay_us;      /* wait before posting each CQE */
	uint32_t seed;          /* shuffle seed */
};

struct homi_softctrl_stats {
	uint64_t fetched;        /* SQEs consumed */
	uint64_t completed;      /* CQEs posted */
	uint64_t bad_status;     /* CQEs posted with a nonzero status */
	uint64_t injected;       /* of those, injected errors */
	uint64_t dropped;        /* commands never completed */
	uint64_t window_faults;  /* PRP or list outside every DMA window */
	uint64_t cq_full_stalls; /* times posting waited for the CQ head doorbell */
	uint64_t sqe_repeats;    /* SQEs bit-identical to the one the slot held before */
	uint64_t doorbell_errors;/* doorbell values outside the queue */
	uint64_t bytes;          /* data moved */
};

void homi_softctrl_config_default(struct homi_softctrl_config *cfg);
int homi_softctrl_create(const struct homi_softctrl_config *cfg, struct homi_softctrl **out);
void homi_softctrl_destroy(struct homi_softctrl *sc);

const struct homi_softctrl_config *homi_softctrl_cfg(const struct homi_softctrl *sc);
/* BAR0: CAP, VS, CC, CSTS at their offsets, doorbells from 0x1000. */
void *homi_softctrl_bar0(struct homi_softctrl *sc, size_t *len);
/* The RAM namespace, nlbas << lba_shift bytes. */
uint8_t *homi_softctrl_ns(struct homi_softctrl *sc, size_t *len);

/* DMA windows: VA and LEN page aligned; IOVAs come from a bump allocator
 * and never equal the VA, so a VA used as a PRP faults. */
int homi_softctrl_dma_map(struct homi_softctrl *sc, void *va, size_t len, uint64_t *iova);
int homi_softctrl_dma_unmap(struct homi_softctrl *sc, void *va, size_t len);

/* Create/Delete I/O SQ/CQ, Identify (CNS 0, 1), Set Features Number of
 * Queues. Returns 0 with the CQE in CPL, or -EINVAL for a null argument. */
int homi_softctrl_admin(struct homi_softctrl *sc, const struct homi_nvme_sqe *cmd, struct homi_nvme_cqe *cpl);

void homi_softctrl_set_faults(struct homi_softctrl *sc, const struct homi_softctrl_faults *f);
void homi_softctrl_get_stats(struct homi_softctrl *sc, struct homi_softctrl_stats *st);
void homi_softctrl_reset_stats(struct homi_softctrl *sc);

#ifdef __cplusplus
}
#endif
