/* SPDX-License-Identifier: MIT */
/* The simulated host: a model of PCI SR-IOV and NVMe virtualization
 * management faithful to the kernel and NVMe rules homi depends on
 * (nvme-sriov.md), for fast unit tests with faults the hardware cannot be
 * asked for. It is never used against a real machine.
 *
 * PCI: sriov_numvfs (EINVAL, ERANGE above TotalVFs, EBUSY N->M, no-op N->N,
 * ENOENT without a PF driver, a write of 0 while a VF is open through vfio
 * would block: -EDEADLK here and counted as a test failure), autoprobe
 * (nvme grabs new VFs: an offline one fails to probe, an online one binds),
 * driver_override + drivers_probe, unbind (a VF open through vfio would block),
 * IOMMU groups (alone, or shared with the PF behind a switch without ACS),
 * /dev/vfio/<group> created 0600 root:root when a member binds to vfio-pci.
 * NVMe: primary capabilities, flexible allocation staged until a PF
 * function-level reset (sysfs reset) done while no VF is enabled, secondary
 * offline/assign/online with the statuses QEMU 7.2 returns, every PF reset
 * and sriov_numvfs=0 taking secondaries offline with zero resources,
 * namespace attachment (shared or private, VF attachments lost when VFs are
 * disabled, shared namespaces re-attached automatically when VFs are
 * re-created), fixed-resource controllers. */
#pragma once

#include "host.h"

#define HOMI_SIM_MAX_PFS 8
#define HOMI_SIM_MAX_VFS 64
#define HOMI_SIM_MAX_NS 8
#define HOMI_SIM_MAX_STATIC 32

struct homi_sim_static {
	const char *pci, *parent, *host_bridge; /* parent NULL on a root bus */
	const char *vendor, *device, *class_;
	const char *driver;
	int numa_node;
	int iommu_group;
};

struct homi_sim_ns {
	uint32_t nsid;
	bool private_;     /* attachable to one controller only */
	bool detached;     /* attached to nobody at start (else to the PF) */
	bool auto_attach;  /* shared and not detached: attached to every new controller (QEMU) */
};

struct homi_sim_pf {
	const char *pci, *parent, *host_bridge;
	int numa_node;
	const char *vendor, *device; /* sysfs strings; NULL: QEMU's 0x1b36 / 0x0010 */
	const char *serial, *model;
	uint16_t total_vfs;
	uint16_t cntlid, first_scid;
	bool fixed;        /* no Virtualization Management: CNS 0x14 fails */
	uint32_t vqfrt, vifrt;
	uint16_t vqprt, viprt, vqfrsm, vifrsm;
	uint16_t vqrfap, virfap;  /* flexible resources the primary holds at start */
	bool shared_group; /* VFs share the PF's IOMMU group */
	int iommu_group;   /* the PF's; VFs get iommu_group + 1 + i when not shared */
	struct homi_sim_ns ns[HOMI_SIM_MAX_NS];
	size_t n_ns;
};

struct homi_sim_config {
	struct homi_sim_static statics[HOMI_SIM_MAX_STATIC];
	size_t n_statics;
	struct homi_sim_pf pfs[HOMI_SIM_MAX_PFS];
	size_t n_pfs;
	const char *root_fs_on; /* address whose namespace holds / (or NULL) */
};

/* The QEMU testbed's shape: one PF 0000:01:00.0 behind root port 00:01.0,
 * 4 VFs, flexible VQ 8 / VI 4, 2 VQ and 1 VI per VF at most, namespace 1
 * shared and namespace 2 detached. */
void homi_sim_config_testbed(struct homi_sim_config *c);

/* A GPU server as the example policies expect it (host-sim-server.c): two
 * Samsung PM1733-like PFs (vendor 0x144d, model "SAMSUNG
 * MZWLJ3T8HBLS-00007", 32 VFs, flexible pools of 128 VQ / 64 VI, at most 8
 * VQ and 4 VI per VF, namespace 1 shared and attached to the PF only,
 * namespace 2 detached), each behind a PCIe switch beside NVIDIA GPUs:
 *   pci0000:00 (NUMA 0): 00:01.0 -> switch 01:00.0 -> 02:00.0 GPU 03:00.0,
 *                        02:01.0 PF 04:00.0 (group 100, VFs 101..)
 *                        00:03.0 -> boot NVMe 06:00.0 without SR-IOV (holds /)
 *                        00:17.0 SATA controller
 *   pci0000:80 (NUMA 1): 80:01.0 -> switch 81:00.0 -> 82:00.0 GPU 83:00.0,
 *                        82:01.0 PF 84:00.0 (group 140, VFs 141..),
 *                        82:02.0 GPU 85:00.0
 * so "nearest" pairs 04:00.0 with 03:00.0 and 84:00.0 with 83:00.0, and
 * per-gpu puts two VFs on 84:00.0. */
void homi_sim_config_server(struct homi_sim_config *c);

int homi_host_sim(const struct homi_sim_config *cfg, struct homi_host **ret);

/* Test controls. */
int homi_sim_set_vfio_open(struct homi_host *h, const char *vf, bool open);
int homi_sim_set_mounted(struct homi_host *h, const char *ctrl_addr, uint32_t nsid, bool mounted);
/* A PF controller reset (nvme reset, error recovery): every secondary goes
 * offline with zero resources; no uevent. VFs on nvme are then released by
 * their driver, as the kernel's does once it finds the controller dead;
 * VFs on vfio-pci stay bound. */
int homi_sim_controller_reset(struct homi_host *h, const char *pf);
/* Writes a canonical description of the whole state (one fact per line);
 * two equal snapshots mean equal states. Caller frees. */
char *homi_sim_snapshot(struct homi_host *h);
/* Writes that would have blocked in the kernel (must stay 0). */
unsigned homi_sim_blocked(struct homi_host *h);
