/* SPDX-License-Identifier: MIT */
/* Device tests against the soft controller: a batch mixing one valid and
 * eight kinds of invalid commands, completed shuffled, each status landing
 * on the thread that issued it; dropped commands timing out exactly, and
 * the pair refusing further use; delayed completions with a generous and
 * with a short timeout. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "gpu/homi-gpu-dev.cuh"
#include "gt.h"

#define KINDS 9

__host__ __device__ static inline uint16_t expect_of(uint32_t kind)
{
	switch (kind) {
	case 0: return 0;
	case 1: return homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_INVALID_OPCODE, 1);
	case 2: return homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_INVALID_NS, 1);
	case 3: return homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_PRP_OFFSET_INVALID, 1);
	case 4: return homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_INVALID_FIELD, 1);
	case 5: return homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_DATA_XFER_ERROR, 1);
	case 6: return homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_LBA_RANGE, 1);
	case 7: return homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_PRP_OFFSET_INVALID, 1);
	default: return homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_INVALID_FIELD, 1);
	}
}

/* Thread t issues a command of kind t % KINDS and checks its own status. */
__global__ void mix_kernel(struct homi_gpu_qp *qps, uint32_t seed, unsigned long long *bad, unsigned long long *ok)
{
	struct homi_gpu_qp *qp = &qps[0];
	const uint32_t t = threadIdx.x, kind = t % KINDS;
	const uint64_t slba = (uint64_t)t * 32;
	uint32_t *buf = (uint32_t *)homi_gpu_buf(qp, t);
	struct homi_nvme_sqe e;
	int ret;

	for (int i = 0; i < 128; i++)
		buf[i] = 0xdeadbeefu;
	homi_gpu_prep_rw(qp, &e, HOMI_NVME_CMD_READ, slba, 1, t);
	switch (kind) {
	case 1: e.opc = 0x7f; break;
	case 2: e.nsid = 2; break;
	case 3: e.prp1 += 2; break;
	case 4: e.cdw12 = qp->mdts_bytes / 512; break;      /* one LBA past MDTS */
	case 5: e.prp1 = 0xdead0000ull; break;              /* in no DMA window */
	case 6: e.cdw10 = (uint32_t)qp->nlbas; e.cdw11 = (uint32_t)(qp->nlbas >> 32); break;
	case 7: homi_gpu_prep_rw(qp, &e, HOMI_NVME_CMD_READ, slba, 16, t); e.prp2 += 8; break;
	case 8: e.flags = 1u << 6; break;                   /* PSDT: SGLs */
	}
	ret = homi_gpu_block_cmd(qp, &e, 1);
	if (ret != (int)expect_of(kind)) {
		atomicAdd(bad, 1ull);
		return;
	}
	if (kind == 0)
		for (int i = 0; i < 128; i += 4) {
			uint4 v = homi_ld_volatile_v4(buf + i);
			if (v.x != gt_pat(slba, i, seed) || v.y != gt_pat(slba, i + 1, seed) ||
			    v.z != gt_pat(slba, i + 2, seed) || v.w != gt_pat(slba, i + 3, seed)) {
				atomicAdd(bad, 1ull);
				return;
			}
		}
	atomicAdd(ok, 1ull);
}

/* One round of 1-LBA reads; results tallied by kind of outcome. */
__global__ void round_kernel(struct homi_gpu_qp *qps, uint64_t drop_mod, unsigned long long *res)
{
	struct homi_gpu_qp *qp = &qps[0];
	const uint32_t t = threadIdx.x;
	const uint64_t slba = (uint64_t)t * 32;
	const int dropped = drop_mod && slba % drop_mod == 0;
	int ret = homi_gpu_block_rw(qp, 1, HOMI_NVME_CMD_READ, slba, 1, t);

	if (ret == 0)
		atomicAdd(&res[dropped ? 4 : 0], 1ull);        /* 4: a dropped command succeeded */
	else if (ret == -ETIMEDOUT)
		atomicAdd(&res[dropped ? 1 : 5], 1ull);        /* 5: an undropped command timed out */
	else if (ret == -EPIPE)
		atomicAdd(&res[2], 1ull);
	else
		atomicAdd(&res[3], 1ull);
}

static int qpset(struct gt_soft *t, uint32_t threads, uint32_t timeout_ms, struct homi_gpu_qpset **s)
{
	struct homi_gpu_qp_config cfg;
	char why[256];
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = HOMI_GPU_MODE_H;
	cfg.nqueues = 1;
	cfg.sq_depth = threads + 1;
	cfg.nbuf = threads;
	cfg.buf_bytes = 8192;
	cfg.timeout_ms = timeout_ms;
	ret = homi_gpu_qpset_create(t->g, &cfg, s, why, sizeof(why));
	if (ret)
		fprintf(stderr, "qpset: %s: %s\n", strerror(-ret), why);
	return ret;
}

