/* SPDX-License-Identifier: MIT */
/* Device tests against the soft controller: the device API at 1 to 4096
 * threads (block and warp groups, partial warps, batches larger than the
 * SQ, a CQ smaller than the batch), in order, reversed, shuffled, with
 * partial fetches and injected errors. Every command writes then reads a
 * distinct extent; the host checks every written byte in the RAM
 * namespace, the GPU checks every read byte (after poisoning its buffer),
 * and every thread checks the status of its own command. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu/homi-gpu-dev.cuh"
#include "gt.h"

#define STRIDE 32u  /* LBAs between extents: 16 KiB, the buffer size */
#define BUF_BYTES 16384u

struct rw_out {
	unsigned long long ok, exp_err, bad_status, bad_data, timeouts, eio, epipe;
};

struct rw_args {
	struct homi_gpu_qp *qps;
	uint32_t rounds, warp_api, seed;
	uint8_t op;
	uint64_t total;      /* threads in the grid */
	uint64_t err_mod, err_rem;
	uint32_t err_status;
	struct rw_out *out;
};

/* 512 B, 4 KiB (one page), 8 KiB (PRP2 a page), 12 KiB (PRP2 a list) */
__host__ __device__ static inline uint32_t nlb_of(uint32_t r, uint64_t g)
{
	const uint32_t n[4] = { 1, 8, 16, 24 };
	return n[(r + g) % 4];
}

__host__ __device__ static inline uint64_t slba_of(uint32_t r, uint64_t g, uint64_t total)
{
	return ((uint64_t)r * total + g) * STRIDE;
}

__global__ void rw_kernel(struct rw_args a)
{
	const uint32_t tid = threadIdx.x;
	const uint64_t g = (uint64_t)blockIdx.x * blockDim.x + tid;
	const uint32_t qi = a.warp_api ? blockIdx.x * (blockDim.x / 32) + tid / 32 : blockIdx.x;
	const uint32_t b = a.warp_api ? tid % 32 : tid;
	struct homi_gpu_qp *qp = &a.qps[qi];
	uint32_t *buf = (uint32_t *)homi_gpu_buf(qp, b);

	for (uint32_t r = 0; r < a.rounds; r++) {
		const uint32_t nlb = nlb_of(r, g), words = nlb * 128;
		const uint64_t slba = slba_of(r, g, a.total);
		const int err = a.err_mod && slba % a.err_mod == a.err_rem;
		int ret;

		for (uint32_t i = 0; i < words; i++)
			buf[i] = a.op == HOMI_NVME_CMD_WRITE ? gt_pat(slba + i / 128, i % 128, a.seed) : 0xdeadbeefu;
		ret = a.warp_api ? homi_gpu_warp_rw(qp, 1, a.op, slba, nlb, b) : homi_gpu_block_rw(qp, 1, a.op, slba, nlb, b);
		if (ret == -ETIMEDOUT) {
			atomicAdd(&a.out->timeouts, 1ull);
		} else if (ret == -EIO) {
			atomicAdd(&a.out->eio, 1ull);
		} else if (ret == -EPIPE) {
			atomicAdd(&a.out->epipe, 1ull);
		} else if (err) {
			atomicAdd(ret == (int)a.err_status ? &a.out->exp_err : &a.out->bad_status, 1ull);
		} else if (ret != 0) {
			atomicAdd(&a.out->bad_status, 1ull);
		} else {
			unsigned long long bad = 0;
			if (a.op == HOMI_NVME_CMD_READ) {
				for (uint32_t i = 0; i < words; i += 4) {
					uint4 v = homi_ld_volatile_v4(buf + i);
					bad += v.x != gt_pat(slba + i / 128, i % 128, a.seed);
					bad += v.y != gt_pat(slba + i / 128, i % 128 + 1, a.seed);
					bad += v.z != gt_pat(slba + i / 128, i % 128 + 2, a.seed);
					bad += v.w != gt_pat(slba + i / 128, i % 128 + 3, a.seed);
				}
			}
			if (bad)
				atomicAdd(&a.out->bad_data, bad);
			else
				atomicAdd(&a.out->ok, 1ull);
		}
	}
}

struct rw_case {
	const char *name;
	uint32_t queues, threads; /* block API: queues blocks of threads */
	uint32_t warp_threads;    /* warp API: this many threads, a queue per warp */
	uint32_t sq_depth, cq_depth, rounds;
	enum homi_softctrl_order order;
	uint32_t max_fetch;
	uint64_t err_mod, err_rem;
	int expect_stalls;
};

