/* SPDX-License-Identifier: MIT */
/* Soft controller: lifecycle, BAR0, DMA windows, and the worker threads
 * that fetch SQEs when a tail doorbell moves and post CQEs while the CQ has
 * room. Worker W serves every SQ whose CQ id is W modulo the worker count,
 * so one thread posts to any given CQ. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "softctrl-internal.h"

#define PAGE_ALIGN(x, p) (((x) + (p) - 1) & ~((size_t)(p) - 1))

void homi_softctrl_config_default(struct homi_softctrl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->page_size = 4096;
	cfg->mdts_pages = 64;
	cfg->lba_shift = 9;
	cfg->nlbas = 1u << 17; /* 64 MiB */
	cfg->nsid = 1;
	cfg->max_ioqs = 64;
	cfg->mqes = 4096;
	cfg->iova_base = 1ull << 36;
}

const struct homi_softctrl_config *homi_softctrl_cfg(const struct homi_softctrl *sc)
{
	return &sc->cfg;
}

void *homi_softctrl_bar0(struct homi_softctrl *sc, size_t *len)
{
	*len = sc->bar0_len;
	return sc->bar0;
}

uint8_t *homi_softctrl_ns(struct homi_softctrl *sc, size_t *len)
{
	*len = sc->ns_len;
	return sc->ns;
}

uint32_t *sc_doorbell(struct homi_softctrl *sc, uint16_t qid, int cq)
{
	uint32_t off = cq ? homi_nvme_cq_doorbell(qid, sc->cfg.dstrd) : homi_nvme_sq_doorbell(qid, sc->cfg.dstrd);
	return (uint32_t *)(sc->bar0 + off);
}

/* ---- DMA windows ----------------------------------------------------------- */

uint8_t *sc_xlate(struct homi_softctrl *sc, uint64_t iova, size_t len)
{
	unsigned lo = 0, hi = sc->nwin;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct sc_window *w = &sc->win[mid];
		if (iova < w->iova) {
			hi = mid;
		} else if (iova - w->iova >= w->len) {
			lo = mid + 1;
		} else {
			if (len > w->len - (iova - w->iova))
				return NULL;
			return w->va + (iova - w->iova);
		}
	}
	return NULL;
}

int homi_softctrl_dma_map(struct homi_softctrl *sc, void *va, size_t len, uint64_t *iova)
{
	const size_t page = sc->cfg.page_size;
	int ret = 0;

	if (!va || !len || ((uintptr_t)va & (page - 1)) || (len & (page - 1)))
		return -EINVAL;
	pthread_rwlock_wrlock(&sc->win_lock);
	if (sc->nwin == sc->win_cap) {
		unsigned cap = sc->win_cap ? sc->win_cap * 2 : 16;
		struct sc_window *w = realloc(sc->win, cap * sizeof(*w));
		if (!w) {
			ret = -ENOMEM;
			goto out;
		}
		sc->win = w;
		sc->win_cap = cap;
	}
	/* IOVAs only grow, so appending keeps the table sorted; a guard page
	 * between windows turns an overrun into a fault */
	sc->win[sc->nwin].va = va;
	sc->win[sc->nwin].iova = sc->iova_next;
	sc->win[sc->nwin].len = len;
	sc->nwin++;
	*iova = sc->iova_next;
	sc->iova_next += len + page;
out:
	pthread_rwlock_unlock(&sc->win_lock);
	return ret;
}

int homi_softctrl_dma_unmap(struct homi_softctrl *sc, void *va, size_t len)
{
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&sc->win_lock);
	for (unsigned i = 0; i < sc->nwin; i++) {
		if (sc->win[i].va == va && sc->win[i].len == len) {
			memmove(&sc->win[i], &sc->win[i + 1], (sc->nwin - i - 1) * sizeof(sc->win[0]));
			sc->nwin--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&sc->win_lock);
	return ret;
}

/* ---- faults and statistics ------------------------------------------------ */

void homi_softctrl_set_faults(struct homi_softctrl *sc, const struct homi_softctrl_faults *f)
{
	pthread_mutex_lock(&sc->fault_lock);
	sc->faults = *f;
	pthread_mutex_unlock(&sc->fault_lock);
}

