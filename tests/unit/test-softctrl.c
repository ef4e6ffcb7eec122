/* SPDX-License-Identifier: MIT */
/* The soft controller (gpu/softctrl.h) driven by a CPU submitter through
 * the shared queue protocol header and the controller-endpoint callbacks:
 * data in and out, PRP lists with chaining over scrambled pages, every
 * field check, out-of-order completion, injected errors, dropped commands,
 * CQ-full stalls, admin checks, doorbell stride, repeated SQEs. Runs
 * without CUDA (the GPU tests drive the same controller from kernels). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "check-run.h"
#include "gpu/softctrl-ep.h"

#define PAGE 4096u
#define GEN(sc) homi_nvme_status(HOMI_NVME_SCT_GENERIC, (sc), 1)
#define SPEC(sc) homi_nvme_status(HOMI_NVME_SCT_CMD_SPECIFIC, (sc), 1)

struct region {
	void *va;
	size_t len;
	uint64_t iova;
};

struct hostq {
	struct homi_gpu_ctrl ep;
	struct homi_nvme_sq sq;
	struct homi_nvme_cq cq;
	struct region sqm, cqm;
	uint32_t *sqdb, *cqdb;
	uint16_t cid;
};

static struct homi_softctrl *sc;
static struct homi_gpu_ctrl ep;

static void region_new(struct region *r, size_t len)
{
	r->len = (len + PAGE - 1) & ~(size_t)(PAGE - 1);
	r->va = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(r->va, MAP_FAILED);
	ck_assert_int_eq(ep.ops->dma_map(ep.ctx, r->va, r->len, &r->iova), 0);
	ck_assert_uint_ne(r->iova, (uintptr_t)r->va);
}

static void region_free(struct region *r)
{
	ck_assert_int_eq(ep.ops->dma_unmap(ep.ctx, r->va, r->len), 0);
	munmap(r->va, r->len);
}

static uint16_t admin(struct homi_nvme_sqe *e)
{
	struct homi_nvme_cqe c;
	ck_assert_int_eq(ep.ops->admin(ep.ctx, e, &c), 0);
	return homi_nvme_cqe_status(c.status);
}

static void ctrl_up(void (*tweak)(struct homi_softctrl_config *))
{
	struct homi_softctrl_config cfg;

	homi_softctrl_config_default(&cfg);
	cfg.max_ioqs = 8;
	cfg.workers = 2;
	cfg.nlbas = 1u << 14; /* 8 MiB */
	if (tweak)
		tweak(&cfg);
	ck_assert_int_eq(homi_softctrl_create(&cfg, &sc), 0);
	homi_softctrl_endpoint(sc, &ep);
}

static void ctrl_down(void)
{
	homi_softctrl_destroy(sc);
	sc = NULL;
}

static void q_open(struct hostq *q, uint16_t qid, uint16_t sqd, uint16_t cqd)
{
	struct homi_gpu_ctrl_info info;
	struct homi_nvme_sqe e;
	uint8_t *bar0;
	size_t len;

	memset(q, 0, sizeof(*q));
	ck_assert_int_eq(ep.ops->info(ep.ctx, &info), 0);
	ck_assert_int_eq(ep.ops->bar0(ep.ctx, (void **)&bar0, &len), 0);
	region_new(&q->sqm, (size_t)sqd * 64);
	region_new(&q->cqm, (size_t)cqd * 16);
	homi_nvme_sq_init(&q->sq, qid, sqd);
	homi_nvme_cq_init(&q->cq, qid, cqd);
	q->sqdb = (uint32_t *)(bar0 + homi_nvme_sq_doorbell(qid, homi_nvme_cap_dstrd(info.cap)));
	q->cqdb = (uint32_t *)(bar0 + homi_nvme_cq_doorbell(qid, homi_nvme_cap_dstrd(info.cap)));
	homi_nvme_sqe_create_cq(&e, 1, qid, cqd, q->cqm.iova, 0, 0);
	ck_assert_uint_eq(admin(&e), 0);
	homi_nvme_sqe_create_sq(&e, 2, qid, sqd, q->sqm.iova, qid);
	ck_assert_uint_eq(admin(&e), 0);
}

