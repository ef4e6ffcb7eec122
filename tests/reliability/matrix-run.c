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
static int apply_clean(struct world *w, const struct homi_desired *want, char **why)
{
	struct homi_apply_opts o = opts(w, NULL);
	struct homi_apply_result *res = NULL;
	int r = homi_apply(w->h, want, &o, &res, why);

	if (r < 0)
		return r;
	r = (int)res->outcome;
	if (why && !*why && res->error)
		*why = strdup(res->error);
	homi_apply_result_free(res);
	return r;
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

/* One fault at one step: the verdict in ROW. */
static void run_fault(const struct matrix_case *c, const char *tmpdir, const char *spec,
		      const struct picture *desired, struct matrix_row *row)
{
	struct world w;
	struct picture before = { 0 }, after = { 0 }, final = { 0 };
	struct homi_failpoints *fp = NULL;
	struct homi_apply_result *res = NULL;
	_cleanup_free_ char *why = NULL;
	bool crash = strstr(spec, "=crash") != NULL;
	const char *ended = NULL;
	int r;

	if (world_new(c, tmpdir, &w, &why) < 0) {
		matrix_bad(row, "setup failed: %s", why ? why : "?");
		return;
	}
	if (homi_failpoints_parse(spec, &fp, NULL) < 0) {
		matrix_bad(row, "bad fail point %s", spec);
		goto out;
	}
	picture_take(&w, &before);
	struct homi_apply_opts o = opts(&w, fp);
	r = homi_apply(w.h, w.want, &o, &res, &why);
	if (crash) {
		if (r != -ECANCELED) {
			matrix_bad(row, "the crash fail point did not fire (%s)", r < 0 ? strerror(-r) : "returned");
			goto out;
		}
		o.failpoints = NULL;
		r = homi_apply_recover(w.h, &o, &res);
		if (r != 1) {
			matrix_bad(row, "recovery found no journal (%d)", r);
			goto out;
		}
	} else if (r < 0) {
		matrix_bad(row, "apply: %s", why ? why : strerror(-r));
		goto out;
	}
	if (res->outcome != HOMI_APPLY_ROLLED_BACK) {
		matrix_bad(row, "outcome %s: %s", homi_apply_outcome_name(res->outcome),
			   res->n_not_undone ? res->not_undone_why[0] : res->error ? res->error : "");
		goto out;
	}
	picture_take(&w, &after);
	if (picture_eq(&after, &before))
		ended = "prior state";
	else if (picture_eq(&after, desired))
		ended = "desired state";
	else {
		matrix_bad(row, "ended between: %s", matrix_first_difference(before.machine, after.machine,
									    before.files, after.files));
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
	if (r != HOMI_APPLY_APPLIED && !(r == HOMI_APPLY_NOTHING_TO_DO && streq(ended, "desired state"))) {
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
	snprintf(row->result, sizeof(row->result), "%s%s; converged", crash ? "recovered: " : "", ended);
out:
	homi_apply_result_free(res);
	homi_failpoints_free(fp);
	picture_done(&before);
	picture_done(&after);
	picture_done(&final);
	world_done(&w);
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
			char spec[96];
			if (!row) {
				r = -ENOMEM;
				goto out;
			}
			snprintf(row->step, sizeof(row->step), "%zu/%zu", i + 1, n);
			snprintf(row->op, sizeof(row->op), "%s#%u", ops[i], nth);
			snprintf(row->fault, sizeof(row->fault), "%s", faults[f]);
			snprintf(spec, sizeof(spec), "%s=%s", row->op, faults[f]);
			run_fault(c, tmpdir, spec, &desired, row);
		}
	}
	r = 0;
out:
	free(ops);
	picture_done(&desired);
	return r;
}
