/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>
#include <string.h>

#include "perf-hist.h"

/* Values below SUB each get a bucket; from there on the range [2^e,
 * 2^(e+1)) is cut into SUB buckets of width 2^(e - 5), bucket numbers
 * continuing where the exact ones end (bucket v for v < 64). */
#define SUB_BITS 5

unsigned homi_hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < HOMI_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);   /* >= 5 */
	return (e - SUB_BITS + 1) * HOMI_HIST_SUB + (unsigned)((v >> (e - SUB_BITS)) & (HOMI_HIST_SUB - 1));
}

uint64_t homi_hist_bucket_low(unsigned i)
{
	unsigned e;

	if (i < HOMI_HIST_SUB)
		return i;
	e = i / HOMI_HIST_SUB + SUB_BITS - 1;
	return ((uint64_t)HOMI_HIST_SUB + (i % HOMI_HIST_SUB)) << (e - SUB_BITS);
}

void homi_hist_init(struct homi_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void homi_hist_add(struct homi_hist *h, uint64_t v)
{
	h->counts[homi_hist_bucket(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

uint64_t homi_hist_percentile(const struct homi_hist *h, double p)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (want == 0)
		want = 1;
	if (want >= h->n)
		return h->max; /* the largest value is known exactly */
	for (unsigned i = 0; i < HOMI_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			uint64_t lo = homi_hist_bucket_low(i);
			uint64_t hi = i + 1 < HOMI_HIST_BUCKETS ? homi_hist_bucket_low(i + 1) : lo + 1;
			uint64_t mid = lo + (hi - lo - 1) / 2;
			return mid < h->min ? h->min : mid > h->max ? h->max : mid;
		}
	}
	return h->max;
}
