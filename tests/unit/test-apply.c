/* SPDX-License-Identifier: MIT */
/* Plan and apply against the simulated host: the step order, idempotence,
 * rollback after a failure at every step, crash recovery at every step,
 * every feasibility refusal, teardown to the recorded state, drift. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-run.h"
#include "apply.h"
#include "host-sim.h"
#include "macro.h"
#include "plan-json.h"
#include "policy.h"
#include "state.h"

/* The testbed policy: a vfio VF reading namespace 1, an nvme VF. */
static const char testbed_policy[] =
	"{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"0000:01:00.0\"}, \"vfs\": ["
	"{\"vf\": 1, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, \"namespaces\": [{\"nsid\": 1, \"access\": \"ro\"}],"
	" \"owner\": \"user\", \"group\": \"homi-admin\", \"mode\": \"0660\"},"
	"{\"vf\": 2, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1, \"namespaces\": [1]}]}]}";

static const char *const expected_ops[] = {
	"set-autoprobe", "enable-vfs", "assign", "assign", "secondary-online", "attach-ns", "bind",
	"set-vfio-owner", "assign", "assign", "secondary-online", "attach-ns", "bind",
};

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/homi-apply-XXXXXX");
	ck_assert(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct homi_host *new_sim(void (*tweak)(struct homi_sim_config *))
{
	struct homi_sim_config c;
	struct homi_host *h = NULL;

	homi_sim_config_testbed(&c);
	if (tweak)
		tweak(&c);
	ck_assert_int_eq(homi_host_sim(&c, &h), 0);
	return h;
}

static struct homi_desired *desired(struct homi_host *h, const char *json)
{
	struct homi_policy *p = homi_policy_new();
	struct homi_topology *t = NULL;
	struct homi_desired *d = NULL;
	char *err = NULL;

	ck_assert_int_eq(h->ops->topology(h, &t), 0);
	ck_assert_msg(homi_policy_add_buffer(p, "test.json", json, strlen(json), &err) == 0, "policy: %s", err);
	ck_assert_msg(homi_policy_resolve(p, t, &d, &err) == 0, "resolve: %s", err);
	homi_topology_free(t);
	homi_policy_free(p);
	return d;
}

static struct homi_plan *plan(struct homi_host *h, const struct homi_desired *d, const struct homi_plan_opts *opts,
			      char **errors)
{
	struct homi_observed *o = NULL;
	struct homi_plan *p = NULL;

	ck_assert_int_eq(homi_observe(h, d, NULL, &o), 0);
	homi_plan_build(o, d, NULL, opts, &p, errors);
	homi_observed_free(o);
	return p;
}

static struct homi_apply_opts opts_for(struct homi_failpoints *fp)
{
	static char run[128], state[128];
	snprintf(run, sizeof(run), "%s/run", tmpdir);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	return (struct homi_apply_opts){ .failpoints = fp, .run_dir = run, .state_dir = state };
}

static enum homi_apply_outcome apply(struct homi_host *h, const struct homi_desired *d,
				     const struct homi_apply_opts *o)
{
	struct homi_apply_result *res = NULL;
	char *err = NULL;
	int r = homi_apply(h, d, o, &res, &err);

	ck_assert_msg(r == 0, "apply: %s (%s)", strerror(-r), err ? err : "");
	enum homi_apply_outcome out = res->outcome;
	homi_apply_result_free(res);
	return out;
}

START_TEST(plan_order)
{
	struct homi_host *h = new_sim(NULL);
	struct homi_desired *d = desired(h, testbed_policy);
	struct homi_plan *p = plan(h, d, NULL, NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->n_steps, ARRAY_SIZE(expected_ops));
	for (size_t i = 0; i < p->n_steps; i++)
		ck_assert_str_eq(homi_op_name(p->steps[i].op), expected_ops[i]);
	ck_assert_int_eq(p->steps[0].value, 0);   /* autoprobe off before VFs appear */
	ck_assert_int_eq(p->steps[1].count, 2);   /* VF count: the highest vf listed */
	ck_assert_int_eq(p->steps[2].cntlid, 1);  /* VF 1 -> SCID 1 by VFN */
	ck_assert_str_eq(p->steps[6].vf_pci, "0000:01:00.1");
	ck_assert_str_eq(p->steps[6].driver, "vfio-pci");
	ck_assert_int_eq(p->steps[7].uid, 1000);
	ck_assert_int_eq(p->steps[7].mode, 0660);
	ck_assert_str_eq(p->steps[12].driver, "nvme");
	/* the JSON of 3.2 */
	json_t *j = homi_plan_to_json(p);
	char *s = json_dumps(json_array_get(json_object_get(j, "steps"), 2), JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(s, "{\"op\":\"assign\",\"pf\":\"0000:01:00.0\",\"cntlid\":1,\"resource\":\"vq\",\"count\":2,\"vf\":1}");
	free(s);
	json_decref(j);
	homi_plan_free(p);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

START_TEST(apply_and_idempotence)
{
	struct homi_host *h = new_sim(NULL);
	struct homi_desired *d = desired(h, testbed_policy);
	struct homi_apply_opts o = opts_for(NULL);

	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	char *snap = homi_sim_snapshot(h);
	ck_assert_ptr_nonnull(strstr(snap, "numvfs=2 autoprobe=0"));
	ck_assert_ptr_nonnull(strstr(snap, "sec 1 online=1 nvq=2 nvi=1"));
	ck_assert_ptr_nonnull(strstr(snap, "sec 2 online=1 nvq=2 nvi=1"));
	ck_assert_ptr_nonnull(strstr(snap, "vf 0000:01:00.1 driver=vfio-pci override=vfio-pci"));
	ck_assert_ptr_nonnull(strstr(snap, "vf 0000:01:00.2 driver=nvme override=nvme"));
	ck_assert_ptr_nonnull(strstr(snap, "ns 1 ctrls 0 1 2"));
	ck_assert_ptr_nonnull(strstr(snap, "node /dev/vfio/4 1000:990 0660"));
	/* the second plan is empty; the second apply changes nothing */
	struct homi_plan *p = plan(h, d, NULL, NULL);
	ck_assert_int_eq(p->n_steps, 0);
	homi_plan_free(p);
	struct homi_host_counters before = h->counters;
	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_NOTHING_TO_DO);
	ck_assert_int_eq(h->counters.admin_writes, before.admin_writes);
	ck_assert_int_eq(h->counters.sysfs_writes, before.sysfs_writes);
	ck_assert_int_eq(h->counters.resets, 0);
	char *snap2 = homi_sim_snapshot(h);
	ck_assert_str_eq(snap, snap2);
	/* ownership recorded */
	char rec[256];
	snprintf(rec, sizeof(rec), "%s/state/owned/0000:01:00.0.json", tmpdir);
	ck_assert_int_eq(access(rec, F_OK), 0);
	free(snap);
	free(snap2);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

/* Occurrence number of step I's op among the steps before it. */
static unsigned nth_of(size_t i)
{
	unsigned n = 0;
	for (size_t k = 0; k <= i; k++)
		n += streq(expected_ops[k], expected_ops[i]);
	return n;
}

START_TEST(rollback_at_each_step)
{
	static const char *const kinds[] = { "errno:EIO", "nvme:0x4121" };
	for (size_t kind = 0; kind < ARRAY_SIZE(kinds); kind++)
		for (size_t i = 0; i < ARRAY_SIZE(expected_ops); i++) {
			struct homi_host *h = new_sim(NULL);
			struct homi_desired *d = desired(h, testbed_policy);
			struct homi_failpoints *fp = NULL;
			char spec[64];

			snprintf(spec, sizeof(spec), "%s#%u=%s", expected_ops[i], nth_of(i), kinds[kind]);
			ck_assert_int_eq(homi_failpoints_parse(spec, &fp, NULL), 0);
			char *before = homi_sim_snapshot(h);
			struct homi_apply_opts o = opts_for(fp);
			ck_assert_msg(apply(h, d, &o) == HOMI_APPLY_ROLLED_BACK, "%s", spec);
			char *after = homi_sim_snapshot(h);
			ck_assert_msg(streq(before, after), "%s: state not restored:\n%s\nvs\n%s", spec, before, after);
			ck_assert_int_eq(homi_sim_blocked(h), 0);
			/* nothing recorded as owned once everything is undone */
			char rec[256];
			snprintf(rec, sizeof(rec), "%s/state/owned/0000:01:00.0.json", tmpdir);
			ck_assert_msg(access(rec, F_OK) < 0, "%s: ownership record left", spec);
			free(before);
			free(after);
			homi_failpoints_free(fp);
			homi_desired_free(d);
			homi_host_free(h);
		}
}
END_TEST

START_TEST(crash_at_each_step_then_recover)
{
	for (size_t i = 0; i < ARRAY_SIZE(expected_ops); i++) {
		struct homi_host *h = new_sim(NULL);
		struct homi_desired *d = desired(h, testbed_policy);
		struct homi_failpoints *fp = NULL;
		struct homi_apply_result *res = NULL;
		char spec[64];

		snprintf(spec, sizeof(spec), "%s#%u=crash", expected_ops[i], nth_of(i));
		ck_assert_int_eq(homi_failpoints_parse(spec, &fp, NULL), 0);
		char *before = homi_sim_snapshot(h);
		struct homi_apply_opts o = opts_for(fp);
		ck_assert_int_eq(homi_apply(h, d, &o, &res, NULL), -ECANCELED);
		/* the next start: the journal is found and rolled back */
		o.failpoints = NULL;
		ck_assert_int_eq(homi_apply_recover(h, &o, &res), 1);
		ck_assert_msg(res->outcome == HOMI_APPLY_ROLLED_BACK, "%s", spec);
		homi_apply_result_free(res);
		char *after = homi_sim_snapshot(h);
		ck_assert_msg(streq(before, after), "%s: not restored:\n%s\nvs\n%s", spec, before, after);
		ck_assert_int_eq(homi_apply_recover(h, &o, &res), 0); /* journal gone */
		/* and the policy still converges */
		ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
		free(before);
		free(after);
		homi_failpoints_free(fp);
		homi_desired_free(d);
		homi_host_free(h);
		teardown();
		setup();
	}
}
END_TEST

/* Plans POLICY on a sim (tweaked) and returns the errors. */
static char *plan_errors(void (*tweak)(struct homi_sim_config *), const char *policy, bool force)
{
	struct homi_host *h = new_sim(tweak);
	struct homi_desired *d = desired(h, policy);
	struct homi_plan_opts po = { .force = force };
	char *err = NULL;
	struct homi_plan *p = plan(h, d, &po, &err);
	ck_assert_msg(!p, "a plan was made");
	homi_desired_free(d);
	homi_host_free(h);
	return err;
}

#define ONE_VF(extra) \
	"{\"homi-policy\": 1, " extra "\"devices\": [{\"match\": {\"pci\": \"0000:01:00.0\"}, \"vfs\": ["

START_TEST(infeasible)
{
	char *e;

	e = plan_errors(NULL, ONE_VF("") "{\"vf\": 1, \"driver\": \"nvme\", \"vq\": 3, \"vi\": 1}]}]}", false);
	ck_assert_str_eq(e, "0000:01:00.0: VF 1: vq 3 is more than the 2 VQ resources a VF may have (VQFRSM) "
			    "(test.json: $.devices[0].vfs[0])");
	free(e);
	e = plan_errors(NULL, ONE_VF("") "{\"vf\": 1, \"driver\": \"nvme\"}]}]}", false);
	ck_assert_str_eq(e, "0000:01:00.0: VF 1: driver nvme needs an online VF: give vq and vi "
			    "(test.json: $.devices[0].vfs[0])");
	free(e);
	e = plan_errors(NULL, ONE_VF("") "{\"vf\": 1, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1, \"namespaces\": [7]}]}]}",
			false);
	ck_assert_str_eq(e, "0000:01:00.0: VF 1: namespace 7 does not exist on this controller "
			    "(test.json: $.devices[0].vfs[0])");
	free(e);
}
END_TEST

static void fixed(struct homi_sim_config *c) { c->pfs[0].fixed = true; }
static void primary_holds(struct homi_sim_config *c)
{
	c->pfs[0].vqrfap = 6; /* the primary keeps 6 of the 8 flexible VQ */
	c->pfs[0].virfap = 2;
}
static void mounted(struct homi_sim_config *c) { c->root_fs_on = NULL; }

/* A glob that selects a protected PF passes over it; the plan says so
 * (an operator must not read "Nothing to do" as "provisioned"), and a plan
 * for another PF only does not. */
START_TEST(plan_notes_a_protected_pf)
{
	struct homi_host *h = new_sim(NULL);
	struct homi_desired *d = desired(h, "{\"homi-policy\": 1, \"protect\": [\"01:00.0\"], \"devices\": ["
					    "{\"match\": {\"pci\": \"0000:*\"}, \"vfs\": [{\"vf\": 1}]}]}");
	struct homi_plan *p = plan(h, d, NULL, NULL);

	ck_assert_int_eq(p->n_steps, 0);
	ck_assert_int_eq(p->n_notes, 1);
	ck_assert_str_eq(p->notes[0], "0000:01:00.0: passed over: test.json: $.devices[0].match selects it, but it is "
				      "protected (test.json: $.protect[0])");
	json_t *j = homi_plan_to_json(p);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "notes"), 0)), p->notes[0]);
	json_decref(j);
	homi_plan_free(p);
	struct homi_plan_opts other = { .only_pf = "0000:02:00.0" };
	p = plan(h, d, &other, NULL);
	ck_assert_int_eq(p->n_notes, 0);
	homi_plan_free(p);
	/* the apply's document carries it too (homictl prints it through homid) */
	struct homi_apply_result *res = NULL;
	struct homi_apply_opts o = opts_for(NULL);
	ck_assert_int_eq(homi_apply(h, d, &o, &res, NULL), 0);
	ck_assert_int_eq(res->outcome, HOMI_APPLY_NOTHING_TO_DO);
	j = homi_apply_result_to_json(res);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "notes"), 0)),
			 "0000:01:00.0: passed over: test.json: $.devices[0].match selects it, but it is protected "
			 "(test.json: $.protect[0])");
	json_decref(j);
	homi_apply_result_free(res);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

