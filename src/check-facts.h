/* SPDX-License-Identifier: MIT */
/* Inside `check`: the facts read from the machine, and the judges that turn
 * them into verdicts. Reading (check-gather.c, check-acs.c, check-probe.c)
 * and judging (check-path.c, check-vf.c, check-host.c) are separate so that
 * the judges are pure functions of the facts, tested one rule at a time.
 *
 * Every fact that can be unknown carries the reason it is ("a capture holds
 * no NVMe admin data"); the judges turn those into UNKNOWN with that reason,
 * never into FAIL. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "strv.h" /* homi_fmt */
#include "checks.h"
#include "macro.h"

/* ACS control/capability bits (PCIe 6.12, lspci's names). */
enum {
	HOMI_ACS_SV = 0x01, /* SrcValid */
	HOMI_ACS_TB = 0x02, /* TransBlk */
	HOMI_ACS_RR = 0x04, /* ReqRedir */
	HOMI_ACS_CR = 0x08, /* CmpltRedir */
	HOMI_ACS_UF = 0x10, /* UpstreamFwd */
	HOMI_ACS_EC = 0x20, /* EgressCtrl */
	HOMI_ACS_DT = 0x40, /* DirectTrans */
};
/* What Linux requires on every port above a device before it gives the
 * device an IOMMU group of its own (REQ_ACS_FLAGS, drivers/iommu/iommu.c). */
#define HOMI_ACS_ISOLATION (HOMI_ACS_SV | HOMI_ACS_RR | HOMI_ACS_CR | HOMI_ACS_UF)

#define HOMI_PORT_ROOT 4       /* PCI_EXP_TYPE_ROOT_PORT */
#define HOMI_PORT_UPSTREAM 5   /* PCI_EXP_TYPE_UPSTREAM */
#define HOMI_PORT_DOWNSTREAM 6 /* PCI_EXP_TYPE_DOWNSTREAM */

enum homi_acs_state { HOMI_ACS_READ, HOMI_ACS_ABSENT, HOMI_ACS_UNREADABLE };

struct homi_acs {
	enum homi_acs_state state;
	int offset;                 /* of the capability in config space */
	uint16_t cap, ctl;
	uint32_t egress;            /* first 32 bits of the egress control vector (EC implemented) */
	char why[160];              /* HOMI_ACS_UNREADABLE: why */
};

/* A bridge on the path from the root to the VF or to the GPU. */
struct homi_port {
	char pci[HOMI_ADDR_LEN];
	int port_type;              /* HOMI_PORT_*, other PCIe types, -1 unknown */
	bool above_vf, above_gpu;   /* on the VF's path, on the GPU's (both: shared) */
	struct homi_acs acs;
};

struct homi_member {
	char pci[HOMI_ADDR_LEN];
	char driver[32];            /* "" none */
	enum homi_kind kind;
};

enum homi_pairing {
	HOMI_PAIR_NAMED,            /* the policy names the GPU */
	HOMI_PAIR_NEAREST,          /* "gpu": "nearest" */
	HOMI_PAIR_UNSET,            /* the policy entry has no "gpu": nearest */
	HOMI_PAIR_NONE,             /* "gpu": "none" */
	HOMI_PAIR_NO_POLICY,        /* no policy lists the VF: nearest */
};

struct homi_pair_facts {
	/* The pair */
	char vf[HOMI_ADDR_LEN];     /* "" while the VF is not enabled */
	char pf[HOMI_ADDR_LEN];
	unsigned vfn;
	char label[48];             /* "0000:04:00.1" or "VF1 of 0000:04:00.0" */
	int pf_num_vfs;             /* sriov_numvfs of the PF, -1 unknown */
	enum homi_pairing pairing;
	char origin[160];           /* the policy entry ("" none) */
	char gpu[HOMI_ADDR_LEN];    /* "" none paired */
	char named_gpu[HOMI_ADDR_LEN]; /* HOMI_PAIR_NAMED: the address the policy names */
	bool machine_has_gpu;
	char want_driver[16];       /* the policy's driver for the VF ("" no policy) */
	char vf_driver[32];         /* "" none */

	/* Path VF <-> GPU (when gpu[0]) */
	enum homi_affinity_link link;
	char common[HOMI_ADDR_LEN]; /* lowest common bridge, "" none */
	int common_type;
	char vf_hb[16], gpu_hb[16];
	int vf_numa, gpu_numa;
	struct homi_port *ports;    /* VF side upwards, then GPU side upwards, then shared */
	size_t n_ports;
	char best_gpu[HOMI_ADDR_LEN]; /* the GPU nearest to the VF ("" none) */
	enum homi_affinity_link best_link;

	/* The VF's IOMMU group */
	int group;                  /* -1 none */
	char group_type[16];        /* default domain: "DMA", "identity", "unknown"; "" unreadable */
	char group_name[32];        /* "vfio-noiommu" for vfio's fake groups, "" none */
	struct homi_member *members;/* the other members */
	size_t n_members;
	int gpu_group;
	char gpu_group_type[16];

	/* The VF's secondary controller (CNS 0x15 through the PF) */
	bool sec_known;
	char sec_why[200];          /* unknown: why */
	bool sec_found;
	bool online;
	unsigned scid, nvq, nvi;
	char ctrl[32];              /* the PF's controller ("nvme0") when known */

	/* /dev/vfio/<group> */
	bool node_known;
	char node_why[160];
	char node[64];
	uid_t uid;
	gid_t gid;
	int mode;
	char want_owner[64], want_group[64]; /* "" not set by the policy */
	int want_mode;              /* -1 not set */
	bool want_ids_known;
	uid_t want_uid;
	gid_t want_gid;
	char want_ids_why[160];

