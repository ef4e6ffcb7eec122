/* SPDX-License-Identifier: MIT */
/* libhomi-vfio, the NVMe half: a minimal polled NVMe driver on a mapped
 * BAR0 and DMA memory (normally a VF opened with homi_vfio_open).
 *
 * The queue protocol itself (registers, SQE/CQE, doorbells, tail/head/phase,
 * command builders, PRPs) is nvme-queue.h, shared with gpu/. This layer
 * adds what only the CPU does: bring-up and reset of the controller, the
 * admin queue, I/O queue creation with memory the caller supplies, and a
 * host-side queue pair that tracks commands by ID with per-command timeouts.
 *
 * Conventions: 0 or a negative errno. A command that completed with an
 * NVMe error status returns -EIO and gives the status (SCT << 8 | SC, DNR
 * and More included, as nvme-queue.h's homi_nvme_cqe_status) through
 * RET_STATUS. -ETIMEDOUT: a command did not complete in its time; the queue
 * pair is unusable afterwards (its command ID may still complete). -ENODEV:
 * the controller vanished under us (CSTS reads all ones, reports Controller
 * Fatal Status, or lost Ready: a PF reset takes every VF offline). Nothing
 * here prints; homi_nvme_qpair_strerror() words the last failure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvme-queue.h"
#include "vfio.h"

struct homi_nvme_ctrl;
struct homi_nvme_qpair;

/* ---- Identify data, the fields used ---------------------------------------- */
struct homi_nvme_ctrl_info {
	uint16_t vid, ssvid, cntlid;
	char sn[21], mn[41], fr[9];     /* trailing spaces removed */
	uint8_t mdts;                   /* raw: 2^MDTS units of CAP.MPSMIN, 0 = no limit */
	uint32_t ver, nn;
	uint16_t oncs;
	uint8_t vwc, sqes, cqes;
	uint32_t max_xfer;              /* bytes per command: MDTS, or 0 for no limit */
};

struct homi_nvme_ns_info {
	uint32_t nsid;
	uint64_t nsze, ncap, nuse;      /* in logical blocks */
	uint32_t lba_size;              /* bytes */
	uint16_t ms;                    /* metadata bytes per block */
	uint8_t lbaf;                   /* format index in use */
};

/* Parses a 4096-byte Identify Controller (CNS 1) / Namespace (CNS 0) page.
 * MPSMIN (bytes) scales MDTS. homi_nvme_parse_ns returns -ENOENT for an
 * inactive namespace (all zeros) and -EBADMSG for an impossible format. */
void homi_nvme_parse_ctrl(const void *page, uint32_t mpsmin, struct homi_nvme_ctrl_info *ret);
int homi_nvme_parse_ns(const void *page, uint32_t nsid, struct homi_nvme_ns_info *ret);

/* ---- status and names ------------------------------------------------------ */
/* "NVMe status 0x4080 (LBA Out of Range, do not retry)"; the name comes
 * from libhomi's homi_nvme_status_name (src/nvme.h), the one table. */
void homi_nvme_status_format(uint16_t status, char *buf, size_t len);
/* A negative errno that fits STATUS best (-EIO when none fits better). */
int homi_nvme_status_errno(uint16_t status);
const char *homi_nvme_opcode_name(bool admin, uint8_t opc);
/* "CSTS=0x00000002: Controller Fatal Status ..." for a vanished controller. */
void homi_nvme_csts_describe(uint32_t csts, char *buf, size_t len);

/* ---- the controller -------------------------------------------------------- */
struct homi_nvme_opts {
	uint16_t admin_depth;        /* admin queue entries; 0: 32 */
	uint32_t timeout_ms;         /* default per-command timeout; 0: 5000 */
};

/* Disables the controller (waits CAP.TO for Ready to drop), sets up the
 * admin queue in memory from OPS, enables it (waits CAP.TO for Ready) and
 * reads Identify Controller. Failures are worded in ERR. */
int homi_nvme_ctrl_open(volatile void *bar0, size_t bar_len, const struct homi_dma_ops *ops, void *ops_ctx,
			const struct homi_nvme_opts *opts, struct homi_nvme_ctrl **ret, char *err, size_t errlen);
