/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "tool-args.h"

int homi_parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int homi_parse_size(const char *s, uint64_t *ret)
{
	static const struct { const char *suffix; unsigned shift; } units[] = {
		{ "", 0 }, { "k", 10 }, { "K", 10 }, { "KiB", 10 }, { "M", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "GiB", 30 },
	};
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (streq(end, units[i].suffix)) {
			if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
				return -ERANGE;
			*ret = (uint64_t)v << units[i].shift;
			return 0;
		}
	return -EINVAL;
}

int homi_parse_byte(const char *s, uint8_t *ret)
{
	uint64_t v;
	int r = homi_parse_uint(s, 0xff, &v);

	if (r < 0)
		return r;
	*ret = (uint8_t)v;
	return 0;
}

int homi_parse_range(const char *s, uint64_t *ret_start, uint64_t *ret_count)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	char start[32];
	uint64_t a, b;
	int r;

	if (!colon || (size_t)(colon - s) >= sizeof(start) || colon == s)
		return -EINVAL;
	memcpy(start, s, (size_t)(colon - s));
	start[colon - s] = '\0';
	r = homi_parse_uint(start, UINT64_MAX, &a);
	if (r < 0)
		return r;
	r = homi_parse_uint(colon + 1, UINT64_MAX, &b);
	if (r < 0)
		return r;
	if (b == 0)
		return -EINVAL;
	if (a + b < a)
		return -ERANGE;
	*ret_start = a;
	*ret_count = b;
	return 0;
}

int homi_parse_seconds(const char *s, double *ret)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v))
		return -EINVAL;
	if (v <= 0 || v > 86400)
		return -ERANGE;
	*ret = v;
	return 0;
}

static const char *const rw_names[] = {
	[HOMI_PERF_RANDREAD] = "randread",
	[HOMI_PERF_READ] = "read",
	[HOMI_PERF_RANDWRITE] = "randwrite",
	[HOMI_PERF_WRITE] = "write",
};

int homi_parse_rw(const char *s, enum homi_perf_rw *ret)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(rw_names); i++)
		if (streq(s, rw_names[i])) {
			*ret = (enum homi_perf_rw)i;
			return 0;
		}
	return -EINVAL;
}

const char *homi_perf_rw_name(enum homi_perf_rw rw) { return rw_names[rw]; }
bool homi_perf_rw_writes(enum homi_perf_rw rw) { return rw == HOMI_PERF_RANDWRITE || rw == HOMI_PERF_WRITE; }
bool homi_perf_rw_random(enum homi_perf_rw rw) { return rw == HOMI_PERF_RANDREAD || rw == HOMI_PERF_RANDWRITE; }
