/* SPDX-License-Identifier: MIT */
/* Queue-pair sets: memory by placement mode, PRP tables for the data
 * buffers, zeroed CQs, Create I/O CQ/SQ through the endpoint's admin
 * callback, and the device array of struct homi_gpu_qp for kernels.
 * Teardown deletes SQs before CQs and tries every step. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu-internal.h"

struct qp_res {
	struct homi_gmem sq, cq, data, lists;
	int sq_live, cq_live;
};

struct homi_gpu_qpset {
	struct homi_gpu *g;
	struct homi_gpu_qp_config cfg;
	struct qp_res *res;
	struct homi_gpu_qp *host; /* what was copied to the GPU */
	struct homi_gpu_qp *dev;
	uint64_t *dev_pages, *dev_lists;
	int qids_taken;
};

#define WHY(...) snprintf(why, whylen, __VA_ARGS__)

static int admin(struct homi_gpu *g, struct homi_nvme_sqe *e, const char *what, char *why, size_t whylen)
{
	struct homi_nvme_cqe c;
	uint16_t st;
	int ret = g->ctrl.ops->admin(g->ctrl.ctx, e, &c);

	if (ret) {
		WHY("%s: %s", what, strerror(-ret));
		return ret;
	}
	st = homi_nvme_cqe_status(c.status);
	if (st) {
		WHY("%s: NVMe status 0x%03x (SCT %u SC 0x%02x)", what, st & 0x7ff, homi_nvme_status_sct(st),
		    homi_nvme_status_sc(st));
		return -EIO;
	}
	return 0;
}

static int config_check(const struct homi_gpu *g, struct homi_gpu_qp_config *c, char *why, size_t whylen)
{
	const struct homi_gpu_ctrl_info *in = &g->info;
	const uint32_t page = in->page_size, mqes = homi_nvme_cap_mqes(in->cap);

	if (!c->cq_depth)
		c->cq_depth = c->sq_depth;
	if (!c->first_qid)
		c->first_qid = 1;
	if (!c->timeout_ms)
		c->timeout_ms = 5000;
	if (!c->nqueues || c->first_qid + c->nqueues - 1u > in->max_ioqs) {
		WHY("%u queues from qid %u: the controller grants %u", c->nqueues, c->first_qid, in->max_ioqs);
		return -EINVAL;
	}
	/* the CID window: fewer than half the CID space in flight, so a stale
	 * CID never looks current */
	if (c->sq_depth < 2 || c->cq_depth < 2 || c->sq_depth > mqes || c->cq_depth > mqes || c->sq_depth > 32768 ||
	    c->cq_depth > 32768) {
		WHY("queue depths %u/%u: need 2..%u", c->sq_depth, c->cq_depth, mqes < 32768 ? mqes : 32768);
		return -EINVAL;
	}
	if (c->nbuf && (!c->buf_bytes || c->buf_bytes % page || c->buf_bytes / page - 1 > page / 8)) {
		WHY("buffers of %u bytes: need a multiple of %u, at most %u", c->buf_bytes, page, (page / 8 + 1) * page);
		return -EINVAL;
	}
	return 0;
}

static int take_qids(struct homi_gpu_qpset *s, char *why, size_t whylen)
{
	for (uint32_t q = 0; q < s->cfg.nqueues; q++) {
		if (s->g->qid_used[s->cfg.first_qid + q]) {
			WHY("qid %u is in use", s->cfg.first_qid + q);
			return -EBUSY;
		}
	}
	for (uint32_t q = 0; q < s->cfg.nqueues; q++)
		s->g->qid_used[s->cfg.first_qid + q] = 1;
	s->qids_taken = 1;
	return 0;
}

/* Buffers, their page bus addresses, and one PRP list page per buffer
 * that spans more than two pages. */
