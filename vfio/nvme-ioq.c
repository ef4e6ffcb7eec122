/* SPDX-License-Identifier: MIT */
/* I/O queues: created on memory the caller supplies (gpu/ brings its own),
 * or on memory of the controller's allocator for CPU-driven queue pairs. */
#include "config.h"

#include <string.h>

#include "nvme-internal.h"

#define ALIGN_MASK (HOMI_NVME_PAGE - 1)

int homi_nvme_ioq_create(struct homi_nvme_ctrl *c, uint16_t qid, uint16_t depth, void *sq_va, uint64_t sq_iova,
			 void *cq_va, uint64_t cq_iova, struct homi_nvme_ioq *ret, uint16_t *ret_status)
{
	struct homi_nvme_sqe e;
	uint16_t status;
	int r;

	if (ret_status)
		*ret_status = 0;
	if (qid == 0 || depth < 2 || depth > homi_nvme_ctrl_max_entries(c) || (sq_iova | cq_iova) & ALIGN_MASK)
		return -EINVAL;
	if (homi_nvme_ctrl_doorbell_fits(c, qid) < 0)
		return -ERANGE;
	/* Stale phase tags in a reused CQ would read as new completions. */
	if (cq_va)
		memset(cq_va, 0, (size_t)depth * sizeof(struct homi_nvme_cqe));
	homi_dma_wmb();
	homi_nvme_sqe_create_cq(&e, 0, qid, depth, cq_iova, 0, 0);
	r = homi_nvme_qpair_exec(c->admin, &e, c->timeout_ms, ret_status, NULL);
	if (r < 0)
		return r;
	homi_nvme_sqe_create_sq(&e, 0, qid, depth, sq_iova, qid);
	r = homi_nvme_qpair_exec(c->admin, &e, c->timeout_ms, ret_status, NULL);
	if (r < 0) {
		if (r == -EIO) {
			homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_CQ, 0, qid);
			(void)homi_nvme_qpair_exec(c->admin, &e, c->timeout_ms, &status, NULL);
		}
		return r;
	}
	*ret = (struct homi_nvme_ioq){
		.qid = qid, .depth = depth,
		.sq_va = sq_va, .cq_va = cq_va, .sq_iova = sq_iova, .cq_iova = cq_iova,
		.sq_db = (volatile uint32_t *)((volatile uint8_t *)c->bar + homi_nvme_sq_doorbell(qid, c->dstrd)),
		.cq_db = (volatile uint32_t *)((volatile uint8_t *)c->bar + homi_nvme_cq_doorbell(qid, c->dstrd)),
	};
	return 0;
}

int homi_nvme_ioq_delete(struct homi_nvme_ctrl *c, const struct homi_nvme_ioq *q, uint16_t *ret_status)
{
	struct homi_nvme_sqe e;
	int r, r2;

	if (c->dead)
		return -ENODEV;
	homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_SQ, 0, q->qid);
	r = homi_nvme_qpair_exec(c->admin, &e, c->timeout_ms, ret_status, NULL);
	if (r < 0 && r != -EIO)
		return r;
	homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_CQ, 0, q->qid);
	r2 = homi_nvme_qpair_exec(c->admin, &e, c->timeout_ms, r < 0 ? NULL : ret_status, NULL);
	return r < 0 ? r : r2;
}

int homi_nvme_io_qpair_alloc(struct homi_nvme_ctrl *c, uint16_t qid, uint16_t depth, struct homi_nvme_qpair **ret,
			     uint16_t *ret_status)
{
	size_t sq_len = ((size_t)depth * sizeof(struct homi_nvme_sqe) + ALIGN_MASK) & ~(size_t)ALIGN_MASK;
	size_t cq_len = ((size_t)depth * sizeof(struct homi_nvme_cqe) + ALIGN_MASK) & ~(size_t)ALIGN_MASK;
	struct homi_dma_mem mem;
	struct homi_nvme_ioq q;
	struct homi_nvme_qpair *qp;
	int r;

	if (ret_status)
		*ret_status = 0;
	r = c->ops->alloc(c->ops_ctx, sq_len + cq_len, &mem);
	if (r < 0)
		return r;
	r = homi_nvme_ioq_create(c, qid, depth, mem.va, mem.iova, (uint8_t *)mem.va + sq_len, mem.iova + sq_len, &q,
				 ret_status);
	if (r < 0) {
		c->ops->free(c->ops_ctx, &mem);
		return r;
	}
	r = homi_nvme_qpair_init(c, &q, false, &qp);
	if (r < 0) {
		homi_nvme_ioq_delete(c, &q, NULL);
		c->ops->free(c->ops_ctx, &mem);
		return r;
	}
	qp->owns_mem = true;
	qp->mem = mem;
	*ret = qp;
	return 0;
}

int homi_nvme_io_qpair_destroy(struct homi_nvme_ctrl *c, struct homi_nvme_qpair *qp)
{
	int r = 0;

	if (!qp)
		return 0;
	/* A queue pair that timed out may still have commands the device
	 * works on: deleting the SQ aborts them before the memory goes. */
	if (!c->dead)
		r = homi_nvme_ioq_delete(c, &qp->ioq, NULL);
	/* After a timeout of the deletion itself the device may still write
	 * the queues: their memory stays mapped until the VF is closed. */
	if (qp->owns_mem && r != -ETIMEDOUT)
		c->ops->free(c->ops_ctx, &qp->mem);
	homi_nvme_qpair_free(qp);
	return r;
}
