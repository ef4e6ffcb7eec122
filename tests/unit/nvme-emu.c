/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "nvme-emu.h"

static uint32_t reg_read(struct emu *e, uint32_t off)
{
	return __atomic_load_n((uint32_t *)(e->bar + off), __ATOMIC_ACQUIRE);
}

static void reg_write(struct emu *e, uint32_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)(e->bar + off), v, __ATOMIC_RELEASE);
}

static uint64_t reg_read64(struct emu *e, uint32_t off)
{
	return reg_read(e, off) | (uint64_t)reg_read(e, off + 4) << 32;
}

static void *ptr(uint64_t iova) { return (void *)(uintptr_t)iova; }

struct cpl {
	uint16_t cid, sqid, sqhd, status;
	uint32_t dw0;
	uint16_t cqid;
};

static void post(struct emu *e, const struct cpl *c)
{
	struct emu_cq *cq = &e->cq[c->cqid];
	struct homi_nvme_cqe *slot;
	uint16_t head;

	/* A full CQ waits for the host to move its head. */
	for (;;) {
		head = (uint16_t)reg_read(e, homi_nvme_cq_doorbell(c->cqid, 0));
		if ((uint16_t)((cq->tail + 1) % cq->depth) != head || e->stop)
			break;
		sched_yield();
	}
	slot = (struct homi_nvme_cqe *)ptr(cq->addr) + cq->tail;
	slot->dw0 = c->dw0;
	slot->dw1 = 0;
	slot->sqhd = c->sqhd;
	slot->sqid = c->sqid;
	slot->cid = e->bad_cid ? (uint16_t)0xbeef : c->cid;
	e->bad_cid = false;
	__atomic_store_n(&slot->status, (uint16_t)(c->status << 1 | cq->phase), __ATOMIC_RELEASE);
	if (++cq->tail == cq->depth) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
}

/* Copies LEN bytes between the namespace at OFF and the PRPs of S. */
static uint16_t prp_copy(struct emu *e, const struct homi_nvme_sqe *s, uint64_t off, uint32_t len, bool to_host)
{
	uint32_t page = 4096, first = page - (uint32_t)(s->prp1 & (page - 1)), done = 0, n = 0;
	uint64_t pages[600];

	pages[n++] = s->prp1;
	if (len > first) {
		uint32_t rest = len - first, more = (rest + page - 1) / page;
		if (more == 1) {
			pages[n++] = s->prp2;
		} else {
			const uint64_t *list = ptr(s->prp2);
			if (s->prp2 & 7 || more > 512)
				return 0x13; /* PRP Offset Invalid */
			for (uint32_t i = 0; i < more; i++) {
				if (list[i] & (page - 1))
					return 0x13;
				pages[n++] = list[i];
			}
		}
	}
	for (uint32_t i = 0; i < n && done < len; i++) {
		uint32_t chunk = i == 0 ? first : page;
		if (chunk > len - done)
			chunk = len - done;
		if (to_host)
			memcpy(ptr(pages[i]), e->ns + off + done, chunk);
		else
			memcpy(e->ns + off + done, ptr(pages[i]), chunk);
		done += chunk;
	}
	return 0;
}

static void identify(struct emu *e, const struct homi_nvme_sqe *s, struct cpl *c)
{
	uint8_t *d = ptr(s->prp1);

	memset(d, 0, 4096);
	if ((s->cdw10 & 0xff) == HOMI_NVME_CNS_CTRL) {
		d[0] = 0x36, d[1] = 0x1b;
		memcpy(d + 4, "EMU0001             ", 20);
		memcpy(d + 24, "homi test controller                    ", 40);
		memcpy(d + 64, "1.0     ", 8);
		d[77] = e->mdts;
		d[78] = 7; /* CNTLID 7 */
		d[516] = 1; /* NN */
	} else if ((s->cdw10 & 0xff) == HOMI_NVME_CNS_NS) {
		if (s->nsid != 1)
			return; /* inactive: zeros */
		memcpy(d, &e->nsze, 8);
		memcpy(d + 8, &e->nsze, 8);
		d[25] = 0;                       /* NLBAF */
		d[26] = 0;                       /* FLBAS: format 0 */
		d[128 + 2] = (uint8_t)__builtin_ctz(e->lba_size); /* LBADS */
	} else {
		c->status = 0x02;
	}
}

