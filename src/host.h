/* SPDX-License-Identifier: MIT */
/* The host: the narrow interface through which the core observes and changes
 * the machine. homi_host_linux() is the real one (sysfs, libnvme, /proc,
 * /dev/vfio); homi_host_sim() is a model of PCI SR-IOV and NVMe
 * virtualization management for unit tests (host-sim.h).
 *
 * Devices are named by PCI address; NVMe operations take the PF's address.
 * Returns are 0 or a negative errno; a command the controller completed with
 * an error returns -EIO with its status in *ret_status. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nvme.h"
#include "topology.h"

/* Virtualization Management (admin 0x1C) actions and resource types. */
enum {
	HOMI_VM_ACT_PRIMARY_FLEX = 1,
	HOMI_VM_ACT_OFFLINE = 7,
	HOMI_VM_ACT_ASSIGN = 8,
	HOMI_VM_ACT_ONLINE = 9,
	HOMI_VM_RT_VQ = 0,
	HOMI_VM_RT_VI = 1,
};

struct homi_host;

struct homi_host_ops {
	const char *name;

	/* Observation */
	int (*topology)(struct homi_host *h, struct homi_topology **ret);
	int (*primary_caps)(struct homi_host *h, const char *pf, struct homi_primary_caps *ret, int *ret_status);
	int (*secondaries)(struct homi_host *h, const char *pf, struct homi_secondary **ret, size_t *ret_n,
			   int *ret_status);
	/* NSIDs allocated in the PF's NVM subsystem (Identify CNS 0x10). */
	int (*namespaces)(struct homi_host *h, const char *pf, uint32_t **ret, size_t *ret_n, int *ret_status);
	/* Controllers namespace NSID is attached to (Identify CNS 0x12). */
	int (*ns_controllers)(struct homi_host *h, const char *pf, uint32_t nsid, uint16_t **ret, size_t *ret_n,
			      int *ret_status);
	/* 1 with a description ("pid 4242 (fio) holds /dev/vfio/12") when a
	 * process holds function ADDR through vfio, 0 when none does. */
	int (*vfio_users)(struct homi_host *h, const char *addr, char **ret_who);
	/* 1 with a description when a namespace of controller ADDR (any NSID
	 * when NSID is 0) is mounted or held by another block device. */
	int (*ns_users)(struct homi_host *h, const char *addr, uint32_t nsid, char **ret_who);
	/* 1 when the root file system lives on function ADDR. */
	int (*holds_root_fs)(struct homi_host *h, const char *addr);
	/* Owner, group and mode of /dev/vfio/GROUP. */
	int (*vfio_node)(struct homi_host *h, int group, uid_t *uid, gid_t *gid, mode_t *mode);
	/* Reads attribute ATTR of function ADDR (driver_override). */
	int (*read_attr)(struct homi_host *h, const char *addr, const char *attr, char *buf, size_t len);
	int (*lookup_user)(struct homi_host *h, const char *name, uid_t *ret);
	int (*lookup_group)(struct homi_host *h, const char *name, gid_t *ret);

	/* Changes */
	/* Writes attribute ATTR of function ADDR (sriov_numvfs,
	 * sriov_drivers_autoprobe, driver_override, reset). A PF reset returns
	 * once its controller is live again. */
	int (*write_attr)(struct homi_host *h, const char *addr, const char *attr, const char *value);
	/* /sys/bus/pci/drivers_probe for ADDR. */
	int (*drivers_probe)(struct homi_host *h, const char *addr);
	/* Unbinds ADDR from DRIVER. */
	int (*unbind)(struct homi_host *h, const char *addr, const char *driver);
	int (*virt_mgmt)(struct homi_host *h, const char *pf, int act, int rt, uint16_t cntlid, uint16_t nr,
			 int *ret_status);
	int (*ns_attach)(struct homi_host *h, const char *pf, uint32_t nsid, uint16_t cntlid, bool attach,
			 int *ret_status);
	int (*vfio_chown)(struct homi_host *h, int group, uid_t uid, gid_t gid, mode_t mode);

	/* Drops what the host remembers of the machine (the Linux host keeps
	 * the topology between its own writes): a long-lived caller does this
	 * before each operation, since others change the machine too. May be
	 * NULL. */
	void (*forget)(struct homi_host *h);

	/* A second handle onto the same machine, for observing it from another
	 * thread while this one changes it: its own cache, its own counters;
	 * every change op fails with -EROFS. It sees the machine as it is
	 * during each call: some steps of a change done, and on Linux possibly
	 * one under way (sysfs is read file by file); the simulated host
	 * serializes its ops, so a reader sees it between two of them. One
	 * thread at a time per handle; free it (homi_host_free) before H. May
	 * be NULL. */
	int (*reader)(struct homi_host *h, struct homi_host **ret);

	void (*free)(struct homi_host *h);
};

/* What a host did, for benchmarks and tests. */
struct homi_host_counters {
	unsigned sysfs_writes, admin_writes, admin_reads, resets;
};

struct homi_host {
	const struct homi_host_ops *ops;
	struct homi_host_counters counters;
};

/* The live machine: sysfs below S (which must be live to change anything). */
int homi_host_linux(struct homi_sysfs *s, struct homi_host **ret);
struct homi_host *homi_host_free(struct homi_host *h);
void homi_host_forget(struct homi_host *h);
/* ops->reader, or -EOPNOTSUPP. */
int homi_host_reader(struct homi_host *h, struct homi_host **ret);

/* Text of the error of a host call: "strerror" or "NVMe status 0x4120
 * (Invalid Secondary Controller State)". Static storage per thread. */
const char *homi_host_strerror(int r, int status);
