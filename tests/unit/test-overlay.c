/* SPDX-License-Identifier: MIT */
/* The overlay of imperative changes: edits, persistence (state vs run
 * directory), and the merge on top of the policies. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-run.h"
#include "host-sim.h"
#include "imperative.h"
#include "macro.h"
#include "overlay.h"
#include "policy.h"

static const char policy[] =
	"{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"0000:01:00.0\"}, \"vfs\": ["
	"{\"vf\": 1, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, \"namespaces\": [{\"nsid\": 1, \"access\": \"ro\"}],"
	" \"owner\": \"user\", \"mode\": \"0660\"}]}]}";

static char dir[64];
static struct homi_host *host;
static struct homi_topology *topo;

static void setup(void)
{
	struct homi_sim_config c;

	snprintf(dir, sizeof(dir), "/tmp/homi-overlay-XXXXXX");
	ck_assert(mkdtemp(dir));
	homi_sim_config_testbed(&c);
	ck_assert_int_eq(homi_host_sim(&c, &host), 0);
	ck_assert_int_eq(host->ops->topology(host, &topo), 0);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	homi_topology_free(topo);
	homi_host_free(host);
}

static struct homi_desired *resolve(const char *json)
{
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d = NULL;
	ck_assert_int_eq(homi_policy_add_buffer(p, "p.json", json, strlen(json), NULL), 0);
	ck_assert_int_eq(homi_policy_resolve(p, topo, &d, NULL), 0);
	homi_policy_free(p);
	return d;
}

START_TEST(assign_keeps_policy_settings)
{
	struct homi_desired *base = resolve(policy), *d = resolve(policy);
	struct homi_overlay o = { 0 };
	struct homi_change c = { .op = HOMI_CHANGE_VF_ASSIGN, .pf = "0000:01:00.0", .vf = 1,
				 .driver = HOMI_VF_DRIVER_VFIO, .vq = -1, .vi = -1, .origin = "test" };

	/* only the driver changes: resources, namespace and owner stay */
	ck_assert_int_eq(homi_change_edit(&o, base, &c, NULL), 0);
	const struct homi_overlay_entry *e = homi_overlay_find(&o, "0000:01:00.0", 1);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->vf.vq, 2);
	ck_assert_int_eq(e->vf.n_ns, 1);
	ck_assert(e->vf.ns[0].read_only);
	ck_assert_str_eq(e->vf.owner, "user");
	/* to nvme: ownership of /dev/vfio goes */
	c.driver = HOMI_VF_DRIVER_NVME;
	ck_assert_int_eq(homi_change_edit(&o, base, &c, NULL), 0);
	e = homi_overlay_find(&o, "0000:01:00.0", 1);
	ck_assert_ptr_null(e->vf.owner);
	ck_assert_int_eq(e->vf.mode, -1);
	ck_assert_int_eq(o.n, 1);
	/* a new VF 3 with resources: the PF now wants 3 VFs */
	struct homi_change c3 = { .op = HOMI_CHANGE_VF_ASSIGN, .pf = "0000:01:00.0", .vf = 3,
				  .driver = HOMI_VF_DRIVER_NVME, .vq = 2, .vi = 1, .origin = "test" };
	ck_assert_int_eq(homi_change_edit(&o, base, &c3, NULL), 0);
	ck_assert_int_eq(homi_overlay_merge(&o, topo, d, NULL), 0);
	const struct homi_want_pf *w = homi_desired_find(d, "0000:01:00.0");
	ck_assert_int_eq(w->num_vfs, 3);
	ck_assert_int_eq(w->n_vfs, 2);
	ck_assert_int_eq(homi_want_pf_find_vf(w, 1)->driver, HOMI_VF_DRIVER_NVME);
	ck_assert_int_eq(homi_want_pf_find_vf(w, 3)->vq, 2);
	ck_assert_str_eq(homi_want_pf_find_vf(w, 3)->origin, "test");
	homi_desired_free(d);
	homi_desired_free(base);
	for (size_t i = 0; i < o.n; i++)
		homi_want_vf_done(&o.entries[i].vf);
	free(o.entries);
}
END_TEST

