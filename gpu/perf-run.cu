/* SPDX-License-Identifier: MIT */
/* homi-gpu-perf: one point of the sweep. A queue-pair set of QUEUES pairs,
 * DEPTH commands in flight per pair (a block of DEPTH threads, or DEPTH
 * lanes of a warp), a calibration launch to size the timed launch near the
 * target time, and the timed launch between CUDA events. Against the soft
 * controller or a VF the kernel submits reads or writes through the
 * device API; against the loopback responder submitters and responders
 * share one cooperative launch. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "homi-gpu-lbrun.cuh"
#include "perf.h"

struct io_args {
	struct homi_gpu_qp *qps;
	uint32_t rounds, active, nlb, rand;
	uint8_t op;
	uint64_t seed;
	unsigned long long *ok, *bad;
};

template <bool WARP>
__global__ void perf_io_kernel(struct io_args a)
{
	const uint32_t wpb = (blockDim.x + 31) / 32;
	const uint64_t gidx = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x, total = (uint64_t)gridDim.x * blockDim.x;
	unsigned long long ok = 0, bad = 0;
	uint64_t state = (a.seed + gidx + 1) * 0x9e3779b97f4a7c15ull;

	if constexpr (WARP) {
		homi_gpu_warp_grp g;
		struct homi_gpu_qp *qp = &a.qps[blockIdx.x * wpb + g.wib];
		const int active = g.idx() < a.active;
		for (uint32_t r = 0; r < a.rounds; r++) {
			uint64_t slba = a.rand ? homi_gpu_lba_rand(qp->nlbas, a.nlb, &state)
					       : homi_gpu_lba_seq(qp->nlbas, a.nlb, (uint64_t)r * total + gidx);
			int ret = homi_gpu_warp_rw(qp, active, a.op, slba, a.nlb, g.idx());
			if (active)
				ret == 0 ? ok++ : bad++;
		}
	} else {
		homi_gpu_block_grp g;
		struct homi_gpu_qp *qp = &a.qps[blockIdx.x];
		const int active = g.idx() < a.active;
		for (uint32_t r = 0; r < a.rounds; r++) {
			uint64_t slba = a.rand ? homi_gpu_lba_rand(qp->nlbas, a.nlb, &state)
					       : homi_gpu_lba_seq(qp->nlbas, a.nlb, (uint64_t)r * total + gidx);
			int ret = homi_gpu_block_rw(qp, active, a.op, slba, a.nlb, g.idx());
			if (active)
				ret == 0 ? ok++ : bad++;
		}
	}
	if (ok)
		atomicAdd(a.ok, ok);
	if (bad)
		atomicAdd(a.bad, bad);
}

struct shape {
	uint32_t blocks, threads, active;
};

static int shape_of(const struct perf_opts *o, const struct perf_point *p, struct shape *s, char *why, size_t len)
{
	if (!p->queues || !p->depth) {
		snprintf(why, len, "zero queues or depth");
		return -1;
	}
	if (!o->warp) {
		if (p->depth > 1024) {
			snprintf(why, len, "block groups hold at most 1024 commands");
			return -1;
		}
		s->blocks = p->queues;
		s->threads = p->depth;
	} else {
		uint32_t wpb = p->queues < 8 ? p->queues : 8;
		if (p->depth > 32 || p->queues % wpb) {
			snprintf(why, len, "warp groups: depth <= 32 and queues a multiple of 8");
			return -1;
		}
		s->blocks = p->queues / wpb;
		s->threads = wpb * 32;
	}
	s->active = p->depth;
	return 0;
}

/* One launch of ROUNDS batches; returns the device time in *MS. */
static cudaError_t launch(const struct perf_opts *o, const struct shape *sh, struct homi_gpu_qpset *s,
			  struct homi_loopback_queue *lq, uint32_t rounds, uint32_t nlb, uint64_t idle_cycles,
			  unsigned long long *cnt, cudaEvent_t e0, cudaEvent_t e1, float *ms, int *fits)
{
	cudaError_t e;

	*fits = 1;
	e = cudaMemset(cnt, 0, 3 * sizeof(*cnt));
	if (e != cudaSuccess)
		return e;
	cudaEventRecord(e0);
	if (o->target == PERF_LOOPBACK) {
		struct homi_lbrun_args a;
		memset(&a, 0, sizeof(a));
		a.qps = homi_gpu_qpset_dev(s);
		a.lq = lq;
		a.ctl.idle_cycles = idle_cycles;
		a.rounds = rounds;
		a.active = sh->active;
		a.ok = cnt;
		a.bad = cnt + 1;
		a.served = cnt + 2;
		e = homi_lbrun_launch(o->warp, &a, sh->threads, sh->blocks, 0, fits);
	} else {
		struct io_args a;
		a.qps = homi_gpu_qpset_dev(s);
		a.rounds = rounds;
		a.active = sh->active;
		a.nlb = nlb;
		a.rand = (uint32_t)o->rand;
		a.op = o->op;
		a.seed = 0x5eed;
		a.ok = cnt;
		a.bad = cnt + 1;
		if (o->warp)
			perf_io_kernel<true><<<sh->blocks, sh->threads>>>(a);
		else
			perf_io_kernel<false><<<sh->blocks, sh->threads>>>(a);
		e = cudaGetLastError();
	}
	cudaEventRecord(e1);
	if (e == cudaSuccess)
		e = cudaEventSynchronize(e1);
	if (e == cudaSuccess)
		e = cudaEventElapsedTime(ms, e0, e1);
	return e;
}

