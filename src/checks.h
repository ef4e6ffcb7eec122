/* SPDX-License-Identifier: MIT */
/* `check`: platform and peer-to-peer readiness of each GPU <-> delegated VF
 * path (issue 6, ARCHITECTURE.md 3.2 "homi-check").
 *
 * The verdicts depend on where queues and data live (gpu-path.md 7.1): mode
 * H (queues and data in host memory, the GPU only writes the VF's
 * doorbells), D (data in GPU memory), G (queues in GPU memory too). Each
 * verdict names the modes it concerns; one check may give several verdicts
 * when its status differs between modes.
 *
 * homi_check_run() reads the machine (sysfs, libpci, the host interface for
 * NVMe admin data, /dev and /proc only on a live root) and judges; nothing
 * is printed and nothing is changed. On a captured tree what the capture
 * cannot show is UNKNOWN, never FAIL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "host.h"
#include "pci.h"
#include "policy.h"
#include "sysfs.h"
#include "topology.h"

enum homi_check_status {
	HOMI_CHECK_PASS,
	HOMI_CHECK_WARN,
	HOMI_CHECK_FAIL,
	HOMI_CHECK_UNKNOWN,
};

/* The modes of gpu-path.md 7.1, as bits. */
enum {
	HOMI_MODE_H = 1 << 0, /* queues and data in host memory; the GPU writes doorbells */
	HOMI_MODE_D = 1 << 1, /* data in GPU memory */
	HOMI_MODE_G = 1 << 2, /* queues in GPU memory too */
	HOMI_MODES_ALL = HOMI_MODE_H | HOMI_MODE_D | HOMI_MODE_G,
};

struct homi_verdict {
	char *check;                /* "acs", "iommu-group", ... */
	char *subject;              /* what was examined: "0000:02:01.0", "host", "0000:04:00.1 <-> 0000:03:00.0" */
	char vf[HOMI_ADDR_LEN];     /* the pair's VF ("" host-wide or while the VF is not enabled) */
	char gpu[HOMI_ADDR_LEN];    /* the pair's GPU ("" none) */
	char pair[48];              /* the pair's VF as shown ("0000:04:00.1", "VF1 of 0000:04:00.0"); "" host-wide */
	unsigned modes;             /* HOMI_MODE_* it concerns (never 0) */
	enum homi_check_status status;
	char *why;                  /* the evidence */
	char *fix;                  /* what to do; NULL when nothing is to be done */
};

struct homi_check_report {
	unsigned modes;             /* the modes evaluated */
	struct homi_verdict *v;
	size_t n, cap;
	bool oom;                   /* a verdict was lost for want of memory */
};

/* What check reads. SYSFS and T are required; PCI may be NULL (ACS then
 * unknown); HOST may be NULL (NVMe admin data and /dev/vfio ownership then
 * unknown). */
struct homi_check_env {
	const struct homi_sysfs *sysfs;
	struct homi_pci *pci;
	struct homi_host *host;
	const struct homi_topology *t;
};

struct homi_check_opts {
	unsigned modes;             /* 0: all */
	/* Canonical address of one function: a VF (that VF, paired with the GPU
	 * its policy names or else its nearest GPU), a PF (its delegated VFs)
	 * or a GPU (the delegated VFs paired with it; its own checks when
	 * none). NULL: every VF a policy delegates to vfio-pci. */
	const char *only;
};

/* Runs the checks. WANT (may be NULL: no policy) gives the delegated VFs,
 * their GPU pairing and /dev/vfio ownership. Returns 0, -ENOMEM, or -EINVAL
 * / -ENOENT with a one-line message in *ret_error (caller frees) when ONLY
 * names something check cannot take. */
int homi_check_run(const struct homi_check_env *env, const struct homi_desired *want,
		   const struct homi_check_opts *opts, struct homi_check_report **ret, char **ret_error);
struct homi_check_report *homi_check_report_free(struct homi_check_report *r);

/* Verdicts with status ST. */
size_t homi_check_count(const struct homi_check_report *r, enum homi_check_status st);

const char *homi_check_status_name(enum homi_check_status st);
/* "PASS" ... "UNKNOWN" -> status; -EINVAL for anything else. */
int homi_check_status_parse(const char *s, enum homi_check_status *ret);
/* "H D G" for HOMI_MODES_ALL, written into BUF (8 bytes suffice); returns BUF. */
const char *homi_check_modes_str(unsigned modes, char *buf, size_t len);
/* "H,D", "hd", "G" -> bits; -EINVAL for anything else. */
int homi_check_modes_parse(const char *s, unsigned *ret);

/* The human view of a report, as `homictl check` prints it: verdicts
 * grouped by pair, evidence and fix wrapped at 100 columns, a summary line.
 * Returns a new string (caller frees), or NULL when out of memory. */
char *homi_check_report_text(const struct homi_check_report *r);
