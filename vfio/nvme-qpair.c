/* SPDX-License-Identifier: MIT */
/* Host queue pairs: submission with command IDs, completion by phase tag
 * and command ID, per-command timeouts, and noticing a vanished controller. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nvme-internal.h"

int homi_nvme_qpair_init(struct homi_nvme_ctrl *c, const struct homi_nvme_ioq *q, bool admin,
			 struct homi_nvme_qpair **ret)
{
	_cleanup_free_ struct homi_nvme_qpair *qp = NULL;

	if (!q->sq_va || !q->cq_va || q->depth < 2)
		return -EINVAL;
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return -ENOMEM;
	qp->ctrl = c;
	qp->ioq = *q;
	qp->admin = admin;
	homi_nvme_sq_init(&qp->sq, q->qid, q->depth);
	homi_nvme_cq_init(&qp->cq, q->qid, q->depth);
	qp->sqes = q->sq_va;
	qp->cqes = q->cq_va;
	qp->capacity = (uint16_t)(q->depth - 1);
	qp->reqs = calloc(qp->capacity, sizeof(*qp->reqs));
	qp->free_cids = calloc(qp->capacity, sizeof(*qp->free_cids));
	if (!qp->reqs || !qp->free_cids) {
		free(qp->reqs);
		free(qp->free_cids);
		return -ENOMEM;
	}
	/* Lowest CIDs on top of the stack: IDs are handed out 0, 1, 2, ... */
	for (uint16_t i = 0; i < qp->capacity; i++)
		qp->free_cids[i] = (uint16_t)(qp->capacity - 1 - i);
	qp->n_free = qp->capacity;
	qp->next_deadline = UINT64_MAX;
	*ret = TAKE_PTR(qp);
	return 0;
}

int homi_nvme_qpair_new(struct homi_nvme_ctrl *c, const struct homi_nvme_ioq *q, struct homi_nvme_qpair **ret)
{
	if (q->qid == 0)
		return -EINVAL;
	return homi_nvme_qpair_init(c, q, false, ret);
}

struct homi_nvme_qpair *homi_nvme_qpair_free(struct homi_nvme_qpair *qp)
{
	if (!qp)
		return NULL;
	free(qp->reqs);
	free(qp->free_cids);
	free(qp);
	return NULL;
}

uint16_t homi_nvme_qpair_outstanding(const struct homi_nvme_qpair *qp) { return qp->capacity - qp->n_free; }
uint16_t homi_nvme_qpair_capacity(const struct homi_nvme_qpair *qp) { return qp->capacity; }
const struct homi_nvme_ioq *homi_nvme_qpair_ioq(const struct homi_nvme_qpair *qp) { return &qp->ioq; }

static int fail(struct homi_nvme_qpair *qp, int r)
{
	if (!qp->failed)
		qp->failed = r;
	return qp->failed;
}

int homi_nvme_qpair_submit(struct homi_nvme_qpair *qp, const struct homi_nvme_sqe *sqe, uint32_t timeout_ms,
			   homi_nvme_done_fn fn, void *arg)
{
	struct homi_nvme_req *req;
	uint64_t now;
	uint16_t cid;

	if (qp->failed)
		return qp->failed;
	if (qp->n_free == 0 || homi_nvme_sq_space(&qp->sq) == 0)
		return -EBUSY;
	if (timeout_ms == 0)
		timeout_ms = qp->ctrl->timeout_ms;
	cid = qp->free_cids[--qp->n_free];
	req = &qp->reqs[cid];
	now = homi_now_ns();
	*req = (struct homi_nvme_req){
		.fn = fn, .arg = arg, .timeout_ms = timeout_ms, .opc = sqe->opc, .busy = true,
		.deadline = now + (uint64_t)timeout_ms * 1000000ULL,
	};
	if (req->deadline < qp->next_deadline)
		qp->next_deadline = req->deadline;
	if (qp->n_free == qp->capacity - 1)
		qp->last_progress = now; /* the first command after idling */

	struct homi_nvme_sqe *slot = &qp->sqes[qp->sq.tail];
	*slot = *sqe;
	slot->cid = cid;
	homi_nvme_sq_advance(&qp->sq, 1);
	return 0;
}

void homi_nvme_qpair_ring(struct homi_nvme_qpair *qp)
{
	if (qp->sq.tail == qp->db_tail || qp->failed)
		return;
	homi_dma_wmb();
	*qp->ioq.sq_db = qp->sq.tail;
	qp->db_tail = qp->sq.tail;
}

/* The earliest deadline in flight: a timeout, or the next time to look. */
static int check_deadlines(struct homi_nvme_qpair *qp, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (uint16_t cid = 0; cid < qp->capacity; cid++) {
		const struct homi_nvme_req *req = &qp->reqs[cid];
		if (!req->busy)
			continue;
		if (req->deadline <= now) {
			uint32_t csts;
			qp->last.cid = cid;
			qp->last.opc = req->opc;
			qp->last.timeout_ms = req->timeout_ms;
			/* A controller that vanished explains the timeout better. */
			if (homi_nvme_ctrl_check(qp->ctrl, &csts) < 0) {
				qp->last.csts = csts;
				return fail(qp, -ENODEV);
			}
			return fail(qp, -ETIMEDOUT);
		}
		if (req->deadline < next)
			next = req->deadline;
	}
	qp->next_deadline = next;
	return 0;
}

