/* SPDX-License-Identifier: MIT */
/* The fence test: 4 queues, one block of 4 warps each (128 threads, SQ of
 * 129), 1-LBA reads of distinct LBAs, at least 1 M commands per run, 5
 * runs; every status, every CID and every byte checked. Built twice: with
 * the system-scope fence before the SQ doorbell (every run must be clean),
 * and with HOMI_GPU_NO_SYSTEM_FENCE (gt-fence-nofence.cu), where the
 * doorbell may overtake other warps' SQE writes and the controller then
 * fetches stale or torn entries: at least one run must show corruption. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "gpu/homi-gpu-dev.cuh"
#include "gt.h"

#define FQ 4
#define FT 128

struct fence_out {
	unsigned long long ok, bad_status, bad_data, eio, timeouts, epipe;
};

__global__ void fence_kernel(struct homi_gpu_qp *qps, uint32_t rounds, uint64_t nlbas, uint32_t seed,
			     struct fence_out *out)
{
	struct homi_gpu_qp *qp = &qps[blockIdx.x];
	const uint32_t t = threadIdx.x;
	const uint64_t g = (uint64_t)blockIdx.x * FT + t;
	uint32_t *buf = (uint32_t *)homi_gpu_buf(qp, t);
	unsigned long long ok = 0, bst = 0, bdata = 0, eio = 0, tmo = 0, pipe = 0;

	for (uint32_t r = 0; r < rounds; r++) {
		const uint64_t slba = ((uint64_t)r * FQ * FT + g) % nlbas;
		int ret;
		buf[0] = 0xdeadbeefu;
		ret = homi_gpu_block_rw(qp, 1, HOMI_NVME_CMD_READ, slba, 1, t);
		if (ret == 0) {
			unsigned long long bad = 0;
			for (uint32_t i = 0; i < 128; i += 4) {
				uint4 v = homi_ld_volatile_v4(buf + i);
				bad += v.x != gt_pat(slba, i, seed);
				bad += v.y != gt_pat(slba, i + 1, seed);
				bad += v.z != gt_pat(slba, i + 2, seed);
				bad += v.w != gt_pat(slba, i + 3, seed);
			}
			if (bad)
				bdata++;
			else
				ok++;
		} else if (ret == -EIO) {
			eio++;
		} else if (ret == -ETIMEDOUT) {
			tmo++;
		} else if (ret == -EPIPE) {
			pipe++;
		} else {
			bst++;
		}
	}
	atomicAdd(&out->ok, ok);
	atomicAdd(&out->bad_status, bst);
	atomicAdd(&out->bad_data, bdata);
	atomicAdd(&out->eio, eio);
	atomicAdd(&out->timeouts, tmo);
	atomicAdd(&out->epipe, pipe);
}

int gt_run_fence(int runs, uint64_t cmds, int expect_corruption)
{
#ifdef HOMI_GPU_NO_SYSTEM_FENCE
	const char *variant = "fence/without-system-fence";
#else
	const char *variant = "fence/with-system-fence";
#endif
	const uint32_t rounds = (uint32_t)((cmds + FQ * FT - 1) / (FQ * FT)), seed = 0xfe7ce;
	const uint64_t nlbas = 1u << 19;
	struct gt_soft t;
	struct fence_out *dev, h;
	int corrupted_runs = 0, unaccounted = 0, ret;

	ret = gt_soft_up(&t, nlbas, 8, 4);
	if (ret) {
		gt_result(variant, 0, "setup: %s", strerror(-ret));
		return -1;
	}
	gt_ns_fill(&t, seed);
	gt_faults(&t, HOMI_SOFTCTRL_IN_ORDER, 0);
	if (cudaMalloc(&dev, sizeof(*dev)) != cudaSuccess) {
		gt_soft_down(&t);
		return -1;
	}
	for (int run = 0; run < runs; run++) {
		struct homi_gpu_qp_config cfg;
		struct homi_gpu_qpset *s;
		struct homi_softctrl_stats st;
		unsigned long long proto = 0, total = (unsigned long long)rounds * FQ * FT, bad;
		struct timespec t0, t1;
		char why[256], name[96];
		double sec;

		memset(&cfg, 0, sizeof(cfg));
		cfg.mode = HOMI_GPU_MODE_H;
		cfg.nqueues = FQ;
		cfg.sq_depth = FT + 1;
		cfg.nbuf = FT;
		cfg.buf_bytes = 4096;
		cfg.timeout_ms = 1000;
		snprintf(name, sizeof(name), "%s/run-%d", variant, run + 1);
		ret = homi_gpu_qpset_create(t.g, &cfg, &s, why, sizeof(why));
		if (ret) {
			gt_result(name, 0, "qpset: %s", why);
			break;
		}
		homi_softctrl_reset_stats(t.sc);
		cudaMemset(dev, 0, sizeof(*dev));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		fence_kernel<<<FQ, FT>>>(homi_gpu_qpset_dev(s), rounds, nlbas, seed, dev);
		if (cudaDeviceSynchronize() != cudaSuccess) {
			gt_result(name, 0, "kernel failed: %s", cudaGetErrorString(cudaGetLastError()));
			homi_gpu_qpset_destroy(s);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		sec = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		cudaMemcpy(&h, dev, sizeof(h), cudaMemcpyDeviceToHost);
		for (uint32_t q = 0; q < FQ; q++) {
			struct homi_gpu_qp qp;
			if (!homi_gpu_qpset_read(s, q, &qp))
				proto += qp.n_proto;
		}
		homi_softctrl_get_stats(t.sc, &st);
		homi_gpu_qpset_destroy(s);
		bad = h.bad_status + h.bad_data + h.eio + h.timeouts + h.epipe + proto + st.window_faults;
		corrupted_runs += bad != 0;
		/* a clean run must account for every command */
		printf("%s %s: %llu commands in %.2f s (%.2f M/s): ok %llu, bad status %llu, bad data %llu, lost %llu, "
		       "timed out %llu, refused %llu, foreign CQEs %llu, window faults %llu, repeated SQEs %llu\n",
		       bad ? "CORRUPT" : "clean", name, total, sec, total / sec / 1e6, h.ok, h.bad_status, h.bad_data,
		       h.eio, h.timeouts, h.epipe, proto, (unsigned long long)st.window_faults,
		       (unsigned long long)st.sqe_repeats);
		if (!bad && h.ok != total)
			unaccounted++;
	}
	cudaFree(dev);
	gt_soft_down(&t);
	if (expect_corruption)
		gt_result(variant, corrupted_runs > 0, "%d of %d runs of %u x %u x %u = %llu reads detected corruption "
			  "(expected: at least one)", corrupted_runs, runs, FQ, FT, rounds,
			  (unsigned long long)rounds * FQ * FT);
	else
		gt_result(variant, corrupted_runs == 0 && !unaccounted,
			  "%d of %d runs of %llu reads detected corruption (expected: none), %d runs with commands unaccounted",
			  corrupted_runs, runs, (unsigned long long)rounds * FQ * FT, unaccounted);
	return 0;
}
