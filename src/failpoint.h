/* SPDX-License-Identifier: MIT */
/* Fail points (ARCHITECTURE.md 3.5), for tests only but compiled in every
 * build and inert unless set:
 *
 *   HOMI_FAILPOINTS="[undo:]op[#n]=errno:EIO|nvme:0x4120|crash|sleep:MS[,...]"
 *
 * The n-th (default first) execution of plan op OP (a step of the plan being
 * applied; undo steps are not counted) fails with that errno or NVMe status
 * without touching the device, or the process dies right after the step, or
 * the step waits MS milliseconds (1 to 60000) before it runs as usual (a
 * slow device, for tests of what happens meanwhile).
 *
 * With "undo:", the n-th execution of op OP as an undo step of a rollback
 * (of homi_apply's, or of the one homi_apply_recover finishes) instead:
 * forward steps are not counted there. Only undo steps that run count: one
 * whose effect already holds is skipped, and cannot fail. A crash comes
 * right after the undo step ran and the journal recorded it as done.
 * Counts are per fail point set: a set passed to homi_apply_recover and
 * then homi_apply counts the undo steps of both. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum homi_fp_action {
	HOMI_FP_NONE,
	HOMI_FP_ERRNO, /* value: positive errno */
	HOMI_FP_NVME,  /* value: NVMe status */
	HOMI_FP_CRASH,
	HOMI_FP_SLEEP, /* value: milliseconds, then the step runs */
};

struct homi_fp_hit {
	enum homi_fp_action action;
	int value;
};

struct homi_failpoints;

/* NULL or "" gives an empty set. -EINVAL with a one-line *ret_error
 * (caller frees) for a malformed spec. */
int homi_failpoints_parse(const char *spec, struct homi_failpoints **ret, char **ret_error);
struct homi_failpoints *homi_failpoints_free(struct homi_failpoints *fp);

/* Counts one execution of OP (a forward step, an undo step) and says what
 * to do with it. An empty set counts nothing. */
struct homi_fp_hit homi_failpoints_hit(struct homi_failpoints *fp, const char *op);
struct homi_fp_hit homi_failpoints_hit_undo(struct homi_failpoints *fp, const char *op);

/* The I-th execution a non-empty set counted, in order: its op, whether it
 * was an undo step, and its n (what "op#n" names); NULL past the last. For
 * tests that enumerate the fail points of a run (the fault matrix). */
const char *homi_failpoints_executed(const struct homi_failpoints *fp, size_t i, bool *ret_undo, unsigned *ret_nth);
