/* SPDX-License-Identifier: MIT */
/* Memory both the controller (by DMA) and the GPU (by a device pointer)
 * reach. Host memory: the endpoint's dma_alloc or anonymous pages,
 * registered with cuMemHostRegister(DEVICEMAP) and mapped by the
 * endpoint's dma_map. GPU memory: cudaMalloc, then either the endpoint's
 * dma_map (the loopback responder, whose "IOVAs" are device pointers) or
 * the dma-buf importer's bus addresses. Every step is undone on failure. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "gpu-internal.h"

uint64_t homi_gmem_bus(const struct homi_gmem *m, size_t off, uint32_t page)
{
	if (m->bus)
		return m->bus[off / page] + off % page;
	return m->iova + off;
}

void homi_gmem_free(struct homi_gpu *g, struct homi_gmem *m)
{
	const struct homi_gpu_ctrl_ops *ops = g->ctrl.ops;

	if (m->mapped)
		ops->dma_unmap(g->ctrl.ctx, m->va, m->len);
	if (m->bus || m->importer >= 0 || m->dmabuf >= 0)
		homi_gpu_dmabuf_unmap(m->bus, m->importer, m->dmabuf);
	if (m->registered)
		cuMemHostUnregister(m->va);
	switch (m->kind) {
	case HOMI_GMEM_HOST_MMAP:
		munmap(m->va, m->len);
		break;
	case HOMI_GMEM_HOST_EP:
		ops->dma_free(g->ctrl.ctx, m->va, m->len);
		break;
	case HOMI_GMEM_DEV:
		cudaFree(m->va);
		break;
	case HOMI_GMEM_NONE:
		break;
	}
	memset(m, 0, sizeof(*m));
	m->importer = m->dmabuf = -1;
}

static int gpu_side(struct homi_gpu *g, struct homi_gmem *m, int contig, char *why, size_t whylen)
{
	const uint32_t page = g->info.page_size;
	cudaError_t ce;
	int ret;

	ce = cudaMalloc(&m->va, m->len);
	if (ce != cudaSuccess) {
		m->va = NULL;
		snprintf(why, whylen, "cudaMalloc(%zu): %s", m->len, cudaGetErrorName(ce));
		return homi_gpu_cuda_errno(ce);
	}
	m->kind = HOMI_GMEM_DEV;
	m->dev = m->va;
	ce = cudaMemset(m->va, 0, m->len);
	if (ce != cudaSuccess) {
		snprintf(why, whylen, "cudaMemset: %s", cudaGetErrorName(ce));
		return homi_gpu_cuda_errno(ce);
	}
	if (g->info.flags & HOMI_GPU_CTRL_GPU_PEER) {
		ret = g->ctrl.ops->dma_map(g->ctrl.ctx, m->va, m->len, &m->iova);
		if (ret) {
			snprintf(why, whylen, "dma_map of GPU memory: %s", strerror(-ret));
			return ret;
		}
		m->mapped = 1;
		return 0;
	}
	ret = homi_gpu_dmabuf_map((CUdeviceptr)(uintptr_t)m->va, m->len, page, &m->bus, &m->importer, &m->dmabuf, why,
				  whylen);
	if (ret)
		return ret;
	if (contig) {
		for (size_t i = 1; i < m->len / page; i++) {
			if (m->bus[i] != m->bus[0] + i * page) {
				snprintf(why, whylen, "GPU memory for a queue is not contiguous on the bus");
				return -EOPNOTSUPP;
			}
		}
	}
	return 0;
}

static int host_side(struct homi_gpu *g, struct homi_gmem *m, char *why, size_t whylen)
{
	const struct homi_gpu_ctrl_ops *ops = g->ctrl.ops;
	CUdeviceptr d = 0;
	CUresult r;
	int ret;

	if (ops->dma_alloc) {
		ret = ops->dma_alloc(g->ctrl.ctx, m->len, &m->va);
		if (ret) {
			snprintf(why, whylen, "endpoint dma_alloc(%zu): %s", m->len, strerror(-ret));
			return ret;
		}
		m->kind = HOMI_GMEM_HOST_EP;
	} else {
		m->va = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m->va == MAP_FAILED) {
			m->va = NULL;
			snprintf(why, whylen, "mmap(%zu): %s", m->len, strerror(errno));
			return -ENOMEM;
		}
		m->kind = HOMI_GMEM_HOST_MMAP;
	}
	memset(m->va, 0, m->len);
	r = cuMemHostRegister(m->va, m->len, CU_MEMHOSTREGISTER_DEVICEMAP | CU_MEMHOSTREGISTER_PORTABLE);
	if (r != CUDA_SUCCESS) {
		snprintf(why, whylen, "cuMemHostRegister(DEVICEMAP, %zu): %s", m->len, homi_gpu_cu_name(r));
		return homi_gpu_cu_errno(r);
	}
	m->registered = 1;
	r = cuMemHostGetDevicePointer(&d, m->va, 0);
	if (r != CUDA_SUCCESS) {
		snprintf(why, whylen, "cuMemHostGetDevicePointer: %s", homi_gpu_cu_name(r));
		return homi_gpu_cu_errno(r);
	}
	m->dev = (uint8_t *)(uintptr_t)d;
	ret = ops->dma_map(g->ctrl.ctx, m->va, m->len, &m->iova);
	if (ret) {
		snprintf(why, whylen, "endpoint dma_map(%zu): %s", m->len, strerror(-ret));
		return ret;
	}
	m->mapped = 1;
	return 0;
}

int homi_gmem_alloc(struct homi_gpu *g, struct homi_gmem *m, size_t len, int on_gpu, int contig, char *why,
		    size_t whylen)
{
	/* GPU pages are 64 KiB: dma-buf export wants whole ones */
	const size_t gran = on_gpu ? 65536 : g->info.page_size;
	int ret;

	memset(m, 0, sizeof(*m));
	m->importer = m->dmabuf = -1;
	m->len = (len + gran - 1) / gran * gran;
	if (!m->len)
		m->len = gran;
	ret = on_gpu ? gpu_side(g, m, contig, why, whylen) : host_side(g, m, why, whylen);
	if (ret)
		homi_gmem_free(g, m);
	return ret;
}
