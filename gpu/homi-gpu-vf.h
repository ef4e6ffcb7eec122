/* SPDX-License-Identifier: MIT */
/* The real-VF endpoint: a VF opened through vfio/ behind the
 * controller-endpoint callbacks (homi-gpu-ctrl.h). vfio/ provides the
 * implementation once libhomi-vfio exists; until then gpu/vf-endpoint.c
 * answers -ENOSYS with the reason, so every caller (homi-gpu-perf
 * --target vf:BDF) is compiled against the real path and only the
 * endpoint is missing. */
#pragma once

#include <stddef.h>

#include "homi-gpu-ctrl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Open the VF at BDF (DDDD:BB:DD.F, bound to vfio-pci), bring its
 * controller up, grant I/O queues, and fill EP. */
int homi_gpu_vf_endpoint_open(const char *bdf, struct homi_gpu_ctrl *ep, char *why, size_t whylen);
void homi_gpu_vf_endpoint_close(struct homi_gpu_ctrl *ep);

#ifdef __cplusplus
}
#endif