static void q_close(struct hostq *q)
{
	struct homi_nvme_sqe e;
	homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_SQ, 3, q->sq.qid);
	ck_assert_uint_eq(admin(&e), 0);
	homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_CQ, 4, q->cq.qid);
	ck_assert_uint_eq(admin(&e), 0);
	region_free(&q->sqm);
	region_free(&q->cqm);
}

/* Queue E (its CID is set here and returned); ring() makes it visible. */
static uint16_t q_push(struct hostq *q, struct homi_nvme_sqe *e)
{
	struct homi_nvme_sqe *sq = q->sqm.va;
	ck_assert_uint_gt(homi_nvme_sq_space(&q->sq), 0);
	e->cid = q->cid++;
	sq[q->sq.tail] = *e;
	homi_nvme_sq_advance(&q->sq, 1);
	return e->cid;
}

static void q_ring(struct hostq *q)
{
	__atomic_store_n(q->sqdb, q->sq.tail, __ATOMIC_RELEASE);
}

/* Next CQE within MS milliseconds; returns 0 or -ETIMEDOUT. The CQ head
 * doorbell is written after each CQE unless HOLD. */
static int q_reap(struct hostq *q, struct homi_nvme_cqe *out, int ms, int hold)
{
	struct homi_nvme_cqe *cq = q->cqm.va;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint32_t dw3 = __atomic_load_n((uint32_t *)&cq[q->cq.head] + 3, __ATOMIC_ACQUIRE);
		if (homi_nvme_dw3_phase(dw3) == q->cq.phase) {
			*out = cq[q->cq.head];
			homi_nvme_cq_advance(&q->cq, 1);
			if (!hold)
				__atomic_store_n(q->cqdb, q->cq.head, __ATOMIC_RELEASE);
			ck_assert_uint_eq(out->sqid, q->sq.qid);
			q->sq.head = out->sqhd;
			return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return -ETIMEDOUT;
	}
}

static uint16_t q_cmd(struct hostq *q, struct homi_nvme_sqe *e)
{
	struct homi_nvme_cqe c;
	uint16_t cid = q_push(q, e);
	q_ring(q);
	ck_assert_int_eq(q_reap(q, &c, 5000, 0), 0);
	ck_assert_uint_eq(c.cid, cid);
	return homi_nvme_cqe_status(c.status);
}

static uint32_t pat(uint64_t lba, uint32_t word, uint32_t seed)
{
	uint64_t x = (lba << 10 | word) * 0x9e3779b97f4a7c15ull ^ seed;
	x ^= x >> 29;
	return (uint32_t)(x * 0xbf58476d1ce4e5b9ull >> 32);
}

static void fill(void *buf, uint64_t lba, uint32_t nlb, uint32_t seed)
{
	uint32_t *w = buf;
	for (uint32_t b = 0; b < nlb; b++)
		for (uint32_t i = 0; i < 128; i++)
			w[b * 128 + i] = pat(lba + b, i, seed);
}

static int same(const void *buf, uint64_t lba, uint32_t nlb, uint32_t seed)
{
	const uint32_t *w = buf;
	for (uint32_t b = 0; b < nlb; b++)
		for (uint32_t i = 0; i < 128; i++)
			if (w[b * 128 + i] != pat(lba + b, i, seed))
				return 0;
	return 1;
}

static void ns_fill(uint32_t seed)
{
	size_t len;
	uint8_t *ns = homi_softctrl_ns(sc, &len);
	fill(ns, 0, (uint32_t)(len / 512), seed);
}