int homi_nvme_qpair_poll(struct homi_nvme_qpair *qp, uint32_t max)
{
	uint32_t n = 0;
	uint64_t now;

	if (qp->failed)
		return qp->failed;
	for (;;) {
		volatile struct homi_nvme_cqe *e = &qp->cqes[qp->cq.head];
		uint16_t sp = __atomic_load_n(&e->status, __ATOMIC_ACQUIRE);
		struct homi_nvme_req *req;
		uint16_t cid, status;
		uint32_t dw0;

		if (homi_nvme_cqe_phase(sp) != qp->cq.phase || (max && n >= max))
			break;
		homi_dma_rmb();
		cid = e->cid;
		dw0 = e->dw0;
		status = homi_nvme_cqe_status(sp);
		qp->sq.head = e->sqhd;
		homi_nvme_cq_advance(&qp->cq, 1);
		n++;
		if (cid >= qp->capacity || !qp->reqs[cid].busy) {
			qp->last.cid = cid;
			*qp->ioq.cq_db = qp->cq.head;
			return fail(qp, -EPROTO);
		}
		req = &qp->reqs[cid];
		req->busy = false;
		qp->free_cids[qp->n_free++] = cid;
		if (status) {
			qp->last.status = status;
			qp->last.opc = req->opc;
			qp->last.cid = cid;
		}
		if (req->fn)
			req->fn(req->arg, status, dw0);
	}
	if (n) {
		*qp->ioq.cq_db = qp->cq.head;
		qp->last_progress = homi_now_ns();
		return (int)n;
	}
	if (qp->n_free == qp->capacity)
		return 0;
	now = homi_now_ns();
	if (now >= qp->next_deadline)
		return check_deadlines(qp, now);
	if (now - qp->last_progress >= HOMI_NVME_LIVENESS_NS) {
		uint32_t csts;
		qp->last_progress = now;
		if (homi_nvme_ctrl_check(qp->ctrl, &csts) < 0) {
			qp->last.csts = csts;
			return fail(qp, -ENODEV);
		}
	}
	return 0;
}

struct exec_result {
	bool done;
	uint16_t status;
	uint32_t dw0;
};

static void exec_done(void *arg, uint16_t status, uint32_t dw0)
{
	struct exec_result *res = arg;

	res->done = true;
	res->status = status;
	res->dw0 = dw0;
}

int homi_nvme_qpair_exec(struct homi_nvme_qpair *qp, const struct homi_nvme_sqe *sqe, uint32_t timeout_ms,
			 uint16_t *ret_status, uint32_t *ret_dw0)
{
	struct exec_result res = { 0 };
	int r;

	if (ret_status)
		*ret_status = 0;
	r = homi_nvme_qpair_submit(qp, sqe, timeout_ms, exec_done, &res);
	if (r < 0)
		return r;
	homi_nvme_qpair_ring(qp);
	while (!res.done) {
		r = homi_nvme_qpair_poll(qp, 0);
		if (r < 0)
			return r;
	}
	if (ret_status)
		*ret_status = res.status;
	if (ret_dw0)
		*ret_dw0 = res.dw0;
	return res.status ? -EIO : 0;
}

void homi_nvme_qpair_strerror(const struct homi_nvme_qpair *qp, int r, char *buf, size_t len)
{
	const char *what = homi_nvme_opcode_name(qp->admin, qp->last.opc);
	char tmp[192];

	switch (r) {
	case -EIO:
		homi_nvme_status_format(qp->last.status, tmp, sizeof(tmp));
		snprintf(buf, len, "%s (opcode 0x%02x) failed: %s", what, qp->last.opc, tmp);
		break;
	case -ETIMEDOUT:
		snprintf(buf, len, "%s (opcode 0x%02x, command ID %u) on queue %u not completed after %u ms: "
			 "command timed out", what, qp->last.opc, qp->last.cid, qp->ioq.qid, qp->last.timeout_ms);
		break;
	case -ENODEV:
		homi_nvme_csts_describe(qp->last.csts, tmp, sizeof(tmp));
		snprintf(buf, len, "controller vanished with %u command(s) in flight on queue %u: %s",
			 homi_nvme_qpair_outstanding(qp), qp->ioq.qid, tmp);
		break;
	case -EPROTO:
		snprintf(buf, len, "completion on queue %u for command ID %u, which is not in flight", qp->ioq.qid,
			 qp->last.cid);
		break;
	default:
		snprintf(buf, len, "%s", strerror(r < 0 ? -r : r));
	}
}