static void admin(struct emu *e, const struct homi_nvme_sqe *s, struct cpl *c)
{
	uint16_t qid = (uint16_t)(s->cdw10 & 0xffff), depth = (uint16_t)((s->cdw10 >> 16) + 1);

	switch (s->opc) {
	case HOMI_NVME_ADMIN_IDENTIFY:
		identify(e, s, c);
		break;
	case HOMI_NVME_ADMIN_SET_FEATURES:
		if ((s->cdw10 & 0xff) != HOMI_NVME_FEAT_NUM_QUEUES) {
			c->status = 0x02;
			break;
		}
		c->dw0 = (uint32_t)(e->io_queues - 1) | (uint32_t)(e->io_queues - 1) << 16;
		break;
	case HOMI_NVME_ADMIN_CREATE_CQ:
		if (qid == 0 || qid > e->io_queues || qid >= EMU_QUEUES || e->cq[qid].valid) {
			c->status = 0x100 | 0x01; /* Invalid Queue Identifier */
			break;
		}
		if (depth > e->mqes + 1u || !(s->cdw11 & 1)) {
			c->status = 0x100 | 0x02;
			break;
		}
		e->cq[qid] = (struct emu_cq){ .valid = true, .addr = s->prp1, .depth = depth, .phase = 1 };
		reg_write(e, homi_nvme_cq_doorbell(qid, 0), 0);
		break;
	case HOMI_NVME_ADMIN_CREATE_SQ: {
		uint16_t cqid = (uint16_t)(s->cdw11 >> 16);
		if (qid == 0 || qid >= EMU_QUEUES || e->sq[qid].valid) {
			c->status = 0x100 | 0x01;
			break;
		}
		if (cqid >= EMU_QUEUES || !e->cq[cqid].valid) {
			c->status = 0x100 | 0x00; /* Completion Queue Invalid */
			break;
		}
		e->sq[qid] = (struct emu_sq){ .valid = true, .addr = s->prp1, .depth = depth, .cqid = cqid };
		reg_write(e, homi_nvme_sq_doorbell(qid, 0), 0);
		break;
	}
	case HOMI_NVME_ADMIN_DELETE_SQ:
		if (qid == 0 || qid >= EMU_QUEUES || !e->sq[qid].valid)
			c->status = 0x100 | 0x01;
		else
			e->sq[qid].valid = false;
		break;
	case HOMI_NVME_ADMIN_DELETE_CQ:
		if (qid == 0 || qid >= EMU_QUEUES || !e->cq[qid].valid)
			c->status = 0x100 | 0x01;
		else
			e->cq[qid].valid = false;
		break;
	default:
		c->status = 0x01; /* Invalid Command Opcode */
	}
}

static void io(struct emu *e, const struct homi_nvme_sqe *s, struct cpl *c)
{
	uint64_t slba = s->cdw10 | (uint64_t)s->cdw11 << 32;
	uint32_t nlb = (s->cdw12 & 0xffff) + 1;

	if (s->nsid != 1) {
		c->status = 0x0b; /* Invalid Namespace or Format */
		return;
	}
	switch (s->opc) {
	case HOMI_NVME_CMD_FLUSH:
		return;
	case HOMI_NVME_CMD_READ:
	case HOMI_NVME_CMD_WRITE:
		if (slba >= e->nsze || nlb > e->nsze - slba) {
			c->status = 0x80; /* LBA Out of Range */
			return;
		}
		if (e->mdts && nlb * e->lba_size > (4096u << e->mdts)) {
			c->status = 0x02;
			return;
		}
		c->status = prp_copy(e, s, slba * e->lba_size, nlb * e->lba_size, s->opc == HOMI_NVME_CMD_READ);
		return;
	default:
		c->status = 0x01;
	}
}

static void enable(struct emu *e)
{
	uint32_t aqa = reg_read(e, HOMI_NVME_REG_AQA);

	memset(e->sq, 0, sizeof(e->sq));
	memset(e->cq, 0, sizeof(e->cq));
	e->sq[0] = (struct emu_sq){ .valid = true, .addr = reg_read64(e, HOMI_NVME_REG_ASQ),
				    .depth = (uint16_t)((aqa & 0xfff) + 1) };
	e->cq[0] = (struct emu_cq){ .valid = true, .addr = reg_read64(e, HOMI_NVME_REG_ACQ),
				    .depth = (uint16_t)(((aqa >> 16) & 0xfff) + 1), .phase = 1 };
	for (uint32_t off = HOMI_NVME_REG_DOORBELLS; off < EMU_BAR_SIZE; off += 4)
		reg_write(e, off, 0);
	e->enabled = true;
	if (!e->never_ready)
		reg_write(e, HOMI_NVME_REG_CSTS, HOMI_NVME_CSTS_RDY);
}

