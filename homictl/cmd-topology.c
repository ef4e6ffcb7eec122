/* SPDX-License-Identifier: MIT */
/* homictl topology: the PCI tree down to NVMe and GPU functions, then the
 * GPU x NVMe affinity matrix in the vocabulary of `nvidia-smi topo -m`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "homictl.h"
#include "model-json.h"

/* VFs are listed one per line up to this count, then summarised. */
#define VF_LINES_MAX 8

struct tree {
	const struct homi_topology *t;
	bool *shown; /* device is on a path to an NVMe or GPU function */
};

static bool interesting(const struct homi_device *d)
{
	return homi_device_listed(d) && d->kind != HOMI_KIND_NVME_VF;
}

static const char *port_name(const struct homi_device *d)
{
	switch (d->port_type) {
	case 4: return "root port";
	case 5: return "switch upstream port";
	case 6: return "switch downstream port";
	default: return "bridge";
	}
}

static void print_vfs(const struct homi_topology *t, const struct homi_device *pf, const char *indent)
{
	if (pf->n_vfs <= VF_LINES_MAX) {
		for (size_t i = 0; i < pf->n_vfs; i++) {
			ssize_t v = homi_topology_find(t, pf->vfs[i]);
			const struct homi_device *vf = v >= 0 ? &t->devices[v] : NULL;
			printf("%s%s VF%zu %s  %s", indent, i + 1 == pf->n_vfs ? "└─" : "├─", i + 1, pf->vfs[i],
			       vf && vf->driver ? vf->driver : "(no driver)");
			if (vf && vf->has_nvme)
				printf(" %s", vf->nvme.name);
			if (vf && vf->iommu_group >= 0)
				printf("  group %d", vf->iommu_group);
			printf("\n");
		}
		return;
	}
	/* Many VFs: one line per driver. */
	const char *drivers[16];
	size_t counts[16], n = 0;
	for (size_t i = 0; i < pf->n_vfs; i++) {
		ssize_t v = homi_topology_find(t, pf->vfs[i]);
		const char *drv = v >= 0 && t->devices[v].driver ? t->devices[v].driver : "(no driver)";
		size_t k;
		for (k = 0; k < n && !streq(drivers[k], drv); k++)
			;
		if (k == n && n < ARRAY_SIZE(drivers)) {
			drivers[n] = drv;
			counts[n++] = 0;
		}
		if (k < n)
			counts[k]++;
	}
	printf("%s└─ %zu VFs %s .. %s:", indent, pf->n_vfs, pf->vfs[0], pf->vfs[pf->n_vfs - 1]);
	for (size_t k = 0; k < n; k++)
		printf("%s %zu %s", k ? "," : "", counts[k], drivers[k]);
	printf("\n");
}

static void print_device_line(const struct homi_device *d)
{
	printf("%s %s", d->pci, homi_kind_name(d->kind));
	if (d->has_nvme)
		printf(" %s", d->nvme.name);
	if (d->has_nvme && d->nvme.model)
		printf(" \"%s\"", d->nvme.model);
	if (d->have_ids)
		printf(" [%s:%s]", d->vendor_str + 2, d->device_str + 2);
	printf("  %s", d->driver ? d->driver : "(no driver)");
	if (d->link_speed)
		printf("  %s x%d", d->link_speed, d->link_width);
	if (d->iommu_group >= 0)
		printf("  group %d", d->iommu_group);
	if (d->is_pf)
		printf("  VFs %d/%d", d->sriov.num_vfs, d->sriov.total_vfs);
	printf("\n");
}

static void print_subtree(const struct tree *tr, ssize_t parent, const char *hb, const char *indent)
{
	const struct homi_topology *t = tr->t;
	ssize_t last = -1;

	for (size_t i = 0; i < t->n_devices; i++)
		if (tr->shown[i] && t->devices[i].parent_idx == parent &&
		    (parent >= 0 || streq(t->devices[i].host_bridge, hb)))
			last = (ssize_t)i;
	for (size_t i = 0; i < t->n_devices; i++) {
		const struct homi_device *d = &t->devices[i];
		char sub[256];

		if (!tr->shown[i] || d->parent_idx != parent || (parent < 0 && !streq(d->host_bridge, hb)))
			continue;
		bool is_last = (ssize_t)i == last;
		printf("%s%s ", indent, is_last ? "└─" : "├─");
		if (d->kind == HOMI_KIND_BRIDGE)
			printf("%s %s\n", d->pci, port_name(d));
		else
			print_device_line(d);
		snprintf(sub, sizeof(sub), "%s%s", indent, is_last ? "   " : "│  ");
		if (d->kind == HOMI_KIND_BRIDGE)
			print_subtree(tr, (ssize_t)i, hb, sub);
		else if (d->is_pf)
			print_vfs(t, d, sub);
	}
}

