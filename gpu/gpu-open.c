/* SPDX-License-Identifier: MIT */
/* libhomi-gpu: opening an endpoint for CUDA. The doorbell page goes into
 * the GPU's address space: a device BAR with IOMEMORY | DEVICEMAP (first
 * the endpoint's own mapping, the vfio region; if CUDA refuses it, the
 * endpoint's sysfs resource0 mapping, gpu-path.md R1), host memory with
 * DEVICEMAP, GPU memory as it is. Which one was used is reported. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu-internal.h"

const char *homi_gpu_mode_name(enum homi_gpu_mode mode)
{
	switch (mode) {
	case HOMI_GPU_MODE_H:
		return "H";
	case HOMI_GPU_MODE_D:
		return "D";
	case HOMI_GPU_MODE_G:
		return "G";
	}
	return "?";
}

int homi_gpu_mode_parse(const char *s, enum homi_gpu_mode *mode)
{
	if (!strcmp(s, "H") || !strcmp(s, "h"))
		*mode = HOMI_GPU_MODE_H;
	else if (!strcmp(s, "D") || !strcmp(s, "d"))
		*mode = HOMI_GPU_MODE_D;
	else if (!strcmp(s, "G") || !strcmp(s, "g"))
		*mode = HOMI_GPU_MODE_G;
	else
		return -EINVAL;
	return 0;
}

const char *homi_gpu_cu_name(CUresult r)
{
	const char *s = NULL;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || !s)
		return "CUDA_ERROR_UNKNOWN";
	return s;
}

int homi_gpu_cu_errno(CUresult r)
{
	switch (r) {
	case CUDA_SUCCESS:
		return 0;
	case CUDA_ERROR_INVALID_VALUE:
		return -EINVAL;
	case CUDA_ERROR_OUT_OF_MEMORY:
		return -ENOMEM;
	case CUDA_ERROR_NOT_PERMITTED:
		return -EPERM;
	case CUDA_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED:
		return -EEXIST;
	case CUDA_ERROR_NO_DEVICE:
	case CUDA_ERROR_INVALID_DEVICE:
		return -ENODEV;
	default:
		return -EIO;
	}
}

int homi_gpu_cuda_errno(cudaError_t e)
{
	switch (e) {
	case cudaSuccess:
		return 0;
	case cudaErrorInvalidValue:
		return -EINVAL;
	case cudaErrorMemoryAllocation:
		return -ENOMEM;
	case cudaErrorNoDevice:
	case cudaErrorInvalidDevice:
		return -ENODEV;
	case cudaErrorNotPermitted:
		return -EPERM;
	case cudaErrorNotSupported:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static size_t host_page(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

/* Register [VA, VA+LEN) with FLAGS and get its device pointer. */
static CUresult reg(void *va, size_t len, unsigned flags, uint8_t **dev)
{
	CUdeviceptr d = 0;
	CUresult r = cuMemHostRegister(va, len, flags);
	if (r != CUDA_SUCCESS)
		return r;
	r = cuMemHostGetDevicePointer(&d, va, 0);
	if (r != CUDA_SUCCESS) {
		cuMemHostUnregister(va);
		return r;
	}
	*dev = (uint8_t *)(uintptr_t)d;
	return CUDA_SUCCESS;
}

