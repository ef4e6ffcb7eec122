/* SPDX-License-Identifier: MIT */
/* Observed state and plans.
 *
 * homi_observe() reads, through the host, what planning needs about the PFs
 * that a policy wants or that homi owns: the topology, NVMe virtualization
 * state, namespaces and their attachments, who uses each VF, /dev/vfio
 * ownership. homi_plan_build() is a pure function of that observation and
 * the desired state: the ordered steps of ARCHITECTURE.md 3.2, only those
 * whose effect does not already hold, after every feasibility check. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "host.h"
#include "policy.h"
#include "state.h"

enum homi_op {
	HOMI_OP_DISABLE_VFS,
	HOMI_OP_PRIMARY_FLEX,
	HOMI_OP_RESET_PF,
	HOMI_OP_SET_AUTOPROBE,
	HOMI_OP_ENABLE_VFS,
	HOMI_OP_SECONDARY_OFFLINE,
	HOMI_OP_ASSIGN,
	HOMI_OP_SECONDARY_ONLINE,
	HOMI_OP_ATTACH_NS,
	HOMI_OP_DETACH_NS,
	HOMI_OP_BIND,
	HOMI_OP_UNBIND,
	HOMI_OP_SET_VFIO_OWNER,
	_HOMI_OP_MAX,
};

struct homi_step {
	enum homi_op op;
	char pf[HOMI_ADDR_LEN];
	int resource;                 /* primary-flex, assign: HOMI_VM_RT_VQ / _VI */
	int count;                    /* primary-flex, assign, enable-vfs */
	int value;                    /* set-autoprobe; primary-flex: 1 staged again, no reset follows */
	uint16_t cntlid;              /* secondary-*, assign, attach/detach-ns */
	uint32_t nsid;                /* attach/detach-ns */
	unsigned vf;                  /* VF number the step concerns, 0 for PF steps */
	char vf_pci[HOMI_ADDR_LEN];   /* bind, unbind, set-vfio-owner */
	char driver[16];              /* bind: target; unbind: the driver it leaves */
	char owner[64], group[64];    /* set-vfio-owner, as the policy names them */
	uid_t uid;
	gid_t gid;
	int mode;
	/* Undo steps only: driver_override to write back after bind/unbind. */
	bool restore_override;
	char override[16];
	/* Undo steps only: run once every other undo step is done (what VFs
	 * that the rollback re-creates had needs their secondaries back). */
	bool late;
};

struct homi_plan {
	struct homi_step *steps;
	size_t n_steps;
	char **notes;                 /* facts worth telling (e.g. "fixed VF resources") */
	size_t n_notes;
};

struct homi_vf_observed {
	char pci[HOMI_ADDR_LEN];      /* "" while not enabled */
	unsigned vf;
	const char *driver;           /* into the topology; NULL unbound */
	int iommu_group;
	char *vfio_user;              /* who holds it through vfio, NULL none */
	char *ns_user;                /* nvme VF: what mounts/holds its namespace */
	bool have_node;               /* /dev/vfio/<group> stat */
	uid_t node_uid;
	gid_t node_gid;
	int node_mode;
};

struct homi_ns_observed {
	uint32_t nsid;
	uint16_t *ctrls;              /* attached controllers (CNS 0x12) */
	size_t n_ctrls;
	char *pf_user;                /* mounted or held through the PF */
};

struct homi_pf_observed {
	size_t idx;                   /* in the topology */
	bool flexible;                /* Virtualization Management with flexible resources */
	char *fixed_why;              /* why not, when !flexible */
	struct homi_primary_caps primary;
	struct homi_secondary *sec;   /* NULL when unknown */
	size_t n_sec;
	bool have_ns;
	struct homi_ns_observed *ns;
	size_t n_ns;
	struct homi_vf_observed *vfs; /* one per enabled VF, by number */
	size_t n_vfs;
	bool holds_root_fs;
	/* resolved owner/group of the desired vfio VFs, by VF number */
	struct homi_pf_ids { unsigned vf; uid_t uid; gid_t gid; char *error; } *ids;
	size_t n_ids;
};

struct homi_observed {
	struct homi_topology *topology;
	struct homi_pf_observed *pfs;
	size_t n_pfs;
};

/* Observes the PFs of WANT plus the owned ones (RECORDS, may be NULL). */
int homi_observe(struct homi_host *h, const struct homi_desired *want, const struct homi_owned_set *records,
		 struct homi_observed **ret);
struct homi_observed *homi_observed_free(struct homi_observed *o);
const struct homi_pf_observed *homi_observed_pf(const struct homi_observed *o, const char *addr);

struct homi_plan_opts {
	bool force;                   /* override "a namespace of an nvme VF is mounted" */
	bool teardown_allow_pf_reset; /* teardown may reset PFs to restore their allocation */
	const char *only_pf;          /* plan this PF alone (teardown PF, the imperative commands) */
};

/* Plans WANT against O. PFs owned (RECORDS) that WANT no longer names are
 * torn down to their recorded state. Every infeasibility is one line in
 * *ret_errors (-EINVAL); nothing partial is returned. */
int homi_plan_build(const struct homi_observed *o, const struct homi_desired *want,
		    const struct homi_owned_set *records, const struct homi_plan_opts *opts, struct homi_plan **ret,
		    char **ret_errors);
struct homi_plan *homi_plan_free(struct homi_plan *p);

const char *homi_op_name(enum homi_op op);
/* "enable-vfs" -> op, or -1. */
int homi_op_from_name(const char *name);
/* One human line: "enable-vfs 0000:01:00.0 count 4". Caller frees. */
char *homi_step_describe(const struct homi_step *s);
