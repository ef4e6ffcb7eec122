/* SPDX-License-Identifier: MIT */
/* The real-VF endpoint until vfio/ provides one: it says why there is
 * none. The replacement implements homi-gpu-ctrl.h over libhomi-vfio
 * (vf_open, vf_bar_map, vf_bar_map_sysfs, vf_dma_map, the admin queue). */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "homi-gpu-vf.h"

int homi_gpu_vf_endpoint_open(const char *bdf, struct homi_gpu_ctrl *ep, char *why, size_t whylen)
{
	if (why && whylen)
		snprintf(why, whylen,
			 "%s: no vfio endpoint in this build: libhomi-gpu was built without vfio/ (libhomi-vfio), "
			 "see gpu/homi-gpu-ctrl.h and gpu/HARDWARE.md",
			 bdf ? bdf : "(none)");
	ep->ops = NULL;
	ep->ctx = NULL;
	return -ENOSYS;
}

void homi_gpu_vf_endpoint_close(struct homi_gpu_ctrl *ep)
{
	ep->ops = NULL;
	ep->ctx = NULL;
}