static int buffers(struct homi_gpu_qpset *s, uint32_t q, uint64_t *pages, uint64_t *lists, int data_gpu,
		   int lists_gpu, char *why, size_t whylen)
{
	struct homi_gpu *g = s->g;
	struct qp_res *r = &s->res[q];
	const uint32_t page = g->info.page_size, nbuf = s->cfg.nbuf, np = s->cfg.buf_bytes / page;
	uint64_t *stage = NULL;
	int ret;

	ret = homi_gmem_alloc(g, &r->data, (size_t)nbuf * s->cfg.buf_bytes, data_gpu, 0, why, whylen);
	if (ret)
		return ret;
	for (uint32_t b = 0; b < nbuf; b++)
		for (uint32_t p = 0; p < np; p++)
			pages[(size_t)b * np + p] = homi_gmem_bus(&r->data, ((size_t)b * np + p) * page, page);
	for (uint32_t b = 0; b < nbuf; b++)
		lists[b] = 0;
	if (np <= 2)
		return 0;
	ret = homi_gmem_alloc(g, &r->lists, (size_t)nbuf * page, lists_gpu, 0, why, whylen);
	if (ret)
		return ret;
	stage = lists_gpu ? calloc(nbuf, page) : r->lists.va;
	if (!stage) {
		WHY("no memory for PRP lists");
		return -ENOMEM;
	}
	for (uint32_t b = 0; b < nbuf; b++) {
		uint64_t *l = stage + (size_t)b * (page / 8), prp1, prp2;
		uint64_t lb = homi_gmem_bus(&r->lists, (size_t)b * page, page);
		homi_nvme_prp_build(&pages[(size_t)b * np], np, page, &l, &lb, 1, &prp1, &prp2);
		lists[b] = lb;
	}
	if (lists_gpu) {
		cudaError_t ce = cudaMemcpy(r->lists.va, stage, (size_t)nbuf * page, cudaMemcpyHostToDevice);
		free(stage);
		if (ce != cudaSuccess) {
			WHY("copying PRP lists: %s", cudaGetErrorName(ce));
			return homi_gpu_cuda_errno(ce);
		}
	}
	return 0;
}

static int one_pair(struct homi_gpu_qpset *s, uint32_t q, uint64_t *pages, uint64_t *lists, char *why,
		    size_t whylen)
{
	struct homi_gpu *g = s->g;
	const struct homi_gpu_qp_config *c = &s->cfg;
	const struct homi_gpu_ctrl_info *in = &g->info;
	struct qp_res *r = &s->res[q];
	struct homi_gpu_qp *qp = &s->host[q];
	const uint16_t qid = (uint16_t)(c->first_qid + q);
	const uint32_t dstrd = homi_nvme_cap_dstrd(in->cap);
	const int queues_gpu = c->mode == HOMI_GPU_MODE_G, data_gpu = c->mode != HOMI_GPU_MODE_H;
	struct homi_nvme_sqe e;
	int ret;

	ret = homi_gmem_alloc(g, &r->sq, (size_t)c->sq_depth * sizeof(struct homi_nvme_sqe), queues_gpu, 1, why,
			      whylen);
	if (!ret)
		ret = homi_gmem_alloc(g, &r->cq, (size_t)c->cq_depth * sizeof(struct homi_nvme_cqe), queues_gpu, 1,
				      why, whylen);
	if (!ret && c->nbuf)
		ret = buffers(s, q, pages, lists, data_gpu, queues_gpu, why, whylen);
	if (ret)
		return ret;
	/* the CQ is zeroed (by homi_gmem_alloc) before the controller sees it */
	homi_nvme_sqe_create_cq(&e, 0, qid, (uint16_t)c->cq_depth, homi_gmem_bus(&r->cq, 0, in->page_size), 0, 0);
	ret = admin(g, &e, "Create I/O CQ", why, whylen);
	if (ret)
		return ret;
	r->cq_live = 1;
	homi_nvme_sqe_create_sq(&e, 0, qid, (uint16_t)c->sq_depth, homi_gmem_bus(&r->sq, 0, in->page_size), qid);
	ret = admin(g, &e, "Create I/O SQ", why, whylen);
	if (ret)
		return ret;
	r->sq_live = 1;

	memset(qp, 0, sizeof(*qp));
	qp->sq = (struct homi_nvme_sqe *)r->sq.dev;
	qp->cq = (struct homi_nvme_cqe *)r->cq.dev;
	qp->sqdb = (uint32_t *)(g->db_dev + (homi_nvme_sq_doorbell(qid, dstrd) - HOMI_NVME_REG_DOORBELLS));
	qp->cqdb = (uint32_t *)(g->db_dev + (homi_nvme_cq_doorbell(qid, dstrd) - HOMI_NVME_REG_DOORBELLS));
	qp->qid = qid;
	qp->sq_depth = c->sq_depth;
	qp->cq_depth = c->cq_depth;
	qp->cq_phase = 1;
	qp->timeout_cycles = (uint64_t)c->timeout_ms * g->clock_khz;
	qp->nsid = in->nsid;
	qp->lba_shift = in->lba_shift;
	qp->nlbas = in->nlbas;
	qp->page_size = in->page_size;
	qp->mdts_bytes = in->mdts_bytes;
	qp->nbuf = c->nbuf;
	qp->buf_bytes = c->buf_bytes;
	qp->buf_npages = c->nbuf ? c->buf_bytes / in->page_size : 0;
	qp->buf = r->data.dev;
	return 0;
}

