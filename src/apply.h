/* SPDX-License-Identifier: MIT */
/* Applying a plan: each step through the host, its effect verified (sysfs
 * and Identify re-read: drivers_probe reports success even when nothing
 * bound), journaled before it runs (write-temp + fsync + rename), and on
 * failure every step done undone in reverse, with what could not be undone
 * reported. The state is re-observed afterwards and re-planned until
 * nothing is left to do (what a controller does on its own, such as
 * attaching shared namespaces to new VFs, is seen only then). */
#pragma once

#include <jansson.h>

#include "failpoint.h"
#include "plan.h"

enum homi_apply_outcome {
	HOMI_APPLY_APPLIED,
	HOMI_APPLY_NOTHING_TO_DO,
	HOMI_APPLY_ROLLED_BACK,
	HOMI_APPLY_FAILED,       /* rolled back, but not everything could be undone */
};

struct homi_apply_opts {
	struct homi_failpoints *failpoints;
	const char *run_dir;     /* the journal (journal.json); NULL: none */
	const char *state_dir;   /* ownership records; NULL: none */
	bool crash_exits;        /* a crash fail point ends the process; else homi_apply returns -ECANCELED */
	const int *cancel;          /* read atomically; set (SIGTERM): finish the step under way, then roll back */
	struct homi_plan_opts plan;
};

struct homi_step_result {
	struct homi_step step;
	char *error;             /* NULL: done */
	bool undone;
};

struct homi_apply_result {
	enum homi_apply_outcome outcome;
	struct homi_step_result *steps;
	size_t n_steps;
	struct homi_step *not_undone;
	char **not_undone_why;
	size_t n_not_undone;
	char *error;             /* the failure that started the rollback */
	char **notes;
	size_t n_notes;
};

/* Plans WANT against the host and applies it. -EINVAL with *ret_errors when
 * the plan is infeasible (nothing touched); -ECANCELED after a crash fail
 * point when !crash_exits (the journal is left for homi_apply_recover). */
int homi_apply(struct homi_host *h, const struct homi_desired *want, const struct homi_apply_opts *opts,
	       struct homi_apply_result **ret, char **ret_errors);
struct homi_apply_result *homi_apply_result_free(struct homi_apply_result *r);

/* Rolls back an apply a crash left unfinished (its journal in RUN_DIR).
 * Returns 0 when there was none, 1 when one was rolled back (*ret_result
 * tells how), or a negative errno. */
int homi_apply_recover(struct homi_host *h, const struct homi_apply_opts *opts, struct homi_apply_result **ret);

const char *homi_apply_outcome_name(enum homi_apply_outcome o);
/* {"homi-apply": 1, "steps": [...], "result": ..., "not-undone": [...]} */
json_t *homi_apply_result_to_json(const struct homi_apply_result *r);
