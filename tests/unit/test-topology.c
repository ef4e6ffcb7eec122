/* SPDX-License-Identifier: MIT */
/* The observed model: kinds, positions, SR-IOV links, affinity and the
 * handling of partial or hostile trees. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "fixture.h"
#include "macro.h"
#include "model-json.h"
#include "pci.h"
#include "sysfs.h"
#include "topology.h"

#define NVME_CLASS "0x010802"
#define BRIDGE_CLASS "0x060400"

START_TEST(gpu_rule)
{
	ck_assert(homi_is_gpu(0x10de, 0x030200, false));  /* NVIDIA 3D controller (H100) */
	ck_assert(homi_is_gpu(0x10de, 0x030000, false));  /* NVIDIA VGA */
	ck_assert(homi_is_gpu(0x1234, 0x030200, true));   /* any 3D controller */
	ck_assert(homi_is_gpu(0x1002, 0x030000, false));  /* AMD VGA */
	ck_assert(homi_is_gpu(0x8086, 0x030000, false));  /* Intel discrete, behind a bridge */
	ck_assert(!homi_is_gpu(0x8086, 0x030000, true));  /* Intel iGPU on the root bus */
	ck_assert(!homi_is_gpu(0x1a03, 0x030000, false)); /* ASPEED BMC VGA */
	ck_assert(!homi_is_gpu(0x102b, 0x030000, false)); /* Matrox BMC VGA */
	ck_assert(!homi_is_gpu(0x1234, 0x030000, true));  /* QEMU stdvga */
	ck_assert(!homi_is_gpu(0x10de, 0x040300, false)); /* NVIDIA HD audio function */
}
END_TEST

START_TEST(pci_address_forms)
{
	char a[13];
	ck_assert_int_eq(homi_pci_parse_addr("0000:01:00.0", a), 0);
	ck_assert_str_eq(a, "0000:01:00.0");
	ck_assert_int_eq(homi_pci_parse_addr("3b:00.1", a), 0);
	ck_assert_str_eq(a, "0000:3b:00.1");
	ck_assert_int_eq(homi_pci_parse_addr("0001:C1:1F.7", a), 0);
	ck_assert_str_eq(a, "0001:c1:1f.7");
	ck_assert_int_eq(homi_pci_parse_addr("01:20.0", a), -EINVAL); /* device > 0x1f */
	ck_assert_int_eq(homi_pci_parse_addr("01:00.8", a), -EINVAL);
	ck_assert_int_eq(homi_pci_parse_addr("1:00.0", a), -EINVAL);
	ck_assert_int_eq(homi_pci_parse_addr("0000:01:00.0x", a), -EINVAL);
	ck_assert_int_eq(homi_pci_parse_addr("nvme0", a), -EINVAL);
}
END_TEST

/* The H200 capture from the lent GPU machine: a microVM without NUMA
 * information or IOMMU, virtio functions beside one GPU. */
START_TEST(h200_capture)
{
	struct homi_topology *t = load_topology(fixture_unpack("gpu-h200-vm"));
	const struct homi_device *g = &t->devices[dev_idx(t, "0000:00:06.0")];

	ck_assert_int_eq(t->n_devices, 7);
	ck_assert_int_eq(g->kind, HOMI_KIND_GPU);
	ck_assert_str_eq(g->vendor_str, "0x10de");
	ck_assert_str_eq(g->class_str, "0x030200");
	ck_assert_int_eq(g->numa_node, -1);
	ck_assert_int_eq(g->iommu_group, -1);
	ck_assert_str_eq(g->driver, "nvidia");
	ck_assert_str_eq(g->host_bridge, "pci0000:00");
	ck_assert_str_eq(g->parent, "");
	ck_assert_str_eq(g->link_speed, "32.0 GT/s PCIe");
	ck_assert_int_eq(g->link_width, 16);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:00:01.0")].kind, HOMI_KIND_OTHER); /* virtio-blk */
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:00:00.0")].kind, HOMI_KIND_OTHER); /* host bridge */
	ck_assert_int_eq(t->n_affinity, 0); /* no NVMe there */
	ck_assert_int_eq(t->n_warnings, 0);
	homi_topology_free(t);
}
END_TEST