/* The same on an opened VF (BAR0 and DMA memory of V). */
int homi_nvme_ctrl_open_vfio(struct homi_vfio *v, const struct homi_nvme_opts *opts, struct homi_nvme_ctrl **ret,
			     char *err, size_t errlen);
/* Disables the controller (unless it vanished) and frees the admin queue.
 * I/O queue pairs must be gone first. NULL is fine. */
struct homi_nvme_ctrl *homi_nvme_ctrl_close(struct homi_nvme_ctrl *c);

const struct homi_nvme_ctrl_info *homi_nvme_ctrl_info(const struct homi_nvme_ctrl *c);
uint64_t homi_nvme_ctrl_cap(const struct homi_nvme_ctrl *c);
uint32_t homi_nvme_ctrl_vs(const struct homi_nvme_ctrl *c);
uint32_t homi_nvme_ctrl_page_size(const struct homi_nvme_ctrl *c);   /* memory page size in CC.MPS */
uint32_t homi_nvme_ctrl_dstrd(const struct homi_nvme_ctrl *c);
volatile void *homi_nvme_ctrl_bar0(const struct homi_nvme_ctrl *c);
/* The largest queue (entries) the controller takes: CAP.MQES + 1. */
uint32_t homi_nvme_ctrl_max_entries(const struct homi_nvme_ctrl *c);
/* Bytes per command this driver allows: MDTS, and one PRP list page. */
uint32_t homi_nvme_ctrl_max_xfer(const struct homi_nvme_ctrl *c);
const struct homi_dma_ops *homi_nvme_ctrl_dma(const struct homi_nvme_ctrl *c, void **ret_ctx);
struct homi_nvme_qpair *homi_nvme_ctrl_admin(const struct homi_nvme_ctrl *c);

/* Reads CSTS: 0 while the controller is alive and ready; -ENODEV once it
 * vanished (all ones, CFS, or Ready lost), with CSTS in RET_CSTS. */
int homi_nvme_ctrl_check(struct homi_nvme_ctrl *c, uint32_t *ret_csts);

/* ---- admin commands -------------------------------------------------------- */
int homi_nvme_identify_ctrl(struct homi_nvme_ctrl *c, struct homi_nvme_ctrl_info *ret, uint16_t *ret_status);
int homi_nvme_identify_ns(struct homi_nvme_ctrl *c, uint32_t nsid, struct homi_nvme_ns_info *ret,
			  uint16_t *ret_status);
/* Set Features Number of Queues: asks for NSQ/NCQ I/O queues, returns how
 * many the controller allocated (it may give fewer, or more). */
int homi_nvme_set_num_queues(struct homi_nvme_ctrl *c, uint16_t nsq, uint16_t ncq, uint16_t *ret_nsq,
			     uint16_t *ret_ncq, uint16_t *ret_status);

/* ---- I/O queues with caller memory (gpu/ supplies its own) ------------------ */
struct homi_nvme_ioq {
	uint16_t qid, depth;            /* depth: entries (depth - 1 commands in flight) */
	void *sq_va, *cq_va;            /* host addresses, or NULL for memory the CPU does not touch */
	uint64_t sq_iova, cq_iova;      /* what the controller uses */
	volatile uint32_t *sq_db, *cq_db; /* doorbells in BAR0 */
};

/* Creates I/O CQ QID, then I/O SQ QID on it (physically contiguous, no
 * interrupts). SQ: DEPTH * 64 bytes, CQ: DEPTH * 16 bytes, both page
 * aligned in IOVA space. The CQ is zeroed through CQ_VA before creation;
 * a caller passing CQ_VA == NULL promises it zeroed the CQ itself (phase
 * tags 0). On failure nothing stays created. */
int homi_nvme_ioq_create(struct homi_nvme_ctrl *c, uint16_t qid, uint16_t depth, void *sq_va, uint64_t sq_iova,
			 void *cq_va, uint64_t cq_iova, struct homi_nvme_ioq *ret, uint16_t *ret_status);
/* Deletes the SQ, then the CQ. */
int homi_nvme_ioq_delete(struct homi_nvme_ctrl *c, const struct homi_nvme_ioq *q, uint16_t *ret_status);