void homi_softctrl_get_stats(struct homi_softctrl *sc, struct homi_softctrl_stats *st)
{
	st->fetched = atomic_load(&sc->st_fetched);
	st->completed = atomic_load(&sc->st_completed);
	st->bad_status = atomic_load(&sc->st_bad_status);
	st->injected = atomic_load(&sc->st_injected);
	st->dropped = atomic_load(&sc->st_dropped);
	st->window_faults = atomic_load(&sc->st_window_faults);
	st->cq_full_stalls = atomic_load(&sc->st_cq_full_stalls);
	st->sqe_repeats = atomic_load(&sc->st_sqe_repeats);
	st->doorbell_errors = atomic_load(&sc->st_doorbell_errors);
	st->bytes = atomic_load(&sc->st_bytes);
}

void homi_softctrl_reset_stats(struct homi_softctrl *sc)
{
	atomic_store(&sc->st_fetched, 0);
	atomic_store(&sc->st_completed, 0);
	atomic_store(&sc->st_bad_status, 0);
	atomic_store(&sc->st_injected, 0);
	atomic_store(&sc->st_dropped, 0);
	atomic_store(&sc->st_window_faults, 0);
	atomic_store(&sc->st_cq_full_stalls, 0);
	atomic_store(&sc->st_sqe_repeats, 0);
	atomic_store(&sc->st_doorbell_errors, 0);
	atomic_store(&sc->st_bytes, 0);
}

/* ---- workers ---------------------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void spin_us(uint32_t us)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		cpu_relax();
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)(t.tv_nsec - t0.tv_nsec) <
		 (uint64_t)us * 1000);
}

static uint32_t rng_next(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static int queue_going(struct homi_softctrl *sc, struct sc_sq *sq)
{
	return !atomic_load(&sc->stop) && atomic_load_explicit(&sq->state, memory_order_acquire) == SC_Q_LIVE;
}

/* Post one CQE once the CQ has room; returns -1 if the queue went away. */
static int post(struct homi_softctrl *sc, struct sc_sq *sq, struct sc_cq *cq, uint16_t cid, uint16_t status,
		uint32_t delay_us)
{
	int stalled = 0;
	uint32_t *d;

	for (;;) {
		uint32_t head = __atomic_load_n(cq->head_db, __ATOMIC_ACQUIRE);
		if (head >= cq->depth)
			atomic_fetch_add(&sc->st_doorbell_errors, 1);
		else if ((cq->tail + 1) % cq->depth != head)
			break;
		if (!stalled) {
			stalled = 1;
			atomic_fetch_add(&sc->st_cq_full_stalls, 1);
		}
		if (!queue_going(sc, sq))
			return -1;
		cpu_relax();
	}
	if (delay_us)
		spin_us(delay_us);
	d = (uint32_t *)&cq->mem[cq->tail];
	d[0] = 0;
	d[1] = 0;
	d[2] = (uint32_t)sq->head | ((uint32_t)sq->qid << 16);
	__atomic_store_n(&d[3], homi_nvme_cqe_dw3(cid, status, cq->phase), __ATOMIC_RELEASE);
	if (++cq->tail == cq->depth) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	atomic_fetch_add(&sc->st_completed, 1);
	if (status)
		atomic_fetch_add(&sc->st_bad_status, 1);
	return 0;
}

static void make_order(struct sc_worker *w, uint32_t n, enum homi_softctrl_order o)
{
	for (uint32_t i = 0; i < n; i++)
		w->order[i] = o == HOMI_SOFTCTRL_REVERSE ? n - 1 - i : i;
	if (o == HOMI_SOFTCTRL_SHUFFLE) {
		for (uint32_t i = n; i > 1; i--) {
			uint32_t j = rng_next(&w->rng) % i, t = w->order[i - 1];
			w->order[i - 1] = w->order[j];
			w->order[j] = t;
		}
	}
}

/* One look at SQ's tail doorbell: fetch, execute, complete. Returns the
 * number of commands taken. */
