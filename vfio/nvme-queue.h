/* SPDX-License-Identifier: MIT */
/* The NVMe queue protocol, one implementation for the CPU (vfio/, tests) and
 * the GPU (gpu/, CUDA): controller registers, submission and completion
 * queue entries, doorbell offsets, the tail/head/phase rules, and command
 * builders. Header-only, freestanding (no libc beyond <stdint.h>), every
 * function usable from host and device code.
 *
 * References: NVM Express Base Specification 2.0 (3.1 registers, 4.1 queue
 * entries, 5 admin commands), NVM Command Set 1.0 (3.2 read/write/flush). */
#pragma once

#include <stdint.h>

#if defined(__CUDACC__)
#define HOMI_HD __host__ __device__ __forceinline__
#else
#define HOMI_HD static inline
#endif

/* ---- controller registers (BAR0) ----------------------------------------- */
enum {
	HOMI_NVME_REG_CAP = 0x00,   /* 64-bit */
	HOMI_NVME_REG_VS = 0x08,
	HOMI_NVME_REG_INTMS = 0x0c,
	HOMI_NVME_REG_INTMC = 0x10,
	HOMI_NVME_REG_CC = 0x14,
	HOMI_NVME_REG_CSTS = 0x1c,
	HOMI_NVME_REG_AQA = 0x24,
	HOMI_NVME_REG_ASQ = 0x28,   /* 64-bit */
	HOMI_NVME_REG_ACQ = 0x30,   /* 64-bit */
	HOMI_NVME_REG_DOORBELLS = 0x1000,
};

HOMI_HD uint32_t homi_nvme_cap_mqes(uint64_t cap) { return (uint32_t)(cap & 0xffff) + 1; } /* entries */
HOMI_HD uint32_t homi_nvme_cap_to_ms(uint64_t cap) { return (uint32_t)((cap >> 24) & 0xff) * 500; }
HOMI_HD uint32_t homi_nvme_cap_dstrd(uint64_t cap) { return (uint32_t)((cap >> 32) & 0xf); }
HOMI_HD uint32_t homi_nvme_cap_css_nvm(uint64_t cap) { return (uint32_t)((cap >> 37) & 1); }
HOMI_HD uint32_t homi_nvme_cap_mpsmin(uint64_t cap) { return 1u << (12 + ((cap >> 48) & 0xf)); } /* bytes */
HOMI_HD uint32_t homi_nvme_cap_mpsmax(uint64_t cap) { return 1u << (12 + ((cap >> 52) & 0xf)); }

enum {
	HOMI_NVME_CC_EN = 1u << 0,
	HOMI_NVME_CC_CSS_NVM = 0u << 4,
	HOMI_NVME_CC_SHN_NORMAL = 1u << 14,
	HOMI_NVME_CC_IOSQES = 6u << 16, /* 64-byte SQEs */
	HOMI_NVME_CC_IOCQES = 4u << 20, /* 16-byte CQEs */
	HOMI_NVME_CSTS_RDY = 1u << 0,
	HOMI_NVME_CSTS_CFS = 1u << 1,
	HOMI_NVME_CSTS_SHST_MASK = 3u << 2,
};

/* CC for an enabled controller with memory page size PAGE (4096 << MPS). */
HOMI_HD uint32_t homi_nvme_cc_enable(uint32_t page)
{
	uint32_t mps = 0;
	while ((4096u << mps) < page)
		mps++;
	return HOMI_NVME_CC_EN | HOMI_NVME_CC_CSS_NVM | (mps << 7) | HOMI_NVME_CC_IOSQES | HOMI_NVME_CC_IOCQES;
}

/* A controller that vanished (PF reset, surprise removal) reads all ones,
 * or reports Controller Fatal Status. */
HOMI_HD int homi_nvme_csts_dead(uint32_t csts) { return csts == 0xffffffffu || (csts & HOMI_NVME_CSTS_CFS); }

