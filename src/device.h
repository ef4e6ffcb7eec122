/* SPDX-License-Identifier: MIT */
/* What `device show` knows beyond the topology: the NVMe virtualization
 * state of a PF read through its controller (CNS 0x14 and 0x15). Each part
 * that cannot be read is unknown with a reason; loading never fails for it. */
#pragma once

#include "nvme.h"
#include "topology.h"

struct homi_device_report {
	size_t idx;                         /* device in the topology */
	bool have_primary;
	struct homi_primary_caps primary;
	char *primary_unknown;              /* reason when !have_primary */
	bool have_secondaries;
	struct homi_secondary *secondaries;
	size_t n_secondaries;
	char *secondaries_unknown;
};

int homi_device_report_load(const struct homi_sysfs *s, const struct homi_topology *t, size_t idx,
			    struct homi_device_report **ret);
struct homi_device_report *homi_device_report_free(struct homi_device_report *r);

/* Address of the VF with number VFN (1-based) of PF, or NULL while that VF
 * is not enabled. */
const char *homi_device_vf_addr(const struct homi_device *pf, unsigned vfn);
