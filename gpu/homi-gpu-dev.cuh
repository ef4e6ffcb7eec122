/* SPDX-License-Identifier: MIT */
/* The device API: CUDA threads submit NVMe commands on a queue pair and
 * wait for their completions.
 *
 * Group-cooperative: every thread of a block (homi_gpu_block_*) or of a
 * warp (homi_gpu_warp_*) calls together, convergent; ACTIVE says whether
 * the calling thread has a command. One group owns a queue pair at a time.
 * A call
 *   1. ranks the active threads, and each writes its SQE at tail + rank
 *      with a fresh CID;
 *   2. after a group barrier the leader fences at system scope and writes
 *      the SQ tail doorbell ONCE for the batch;
 *   3. each thread polls a CQ slot for the phase tag of a new entry, with a
 *      per-command timeout in clock64() cycles, and files the status under
 *      the command whose CID the CQE carries (completion order is the
 *      controller's business; attribution never assumes slot order);
 *   4. the leader advances the CQ head and writes the CQ head doorbell;
 *   5. each thread gets its own command's result.
 * Batches larger than the SQ (depth - 1) go in chunks; completions of a
 * chunk larger than the CQ (depth - 1) are consumed in rounds, so a small
 * CQ makes the controller stall on CQ-full rather than deadlock.
 *
 * Results: 0 success; > 0 the NVMe status field (SCT << 8 | SC, DNR at bit
 * 14); -ETIMEDOUT no CQE for this command within the timeout (the pair is
 * then broken); -EIO the batch completed but no CQE carried this command's
 * CID (another CID took its place: the queue protocol was violated, e.g.
 * a stale SQE was fetched); -EPIPE the pair was broken by an earlier
 * timeout; -EINVAL the group is larger than the engine supports.
 * Inactive threads get 0. The GPU never reads controller registers. */
#pragma once

#include <errno.h>
#include <stdint.h>

#include "homi-gpu-mem.cuh"
#include "homi-gpu-qp.h"

#define HOMI_GPU_CID_MOD 0xffffu /* CIDs 0..0xfffe; 0xffff is never used */
#define HOMI_GPU_PENDING 0xffffffffu
#ifndef HOMI_GPU_POLL_NS_MAX
#define HOMI_GPU_POLL_NS_MAX 256 /* back-off cap between CQE polls */
#endif

struct homi_gpu_grp_state {
	uint32_t n;          /* active members */
	uint32_t tail, head, phase, cid;
	uint32_t broken, timed_out, proto;
};

/* ---- groups ---------------------------------------------------------------- */

struct homi_gpu_block_grp {
	static constexpr uint32_t MAX = 1024;
	__device__ uint32_t size() const { return blockDim.x * blockDim.y * blockDim.z; }
	__device__ uint32_t idx() const { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }
	__device__ void sync() const { __syncthreads(); }
	__device__ homi_gpu_grp_state *state() const
	{
		__shared__ homi_gpu_grp_state s;
		return &s;
	}
	__device__ uint32_t *status() const
	{
		__shared__ uint32_t st[MAX];
		return st;
	}
	/* Rank among the active threads; the count in *N for everyone. */
	__device__ uint32_t rank(int active, uint32_t *n) const
	{
		__shared__ uint32_t wbase[33];
		uint32_t me = idx(), w = me / 32, lane = me % 32, nw = (size() + 31) / 32;
		uint32_t here = size() - w * 32 < 32 ? size() - w * 32 : 32;
		uint32_t mask = here == 32 ? 0xffffffffu : (1u << here) - 1;
		uint32_t b = __ballot_sync(mask, active);
		if (lane == 0)
			wbase[w] = __popc(b);
		__syncthreads();
		if (me == 0) {
			uint32_t sum = 0;
			for (uint32_t i = 0; i < nw; i++) {
				uint32_t c = wbase[i];
				wbase[i] = sum;
				sum += c;
			}
			wbase[32] = sum;
		}
		__syncthreads();
		*n = wbase[32];
		return wbase[w] + __popc(b & ((1u << lane) - 1));
	}
};

