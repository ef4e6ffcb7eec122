/* SPDX-License-Identifier: MIT */
/* homictl policy check | plan | apply | teardown | release */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "defaults.h"
#include "homictl.h"
#include "overlay.h"
#include "plan-json.h"
#include "policy.h"
#include "state.h"

/* Loads FILEs (or the policy directory) into P; errors printed, exit code. */
static int load_policies(struct ctl *ctl, int argc, char **argv, struct homi_policy **ret)
{
	struct homi_policy *p = homi_policy_new();
	char *errors = NULL;
	int r = 0;

	if (!p)
		return ctl_fail(ctl, EXIT_ERROR, ENOMEM, "homictl: out of memory");
	if (argc == 0) {
		const char *dir = homi_policy_dir();
		if (access(dir, F_OK) == 0)
			r = homi_policy_add_path(p, dir, &errors);
	}
	for (int i = 0; i < argc && r >= 0; i++)
		r = homi_policy_add_path(p, argv[i], &errors);
	if (r < 0) {
		r = ctl_fail(ctl, EXIT_ERROR, -r, "%s", errors ? errors : strerror(-r));
		free(errors);
		homi_policy_free(p);
		return r;
	}
	*ret = p;
	return EXIT_OK;
}

static int resolve(struct ctl *ctl, const struct homi_policy *p, const struct homi_topology *t,
		   struct homi_desired **ret)
{
	char *errors = NULL;
	int r = homi_policy_resolve(p, t, ret, &errors);

	if (r < 0) {
		r = ctl_fail(ctl, EXIT_ERROR, -r, "%s", errors ? errors : strerror(-r));
		free(errors);
		return r;
	}
	return EXIT_OK;
}

int cmd_policy_check(struct ctl *ctl, int argc, char **argv)
{
	struct homi_policy *p = NULL;
	struct homi_topology *t = NULL;
	struct homi_desired *d = NULL;
	int r = load_policies(ctl, argc, argv, &p);

	if (r != EXIT_OK)
		return r;
	/* Meaning on this machine: matches, GPUs, per-gpu placement. */
	r = ctl_read_topology(ctl, &t, NULL);
	if (r == EXIT_OK)
		r = resolve(ctl, p, t, &d);
	if (r == EXIT_OK) {
		if (ctl->json) {
			json_t *o = json_object(), *files = json_array(), *pfs = json_array();
			json_object_set_new(o, "homi-policy-check", json_integer(1));
			for (size_t i = 0; i < homi_policy_count(p); i++)
				json_array_append_new(files, json_string(homi_policy_name(p, i)));
			json_object_set_new(o, "files", files);
			for (size_t i = 0; i < d->n_pfs; i++)
				json_array_append_new(pfs, json_string(d->pfs[i].pci));
			json_object_set_new(o, "matched-pfs", pfs);
			json_t *notes = json_array();
			for (size_t i = 0; i < d->n_notes; i++)
				json_array_append_new(notes, json_string(d->notes[i]));
			json_object_set_new(o, "notes", notes);
			r = ctl_print_json(ctl, o);
		} else {
			for (size_t i = 0; i < homi_policy_count(p); i++)
				printf("%s: ok\n", homi_policy_name(p, i));
			for (size_t i = 0; i < d->n_pfs; i++)
				printf("%s: %u VFs (%s)\n", d->pfs[i].pci, d->pfs[i].num_vfs, d->pfs[i].origin);
			if (!d->n_pfs)
				printf("no PF on this machine matches\n");
			for (size_t i = 0; i < d->n_notes; i++)
				printf("note: %s\n", d->notes[i]);
		}
	}
	homi_desired_free(d);
	homi_topology_free(t);
	homi_policy_free(p);
	return r;
}

static void print_steps(const struct homi_plan *p)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		char *d = homi_step_describe(&p->steps[i]);
		printf("%3zu. %s\n", i + 1, d ? d : "?");
		free(d);
	}
	for (size_t i = 0; i < p->n_notes; i++)
		printf("note: %s\n", p->notes[i]);
	if (!p->n_steps)
		printf("Nothing to do.\n");
}