/* Doorbell byte offsets in BAR0 for queue QID (0 = admin). */
HOMI_HD uint32_t homi_nvme_sq_doorbell(uint16_t qid, uint32_t dstrd)
{
	return HOMI_NVME_REG_DOORBELLS + (2u * qid) * (4u << dstrd);
}
HOMI_HD uint32_t homi_nvme_cq_doorbell(uint16_t qid, uint32_t dstrd)
{
	return HOMI_NVME_REG_DOORBELLS + (2u * qid + 1u) * (4u << dstrd);
}

/* ---- queue entries -------------------------------------------------------- */
struct homi_nvme_sqe {
	uint8_t opc;
	uint8_t flags;       /* FUSE bits 1:0, PSDT bits 7:6 (0 = PRPs) */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct homi_nvme_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid;
	uint16_t cid;
	uint16_t status;     /* bit 0 phase tag, bits 15:1 status field */
};

#if defined(__cplusplus)
static_assert(sizeof(struct homi_nvme_sqe) == 64, "SQE is 64 bytes");
static_assert(sizeof(struct homi_nvme_cqe) == 16, "CQE is 16 bytes");
#else
_Static_assert(sizeof(struct homi_nvme_sqe) == 64, "SQE is 64 bytes");
_Static_assert(sizeof(struct homi_nvme_cqe) == 16, "CQE is 16 bytes");
#endif

/* Status field of a CQE (SCT << 8 | SC, with CRD, More, DNR): the value
 * Linux and libnvme report, 0 on success. */
HOMI_HD uint16_t homi_nvme_cqe_status(uint16_t status_phase) { return (uint16_t)(status_phase >> 1); }
HOMI_HD uint16_t homi_nvme_cqe_phase(uint16_t status_phase) { return (uint16_t)(status_phase & 1); }
HOMI_HD uint8_t homi_nvme_status_sct(uint16_t status) { return (uint8_t)((status >> 8) & 7); }
HOMI_HD uint8_t homi_nvme_status_sc(uint16_t status) { return (uint8_t)(status & 0xff); }
HOMI_HD int homi_nvme_status_dnr(uint16_t status) { return (status >> 14) & 1; }

/* ---- queue state ---------------------------------------------------------- */
/* The submitter's view of a submission queue: the next free slot. The
 * controller consumes entries up to the tail written to the doorbell. */
struct homi_nvme_sq {
	uint16_t qid, depth; /* depth = entries (the queue holds depth - 1 commands) */
	uint16_t tail, head; /* head: the latest SQ Head Pointer a CQE reported */
};

/* The consumer's view of a completion queue: the next slot to look at and
 * the phase tag a new entry there carries. The phase starts at 1 over a
 * zeroed queue and flips on every wrap. */
struct homi_nvme_cq {
	uint16_t qid, depth;
	uint16_t head;
	uint16_t phase;
};

HOMI_HD void homi_nvme_sq_init(struct homi_nvme_sq *sq, uint16_t qid, uint16_t depth)
{
	sq->qid = qid;
	sq->depth = depth;
	sq->tail = 0;
	sq->head = 0;
}

HOMI_HD void homi_nvme_cq_init(struct homi_nvme_cq *cq, uint16_t qid, uint16_t depth)
{
	cq->qid = qid;
	cq->depth = depth;
	cq->head = 0;
	cq->phase = 1;
}

/* Free SQ slots (one slot always stays empty: full is tail + 1 == head). */
HOMI_HD uint16_t homi_nvme_sq_space(const struct homi_nvme_sq *sq)
{
	return (uint16_t)((sq->head + sq->depth - sq->tail - 1) % sq->depth);
}

/* Slot N entries after the tail, and the tail after N more entries. */
HOMI_HD uint16_t homi_nvme_sq_slot(const struct homi_nvme_sq *sq, uint32_t n)
{
	return (uint16_t)((sq->tail + n) % sq->depth);
}
HOMI_HD void homi_nvme_sq_advance(struct homi_nvme_sq *sq, uint32_t n)
{
	sq->tail = (uint16_t)((sq->tail + n) % sq->depth);
}

