/* SPDX-License-Identifier: MIT */
/* The loopback endpoint (homi-gpu-loopback.h): a BAR0 in GPU memory whose
 * doorbells the responder polls, identity "DMA mapping" of device
 * pointers, and admin commands that record the queues for the responder
 * table. Checks as a controller would: qid range, sizes, PC, existing and
 * bound queues. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "homi-gpu-loopback.h"

#define LB_MQES 32768u

struct lb_q {
	uint64_t sq, cq;
	uint32_t sqd, cqd;
	uint16_t cqid;
	int sq_live, cq_live;
};

struct homi_loopback {
	uint16_t max_q;
	uint8_t *bar0; /* device memory */
	size_t bar0_len;
	struct lb_q *q;
};

static int lb_info(void *ctx, struct homi_gpu_ctrl_info *info)
{
	struct homi_loopback *lb = ctx;

	memset(info, 0, sizeof(*info));
	info->cap = (uint64_t)(LB_MQES - 1) | 1ull << 16 | 1ull << 37; /* MQES, CQR, NVM; DSTRD 0, 4 KiB pages */
	info->page_size = 4096;
	info->mdts_bytes = 0;
	info->nsid = 1;
	info->lba_shift = 9;
	info->nlbas = 1ull << 40;
	info->max_ioqs = lb->max_q;
	info->flags = HOMI_GPU_CTRL_DB_DEVMEM | HOMI_GPU_CTRL_GPU_PEER;
	snprintf(info->name, sizeof(info->name), "loopback");
	return 0;
}

static int lb_bar0(void *ctx, void **va, size_t *len)
{
	struct homi_loopback *lb = ctx;
	*va = lb->bar0;
	*len = lb->bar0_len;
	return 0;
}

static int lb_dma_map(void *ctx, void *va, size_t len, uint64_t *iova)
{
	*iova = (uint64_t)(uintptr_t)va;
	return 0;
}

static int lb_dma_unmap(void *ctx, void *va, size_t len)
{
	return 0;
}

static uint16_t lb_status(uint8_t sct, uint8_t sc)
{
	return homi_nvme_status(sct, sc, 1);
}

static uint16_t lb_exec(struct homi_loopback *lb, const struct homi_nvme_sqe *e)
{
	uint16_t qid = (uint16_t)(e->cdw10 & 0xffff);
	uint32_t size = (e->cdw10 >> 16) + 1;
	struct lb_q *q;

	if (qid == 0 || qid > lb->max_q)
		return lb_status(HOMI_NVME_SCT_CMD_SPECIFIC, HOMI_NVME_SC_INVALID_QID);
	q = &lb->q[qid];
	switch (e->opc) {
	case HOMI_NVME_ADMIN_CREATE_CQ:
	case HOMI_NVME_ADMIN_CREATE_SQ:
		if (size < 2 || size > LB_MQES)
			return lb_status(HOMI_NVME_SCT_CMD_SPECIFIC, HOMI_NVME_SC_INVALID_QSIZE);
		if (!(e->cdw11 & 1))
			return lb_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_INVALID_FIELD);
		if (e->opc == HOMI_NVME_ADMIN_CREATE_CQ) {
			if (q->cq_live)
				return lb_status(HOMI_NVME_SCT_CMD_SPECIFIC, HOMI_NVME_SC_INVALID_QID);
			q->cq = e->prp1;
			q->cqd = size;
			q->cq_live = 1;
		} else {
			uint16_t cqid = (uint16_t)(e->cdw11 >> 16);
			if (q->sq_live)
				return lb_status(HOMI_NVME_SCT_CMD_SPECIFIC, HOMI_NVME_SC_INVALID_QID);
			if (cqid != qid || !q->cq_live) /* one CQ per SQ here */
				return lb_status(HOMI_NVME_SCT_CMD_SPECIFIC, HOMI_NVME_SC_CQ_INVALID);
			q->sq = e->prp1;
			q->sqd = size;
			q->cqid = cqid;
			q->sq_live = 1;
			/* a new queue starts at doorbell 0 */
			cudaMemset(lb->bar0 + homi_nvme_sq_doorbell(qid, 0), 0, 4);
			cudaMemset(lb->bar0 + homi_nvme_cq_doorbell(qid, 0), 0, 4);
		}
		return 0;
	case HOMI_NVME_ADMIN_DELETE_SQ:
		if (!q->sq_live)
			return lb_status(HOMI_NVME_SCT_CMD_SPECIFIC, HOMI_NVME_SC_INVALID_QID);
		q->sq_live = 0;
		return 0;
	case HOMI_NVME_ADMIN_DELETE_CQ:
		if (!q->cq_live)
			return lb_status(HOMI_NVME_SCT_CMD_SPECIFIC, HOMI_NVME_SC_INVALID_QID);
		if (q->sq_live)
			return lb_status(HOMI_NVME_SCT_CMD_SPECIFIC, HOMI_NVME_SC_INVALID_QUEUE_DELETION);
		q->cq_live = 0;
		return 0;
	default:
		return lb_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_INVALID_OPCODE);
	}
}