/* Observes and plans; prints the plan; EXIT_PENDING when it has steps. */
static int plan_and_print(struct ctl *ctl, struct homi_host *h, const struct homi_desired *d,
			  const struct homi_plan_opts *opts)
{
	struct homi_owned_set *records = NULL;
	struct homi_observed *o = NULL;
	struct homi_plan *p = NULL;
	char *errors = NULL;
	int r;

	r = homi_state_load(homi_state_dir(), &records);
	if (r >= 0)
		r = homi_observe(h, d, records, &o);
	if (r >= 0)
		r = homi_plan_build(o, d, records, opts, &p, &errors);
	if (r < 0) {
		r = ctl_fail(ctl, EXIT_ERROR, -r, "%s", errors ? errors : strerror(-r));
	} else {
		if (ctl->json)
			ctl_print_json(ctl, homi_plan_to_json(p));
		else
			print_steps(p);
		r = p->n_steps ? EXIT_PENDING : EXIT_OK;
	}
	free(errors);
	homi_plan_free(p);
	homi_observed_free(o);
	homi_owned_set_free(records);
	return r;
}

int ctl_desired(struct ctl *ctl, struct homi_host *h, int argc, char **argv, const struct homi_overlay *overlay,
		struct homi_desired **ret)
{
	struct homi_policy *p = NULL;
	struct homi_topology *t = NULL;
	struct homi_overlay *loaded = NULL;
	char *errors = NULL;
	int r = load_policies(ctl, argc, argv, &p), e;

	if (r != EXIT_OK)
		return r;
	e = h->ops->topology(h, &t);
	r = e < 0 ? ctl_fail(ctl, EXIT_ERROR, -e, "%s: %s", homi_sysfs_root(ctl->sysfs), strerror(-e))
		  : resolve(ctl, p, t, ret);
	/* The imperative changes (vf assign, ns attach) stay on top. */
	if (r == EXIT_OK && !overlay) {
		e = homi_overlay_load(homi_state_dir(), homi_run_dir(), &loaded);
		if (e < 0)
			r = ctl_fail(ctl, EXIT_ERROR, -e, "%s/overlay.json: %s", homi_state_dir(), strerror(-e));
		overlay = loaded;
	}
	if (r == EXIT_OK && (e = homi_overlay_merge(overlay, t, *ret, &errors)) < 0)
		r = ctl_fail(ctl, EXIT_ERROR, -e, "%s", errors ? errors : strerror(-e));
	if (r != EXIT_OK)
		*ret = homi_desired_free(*ret);
	free(errors);
	homi_overlay_free(loaded);
	homi_topology_free(t);
	homi_policy_free(p);
	return r;
}

/* plan / apply through homid: files travel as contents. */
static int daemon_plan_apply(struct ctl *ctl, const char *method, int argc, char **argv)
{
	json_t *params = json_pack("{s:b, s:b}", "force", ctl_opt(ctl, "force") != NULL, "dry-run",
				   ctl_opt(ctl, "dry-run") != NULL);
	json_t *files = NULL, *doc = NULL;
	int r;

	if (argc) {
		r = ctl_files_param(ctl, argc, argv, &files);
		if (r != EXIT_OK) {
			json_decref(params);
			return r;
		}
		json_object_set_new(params, "files", files);
	}
	r = ctl_call(ctl, method, params, &doc);
	if (r != EXIT_OK)
		return r;
	bool is_plan = json_object_get(doc, "homi-plan") != NULL;
	size_t steps = json_array_size(json_object_get(doc, "steps"));
	if (ctl->json)
		ctl_print_json(ctl, json_incref(doc));
	else if (is_plan)
		ctl_print_plan_doc(doc);
	else
		ctl_print_apply_doc(doc);
	json_decref(doc);
	return is_plan && steps ? EXIT_PENDING : EXIT_OK;
}