static int doorbells(struct homi_gpu *g)
{
	const struct homi_gpu_ctrl_ops *ops = g->ctrl.ops;
	const size_t pg = host_page();
	size_t bar_len = 0, need, len;
	uint32_t dstrd = homi_nvme_cap_dstrd(g->info.cap);
	uint8_t *bar0 = NULL;
	CUresult r1, r2;
	int ret;

	need = (size_t)2 * (g->info.max_ioqs + 1u) * (4u << dstrd);
	len = (need + pg - 1) & ~(pg - 1);
	ret = ops->bar0(g->ctrl.ctx, (void **)&bar0, &bar_len);
	if (ret)
		return ret;
	if (!bar0 || bar_len < HOMI_NVME_REG_DOORBELLS + need)
		return -EINVAL;
	if (bar_len - HOMI_NVME_REG_DOORBELLS < len)
		len = bar_len - HOMI_NVME_REG_DOORBELLS;

	if (g->info.flags & HOMI_GPU_CTRL_DB_DEVMEM) {
		g->db_dev = bar0 + HOMI_NVME_REG_DOORBELLS;
		g->db_path = HOMI_GPU_DB_DEVMEM;
		snprintf(g->db_desc, sizeof(g->db_desc), "GPU memory (%zu bytes of doorbells)", need);
		return 0;
	}
	if (!(g->info.flags & HOMI_GPU_CTRL_DB_IOMEM)) {
		r1 = reg(bar0 + HOMI_NVME_REG_DOORBELLS, len, CU_MEMHOSTREGISTER_DEVICEMAP | CU_MEMHOSTREGISTER_PORTABLE,
			 &g->db_dev);
		if (r1 != CUDA_SUCCESS) {
			snprintf(g->db_desc, sizeof(g->db_desc), "host memory: cuMemHostRegister(DEVICEMAP): %s",
				 homi_gpu_cu_name(r1));
			return homi_gpu_cu_errno(r1);
		}
		g->db_host = bar0 + HOMI_NVME_REG_DOORBELLS;
		g->db_len = len;
		g->db_path = HOMI_GPU_DB_HOSTMEM;
		snprintf(g->db_desc, sizeof(g->db_desc), "host memory, cuMemHostRegister(DEVICEMAP), %zu bytes", len);
		return 0;
	}
	r1 = reg(bar0 + HOMI_NVME_REG_DOORBELLS, len, CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_DEVICEMAP,
		 &g->db_dev);
	if (r1 == CUDA_SUCCESS) {
		g->db_host = bar0 + HOMI_NVME_REG_DOORBELLS;
		g->db_len = len;
		g->db_path = HOMI_GPU_DB_IOMEM_BAR;
		snprintf(g->db_desc, sizeof(g->db_desc), "BAR0 mapping of the endpoint, cuMemHostRegister(IOMEMORY|DEVICEMAP)");
		return 0;
	}
	if (!ops->bar0_sysfs) {
		snprintf(g->db_desc, sizeof(g->db_desc),
			 "BAR0 mapping refused by cuMemHostRegister(IOMEMORY|DEVICEMAP): %s; no sysfs mapping to fall back to",
			 homi_gpu_cu_name(r1));
		return homi_gpu_cu_errno(r1);
	}
	bar0 = NULL;
	ret = ops->bar0_sysfs(g->ctrl.ctx, (void **)&bar0, &bar_len);
	if (ret || !bar0 || bar_len < HOMI_NVME_REG_DOORBELLS + need) {
		snprintf(g->db_desc, sizeof(g->db_desc),
			 "BAR0 mapping refused by cuMemHostRegister(IOMEMORY|DEVICEMAP): %s; sysfs resource0 mapping failed (%s)",
			 homi_gpu_cu_name(r1), ret ? strerror(-ret) : "too small");
		return ret ? ret : homi_gpu_cu_errno(r1);
	}
	r2 = reg(bar0 + HOMI_NVME_REG_DOORBELLS, len, CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_DEVICEMAP,
		 &g->db_dev);
	if (r2 != CUDA_SUCCESS) {
		snprintf(g->db_desc, sizeof(g->db_desc),
			 "BAR0 refused by cuMemHostRegister(IOMEMORY|DEVICEMAP): endpoint mapping %s, sysfs resource0 %s",
			 homi_gpu_cu_name(r1), homi_gpu_cu_name(r2));
		return homi_gpu_cu_errno(r2);
	}
	g->db_host = bar0 + HOMI_NVME_REG_DOORBELLS;
	g->db_len = len;
	g->db_path = HOMI_GPU_DB_IOMEM_SYSFS;
	snprintf(g->db_desc, sizeof(g->db_desc),
		 "sysfs resource0 mapping, cuMemHostRegister(IOMEMORY|DEVICEMAP); the endpoint mapping was refused: %s",
		 homi_gpu_cu_name(r1));
	return 0;
}

int homi_gpu_open(const struct homi_gpu_ctrl *ctrl, int cuda_device, struct homi_gpu **out, char *why,
		  size_t whylen)
{
	struct homi_gpu *g;
	cudaError_t ce;
	int clk = 0, ret;

	if (!ctrl || !ctrl->ops || !ctrl->ops->info || !ctrl->ops->bar0 || !ctrl->ops->dma_map ||
	    !ctrl->ops->dma_unmap || !ctrl->ops->admin || !out)
		return -EINVAL;
	if (!ctrl->ops->dma_alloc != !ctrl->ops->dma_free)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->ctrl = *ctrl;
	g->device = cuda_device;
	ret = ctrl->ops->info(ctrl->ctx, &g->info);
	if (ret)
		goto fail;
	ret = -EINVAL;
	if (!g->info.max_ioqs || !g->info.page_size || (g->info.page_size & (g->info.page_size - 1)) ||
	    !g->info.nlbas || g->info.lba_shift < 9)
		goto fail;
	ret = -ENOMEM;
	g->qid_used = calloc(g->info.max_ioqs + 1u, 1);
	if (!g->qid_used)
		goto fail;
	ce = cudaSetDevice(cuda_device);
	if (ce == cudaSuccess)
		ce = cudaFree(0); /* the primary context, for the driver API calls */
	if (ce == cudaSuccess)
		ce = cudaDeviceGetAttribute(&clk, cudaDevAttrClockRate, cuda_device);
	if (ce != cudaSuccess) {
		ret = homi_gpu_cuda_errno(ce);
		goto fail;
	}
	g->clock_khz = clk > 0 ? (uint32_t)clk : 1000000;
	ret = doorbells(g);
	if (ret)
		goto fail;
	if (why && whylen)
		snprintf(why, whylen, "%s", g->db_desc);
	*out = g;
	return 0;
fail:
	if (why && whylen)
		snprintf(why, whylen, "%s", g->db_desc[0] ? g->db_desc : strerror(-ret));
	free(g->qid_used);
	free(g);
	return ret;
}

void homi_gpu_close(struct homi_gpu *g)
{
	if (!g)
		return;
	if (g->db_host)
		cuMemHostUnregister(g->db_host);
	free(g->qid_used);
	free(g);
}

const struct homi_gpu_ctrl_info *homi_gpu_info(const struct homi_gpu *g)
{
	return &g->info;
}

enum homi_gpu_db_path homi_gpu_doorbell_path(const struct homi_gpu *g)
{
	return g->db_path;
}

const char *homi_gpu_doorbell_desc(const struct homi_gpu *g)
{
	return g->db_desc;
}

uint32_t homi_gpu_clock_khz(const struct homi_gpu *g)
{
	return g->clock_khz;
}