START_TEST(fixed_resources)
{
	char *e = plan_errors(fixed, ONE_VF("") "{\"vf\": 1, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1}]}]}", false);
	ck_assert_ptr_nonnull(strstr(e, "VF 1: vq and vi given, but the controller's VF resources are fixed"));
	free(e);
	/* without vq/vi it only enables and binds: no assign, no online */
	struct homi_host *h = new_sim(fixed);
	struct homi_desired *d = desired(h, ONE_VF("") "{\"vf\": 2, \"driver\": \"vfio-pci\"}]}]}");
	struct homi_plan *p = plan(h, d, NULL, NULL);
	ck_assert_int_eq(p->n_steps, 3);
	ck_assert_str_eq(homi_op_name(p->steps[0].op), "set-autoprobe");
	ck_assert_str_eq(homi_op_name(p->steps[1].op), "enable-vfs");
	ck_assert_str_eq(homi_op_name(p->steps[2].op), "bind");
	ck_assert_str_eq(p->steps[2].vf_pci, "0000:01:00.2");
	homi_plan_free(p);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

START_TEST(primary_flexible_allocation)
{
	static const char policy[] = ONE_VF("") "{\"vf\": 1, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1},"
					       "{\"vf\": 2, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1},"
					       "{\"vf\": 3, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1}]}]}";
	char *e = plan_errors(primary_holds, policy, false);
	ck_assert_ptr_nonnull(strstr(e, "takes effect only with a function-level reset of the PF, which the policy does "
					"not allow (set \"allow-pf-reset\": true)"));
	free(e);

	char allowed[sizeof(policy) + 64];
	snprintf(allowed, sizeof(allowed), "%s", policy);
	char *at = strstr(allowed, "\"vfs\"");
	memmove(at + 24, at, strlen(at) + 1);
	memcpy(at, "\"allow-pf-reset\": true, ", 24);
	struct homi_host *h = new_sim(primary_holds);
	struct homi_desired *d = desired(h, allowed);
	struct homi_plan *p = plan(h, d, NULL, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(homi_op_name(p->steps[0].op), "primary-flex");
	ck_assert_int_eq(p->steps[0].count, 2); /* 8 - 3 x 2 */
	ck_assert_str_eq(homi_op_name(p->steps[1].op), "primary-flex");
	ck_assert_int_eq(p->steps[1].count, 1); /* 4 - 3 x 1 */
	ck_assert_str_eq(homi_op_name(p->steps[2].op), "reset-pf");
	homi_plan_free(p);
	struct homi_apply_opts o = opts_for(NULL);
	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	ck_assert_int_eq(h->counters.resets, 1);
	char *snap = homi_sim_snapshot(h);
	ck_assert_ptr_nonnull(strstr(snap, "vqrfap=2 virfap=1"));
	free(snap);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

START_TEST(in_use_refusals)
{
	struct homi_host *h = new_sim(mounted);
	struct homi_desired *d = desired(h, testbed_policy);
	struct homi_apply_opts o = opts_for(NULL);
	char *err = NULL;

	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	homi_desired_free(d);
	/* three VFs now: the count changes, VF 1 is open through vfio */
	ck_assert_int_eq(homi_sim_set_vfio_open(h, "0000:01:00.1", true), 0);
	d = desired(h, ONE_VF("") "{\"vf\": 3}]}]}");
	struct homi_plan_opts force = { .force = true };
	struct homi_plan *p = plan(h, d, &force, &err);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(err, "0000:01:00.0: VF 1 (0000:01:00.1) is in use: pid 4242 (simulated) holds it "
					  "open through vfio; changing the VF count would block in the kernel until it "
					  "is released (--force does not override this)"));
	free(err);
	ck_assert_int_eq(homi_sim_blocked(h), 0);
	/* an nvme VF with a mounted namespace: refused, unless --force */
	ck_assert_int_eq(homi_sim_set_vfio_open(h, "0000:01:00.1", false), 0);
	ck_assert_int_eq(homi_sim_set_mounted(h, "0000:01:00.2", 1, true), 0);
	p = plan(h, d, NULL, &err);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(err, "VF 2 (0000:01:00.2) is in use: a namespace of it is mounted (simulated)"));
	free(err);
	p = plan(h, d, &force, NULL);
	ck_assert_ptr_nonnull(p);
	homi_plan_free(p);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

START_TEST(mounted_rw_refusal)
{
	static const char rw[] = ONE_VF("") "{\"vf\": 1, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, \"namespaces\": [1]}]}]}";
	struct homi_host *h = new_sim(NULL);
	ck_assert_int_eq(homi_sim_set_mounted(h, "0000:01:00.0", 1, true), 0);
	struct homi_desired *d = desired(h, rw);
	char *err = NULL;
	struct homi_plan *p = plan(h, d, NULL, &err);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(err, "VF 1: namespace 1 is in use by the kernel (namespace 1 is mounted (simulated)); "
					  "a second writer through vfio-pci destroys file systems"));
	free(err);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

START_TEST(teardown_to_recorded_state)
{
	struct homi_host *h = new_sim(NULL);
	char *before = homi_sim_snapshot(h);
	struct homi_desired *d = desired(h, testbed_policy);
	struct homi_apply_opts o = opts_for(NULL);

	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	homi_desired_free(d);
	/* no policy matches any more: back to the recorded state */
	d = desired(h, "{\"homi-policy\": 1, \"devices\": []}");
	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	char *after = homi_sim_snapshot(h);
	ck_assert_str_eq(before, after);
	char rec[256];
	snprintf(rec, sizeof(rec), "%s/state/owned/0000:01:00.0.json", tmpdir);
	ck_assert_int_eq(access(rec, F_OK), -1); /* released once restored */
	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_NOTHING_TO_DO);
	free(before);
	free(after);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

START_TEST(drift_after_controller_reset)
{
	struct homi_host *h = new_sim(NULL);
	struct homi_desired *d = desired(h, testbed_policy);
	struct homi_apply_opts o = opts_for(NULL);

	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	char *good = homi_sim_snapshot(h);
	/* error recovery resets the PF controller: every secondary offline */
	ck_assert_int_eq(homi_sim_controller_reset(h, "0000:01:00.0"), 0);
	char *reset = homi_sim_snapshot(h);
	ck_assert_ptr_nonnull(strstr(reset, "vf 0000:01:00.1 driver=vfio-pci")); /* vfio-pci keeps it */
	ck_assert_ptr_nonnull(strstr(reset, "vf 0000:01:00.2 driver= override=nvme")); /* nvme let it go */
	free(reset);
	struct homi_plan *p = plan(h, d, NULL, NULL);
	ck_assert_int_gt(p->n_steps, 0);
	ck_assert_str_eq(homi_op_name(p->steps[0].op), "unbind"); /* VF 1 leaves vfio-pci before its controller changes */
	homi_plan_free(p);
	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	char *again = homi_sim_snapshot(h);
	ck_assert_str_eq(good, again);
	free(good);
	free(again);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

/* Applies D with fail point SPEC (errno/nvme) and returns the outcome. */
static enum homi_apply_outcome apply_failing(struct homi_host *h, const struct homi_desired *d, const char *spec)
{
	struct homi_failpoints *fp = NULL;

	ck_assert_int_eq(homi_failpoints_parse(spec, &fp, NULL), 0);
	struct homi_apply_opts o = opts_for(fp);
	enum homi_apply_outcome out = apply(h, d, &o);
	homi_failpoints_free(fp);
	return out;
}

/* Crashes an apply of D after SPEC's op, then recovers; the recovery's outcome. */
static enum homi_apply_outcome crash_and_recover(struct homi_host *h, const struct homi_desired *d, const char *spec)
{
	struct homi_failpoints *fp = NULL;
	struct homi_apply_result *res = NULL;

	ck_assert_int_eq(homi_failpoints_parse(spec, &fp, NULL), 0);
	struct homi_apply_opts o = opts_for(fp);
	ck_assert_int_eq(homi_apply(h, d, &o, &res, NULL), -ECANCELED);
	homi_failpoints_free(fp);
	o.failpoints = NULL;
	ck_assert_int_eq(homi_apply_recover(h, &o, &res), 1);
	enum homi_apply_outcome out = res->outcome;
	homi_apply_result_free(res);
	return out;
}

/* A repair after a controller reset unbinds the vfio VF, whose
 * /dev/vfio node then goes; a rollback binds it again and must give the
 * node back the policy's owner and mode, not udev's root 0600. */
START_TEST(rollback_restores_vfio_node)
{
	struct homi_host *h = new_sim(NULL);
	struct homi_desired *d = desired(h, testbed_policy);
	struct homi_apply_opts o = opts_for(NULL);

	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	ck_assert_int_eq(homi_sim_controller_reset(h, "0000:01:00.0"), 0);
	char *drifted = homi_sim_snapshot(h);
	ck_assert_ptr_nonnull(strstr(drifted, "node /dev/vfio/4 1000:990 0660"));
	ck_assert_int_eq(apply_failing(h, d, "assign=errno:EIO"), HOMI_APPLY_ROLLED_BACK);
	char *after = homi_sim_snapshot(h);
	ck_assert_str_eq(drifted, after);
	free(drifted);
	free(after);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

/* A teardown that fails after disabling the VFs: the rollback enables
 * them again with their namespaces, drivers, overrides and /dev/vfio
 * ownership, all of which went with them; the same after a crash. */
START_TEST(teardown_rollback_restores_vfs)
{
	static const char *const specs[] = { "set-autoprobe=errno:EACCES", "disable-vfs=crash" };
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		struct homi_host *h = new_sim(NULL);
		struct homi_desired *d = desired(h, testbed_policy);
		struct homi_apply_opts o = opts_for(NULL);

		ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
		homi_desired_free(d);
		char *applied = homi_sim_snapshot(h);
		d = desired(h, "{\"homi-policy\": 1, \"devices\": []}");
		enum homi_apply_outcome out = strstr(specs[i], "crash") ? crash_and_recover(h, d, specs[i])
									 : apply_failing(h, d, specs[i]);
		ck_assert_msg(out == HOMI_APPLY_ROLLED_BACK, "%s: %s", specs[i], homi_apply_outcome_name(out));
		char *after = homi_sim_snapshot(h);
		ck_assert_msg(streq(applied, after), "%s: not restored:\n%s\nvs\n%s", specs[i], applied, after);
		free(applied);
		free(after);
		homi_desired_free(d);
		homi_host_free(h);
		teardown();
		setup();
	}
}
END_TEST

/* The step that fails may have done nothing: its undo finds its effect
 * already there (an online secondary) and must not fail on it. */
START_TEST(rollback_of_a_step_that_did_nothing)
{
	struct homi_host *h = new_sim(NULL);
	struct homi_desired *d = desired(h, testbed_policy);
	struct homi_apply_opts o = opts_for(NULL);

	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	homi_desired_free(d);
	char *applied = homi_sim_snapshot(h);
	d = desired(h, "{\"homi-policy\": 1, \"devices\": []}");
	ck_assert_int_eq(apply_failing(h, d, "secondary-offline=nvme:0x411f"), HOMI_APPLY_ROLLED_BACK);
	char *after = homi_sim_snapshot(h);
	ck_assert_str_eq(applied, after);
	free(applied);
	free(after);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

/* Recovery undoes what the journal says is left ("next"), and forgets the
 * ownership the interrupted run recorded once everything is undone. */
START_TEST(recovery_forgets_ownership_and_honours_next)
{
	struct homi_host *h = new_sim(NULL);
	struct homi_desired *d = desired(h, testbed_policy);
	char rec[256], journal[256];

	snprintf(rec, sizeof(rec), "%s/state/owned/0000:01:00.0.json", tmpdir);
	snprintf(journal, sizeof(journal), "%s/run/journal.json", tmpdir);
	ck_assert_int_eq(crash_and_recover(h, d, "bind=crash"), HOMI_APPLY_ROLLED_BACK);
	ck_assert_msg(access(rec, F_OK) < 0, "ownership record left after recovery");

	/* a rollback that had undone everything when it was interrupted */
	struct homi_failpoints *fp = NULL;
	struct homi_apply_result *res = NULL;
	ck_assert_int_eq(homi_failpoints_parse("enable-vfs=crash", &fp, NULL), 0);
	struct homi_apply_opts o = opts_for(fp);
	ck_assert_int_eq(homi_apply(h, d, &o, &res, NULL), -ECANCELED);
	json_t *j = json_load_file(journal, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "next")), 2);
	json_object_set_new(j, "next", json_integer(0));
	ck_assert_int_eq(json_dump_file(j, journal, 0), 0);
	json_decref(j);
	char *crashed = homi_sim_snapshot(h);
	o.failpoints = NULL;
	ck_assert_int_eq(homi_apply_recover(h, &o, &res), 1);
	homi_apply_result_free(res);
	char *after = homi_sim_snapshot(h);
	ck_assert_str_eq(crashed, after); /* nothing undone twice */
	ck_assert_int_eq(access(journal, F_OK), -1);
	free(crashed);
	free(after);
	homi_failpoints_free(fp);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

/* The journal drives writes at the next start: a step that names a path
 * instead of a function or a driver is refused, and nothing is written. */
START_TEST(recovery_refuses_a_forged_journal)
{
	static const char *const forged[] = {
		"{\"op\": \"unbind\", \"pf\": \"0000:01:00.0\", \"vf-pci\": \"0000:01:00.1\", \"driver\": \"../../../..\"}",
		"{\"op\": \"bind\", \"pf\": \"0000:01:00.0\", \"vf-pci\": \"../../../etc\", \"driver\": \"nvme\"}",
		"{\"op\": \"enable-vfs\", \"pf\": \"-001:01:00.0\", \"count\": 4}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(forged); i++) {
		struct homi_host *h = new_sim(NULL);
		struct homi_apply_opts o = opts_for(NULL);
		struct homi_apply_result *res = NULL;
		char path[256], text[512];

		snprintf(path, sizeof(path), "%s/run", tmpdir);
		ck_assert_int_eq(homi_mkdir_p(path, 0755), 0);
		snprintf(text, sizeof(text),
			 "{\"homi-journal\": 1, \"steps\": [{\"op\": \"set-autoprobe\", \"pf\": \"0000:01:00.0\", \"value\": 0}],"
			 " \"next\": 1, \"undo\": [[%s]]}", forged[i]);
		ck_assert_int_eq(homi_write_file_atomic(path, "journal.json", text, 0600), 0);
		char *before = homi_sim_snapshot(h);
		ck_assert_msg(homi_apply_recover(h, &o, &res) == -EBADMSG, "%s accepted", forged[i]);
		ck_assert_int_eq(h->counters.sysfs_writes, 0);
		char *after = homi_sim_snapshot(h);
		ck_assert_str_eq(before, after);
		free(before);
		free(after);
		homi_host_free(h);
	}
}
END_TEST

/* An undo step that fails: the rollback goes on with the older steps, the
 * result names the step not undone, the ownership record and nothing else
 * stays (no journal to replay), and a teardown gives the PF back. */
START_TEST(undo_failure_is_reported_and_recorded)
{
	struct homi_host *h = new_sim(NULL);
	struct homi_desired *d = desired(h, testbed_policy);
	struct homi_failpoints *fp = NULL;
	struct homi_apply_result *res = NULL;
	char rec[256], journal[256];

	snprintf(rec, sizeof(rec), "%s/state/owned/0000:01:00.0.json", tmpdir);
	snprintf(journal, sizeof(journal), "%s/run/journal.json", tmpdir);
	char *before = homi_sim_snapshot(h);
	/* the last step fails; the undo of the first (autoprobe back on) too */
	ck_assert_int_eq(homi_failpoints_parse("bind#2=errno:EIO,undo:set-autoprobe=errno:EACCES", &fp, NULL), 0);
	struct homi_apply_opts o = opts_for(fp);
	ck_assert_int_eq(homi_apply(h, d, &o, &res, NULL), 0);
	ck_assert_int_eq(res->outcome, HOMI_APPLY_FAILED);
	ck_assert_uint_eq(res->n_not_undone, 1);
	ck_assert_str_eq(homi_op_name(res->not_undone[0].op), "set-autoprobe");
	ck_assert_ptr_nonnull(strstr(res->not_undone_why[0], strerror(EACCES)));
	for (size_t i = 0; i < res->n_steps; i++)
		ck_assert_int_eq(res->steps[i].undone, res->steps[i].step.op != HOMI_OP_SET_AUTOPROBE);
	homi_apply_result_free(res);
	char *after = homi_sim_snapshot(h);
	ck_assert_ptr_nonnull(strstr(after, "numvfs=0 autoprobe=0")); /* the one thing left */
	ck_assert_int_eq(access(rec, F_OK), 0);
	ck_assert_int_eq(access(journal, F_OK), -1);
	/* the undo steps were counted, not the forward ones */
	bool undo = false;
	unsigned nth = 0;
	size_t n_undo = 0;
	for (size_t i = 0; homi_failpoints_executed(fp, i, &undo, &nth); i++)
		n_undo += undo;
	ck_assert_uint_gt(n_undo, 5);
	homi_failpoints_free(fp);
	homi_desired_free(d);
	/* nothing lost: the teardown restores the recorded state */
	d = desired(h, "{\"homi-policy\": 1, \"devices\": []}");
	o = opts_for(NULL);
	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	free(after);
	after = homi_sim_snapshot(h);
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(access(rec, F_OK), -1);
	free(before);
	free(after);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

/* A crash right after an undo step, in homi_apply's rollback and in the
 * one recovery runs: the journal says how far it got, the next recovery
 * finishes it, without running an undo step twice. */
START_TEST(undo_crash_then_recover)
{
	static const char *const specs[] = {
		"bind#2=errno:EIO,undo:unbind=crash",           /* the first undo step, in the apply's rollback */
		"bind#2=errno:EIO,undo:secondary-offline#2=crash", /* one in the middle */
		"bind#2=crash,undo:detach-ns#2=crash",          /* in the rollback recovery runs */
		"bind#2=errno:EIO,undo:set-autoprobe=crash",    /* the last undo step */
	};
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		struct homi_host *h = new_sim(NULL);
		struct homi_desired *d = desired(h, testbed_policy);
		struct homi_failpoints *fp = NULL;
		struct homi_apply_result *res = NULL;
		bool fwd_crash = strstr(specs[i], "bind#2=crash") != NULL;

		ck_assert_int_eq(homi_failpoints_parse(specs[i], &fp, NULL), 0);
		char *before = homi_sim_snapshot(h);
		struct homi_apply_opts o = opts_for(fp);
		ck_assert_int_eq(homi_apply(h, d, &o, &res, NULL), -ECANCELED);
		if (fwd_crash)
			ck_assert_msg(homi_apply_recover(h, &o, &res) == -ECANCELED, "%s: no crash in recovery", specs[i]);
		o.failpoints = NULL;
		ck_assert_int_eq(homi_apply_recover(h, &o, &res), 1);
		ck_assert_msg(res->outcome == HOMI_APPLY_ROLLED_BACK, "%s: %s", specs[i],
			      res->n_not_undone ? res->not_undone_why[0] : "");
		homi_apply_result_free(res);
		char *after = homi_sim_snapshot(h);
		ck_assert_msg(streq(before, after), "%s: not restored:\n%s\nvs\n%s", specs[i], before, after);
		ck_assert_int_eq(homi_apply_recover(h, &o, &res), 0); /* journal gone */
		ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
		free(before);
		free(after);
		homi_failpoints_free(fp);
		homi_desired_free(d);
		homi_host_free(h);
		teardown();
		setup();
	}
}
END_TEST

/* The testbed policy where the primary holds resources the VFs need. */
static const char testbed_policy_reset[] =
	"{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"0000:01:00.0\"}, \"allow-pf-reset\": true, \"vfs\": ["
	"{\"vf\": 1, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, \"namespaces\": [{\"nsid\": 1, \"access\": \"ro\"}],"
	" \"owner\": \"user\", \"group\": \"homi-admin\", \"mode\": \"0660\"},"
	"{\"vf\": 2, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1, \"namespaces\": [1]}]}]}";

/* The journal records each undo step done ("done"): recovery resumes after
 * the last one, and runs none of them again. */
START_TEST(recovery_honours_done)
{
	struct homi_host *h = new_sim(primary_holds);
	struct homi_desired *d = desired(h, testbed_policy_reset);
	struct homi_failpoints *fp = NULL;
	struct homi_apply_result *res = NULL;
	char journal[256];

	snprintf(journal, sizeof(journal), "%s/run/journal.json", tmpdir);
	char *before = homi_sim_snapshot(h);
	/* primary-flex, reset-pf, set-autoprobe (fails); the undo of the
	 * primary-flex is primary-flex, reset-pf: a crash between the two */
	ck_assert_int_eq(homi_failpoints_parse("set-autoprobe=errno:EACCES,undo:primary-flex=crash", &fp, NULL), 0);
	struct homi_apply_opts o = opts_for(fp);
	ck_assert_int_eq(homi_apply(h, d, &o, &res, NULL), -ECANCELED);
	json_t *j = json_load_file(journal, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "next")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "done")), 1);
	json_decref(j);
	unsigned admin = h->counters.admin_writes, resets = h->counters.resets;
	o.failpoints = NULL;
	ck_assert_int_eq(homi_apply_recover(h, &o, &res), 1);
	ck_assert_int_eq(res->outcome, HOMI_APPLY_ROLLED_BACK);
	homi_apply_result_free(res);
	ck_assert_uint_eq(h->counters.admin_writes, admin); /* the primary-flex not again */
	ck_assert_uint_eq(h->counters.resets, resets + 1);
	char *after = homi_sim_snapshot(h);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	homi_failpoints_free(fp);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

/* A primary-flex whose undo fails before a reset leaves an allocation
 * staged for the next reset, which Identify does not show: the record says
 * so, and the teardown stages the recorded allocation again. */
START_TEST(undo_failure_of_primary_flex_is_restaged)
{
	struct homi_host *h = new_sim(primary_holds);
	struct homi_desired *d = desired(h, testbed_policy_reset);
	struct homi_failpoints *fp = NULL;
	struct homi_owned_set *set = NULL;
	char state[256], rec[300];

	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(rec, sizeof(rec), "%s/owned/0000:01:00.0.json", state);
	char *before = homi_sim_snapshot(h);
	ck_assert_int_eq(homi_failpoints_parse("reset-pf=errno:ETIMEDOUT,undo:primary-flex=errno:EIO", &fp, NULL), 0);
	struct homi_apply_opts o = opts_for(fp);
	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_FAILED);
	homi_failpoints_free(fp);
	char *after = homi_sim_snapshot(h);
	ck_assert_ptr_nonnull(strstr(after, "vqrfap=6 virfap=2 staged=4/2")); /* invisible to Identify */
	ck_assert_int_eq(homi_state_load(state, &set), 0);
	ck_assert_uint_eq(set->n, 1);
	ck_assert(set->items[0].restage_primary);
	ck_assert_int_eq(set->items[0].vq_primary, 6);
	set = homi_owned_set_free(set);
	homi_desired_free(d);
	/* the teardown stages 6 again; no reset is needed, nor in its rollback */
	d = desired(h, "{\"homi-policy\": 1, \"devices\": []}");
	unsigned resets = h->counters.resets;
	ck_assert_int_eq(apply_failing(h, d, "primary-flex#2=errno:EIO"), HOMI_APPLY_ROLLED_BACK);
	ck_assert_uint_eq(h->counters.resets, resets);
	o = opts_for(NULL);
	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_APPLIED);
	ck_assert_uint_eq(h->counters.resets, resets);
	free(after);
	after = homi_sim_snapshot(h);
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(access(rec, F_OK), -1);
	ck_assert_int_eq(apply(h, d, &o), HOMI_APPLY_NOTHING_TO_DO);
	free(before);
	free(after);
	homi_desired_free(d);
	homi_host_free(h);
}
END_TEST