static void faults(enum homi_softctrl_order o, uint64_t emod, uint64_t erem, uint16_t est)
{
	struct homi_softctrl_faults f = { .order = o, .err_mod = emod, .err_rem = erem, .err_status = est,
					  .seed = 12345 };
	homi_softctrl_set_faults(sc, &f);
}

static struct homi_softctrl_stats stats(void)
{
	struct homi_softctrl_stats st;
	homi_softctrl_get_stats(sc, &st);
	return st;
}

START_TEST(write_then_read)
{
	struct hostq q;
	struct region buf;
	struct homi_nvme_sqe e;
	size_t len;
	uint8_t *ns;

	ctrl_up(NULL);
	q_open(&q, 1, 16, 16);
	region_new(&buf, 2 * PAGE);
	fill(buf.va, 100, 16, 7);
	/* 8 KiB: PRP1 + PRP2 as the second data page */
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_WRITE, 0, 1, 100, 16, buf.iova, buf.iova + PAGE);
	ck_assert_uint_eq(q_cmd(&q, &e), 0);
	ns = homi_softctrl_ns(sc, &len);
	ck_assert(same(ns + 100 * 512, 100, 16, 7));
	memset(buf.va, 0, 2 * PAGE);
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 100, 16, buf.iova, buf.iova + PAGE);
	ck_assert_uint_eq(q_cmd(&q, &e), 0);
	ck_assert(same(buf.va, 100, 16, 7));
	/* a 512-byte read at an offset inside the page */
	memset(buf.va, 0, PAGE);
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 101, 1, buf.iova + 1024, 0);
	ck_assert_uint_eq(q_cmd(&q, &e), 0);
	ck_assert(same((uint8_t *)buf.va + 1024, 101, 1, 7));
	ck_assert_uint_eq(((uint32_t *)buf.va)[0], 0);
	ck_assert_uint_eq(stats().bytes, 2 * 8192 + 512);
	homi_nvme_sqe_flush(&e, 0, 0xffffffffu);
	ck_assert_uint_eq(q_cmd(&q, &e), 0);
	region_free(&buf);
	q_close(&q);
	ctrl_down();
}
END_TEST

static void no_mdts(struct homi_softctrl_config *c)
{
	c->mdts_pages = 0;
	c->nlbas = 1u << 15; /* 16 MiB */
}

/* One read of NPAGES scrambled pages through chained PRP lists (list
 * pages placed in reverse order), then the same with PRP1 512 bytes into
 * its page. */
static void chained_read(struct hostq *q, uint32_t npages)
{
	struct region data, lists;
	struct homi_nvme_sqe e;
	uint64_t *pages = calloc(npages, 8), *lv[3], lb[3], prp1, prp2;
	uint32_t *perm = calloc(npages, 4), nl = homi_nvme_prp_list_pages(npages - 1, PAGE);

	ck_assert_uint_le(nl, 3);
	region_new(&data, (size_t)npages * PAGE);
	region_new(&lists, 3 * PAGE);
	for (uint32_t i = 0; i < npages; i++)
		perm[i] = (uint32_t)(((uint64_t)i * 7919u) % npages);
	for (uint32_t i = 0; i < npages; i++)
		pages[i] = data.iova + (uint64_t)perm[i] * PAGE;
	for (int i = 0; i < 3; i++) {
		lv[i] = (uint64_t *)((uint8_t *)lists.va + (2 - i) * PAGE);
		lb[i] = lists.iova + (uint64_t)(2 - i) * PAGE;
	}
	ck_assert_int_eq(homi_nvme_prp_build(pages, npages, PAGE, lv, lb, 3, &prp1, &prp2), (int)nl);
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 64, npages * 8, prp1, prp2);
	ck_assert_uint_eq(q_cmd(q, &e), 0);
	for (uint32_t i = 0; i < npages; i++)
		ck_assert(same((uint8_t *)data.va + (size_t)perm[i] * PAGE, 64 + (uint64_t)i * 8, 8, 3));
	/* PRP1 512 bytes into its page: the transfer ends 512 bytes into the
	 * last page, every byte shifted by 512 */
	memset(data.va, 0, data.len);
	pages[0] += 512;
	ck_assert_int_eq(homi_nvme_prp_build(pages, npages, PAGE, lv, lb, 3, &prp1, &prp2), (int)nl);
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 64, (npages - 1) * 8, prp1, prp2);
	ck_assert_uint_eq(q_cmd(q, &e), 0);
	for (uint64_t o = 0; o < (uint64_t)(npages - 1) * PAGE; o += 512) {
		uint64_t v = 512 + o;
		ck_assert(same((uint8_t *)data.va + (size_t)perm[v / PAGE] * PAGE + v % PAGE, 64 + o / 512, 1, 3));
	}
	region_free(&lists);
	region_free(&data);
	free(pages);
	free(perm);
}

