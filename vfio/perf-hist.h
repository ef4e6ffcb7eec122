/* SPDX-License-Identifier: MIT */
/* Latency histogram for homi-perf: log-linear buckets (32 per power of
 * two, so a percentile is within about 3 % of the true value), constant
 * time to add, no allocation. */
#pragma once

#include <stdint.h>

#define HOMI_HIST_SUB 32
#define HOMI_HIST_BUCKETS (64 * HOMI_HIST_SUB)

struct homi_hist {
	uint64_t n, sum, min, max;
	uint64_t counts[HOMI_HIST_BUCKETS];
};

void homi_hist_init(struct homi_hist *h);
void homi_hist_add(struct homi_hist *h, uint64_t v);
/* The value at percentile P (0 < P <= 100): the middle of the bucket that
 * holds the ceil(P% * n)-th smallest value, clamped to [min, max]; the
 * maximum itself when that is the largest value; 0 when empty. */
uint64_t homi_hist_percentile(const struct homi_hist *h, double p);
/* Bucket index of V and the smallest value of bucket I (for tests). */
unsigned homi_hist_bucket(uint64_t v);
uint64_t homi_hist_bucket_low(unsigned i);
