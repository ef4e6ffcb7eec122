/* SPDX-License-Identifier: MIT */
/* Harness: policy documents (homi_policy_add_buffer), resolved against two
 * fixed machines (the simulated testbed and GPU server) and planned there
 * (homi_observe + homi_plan_build: reads only, the simulated host is never
 * changed). An input with a line "---" holds two documents, merged in order.
 * Besides the sanitizers, it checks what resolution promises: every PF in
 * the desired state is an SR-IOV NVMe PF of the machine, named canonically,
 * and its VFs are sorted, unique and within num_vfs; every protected address
 * is canonical (one that is not protects nothing). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "host-sim.h"
#include "macro.h"
#include "pci.h"
#include "plan-json.h"
#include "plan.h"
#include "policy.h"

const char fuzz_target_name[] = "policy";

static bool canonical(const char *addr)
{
	char canon[HOMI_ADDR_LEN];
	return homi_pci_parse_addr(addr, canon) == 0 && streq(canon, addr);
}

static void check_desired(const struct homi_topology *t, const struct homi_desired *d)
{
	for (size_t i = 0; i < d->n_protect; i++)
		if (!canonical(d->protect[i]))
			abort(); /* a protect entry that can match nothing: protection silently lost */
	for (size_t i = 0; i < d->n_pfs; i++) {
		const struct homi_want_pf *w = &d->pfs[i];
		ssize_t k = homi_topology_find(t, w->pci);
		if (k < 0 || t->devices[k].kind != HOMI_KIND_NVME_PF || !canonical(w->pci))
			abort(); /* a policy selected something that is not a PF of this machine */
		for (size_t v = 0; v < w->n_vfs; v++)
			if (w->vfs[v].vf < 1 || w->vfs[v].vf > w->num_vfs || (v && w->vfs[v - 1].vf >= w->vfs[v].vf))
				abort();
	}
}

static void plan_on(struct homi_host *h, const struct homi_policy *p)
{
	struct homi_topology *t = NULL;
	struct homi_desired *d = NULL;
	struct homi_observed *o = NULL;
	struct homi_plan *plan = NULL;
	char *err = NULL;

	if (h->ops->topology(h, &t) < 0)
		abort();
	if (homi_policy_resolve(p, t, &d, &err) == 0) {
		check_desired(t, d);
		if (homi_observe(h, d, NULL, &o) == 0 && homi_plan_build(o, d, NULL, NULL, &plan, &err) == 0) {
			json_t *j = homi_plan_to_json(plan);
			free(json_dumps(j, JSON_COMPACT));
			json_decref(j);
		}
	}
	free(err);
	homi_plan_free(plan);
	homi_observed_free(o);
	homi_desired_free(d);
	homi_topology_free(t);
}

static struct homi_host *machine(int which)
{
	static struct homi_host *hosts[2];
	struct homi_sim_config c;

	if (!hosts[which]) {
		if (which)
			homi_sim_config_server(&c);
		else
			homi_sim_config_testbed(&c);
		if (homi_host_sim(&c, &hosts[which]) < 0)
			abort();
	}
	return hosts[which];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct homi_policy *p = homi_policy_new();
	const uint8_t *sep = size >= 5 ? memmem(data, size, "\n---\n", 5) : NULL;
	size_t first = sep ? (size_t)(sep - data) : size;
	char *err = NULL;
	void *a = fuzz_memdup(data, first);
	int r = homi_policy_add_buffer(p, "a.json", a, first, &err);

	free(err);
	err = NULL;
	if (r == 0 && sep) {
		void *b = fuzz_memdup(sep + 5, size - first - 5);
		r = homi_policy_add_buffer(p, "b.json", b, size - first - 5, &err);
		free(err);
		free(b);
	}
	if (r == 0)
		for (int m = 0; m < 2; m++)
			plan_on(machine(m), p);
	free(a);
	homi_policy_free(p);
	return 0;
}