static int lb_admin(void *ctx, const struct homi_nvme_sqe *e, struct homi_nvme_cqe *cpl)
{
	uint16_t st = lb_exec(ctx, e);

	memset(cpl, 0, sizeof(*cpl));
	cpl->cid = e->cid;
	cpl->status = (uint16_t)(st << 1 | 1);
	return 0;
}

static const struct homi_gpu_ctrl_ops lb_ops = {
	.info = lb_info,
	.bar0 = lb_bar0,
	.dma_map = lb_dma_map,
	.dma_unmap = lb_dma_unmap,
	.admin = lb_admin,
};

int homi_loopback_create(uint16_t max_queues, struct homi_loopback **out)
{
	struct homi_loopback *lb;
	cudaError_t ce;

	if (!max_queues || !out)
		return -EINVAL;
	lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -ENOMEM;
	lb->max_q = max_queues;
	lb->q = calloc(max_queues + 1u, sizeof(*lb->q));
	if (!lb->q) {
		free(lb);
		return -ENOMEM;
	}
	lb->bar0_len = HOMI_NVME_REG_DOORBELLS + ((8u * (max_queues + 1u) + 4095) & ~4095u);
	ce = cudaMalloc((void **)&lb->bar0, lb->bar0_len);
	if (ce == cudaSuccess)
		ce = cudaMemset(lb->bar0, 0, lb->bar0_len);
	if (ce != cudaSuccess) {
		if (lb->bar0)
			cudaFree(lb->bar0);
		free(lb->q);
		free(lb);
		return ce == cudaErrorMemoryAllocation ? -ENOMEM : -EIO;
	}
	*out = lb;
	return 0;
}

void homi_loopback_destroy(struct homi_loopback *lb)
{
	if (!lb)
		return;
	cudaFree(lb->bar0);
	free(lb->q);
	free(lb);
}

void homi_loopback_endpoint(struct homi_loopback *lb, struct homi_gpu_ctrl *ep)
{
	ep->ops = &lb_ops;
	ep->ctx = lb;
}

int homi_loopback_queues(struct homi_loopback *lb, uint16_t first_qid, uint32_t n, struct homi_loopback_queue **dev)
{
	struct homi_loopback_queue *t;
	cudaError_t ce;

	if (!n || first_qid == 0 || first_qid + n - 1u > lb->max_q)
		return -EINVAL;
	t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t qid = (uint16_t)(first_qid + i);
		const struct lb_q *q = &lb->q[qid];
		if (!q->sq_live || !q->cq_live) {
			free(t);
			return -ENOENT;
		}
		t[i].sq = (struct homi_nvme_sqe *)(uintptr_t)q->sq;
		t[i].cq = (struct homi_nvme_cqe *)(uintptr_t)q->cq;
		t[i].sqdb = (uint32_t *)(lb->bar0 + homi_nvme_sq_doorbell(qid, 0));
		t[i].cqdb = (uint32_t *)(lb->bar0 + homi_nvme_cq_doorbell(qid, 0));
		t[i].qid = qid;
		t[i].sq_depth = q->sqd;
		t[i].cq_depth = q->cqd;
		t[i].cq_phase = 1;
	}
	ce = cudaMalloc((void **)dev, n * sizeof(*t));
	if (ce == cudaSuccess)
		ce = cudaMemcpy(*dev, t, n * sizeof(*t), cudaMemcpyHostToDevice);
	free(t);
	if (ce != cudaSuccess) {
		cudaFree(*dev);
		*dev = NULL;
		return -EIO;
	}
	return 0;
}

void homi_loopback_queues_free(struct homi_loopback_queue *dev)
{
	cudaFree(dev);
}
