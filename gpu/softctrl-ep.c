/* SPDX-License-Identifier: MIT */
/* The soft controller behind the controller-endpoint callbacks: its
 * doorbells are host memory, its IOVAs come from its DMA windows, and its
 * admin commands run synchronously. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "softctrl-ep.h"

static int ep_info(void *ctx, struct homi_gpu_ctrl_info *info)
{
	struct homi_softctrl *sc = ctx;
	const struct homi_softctrl_config *c = homi_softctrl_cfg(sc);
	size_t len;
	uint8_t *bar0 = homi_softctrl_bar0(sc, &len);

	memset(info, 0, sizeof(*info));
	memcpy(&info->cap, bar0 + HOMI_NVME_REG_CAP, sizeof(info->cap));
	info->page_size = c->page_size;
	info->mdts_bytes = c->mdts_pages * c->page_size;
	info->nsid = c->nsid;
	info->lba_shift = c->lba_shift;
	info->nlbas = c->nlbas;
	info->max_ioqs = c->max_ioqs;
	/* doorbells in host memory; it is CPU code and reaches host memory only */
	info->flags = HOMI_GPU_CTRL_HOST_ONLY;
	snprintf(info->name, sizeof(info->name), "soft");
	return 0;
}

static int ep_bar0(void *ctx, void **va, size_t *len)
{
	*va = homi_softctrl_bar0(ctx, len);
	return 0;
}

static int ep_dma_map(void *ctx, void *va, size_t len, uint64_t *iova)
{
	return homi_softctrl_dma_map(ctx, va, len, iova);
}

static int ep_dma_unmap(void *ctx, void *va, size_t len)
{
	return homi_softctrl_dma_unmap(ctx, va, len);
}

static int ep_admin(void *ctx, const struct homi_nvme_sqe *cmd, struct homi_nvme_cqe *cpl)
{
	return homi_softctrl_admin(ctx, cmd, cpl);
}

static const struct homi_gpu_ctrl_ops soft_ops = {
	.info = ep_info,
	.bar0 = ep_bar0,
	.dma_map = ep_dma_map,
	.dma_unmap = ep_dma_unmap,
	.admin = ep_admin,
};

void homi_softctrl_endpoint(struct homi_softctrl *sc, struct homi_gpu_ctrl *ep)
{
	ep->ops = &soft_ops;
	ep->ctx = sc;
}
