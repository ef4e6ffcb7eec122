/* SPDX-License-Identifier: MIT */
/* The soft controller as a controller endpoint (homi-gpu-ctrl.h). */
#pragma once

#include "homi-gpu-ctrl.h"
#include "softctrl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fill EP so that libhomi-gpu drives SC; SC must outlive EP. */
void homi_softctrl_endpoint(struct homi_softctrl *sc, struct homi_gpu_ctrl *ep);

#ifdef __cplusplus
}
#endif
