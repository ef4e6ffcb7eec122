/* SPDX-License-Identifier: MIT */
/* libhomi-gpu internals: the opened endpoint, CUDA error mapping, and the
 * dma-buf importer used by placement modes D and G. */
#pragma once

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "homi-gpu.h"

struct homi_gpu {
	struct homi_gpu_ctrl ctrl;
	struct homi_gpu_ctrl_info info;
	int device;
	uint32_t clock_khz;
	enum homi_gpu_db_path db_path;
	char db_desc[384];
	void *db_host;   /* the range registered with CUDA, NULL for GPU memory */
	size_t db_len;
	uint8_t *db_dev; /* device view of BAR0 + 0x1000 (the first doorbell) */
	uint8_t *qid_used;
};

int homi_gpu_cu_errno(CUresult r);
int homi_gpu_cuda_errno(cudaError_t e);
/* "CUDA_ERROR_NOT_PERMITTED" and the like, never NULL. */
const char *homi_gpu_cu_name(CUresult r);

/* GPU memory D..D+LEN as the controller's bus addresses, one per page of
 * PAGE bytes, through a CUDA dma-buf and the importer. *IMPORTER and
 * *DMABUF are descriptors the mapping lives on (close with unmap). */
int homi_gpu_dmabuf_map(CUdeviceptr d, size_t len, uint32_t page, uint64_t **bus, int *importer, int *dmabuf,
			char *why, size_t whylen);
void homi_gpu_dmabuf_unmap(uint64_t *bus, int importer, int dmabuf);

/* A memory region the controller reaches by DMA and the GPU by a device
 * pointer (gpu-mem.c). */
enum homi_gmem_kind { HOMI_GMEM_NONE = 0, HOMI_GMEM_HOST_MMAP, HOMI_GMEM_HOST_EP, HOMI_GMEM_DEV };

struct homi_gmem {
	enum homi_gmem_kind kind;
	void *va;        /* host VA, or the device pointer for HOMI_GMEM_DEV */
	size_t len;
	uint8_t *dev;    /* device view */
	int registered;  /* cuMemHostRegister done */
	int mapped;      /* the endpoint's dma_map done */
	uint64_t iova;   /* bus address of va, when contiguous (bus == NULL) */
	uint64_t *bus;   /* else one bus address per controller page */
	int importer, dmabuf;
};

/* LEN bytes (rounded up to pages) in GPU memory (ON_GPU) or host memory,
 * zeroed, mapped for both sides. CONTIG: the controller needs one
 * contiguous bus range (a physically contiguous queue). */
int homi_gmem_alloc(struct homi_gpu *g, struct homi_gmem *m, size_t len, int on_gpu, int contig, char *why,
		    size_t whylen);
void homi_gmem_free(struct homi_gpu *g, struct homi_gmem *m);
uint64_t homi_gmem_bus(const struct homi_gmem *m, size_t off, uint32_t page);