START_TEST(namespaces_and_unassign)
{
	struct homi_desired *base = resolve(policy);
	struct homi_overlay *o = calloc(1, sizeof(*o));
	struct homi_change c = { .op = HOMI_CHANGE_NS_ATTACH, .pf = "0000:01:00.0", .vf = 1, .nsid = 2, .origin = "t" };
	char *err = NULL;

	ck_assert_int_eq(homi_change_edit(o, base, &c, NULL), 0);
	ck_assert_int_eq(homi_overlay_find(o, "0000:01:00.0", 1)->vf.n_ns, 2);
	c.op = HOMI_CHANGE_NS_DETACH;
	c.nsid = 1;
	ck_assert_int_eq(homi_change_edit(o, base, &c, NULL), 0);
	ck_assert_int_eq(homi_overlay_find(o, "0000:01:00.0", 1)->vf.n_ns, 1);
	ck_assert_int_eq(homi_overlay_find(o, "0000:01:00.0", 1)->vf.ns[0].nsid, 2);
	ck_assert_int_eq(homi_change_edit(o, base, &c, &err), -ENOENT);
	ck_assert_str_eq(err, "0000:01:00.0: namespace 1 is not given to VF 1");
	free(err);
	struct homi_change u = { .op = HOMI_CHANGE_VF_UNASSIGN, .pf = "0000:01:00.0", .vf = 1 };
	ck_assert_int_eq(homi_change_edit(o, base, &u, NULL), 0);
	ck_assert_int_eq(homi_change_edit(o, base, &u, &err), -ENOENT);
	ck_assert_str_eq(err, "0000:01:00.0: VF 1 has no imperative assignment to remove");
	free(err);
	homi_overlay_free(o);
	homi_desired_free(base);
}
END_TEST

START_TEST(persistence)
{
	char state[128], run[128], path[256];
	struct homi_overlay *o = calloc(1, sizeof(*o)), *back = NULL;
	struct homi_change c = { .op = HOMI_CHANGE_VF_ASSIGN, .pf = "0000:01:00.0", .vf = 2,
				 .driver = HOMI_VF_DRIVER_NVME, .vq = 2, .vi = 1, .origin = "homictl vf assign (uid 0)" };

	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	ck_assert_int_eq(homi_change_edit(o, NULL, &c, NULL), 0);
	c.vf = 4;
	c.runtime = true;
	ck_assert_int_eq(homi_change_edit(o, NULL, &c, NULL), 0);
	ck_assert_int_eq(homi_overlay_save(o, state, run), 0);
	/* a reboot empties the run directory: the runtime entry is gone */
	ck_assert_int_eq(homi_overlay_load(state, run, &back), 0);
	ck_assert_int_eq(back->n, 2);
	ck_assert(homi_overlay_find(back, "0000:01:00.0", 4)->runtime);
	ck_assert_str_eq(homi_overlay_find(back, "0000:01:00.0", 2)->vf.origin, "homictl vf assign (uid 0)");
	homi_overlay_free(back);
	snprintf(path, sizeof(path), "%s/overlay.json", run);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(homi_overlay_load(state, run, &back), 0);
	ck_assert_int_eq(back->n, 1);
	ck_assert_ptr_null(homi_overlay_find(back, "0000:01:00.0", 4));
	homi_overlay_free(back);
	homi_overlay_free(o);
}
END_TEST

START_TEST(merge_errors)
{
	struct homi_desired *d = resolve("{\"homi-policy\": 1, \"devices\": []}");
	struct homi_overlay *o = calloc(1, sizeof(*o));
	struct homi_change c = { .op = HOMI_CHANGE_VF_ASSIGN, .pf = "0000:00:01.0", .vf = 1,
				 .driver = HOMI_VF_DRIVER_NVME, .vq = 2, .vi = 1, .origin = "x" };
	char *err = NULL;

	ck_assert_int_eq(homi_change_edit(o, NULL, &c, NULL), 0);
	memcpy(c.pf, "0000:01:00.0", HOMI_ADDR_LEN);
	c.vf = 9;
	ck_assert_int_eq(homi_change_edit(o, NULL, &c, NULL), 0);
	ck_assert_int_eq(homi_overlay_merge(o, topo, d, &err), -EINVAL);
	ck_assert_str_eq(err, "0000:00:01.0: x: not an SR-IOV NVMe PF on this machine\n"
			      "0000:01:00.0: x: VF 9 is beyond sriov_totalvfs (4)");
	free(err);
	homi_overlay_free(o);
	homi_desired_free(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("overlay");
	TCase *tc = tcase_create("overlay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, assign_keeps_policy_settings);
	tcase_add_test(tc, namespaces_and_unassign);
	tcase_add_test(tc, persistence);
	tcase_add_test(tc, merge_errors);
	suite_add_tcase(s, tc);
	return check_run(s, CK_NORMAL);
}