START_TEST(prp_list_chained_scrambled)
{
	/* list entries: 2 (one short list), 512 (one full page, last entry
	 * is data), 513 (chain), 1023 (two pages, the second exactly full),
	 * 1099 (three pages) */
	const uint32_t sizes[] = { 3, 513, 514, 1024, 1100 };
	struct hostq q;

	ctrl_up(no_mdts);
	ns_fill(3);
	q_open(&q, 2, 8, 8);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		chained_read(&q, sizes[i]);
	q_close(&q);
	ctrl_down();
}
END_TEST

START_TEST(every_field_check)
{
	struct hostq q;
	struct region buf, list;
	struct homi_nvme_sqe e;
	const uint64_t nlbas = 1u << 14;
	uint64_t *l;

	ctrl_up(NULL);
	q_open(&q, 3, 32, 32);
	region_new(&buf, 64 * PAGE);
	region_new(&list, PAGE);
	l = list.va;

#define RW(opc, slba, nlb, p1, p2) homi_nvme_sqe_rw(&e, (opc), 0, 1, (slba), (nlb), (p1), (p2))
	RW(0x7f, 0, 1, buf.iova, 0);
	e.opc = 0x7f;
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_INVALID_OPCODE));
	RW(HOMI_NVME_CMD_READ, 0, 1, buf.iova, 0);
	e.flags = 1; /* fused, first command */
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_INVALID_FIELD));
	RW(HOMI_NVME_CMD_READ, 0, 1, buf.iova, 0);
	e.flags = 1u << 6; /* PSDT: SGL */
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_INVALID_FIELD));
	RW(HOMI_NVME_CMD_READ, 0, 1, buf.iova, 0);
	e.nsid = 2;
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_INVALID_NS));
	RW(HOMI_NVME_CMD_WRITE, 0, 1, buf.iova, 0);
	e.nsid = 0;
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_INVALID_NS));
	RW(HOMI_NVME_CMD_READ, 0, 1, buf.iova, 0);
	e.cdw12 |= 1u << 26; /* PRINFO */
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_INVALID_FIELD));
	RW(HOMI_NVME_CMD_WRITE, 0, 1, buf.iova, 0);
	e.cdw12 |= 1u << 20; /* DTYPE */
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_INVALID_FIELD));
	RW(HOMI_NVME_CMD_READ, nlbas - 1, 2, buf.iova, 0);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_LBA_RANGE));
	RW(HOMI_NVME_CMD_READ, ~0ull, 1, buf.iova, 0);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_LBA_RANGE));
	/* MDTS is 64 pages: 65 pages is too much, 64 is fine */
	RW(HOMI_NVME_CMD_READ, 0, 65 * 8, buf.iova, list.iova);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_INVALID_FIELD));
	for (int i = 0; i < 63; i++)
		l[i] = buf.iova + (uint64_t)(i + 1) * PAGE;
	RW(HOMI_NVME_CMD_READ, 0, 64 * 8, buf.iova, list.iova);
	ck_assert_uint_eq(q_cmd(&q, &e), 0);
	/* PRP1 not dword aligned */
	RW(HOMI_NVME_CMD_READ, 0, 1, buf.iova + 2, 0);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_PRP_OFFSET_INVALID));
	/* PRP2 as a data page with an offset */
	RW(HOMI_NVME_CMD_READ, 0, 16, buf.iova, buf.iova + PAGE + 8);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_PRP_OFFSET_INVALID));
	/* a list pointer not qword aligned */
	RW(HOMI_NVME_CMD_READ, 0, 24, buf.iova, list.iova + 4);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_PRP_OFFSET_INVALID));
	/* a list entry with an offset */
	l[1] += 512;
	RW(HOMI_NVME_CMD_READ, 0, 24, buf.iova, list.iova);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_PRP_OFFSET_INVALID));
	l[1] -= 512;
	RW(HOMI_NVME_CMD_READ, 0, 24, buf.iova, list.iova);
	ck_assert_uint_eq(q_cmd(&q, &e), 0);
	/* outside every window: a bogus IOVA, the VA itself, the guard page
	 * right after a window, a list in nobody's window */
	ck_assert_uint_eq(stats().window_faults, 0);
	RW(HOMI_NVME_CMD_READ, 0, 1, 0xdead0000ull, 0);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_DATA_XFER_ERROR));
	RW(HOMI_NVME_CMD_WRITE, 0, 1, (uintptr_t)buf.va, 0);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_DATA_XFER_ERROR));
	RW(HOMI_NVME_CMD_READ, 0, 16, buf.iova + 63 * PAGE, buf.iova + 64 * PAGE);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_DATA_XFER_ERROR));
	RW(HOMI_NVME_CMD_READ, 0, 24, buf.iova, 0xbad000ull);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_DATA_XFER_ERROR));
	ck_assert_uint_eq(stats().window_faults, 4);
	homi_nvme_sqe_flush(&e, 0, 2);
	ck_assert_uint_eq(q_cmd(&q, &e), GEN(HOMI_NVME_SC_INVALID_NS));