static void print_tree(const struct homi_topology *t)
{
	struct tree tr = { .t = t, .shown = calloc(t->n_devices ? t->n_devices : 1, sizeof(bool)) };
	const char *done[64];
	size_t n_done = 0;

	size_t n_shown = 0;

	if (!tr.shown)
		return;
	for (size_t i = 0; i < t->n_devices; i++) {
		if (!interesting(&t->devices[i]))
			continue;
		n_shown++;
		int guard = 0;
		for (ssize_t p = (ssize_t)i; p >= 0 && guard++ < 64; p = t->devices[p].parent_idx)
			tr.shown[p] = true;
	}
	if (!n_shown)
		printf("No NVMe or GPU function among the %zu PCI functions.\n", t->n_devices);
	for (size_t i = 0; i < t->n_devices; i++) {
		const struct homi_device *d = &t->devices[i];
		bool seen = false;

		if (!tr.shown[i] || d->parent_idx >= 0)
			continue;
		for (size_t k = 0; k < n_done; k++)
			seen |= streq(done[k], d->host_bridge);
		if (seen || n_done == ARRAY_SIZE(done))
			continue;
		done[n_done++] = d->host_bridge;
		if (d->numa_node >= 0)
			printf("%s (NUMA node %d)\n", d->host_bridge[0] ? d->host_bridge : "(unknown host bridge)",
			       d->numa_node);
		else
			printf("%s (NUMA node unknown)\n", d->host_bridge[0] ? d->host_bridge : "(unknown host bridge)");
		print_subtree(&tr, -1, d->host_bridge, "");
	}
	free(tr.shown);
}

static void print_matrix(const struct homi_topology *t)
{
	size_t n_gpu = 0, n_nvme = 0;

	if (!t->n_affinity) {
		printf("\nNo GPU and NVMe pair to relate.\n");
		return;
	}
	for (size_t i = 0; i < t->n_affinity && t->affinity[i].gpu == t->affinity[0].gpu; i++)
		n_nvme++;
	n_gpu = t->n_affinity / n_nvme;

	printf("\n%-20s", "GPU \\ NVMe");
	for (size_t n = 0; n < n_nvme; n++) {
		const struct homi_device *d = &t->devices[t->affinity[n].nvme];
		printf(" %-12s", d->has_nvme ? d->nvme.name : d->pci);
	}
	printf("\n");
	for (size_t g = 0; g < n_gpu; g++) {
		char label[48];
		snprintf(label, sizeof(label), "GPU%zu %s", g, t->devices[t->affinity[g * n_nvme].gpu].pci);
		printf("%-20s", label);
		for (size_t n = 0; n < n_nvme; n++)
			printf(" %-12s", homi_affinity_name(t->affinity[g * n_nvme + n].link));
		printf("\n");
	}
	printf("\nNVMe columns:");
	for (size_t n = 0; n < n_nvme; n++) {
		const struct homi_device *d = &t->devices[t->affinity[n].nvme];
		printf(" %s=%s", d->has_nvme ? d->nvme.name : d->pci, d->pci);
	}
	printf("\n\nLegend:\n"
	       "  PIX  = at most one PCIe switch between them\n"
	       "  PXB  = several PCIe switches, no host bridge\n"
	       "  PHB  = through a PCIe host bridge (same host bridge, different root ports)\n"
	       "  NODE = between PCIe host bridges within one NUMA node\n"
	       "  SYS  = across NUMA nodes (the SMP interconnect)\n");
}

int cmd_topology(struct ctl *ctl, int argc, char **argv)
{
	struct homi_topology *t = NULL;
	json_t *doc = NULL;
	int r = ctl_read_topology(ctl, &t, &doc);

	if (r != EXIT_OK)
		return r;
	if (ctl->json) {
		/* homid's document as it came (ctl_print_json takes it) */
		r = ctl_print_json(ctl, doc ? TAKE_PTR(doc) : homi_json_topology(t));
	} else {
		print_tree(t);
		print_matrix(t);
	}
	json_decref(doc);
	homi_topology_free(t);
	return r;
}
