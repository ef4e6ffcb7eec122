/* SPDX-License-Identifier: MIT */
/* homi-gpu-perf internals: one measurement point (perf-run.cu) and the
 * options that shape it (perf.cu). */
#pragma once

#include <stdint.h>

#include "homi-gpu-loopback.h"
#include "homi-gpu.h"

enum perf_target { PERF_SOFT, PERF_LOOPBACK, PERF_VF };

struct perf_opts {
	enum perf_target target;
	const char *vf_bdf;
	enum homi_gpu_mode mode;
	int warp;            /* warp groups (a queue per warp) instead of blocks */
	uint8_t op;          /* HOMI_NVME_CMD_READ or _WRITE */
	int rand;            /* random LBAs instead of sequential */
	uint32_t target_ms;  /* timed run length aimed at */
	uint32_t timeout_ms; /* per command */
	int device;
};

struct perf_point {
	uint32_t queues, depth, bs;
};

struct perf_result {
	int ran;             /* 0: skipped, reason in skip */
	char skip[160];
	uint64_t cmds;       /* commands in the timed run */
	uint64_t errors;     /* commands that did not complete with success */
	double ms;           /* timed run, device events */
};

/* LB is the loopback endpoint when the target is the loopback. */
int perf_run_point(struct homi_gpu *g, struct homi_loopback *lb, const struct perf_opts *o,
		   const struct perf_point *p, struct perf_result *r);