static uint32_t serve(struct sc_worker *w, struct sc_sq *sq)
{
	struct homi_softctrl *sc = w->sc;
	struct sc_cq *cq = &sc->cq[sq->cqid];
	struct homi_softctrl_faults f;
	uint32_t tail = __atomic_load_n(sq->tail_db, __ATOMIC_ACQUIRE), n, i;

	if (tail >= sq->depth) {
		if (tail != sq->bad_db) {
			sq->bad_db = tail;
			atomic_fetch_add(&sc->st_doorbell_errors, 1);
		}
		return 0;
	}
	if (tail == sq->head)
		return 0;
	pthread_mutex_lock(&sc->fault_lock);
	f = sc->faults;
	pthread_mutex_unlock(&sc->fault_lock);
	n = (tail + sq->depth - sq->head) % sq->depth;
	if (f.max_fetch && n > f.max_fetch)
		n = f.max_fetch;
	for (i = 0; i < n; i++) {
		uint32_t slot = (sq->head + i) % sq->depth;
		memcpy(&w->batch[i], &sq->mem[slot], sizeof(w->batch[i]));
		if (!memcmp(&w->batch[i], &sq->shadow[slot], sizeof(w->batch[i])))
			atomic_fetch_add(&sc->st_sqe_repeats, 1);
		sq->shadow[slot] = w->batch[i];
	}
	sq->head = (sq->head + n) % sq->depth;
	atomic_fetch_add(&sc->st_fetched, n);
	if (f.seed && !w->rng)
		w->rng = f.seed + w->idx;
	for (i = 0; i < n; i++)
		w->status[i] = sc_io_execute(w, &w->batch[i], &f, &w->drop[i]);
	make_order(w, n, f.order);
	for (i = 0; i < n; i++) {
		uint32_t k = w->order[i];
		if (w->drop[k]) {
			atomic_fetch_add(&sc->st_dropped, 1);
			continue;
		}
		if (post(sc, sq, cq, w->batch[k].cid, w->status[k], f.delay_us))
			break;
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct sc_worker *w = arg;
	struct homi_softctrl *sc = w->sc;
	unsigned idle = 0;

	while (!atomic_load(&sc->stop)) {
		uint32_t did = 0;
		for (unsigned q = 1; q <= sc->cfg.max_ioqs; q++) {
			struct sc_sq *sq = &sc->sq[q];
			int s = atomic_load_explicit(&sq->state, memory_order_acquire);
			if (s == SC_Q_FREE || sq->cqid % sc->nworkers != w->idx)
				continue;
			if (s == SC_Q_DELETING) {
				atomic_store_explicit(&sq->ack, 1, memory_order_release);
				continue;
			}
			did += serve(w, sq);
		}
		if (did) {
			idle = 0;
		} else if (++idle > 2000) {
			sched_yield();
		} else {
			cpu_relax();
		}
	}
	return NULL;
}

/* ---- lifecycle -------------------------------------------------------------- */

static void bar0_init(struct homi_softctrl *sc)
{
	const struct homi_softctrl_config *c = &sc->cfg;
	uint64_t cap = 0;
	uint32_t mps = 0, v;

	while ((4096u << mps) < c->page_size)
		mps++;
	cap |= (uint64_t)(c->mqes - 1) & 0xffff;  /* MQES, 0's based */
	cap |= 1ull << 16;                         /* CQR: contiguous queues required */
	cap |= 1ull << 24;                         /* TO: 500 ms */
	cap |= (uint64_t)(c->dstrd & 0xf) << 32;   /* DSTRD */
	cap |= 1ull << 37;                         /* CSS: NVM command set */
	cap |= (uint64_t)mps << 48 | (uint64_t)mps << 52;
	memcpy(sc->bar0 + HOMI_NVME_REG_CAP, &cap, 8);
	v = 0x00020000; /* 2.0 */
	memcpy(sc->bar0 + HOMI_NVME_REG_VS, &v, 4);
	v = homi_nvme_cc_enable(c->page_size);
	memcpy(sc->bar0 + HOMI_NVME_REG_CC, &v, 4);
	v = HOMI_NVME_CSTS_RDY;
	memcpy(sc->bar0 + HOMI_NVME_REG_CSTS, &v, 4);
}

static int worker_init(struct homi_softctrl *sc, struct sc_worker *w, unsigned idx)
{
	const struct homi_softctrl_config *c = &sc->cfg;
	uint64_t max_len = c->mdts_pages ? (uint64_t)c->mdts_pages * c->page_size : (65536ull << c->lba_shift);

	w->sc = sc;
	w->idx = idx;
	w->max_chunks = (uint32_t)(max_len / c->page_size + 2);
	w->batch = calloc(c->mqes, sizeof(*w->batch));
	w->status = calloc(c->mqes, sizeof(*w->status));
	w->drop = calloc(c->mqes, sizeof(*w->drop));
	w->order = calloc(c->mqes, sizeof(*w->order));
	w->chunks = calloc(w->max_chunks, sizeof(*w->chunks));
	if (!w->batch || !w->status || !w->drop || !w->order || !w->chunks)
		return -ENOMEM;
	return 0;
}

static void worker_fini(struct sc_worker *w)
{
	free(w->batch);
	free(w->status);
	free(w->drop);
	free(w->order);
	free(w->chunks);
}

static int config_check(const struct homi_softctrl_config *c)
{
	if (c->page_size < 4096 || (c->page_size & (c->page_size - 1)) || c->page_size > (1u << 27))
		return -EINVAL;
	if (c->lba_shift < 9 || c->lba_shift > 16 || !c->nlbas || !c->nsid || c->nsid == 0xffffffffu)
		return -EINVAL;
	if (!c->max_ioqs || c->mqes < 2 || c->mqes > 65536 || c->dstrd > 15)
		return -EINVAL;
	if (c->iova_base & (c->page_size - 1))
		return -EINVAL;
	return 0;
}

int homi_softctrl_create(const struct homi_softctrl_config *cfg, struct homi_softctrl **out)
{
	struct homi_softctrl *sc;
	size_t db_bytes;
	int ret;

	ret = config_check(cfg);
	if (ret)
		return ret;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->cfg = *cfg;
	if (!sc->cfg.workers)
		sc->cfg.workers = cfg->max_ioqs < 8 ? cfg->max_ioqs : 8;
	if (!sc->cfg.iova_base)
		sc->cfg.iova_base = 1ull << 36;
	sc->iova_next = sc->cfg.iova_base;
	pthread_rwlock_init(&sc->win_lock, NULL);
	pthread_mutex_init(&sc->admin_lock, NULL);
	pthread_mutex_init(&sc->fault_lock, NULL);

	ret = -ENOMEM;
	db_bytes = (size_t)2 * (cfg->max_ioqs + 1u) * (4u << cfg->dstrd);
	sc->bar0_len = HOMI_NVME_REG_DOORBELLS + PAGE_ALIGN(db_bytes, 4096);
	sc->bar0 = mmap(NULL, sc->bar0_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sc->bar0 == MAP_FAILED) {
		sc->bar0 = NULL;
		goto fail;
	}
	bar0_init(sc);
	sc->ns_len = (size_t)(cfg->nlbas << cfg->lba_shift);
	sc->ns = mmap(NULL, sc->ns_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sc->ns == MAP_FAILED) {
		sc->ns = NULL;
		goto fail;
	}
	sc->cq = calloc(cfg->max_ioqs + 1u, sizeof(*sc->cq));
	sc->sq = calloc(cfg->max_ioqs + 1u, sizeof(*sc->sq));
	sc->workers = calloc(sc->cfg.workers, sizeof(*sc->workers));
	if (!sc->cq || !sc->sq || !sc->workers)
		goto fail;
	sc->nworkers = sc->cfg.workers;
	for (unsigned i = 0; i < sc->nworkers; i++) {
		ret = worker_init(sc, &sc->workers[i], i);
		if (ret)
			goto fail;
	}
	for (unsigned i = 0; i < sc->nworkers; i++) {
		ret = -pthread_create(&sc->workers[i].thread, NULL, worker_main, &sc->workers[i]);
		if (ret)
			goto fail;
		sc->workers[i].started = 1;
	}
	*out = sc;
	return 0;
fail:
	homi_softctrl_destroy(sc);
	return ret;
}

void homi_softctrl_destroy(struct homi_softctrl *sc)
{
	if (!sc)
		return;
	atomic_store(&sc->stop, 1);
	if (sc->workers) {
		for (unsigned i = 0; i < sc->nworkers; i++) {
			if (sc->workers[i].started)
				pthread_join(sc->workers[i].thread, NULL);
			worker_fini(&sc->workers[i]);
		}
	}
	if (sc->sq) {
		for (unsigned q = 0; q <= sc->cfg.max_ioqs; q++)
			free(sc->sq[q].shadow);
	}
	free(sc->workers);
	free(sc->sq);
	free(sc->cq);
	free(sc->win);
	if (sc->ns)
		munmap(sc->ns, sc->ns_len);
	if (sc->bar0)
		munmap(sc->bar0, sc->bar0_len);
	pthread_mutex_destroy(&sc->fault_lock);
	pthread_mutex_destroy(&sc->admin_lock);
	pthread_rwlock_destroy(&sc->win_lock);
	free(sc);
}
