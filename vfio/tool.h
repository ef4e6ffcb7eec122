/* SPDX-License-Identifier: MIT */
/* What homi-io and homi-perf share: opening the VF, its controller and one
 * namespace, with the namespace's delegation (policy `access`, or --ro)
 * deciding whether writes are allowed; and wording failures. Device
 * messages start with the PCI address. */
#pragma once

#include <stdarg.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "nvme-driver.h"
#include "ns-access.h"
#include "vfio.h"

struct tool_opts {
	const char *prog;
	const char *addr;
	uint32_t nsid;               /* 0: no namespace */
	bool want_write;             /* the command writes: the delegation must allow it */
	bool ro;                     /* --ro: read-only whatever the policy says */
	bool query_access;           /* show the delegation even when not writing (identify) */
	const char *policy;          /* --policy PATH; NULL: the policy directory */
	enum homi_vfio_mode mode;    /* --vfio-mode */
	bool reset;                  /* --reset: function-level reset first */
	uint32_t timeout_ms;         /* --timeout-ms: per command */
	bool verbose;
};

struct tool_dev {
	struct homi_sysfs *sysfs;
	struct homi_vfio *vfio;
	struct homi_nvme_ctrl *ctrl;
	struct homi_nvme_ns ns;
	enum homi_ns_access access;
	char *access_why;            /* the policy entry that decided, or why none did */
};

/* Opens everything (printing the reason of a failure); 0 or -errno. */
int tool_open(const struct tool_opts *o, struct tool_dev *d);
void tool_close(struct tool_dev *d);

/* "ADDR: message" on standard error. */
void tool_err(const struct tool_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failure R of queue pair QP while doing WHAT ("read LBA 8+8"). */
void tool_qpair_err(const struct tool_opts *o, struct homi_nvme_qpair *qp, int r, const char *what);
/* DMA memory of LEN bytes, or a message naming RLIMIT_MEMLOCK on -ENOMEM. */
int tool_dma_alloc(const struct tool_opts *o, struct tool_dev *d, size_t len, struct homi_dma_mem *ret);
/* A --vfio-mode argument. */
int tool_parse_mode(const char *s, enum homi_vfio_mode *ret);

/* The long options both tools take, for their getopt_long tables; the
 * tools handle -j and -h themselves, tool_common_option() the rest. */
#define TOOL_COMMON_OPTIONS                                                                                        \
	{ "nsid", required_argument, NULL, 'n' }, { "ro", no_argument, NULL, 'R' },                                  \
	{ "policy", required_argument, NULL, 'P' }, { "reset", no_argument, NULL, 'X' },                             \
	{ "timeout-ms", required_argument, NULL, 'T' }, { "vfio-mode", required_argument, NULL, 'M' },               \
	{ "json", no_argument, NULL, 'j' }, { "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }

/* Option C of TOOL_COMMON_OPTIONS (argument ARG) into O: 1 when it was one
 * of them, 0 when not, -EINVAL with the usage message in *RET_ERROR (to be
 * followed by ", got 'ARG'") for a bad argument. */
int tool_common_option(int c, const char *arg, struct tool_opts *o, const char **ret_error);
/* "PROG: message" (when FMT) then TEXT, on standard error. */
void tool_usage(const char *prog, const char *text, const char *fmt, va_list ap);

static inline uint64_t tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