#undef RW
	region_free(&list);
	region_free(&buf);
	q_close(&q);
	ctrl_down();
}
END_TEST

/* Submit N reads of one LBA each into 512-byte slots of BUF, ring once,
 * reap all; returns the CQEs in arrival order. */
static void batch(struct hostq *q, struct region *buf, uint32_t n, uint64_t lba0, struct homi_nvme_cqe *cqe,
		  uint16_t *cids)
{
	struct homi_nvme_sqe e;
	for (uint32_t i = 0; i < n; i++) {
		homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, lba0 + i, 1, buf->iova + i * 512, 0);
		cids[i] = q_push(q, &e);
	}
	q_ring(q);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_int_eq(q_reap(q, &cqe[i], 5000, 0), 0);
}

START_TEST(out_of_order_by_cid)
{
	struct hostq q;
	struct region buf;
	struct homi_nvme_cqe cqe[40];
	uint16_t cids[40];
	int moved = 0, seen[40] = { 0 };

	ctrl_up(NULL);
	ns_fill(11);
	q_open(&q, 1, 64, 64);
	region_new(&buf, 40 * 512);
	faults(HOMI_SOFTCTRL_REVERSE, 0, 0, 0);
	batch(&q, &buf, 40, 1000, cqe, cids);
	for (int i = 0; i < 40; i++)
		ck_assert_uint_eq(cqe[i].cid, cids[39 - i]);
	faults(HOMI_SOFTCTRL_SHUFFLE, 0, 0, 0);
	batch(&q, &buf, 40, 2000, cqe, cids);
	for (int i = 0; i < 40; i++) {
		int k = cqe[i].cid - cids[0];
		ck_assert_int_ge(k, 0);
		ck_assert_int_lt(k, 40);
		ck_assert_int_eq(seen[k]++, 0);
		moved += k != i;
		ck_assert_uint_eq(homi_nvme_cqe_status(cqe[i].status), 0);
		ck_assert(same((uint8_t *)buf.va + k * 512, 2000 + k, 1, 11));
	}
	ck_assert_int_gt(moved, 0);
	region_free(&buf);
	q_close(&q);
	ctrl_down();
}
END_TEST

