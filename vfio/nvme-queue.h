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

/* ---- additions for gpu/ (soft controller, device API) --------------------- */

/* Status codes (NVMe 2.0 Base 4.2.3, NVM Command Set 3.4). A status field
 * is SCT << 8 | SC, with DNR at bit 14 (the CQE status word shifted right
 * by one, as homi_nvme_cqe_status() returns it). */
enum {
	HOMI_NVME_SCT_GENERIC = 0,
	HOMI_NVME_SCT_CMD_SPECIFIC = 1,
	HOMI_NVME_SCT_MEDIA = 2,

	/* generic (SCT 0) */
	HOMI_NVME_SC_SUCCESS = 0x00,
	HOMI_NVME_SC_INVALID_OPCODE = 0x01,
	HOMI_NVME_SC_INVALID_FIELD = 0x02,
	HOMI_NVME_SC_DATA_XFER_ERROR = 0x04,
	HOMI_NVME_SC_INTERNAL = 0x06,
	HOMI_NVME_SC_INVALID_NS = 0x0b,
	HOMI_NVME_SC_PRP_OFFSET_INVALID = 0x13,
	HOMI_NVME_SC_LBA_RANGE = 0x80,
	/* command specific (SCT 1), queue management */
	HOMI_NVME_SC_CQ_INVALID = 0x00,
	HOMI_NVME_SC_INVALID_QID = 0x01,
	HOMI_NVME_SC_INVALID_QSIZE = 0x02,
	HOMI_NVME_SC_INVALID_QUEUE_DELETION = 0x0c,
	/* media and data integrity (SCT 2) */
	HOMI_NVME_SC_WRITE_FAULT = 0x80,
	HOMI_NVME_SC_UNRECOVERED_READ = 0x81,

	HOMI_NVME_STATUS_DNR = 1u << 14,
};

HOMI_HD uint16_t homi_nvme_status(uint8_t sct, uint8_t sc, int dnr)
{
	return (uint16_t)(((uint16_t)(sct & 7) << 8) | sc | (dnr ? HOMI_NVME_STATUS_DNR : 0));
}

/* Dword 3 of a CQE (CID, phase tag, status), the word a consumer polls:
 * a controller writes it last. */
HOMI_HD uint32_t homi_nvme_cqe_dw3(uint16_t cid, uint16_t status, uint16_t phase)
{
	return (uint32_t)cid | ((uint32_t)(((status & 0x7fff) << 1) | (phase & 1)) << 16);
}
HOMI_HD uint16_t homi_nvme_dw3_cid(uint32_t dw3) { return (uint16_t)(dw3 & 0xffff); }
HOMI_HD uint16_t homi_nvme_dw3_phase(uint32_t dw3) { return (uint16_t)((dw3 >> 16) & 1); }
HOMI_HD uint16_t homi_nvme_dw3_status(uint32_t dw3) { return (uint16_t)(dw3 >> 17); }

/* Read/write fields as a controller decodes them. */
HOMI_HD uint64_t homi_nvme_sqe_slba(const struct homi_nvme_sqe *e)
{
	return (uint64_t)e->cdw10 | ((uint64_t)e->cdw11 << 32);
}
HOMI_HD uint32_t homi_nvme_sqe_nlb(const struct homi_nvme_sqe *e) { return (e->cdw12 & 0xffff) + 1; }
HOMI_HD uint8_t homi_nvme_sqe_fuse(const struct homi_nvme_sqe *e) { return (uint8_t)(e->flags & 3); }
HOMI_HD uint8_t homi_nvme_sqe_psdt(const struct homi_nvme_sqe *e) { return (uint8_t)((e->flags >> 6) & 3); }

/* Entries one PRP list page holds; a list that does not fit chains: the
 * last entry of every page but the final one points to the next page. */
HOMI_HD uint32_t homi_nvme_prp_per_page(uint32_t page) { return page / 8; }

/* List pages a list of ENTRIES entries needs, chaining included. */
HOMI_HD uint32_t homi_nvme_prp_list_pages(uint32_t entries, uint32_t page)
{
	uint32_t per = homi_nvme_prp_per_page(page);
	if (entries == 0)
		return 0;
	if (entries <= per)
		return 1;
	/* every page but the last gives one slot to the chain pointer */
	return 1 + (entries - per + (per - 1) - 1) / (per - 1);
}

/* Fill PRP1/PRP2 for a transfer touching N pages whose bus addresses are
 * PAGES[0..N-1] (PAGES[0] may carry the offset into the first page; the
 * others are page aligned). When N > 2 the list goes to the list pages
 * LIST (CPU-writable views) at bus addresses LIST_BUS, NLIST of them,
 * chained as needed. Returns the list pages used, or -1 if NLIST is too
 * small. */
HOMI_HD int homi_nvme_prp_build(const uint64_t *pages, uint32_t n, uint32_t page, uint64_t *const *list,
				const uint64_t *list_bus, uint32_t nlist, uint64_t *prp1, uint64_t *prp2)
{
	uint32_t per = homi_nvme_prp_per_page(page), need, i = 1, l = 0;

	*prp1 = pages[0];
	*prp2 = 0;
	if (n <= 1)
		return 0;
	if (n == 2) {
		*prp2 = pages[1];
		return 0;
	}
	need = homi_nvme_prp_list_pages(n - 1, page);
	if (need > nlist)
		return -1;
	*prp2 = list_bus[0];
	while (i < n) {
		uint32_t left = n - i, j;
		if (left <= per) {
			for (j = 0; j < left; j++)
				list[l][j] = pages[i + j];
			i += left;
		} else {
			for (j = 0; j < per - 1; j++)
				list[l][j] = pages[i + j];
			list[l][per - 1] = list_bus[l + 1];
			i += per - 1;
		}
		l++;
	}
	return (int)l;
}

/* PRP1/PRP2 for LEN bytes at IOVA, a range contiguous in the controller's
 * address space (one DMA mapping). PRP1 carries the offset; PRP2 is 0 (one
 * page), the second page (two), or LIST_IOVA, whose entries are written to
 * LIST (a page at LIST_IOVA, page-aligned, PAGE / 8 entries). Returns the
 * number of list entries written, or -1 when the transfer needs a chained
 * list (more than PAGE / 8 + 1 pages) or IOVA is not dword aligned. */
HOMI_HD int homi_nvme_prp_build_contig(uint64_t iova, uint32_t len, uint32_t page, uint64_t *list, uint64_t list_iova,
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