/* Whether the CQE at slot HEAD + N carries the phase of a new entry. */
HOMI_HD uint16_t homi_nvme_cq_expected_phase(const struct homi_nvme_cq *cq, uint32_t n)
{
	return (uint16_t)(((cq->head + n) / cq->depth) & 1 ? cq->phase ^ 1 : cq->phase);
}
HOMI_HD uint16_t homi_nvme_cq_slot(const struct homi_nvme_cq *cq, uint32_t n)
{
	return (uint16_t)((cq->head + n) % cq->depth);
}
HOMI_HD void homi_nvme_cq_advance(struct homi_nvme_cq *cq, uint32_t n)
{
	uint32_t h = cq->head + n;
	if ((h / cq->depth) & 1)
		cq->phase ^= 1;
	cq->head = (uint16_t)(h % cq->depth);
}

/* ---- commands ------------------------------------------------------------- */
enum {
	/* admin */
	HOMI_NVME_ADMIN_DELETE_SQ = 0x00,
	HOMI_NVME_ADMIN_CREATE_SQ = 0x01,
	HOMI_NVME_ADMIN_DELETE_CQ = 0x04,
	HOMI_NVME_ADMIN_CREATE_CQ = 0x05,
	HOMI_NVME_ADMIN_IDENTIFY = 0x06,
	HOMI_NVME_ADMIN_SET_FEATURES = 0x09,
	HOMI_NVME_ADMIN_GET_FEATURES = 0x0a,
	/* NVM command set */
	HOMI_NVME_CMD_FLUSH = 0x00,
	HOMI_NVME_CMD_WRITE = 0x01,
	HOMI_NVME_CMD_READ = 0x02,
	HOMI_NVME_FEAT_NUM_QUEUES = 0x07,
	HOMI_NVME_CNS_NS = 0x00,
	HOMI_NVME_CNS_CTRL = 0x01,
};

HOMI_HD void homi_nvme_sqe_clear(struct homi_nvme_sqe *e)
{
	uint64_t *w = (uint64_t *)e;
	for (int i = 0; i < 8; i++)
		w[i] = 0;
}

HOMI_HD void homi_nvme_sqe_rw(struct homi_nvme_sqe *e, uint8_t opc, uint16_t cid, uint32_t nsid, uint64_t slba,
			      uint32_t nlb, uint64_t prp1, uint64_t prp2)
{
	homi_nvme_sqe_clear(e);
	e->opc = opc;
	e->cid = cid;
	e->nsid = nsid;
	e->prp1 = prp1;
	e->prp2 = prp2;
	e->cdw10 = (uint32_t)slba;
	e->cdw11 = (uint32_t)(slba >> 32);
	e->cdw12 = (nlb - 1) & 0xffff; /* 0's based */
}

HOMI_HD void homi_nvme_sqe_flush(struct homi_nvme_sqe *e, uint16_t cid, uint32_t nsid)
{
	homi_nvme_sqe_clear(e);
	e->opc = HOMI_NVME_CMD_FLUSH;
	e->cid = cid;
	e->nsid = nsid;
}

HOMI_HD void homi_nvme_sqe_identify(struct homi_nvme_sqe *e, uint16_t cid, uint8_t cns, uint32_t nsid, uint64_t prp1)
{
	homi_nvme_sqe_clear(e);
	e->opc = HOMI_NVME_ADMIN_IDENTIFY;
	e->cid = cid;
	e->nsid = nsid;
	e->prp1 = prp1;
	e->cdw10 = cns;
}

/* Set Features Number of Queues: NSQ/NCQ are counts (1-based). */
HOMI_HD void homi_nvme_sqe_set_nqueues(struct homi_nvme_sqe *e, uint16_t cid, uint16_t nsq, uint16_t ncq)
{
	homi_nvme_sqe_clear(e);
	e->opc = HOMI_NVME_ADMIN_SET_FEATURES;
	e->cid = cid;
	e->cdw10 = HOMI_NVME_FEAT_NUM_QUEUES;
	e->cdw11 = (uint32_t)(nsq - 1) | ((uint32_t)(ncq - 1) << 16);
}