/* A two-socket machine built for the affinity rules:
 *
 * pci0000:00 (node 0)
 *   00:01.0 root port
 *     01:00.0 switch upstream
 *       02:00.0 downstream -> 03:00.0 GPU A (3D controller)
 *       02:01.0 downstream -> 04:00.0 NVMe PF X (2 VFs: 04:00.1 vfio-pci, 04:00.2 nvme)
 *       02:02.0 downstream -> 05:00.0 switch upstream -> 06:00.0 downstream -> 07:00.0 NVMe Y
 *   00:02.0 root port -> 08:00.0 NVMe Z (no SR-IOV)
 *   00:04.0 Intel VGA on the root bus (iGPU: not a GPU)
 *   00:05.0 root port -> 09:00.0 ASPEED VGA (BMC: not a GPU)
 * pci0000:40 (node 0)   40:01.0 root port -> 41:00.0 NVMe W
 * pci0000:80 (node 1)   80:01.0 root port -> 81:00.0 GPU B (NVIDIA VGA class)
 *                       80:02.0 root port -> 82:00.0 NVMe V
 */
static void build_server(struct tb *tb)
{
	static const char *const vfs[] = { "0000:04:00.1", "0000:04:00.2" };
	const char *rp = "pci0000:00/0000:00:01.0", *us = "pci0000:00/0000:00:01.0/0000:01:00.0";
	char p[256];

	tb_init(tb);
	tb_add(tb, rp, "0x8086", "0x2030", BRIDGE_CLASS, 0);
	tb_add(tb, us, "0x1000", "0xc010", BRIDGE_CLASS, 0);
	snprintf(p, sizeof(p), "%s/0000:02:00.0", us);
	tb_add(tb, p, "0x1000", "0xc010", BRIDGE_CLASS, 0);
	snprintf(p, sizeof(p), "%s/0000:02:00.0/0000:03:00.0", us);
	tb_add(tb, p, "0x10de", "0x2330", "0x030200", 0);
	tb_driver(tb, "0000:03:00.0", "nvidia");
	snprintf(p, sizeof(p), "%s/0000:02:01.0", us);
	tb_add(tb, p, "0x1000", "0xc010", BRIDGE_CLASS, 0);
	snprintf(p, sizeof(p), "%s/0000:02:01.0/0000:04:00.0", us);
	tb_add(tb, p, "0x144d", "0xa824", NVME_CLASS, 0);
	tb_driver(tb, "0000:04:00.0", "nvme");
	tb_nvme(tb, "0000:04:00.0", "nvme0", 65, 2);
	snprintf(p, sizeof(p), "%s/0000:02:01.0/0000:04:00.1", us);
	tb_add(tb, p, "0x144d", "0xa824", NVME_CLASS, 0);
	tb_driver(tb, "0000:04:00.1", "vfio-pci");
	snprintf(p, sizeof(p), "%s/0000:02:01.0/0000:04:00.2", us);
	tb_add(tb, p, "0x144d", "0xa824", NVME_CLASS, 0);
	tb_driver(tb, "0000:04:00.2", "nvme");
	tb_nvme(tb, "0000:04:00.2", "nvme3", 2, 1);
	tb_sriov(tb, "0000:04:00.0", 32, vfs, 2);
	snprintf(p, sizeof(p), "%s/0000:02:02.0", us);
	tb_add(tb, p, "0x1000", "0xc010", BRIDGE_CLASS, 0);
	snprintf(p, sizeof(p), "%s/0000:02:02.0/0000:05:00.0", us);
	tb_add(tb, p, "0x1000", "0xc010", BRIDGE_CLASS, 0);
	snprintf(p, sizeof(p), "%s/0000:02:02.0/0000:05:00.0/0000:06:00.0", us);
	tb_add(tb, p, "0x1000", "0xc010", BRIDGE_CLASS, 0);
	snprintf(p, sizeof(p), "%s/0000:02:02.0/0000:05:00.0/0000:06:00.0/0000:07:00.0", us);
	tb_add(tb, p, "0x8086", "0x0a54", NVME_CLASS, 0);
	tb_add(tb, "pci0000:00/0000:00:02.0", "0x8086", "0x2031", BRIDGE_CLASS, 0);
	tb_add(tb, "pci0000:00/0000:00:02.0/0000:08:00.0", "0x8086", "0x0a54", NVME_CLASS, 0);
	tb_add(tb, "pci0000:00/0000:00:04.0", "0x8086", "0x56a0", "0x030000", 0);
	tb_add(tb, "pci0000:00/0000:00:05.0", "0x8086", "0x2032", BRIDGE_CLASS, 0);
	tb_add(tb, "pci0000:00/0000:00:05.0/0000:09:00.0", "0x1a03", "0x2000", "0x030000", 0);
	tb_add(tb, "pci0000:40/0000:40:01.0", "0x8086", "0x2030", BRIDGE_CLASS, 0);
	tb_add(tb, "pci0000:40/0000:40:01.0/0000:41:00.0", "0x8086", "0x0a54", NVME_CLASS, 0);
	tb_add(tb, "pci0000:80/0000:80:01.0", "0x8086", "0x2030", BRIDGE_CLASS, 1);
	tb_add(tb, "pci0000:80/0000:80:01.0/0000:81:00.0", "0x10de", "0x2204", "0x030000", 1);
	tb_add(tb, "pci0000:80/0000:80:02.0", "0x8086", "0x2030", BRIDGE_CLASS, 1);
	tb_add(tb, "pci0000:80/0000:80:02.0/0000:82:00.0", "0x8086", "0x0a54", NVME_CLASS, 1);
}