/* ---- host queue pairs (admin queue, and I/O queues the CPU drives) --------- */
typedef void (*homi_nvme_done_fn)(void *arg, uint16_t status, uint32_t dw0);

/* Host polling state on a created I/O queue (sq_va and cq_va needed). */
int homi_nvme_qpair_new(struct homi_nvme_ctrl *c, const struct homi_nvme_ioq *q, struct homi_nvme_qpair **ret);
struct homi_nvme_qpair *homi_nvme_qpair_free(struct homi_nvme_qpair *qp);
/* An I/O queue pair with memory of the controller's allocator: memory,
 * create, state; and its undoing (delete, free memory). */
int homi_nvme_io_qpair_alloc(struct homi_nvme_ctrl *c, uint16_t qid, uint16_t depth, struct homi_nvme_qpair **ret,
			     uint16_t *ret_status);
int homi_nvme_io_qpair_destroy(struct homi_nvme_ctrl *c, struct homi_nvme_qpair *qp);

/* Queues a copy of SQE (its CID is assigned here) to complete within
 * TIMEOUT_MS (0: the controller default); FN(ARG, status, dw0) runs from
 * homi_nvme_qpair_poll. The doorbell is rung by homi_nvme_qpair_ring.
 * -EBUSY when the queue is full. */
int homi_nvme_qpair_submit(struct homi_nvme_qpair *qp, const struct homi_nvme_sqe *sqe, uint32_t timeout_ms,
			   homi_nvme_done_fn fn, void *arg);
void homi_nvme_qpair_ring(struct homi_nvme_qpair *qp);
/* Reaps up to MAX completions (0: all there are) by phase tag, attributes
 * each by command ID, rings the CQ head doorbell. Returns the number
 * reaped; -ETIMEDOUT, -ENODEV, or -EPROTO (a completion for a command ID
 * not in flight). After a failure the queue pair keeps returning it. */
int homi_nvme_qpair_poll(struct homi_nvme_qpair *qp, uint32_t max);
/* Submit, ring and poll until that command completes. */
int homi_nvme_qpair_exec(struct homi_nvme_qpair *qp, const struct homi_nvme_sqe *sqe, uint32_t timeout_ms,
			 uint16_t *ret_status, uint32_t *ret_dw0);
uint16_t homi_nvme_qpair_outstanding(const struct homi_nvme_qpair *qp);
uint16_t homi_nvme_qpair_capacity(const struct homi_nvme_qpair *qp);   /* depth - 1 */
const struct homi_nvme_ioq *homi_nvme_qpair_ioq(const struct homi_nvme_qpair *qp);
/* Words the failure R returned by this queue pair: the NVMe status with
 * the command, the command that timed out, or the controller's CSTS. */
void homi_nvme_qpair_strerror(const struct homi_nvme_qpair *qp, int r, char *buf, size_t len);

/* ---- namespaces ------------------------------------------------------------ */
struct homi_nvme_ns {
	struct homi_nvme_ns_info info;
	bool read_only;                 /* delegated "ro": writes are refused (-EROFS) */
	uint32_t max_blocks;            /* per command (MDTS, PRP list, NLB field) */
};

/* Identify Namespace NSID; -ENOENT when it is not active on this
 * controller, -EOPNOTSUPP for a format with metadata (not handled).
 * READ_ONLY comes from the delegation (policy "access"). */
int homi_nvme_ns_open(struct homi_nvme_ctrl *c, uint32_t nsid, bool read_only, struct homi_nvme_ns *ret,
		      uint16_t *ret_status);
/* Builds a Read, Write or Flush of NBLOCKS at LBA into a buffer contiguous
 * in IOVA space, with PRP entries in PRP_LIST (one page at PRP_LIST_IOVA,
 * needed above two pages). -EROFS: a write to a read-only namespace;
 * -ERANGE: beyond the namespace; -E2BIG: more than max_blocks. */
int homi_nvme_ns_rw(const struct homi_nvme_ns *ns, uint32_t page, struct homi_nvme_sqe *sqe, uint8_t opc,
		    uint64_t lba, uint32_t nblocks, uint64_t buf_iova, uint64_t *prp_list, uint64_t prp_list_iova);
