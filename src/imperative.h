/* SPDX-License-Identifier: MIT */
/* The imperative changes of homictl and homid (`vf assign`, `vf unassign`,
 * `ns attach`, `ns detach`) as edits of the overlay: the VF's entry starts
 * from its overlay entry, else from what the policies give it, else from
 * nothing (offline, unbound). */
#pragma once

#include "overlay.h"
#include "policy.h"

enum homi_change_op {
	HOMI_CHANGE_VF_ASSIGN,
	HOMI_CHANGE_VF_UNASSIGN,
	HOMI_CHANGE_NS_ATTACH,
	HOMI_CHANGE_NS_DETACH,
};

struct homi_change {
	enum homi_change_op op;
	char pf[HOMI_ADDR_LEN];
	unsigned vf;
	enum homi_vf_driver driver;  /* assign */
	int vq, vi;                  /* assign: -1 keep */
	uint32_t nsid;               /* ns attach/detach */
	bool read_only;              /* ns attach */
	bool runtime;                /* the entry lasts until reboot */
	const char *origin;          /* "homictl vf assign (uid 0, 2026-11-27T07:00:00Z)" */
};

/* Edits O according to C. POLICY_ONLY is the desired state of the policies
 * alone (the base of a VF without an entry). A one-line *ret_error (caller
 * frees) says why an edit is refused (-ENOENT: nothing to unassign or
 * detach). */
int homi_change_edit(struct homi_overlay *o, const struct homi_desired *policy_only, const struct homi_change *c,
		     char **ret_error);

/* "homictl vf assign (uid 0, 2026-11-27T07:00:00Z)". Caller frees. */
char *homi_change_origin(const char *who, const char *what, unsigned uid);