int homi_gpu_qpset_create(struct homi_gpu *g, const struct homi_gpu_qp_config *cfg, struct homi_gpu_qpset **out,
			  char *why_, size_t whylen_)
{
	char scratch[8];
	char *why = why_ && whylen_ ? why_ : scratch;
	size_t whylen = why_ && whylen_ ? whylen_ : sizeof(scratch);
	struct homi_gpu_qpset *s;
	uint64_t *pages = NULL, *lists = NULL;
	size_t np_q = 0;
	cudaError_t ce;
	int ret;

	why[0] = 0;
	if (!g || !cfg || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->g = g;
	s->cfg = *cfg;
	ret = config_check(g, &s->cfg, why, whylen);
	if (ret)
		goto fail;
	ret = homi_gpu_placement_check(g, s->cfg.mode, why, whylen);
	if (ret)
		goto fail;
	ret = take_qids(s, why, whylen);
	if (ret)
		goto fail;
	ret = -ENOMEM;
	s->res = calloc(s->cfg.nqueues, sizeof(*s->res));
	s->host = calloc(s->cfg.nqueues, sizeof(*s->host));
	if (!s->res || !s->host)
		goto fail;
	for (uint32_t q = 0; q < s->cfg.nqueues; q++) {
		struct qp_res *r = &s->res[q];
		r->sq.importer = r->sq.dmabuf = r->cq.importer = r->cq.dmabuf = -1;
		r->data.importer = r->data.dmabuf = r->lists.importer = r->lists.dmabuf = -1;
	}
	if (s->cfg.nbuf) {
		np_q = (size_t)s->cfg.nbuf * (s->cfg.buf_bytes / g->info.page_size);
		pages = calloc(np_q * s->cfg.nqueues, sizeof(*pages));
		lists = calloc((size_t)s->cfg.nbuf * s->cfg.nqueues, sizeof(*lists));
		if (!pages || !lists)
			goto fail;
	}
	for (uint32_t q = 0; q < s->cfg.nqueues; q++) {
		ret = one_pair(s, q, pages ? pages + np_q * q : NULL, lists ? lists + (size_t)s->cfg.nbuf * q : NULL,
			       why, whylen);
		if (ret)
			goto fail;
	}
	ce = cudaMalloc((void **)&s->dev, s->cfg.nqueues * sizeof(*s->dev));
	if (ce == cudaSuccess && s->cfg.nbuf) {
		ce = cudaMalloc((void **)&s->dev_pages, np_q * s->cfg.nqueues * sizeof(*pages));
		if (ce == cudaSuccess)
			ce = cudaMalloc((void **)&s->dev_lists, (size_t)s->cfg.nbuf * s->cfg.nqueues * sizeof(*lists));
		if (ce == cudaSuccess)
			ce = cudaMemcpy(s->dev_pages, pages, np_q * s->cfg.nqueues * sizeof(*pages),
					cudaMemcpyHostToDevice);
		if (ce == cudaSuccess)
			ce = cudaMemcpy(s->dev_lists, lists, (size_t)s->cfg.nbuf * s->cfg.nqueues * sizeof(*lists),
					cudaMemcpyHostToDevice);
	}
	if (ce == cudaSuccess) {
		for (uint32_t q = 0; q < s->cfg.nqueues && s->cfg.nbuf; q++) {
			s->host[q].buf_pages = s->dev_pages + np_q * q;
			s->host[q].buf_list = s->dev_lists + (size_t)s->cfg.nbuf * q;
		}
		ce = cudaMemcpy(s->dev, s->host, s->cfg.nqueues * sizeof(*s->dev), cudaMemcpyHostToDevice);
	}
	if (ce != cudaSuccess) {
		WHY("device tables: %s", cudaGetErrorName(ce));
		ret = homi_gpu_cuda_errno(ce);
		goto fail;
	}
	free(pages);
	free(lists);
	*out = s;
	return 0;
fail:
	free(pages);
	free(lists);
	homi_gpu_qpset_destroy(s);
	return ret;
}

int homi_gpu_qpset_destroy(struct homi_gpu_qpset *s)
{
	char why[160];
	int first = 0;

	if (!s)
		return 0;
	for (uint32_t q = 0; s->res && q < s->cfg.nqueues; q++) {
		struct qp_res *r = &s->res[q];
		struct homi_nvme_sqe e;
		uint16_t qid = (uint16_t)(s->cfg.first_qid + q);
		int ret;

		if (r->sq_live) {
			homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_SQ, 0, qid);
			ret = admin(s->g, &e, "Delete I/O SQ", why, sizeof(why));
			if (ret && !first)
				first = ret;
		}
		if (r->cq_live) {
			homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_CQ, 0, qid);
			ret = admin(s->g, &e, "Delete I/O CQ", why, sizeof(why));
			if (ret && !first)
				first = ret;
		}
		homi_gmem_free(s->g, &r->lists);
		homi_gmem_free(s->g, &r->data);
		homi_gmem_free(s->g, &r->cq);
		homi_gmem_free(s->g, &r->sq);
	}
	if (s->qids_taken)
		for (uint32_t q = 0; q < s->cfg.nqueues; q++)
			s->g->qid_used[s->cfg.first_qid + q] = 0;
	cudaFree(s->dev);
	cudaFree(s->dev_pages);
	cudaFree(s->dev_lists);
	free(s->res);
	free(s->host);
	free(s);
	return first;
}

struct homi_gpu_qp *homi_gpu_qpset_dev(const struct homi_gpu_qpset *s)
{
	return s->dev;
}

uint32_t homi_gpu_qpset_count(const struct homi_gpu_qpset *s)
{
	return s->cfg.nqueues;
}

int homi_gpu_qpset_read(const struct homi_gpu_qpset *s, uint32_t q, struct homi_gpu_qp *out)
{
	cudaError_t ce;

	if (q >= s->cfg.nqueues)
		return -EINVAL;
	ce = cudaMemcpy(out, s->dev + q, sizeof(*out), cudaMemcpyDeviceToHost);
	return homi_gpu_cuda_errno(ce);
}

void *homi_gpu_qpset_buf_host(const struct homi_gpu_qpset *s, uint32_t q, uint32_t b)
{
	const struct qp_res *r;

	if (q >= s->cfg.nqueues || b >= s->cfg.nbuf)
		return NULL;
	r = &s->res[q];
	if (r->data.kind != HOMI_GMEM_HOST_MMAP && r->data.kind != HOMI_GMEM_HOST_EP)
		return NULL;
	return (uint8_t *)r->data.va + (size_t)b * s->cfg.buf_bytes;
}