/* One pass over the submission queues; returns the commands processed. */
static unsigned scan(struct emu *e)
{
	struct cpl batch[256];
	unsigned n = 0, total = 0;

	for (uint16_t q = 0; q < EMU_QUEUES; q++) {
		struct emu_sq *sq = &e->sq[q];
		uint16_t tail;

		if (!sq->valid)
			continue;
		tail = (uint16_t)reg_read(e, homi_nvme_sq_doorbell(q, 0));
		while (sq->head != tail && n < 256 && sq->valid) {
			struct homi_nvme_sqe s = ((struct homi_nvme_sqe *)ptr(sq->addr))[sq->head];
			struct cpl c = { .cid = s.cid, .sqid = q, .cqid = sq->cqid };

			sq->head = (uint16_t)((sq->head + 1) % sq->depth);
			c.sqhd = sq->head;
			total++;
			e->commands++;
			if (q == 0) {
				if (s.opc == e->drop_opc)
					continue;
				admin(e, &s, &c);
			} else {
				io(e, &s, &c);
			}
			batch[n++] = c;
		}
	}
	for (unsigned i = 0; i < n; i++)
		post(e, &batch[e->reverse ? n - 1 - i : i]);
	return total;
}

static void *run(void *arg)
{
	struct emu *e = arg;

	while (!e->stop) {
		uint32_t cc = reg_read(e, HOMI_NVME_REG_CC);

		if (e->dead_csts) {
			reg_write(e, HOMI_NVME_REG_CSTS, e->dead_csts);
			sched_yield();
			continue;
		}
		if ((cc & HOMI_NVME_CC_EN) && !e->enabled) {
			enable(e);
		} else if (!(cc & HOMI_NVME_CC_EN) && e->enabled) {
			e->enabled = false;
			reg_write(e, HOMI_NVME_REG_CSTS, 0);
		}
		if (!e->enabled || !scan(e))
			sched_yield();
	}
	return NULL;
}

void emu_init(struct emu *e)
{
	memset(e, 0, sizeof(*e));
	e->mqes = 1023;
	e->cap_to = 1;
	e->mdts = 5;
	e->io_queues = 4;
	e->lba_size = 512;
	e->nsze = 2048;
	e->drop_opc = -1;
}

void emu_start(struct emu *e)
{
	uint64_t cap = e->mqes | 1ULL << 16 /* CQR */ | (uint64_t)e->cap_to << 24 | 1ULL << 37 /* CSS NVM */;

	if (!e->ns)
		e->ns = calloc(e->nsze, e->lba_size);
	reg_write(e, HOMI_NVME_REG_CAP, (uint32_t)cap);
	reg_write(e, HOMI_NVME_REG_CAP + 4, (uint32_t)(cap >> 32));
	reg_write(e, HOMI_NVME_REG_VS, 0x10400);
	pthread_create(&e->thread, NULL, run, e);
}

void emu_stop(struct emu *e)
{
	e->stop = true;
	pthread_join(e->thread, NULL);
	free(e->ns);
	e->ns = NULL;
}

static int dma_alloc(void *ctx, size_t len, struct homi_dma_mem *ret)
{
	size_t map_len = (len + 4095) & ~(size_t)4095;
	void *p = aligned_alloc(4096, map_len ? map_len : 4096);

	(void)ctx;
	if (!p)
		return -ENOMEM;
	memset(p, 0, map_len);
	*ret = (struct homi_dma_mem){ .va = p, .iova = (uintptr_t)p, .len = len, .map_len = map_len };
	return 0;
}

static void dma_free(void *ctx, struct homi_dma_mem *m)
{
	(void)ctx;
	free(m->va);
	*m = (struct homi_dma_mem){ 0 };
}

const struct homi_dma_ops emu_dma_ops = { .alloc = dma_alloc, .free = dma_free };
