/* SPDX-License-Identifier: MIT */
/* One case of the fault matrix: the reference apply, then each of its
 * steps with each fault, each from a fresh machine in the starting state. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "macro.h"
#include "matrix.h"
#include "matrix-util.h"
#include "policy.h"

static const char empty_policy[] = "{\"homi-policy\": 1, \"devices\": []}";

/* The machine, its directories and what the apply is to reach. */
struct world {
	struct homi_host *h;
	struct homi_desired *want;
	char run[256], state[256];
};

static void world_done(struct world *w)
{
	homi_desired_free(w->want);
	homi_host_free(w->h);
	*w = (struct world){ 0 };
}

/* Resolves POLICY against the machine W. */
static int resolve(struct world *w, const char *name, const char *policy, struct homi_desired **ret, char **why)
{
	struct homi_policy *p = homi_policy_new();
	struct homi_topology *t = NULL;
	int r;

	if (!p)
		return -ENOMEM;
	r = homi_policy_add_buffer(p, name, policy, strlen(policy), why);
	if (r >= 0)
		r = w->h->ops->topology(w->h, &t);
	if (r >= 0)
		r = homi_policy_resolve(p, t, ret, why);
	homi_topology_free(t);
	homi_policy_free(p);
	return r;
}

static struct homi_apply_opts opts(struct world *w, struct homi_failpoints *fp)
{
	return (struct homi_apply_opts){ .failpoints = fp, .run_dir = w->run, .state_dir = w->state };
}

/* Applies W's policy without faults; the outcome, or -errno. */
static int apply_clean_opts(struct world *w, const struct homi_desired *want, const struct homi_plan_opts *popts,
			    char **why)
{
	struct homi_apply_opts o = opts(w, NULL);
	struct homi_apply_result *res = NULL;
	int r;

	if (popts)
		o.plan = *popts;
	r = homi_apply(w->h, want, &o, &res, why);
	if (r < 0)
		return r;
	r = (int)res->outcome;
	if (why && !*why && res->error)
		*why = strdup(res->error);
	homi_apply_result_free(res);
	return r;
}

static int apply_clean(struct world *w, const struct homi_desired *want, char **why)
{
	return apply_clean_opts(w, want, NULL, why);
}

/* Attaches namespace NSID of PF to the secondary controller of VF 1 (by its
 * VF number in the Secondary Controller List, as homi maps them). */
static int attach_to_vf1(struct homi_host *h, const char *pf, uint32_t nsid)
{
	_cleanup_free_ struct homi_secondary *sec = NULL;
	size_t n = 0;
	int status, r = h->ops->secondaries(h, pf, &sec, &n, &status);

	for (size_t i = 0; r >= 0 && i < n; i++)
		if (sec[i].vfn == 1)
			return h->ops->ns_attach(h, pf, nsid, sec[i].scid, true, &status);
	return r < 0 ? r : -ENOENT;
}

/* Does to the machine what someone else did after the apply. */
static int perturb(struct world *w, enum matrix_start s)
{
	struct homi_topology *t = NULL;
	int r = w->h->ops->topology(w->h, &t);

	for (size_t i = 0; r >= 0 && i < t->n_devices; i++) {
		const struct homi_device *d = &t->devices[i];
		if (s == START_CONTROLLER_RESET && d->is_pf)
			r = homi_sim_controller_reset(w->h, d->pci);
		else if (s == START_UNBOUND && d->kind == HOMI_KIND_NVME_VF && d->driver)
			r = w->h->ops->unbind(w->h, d->pci, d->driver);
		else if (s == START_FOREIGN_NS && d->is_pf && d->n_vfs > 0)
			r = attach_to_vf1(w->h, d->pci, 2);
	}
	homi_topology_free(t);
	return r;
}

