/* SPDX-License-Identifier: MIT */
/* Submitters and loopback responders side by side in one cooperative
 * launch (so every group is resident and none waits for a block that never
 * runs): blocks [0, sub_blocks) run the device API, the others play the
 * controller of the matching queues. Block groups: one queue per block;
 * warp groups: one queue per warp. Used by the loopback tests and by
 * homi-gpu-perf. Each submitter checks its own command's status against
 * what the responder was told to return. */
#pragma once

#include "homi-gpu-dev.cuh"
#include "homi-gpu-loopback.cuh"

struct homi_lbrun_args {
	struct homi_gpu_qp *qps;
	struct homi_loopback_queue *lq;
	struct homi_loopback_ctl ctl;
	uint32_t sub_blocks;  /* blocks [0, sub_blocks) submit */
	uint32_t rounds;      /* batches per group */
	uint32_t active;      /* commands per group and batch */
	uint32_t bad_opc_mod; /* members with idx % bad_opc_mod == 1 send opcode 0x7f (0: none) */
	unsigned long long *ok, *bad, *served;
};

template <class G>
__device__ void homi_lbrun_submit(const G &g, struct homi_gpu_qp *qp, const struct homi_lbrun_args &a)
{
	const uint32_t me = g.idx();
	const int active = me < a.active;
	const int badop = a.bad_opc_mod && me % a.bad_opc_mod == 1;
	unsigned long long ok = 0, bad = 0;

	for (uint32_t r = 0; r < a.rounds; r++) {
		struct homi_nvme_sqe e;
		const uint64_t slba = (uint64_t)r * a.active + me;
		int expect = 0, ret;

		homi_nvme_sqe_rw(&e, badop ? 0x7f : HOMI_NVME_CMD_READ, 0, qp->nsid, slba, 1, 0, 0);
		ret = homi_gpu_group_cmd(g, qp, &e, active);
		if (badop)
			expect = homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_INVALID_OPCODE, 1);
		else if (a.ctl.err_mod && slba % a.ctl.err_mod == a.ctl.err_rem)
			expect = (int)a.ctl.err_status;
		if (active) {
			if (ret == expect)
				ok++;
			else
				bad++;
		}
	}
	if (ok)
		atomicAdd(a.ok, ok);
	if (bad)
		atomicAdd(a.bad, bad);
}

template <bool WARP>
__global__ void homi_lbrun_kernel(struct homi_lbrun_args a)
{
	const uint32_t wpb = (blockDim.x + 31) / 32;

	if (blockIdx.x < a.sub_blocks) {
		if constexpr (WARP) {
			homi_gpu_warp_grp g;
			homi_lbrun_submit(g, &a.qps[blockIdx.x * wpb + g.wib], a);
		} else {
			homi_gpu_block_grp g;
			homi_lbrun_submit(g, &a.qps[blockIdx.x], a);
		}
	} else {
		const uint32_t rb = blockIdx.x - a.sub_blocks;
		const uint64_t expect = (uint64_t)a.rounds * a.active;
		uint64_t n;
		if constexpr (WARP) {
			homi_gpu_warp_grp g;
			n = homi_loopback_serve(g, &a.lq[rb * wpb + g.wib], &a.ctl, expect);
			if (g.idx() == 0)
				atomicAdd(a.served, (unsigned long long)n);
		} else {
			homi_gpu_block_grp g;
			n = homi_loopback_serve(g, &a.lq[rb], &a.ctl, expect);
			if (g.idx() == 0)
				atomicAdd(a.served, (unsigned long long)n);
		}
	}
}

/* Launch with SUB_BLOCKS submitter blocks of THREADS threads and as many
 * responder blocks. *FITS = 0 (nothing launched) when the grid cannot be
 * resident at once. */
static inline cudaError_t homi_lbrun_launch(bool warp, struct homi_lbrun_args *a, uint32_t threads,
					    uint32_t sub_blocks, cudaStream_t stream, int *fits)
{
	void *fn = warp ? (void *)homi_lbrun_kernel<true> : (void *)homi_lbrun_kernel<false>;
	int per_sm = 0, sms = 0, dev = 0;
	void *args[] = { a };
	cudaError_t e;

	a->sub_blocks = sub_blocks;
	e = cudaGetDevice(&dev);
	if (e == cudaSuccess)
		e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
	if (e == cudaSuccess)
		e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, fn, (int)threads, 0);
	if (e != cudaSuccess)
		return e;
	*fits = (uint64_t)per_sm * sms >= 2ull * sub_blocks;
	if (!*fits)
		return cudaSuccess;
	return cudaLaunchCooperativeKernel(fn, dim3(2 * sub_blocks), dim3(threads), args, 0, stream);
}