START_TEST(injected_errors_and_drops)
{
	const uint16_t media = homi_nvme_status(HOMI_NVME_SCT_MEDIA, HOMI_NVME_SC_UNRECOVERED_READ, 1);
	struct homi_softctrl_faults f = { .order = HOMI_SOFTCTRL_SHUFFLE, .err_mod = 5, .err_rem = 2,
					  .err_status = media, .drop_mod = 7, .drop_rem = 3, .seed = 9 };
	struct hostq q;
	struct region buf;
	struct homi_nvme_sqe e;
	struct homi_nvme_cqe c;
	uint16_t cid0 = 0;
	int got = 0, errs = 0;

	ctrl_up(NULL);
	ns_fill(5);
	q_open(&q, 1, 64, 64);
	region_new(&buf, 35 * 512);
	homi_softctrl_set_faults(sc, &f);
	for (uint32_t i = 0; i < 35; i++) {
		homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, i, 1, buf.iova + i * 512, 0);
		uint16_t cid = q_push(&q, &e);
		if (i == 0)
			cid0 = cid;
	}
	q_ring(&q);
	/* the 30 that complete, then nothing more */
	while (got < 30) {
		ck_assert_int_eq(q_reap(&q, &c, 5000, 0), 0);
		uint32_t lba = c.cid - cid0;
		uint16_t st = homi_nvme_cqe_status(c.status);
		ck_assert_uint_ne(lba % 7, 3); /* dropped ones never come */
		if (lba % 5 == 2) {
			ck_assert_uint_eq(st, media);
			errs++;
		} else {
			ck_assert_uint_eq(st, 0);
			ck_assert(same((uint8_t *)buf.va + lba * 512, lba, 1, 5));
		}
		got++;
	}
	ck_assert_int_eq(q_reap(&q, &c, 200, 0), -ETIMEDOUT); /* LBAs 3, 10, 17, 24, 31 dropped */
	ck_assert_int_eq(errs, 6);      /* 2, 7, 12, 22, 27, 32 (17 is dropped) */
	ck_assert_uint_eq(stats().dropped, 5);
	ck_assert_uint_eq(stats().injected, 6);
	region_free(&buf);
	q_close(&q);
	ctrl_down();
}
END_TEST

START_TEST(cq_full_stalls)
{
	struct hostq q;
	struct region buf;
	struct homi_nvme_sqe e;
	struct homi_nvme_cqe c;
	uint16_t cid0 = 0;
	int seen[48] = { 0 };

	ctrl_up(NULL);
	ns_fill(8);
	q_open(&q, 4, 64, 4); /* a CQ of 4 entries holds 3 */
	region_new(&buf, 48 * 512);
	for (uint32_t i = 0; i < 48; i++) {
		homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 500 + i, 1, buf.iova + i * 512, 0);
		uint16_t cid = q_push(&q, &e);
		if (!i)
			cid0 = cid;
	}
	q_ring(&q);
	/* take three without moving the head doorbell: the fourth must not come */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(q_reap(&q, &c, 2000, 1), 0);
	ck_assert_int_eq(q_reap(&q, &c, 100, 1), -ETIMEDOUT);
	ck_assert_uint_ge(stats().cq_full_stalls, 1);
	__atomic_store_n(q.cqdb, q.cq.head, __ATOMIC_RELEASE);
	for (int i = 3; i < 48; i++) {
		ck_assert_int_eq(q_reap(&q, &c, 2000, 0), 0);
		ck_assert_int_eq(seen[c.cid - cid0]++, 0);
	}
	for (int i = 0; i < 48; i++)
		ck_assert(same((uint8_t *)buf.va + i * 512, 500 + i, 1, 8));
	ck_assert_uint_eq(q.sq.head, q.sq.tail);
	region_free(&buf);
	q_close(&q);
	ctrl_down();
}
END_TEST

