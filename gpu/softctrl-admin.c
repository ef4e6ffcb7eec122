/* SPDX-License-Identifier: MIT */
/* Soft controller: admin commands, executed synchronously in the caller's
 * thread (Create/Delete I/O SQ and CQ, Identify, Set Features Number of
 * Queues), with the checks of NVMe 2.0 Base 5.4-5.7. A new queue's memory
 * is used as the host left it: the host must zero a CQ before creating it
 * (gpu-path.md R5), as a real controller never clears it. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "softctrl-internal.h"

#define ST(sct, sc) homi_nvme_status((sct), (sc), 1)
#define GEN(sc) ST(HOMI_NVME_SCT_GENERIC, sc)
#define SPEC(sc) ST(HOMI_NVME_SCT_CMD_SPECIFIC, sc)

/* Queue memory for a PC=1 queue: page aligned and inside one window. */
static void *queue_mem(struct homi_softctrl *sc, uint64_t iova, size_t len, uint16_t *st)
{
	void *va;

	if (iova & (sc->cfg.page_size - 1)) {
		*st = GEN(HOMI_NVME_SC_INVALID_FIELD);
		return NULL;
	}
	pthread_rwlock_rdlock(&sc->win_lock);
	va = sc_xlate(sc, iova, len);
	pthread_rwlock_unlock(&sc->win_lock);
	if (!va)
		*st = GEN(HOMI_NVME_SC_DATA_XFER_ERROR);
	return va;
}

static uint16_t queue_args(struct homi_softctrl *sc, const struct homi_nvme_sqe *e, uint16_t *qid, uint32_t *size)
{
	*qid = (uint16_t)(e->cdw10 & 0xffff);
	*size = (e->cdw10 >> 16) + 1;
	if (*qid == 0 || *qid > sc->cfg.max_ioqs)
		return SPEC(HOMI_NVME_SC_INVALID_QID);
	if (*size < 2 || *size > sc->cfg.mqes)
		return SPEC(HOMI_NVME_SC_INVALID_QSIZE);
	if (!(e->cdw11 & 1)) /* CAP.CQR: only physically contiguous queues */
		return GEN(HOMI_NVME_SC_INVALID_FIELD);
	return 0;
}

static uint16_t create_cq(struct homi_softctrl *sc, const struct homi_nvme_sqe *e)
{
	uint16_t qid, st = 0;
	uint32_t size;
	struct sc_cq *cq;
	void *mem;

	st = queue_args(sc, e, &qid, &size);
	if (st)
		return st;
	cq = &sc->cq[qid];
	if (cq->live)
		return SPEC(HOMI_NVME_SC_INVALID_QID);
	mem = queue_mem(sc, e->prp1, (size_t)size * sizeof(struct homi_nvme_cqe), &st);
	if (!mem)
		return st;
	memset(cq, 0, sizeof(*cq));
	cq->qid = qid;
	cq->depth = size;
	cq->mem = mem;
	cq->head_db = sc_doorbell(sc, qid, 1);
	__atomic_store_n(cq->head_db, 0, __ATOMIC_RELEASE);
	cq->phase = 1;
	cq->live = 1;
	return 0;
}

static uint16_t create_sq(struct homi_softctrl *sc, const struct homi_nvme_sqe *e)
{
	uint16_t qid, cqid = (uint16_t)(e->cdw11 >> 16), st = 0;
	uint32_t size;
	struct sc_sq *sq;
	void *mem;

	st = queue_args(sc, e, &qid, &size);
	if (st)
		return st;
	sq = &sc->sq[qid];
	if (atomic_load(&sq->state) != SC_Q_FREE)
		return SPEC(HOMI_NVME_SC_INVALID_QID);
	if (cqid == 0 || cqid > sc->cfg.max_ioqs || !sc->cq[cqid].live)
		return SPEC(HOMI_NVME_SC_CQ_INVALID);
	mem = queue_mem(sc, e->prp1, (size_t)size * sizeof(struct homi_nvme_sqe), &st);
	if (!mem)
		return st;
	free(sq->shadow);
	sq->shadow = calloc(size, sizeof(*sq->shadow));
	if (!sq->shadow)
		return GEN(HOMI_NVME_SC_INTERNAL);
	sq->qid = qid;
	sq->cqid = cqid;
	sq->depth = size;
	sq->mem = mem;
	sq->head = 0;
	sq->bad_db = 0;
	sq->tail_db = sc_doorbell(sc, qid, 0);
	__atomic_store_n(sq->tail_db, 0, __ATOMIC_RELEASE);
	atomic_store(&sq->ack, 0);
	sc->cq[cqid].nsq++;
	atomic_store_explicit(&sq->state, SC_Q_LIVE, memory_order_release);
	return 0;
}