int cmd_plan(struct ctl *ctl, int argc, char **argv)
{
	struct homi_host *h = NULL;
	struct homi_desired *d = NULL;
	struct homi_plan_opts opts = { .force = ctl_opt(ctl, "force") != NULL };
	if (ctl->daemon)
		return daemon_plan_apply(ctl, "plan", argc, argv);
	int r = ctl_open_host(ctl, &h);

	if (r != EXIT_OK)
		return r;
	r = ctl_desired(ctl, h, argc, argv, NULL, &d);
	if (r == EXIT_OK)
		r = plan_and_print(ctl, h, d, &opts);
	homi_desired_free(d);
	homi_host_free(h);
	return r;
}

/* One printer for both paths: homid's document and the in-process result. */
static void print_result(const struct homi_apply_result *res)
{
	json_t *doc = homi_apply_result_to_json(res);

	if (doc)
		ctl_print_apply_doc(doc);
	json_decref(doc);
}

int ctl_run_apply(struct ctl *ctl, struct homi_host *h, const struct homi_desired *d,
		     const struct homi_plan_opts *popts)
{
	struct homi_failpoints *fp = NULL;
	struct homi_apply_result *res = NULL;
	char *errors = NULL;
	int r;

	r = homi_failpoints_parse(secure_getenv("HOMI_FAILPOINTS"), &fp, &errors);
	if (r < 0) {
		r = ctl_fail(ctl, EXIT_USAGE, -r, "%s", errors ? errors : strerror(-r));
		free(errors);
		return r;
	}
	struct homi_apply_opts opts = {
		.failpoints = fp, .run_dir = homi_run_dir(), .state_dir = homi_state_dir(),
		.crash_exits = true, .plan = *popts,
	};
	/* An apply a crash interrupted is rolled back first. */
	r = homi_apply_recover(h, &opts, &res);
	if (r > 0) {
		fprintf(stderr, "homictl: %s\n", res->error ? res->error : "an interrupted apply was rolled back");
		/* what the recovery could not undo is named, as homid logs it */
		for (size_t i = 0; i < res->n_not_undone; i++)
			fprintf(stderr, "homictl: NOT undone: %s\n", res->not_undone_why[i]);
		res = homi_apply_result_free(res);
	} else if (r < 0) {
		homi_failpoints_free(fp);
		return ctl_fail(ctl, EXIT_ERROR, -r, "%s/journal.json: cannot recover: %s", opts.run_dir, strerror(-r));
	}
	r = homi_apply(h, d, &opts, &res, &errors);
	homi_failpoints_free(fp);
	if (r < 0) {
		r = ctl_fail(ctl, EXIT_ERROR, -r, "%s", errors ? errors : strerror(-r));
		free(errors);
		return r;
	}
	if (ctl->json)
		ctl_print_json(ctl, homi_apply_result_to_json(res));
	else
		print_result(res);
	r = EXIT_OK;
	if (res->outcome == HOMI_APPLY_ROLLED_BACK || res->outcome == HOMI_APPLY_FAILED) {
		fprintf(stderr, "%s%s\n", res->error ? res->error : "apply failed",
			res->outcome == HOMI_APPLY_ROLLED_BACK ? " (rolled back)" : " (NOT everything was undone)");
		r = EXIT_ERROR;
	}
	homi_apply_result_free(res);
	return r;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int cmd_apply(struct ctl *ctl, int argc, char **argv)
{
	struct homi_host *h = NULL;
	struct homi_desired *d = NULL;
	struct homi_plan_opts popts = { .force = ctl_opt(ctl, "force") != NULL };
	double t0 = now_ms();
	if (ctl->daemon)
		return daemon_plan_apply(ctl, "apply", argc, argv);
	int r = ctl_open_host(ctl, &h);
	double t_open = now_ms(), t_desired = t_open;

	if (r != EXIT_OK)
		return r;
	r = ctl_desired(ctl, h, argc, argv, NULL, &d);
	t_desired = now_ms();
	if (r == EXIT_OK)
		r = ctl_opt(ctl, "dry-run") ? plan_and_print(ctl, h, d, &popts) : ctl_run_apply(ctl, h, d, &popts);
	if (ctl->verbose)
		/* what a benchmark needs: in-process time, where it went, and
		 * what touched the device */
		fprintf(stderr,
			"homictl: apply: %.2f ms from policy load to result (open %.2f, policies and topology %.2f, "
			"observe, plan and apply %.2f); NVMe admin writes %u, admin reads %u, sysfs writes %u, "
			"resets %u\n",
			now_ms() - t0, t_open - t0, t_desired - t_open, now_ms() - t_desired, h->counters.admin_writes,
			h->counters.admin_reads, h->counters.sysfs_writes, h->counters.resets);
	homi_desired_free(d);
	homi_host_free(h);
	return r;
}

static int owned_pf(struct ctl *ctl, const char *arg, char addr[HOMI_ADDR_LEN])
{
	struct homi_owned_set *records = NULL;
	int r;

	if (homi_pci_parse_addr(arg, addr) < 0)
		return ctl_fail(ctl, EXIT_USAGE, EINVAL, "%s: not a PCI address (DDDD:BB:DD.F or BB:DD.F)", arg);
	r = homi_state_load(homi_state_dir(), &records);
	if (r >= 0 && !homi_owned_find(records, addr))
		r = -ENOENT;
	homi_owned_set_free(records);
	if (r == -ENOENT)
		return ctl_fail(ctl, EXIT_ERROR, ENOENT, "%s: homi does not own it (no record in %s/owned)", addr,
				homi_state_dir());
	if (r < 0)
		return ctl_fail(ctl, EXIT_ERROR, -r, "%s: %s", homi_state_dir(), strerror(-r));
	return EXIT_OK;
}

static int daemon_pf_call(struct ctl *ctl, const char *method, const char *arg)
{
	char addr[HOMI_ADDR_LEN];
	json_t *doc = NULL;
	int r;

	if (homi_pci_parse_addr(arg, addr) < 0)
		return ctl_fail(ctl, EXIT_USAGE, EINVAL, "%s: not a PCI address (DDDD:BB:DD.F or BB:DD.F)", arg);
	r = ctl_call(ctl, method,
		     json_pack("{s:s, s:b, s:b}", "pf", addr, "allow-pf-reset", ctl_opt(ctl, "allow-pf-reset") != NULL,
			       "force", ctl_opt(ctl, "force") != NULL),
		     &doc);
	if (r != EXIT_OK)
		return r;
	if (ctl->json)
		ctl_print_json(ctl, json_incref(doc));
	else if (json_object_get(doc, "homi-apply"))
		ctl_print_apply_doc(doc);
	else
		printf("%s: released; homi no longer owns it and changed nothing\n", addr);
	json_decref(doc);
	return EXIT_OK;
}

int cmd_teardown(struct ctl *ctl, int argc, char **argv)
{
	char addr[HOMI_ADDR_LEN];
	struct homi_host *h = NULL;
	struct homi_desired none = { 0 };
	if (ctl->daemon)
		return daemon_pf_call(ctl, "teardown", argv[0]);
	int r = owned_pf(ctl, argv[0], addr);

	if (r != EXIT_OK)
		return r;
	r = ctl_open_host(ctl, &h);
	if (r != EXIT_OK)
		return r;
	struct homi_plan_opts popts = {
		.force = ctl_opt(ctl, "force") != NULL,
		.teardown_allow_pf_reset = ctl_opt(ctl, "allow-pf-reset") != NULL,
		.only_pf = addr,
	};
	r = ctl_run_apply(ctl, h, &none, &popts);
	homi_host_free(h);
	return r;
}

int cmd_release(struct ctl *ctl, int argc, char **argv)
{
	char addr[HOMI_ADDR_LEN];
	if (ctl->daemon)
		return daemon_pf_call(ctl, "release", argv[0]);
	int r = owned_pf(ctl, argv[0], addr);

	if (r != EXIT_OK)
		return r;
	r = homi_state_forget(homi_state_dir(), addr);
	if (r < 0)
		return ctl_fail(ctl, EXIT_ERROR, -r, "%s: %s", addr, strerror(-r));
	if (!ctl->json)
		printf("%s: released; homi no longer owns it and changed nothing\n", addr);
	else
		ctl_print_json(ctl, json_pack("{s:i, s:s}", "homi-release", 1, "pf", addr));
	return EXIT_OK;
}
