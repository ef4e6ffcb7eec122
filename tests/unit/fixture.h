/* SPDX-License-Identifier: MIT */
/* Test fixtures: captured sysfs trees unpacked into a temporary directory,
 * and small trees built on the spot for one case each. */
#pragma once

#include "topology.h"

/* Unpacks $HOMI_FIXTURES/NAME.tar.gz; returns the path of its sys/ (static
 * storage until the next call). Aborts the test when it cannot. */
const char *fixture_unpack(const char *name);

/* A tree under construction: ROOT stands for /sys. */
struct tb {
	char root[256];
};
void tb_init(struct tb *tb);
void tb_cleanup(struct tb *tb);
/* Adds a PCI function at PATH below devices/ ("pci0000:00/0000:00:01.0"),
 * with vendor, device and class attributes and numa_node. */
void tb_add(struct tb *tb, const char *path, const char *vendor, const char *device, const char *class_, int numa);
/* Writes attribute NAME of the function ADDR. */
void tb_attr(struct tb *tb, const char *addr, const char *name, const char *value);
/* Creates link NAME in the function ADDR pointing to TARGET, verbatim. */
void tb_link(struct tb *tb, const char *addr, const char *name, const char *target);
/* Binds ADDR to driver DRV (creates bus/pci/drivers/DRV). */
void tb_driver(struct tb *tb, const char *addr, const char *drv);
/* Makes ADDR a PF with the given VFs (addresses) enabled. */
void tb_sriov(struct tb *tb, const char *pf, int total, const char *const *vfs, int n);
/* Adds an nvme class device NAME (with namespaces 1..n_ns) under ADDR. */
void tb_nvme(struct tb *tb, const char *addr, const char *name, int cntlid, int n_ns);

/* Loads the topology of ROOT (a sysfs root) or fails the test. */
struct homi_topology *load_topology(const char *root);
/* Device index by address, failing the test when absent. */
size_t dev_idx(const struct homi_topology *t, const char *addr);
/* Affinity name of the pair (GPU, NVMe) from the model's table. */
const char *affinity_of(const struct homi_topology *t, const char *gpu, const char *nvme);
