/* SPDX-License-Identifier: MIT */
/* homictl device list | device show PCI */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "device.h"
#include "homictl.h"
#include "model-json.h"

static void print_int(const char *label, int v)
{
	if (v < 0)
		printf("  %-20s unknown\n", label);
	else
		printf("  %-20s %d\n", label, v);
}

int cmd_device_list(struct ctl *ctl, int argc, char **argv)
{
	struct homi_topology *t = NULL;
	int r = ctl_read_topology(ctl, &t, NULL);

	if (r != EXIT_OK)
		return r;
	if (ctl->json) {
		r = ctl_print_json(ctl, homi_json_device_list(t));
		homi_topology_free(t);
		return r;
	}
	printf("%-12s  %-7s  %-9s  %-5s  %-5s  %-9s  %-8s  %s\n", "PCI", "KIND", "DRIVER", "NUMA", "GROUP",
	       "ID", "NAME", "SR-IOV");
	for (size_t i = 0; i < t->n_devices; i++) {
		const struct homi_device *d = &t->devices[i];
		char numa[16] = "-", group[16] = "-", id[16] = "?", sriov[48] = "";

		if (!homi_device_listed(d))
			continue;
		if (d->numa_node >= 0)
			snprintf(numa, sizeof(numa), "%d", d->numa_node);
		if (d->iommu_group >= 0)
			snprintf(group, sizeof(group), "%d", d->iommu_group);
		if (d->have_ids)
			snprintf(id, sizeof(id), "%s:%s", d->vendor_str + 2, d->device_str + 2);
		if (d->is_pf)
			snprintf(sriov, sizeof(sriov), "%d/%d VFs", d->sriov.num_vfs, d->sriov.total_vfs);
		else if (d->pf[0] && d->vf > 0)
			snprintf(sriov, sizeof(sriov), "VF%d of %s", d->vf, d->pf);
		else if (d->pf[0])
			snprintf(sriov, sizeof(sriov), "VF of %s", d->pf);
		printf("%-12s  %-7s  %-9s  %-5s  %-5s  %-9s  %-8s  %s\n", d->pci, homi_kind_name(d->kind),
		       d->driver ? d->driver : "-", numa, group, id, d->has_nvme ? d->nvme.name : "-", sriov);
	}
	homi_topology_free(t);
	return EXIT_OK;
}

static void print_show(struct ctl *ctl, const struct homi_topology *t, const struct homi_device_report *rep)
{
	const struct homi_device *d = &t->devices[rep->idx];
	char name[256];

	printf("%s %s\n", d->pci, homi_kind_name(d->kind));
	if (d->have_ids && ctl->pci && homi_pci_name(ctl->pci, d->vendor, d->device, name, sizeof(name)) == 0)
		printf("  %-20s %s\n", "name", name);
	printf("  %-20s %s:%s class %s\n", "id", d->vendor_str, d->device_str, d->class_str);
	printf("  %-20s %s\n", "host bridge", d->host_bridge[0] ? d->host_bridge : "unknown");
	printf("  %-20s %s\n", "parent", d->parent[0] ? d->parent : "(root bus)");
	print_int("numa node", d->numa_node);
	printf("  %-20s %s\n", "driver", d->driver ? d->driver : "(none)");
	print_int("iommu group", d->iommu_group);
	if (d->link_speed)
		printf("  %-20s %s x%d\n", "link", d->link_speed, d->link_width);
	if (d->pf[0]) {
		printf("  %-20s %s\n", "pf", d->pf);
		print_int("vf", d->vf > 0 ? d->vf : -1);
	}
	if (d->has_nvme) {
		const struct homi_nvme_ctrl *c = &d->nvme;
		printf("  %-20s %s \"%s\" serial %s firmware %s\n", "nvme", c->name, c->model ? c->model : "?",
		       c->serial ? c->serial : "?", c->firmware ? c->firmware : "?");
		print_int("cntlid", c->cntlid);
		printf("  %-20s", "namespaces");
		for (size_t i = 0; i < c->n_namespaces; i++)
			printf(" %u", c->namespaces[i]);
		printf("%s\n", c->n_namespaces ? "" : " (none)");
	}
	if (d->is_pf) {
		printf("  %-20s %d enabled of %d (offset %d, stride %d), drivers autoprobe %d\n", "sr-iov",
		       d->sriov.num_vfs, d->sriov.total_vfs, d->sriov.vf_offset, d->sriov.vf_stride,
		       d->sriov.drivers_autoprobe);
	}
	if (!rep->have_primary) {
		if (d->kind == HOMI_KIND_NVME_PF)
			printf("\nPrimary controller: unknown (%s)\n", rep->primary_unknown);
		return;
	}
	const struct homi_primary_caps *p = &rep->primary;
	printf("\nPrimary controller %u (CNS 0x14):\n", p->cntlid);
	printf("  %-4s %-14s %-14s %-10s %-8s %s\n", "", "flexible-total", "to-primary", "assigned", "private",
	       "max-per-vf");
	printf("  %-4s %-14u %-14u %-10u %-8u %u\n", "VQ", p->vqfrt, p->vqrfap, p->vqrfa, p->vqprt, p->vqfrsm);
	printf("  %-4s %-14u %-14u %-10u %-8u %u\n", "VI", p->vifrt, p->virfap, p->virfa, p->viprt, p->vifrsm);
	if (!rep->have_secondaries) {
		printf("\nSecondary controllers: unknown (%s)\n", rep->secondaries_unknown);
		return;
	}
	printf("\nSecondary controllers (CNS 0x15):\n  %-6s %-4s %-8s %-4s %-4s %s\n", "SCID", "VF", "STATE", "VQ",
	       "VI", "PCI");
	for (size_t i = 0; i < rep->n_secondaries; i++) {
		const struct homi_secondary *s = &rep->secondaries[i];
		const char *vf = homi_device_vf_addr(d, s->vfn);
		printf("  %-6u %-4u %-8s %-4u %-4u %s\n", s->scid, s->vfn, s->online ? "online" : "offline", s->nvq,
		       s->nvi, vf ? vf : "(VF not enabled)");
	}
}

int cmd_device_show(struct ctl *ctl, int argc, char **argv)
{
	struct homi_topology *t = NULL;
	struct homi_device_report *rep = NULL;
	json_t *doc = NULL;
	size_t idx;
	int r = ctl_read_topology(ctl, &t, NULL);

	if (r != EXIT_OK)
		return r;
	r = ctl_find_device(ctl, t, argv[0], &idx);
	if (r != EXIT_OK)
		goto out;
	if (ctl->daemon) {
		/* names come from this host's pci.ids through libpci; optional */
		if (!ctl->pci && homi_pci_open(ctl->sysfs_root, &ctl->pci) < 0)
			ctl->pci = NULL;
		/* homid reads the NVMe admin data, which needs root */
		r = ctl_call(ctl, "device.show", json_pack("{s:s}", "pci", t->devices[idx].pci), &doc);
		if (r != EXIT_OK)
			goto out;
		r = homi_device_report_from_json(doc, idx, &rep);
	} else {
		r = homi_device_report_load(ctl->sysfs, t, idx, &rep);
	}
	if (r < 0) {
		r = ctl_fail(ctl, EXIT_ERROR, -r, "%s: %s", t->devices[idx].pci, strerror(-r));
		goto out;
	}
	if (ctl->json)
		r = ctl_print_json(ctl, doc ? json_incref(doc) : homi_json_device_show(t, rep));
	else
		print_show(ctl, t, rep);
out:
	json_decref(doc);
	homi_device_report_free(rep);
	homi_topology_free(t);
	return r;
}