	/* The GPU */
	char gpu_driver[32];
	unsigned gpu_vendor;
	bool bar_known;
	char bar_why[160];
	int bar;                    /* region index of the largest prefetchable 64-bit BAR */
	uint64_t bar_start, bar_size;
	bool mem_known;
	char mem_why[200];
	uint64_t mem_total, nvml_bar1;
};

enum homi_importer_state {
	HOMI_IMPORTER_OK,           /* the node answers the import ioctls */
	HOMI_IMPORTER_NO_NODE,
	HOMI_IMPORTER_NO_IOCTL,     /* the node exists but does not implement them */
	HOMI_IMPORTER_UNKNOWN,
};

struct homi_host_facts {
	bool live;
	/* IOMMU */
	int iommu_units;            /* entries of class/iommu */
	char iommu_names[64];
	bool cmdline_known;
	char cmdline[256];          /* the IOMMU, ACS and vfio words of /proc/cmdline ("" none) */
	int noiommu;                /* vfio enable_unsafe_noiommu_mode: 1, 0, -1 unknown */
	/* vfio */
	bool vfio_pci;              /* bus/pci/drivers/vfio-pci exists */
	int type1, iommufd;         /* module loaded: 1, 0, -1 unknown */
	int dev_vfio, dev_iommu;    /* /dev/vfio/vfio, /dev/iommu: 1, 0, -1 unknown */
	/* dma-buf importer (gpu-path.md 2.4) */
	enum homi_importer_state importer;
	char importer_node[64];
	char importer_why[256];
	bool importer_bdf;          /* DMABUF_IMPORT_ATTACH_BDF answered too */
};

/* ---- reading ------------------------------------------------------------ */

/* What the caller asks about one VF. */
struct homi_check_want {
	char pf[HOMI_ADDR_LEN];
	unsigned vfn;
	const struct homi_want_vf *want; /* NULL: no policy lists it */
};

void homi_check_gather_host(const struct homi_check_env *env, struct homi_host_facts *h);
int homi_check_gather_pair(const struct homi_check_env *env, const struct homi_check_want *w,
			   struct homi_pair_facts *f);
/* The GPU facts alone (BAR1, memory), for `check GPU` without a pair. */
void homi_check_gather_gpu(const struct homi_check_env *env, const char *gpu, struct homi_pair_facts *f);
void homi_pair_facts_clear(struct homi_pair_facts *f);

/* ACS of port ADDR: its extended capability through libpci, or why not.
 * Config space shorter than 4096 bytes (an unprivileged reader sees 64)
 * makes it unreadable rather than absent. */
void homi_acs_read(const struct homi_sysfs *s, struct homi_pci *pci, const char *addr, struct homi_acs *ret);
/* "SrcValid+ TransBlk- ReqRedir+ ..." for the bits CAP implements. */
void homi_acs_describe(uint16_t cap, uint16_t word, char *buf, size_t len);

/* Live-only probes (check-probe.c). */
void homi_probe_importer(const struct homi_sysfs *s, struct homi_host_facts *h);
/* GPU memory and BAR1 size through NVIDIA's management library, loaded
 * with dlopen; false with the reason when it cannot tell. */
bool homi_probe_nvml(const char *gpu, uint64_t *ret_mem, uint64_t *ret_bar1, char *why, size_t why_len);
/* The same with the library named (tests load a stand-in). */
bool homi_probe_nvml_lib(const char *library, const char *gpu, uint64_t *ret_mem, uint64_t *ret_bar1, char *why,
			 size_t why_len);

/* ---- judging ------------------------------------------------------------ */

/* Adds one verdict, its modes cut to the report's; nothing when none is
 * left. WHY and FIX (NULL: none) are taken over. */
void homi_report_add(struct homi_check_report *r, const char *check, const char *subject,
		     const struct homi_pair_facts *f, unsigned modes, enum homi_check_status st, char *why,
		     char *fix);


void homi_judge_modules(const struct homi_host_facts *h, struct homi_check_report *r);
void homi_judge_importer(const struct homi_host_facts *h, struct homi_check_report *r);
void homi_judge_gpu_bar1(const struct homi_pair_facts *f, struct homi_check_report *r);

void homi_judge_pairing(const struct homi_pair_facts *f, struct homi_check_report *r);
void homi_judge_affinity(const struct homi_pair_facts *f, struct homi_check_report *r);
void homi_judge_acs(const struct homi_host_facts *h, const struct homi_pair_facts *f, struct homi_check_report *r);

void homi_judge_iommu_mode(const struct homi_host_facts *h, const struct homi_pair_facts *f,
			   struct homi_check_report *r);
void homi_judge_iommu_group(const struct homi_host_facts *h, const struct homi_pair_facts *f,
			    struct homi_check_report *r);
void homi_judge_vf_driver(const struct homi_pair_facts *f, struct homi_check_report *r);
void homi_judge_vf_online(const struct homi_pair_facts *f, struct homi_check_report *r);
void homi_judge_vfio_owner(const struct homi_pair_facts *f, struct homi_check_report *r);

/* All of a pair's verdicts, in the documented order. */
void homi_judge_pair(const struct homi_host_facts *h, const struct homi_pair_facts *f, struct homi_check_report *r);
/* Whether the IOMMU translates DMA on this host: 1 on, 0 off, from the facts. */
int homi_iommu_on(const struct homi_host_facts *h, const struct homi_pair_facts *f);