/* The flag survives a record's round trip; records without it load as before. */
START_TEST(restage_flag_in_the_record)
{
	struct homi_owned rec = { .pci = "0000:01:00.0", .num_vfs = 0, .autoprobe = 1, .vq_primary = 6,
				  .vi_primary = 2, .restage_primary = true };
	struct homi_owned_set *set = NULL;
	char state[256];

	snprintf(state, sizeof(state), "%s/state", tmpdir);
	ck_assert_int_eq(homi_state_record(state, &rec), 0);
	ck_assert_int_eq(homi_state_load(state, &set), 0);
	ck_assert(set->items[0].restage_primary);
	set = homi_owned_set_free(set);
	rec.restage_primary = false;
	ck_assert_int_eq(homi_state_record(state, &rec), 0);
	ck_assert_int_eq(homi_state_load(state, &set), 0);
	ck_assert(!set->items[0].restage_primary);
	homi_owned_set_free(set);
}
END_TEST

START_TEST(failpoint_spec)
{
	struct homi_failpoints *fp = NULL;
	char *err = NULL;

	ck_assert_int_eq(homi_failpoints_parse("bind#2=errno:EBUSY,assign=nvme:0x4120,reset-pf=crash", &fp, &err), 0);
	ck_assert_int_eq(homi_failpoints_hit(fp, "bind").action, HOMI_FP_NONE);
	struct homi_fp_hit hit = homi_failpoints_hit(fp, "bind");
	ck_assert_int_eq(hit.action, HOMI_FP_ERRNO);
	ck_assert_int_eq(hit.value, EBUSY);
	hit = homi_failpoints_hit(fp, "assign");
	ck_assert_int_eq(hit.action, HOMI_FP_NVME);
	ck_assert_int_eq(hit.value, 0x4120);
	ck_assert_int_eq(homi_failpoints_hit(fp, "reset-pf").action, HOMI_FP_CRASH);
	homi_failpoints_free(fp);
	ck_assert_int_eq(homi_failpoints_parse("enable-vfs=sleep:250", &fp, &err), 0);
	hit = homi_failpoints_hit(fp, "enable-vfs");
	ck_assert_int_eq(hit.action, HOMI_FP_SLEEP);
	ck_assert_int_eq(hit.value, 250);
	homi_failpoints_free(fp);
	ck_assert_int_eq(homi_failpoints_parse("undo:unbind=sleep:5", &fp, &err), 0);
	ck_assert_int_eq(homi_failpoints_hit(fp, "unbind").action, HOMI_FP_NONE);
	hit = homi_failpoints_hit_undo(fp, "unbind");
	ck_assert_int_eq(hit.action, HOMI_FP_SLEEP);
	ck_assert_int_eq(hit.value, 5);
	homi_failpoints_free(fp);
	ck_assert_int_eq(homi_failpoints_parse("bind=sleep:0", &fp, &err), -EINVAL);
	free(err);
	ck_assert_int_eq(homi_failpoints_parse("bind=sleep:60001", &fp, &err), -EINVAL);
	free(err);
	/* undo: entries count undo steps only, plain ones forward steps only */
	ck_assert_int_eq(homi_failpoints_parse("bind=errno:EIO,undo:bind#2=crash,undo:unbind=nvme:0x4006", &fp, &err), 0);
	ck_assert_int_eq(homi_failpoints_hit_undo(fp, "bind").action, HOMI_FP_NONE);
	ck_assert_int_eq(homi_failpoints_hit(fp, "bind").action, HOMI_FP_ERRNO);
	ck_assert_int_eq(homi_failpoints_hit_undo(fp, "bind").action, HOMI_FP_CRASH);
	ck_assert_int_eq(homi_failpoints_hit(fp, "unbind").action, HOMI_FP_NONE);
	hit = homi_failpoints_hit_undo(fp, "unbind");
	ck_assert_int_eq(hit.action, HOMI_FP_NVME);
	ck_assert_int_eq(hit.value, 0x4006);
	/* what was counted, in order */
	static const struct { const char *op; bool undo; unsigned nth; } log[] = {
		{ "bind", true, 1 }, { "bind", false, 1 }, { "bind", true, 2 }, { "unbind", false, 1 }, { "unbind", true, 1 },
	};
	for (size_t i = 0; i <= ARRAY_SIZE(log); i++) {
		bool undo = false;
		unsigned nth = 0;
		const char *op = homi_failpoints_executed(fp, i, &undo, &nth);
		if (i == ARRAY_SIZE(log)) {
			ck_assert_ptr_null(op);
			break;
		}
		ck_assert_str_eq(op, log[i].op);
		ck_assert_int_eq(undo, log[i].undo);
		ck_assert_uint_eq(nth, log[i].nth);
	}
	homi_failpoints_free(fp);
	static const char *const bad[] = { "undo:=crash", "undo:bind", "undo:#2=crash", "undo:bind#0=crash",
					   "undo:bind=errno:EWHAT" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(homi_failpoints_parse(bad[i], &fp, &err) == -EINVAL, "%s accepted", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "expected [undo:]op[#n]="));
		free(err);
		err = NULL;
	}
	ck_assert_int_eq(homi_failpoints_parse("bind=errno:EWHAT", &fp, &err), -EINVAL);
	ck_assert_str_eq(err, "HOMI_FAILPOINTS: 'bind=errno:EWHAT': expected [undo:]op[#n]=errno:NAME|nvme:STATUS|crash|sleep:MS");
	free(err);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("apply");
	TCase *tc = tcase_create("sim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, plan_order);
	tcase_add_test(tc, plan_notes_a_protected_pf);
	tcase_add_test(tc, apply_and_idempotence);
	tcase_add_test(tc, rollback_at_each_step);
	tcase_add_test(tc, crash_at_each_step_then_recover);
	tcase_add_test(tc, infeasible);
	tcase_add_test(tc, fixed_resources);
	tcase_add_test(tc, primary_flexible_allocation);
	tcase_add_test(tc, in_use_refusals);
	tcase_add_test(tc, mounted_rw_refusal);
	tcase_add_test(tc, teardown_to_recorded_state);
	tcase_add_test(tc, drift_after_controller_reset);
	tcase_add_test(tc, failpoint_spec);
	tcase_add_test(tc, undo_failure_is_reported_and_recorded);
	tcase_add_test(tc, undo_crash_then_recover);
	tcase_add_test(tc, recovery_honours_done);
	tcase_add_test(tc, undo_failure_of_primary_flex_is_restaged);
	tcase_add_test(tc, restage_flag_in_the_record);
	tcase_add_test(tc, rollback_restores_vfio_node);
	tcase_add_test(tc, teardown_rollback_restores_vfs);
	tcase_add_test(tc, rollback_of_a_step_that_did_nothing);
	tcase_add_test(tc, recovery_forgets_ownership_and_honours_next);
	tcase_add_test(tc, recovery_refuses_a_forged_journal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite(), CK_NORMAL);
}