static uint16_t delete_sq(struct homi_softctrl *sc, const struct homi_nvme_sqe *e)
{
	uint16_t qid = (uint16_t)(e->cdw10 & 0xffff);
	struct sc_sq *sq;

	if (qid == 0 || qid > sc->cfg.max_ioqs)
		return SPEC(HOMI_NVME_SC_INVALID_QID);
	sq = &sc->sq[qid];
	if (atomic_load(&sq->state) != SC_Q_LIVE)
		return SPEC(HOMI_NVME_SC_INVALID_QID);
	atomic_store_explicit(&sq->state, SC_Q_DELETING, memory_order_release);
	/* the worker that serves it acknowledges once it is between commands */
	while (!atomic_load_explicit(&sq->ack, memory_order_acquire))
		sched_yield();
	sc->cq[sq->cqid].nsq--;
	atomic_store_explicit(&sq->state, SC_Q_FREE, memory_order_release);
	return 0;
}

static uint16_t delete_cq(struct homi_softctrl *sc, const struct homi_nvme_sqe *e)
{
	uint16_t qid = (uint16_t)(e->cdw10 & 0xffff);

	if (qid == 0 || qid > sc->cfg.max_ioqs || !sc->cq[qid].live)
		return SPEC(HOMI_NVME_SC_INVALID_QID);
	if (sc->cq[qid].nsq)
		return SPEC(HOMI_NVME_SC_INVALID_QUEUE_DELETION);
	sc->cq[qid].live = 0;
	return 0;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t identify(struct homi_softctrl *sc, const struct homi_nvme_sqe *e)
{
	const struct homi_softctrl_config *c = &sc->cfg;
	uint8_t *d;
	uint16_t st = 0;
	uint8_t cns = (uint8_t)(e->cdw10 & 0xff);

	if (e->prp1 & 3)
		return GEN(HOMI_NVME_SC_PRP_OFFSET_INVALID);
	/* 4 KiB of data: one page when PRP1 is page aligned; keep it simple
	 * and require that */
	if (e->prp1 & (c->page_size - 1))
		return GEN(HOMI_NVME_SC_INVALID_FIELD);
	pthread_rwlock_rdlock(&sc->win_lock);
	d = sc_xlate(sc, e->prp1, 4096);
	if (!d) {
		st = GEN(HOMI_NVME_SC_DATA_XFER_ERROR);
		goto out;
	}
	memset(d, 0, 4096);
	if (cns == HOMI_NVME_CNS_CTRL) {
		uint32_t mdts = 0;
		memcpy(d + 4, "homi-soft-0000000001", 20);           /* SN */
		memcpy(d + 24, "homi soft controller", 20);          /* MN */
		memset(d + 44, ' ', 20);
		while (c->mdts_pages && (1u << mdts) < c->mdts_pages)
			mdts++;
		d[77] = (uint8_t)(c->mdts_pages ? mdts : 0);         /* MDTS in MPSMIN units */
		d[512] = 0x66;                                       /* SQES */
		d[513] = 0x44;                                       /* CQES */
		put_le(d + 516, 1, 4);                               /* NN */
	} else if (cns == HOMI_NVME_CNS_NS) {
		if (e->nsid != c->nsid) {
			st = GEN(HOMI_NVME_SC_INVALID_NS);
			goto out;
		}
		put_le(d + 0, c->nlbas, 8);   /* NSZE */
		put_le(d + 8, c->nlbas, 8);   /* NCAP */
		put_le(d + 16, c->nlbas, 8);  /* NUSE */
		d[128 + 2] = (uint8_t)c->lba_shift; /* LBAF0.LBADS */
	} else {
		st = GEN(HOMI_NVME_SC_INVALID_FIELD);
	}
out:
	pthread_rwlock_unlock(&sc->win_lock);
	return st;
}

int homi_softctrl_admin(struct homi_softctrl *sc, const struct homi_nvme_sqe *cmd, struct homi_nvme_cqe *cpl)
{
	uint16_t st;
	uint32_t dw0 = 0;

	if (!sc || !cmd || !cpl)
		return -EINVAL;
	pthread_mutex_lock(&sc->admin_lock);
	switch (cmd->opc) {
	case HOMI_NVME_ADMIN_CREATE_CQ:
		st = create_cq(sc, cmd);
		break;
	case HOMI_NVME_ADMIN_CREATE_SQ:
		st = create_sq(sc, cmd);
		break;
	case HOMI_NVME_ADMIN_DELETE_SQ:
		st = delete_sq(sc, cmd);
		break;
	case HOMI_NVME_ADMIN_DELETE_CQ:
		st = delete_cq(sc, cmd);
		break;
	case HOMI_NVME_ADMIN_IDENTIFY:
		st = identify(sc, cmd);
		break;
	case HOMI_NVME_ADMIN_SET_FEATURES:
		if ((cmd->cdw10 & 0xff) == HOMI_NVME_FEAT_NUM_QUEUES) {
			st = 0;
			dw0 = (uint32_t)(sc->cfg.max_ioqs - 1) | (uint32_t)(sc->cfg.max_ioqs - 1) << 16;
		} else {
			st = GEN(HOMI_NVME_SC_INVALID_FIELD);
		}
		break;
	default:
		st = GEN(HOMI_NVME_SC_INVALID_OPCODE);
		break;
	}
	pthread_mutex_unlock(&sc->admin_lock);
	memset(cpl, 0, sizeof(*cpl));
	cpl->dw0 = dw0;
	cpl->cid = cmd->cid;
	cpl->status = (uint16_t)(st << 1 | 1);
	return 0;
}