static int launch(struct gt_soft *t, const struct rw_case *c, struct homi_gpu_qpset *s, uint8_t op, uint32_t seed,
		  uint64_t total, struct rw_out *out_dev, struct rw_out *out)
{
	struct rw_args a;
	uint32_t blocks, threads;

	memset(&a, 0, sizeof(a));
	a.qps = homi_gpu_qpset_dev(s);
	a.rounds = c->rounds;
	a.warp_api = c->warp_threads != 0;
	a.seed = seed;
	a.op = op;
	a.total = total;
	a.err_mod = c->err_mod;
	a.err_rem = c->err_rem;
	a.err_status = homi_nvme_status(HOMI_NVME_SCT_MEDIA, HOMI_NVME_SC_UNRECOVERED_READ, 1);
	a.out = out_dev;
	if (a.warp_api) {
		threads = c->warp_threads < 256 ? c->warp_threads : 256;
		blocks = c->warp_threads / threads;
	} else {
		threads = c->threads;
		blocks = c->queues;
	}
	GT_CUDA(cudaMemset(out_dev, 0, sizeof(*out_dev)));
	rw_kernel<<<blocks, threads>>>(a);
	GT_CUDA(cudaGetLastError());
	GT_CUDA(cudaDeviceSynchronize());
	GT_CUDA(cudaMemcpy(out, out_dev, sizeof(*out), cudaMemcpyDeviceToHost));
	return 0;
}