/* Create I/O CQ (physically contiguous, interrupts IV/IEN as given). */
HOMI_HD void homi_nvme_sqe_create_cq(struct homi_nvme_sqe *e, uint16_t cid, uint16_t qid, uint16_t depth,
				     uint64_t addr, int ien, uint16_t iv)
{
	homi_nvme_sqe_clear(e);
	e->opc = HOMI_NVME_ADMIN_CREATE_CQ;
	e->cid = cid;
	e->prp1 = addr;
	e->cdw10 = ((uint32_t)(depth - 1) << 16) | qid;
	e->cdw11 = 1u /* PC */ | (ien ? 2u : 0u) | ((uint32_t)iv << 16);
}

HOMI_HD void homi_nvme_sqe_create_sq(struct homi_nvme_sqe *e, uint16_t cid, uint16_t qid, uint16_t depth,
				     uint64_t addr, uint16_t cqid)
{
	homi_nvme_sqe_clear(e);
	e->opc = HOMI_NVME_ADMIN_CREATE_SQ;
	e->cid = cid;
	e->prp1 = addr;
	e->cdw10 = ((uint32_t)(depth - 1) << 16) | qid;
	e->cdw11 = 1u /* PC */ | ((uint32_t)cqid << 16);
}

HOMI_HD void homi_nvme_sqe_delete_queue(struct homi_nvme_sqe *e, uint8_t opc, uint16_t cid, uint16_t qid)
{
	homi_nvme_sqe_clear(e);
	e->opc = opc;
	e->cid = cid;
	e->cdw10 = qid;
}

/* ---- PRPs ------------------------------------------------------------------ */
/* Pages a transfer of LEN bytes at bus address ADDR touches (page size PAGE,
 * a power of two). 1: PRP1 alone; 2: PRP1 + PRP2 as a page; more: PRP2
 * points to a PRP list. */
HOMI_HD uint32_t homi_nvme_prp_pages(uint64_t addr, uint32_t len, uint32_t page)
{
	uint64_t first = addr & ~(uint64_t)(page - 1);
	uint64_t last = (addr + len - 1) & ~(uint64_t)(page - 1);
	return (uint32_t)((last - first) / page) + 1;
}

/* Entries of a PRP list for such a transfer (pages after the first), and
 * whether it fits in one list page (no chaining). */
HOMI_HD uint32_t homi_nvme_prp_list_entries(uint64_t addr, uint32_t len, uint32_t page)
{
	uint32_t n = homi_nvme_prp_pages(addr, len, page);
	return n > 2 ? n - 1 : 0;
}

/* PRP1/PRP2 for LEN bytes at IOVA, a range contiguous in the controller's
 * address space (one DMA mapping). PRP1 carries the offset; PRP2 is 0 (one
 * page), the second page (two), or LIST_IOVA, whose entries are written to
 * LIST (a page at LIST_IOVA, page-aligned, PAGE / 8 entries). Returns the
 * number of list entries written, or -1 when the transfer needs a chained
 * list (more than PAGE / 8 + 1 pages) or IOVA is not dword aligned. */
HOMI_HD int homi_nvme_prp_build(uint64_t iova, uint32_t len, uint32_t page, uint64_t *list, uint64_t list_iova,
				uint64_t *prp1, uint64_t *prp2)
{
	uint32_t pages = homi_nvme_prp_pages(iova, len, page);
	uint64_t next = (iova & ~(uint64_t)(page - 1)) + page;

	if ((iova & 3) || len == 0 || pages > page / 8 + 1)
		return -1;
	*prp1 = iova;
	if (pages == 1) {
		*prp2 = 0;
		return 0;
	}
	if (pages == 2) {
		*prp2 = next;
		return 0;
	}
	for (uint32_t i = 0; i < pages - 1; i++)
		list[i] = next + (uint64_t)i * page;
	*prp2 = list_iova;
	return (int)(pages - 1);
}