struct homi_gpu_warp_grp {
	static constexpr uint32_t MAX = 32;
	uint32_t mask, lane, wib;
	__device__ homi_gpu_warp_grp()
	{
		uint32_t t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
		uint32_t bs = blockDim.x * blockDim.y * blockDim.z;
		uint32_t here = bs - (t / 32) * 32 < 32 ? bs - (t / 32) * 32 : 32;
		mask = here == 32 ? 0xffffffffu : (1u << here) - 1;
		lane = t % 32;
		wib = t / 32;
	}
	__device__ uint32_t size() const { return __popc(mask); }
	__device__ uint32_t idx() const { return lane; }
	__device__ void sync() const { __syncwarp(mask); }
	__device__ homi_gpu_grp_state *state() const
	{
		__shared__ homi_gpu_grp_state s[32];
		return &s[wib];
	}
	__device__ uint32_t *status() const
	{
		__shared__ uint32_t st[32][MAX];
		return st[wib];
	}
	__device__ uint32_t rank(int active, uint32_t *n) const
	{
		uint32_t b = __ballot_sync(mask, active);
		*n = __popc(b);
		return __popc(b & ((1u << lane) - 1));
	}
};

/* ---- the engine ------------------------------------------------------------ */

__device__ __forceinline__ void homi_gpu_put_sqe(struct homi_nvme_sqe *slot, const struct homi_nvme_sqe *e)
{
	const uint64_t *s = reinterpret_cast<const uint64_t *>(e);
	uint4 *d = reinterpret_cast<uint4 *>(slot);
#pragma unroll
	for (int i = 0; i < 4; i++) {
		uint64_t a = s[2 * i], b = s[2 * i + 1];
		d[i] = make_uint4((uint32_t)a, (uint32_t)(a >> 32), (uint32_t)b, (uint32_t)(b >> 32));
	}
}

/* Wait for the CQE at SLOT with phase PH; file its status under its CID. */
__device__ __forceinline__ void homi_gpu_reap(const struct homi_gpu_qp *qp, homi_gpu_grp_state *s, uint32_t *st,
					      uint32_t slot, uint32_t ph, uint32_t base, uint32_t m, uint32_t cid0)
{
	const uint32_t *w = reinterpret_cast<const uint32_t *>(&qp->cq[slot]) + 3;
	long long deadline = clock64() + (long long)qp->timeout_cycles;
	uint32_t ns = 0, dw3;

	for (;;) {
		dw3 = homi_ld_relaxed_sys(w);
		if (homi_nvme_dw3_phase(dw3) == ph)
			break;
		if (clock64() > deadline) {
			atomicOr(&s->timed_out, 1u);
			return;
		}
		if (ns)
			__nanosleep(ns);
		ns = ns ? (ns * 2 > HOMI_GPU_POLL_NS_MAX ? HOMI_GPU_POLL_NS_MAX : ns * 2) : 16;
	}
	dw3 = homi_ld_acquire_sys(w); /* acquire: what the controller wrote before the CQE */
	uint32_t cid = homi_nvme_dw3_cid(dw3);
	uint32_t r = (cid + HOMI_GPU_CID_MOD - cid0) % HOMI_GPU_CID_MOD;
	if (cid >= HOMI_GPU_CID_MOD || r >= m ||
	    atomicCAS(&st[base + r], HOMI_GPU_PENDING, (uint32_t)homi_nvme_dw3_status(dw3)) != HOMI_GPU_PENDING)
		atomicAdd(&s->proto, 1u);
}

template <class G>
__device__ int homi_gpu_group_cmd(const G &g, struct homi_gpu_qp *qp, struct homi_nvme_sqe *cmd, int active)
{
	homi_gpu_grp_state *s = g.state();
	uint32_t *st = g.status();
	const uint32_t me = g.idx(), size = g.size();
	uint32_t n, r, v;

	if (size > G::MAX)
		return -EINVAL;
	r = g.rank(active, &n); /* also a barrier: the last call is over for all */
	if (me == 0) {
		s->n = n;
		s->tail = qp->sq_tail;
		s->head = qp->cq_head;
		s->phase = qp->cq_phase;
		s->cid = qp->cid_next;
		s->broken = qp->broken;
		s->timed_out = 0;
		s->proto = 0;
	}
	if (active)
		st[r] = HOMI_GPU_PENDING;
	g.sync();
	if (s->broken)
		return active ? -EPIPE : 0;

	const uint32_t sqd = qp->sq_depth, cqd = qp->cq_depth;
	for (uint32_t base = 0; base < n; base += sqd - 1) {
		const uint32_t m = n - base < sqd - 1 ? n - base : sqd - 1;
		const uint32_t cid0 = s->cid, tail0 = s->tail;

		if (active && r >= base && r < base + m) {
			cmd->cid = (uint16_t)((cid0 + r - base) % HOMI_GPU_CID_MOD);
			homi_gpu_put_sqe(&qp->sq[(tail0 + r - base) % sqd], cmd);
		}
		g.sync();
		if (me == 0) {
			s->tail = (tail0 + m) % sqd;
			homi_fence_submit();
			homi_db_write(qp->sqdb, s->tail);
		}
		for (uint32_t c0 = 0; c0 < m; c0 += cqd - 1) {
			const uint32_t k = m - c0 < cqd - 1 ? m - c0 : cqd - 1;
			const uint32_t head = s->head, phase = s->phase;
			for (uint32_t i = me; i < k; i += size) {
				uint32_t ph = ((head + i) / cqd) & 1 ? phase ^ 1 : phase;
				homi_gpu_reap(qp, s, st, (head + i) % cqd, ph, base, m, cid0);
			}
			g.sync();
			if (me == 0 && !s->timed_out) {
				uint32_t h = head + k;
				s->phase = (h / cqd) & 1 ? phase ^ 1 : phase;
				s->head = h % cqd;
				homi_db_write(qp->cqdb, s->head);
			}
			g.sync();
			if (s->timed_out)
				break;
		}
		if (me == 0)
			s->cid = (cid0 + m) % HOMI_GPU_CID_MOD;
		g.sync();
		if (s->timed_out)
			break;
	}
	if (me == 0) {
		qp->sq_tail = s->tail;
		qp->cq_head = s->head;
		qp->cq_phase = s->phase;
		qp->cid_next = s->cid;
		qp->n_cmds += n;
		qp->n_proto += s->proto;
		if (s->timed_out)
			qp->broken = 1;
	}
	if (!active)
		return 0;
	v = st[r];
	if (v == HOMI_GPU_PENDING) {
		if (s->timed_out) {
			atomicAdd(&qp->n_timeouts, 1ull);
			return -ETIMEDOUT;
		}
		return -EIO;
	}
	return (int)v;
}

