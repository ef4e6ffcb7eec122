/* SPDX-License-Identifier: MIT */
/* The simulated GPU server (host-sim.h): the shape the example policies
 * of policies/ are written for, so that each of them resolves and applies
 * in unit tests and in the reliability matrix. */
#include "config.h"

#include "host-sim.h"

#define SAMSUNG_MODEL "SAMSUNG MZWLJ3T8HBLS-00007"

static void add_static(struct homi_sim_config *c, const char *pci, const char *parent, const char *host_bridge,
		       const char *vendor, const char *device, const char *class_, const char *driver, int numa,
		       int group)
{
	c->statics[c->n_statics++] = (struct homi_sim_static){
		.pci = pci, .parent = parent, .host_bridge = host_bridge, .vendor = vendor, .device = device,
		.class_ = class_, .driver = driver, .numa_node = numa, .iommu_group = group,
	};
}

static void add_bridge(struct homi_sim_config *c, const char *pci, const char *parent, const char *host_bridge,
		       const char *device, int numa, int group)
{
	add_static(c, pci, parent, host_bridge, parent ? "0x1000" : "0x1022", device, "0x060400", "pcieport", numa,
		   group);
}

static void add_gpu(struct homi_sim_config *c, const char *pci, const char *parent, const char *host_bridge,
		    int numa, int group)
{
	add_static(c, pci, parent, host_bridge, "0x10de", "0x2335", "0x030200", "nvidia", numa, group);
}

static void add_samsung(struct homi_sim_config *c, const char *pci, const char *parent, const char *host_bridge,
			int numa, const char *serial, int group)
{
	c->pfs[c->n_pfs++] = (struct homi_sim_pf){
		.pci = pci, .parent = parent, .host_bridge = host_bridge, .numa_node = numa,
		.vendor = "0x144d", .device = "0xa824", .serial = serial, .model = SAMSUNG_MODEL,
		.total_vfs = 32, .cntlid = 0x41, .first_scid = 0x42, /* SCIDs are not VF numbers */
		.vqfrt = 128, .vifrt = 64, .vqprt = 2, .viprt = 1, .vqfrsm = 8, .vifrsm = 4,
		.iommu_group = group,
		.ns = { { .nsid = 1 }, { .nsid = 2, .detached = true } }, .n_ns = 2,
	};
}

void homi_sim_config_server(struct homi_sim_config *c)
{
	*c = (struct homi_sim_config){ 0 };
	/* NUMA node 0 */
	add_static(c, "0000:00:00.0", NULL, "pci0000:00", "0x1022", "0x14a4", "0x060000", NULL, 0, 0);
	add_bridge(c, "0000:00:01.0", NULL, "pci0000:00", "0x14ab", 0, 1);
	add_bridge(c, "0000:01:00.0", "0000:00:01.0", "pci0000:00", "0xc030", 0, 2);
	add_bridge(c, "0000:02:00.0", "0000:01:00.0", "pci0000:00", "0xc030", 0, 3);
	add_bridge(c, "0000:02:01.0", "0000:01:00.0", "pci0000:00", "0xc030", 0, 4);
	add_gpu(c, "0000:03:00.0", "0000:02:00.0", "pci0000:00", 0, 10);
	add_samsung(c, "0000:04:00.0", "0000:02:01.0", "pci0000:00", 0, "S6CRNA0R500001", 100);
	add_bridge(c, "0000:00:03.0", NULL, "pci0000:00", "0x14ab", 0, 5);
	add_static(c, "0000:06:00.0", "0000:00:03.0", "pci0000:00", "0x144d", "0xa80a", "0x010802", "nvme", 0, 11);
	add_static(c, "0000:00:17.0", NULL, "pci0000:00", "0x8086", "0xa182", "0x010601", "ahci", 0, 6);
	/* NUMA node 1 */
	add_static(c, "0000:80:00.0", NULL, "pci0000:80", "0x1022", "0x14a4", "0x060000", NULL, 1, 40);
	add_bridge(c, "0000:80:01.0", NULL, "pci0000:80", "0x14ab", 1, 41);
	add_bridge(c, "0000:81:00.0", "0000:80:01.0", "pci0000:80", "0xc030", 1, 42);
	add_bridge(c, "0000:82:00.0", "0000:81:00.0", "pci0000:80", "0xc030", 1, 43);
	add_bridge(c, "0000:82:01.0", "0000:81:00.0", "pci0000:80", "0xc030", 1, 44);
	add_bridge(c, "0000:82:02.0", "0000:81:00.0", "pci0000:80", "0xc030", 1, 45);
	add_gpu(c, "0000:83:00.0", "0000:82:00.0", "pci0000:80", 1, 50);
	add_samsung(c, "0000:84:00.0", "0000:82:01.0", "pci0000:80", 1, "S6CRNA0R500002", 140);
	add_gpu(c, "0000:85:00.0", "0000:82:02.0", "pci0000:80", 1, 51);
	c->root_fs_on = "0000:06:00.0";
}