static int run_case(struct gt_soft *t, const struct rw_case *c, struct rw_out *out_dev)
{
	const uint64_t total = c->warp_threads ? c->warp_threads : (uint64_t)c->queues * c->threads;
	const uint32_t seed = 0x1000u + (uint32_t)total * 7u + c->sq_depth;
	struct homi_softctrl_faults f;
	struct homi_softctrl_stats st;
	struct homi_gpu_qp_config cfg;
	struct homi_gpu_qpset *s = NULL;
	struct rw_out w, r;
	uint64_t exp_ok = 0, exp_err = 0, ns_bad = 0, proto = 0;
	char why[256];
	struct timespec t0, t1;
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = HOMI_GPU_MODE_H;
	cfg.nqueues = c->warp_threads ? c->warp_threads / 32 : c->queues;
	cfg.sq_depth = c->sq_depth;
	cfg.cq_depth = c->cq_depth;
	cfg.nbuf = c->warp_threads ? 32 : c->threads;
	cfg.buf_bytes = BUF_BYTES;
	cfg.timeout_ms = 5000;
	ret = homi_gpu_qpset_create(t->g, &cfg, &s, why, sizeof(why));
	if (ret) {
		gt_result(c->name, 0, "qpset: %s: %s", strerror(-ret), why);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.order = c->order;
	f.max_fetch = c->max_fetch;
	f.err_mod = c->err_mod;
	f.err_rem = c->err_rem;
	f.err_status = homi_nvme_status(HOMI_NVME_SCT_MEDIA, HOMI_NVME_SC_UNRECOVERED_READ, 1);
	f.seed = seed;
	homi_softctrl_set_faults(t->sc, &f);
	homi_softctrl_reset_stats(t->sc);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (launch(t, c, s, HOMI_NVME_CMD_WRITE, seed, total, out_dev, &w) ||
	    launch(t, c, s, HOMI_NVME_CMD_READ, seed, total, out_dev, &r)) {
		homi_gpu_qpset_destroy(s);
		gt_result(c->name, 0, "CUDA error");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	homi_softctrl_get_stats(t->sc, &st);
	for (uint32_t q = 0; q < cfg.nqueues; q++) {
		struct homi_gpu_qp qp;
		if (!homi_gpu_qpset_read(s, q, &qp))
			proto += qp.n_proto;
	}
	for (uint32_t rd = 0; rd < c->rounds; rd++) {
		for (uint64_t g = 0; g < total; g++) {
			uint64_t slba = slba_of(rd, g, total);
			if (c->err_mod && slba % c->err_mod == c->err_rem) {
				exp_err++;
				continue;
			}
			exp_ok++;
			ns_bad += gt_ns_check(t, slba, nlb_of(rd, g), seed);
		}
	}
	ret = homi_gpu_qpset_destroy(s);
	{
		const int ok = !ret && w.ok == exp_ok && r.ok == exp_ok && w.exp_err == exp_err && r.exp_err == exp_err &&
			       !w.bad_status && !r.bad_status && !r.bad_data && !w.timeouts && !r.timeouts && !w.eio &&
			       !r.eio && !w.epipe && !r.epipe && !ns_bad && !proto && !st.window_faults &&
			       !st.doorbell_errors && (!c->expect_stalls || st.cq_full_stalls > 0);
		gt_result(c->name, ok,
			  "%llu threads x %u rounds, write+read ok %llu+%llu/%llu, injected %llu+%llu/%llu, bad status %llu+%llu, "
			  "bad read words %llu, bad namespace words %llu, timeouts %llu+%llu, lost %llu+%llu, foreign CQEs %llu, "
			  "window faults %llu, cq-full stalls %llu, %.1f ms",
			  (unsigned long long)total, c->rounds, w.ok, r.ok, (unsigned long long)exp_ok, w.exp_err, r.exp_err,
			  (unsigned long long)exp_err, w.bad_status, r.bad_status, r.bad_data, (unsigned long long)ns_bad,
			  w.timeouts, r.timeouts, w.eio, r.eio, (unsigned long long)proto,
			  (unsigned long long)st.window_faults, (unsigned long long)st.cq_full_stalls,
			  (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	}
	return 0;
}

#define IN HOMI_SOFTCTRL_IN_ORDER
#define REV HOMI_SOFTCTRL_REVERSE
#define SHUF HOMI_SOFTCTRL_SHUFFLE

static const struct rw_case cases[] = {
	/* name                         q  thr  warp  sqd   cqd  rnd order mf err */
	{ "soft/threads-1-qd1",         1, 1,    0, 2,    0,   8, IN },
	{ "soft/threads-2",             1, 2,    0, 3,    0,   8, IN },
	{ "soft/threads-31-partial-warp", 1, 31, 0, 32,   0,   8, IN },
	{ "soft/threads-32",            1, 32,   0, 33,   0,   8, IN },
	{ "soft/threads-33",            1, 33,   0, 34,   0,   8, IN },
	{ "soft/threads-64-sq16-chunks", 1, 64,  0, 16,   0,   8, IN },
	{ "soft/threads-128",           1, 128,  0, 129,  0,   8, IN },
	{ "soft/threads-256-2q",        2, 128,  0, 129,  0,   8, IN },
	{ "soft/threads-512",           1, 512,  0, 513,  0,   8, IN },
	{ "soft/threads-1024",          1, 1024, 0, 1025, 0,   8, IN },
	{ "soft/threads-2048-2q",       2, 1024, 0, 1025, 0,   6, IN },
	{ "soft/threads-4096-4q",       4, 1024, 0, 1025, 0,   6, IN },
	{ "soft/warp-32",               0, 0,   32, 33,   0,   8, IN },
	{ "soft/warp-1024-32q",         0, 0, 1024, 33,   0,   8, IN },
	{ "soft/warp-4096-128q",        0, 0, 4096, 33,   0,   6, IN },
	{ "soft/warp-4096-sq8-chunks",  0, 0, 4096, 8,    0,   6, IN },
	{ "soft/ooo-reverse-128",       1, 128,  0, 129,  0,   8, REV },
	{ "soft/ooo-shuffle-1024",      1, 1024, 0, 1025, 0,   8, SHUF },
	{ "soft/ooo-shuffle-4096-4q",   4, 1024, 0, 1025, 0,   6, SHUF },
	{ "soft/ooo-shuffle-fetch7-256", 1, 256, 0, 257,  0,   8, SHUF, 7 },
	{ "soft/ooo-shuffle-warp-4096", 0, 0, 4096, 33,   0,   6, SHUF },
	{ "soft/err-shuffle-1024",      1, 1024, 0, 1025, 0,   8, SHUF, 0, 7, 3 },
	{ "soft/err-reverse-warp-4096", 0, 0, 4096, 33,   0,   6, REV, 0, 7, 3 },
	{ "soft/err-shuffle-2048-2q",   2, 1024, 0, 1025, 0,   6, SHUF, 0, 5, 1 },
	{ "soft/cq-full-512-cq8",       1, 512,  0, 1024, 8,   8, SHUF, 0, 0, 0, 1 },
	{ "soft/cq-full-warp-1024-cq4", 0, 0, 1024, 33,   4,   8, SHUF, 0, 0, 0, 1 },
};

int gt_run_faults(struct gt_soft *t);

int gt_run_soft(int quick)
{
	struct gt_soft t;
	struct rw_out *out_dev = NULL;
	int ret;

	/* 512 MiB namespace: 4096 threads x 8 rounds x 16 KiB extents */
	ret = gt_soft_up(&t, 1u << 20, 160, 12);
	if (ret) {
		gt_result("soft/setup", 0, "%s", strerror(-ret));
		return -1;
	}
	printf("# soft controller doorbells: %s\n", homi_gpu_doorbell_desc(t.g));
	if (cudaMalloc(&out_dev, sizeof(*out_dev)) != cudaSuccess) {
		gt_soft_down(&t);
		return -1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* quick (for instrumented runs): every other case of at most 1024 threads */
		const uint64_t total = cases[i].warp_threads ? cases[i].warp_threads
							     : (uint64_t)cases[i].queues * cases[i].threads;
		if (quick && (i % 2 || total > 1024))
			continue;
		if (run_case(&t, &cases[i], out_dev))
			break;
	}
	gt_run_faults(&t);
	cudaFree(out_dev);
	gt_soft_down(&t);
	return 0;
}
