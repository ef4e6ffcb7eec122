/* SPDX-License-Identifier: MIT */
/* The fault matrix (docs/RELIABILITY.md): every step of the plan of every
 * example policy, from several starting states, on the simulated host,
 * with a failure (an errno, an NVMe status) and with a crash followed by
 * homi_apply_recover. Each run must end in the state before the apply or
 * in the desired one, never between, and the policy must converge after.
 * The undo column: a fault (an errno, a crash) at undo steps of the
 * rollbacks the errno and the crash start (the first, middle and last undo
 * step run, or all with matrix_undo_all). An undo errno must be reported
 * (the result names the step not undone), leave no journal, lose no
 * ownership record, and the desired state before (a teardown, the policy
 * again after its teardown) must give the state before back; an undo crash
 * must be finished by homi_apply_recover, in the state before. Then the
 * policy must converge, as after every run. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "host-sim.h"

/* Where a case starts from. */
enum matrix_start {
	START_FRESH,            /* a machine homi never touched */
	START_PRIMARY_HOLDS,    /* the primary holds flexible resources (a PF reset is needed) */
	START_TEARDOWN,         /* the policy applied, then removed: back to the recorded state */
	START_CONTROLLER_RESET, /* the policy applied, then every PF controller reset (drift) */
	START_UNBOUND,          /* the policy applied, then every VF unbound by someone (drift) */
	START_FOREIGN_NS,       /* the policy applied, then namespace 2 attached to VF 1 by someone */
	_START_MAX,
};

struct matrix_case {
	char name[128];         /* "per-gpu.json @server, fresh" */
	const char *config;     /* "testbed" or "server" */
	const char *policy_name;/* the file's base name */
	const char *policy;     /* its text */
	enum matrix_start start;
};

struct matrix_row {
	char step[48];          /* "3/13" */
	char op[40];            /* "assign#2" */
	char fault[96];         /* "errno:EIO", "nvme:0x4121", "crash", "errno:EIO; undo:assign#1=crash" */
	char result[256];       /* "rolled back; converged" or "BAD: ..." */
	bool undo;              /* a row of the undo column */
	bool bad;
};

/* Every undo step of each rollback gets its faults, not three of them. */
extern bool matrix_undo_all, matrix_undo_none; /* every undo step; none (forward faults only) */

/* Rows of one case, appended to *ROWS. Returns 0, or -EINVAL when the case
 * does not apply (the policy selects nothing, or is infeasible there:
 * *ret_why says so), or another negative errno. */
int matrix_run_case(const struct matrix_case *c, const char *tmpdir, struct matrix_row **rows, size_t *n_rows,
		    char **ret_why);

const char *matrix_start_name(enum matrix_start s);
void matrix_config(const char *name, struct homi_sim_config *c, enum matrix_start s);