static void field_checks(struct gt_soft *t, unsigned long long *dev)
{
	const uint32_t threads = 9 * 14, seed = 77;
	struct homi_softctrl_stats st;
	struct homi_gpu_qpset *s;
	unsigned long long h[2];

	gt_ns_fill(t, seed);
	gt_faults(t, HOMI_SOFTCTRL_SHUFFLE, 0);
	homi_softctrl_reset_stats(t->sc);
	if (qpset(t, threads, 2000, &s)) {
		gt_result("soft/field-checks-mixed-batch", 0, "no queue pair");
		return;
	}
	cudaMemset(dev, 0, 2 * sizeof(*dev));
	mix_kernel<<<1, threads>>>(homi_gpu_qpset_dev(s), seed, dev, dev + 1);
	cudaDeviceSynchronize();
	cudaMemcpy(h, dev, sizeof(h), cudaMemcpyDeviceToHost);
	homi_softctrl_get_stats(t->sc, &st);
	homi_gpu_qpset_destroy(s);
	gt_result("soft/field-checks-mixed-batch", h[0] == 0 && h[1] == threads && st.window_faults == threads / KINDS,
		  "%u commands of 9 kinds (valid, opcode, NSID, PRP1 offset, MDTS, DMA window, LBA range, PRP2 offset, "
		  "PSDT) shuffled: %llu right status, %llu wrong; window faults %llu",
		  threads, h[1], h[0], (unsigned long long)st.window_faults);
}

static void drops_time_out(struct gt_soft *t, unsigned long long *dev)
{
	const uint32_t threads = 64;
	struct homi_softctrl_faults f;
	struct homi_gpu_qpset *s;
	struct homi_gpu_qp qp;
	unsigned long long a[6], b[6];

	memset(&f, 0, sizeof(f));
	f.order = HOMI_SOFTCTRL_SHUFFLE;
	f.drop_mod = 5 * 32; /* threads 0, 5, 10, ..., 60: 13 of them */
	f.seed = 3;
	homi_softctrl_set_faults(t->sc, &f);
	homi_softctrl_reset_stats(t->sc);
	if (qpset(t, threads, 200, &s)) {
		gt_result("soft/timeout-dropped-commands", 0, "no queue pair");
		return;
	}
	cudaMemset(dev, 0, 6 * sizeof(*dev));
	round_kernel<<<1, threads>>>(homi_gpu_qpset_dev(s), f.drop_mod, dev);
	cudaDeviceSynchronize();
	cudaMemcpy(a, dev, sizeof(a), cudaMemcpyDeviceToHost);
	cudaMemset(dev, 0, 6 * sizeof(*dev));
	round_kernel<<<1, threads>>>(homi_gpu_qpset_dev(s), 0, dev);
	cudaDeviceSynchronize();
	cudaMemcpy(b, dev, sizeof(b), cudaMemcpyDeviceToHost);
	homi_gpu_qpset_read(s, 0, &qp);
	homi_gpu_qpset_destroy(s);
	gt_result("soft/timeout-dropped-commands",
		  a[0] == 51 && a[1] == 13 && !a[2] && !a[3] && !a[4] && !a[5] && b[2] == threads && qp.broken &&
			  qp.n_timeouts == 13,
		  "64 commands, 13 dropped: %llu ok, %llu timed out (exactly the dropped: %s), then %llu of 64 refused "
		  "(-EPIPE) on the broken pair",
		  a[0], a[1], !a[4] && !a[5] ? "yes" : "no", b[2]);
	gt_faults(t, HOMI_SOFTCTRL_IN_ORDER, 0);
}

static void delays(struct gt_soft *t, unsigned long long *dev)
{
	const uint32_t threads = 32;
	struct homi_softctrl_faults f;
	struct homi_gpu_qpset *s;
	unsigned long long a[6], b[6];
	struct timespec t0, t1;
	double ms;

	memset(&f, 0, sizeof(f));
	f.delay_us = 200;
	homi_softctrl_set_faults(t->sc, &f);
	if (qpset(t, threads, 2000, &s)) {
		gt_result("soft/delayed-completions", 0, "no queue pair");
		return;
	}
	cudaMemset(dev, 0, 6 * sizeof(*dev));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	round_kernel<<<1, threads>>>(homi_gpu_qpset_dev(s), 0, dev);
	cudaDeviceSynchronize();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cudaMemcpy(a, dev, sizeof(a), cudaMemcpyDeviceToHost);
	homi_gpu_qpset_destroy(s);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	gt_result("soft/delayed-completions", a[0] == threads && ms >= threads * 0.2,
		  "32 commands, 200 us before each CQE, 2 s timeout: %llu ok in %.1f ms", a[0], ms);

	/* 1 ms timeout against 6.4 ms of delays: the late ones time out */
	if (qpset(t, threads, 1, &s)) {
		gt_result("soft/delay-past-timeout", 0, "no queue pair");
		return;
	}
	cudaMemset(dev, 0, 6 * sizeof(*dev));
	round_kernel<<<1, threads>>>(homi_gpu_qpset_dev(s), 0, dev);
	cudaDeviceSynchronize();
	cudaMemcpy(b, dev, sizeof(b), cudaMemcpyDeviceToHost);
	homi_gpu_qpset_destroy(s);
	gt_result("soft/delay-past-timeout", b[5] > 0 && b[0] + b[5] == threads && !b[3],
		  "32 commands, 200 us before each CQE, 1 ms timeout: %llu ok, %llu timed out, %llu other", b[0], b[5],
		  b[3]);
	gt_faults(t, HOMI_SOFTCTRL_IN_ORDER, 0);
}

int gt_run_faults(struct gt_soft *t);

int gt_run_faults(struct gt_soft *t)
{
	unsigned long long *dev = NULL;

	if (cudaMalloc(&dev, 8 * sizeof(*dev)) != cudaSuccess)
		return -1;
	field_checks(t, dev);
	drops_time_out(t, dev);
	delays(t, dev);
	cudaFree(dev);
	return 0;
}
