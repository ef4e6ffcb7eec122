/* SPDX-License-Identifier: MIT */
/* The observed model: every PCI function below a sysfs root, what kind it is,
 * where it sits, and the GPU <-> NVMe affinity that follows from it.
 *
 * Reading never fails because one device is odd: a missing attribute, a
 * dangling link or a VF whose PF is absent leaves that field unknown and adds
 * one warning to the model. Only an unusable root is an error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "sysfs.h"

#define HOMI_ADDR_LEN 13 /* "0000:01:00.0" + NUL */
#define HOMI_MAX_VFS 65535 /* TotalVFs: 16 bits */

enum homi_kind {
	HOMI_KIND_NVME_PF, /* SR-IOV capable NVMe physical function */
	HOMI_KIND_NVME_VF,
	HOMI_KIND_NVME,    /* NVMe without SR-IOV */
	HOMI_KIND_GPU,
	HOMI_KIND_BRIDGE,
	HOMI_KIND_OTHER,
};

/* The nvidia-smi vocabulary, best first. */
enum homi_affinity_link {
	HOMI_AFF_PIX, /* at most one PCIe switch between them */
	HOMI_AFF_PXB, /* several switches, no host bridge */
	HOMI_AFF_PHB, /* through one host bridge */
	HOMI_AFF_NODE,/* different host bridges, same NUMA node */
	HOMI_AFF_SYS, /* across NUMA nodes */
};

struct homi_nvme_ctrl {
	char name[NAME_MAX + 1]; /* "nvme0" */
	char *model, *serial, *firmware; /* NULL when unknown */
	int cntlid;        /* -1 when unknown */
	uint32_t *namespaces;
	size_t n_namespaces;
};

struct homi_sriov {
	int total_vfs, num_vfs, vf_offset, vf_stride, drivers_autoprobe; /* -1 unknown */
};

struct homi_device {
	char pci[HOMI_ADDR_LEN];
	enum homi_kind kind;
	char parent[HOMI_ADDR_LEN];      /* "" on a root bus */
	char host_bridge[16];            /* "pci0000:40" */
	int numa_node;                   /* -1 unknown */
	char *driver;                    /* NULL: none */
	int iommu_group;                 /* -1: none */
	unsigned vendor, device, class_; /* numeric; valid when have_ids */
	bool have_ids;
	char vendor_str[8], device_str[8], class_str[10]; /* as sysfs shows them */
	char *link_speed;                /* "16.0 GT/s PCIe"; NULL: no link info */
	int link_width;
	/* PF */
	bool is_pf;
	struct homi_sriov sriov;
	char (*vfs)[HOMI_ADDR_LEN];      /* virtfn0.. */
	size_t n_vfs;
	/* VF */
	char pf[HOMI_ADDR_LEN];          /* "" unless a VF */
	int vf;                          /* 1-based VF number; 0 unknown */
	/* NVMe controller on the nvme driver */
	bool has_nvme;
	struct homi_nvme_ctrl nvme;
	/* derived */
	ssize_t parent_idx;              /* index of parent, -1 none */
	int port_type;                   /* bridges: PCIe port type, -1 unknown */
	int depth;                       /* bridges above it */
};

struct homi_affinity {
	size_t gpu, nvme;                /* device indexes */
	enum homi_affinity_link link;
	ssize_t common;                  /* lowest common bridge, -1 none */
};

struct homi_topology {
	struct homi_device *devices;     /* sorted by address */
	size_t n_devices;
	struct homi_affinity *affinity;  /* GPU-major, each in address order */
	size_t n_affinity;
	char **warnings;                 /* "0000:01:00.1: ..." */
	size_t n_warnings;
	unsigned refs;                   /* 0 or 1: one owner; homi_topology_free() drops one */
};

struct homi_pci;

/* Builds the model of the tree S. PCI (may be NULL) supplies PCIe port types
 * of bridges; without it they are inferred from the hierarchy. */
int homi_topology_load(const struct homi_sysfs *s, struct homi_pci *pci, struct homi_topology **ret);
/* Drops one reference (the model is never changed once built, so holders
 * share it); frees it with the last. */
struct homi_topology *homi_topology_free(struct homi_topology *t);
struct homi_topology *homi_topology_ref(struct homi_topology *t);

/* Building a model by other means (the simulated host): initialise each
 * device with homi_device_init(), fill devices[] (malloc'ed strings), then
 * homi_topology_finish() sorts it, links parents and VFs, classifies and
 * computes the affinity table. */
void homi_device_init(struct homi_device *d, const char *addr);
int homi_topology_finish(struct homi_topology *t, struct homi_pci *pci);
void homi_topology_warn(struct homi_topology *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Index of the device with address ADDR (canonical form), or -1. */
ssize_t homi_topology_find(const struct homi_topology *t, const char *addr);

const char *homi_kind_name(enum homi_kind k);
const char *homi_affinity_name(enum homi_affinity_link l);

/* Affinity of two devices of the model. */
enum homi_affinity_link homi_topology_affinity(const struct homi_topology *t, size_t a, size_t b, ssize_t *ret_common);

/* GPU rule of ARCHITECTURE.md 3.2. */
bool homi_is_gpu(unsigned vendor, unsigned class_, bool on_root_bus);