START_TEST(admin_checks)
{
	struct region m, idb;
	struct homi_nvme_sqe e;
	struct homi_nvme_cqe c;
	uint8_t *id;

	ctrl_up(NULL);
	region_new(&m, 64 * 1024);
	homi_nvme_sqe_create_cq(&e, 1, 0, 16, m.iova, 0, 0);
	ck_assert_uint_eq(admin(&e), SPEC(HOMI_NVME_SC_INVALID_QID));
	homi_nvme_sqe_create_cq(&e, 1, 9, 16, m.iova, 0, 0);
	ck_assert_uint_eq(admin(&e), SPEC(HOMI_NVME_SC_INVALID_QID));
	homi_nvme_sqe_create_cq(&e, 1, 1, 1, m.iova, 0, 0);
	ck_assert_uint_eq(admin(&e), SPEC(HOMI_NVME_SC_INVALID_QSIZE));
	homi_nvme_sqe_create_cq(&e, 1, 1, 16, m.iova, 0, 0);
	e.cdw11 &= ~1u; /* not physically contiguous */
	ck_assert_uint_eq(admin(&e), GEN(HOMI_NVME_SC_INVALID_FIELD));
	homi_nvme_sqe_create_cq(&e, 1, 1, 16, m.iova + 256, 0, 0);
	ck_assert_uint_eq(admin(&e), GEN(HOMI_NVME_SC_INVALID_FIELD));
	homi_nvme_sqe_create_cq(&e, 1, 1, 4096, m.iova, 0, 0); /* 64 KiB fits */
	ck_assert_uint_eq(admin(&e), 0);
	homi_nvme_sqe_create_cq(&e, 1, 1, 16, m.iova, 0, 0);
	ck_assert_uint_eq(admin(&e), SPEC(HOMI_NVME_SC_INVALID_QID)); /* exists */
	homi_nvme_sqe_create_sq(&e, 1, 2, 16, m.iova, 2);
	ck_assert_uint_eq(admin(&e), SPEC(HOMI_NVME_SC_CQ_INVALID));
	homi_nvme_sqe_create_sq(&e, 1, 2, 4096, m.iova, 1); /* 256 KiB: past the window */
	ck_assert_uint_eq(admin(&e), GEN(HOMI_NVME_SC_DATA_XFER_ERROR));
	homi_nvme_sqe_create_sq(&e, 1, 2, 16, m.iova, 1);
	ck_assert_uint_eq(admin(&e), 0);
	homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_CQ, 1, 1);
	ck_assert_uint_eq(admin(&e), SPEC(HOMI_NVME_SC_INVALID_QUEUE_DELETION));
	homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_SQ, 1, 3);
	ck_assert_uint_eq(admin(&e), SPEC(HOMI_NVME_SC_INVALID_QID));
	homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_SQ, 1, 2);
	ck_assert_uint_eq(admin(&e), 0);
	homi_nvme_sqe_delete_queue(&e, HOMI_NVME_ADMIN_DELETE_CQ, 1, 1);
	ck_assert_uint_eq(admin(&e), 0);
	/* Identify and Number of Queues */
	region_new(&idb, PAGE);
	id = idb.va;
	homi_nvme_sqe_identify(&e, 1, HOMI_NVME_CNS_CTRL, 0, idb.iova);
	ck_assert_uint_eq(admin(&e), 0);
	ck_assert_uint_eq(id[77], 6); /* 64 pages = 2^6 */
	ck_assert_uint_eq(id[512], 0x66);
	homi_nvme_sqe_identify(&e, 1, HOMI_NVME_CNS_NS, 1, idb.iova);
	ck_assert_uint_eq(admin(&e), 0);
	ck_assert_uint_eq(*(uint64_t *)id, 1u << 14);
	ck_assert_uint_eq(id[130], 9);
	homi_nvme_sqe_set_nqueues(&e, 1, 64, 64);
	ck_assert_int_eq(ep.ops->admin(ep.ctx, &e, &c), 0);
	ck_assert_uint_eq(homi_nvme_cqe_status(c.status), 0);
	ck_assert_uint_eq(c.dw0, 7u | 7u << 16);
	e.opc = 0x7e;
	ck_assert_uint_eq(admin(&e), GEN(HOMI_NVME_SC_INVALID_OPCODE));
	ck_assert_int_eq(ep.ops->dma_map(ep.ctx, (uint8_t *)m.va + 1, PAGE, &m.iova), -EINVAL);
	region_free(&idb);
	region_free(&m);
	ctrl_down();
}
END_TEST