START_TEST(kinds_and_sriov)
{
	struct tb tb;
	build_server(&tb);
	struct homi_topology *t = load_topology(tb.root);
	const struct homi_device *pf = &t->devices[dev_idx(t, "0000:04:00.0")];
	const struct homi_device *vf1 = &t->devices[dev_idx(t, "0000:04:00.1")];
	const struct homi_device *vf2 = &t->devices[dev_idx(t, "0000:04:00.2")];

	ck_assert_int_eq(t->n_warnings, 0);
	ck_assert_int_eq(pf->kind, HOMI_KIND_NVME_PF);
	ck_assert_int_eq(pf->sriov.total_vfs, 32);
	ck_assert_int_eq(pf->sriov.num_vfs, 2);
	ck_assert_int_eq(pf->sriov.drivers_autoprobe, 0);
	ck_assert_int_eq(pf->n_vfs, 2);
	ck_assert_str_eq(pf->vfs[1], "0000:04:00.2");
	ck_assert_str_eq(pf->parent, "0000:02:01.0");
	ck_assert(pf->has_nvme);
	ck_assert_str_eq(pf->nvme.name, "nvme0");
	ck_assert_int_eq(pf->nvme.cntlid, 65); /* never assumed 0 */
	ck_assert_int_eq(pf->nvme.n_namespaces, 2);
	ck_assert_int_eq(vf1->kind, HOMI_KIND_NVME_VF);
	ck_assert_str_eq(vf1->pf, "0000:04:00.0");
	ck_assert_int_eq(vf1->vf, 1);
	ck_assert_str_eq(vf1->driver, "vfio-pci");
	ck_assert_int_eq(vf2->vf, 2);
	ck_assert_int_eq(vf2->nvme.cntlid, 2);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:07:00.0")].kind, HOMI_KIND_NVME);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:03:00.0")].kind, HOMI_KIND_GPU);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:81:00.0")].kind, HOMI_KIND_GPU);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:00:04.0")].kind, HOMI_KIND_OTHER);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:09:00.0")].kind, HOMI_KIND_OTHER);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:02:01.0")].kind, HOMI_KIND_BRIDGE);
	ck_assert_str_eq(t->devices[dev_idx(t, "0000:41:00.0")].host_bridge, "pci0000:40");
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(affinity_rules)
{
	struct tb tb;
	build_server(&tb);
	struct homi_topology *t = load_topology(tb.root);
	const char *A = "0000:03:00.0", *B = "0000:81:00.0";

	/* 2 GPUs x 5 NVMe (X, Y, Z, W, V; VFs are not paired). */
	ck_assert_int_eq(t->n_affinity, 10);
	/* A and X hang off two downstream ports of one switch: one switch. */
	ck_assert_str_eq(affinity_of(t, A, "0000:04:00.0"), "PIX");
	/* A to Y crosses the first switch and the second one below it. */
	ck_assert_str_eq(affinity_of(t, A, "0000:07:00.0"), "PXB");
	/* A and Z are under different root ports of one host bridge. */
	ck_assert_str_eq(affinity_of(t, A, "0000:08:00.0"), "PHB");
	/* W is under another host bridge of the same NUMA node. */
	ck_assert_str_eq(affinity_of(t, A, "0000:41:00.0"), "NODE");
	/* V is on node 1, A on node 0. */
	ck_assert_str_eq(affinity_of(t, A, "0000:82:00.0"), "SYS");
	/* B and V share host bridge pci0000:80 through different root ports. */
	ck_assert_str_eq(affinity_of(t, B, "0000:82:00.0"), "PHB");
	ck_assert_str_eq(affinity_of(t, B, "0000:04:00.0"), "SYS");
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

/* Unknown NUMA on both sides counts as one node; on one side it does not. */
START_TEST(affinity_unknown_numa)
{
	struct tb tb;
	tb_init(&tb);
	tb_add(&tb, "pci0000:00/0000:00:01.0", "0x10de", "0x2330", "0x030200", -1);
	tb_add(&tb, "pci0000:40/0000:40:01.0", "0x8086", "0x0a54", NVME_CLASS, -1);
	tb_add(&tb, "pci0000:80/0000:80:01.0", "0x8086", "0x0a54", NVME_CLASS, 1);
	struct homi_topology *t = load_topology(tb.root);
	ck_assert_str_eq(affinity_of(t, "0000:00:01.0", "0000:40:01.0"), "NODE");
	ck_assert_str_eq(affinity_of(t, "0000:00:01.0", "0000:80:01.0"), "SYS");
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

static bool has_warning(const struct homi_topology *t, const char *needle)
{
	for (size_t i = 0; i < t->n_warnings; i++)
		if (strstr(t->warnings[i], needle))
			return true;
	return false;
}

/* Missing attributes, a dangling link and a VF without its PF: every device
 * is still in the model with what is known, one warning per problem. */
START_TEST(partial_tree)
{
	struct tb tb;
	char p[512];

	tb_init(&tb);
	tb_add(&tb, "pci0000:00/0000:00:01.0", "0x8086", "0x0a54", NVME_CLASS, 0);
	tb_add(&tb, "pci0000:00/0000:00:02.1", "0x8086", "0x0a54", NVME_CLASS, 0);
	tb_link(&tb, "0000:00:02.1", "physfn", "../0000:00:02.0"); /* PF not captured */
	tb_add(&tb, "pci0000:00/0000:00:03.0", "0x8086", "0x0a54", NVME_CLASS, 0);
	snprintf(p, sizeof(p), "%s/devices/pci0000:00/0000:00:03.0/vendor", tb.root);
	ck_assert_int_eq(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/bus/pci/devices/0000:00:04.0", tb.root);
	ck_assert_int_eq(symlink("../../../devices/pci0000:00/0000:00:04.0", p), 0); /* dangling */
	tb_add(&tb, "pci0000:00/0000:00:05.0", "0x8086", "0x0a54", NVME_CLASS, 0);
	tb_attr(&tb, "0000:00:05.0", "sriov_totalvfs", "4");
	tb_attr(&tb, "0000:00:05.0", "sriov_numvfs", "2"); /* but no virtfn links */

	struct homi_topology *t = load_topology(tb.root);
	ck_assert_int_eq(t->n_devices, 5);
	const struct homi_device *vf = &t->devices[dev_idx(t, "0000:00:02.1")];
	ck_assert_int_eq(vf->kind, HOMI_KIND_NVME_VF);
	ck_assert_str_eq(vf->pf, "0000:00:02.0");
	ck_assert_int_eq(vf->vf, 0);
	ck_assert(has_warning(t, "0000:00:02.1: its PF 0000:00:02.0 is not in the tree"));
	ck_assert(!t->devices[dev_idx(t, "0000:00:03.0")].have_ids);
	ck_assert(has_warning(t, "0000:00:03.0: vendor"));
	ck_assert(has_warning(t, "0000:00:04.0: bus/pci/devices/0000:00:04.0"));
	ck_assert(has_warning(t, "0000:00:05.0: virtfn0 missing"));
	ck_assert(has_warning(t, "0000:00:05.0: virtfn1 missing"));
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:00:01.0")].kind, HOMI_KIND_NVME);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

/* A capture whose link points at the real /sys must not read the host: the
 * link resolves inside the tree, where nothing is found. */
START_TEST(capture_cannot_escape)
{
	struct tb tb;
	char p[512];

	tb_init(&tb);
	snprintf(p, sizeof(p), "%s/bus/pci/devices/0000:00:00.0", tb.root);
	ck_assert_int_eq(symlink("/sys/bus/pci/devices/0000:00:00.0", p), 0);
	struct homi_topology *t = load_topology(tb.root);
	ck_assert_int_eq(t->n_devices, 1);
	ck_assert(!t->devices[0].have_ids);
	ck_assert(has_warning(t, "0000:00:00.0"));
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(multipath_namespaces)
{
	struct tb tb;
	char p[2048];

	tb_init(&tb);
	tb_add(&tb, "pci0000:00/0000:00:01.0", "0x1b36", "0x0010", NVME_CLASS, 0);
	tb_nvme(&tb, "0000:00:01.0", "nvme0", 0, 0);
	/* native multipath: paths nvme0c0n1, nvme0c0n3 and the generic ng0n1 */
	const char *entries[] = { "nvme0c0n1", "nvme0c0n3", "ng0n1" };
	const char *nsids[] = { "1", "3", "1" };
	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		snprintf(p, sizeof(p), "mkdir -p %s/devices/pci0000:00/0000:00:01.0/nvme/nvme0/%s && echo %s > "
			 "%s/devices/pci0000:00/0000:00:01.0/nvme/nvme0/%s/nsid",
			 tb.root, entries[i], nsids[i], tb.root, entries[i]);
		ck_assert_int_eq(system(p), 0);
	}
	struct homi_topology *t = load_topology(tb.root);
	const struct homi_nvme_ctrl *c = &t->devices[0].nvme;
	ck_assert_int_eq(c->n_namespaces, 2);
	ck_assert_int_eq(c->namespaces[0], 1);
	ck_assert_int_eq(c->namespaces[1], 3);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

/* The synthetic two-socket server (tests/fixtures/synth-gpu-server.txt has
 * the layout). Host bridges 00 and 40 are NUMA node 0, 80 and c0 node 1. */
START_TEST(synth_gpu_server_affinity)
{
	static const char *const gpus[] = { "0000:03:00.0", "0000:43:00.0", "0000:83:00.0", "0000:c3:00.0" };
	static const char *const nvmes[] = { "0000:04:00.0", "0000:06:00.0", "0000:44:00.0",
					     "0000:47:00.0", "0000:84:00.0", "0000:c4:00.0" };
	static const char *const want[4][6] = {
		/* GPU0 shares SW0 with NVMe-A (PIX); the boot SSD is on another
		 * root port of pci0000:00 (PHB); pci0000:40 is another host
		 * bridge of node 0 (NODE); 80/c0 are node 1 (SYS). */
		{ "PIX", "PHB", "NODE", "NODE", "SYS", "SYS" },
		/* GPU1 shares SW1 with NVMe-B (PIX); NVMe-C sits below SW2,
		 * itself below SW1: two switches, no host bridge (PXB). */
		{ "NODE", "NODE", "PIX", "PXB", "SYS", "SYS" },
		/* GPU2 shares SW3 with NVMe-D; NVMe-E is on pci0000:c0, node 1. */
		{ "SYS", "SYS", "SYS", "SYS", "PIX", "NODE" },
		/* GPU3 (NVIDIA, VGA class: still a GPU) shares SW4 with NVMe-E. */
		{ "SYS", "SYS", "SYS", "SYS", "NODE", "PIX" },
	};
	struct homi_sysfs *s = NULL;
	struct homi_pci *pci = NULL;
	struct homi_topology *t = NULL;
	const char *root = fixture_unpack("synth-gpu-server");

	ck_assert_int_eq(homi_sysfs_open(root, &s), 0);
	ck_assert_int_eq(homi_pci_open(root, &pci), 0);
	ck_assert_int_eq(homi_topology_load(s, pci, &t), 0); /* port types from the PCIe capability */
	ck_assert_int_eq(t->n_devices, 42);
	ck_assert_int_eq(t->n_warnings, 0);
	ck_assert_int_eq(t->n_affinity, 24);
	for (size_t g = 0; g < 4; g++)
		for (size_t n = 0; n < 6; n++)
			ck_assert_msg(streq(affinity_of(t, gpus[g], nvmes[n]), want[g][n]), "%s / %s: %s, expected %s",
				      gpus[g], nvmes[n], affinity_of(t, gpus[g], nvmes[n]), want[g][n]);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:08:00.0")].kind, HOMI_KIND_OTHER); /* ASPEED BMC VGA */
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:06:00.0")].kind, HOMI_KIND_NVME);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:45:00.0")].port_type, 5); /* SW2 upstream, read from config */
	const struct homi_device *vf2 = &t->devices[dev_idx(t, "0000:04:00.2")];
	ck_assert_int_eq(vf2->vf, 2);
	ck_assert_int_eq(vf2->nvme.cntlid, 18); /* never derived from the VF number */
	homi_topology_free(t);
	homi_pci_free(pci);
	homi_sysfs_free(s);
}
END_TEST

/* homictl draws homid's topology from its document: the model rebuilt
 * from the JSON gives the same document back, affinity table (computed
 * again), port types and warnings included, for every capture. */
START_TEST(json_round_trip)
{
	static const char *const fixtures[] = { "qemu-sriov", "qemu-switch", "synth-gpu-server", "gpu-h200-vm",
						"synth-noiommu", "synth-pix-noredir" };

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		const char *root = fixture_unpack(fixtures[i]);
		struct homi_sysfs *s = NULL;
		struct homi_pci *pci = NULL;
		struct homi_topology *t = NULL, *back = NULL;

		ck_assert_int_eq(homi_sysfs_open(root, &s), 0);
		ck_assert_int_eq(homi_pci_open(root, &pci), 0);
		ck_assert_int_eq(homi_topology_load(s, pci, &t), 0);
		json_t *doc = homi_json_topology(t);
		ck_assert_int_eq(homi_topology_from_json(doc, &back), 0);
		json_t *again = homi_json_topology(back);
		if (!json_equal(doc, again)) {
			char *a = json_dumps(doc, JSON_INDENT(1)), *b = json_dumps(again, JSON_INDENT(1));
			ck_abort_msg("%s: the document changed through the model:\n%s\n---\n%s", fixtures[i], a, b);
		}
		ck_assert_int_eq(back->n_affinity, t->n_affinity);
		for (size_t k = 0; k < t->n_devices; k++)
			ck_assert_int_eq(back->devices[k].port_type, t->devices[k].port_type);
		json_decref(again);
		json_decref(doc);
		homi_topology_free(back);
		homi_topology_free(t);
		homi_pci_free(pci);
		homi_sysfs_free(s);
	}
}
END_TEST

/* What is not a homi-topology document is refused, never half read. */
START_TEST(json_refused)
{
	static const char *const bad[] = {
		"{}",
		"{\"homi-topology\": 2, \"devices\": []}",
		"{\"homi-topology\": 1, \"devices\": {}}",
		"{\"homi-topology\": 1, \"devices\": [{\"pci\": \"0000:01:00.0\"}, {\"pci\": \"0000:00:01.0\"}]}",
		"{\"homi-topology\": 1, \"devices\": [{\"pci\": \"0000:01:00.0\"}, {\"pci\": \"0000:01:00.0\"}]}",
		"{\"homi-topology\": 1, \"devices\": [{\"pci\": \"01:00.0\"}]}",
		"{\"homi-topology\": 1, \"devices\": [{\"pci\": \"0000:01:00.0\", \"parent\": 7}]}",
		"{\"homi-topology\": 1, \"devices\": [{\"pci\": \"0000:01:00.0\", \"sriov\": {}}]}",
		"{\"homi-topology\": 1, \"devices\": [{\"pci\": \"0000:01:00.0\", \"sriov\": {}, \"vfs\": [\"x\"]}]}",
		"{\"homi-topology\": 1, \"devices\": [{\"pci\": \"0000:01:00.0\", \"nvme\": {\"name\": \"nvme0\"}}]}",
		"{\"homi-topology\": 1, \"devices\": [{\"pci\": \"0000:01:00.0\", \"host-bridge\": "
		"\"pci0000:00-far-too-long-for-it\"}]}",
	};
	struct homi_topology *t = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *doc = json_loads(bad[i], 0, NULL);
		ck_assert_ptr_nonnull(doc);
		ck_assert_msg(homi_topology_from_json(doc, &t) == -EBADMSG, "accepted: %s", bad[i]);
		ck_assert_ptr_null(t);
		json_decref(doc);
	}
}
END_TEST

