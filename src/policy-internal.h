/* SPDX-License-Identifier: MIT */
/* Inside the policy module: the parsed form of a document, the error list
 * shared by parsing and resolution, and the helpers on struct homi_want_vf
 * that both halves use. Not for other modules: they see policy.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "policy.h"

/* Error lines, collected in order; a failed allocation is remembered and
 * turns the result into -ENOMEM. */
struct policy_errors {
	char *buf;
	size_t len;
	size_t n;
	bool oom;
};

_printf_(2, 3) void policy_errors_add(struct policy_errors *e, const char *fmt, ...);
/* Moves the lines (newline separated, no trailing newline) to *RET (may be
 * NULL) and returns -EINVAL, -ENOMEM when a line was lost, or 0 when there
 * are none. */
int policy_errors_finish(struct policy_errors *e, char **ret);
void policy_errors_done(struct policy_errors *e);

/* `match` of one devices[] entry. */
struct policy_match {
	char *pci;               /* NULL: absent; a canonical address, or a glob as written */
	bool pci_glob;
	char *serial;            /* NULL: absent; compared exactly */
	char *model;             /* NULL: absent; glob */
	char vendor[8], device[8]; /* "": absent; "0x144d" as written */
	int numa_node;           /* -1: absent */
};

struct policy_entry {
	struct policy_match match;
	int allow_pf_reset;      /* -1: absent (no opinion), else 0 or 1 */
	struct homi_want_vf *vfs;/* in document order; origins set */
	size_t n_vfs;
	char *origin;            /* "FILE: $.devices[0]" */
};

struct policy_doc {
	char *name;
	char (*protect)[HOMI_ADDR_LEN]; /* canonical, as listed */
	size_t n_protect;
	struct policy_entry *entries;
	size_t n_entries;
	struct homi_want_vf *per_gpu;   /* NULL: absent; .vf 0, .origin "FILE: $.per-gpu" */
};

struct homi_policy {
	struct policy_doc **docs;
	size_t n_docs;
};

/* Parses and validates one document. Every problem is added to ERRS; *RET
 * is set only when there was none. */
int policy_doc_parse(const char *name, const char *data, size_t len, struct policy_errors *errs,
		     struct policy_doc **ret);
struct policy_doc *policy_doc_free(struct policy_doc *d);

void want_vf_done(struct homi_want_vf *w);
int want_vf_copy(struct homi_want_vf *dst, const struct homi_want_vf *src);
/* Same settings: everything but the VF number and the origin. */
bool want_vf_same(const struct homi_want_vf *a, const struct homi_want_vf *b);
