/* SPDX-License-Identifier: MIT */
/* Argument parsing shared by homi-io and homi-perf: pure functions, each
 * returning 0 or -EINVAL/-ERANGE, so that `make check` covers them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* A count with an optional binary suffix: 4096, 4k, 4K, 4KiB, 1M, 2MiB, 1G. */
int homi_parse_size(const char *s, uint64_t *ret);
/* A plain unsigned integer (decimal or 0x hex) no larger than MAX. */
int homi_parse_uint(const char *s, uint64_t max, uint64_t *ret);
/* A byte: 0xa5, 165, 0245 (octal). */
int homi_parse_byte(const char *s, uint8_t *ret);
/* START:COUNT in logical blocks, COUNT > 0. */
int homi_parse_range(const char *s, uint64_t *ret_start, uint64_t *ret_count);
/* Seconds, possibly fractional ("10", "0.5"), > 0 and at most a day. */
int homi_parse_seconds(const char *s, double *ret);

enum homi_perf_rw {
	HOMI_PERF_RANDREAD,
	HOMI_PERF_READ,
	HOMI_PERF_RANDWRITE,
	HOMI_PERF_WRITE,
};
int homi_parse_rw(const char *s, enum homi_perf_rw *ret);
const char *homi_perf_rw_name(enum homi_perf_rw rw);
bool homi_perf_rw_writes(enum homi_perf_rw rw);
bool homi_perf_rw_random(enum homi_perf_rw rw);
