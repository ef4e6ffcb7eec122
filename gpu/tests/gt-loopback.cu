/* SPDX-License-Identifier: MIT */
/* Device tests of the device API against the loopback responder (GPU
 * threads playing the controller in GPU memory, mode G): block and warp
 * groups, in order and reversed, with injected error statuses and invalid
 * opcodes, each status checked by the thread that issued the command; the
 * queue state carried across launches; placement mode H refused. */
#include <errno.h>
#include <string.h>

#include "gpu/homi-gpu-lbrun.cuh"
#include "gt.h"

struct lb_case {
	const char *name;
	int warp;
	uint32_t queues, threads, sq_depth, cq_depth, rounds, launches;
	uint32_t reverse, err_mod, bad_opc_mod;
};

static const struct lb_case lb_cases[] = {
	{ "loopback/block-1x256", 0, 1, 256, 257, 0, 200, 1, 0, 0, 0 },
	{ "loopback/block-4x1024-reverse-errors", 0, 4, 1024, 1025, 0, 100, 1, 1, 7, 5 },
	{ "loopback/block-2x512-sq64-cq16-errors", 0, 2, 512, 64, 16, 50, 1, 1, 3, 11 },
	{ "loopback/warp-64q-reverse-errors", 1, 64, 32, 33, 0, 200, 1, 1, 5, 9 },
	{ "loopback/block-8x128-three-launches", 0, 8, 128, 129, 0, 100, 3, 0, 4, 0 },
};

static void lb_case_run(const struct lb_case *c)
{
	struct homi_loopback *lb = NULL;
	struct homi_gpu_ctrl ep;
	struct homi_gpu *g = NULL;
	struct homi_gpu_qpset *s = NULL;
	struct homi_loopback_queue *lq = NULL;
	struct homi_gpu_qp_config cfg;
	struct homi_lbrun_args a;
	unsigned long long *cnt = NULL, h[3] = { 0, 0, 0 }, proto = 0;
	char why[256];
	int ret, fits = 1;

	ret = homi_loopback_create(256, &lb);
	if (!ret) {
		homi_loopback_endpoint(lb, &ep);
		ret = homi_gpu_open(&ep, 0, &g, why, sizeof(why));
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = HOMI_GPU_MODE_G;
	cfg.nqueues = c->queues;
	cfg.sq_depth = c->sq_depth;
	cfg.cq_depth = c->cq_depth;
	cfg.timeout_ms = 2000;
	if (!ret)
		ret = homi_gpu_qpset_create(g, &cfg, &s, why, sizeof(why));
	if (!ret)
		ret = homi_loopback_queues(lb, 1, c->queues, &lq);
	if (!ret && cudaMalloc(&cnt, 3 * sizeof(*cnt)) != cudaSuccess)
		ret = -ENOMEM;
	if (ret) {
		gt_result(c->name, 0, "setup: %s (%s)", strerror(-ret), why);
		goto out;
	}
	cudaMemset(cnt, 0, 3 * sizeof(*cnt));
	memset(&a, 0, sizeof(a));
	a.qps = homi_gpu_qpset_dev(s);
	a.lq = lq;
	a.ctl.reverse = c->reverse;
	a.ctl.err_mod = c->err_mod;
	a.ctl.err_rem = c->err_mod ? 2 : 0;
	a.ctl.err_status = homi_nvme_status(HOMI_NVME_SCT_MEDIA, HOMI_NVME_SC_WRITE_FAULT, 1);
	a.ctl.idle_cycles = 2ull * homi_gpu_clock_khz(g) * 1000; /* 2 s */
	a.rounds = c->rounds;
	a.active = c->warp ? 32 : c->threads;
	a.bad_opc_mod = c->bad_opc_mod;
	a.ok = cnt;
	a.bad = cnt + 1;
	a.served = cnt + 2;
	for (uint32_t l = 0; l < c->launches && fits; l++) {
		cudaError_t e = homi_lbrun_launch(c->warp, &a, c->warp ? 256 : c->threads,
						  c->warp ? c->queues / 8 : c->queues, 0, &fits);
		if (e == cudaSuccess)
			e = cudaDeviceSynchronize();
		if (e != cudaSuccess) {
			gt_result(c->name, 0, "launch: %s", cudaGetErrorString(e));
			goto out;
		}
	}
	cudaMemcpy(h, cnt, sizeof(h), cudaMemcpyDeviceToHost);
	for (uint32_t q = 0; q < c->queues; q++) {
		struct homi_gpu_qp qp;
		if (!homi_gpu_qpset_read(s, q, &qp))
			proto += qp.n_proto + qp.n_timeouts + qp.broken;
	}
	{
		unsigned long long want = (unsigned long long)c->launches * c->rounds * a.active * c->queues;
		gt_result(c->name, fits && h[0] == want && h[1] == 0 && h[2] == want && proto == 0,
			  "%llu commands: %llu with the expected status, %llu not, %llu served, %llu protocol errors%s", want,
			  h[0], h[1], h[2], proto, fits ? "" : " (grid not co-resident)");
	}
out:
	cudaFree(cnt);
	homi_loopback_queues_free(lq);
	homi_gpu_qpset_destroy(s);
	homi_gpu_close(g);
	homi_loopback_destroy(lb);
}

static void lb_mode_h_refused(void)
{
	struct homi_loopback *lb = NULL;
	struct homi_gpu_ctrl ep;
	struct homi_gpu *g = NULL;
	char why[256] = "", why2[256] = "";
	int r1 = -1, r2 = -1;

	if (!homi_loopback_create(4, &lb)) {
		homi_loopback_endpoint(lb, &ep);
		if (!homi_gpu_open(&ep, 0, &g, why, sizeof(why))) {
			r1 = homi_gpu_placement_check(g, HOMI_GPU_MODE_H, why, sizeof(why));
			r2 = homi_gpu_placement_check(g, HOMI_GPU_MODE_G, why2, sizeof(why2));
		}
	}
	gt_result("loopback/placement", g && r1 == -EOPNOTSUPP && r2 == 0 && homi_gpu_doorbell_path(g) == HOMI_GPU_DB_DEVMEM,
		  "H: %s; G: %s", why, why2);
	homi_gpu_close(g);
	homi_loopback_destroy(lb);
}

int gt_run_loopback(int quick)
{
	for (size_t i = 0; i < sizeof(lb_cases) / sizeof(lb_cases[0]); i++) {
		struct lb_case c = lb_cases[i];
		if (quick) { /* for instrumented runs: few rounds */
			c.rounds = 4;
			c.launches = c.launches > 2 ? 2 : c.launches;
		}
		lb_case_run(&c);
	}
	lb_mode_h_refused();
	return 0;
}