/* ---- entry points ------------------------------------------------------------ */

__device__ __forceinline__ int homi_gpu_block_cmd(struct homi_gpu_qp *qp, struct homi_nvme_sqe *cmd, int active)
{
	return homi_gpu_group_cmd(homi_gpu_block_grp(), qp, cmd, active);
}

__device__ __forceinline__ int homi_gpu_warp_cmd(struct homi_gpu_qp *qp, struct homi_nvme_sqe *cmd, int active)
{
	return homi_gpu_group_cmd(homi_gpu_warp_grp(), qp, cmd, active);
}

__device__ __forceinline__ uint8_t *homi_gpu_buf(const struct homi_gpu_qp *qp, uint32_t b)
{
	return qp->buf + (uint64_t)b * qp->buf_bytes;
}

/* A read or write of NLB blocks at SLBA through data buffer B. */
__device__ __forceinline__ void homi_gpu_prep_rw(const struct homi_gpu_qp *qp, struct homi_nvme_sqe *e, uint8_t opc,
						 uint64_t slba, uint32_t nlb, uint32_t b)
{
	const uint64_t *pg = qp->buf_pages + (uint64_t)b * qp->buf_npages;
	uint32_t len = nlb << qp->lba_shift, np = (len + qp->page_size - 1) / qp->page_size;
	uint64_t prp2 = np == 2 ? pg[1] : np > 2 ? qp->buf_list[b] : 0;
	homi_nvme_sqe_rw(e, opc, 0, qp->nsid, slba, nlb, pg[0], prp2);
}

__device__ __forceinline__ int homi_gpu_block_rw(struct homi_gpu_qp *qp, int active, uint8_t opc, uint64_t slba,
						 uint32_t nlb, uint32_t b)
{
	struct homi_nvme_sqe e;
	if (active)
		homi_gpu_prep_rw(qp, &e, opc, slba, nlb, b);
	return homi_gpu_block_cmd(qp, &e, active);
}

__device__ __forceinline__ int homi_gpu_warp_rw(struct homi_gpu_qp *qp, int active, uint8_t opc, uint64_t slba,
						uint32_t nlb, uint32_t b)
{
	struct homi_nvme_sqe e;
	if (active)
		homi_gpu_prep_rw(qp, &e, opc, slba, nlb, b);
	return homi_gpu_warp_cmd(qp, &e, active);
}

/* ---- access patterns -------------------------------------------------------- */

/* The I-th NLB-block extent of the namespace, wrapping at its end. */
__host__ __device__ __forceinline__ uint64_t homi_gpu_lba_seq(uint64_t nlbas, uint32_t nlb, uint64_t i)
{
	return (i % (nlbas / nlb)) * nlb;
}

/* A uniformly random NLB-aligned extent; STATE is the caller's (nonzero). */
__host__ __device__ __forceinline__ uint64_t homi_gpu_lba_rand(uint64_t nlbas, uint32_t nlb, uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return ((x * 0x2545f4914f6cdd1dull) % (nlbas / nlb)) * nlb;
}