/* Builds the machine of case C in its starting state, and what to reach. */
static int world_new(const struct matrix_case *c, const char *tmpdir, struct world *w, char **why)
{
	struct homi_sim_config cfg;
	struct homi_desired *first = NULL;
	int r;

	*w = (struct world){ 0 };
	snprintf(w->run, sizeof(w->run), "%s/run", tmpdir);
	snprintf(w->state, sizeof(w->state), "%s/state", tmpdir);
	r = matrix_rm_rf(tmpdir);
	if (r < 0)
		return r;
	matrix_config(c->config, &cfg, c->start);
	r = homi_host_sim(&cfg, &w->h);
	if (r < 0)
		return r;
	r = resolve(w, c->policy_name, c->policy, &first, why);
	if (r < 0)
		goto fail;
	if (c->start == START_FRESH || c->start == START_PRIMARY_HOLDS) {
		w->want = TAKE_PTR(first);
		return 0;
	}
	r = apply_clean(w, first, why);
	homi_desired_free(first);
	if (r != HOMI_APPLY_APPLIED) {
		if (!*why)
			*why = strdup(r == HOMI_APPLY_NOTHING_TO_DO ? "the policy changes nothing here"
								  : r < 0 ? strerror(-r) : homi_apply_outcome_name(r));
		r = r < 0 ? r : -EINVAL;
		goto fail;
	}
	if (c->start == START_TEARDOWN)
		r = resolve(w, "empty.json", empty_policy, &w->want, why);
	else
		r = resolve(w, c->policy_name, c->policy, &w->want, why) < 0 ? -EINVAL : perturb(w, c->start);
	if (r < 0)
		goto fail;
	return 0;
fail:
	world_done(w);
	return r;
}

/* What a run must end in: the machine and homi's own files. */
struct picture {
	char *machine, *files;
};

static void picture_take(struct world *w, struct picture *p)
{
	p->machine = homi_sim_snapshot(w->h);
	p->files = matrix_tree_text(w->state);
}

static void picture_done(struct picture *p)
{
	free(p->machine);
	free(p->files);
	*p = (struct picture){ 0 };
}

static bool picture_eq(const struct picture *a, const struct picture *b)
{
	return streq_ptr(a->machine, b->machine) && streq_ptr(a->files, b->files);
}