/* A live kernel's uevent gives IDs, class and driver in one read. */
START_TEST(uevent_fast_path)
{
	struct tb tb;
	char p[1024];

	tb_init(&tb);
	tb_add(&tb, "pci0000:00/0000:00:01.0", "0x0000", "0x0000", "0x000000", 0);
	snprintf(p, sizeof(p), "%s/devices/pci0000:00/0000:00:01.0/uevent", tb.root);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("DRIVER=nvme\nPCI_CLASS=10802\nPCI_ID=144D:A824\nPCI_SUBSYS_ID=144D:A801\n"
	      "PCI_SLOT_NAME=0000:00:01.0\n", f);
	fclose(f);
	struct homi_topology *t = load_topology(tb.root);
	const struct homi_device *d = &t->devices[0];
	ck_assert_str_eq(d->vendor_str, "0x144d");
	ck_assert_str_eq(d->device_str, "0xa824");
	ck_assert_str_eq(d->class_str, "0x010802");
	ck_assert_str_eq(d->driver, "nvme");
	ck_assert_int_eq(d->kind, HOMI_KIND_NVME);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, gpu_rule);
	tcase_add_test(tc, pci_address_forms);
	tcase_add_test(tc, h200_capture);
	tcase_add_test(tc, kinds_and_sriov);
	tcase_add_test(tc, affinity_rules);
	tcase_add_test(tc, affinity_unknown_numa);
	tcase_add_test(tc, partial_tree);
	tcase_add_test(tc, capture_cannot_escape);
	tcase_add_test(tc, multipath_namespaces);
	tcase_add_test(tc, synth_gpu_server_affinity);
	tcase_add_test(tc, uevent_fast_path);
	tcase_add_test(tc, json_round_trip);
	tcase_add_test(tc, json_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite(), CK_NORMAL);
}
