/* SPDX-License-Identifier: MIT */
/* The loopback responder: a group of GPU threads (a block or a warp, the
 * groups of homi-gpu-dev.cuh) plays the controller of one queue pair. The
 * leader waits for the SQ tail doorbell (acquire) and for CQ room (the CQ
 * head doorbell), the members fetch the 64-byte SQEs of the batch and post
 * one 16-byte CQE each (CID, SQ head, phase, status), in order or
 * reversed. Opcodes other than read/write/flush complete with Invalid
 * Opcode; error injection by SLBA as in the soft controller. No data is
 * moved. */
#pragma once

#include "homi-gpu-dev.cuh"
#include "homi-gpu-loopback.h"

struct homi_loopback_state {
	uint32_t head, tail, cq_tail, cq_phase, k, stop;
};

/* Serve Q until EXPECT commands were completed or nothing came for
 * ctl->idle_cycles; returns the commands completed. The responder state
 * is taken from Q and put back, so launches can follow each other. */
template <class G>
__device__ uint64_t homi_loopback_serve(const G &g, struct homi_loopback_queue *q,
				       const struct homi_loopback_ctl *ctl, uint64_t expect)
{
	__shared__ homi_loopback_state sh[32]; /* one per warp for warp groups */
	const uint32_t t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
	homi_loopback_state *s = &sh[G::MAX == 32 ? t / 32 : 0];
	const uint32_t me = g.idx(), size = g.size(), sqd = q->sq_depth, cqd = q->cq_depth;
	uint64_t done = 0;

	if (me == 0) {
		s->head = q->sq_head;
		s->cq_tail = q->cq_tail;
		s->cq_phase = q->cq_phase;
		s->stop = 0;
	}
	g.sync();
	while (done < expect) {
		if (me == 0) {
			long long idle_until = clock64() + (long long)ctl->idle_cycles;
			uint32_t t, free = 0, ns = 0;
			for (;;) {
				t = homi_ld_acquire_gpu(q->sqdb);
				if (t != s->head && t < sqd)
					break;
				if (clock64() > idle_until) {
					s->stop = 1;
					break;
				}
				if (ns)
					__nanosleep(ns);
				ns = ns ? (ns * 2 > 256 ? 256 : ns * 2) : 16;
			}
			if (!s->stop) {
				uint32_t count = (t + sqd - s->head) % sqd;
				for (;;) {
					uint32_t h = homi_ld_acquire_gpu(q->cqdb);
					free = (h + cqd - s->cq_tail - 1) % cqd;
					if (free)
						break;
					if (clock64() > idle_until) {
						s->stop = 1;
						break;
					}
				}
				s->k = count < free ? count : free;
			}
		}
		g.sync();
		if (s->stop)
			break;
		const uint32_t k = s->k, head = s->head, ct = s->cq_tail, ph0 = s->cq_phase;
		const uint32_t newhead = (head + k) % sqd;
		for (uint32_t i = me; i < k; i += size) {
			const uint4 *e = reinterpret_cast<const uint4 *>(&q->sq[(head + i) % sqd]);
			uint4 w0 = homi_ld_relaxed_gpu_v4(e), w1 = homi_ld_relaxed_gpu_v4(e + 1);
			uint4 w2 = homi_ld_relaxed_gpu_v4(e + 2), w3 = homi_ld_relaxed_gpu_v4(e + 3);
			uint32_t opc = w0.x & 0xff, cid = w0.x >> 16, status = 0;
			uint64_t slba = (uint64_t)w2.z | ((uint64_t)w2.w << 32); /* cdw10, cdw11 */
			(void)w1;
			(void)w3;
			if (opc != HOMI_NVME_CMD_READ && opc != HOMI_NVME_CMD_WRITE && opc != HOMI_NVME_CMD_FLUSH)
				status = homi_nvme_status(HOMI_NVME_SCT_GENERIC, HOMI_NVME_SC_INVALID_OPCODE, 1);
			else if (ctl->err_mod && slba % ctl->err_mod == ctl->err_rem)
				status = ctl->err_status;
			uint32_t j = ctl->reverse ? k - 1 - i : i;
			uint32_t slot = (ct + j) % cqd, ph = ((ct + j) / cqd) & 1 ? ph0 ^ 1 : ph0;
			homi_st_relaxed_gpu_v4(&q->cq[slot],
					       make_uint4(0, 0, newhead | (q->qid << 16),
							  homi_nvme_cqe_dw3((uint16_t)cid, (uint16_t)status, (uint16_t)ph)));
		}
		g.sync();
		if (me == 0) {
			uint32_t c = ct + k;
			s->cq_phase = (c / cqd) & 1 ? ph0 ^ 1 : ph0;
			s->cq_tail = c % cqd;
			s->head = newhead;
		}
		done += k;
		g.sync();
	}
	if (me == 0) {
		q->sq_head = s->head;
		q->cq_tail = s->cq_tail;
		q->cq_phase = s->cq_phase;
	}
	return done;
}
