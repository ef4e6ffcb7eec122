/* SPDX-License-Identifier: MIT */
/* Device tests of libhomi-gpu: shared helpers. Each test prints one line,
 * "PASS name: details" or "FAIL name: details", and counts. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include <cuda_runtime.h>

#include "gpu/homi-gpu-pattern.h"
#include "gpu/homi-gpu.h"
#include "gpu/softctrl-ep.h"

/* The data pattern: word W of LBA L under SEED (512-byte LBAs here). */
#define gt_pat homi_gpu_pattern

extern int gt_failed, gt_passed;

void gt_result(const char *name, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define GT_CUDA(call)                                                                                       \
	do {                                                                                                \
		cudaError_t e_ = (call);                                                                    \
		if (e_ != cudaSuccess) {                                                                    \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
			return -1;                                                                          \
		}                                                                                           \
	} while (0)

/* A soft controller with its endpoint and libhomi-gpu opened on it. */
struct gt_soft {
	struct homi_softctrl *sc;
	struct homi_gpu_ctrl ep;
	struct homi_gpu *g;
};

int gt_soft_up(struct gt_soft *t, uint64_t nlbas, uint16_t max_ioqs, uint32_t workers);
void gt_soft_down(struct gt_soft *t);
/* Fill the whole namespace with the pattern of SEED. */
void gt_ns_fill(struct gt_soft *t, uint32_t seed);
/* Words of LBAs [lba, lba + nlb) that differ from the pattern. */
uint64_t gt_ns_check(struct gt_soft *t, uint64_t lba, uint32_t nlb, uint32_t seed);
void gt_faults(struct gt_soft *t, enum homi_softctrl_order o, uint32_t max_fetch);

/* Test groups (one file each). */
int gt_run_soft(int quick);
int gt_run_host(void);
int gt_run_loopback(int quick);
int gt_run_fence(int runs, uint64_t cmds, int expect_corruption);