static void stride2(struct homi_softctrl_config *c)
{
	c->dstrd = 2;
}

START_TEST(doorbell_stride_and_bad_values)
{
	struct hostq q;
	struct region buf;
	struct homi_nvme_sqe e;
	struct homi_gpu_ctrl_info info;

	ctrl_up(stride2);
	ck_assert_int_eq(ep.ops->info(ep.ctx, &info), 0);
	ck_assert_uint_eq(homi_nvme_cap_dstrd(info.cap), 2);
	ck_assert_uint_eq(homi_nvme_cap_mqes(info.cap), 4096);
	ns_fill(1);
	q_open(&q, 5, 8, 8);
	region_new(&buf, PAGE);
	for (int i = 0; i < 20; i++) { /* several wraps of an 8-entry queue */
		homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, (uint64_t)i, 1, buf.iova, 0);
		ck_assert_uint_eq(q_cmd(&q, &e), 0);
		ck_assert(same(buf.va, (uint64_t)i, 1, 1));
	}
	/* a tail past the queue is counted and ignored */
	__atomic_store_n(q.sqdb, 8, __ATOMIC_RELEASE);
	for (int i = 0; i < 1000 && stats().doorbell_errors == 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	ck_assert_uint_eq(stats().doorbell_errors, 1);
	q_ring(&q);
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 3, 1, buf.iova, 0);
	ck_assert_uint_eq(q_cmd(&q, &e), 0);
	region_free(&buf);
	q_close(&q);
	ctrl_down();
}
END_TEST

START_TEST(repeated_sqe_counted)
{
	struct hostq q;
	struct region buf;
	struct homi_nvme_sqe e;

	ctrl_up(NULL);
	q_open(&q, 1, 2, 2); /* one slot: every command lands in slot 0 or 1 */
	region_new(&buf, PAGE);
	for (int i = 0; i < 4; i++) {
		homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 9, 1, buf.iova, 0);
		q.cid = 40; /* the same CID each time: the same 64 bytes */
		ck_assert_uint_eq(q_cmd(&q, &e), 0);
	}
	ck_assert_uint_eq(stats().sqe_repeats, 2);
	ck_assert_uint_eq(stats().fetched, 4);
	region_free(&buf);
	q_close(&q);
	ctrl_down();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("softctrl");
	TCase *tc = tcase_create("cpu-submitter");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, write_then_read);
	tcase_add_test(tc, prp_list_chained_scrambled);
	tcase_add_test(tc, every_field_check);
	tcase_add_test(tc, out_of_order_by_cid);
	tcase_add_test(tc, injected_errors_and_drops);
	tcase_add_test(tc, cq_full_stalls);
	tcase_add_test(tc, admin_checks);
	tcase_add_test(tc, doorbell_stride_and_bad_values);
	tcase_add_test(tc, repeated_sqe_counted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite(), CK_NORMAL);
}