int perf_run_point(struct homi_gpu *g, struct homi_loopback *lb, const struct perf_opts *o,
		   const struct perf_point *p, struct perf_result *r)
{
	const struct homi_gpu_ctrl_info *in = homi_gpu_info(g);
	const uint32_t page = in->page_size;
	struct homi_gpu_qp_config cfg;
	struct homi_gpu_qpset *s = NULL;
	struct homi_loopback_queue *lq = NULL;
	unsigned long long *cnt = NULL, h[3];
	cudaEvent_t e0 = NULL, e1 = NULL;
	struct shape sh;
	const uint64_t idle = 2000ull * homi_gpu_clock_khz(g); /* 2 s */
	uint32_t nlb, rounds;
	float ms = 0;
	int fits = 1, ret;
	cudaError_t e;

	memset(r, 0, sizeof(*r));
	if (shape_of(o, p, &sh, r->skip, sizeof(r->skip)))
		return 0;
	nlb = p->bs >> in->lba_shift;
	if (!nlb || (p->bs & ((1u << in->lba_shift) - 1))) {
		snprintf(r->skip, sizeof(r->skip), "block size not a multiple of the LBA size");
		return 0;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = o->mode;
	cfg.nqueues = p->queues;
	cfg.sq_depth = p->depth + 1;
	cfg.timeout_ms = o->timeout_ms;
	if (o->target != PERF_LOOPBACK) {
		cfg.nbuf = o->warp ? 32 : p->depth;
		cfg.buf_bytes = (p->bs + page - 1) / page * page;
	}
	ret = homi_gpu_qpset_create(g, &cfg, &s, r->skip, sizeof(r->skip));
	if (ret)
		return 0;
	if (o->target == PERF_LOOPBACK && homi_loopback_queues(lb, 1, p->queues, &lq)) {
		snprintf(r->skip, sizeof(r->skip), "loopback queue table");
		goto out;
	}
	e = cudaMalloc(&cnt, 3 * sizeof(*cnt));
	if (e == cudaSuccess)
		e = cudaEventCreate(&e0);
	if (e == cudaSuccess)
		e = cudaEventCreate(&e1);
	/* calibration, also the warm-up */
	rounds = o->target == PERF_LOOPBACK ? 64 : 4;
	if (e == cudaSuccess)
		e = launch(o, &sh, s, lq, rounds, nlb, idle, cnt, e0, e1, &ms, &fits);
	/* scale to the target; a first launch can carry one-time costs, so
	 * scale again (once) when the run came out under half the target */
	for (int pass = 0; pass < 2 && e == cudaSuccess && fits; pass++) {
		double want = (double)rounds * o->target_ms / (ms > 0.01f ? ms : 0.01f);
		if (pass && ms >= o->target_ms / 2.0)
			break;
		rounds = want < rounds ? rounds : want > (1u << 24) ? (1u << 24) : (uint32_t)want;
		e = launch(o, &sh, s, lq, rounds, nlb, idle, cnt, e0, e1, &ms, &fits);
	}
	if (e != cudaSuccess) {
		snprintf(r->skip, sizeof(r->skip), "CUDA: %s", cudaGetErrorString(e));
		ret = -EIO;
		goto out;
	}
	if (!fits) {
		snprintf(r->skip, sizeof(r->skip), "submitters and responders cannot all be resident");
		goto out;
	}
	cudaMemcpy(h, cnt, sizeof(h), cudaMemcpyDeviceToHost);
	r->ran = 1;
	r->cmds = (uint64_t)rounds * sh.active * p->queues;
	r->errors = h[1] + (r->cmds > h[0] + h[1] ? r->cmds - h[0] - h[1] : 0);
	r->ms = ms;
out:
	if (e0)
		cudaEventDestroy(e0);
	if (e1)
		cudaEventDestroy(e1);
	cudaFree(cnt);
	homi_loopback_queues_free(lq);
	homi_gpu_qpset_destroy(s);
	return ret;
}
