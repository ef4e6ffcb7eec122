/* SPDX-License-Identifier: MIT */
/* How a VF may use a namespace, as the policies delegate it: the policy
 * `access` of the namespace in the VF's entry (ARCHITECTURE.md 3.3). The
 * VF's PF and VF number come from the topology, the entry from the
 * policies resolved against it, exactly as homictl and homid see them. */
#pragma once

#include <stdint.h>

#include "sysfs.h"

enum homi_ns_access {
	HOMI_NS_UNMANAGED,  /* no policy matches the VF's PF: not homi's to judge */
	HOMI_NS_RW,         /* "access": "rw" (the default) */
	HOMI_NS_RO,         /* "access": "ro": writes are refused */
	HOMI_NS_NONE,       /* the policy covers the PF but does not delegate this namespace to this VF */
};

const char *homi_ns_access_name(enum homi_ns_access a);

/* The access of namespace NSID through VF (a PCI address) under the
 * policies at POLICY_PATH (a file or directory; a missing one means no
 * policy). RET_WHY gets the reason to show: the policy entry that decided
 * ("FILE: $.devices[0].vfs[0]"), or why none did; caller frees. Returns 0, -EINVAL when VF is not a VF, or the
 * error of a policy that does not load or resolve (the policy's own
 * messages in RET_WHY). */
int homi_ns_access_from_policy(const struct homi_sysfs *s, const char *policy_path, const char *vf, uint32_t nsid,
			       enum homi_ns_access *ret, char **ret_why);