/* A realistic errno and NVMe status for each op's failure. */
static const char *fault_errno(const char *op)
{
	static const struct { const char *op, *fault; } t[] = {
		{ "enable-vfs", "errno:EBUSY" },  { "disable-vfs", "errno:EBUSY" }, { "set-autoprobe", "errno:EACCES" },
		{ "reset-pf", "errno:ETIMEDOUT" }, { "bind", "errno:ENODEV" },     { "unbind", "errno:ENODEV" },
		{ "set-vfio-owner", "errno:EPERM" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (streq(t[i].op, op))
			return t[i].fault;
	return "errno:EIO"; /* an admin command that did not complete */
}

static const char *fault_nvme(const char *op)
{
	static const struct { const char *op, *fault; } t[] = {
		{ "assign", "nvme:0x4121" },           /* Invalid Number of Controller Resources */
		{ "primary-flex", "nvme:0x4121" },
		{ "secondary-online", "nvme:0x4120" }, /* Invalid Secondary Controller State */
		{ "secondary-offline", "nvme:0x411f" },/* Invalid Controller Identifier */
		{ "attach-ns", "nvme:0x411c" },        /* Controller List Invalid */
		{ "detach-ns", "nvme:0x411a" },        /* Namespace Not Attached */
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (streq(t[i].op, op))
			return t[i].fault;
	return "nvme:0x4006"; /* Internal Error */
}

bool matrix_undo_all, matrix_undo_none;

/* The undo steps a run executed, as "op#n", in order. */
struct undo_log {
	char (*ops)[48];
	size_t n;
};

static void undo_log_take(const struct homi_failpoints *fp, struct undo_log *log)
{
	const char *op;
	unsigned nth;
	bool undo;

	for (size_t i = 0; (op = homi_failpoints_executed(fp, i, &undo, &nth)); i++) {
		if (!undo)
			continue;
		char (*n)[48] = realloc(log->ops, (log->n + 1) * sizeof(*n));
		if (!n)
			return;
		log->ops = n;
		snprintf(log->ops[log->n++], sizeof(*n), "%s#%u", op, nth);
	}
}

/* What a rollback that left something not undone must show: the result
 * names it (the injected error among the reasons), no journal is left to
 * replay it, no ownership record is lost (the original state of each PF
 * changed stays recorded). NULL when all holds. */
static const char *leftover_bad(const struct homi_apply_result *res, const struct picture *before,
				const struct picture *after, const char *run_dir)
{
	bool named = false;

	if (res->outcome != HOMI_APPLY_FAILED || !res->n_not_undone)
		return "an undo step failed, the result does not say so";
	for (size_t i = 0; i < res->n_not_undone; i++)
		named |= strstr(res->not_undone_why[i], strerror(EIO)) != NULL;
	if (!named)
		return "the undo step that failed is not among those reported not undone";
	if (matrix_journal_left(run_dir))
		return "a journal is left after the rollback";
	/* an apply that fails forgets no record it found */
	if (before->files && *before->files && !streq_ptr(after->files, before->files))
		return "the ownership records before the apply changed";
	if (!streq_ptr(after->machine, before->machine) && (!after->files || !*after->files))
		return "a PF is not as before and no ownership record is left";
	return NULL;
}

/* After a rollback that left something not undone: the state that held
 * before, desired again (a teardown from a fresh machine, the policy again
 * from its teardown), is the state before, records included. Starting
 * states made by drift are no desired state: "" (the convergence to the
 * policy's state that follows is the check there). */
static const char *back_to_prior(const struct matrix_case *c, struct world *w, const struct picture *before,
				 struct matrix_row *row)
{
	struct homi_desired *prior = NULL;
	struct picture now = { 0 };
	_cleanup_free_ char *why = NULL;
	const char *text = c->start == START_TEARDOWN ? c->policy : empty_policy;
	int r;

	if (c->start != START_FRESH && c->start != START_PRIMARY_HOLDS && c->start != START_TEARDOWN)
		return "";
	r = resolve(w, "prior.json", text, &prior, &why);
	if (r >= 0) /* what homictl teardown --allow-pf-reset does */
		r = apply_clean_opts(w, prior, &(struct homi_plan_opts){ .teardown_allow_pf_reset = true }, &why);
	homi_desired_free(prior);
	if (r != HOMI_APPLY_APPLIED && r != HOMI_APPLY_NOTHING_TO_DO) {
		matrix_bad(row, "the prior desired state does not apply: %s",
			   why ? why : r < 0 ? strerror(-r) : homi_apply_outcome_name(r));
		return NULL;
	}
	picture_take(w, &now);
	if (!picture_eq(&now, before)) {
		matrix_bad(row, "the prior desired state is not the prior state: %s",
			   matrix_first_difference(before->machine, now.machine, before->files, now.files));
		picture_done(&now);
		return NULL;
	}
	picture_done(&now);
	return c->start == START_TEARDOWN ? ", policy again: prior state" : ", teardown: prior state";
}

/* One fault at one step, and maybe one at an undo step of the rollback it
 * starts (UNDO, "undo:op#n=..."): the verdict in ROW; the undo steps run
 * into *LOG when not NULL. */
static void run_fault(const struct matrix_case *c, const char *tmpdir, const char *spec, const char *undo,
		      const struct picture *desired, struct matrix_row *row, struct undo_log *log)
{
	struct world w;
	struct picture before = { 0 }, after = { 0 }, final = { 0 };
	struct homi_failpoints *fp = NULL;
	struct homi_apply_result *res = NULL;
	_cleanup_free_ char *why = NULL;
	char all[192];
	bool crash = strstr(spec, "=crash") != NULL, undo_crash = undo && strstr(undo, "=crash");
	int crashes = 0, expected = crash + undo_crash;
	const char *ended = NULL, *bad, *prior = "";
	char left[128] = ""; /* an undo errno: what the run left */
	int r;

	if (world_new(c, tmpdir, &w, &why) < 0) {
		matrix_bad(row, "setup failed: %s", why ? why : "?");
		return;
	}
	snprintf(all, sizeof(all), "%s%s%s", spec, undo ? "," : "", undo ? undo : "");
	if (homi_failpoints_parse(all, &fp, NULL) < 0) {
		matrix_bad(row, "bad fail point %s", all);
		goto out;
	}
	picture_take(&w, &before);
	struct homi_apply_opts o = opts(&w, fp);
	r = homi_apply(w.h, w.want, &o, &res, &why);
	/* each crash: the next start recovers (with the same fail points: the
	 * undo steps of recovery count too) */
	while (r == -ECANCELED && crashes < expected) {
		crashes++;
		r = homi_apply_recover(w.h, &o, &res);
		if (r == 0) {
			matrix_bad(row, "recovery found no journal");
			goto out;
		}
		r = r == 1 ? 0 : r;
	}
	if (crashes != expected) {
		matrix_bad(row, "%s crash fail point did not fire (%s)", crashes ? "a" : "the",
			   r < 0 ? strerror(-r) : "returned");
		goto out;
	}
	if (r < 0) {
		matrix_bad(row, "apply: %s", why ? why : strerror(-r));
		goto out;
	}
	if (log)
		undo_log_take(fp, log);
	if (undo && !undo_crash) {
		/* what is left: reported, the records kept; the prior desired
		 * state gives the prior state back */
		picture_take(&w, &after);
		if ((bad = leftover_bad(res, &before, &after, w.run))) {
			matrix_bad(row, "%s", bad);
			goto out;
		}
		if (!(prior = back_to_prior(c, &w, &before, row)))
			goto out;
		snprintf(left, sizeof(left), "%zu not undone%s", res->n_not_undone, prior);
		ended = left;
	} else if (res->outcome != HOMI_APPLY_ROLLED_BACK) {
		matrix_bad(row, "outcome %s: %s", homi_apply_outcome_name(res->outcome),
			   res->n_not_undone ? res->not_undone_why[0] : res->error ? res->error : "");
		goto out;
	}
	if (!ended)
		picture_take(&w, &after);
	if (ended)
		;
	else if (picture_eq(&after, &before))
		ended = "prior state";
	else if (picture_eq(&after, desired))
		ended = "desired state";
	else {
		matrix_bad(row, "ended between: %s", matrix_first_difference(before.machine, after.machine,
									    before.files, after.files));
		goto out;
	}
	if (undo_crash && !streq(ended, "prior state")) {
		matrix_bad(row, "a rollback ended in the desired state");
		goto out;
	}
	if (homi_sim_blocked(w.h)) {
		matrix_bad(row, "a write would have blocked in the kernel");
		goto out;
	}
	if (matrix_journal_left(w.run)) {
		matrix_bad(row, "journal left after %s", crash ? "recovery" : "rollback");
		goto out;
	}
	/* and the policy still converges, to the same state as without faults */
	free(why);
	why = NULL;
	r = apply_clean(&w, w.want, &why);
	picture_take(&w, &final);
	if (r != HOMI_APPLY_APPLIED && !(r == HOMI_APPLY_NOTHING_TO_DO && streq(ended, "desired state")) &&
	    !(r == HOMI_APPLY_NOTHING_TO_DO && *left && !*prior)) {
		matrix_bad(row, "no convergence after: %s", r < 0 ? strerror(-r) : homi_apply_outcome_name(r));
		goto out;
	}
	if (!picture_eq(&final, desired)) {
		matrix_bad(row, "converged elsewhere: %s", matrix_first_difference(desired->machine, final.machine,
										 desired->files, final.files));
		goto out;
	}
	if (apply_clean(&w, w.want, NULL) != HOMI_APPLY_NOTHING_TO_DO) {
		matrix_bad(row, "a second apply after convergence still changes things");
		goto out;
	}
	snprintf(row->result, sizeof(row->result), "%s%s; converged", crash || undo_crash ? "recovered: " : "", ended);
out:
	homi_apply_result_free(res);
	homi_failpoints_free(fp);
	picture_done(&before);
	picture_done(&after);
	picture_done(&final);
	world_done(&w);
}

/* The undo column of forward fault SPEC at step STEP (OP): faults at the
 * undo steps of LOG, its rollback. */
static int run_undo_faults(const struct matrix_case *c, const char *tmpdir, const char *step, const char *op,
			   const char *spec, const char *fault, const struct undo_log *log,
			   const struct picture *desired, struct matrix_row **rows, size_t *n_rows)
{
	for (size_t i = 0; i < log->n && !matrix_undo_none; i++) {
		if (!matrix_undo_all && i != 0 && i != log->n / 2 && i + 1 != log->n)
			continue;
		/* EIO: the errnos of fault_errno() that mean "no such
		 * device" are taken as done for unbind, rightly */
		const char *faults[] = { "errno:EIO", "crash" };
		for (size_t f = 0; f < ARRAY_SIZE(faults); f++) {
			struct matrix_row *row = matrix_row_add(rows, n_rows);
			char undo[80];
			if (!row)
				return -ENOMEM;
			row->undo = true;
			snprintf(row->step, sizeof(row->step), "%s", step);
			snprintf(row->op, sizeof(row->op), "%s", op);
			snprintf(undo, sizeof(undo), "undo:%s=%s", log->ops[i], faults[f]);
			snprintf(row->fault, sizeof(row->fault), "%s; %s", fault, undo);
			run_fault(c, tmpdir, spec, undo, desired, row, NULL);
		}
	}
	return 0;
}

int matrix_run_case(const struct matrix_case *c, const char *tmpdir, struct matrix_row **rows, size_t *n_rows,
		    char **ret_why)
{
	struct homi_apply_opts o;
	struct homi_apply_result *res = NULL;
	struct picture desired = { 0 };
	struct world w;
	char **ops = NULL;
	size_t n = 0;
	int r;

	*ret_why = NULL;
	r = world_new(c, tmpdir, &w, ret_why);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	/* the reference: every step executed, over all rounds */
	o = opts(&w, NULL);
	r = homi_apply(w.h, w.want, &o, &res, ret_why);
	if (r < 0 || res->outcome != HOMI_APPLY_APPLIED) {
		if (r >= 0 && res->outcome == HOMI_APPLY_NOTHING_TO_DO)
			*ret_why = strdup("the policy changes nothing here");
		else if (r >= 0 && !*ret_why)
			*ret_why = strdup(res->error ? res->error : homi_apply_outcome_name(res->outcome));
		homi_apply_result_free(res);
		world_done(&w);
		return -EINVAL;
	}
	picture_take(&w, &desired);
	n = res->n_steps;
	ops = calloc(n, sizeof(*ops));
	for (size_t i = 0; ops && i < n; i++)
		ops[i] = (char *)homi_op_name(res->steps[i].step.op);
	homi_apply_result_free(res);
	world_done(&w);
	if (!ops) {
		picture_done(&desired);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned nth = 0;
		for (size_t k = 0; k <= i; k++)
			nth += streq(ops[k], ops[i]);
		const char *faults[] = { fault_errno(ops[i]), fault_nvme(ops[i]), "crash" };
		for (size_t f = 0; f < ARRAY_SIZE(faults); f++) {
			struct matrix_row *row = matrix_row_add(rows, n_rows);
			struct undo_log log = { 0 };
			char spec[96], step[48], op[40];
			if (!row) {
				r = -ENOMEM;
				goto out;
			}
			snprintf(row->step, sizeof(row->step), "%zu/%zu", i + 1, n);
			snprintf(row->op, sizeof(row->op), "%s#%u", ops[i], nth);
			snprintf(row->fault, sizeof(row->fault), "%s", faults[f]);
			snprintf(spec, sizeof(spec), "%s=%s", row->op, faults[f]);
			/* the undo column: under the errno (rollback in the apply)
			 * and the crash (rollback in recovery); the NVMe status
			 * starts the same rollback as the errno */
			run_fault(c, tmpdir, spec, NULL, &desired, row, f == 1 ? NULL : &log);
			snprintf(step, sizeof(step), "%s", row->step);
			snprintf(op, sizeof(op), "%s", row->op);
			r = f == 1 || row->bad ? 0
					       : run_undo_faults(c, tmpdir, step, op, spec, faults[f], &log, &desired, rows,
								 n_rows);
			free(log.ops);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
out:
	free(ops);
	picture_done(&desired);
	return r;
}
