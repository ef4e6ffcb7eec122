/* SPDX-License-Identifier: MIT */
/* libhomi-gpu, host side: give CUDA kernels NVMe I/O queue pairs on a
 * controller endpoint (homi-gpu-ctrl.h: a vfio VF, the soft controller,
 * the loopback responder).
 *
 *   homi_gpu_open()          registers the endpoint's doorbell page into
 *                            CUDA: a device BAR with
 *                            CU_MEMHOSTREGISTER_IOMEMORY | DEVICEMAP, falling
 *                            back to the endpoint's sysfs resource0 mapping;
 *                            host memory with DEVICEMAP; GPU memory as is;
 *   homi_gpu_qpset_create()  allocates queues and data buffers in the
 *                            placement mode asked for, maps them for the
 *                            controller's DMA, zeroes the CQs, issues Create
 *                            I/O CQ/SQ, and hands kernels an array of
 *                            struct homi_gpu_qp (homi-gpu-qp.h) for the
 *                            device API (homi-gpu-dev.cuh).
 *
 * Placement modes:
 *   H  queues and data in host memory, DMA-mapped for the controller and
 *      mapped into the GPU (works with and without an IOMMU);
 *   D  data in GPU memory, queues in host memory;
 *   G  queues and data in GPU memory.
 * D and G need the controller to reach GPU memory by bus address: a CUDA
 * dma-buf resolved by the out-of-tree importer (/dev/dmabuf_import), valid
 * only when no IOMMU translates the controller's DMA. Without that they
 * are refused with the reason. For the loopback responder (GPU code) G is
 * the only mode. Negative errno returns; nothing is printed. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "homi-gpu-ctrl.h"
#include "homi-gpu-qp.h"

#ifdef __cplusplus
extern "C" {
#endif

enum homi_gpu_mode { HOMI_GPU_MODE_H = 0, HOMI_GPU_MODE_D, HOMI_GPU_MODE_G };

enum homi_gpu_db_path {
	HOMI_GPU_DB_HOSTMEM,     /* host memory, DEVICEMAP (soft controller) */
	HOMI_GPU_DB_DEVMEM,      /* GPU memory (loopback) */
	HOMI_GPU_DB_IOMEM_BAR,   /* the endpoint's BAR0 mapping, IOMEMORY */
	HOMI_GPU_DB_IOMEM_SYSFS, /* sysfs resource0 of the same BAR, IOMEMORY */
};

#define HOMI_GPU_DMABUF_IMPORTER "/dev/dmabuf_import"

struct homi_gpu;
struct homi_gpu_qpset;

const char *homi_gpu_mode_name(enum homi_gpu_mode mode);
int homi_gpu_mode_parse(const char *s, enum homi_gpu_mode *mode);

/* WHY (may be NULL) gets the doorbell description, or the reason of a
 * failure. */
int homi_gpu_open(const struct homi_gpu_ctrl *ctrl, int cuda_device, struct homi_gpu **out, char *why,
		  size_t whylen);
void homi_gpu_close(struct homi_gpu *g);
const struct homi_gpu_ctrl_info *homi_gpu_info(const struct homi_gpu *g);
enum homi_gpu_db_path homi_gpu_doorbell_path(const struct homi_gpu *g);
/* What was registered and how, with the error of a refused first try. */
const char *homi_gpu_doorbell_desc(const struct homi_gpu *g);
uint32_t homi_gpu_clock_khz(const struct homi_gpu *g);

/* 0 when MODE can be used with G's controller, else -EOPNOTSUPP or
 * -ENODEV with the reason in WHY. */
int homi_gpu_placement_check(const struct homi_gpu *g, enum homi_gpu_mode mode, char *why, size_t whylen);
/* Whether DEVPATH is a dma-buf importer that answers its ATTACH ioctl
 * (a device node alone is not enough): 0, or -errno with the reason. */
int homi_gpu_dmabuf_probe(const char *devpath, char *why, size_t whylen);

struct homi_gpu_qp_config {
	enum homi_gpu_mode mode;
	uint32_t nqueues;
	uint16_t first_qid;    /* 0: 1 */
	uint32_t sq_depth;     /* entries: a batch of sq_depth - 1 commands */
	uint32_t cq_depth;     /* 0: sq_depth */
	uint32_t nbuf;         /* data buffers per queue */
	uint32_t buf_bytes;    /* each; a multiple of the page size, at most
				  1 + page/8 pages (one PRP list page) */
	uint32_t timeout_ms;   /* per command; 0: 5000 */
};

/* On failure WHY (may be NULL) says which step failed. */
int homi_gpu_qpset_create(struct homi_gpu *g, const struct homi_gpu_qp_config *cfg, struct homi_gpu_qpset **out,
			  char *why, size_t whylen);
/* Deletes the queues on the controller (SQ, then CQ) and frees everything;
 * returns the first error met, having tried every step. */
int homi_gpu_qpset_destroy(struct homi_gpu_qpset *s);
/* The device array of nqueues pairs to pass to kernels. */
struct homi_gpu_qp *homi_gpu_qpset_dev(const struct homi_gpu_qpset *s);
uint32_t homi_gpu_qpset_count(const struct homi_gpu_qpset *s);
/* Copy pair Q's current state and counters back from the GPU. */
int homi_gpu_qpset_read(const struct homi_gpu_qpset *s, uint32_t q, struct homi_gpu_qp *out);
/* Host view of buffer B of pair Q in mode H, NULL otherwise. */
void *homi_gpu_qpset_buf_host(const struct homi_gpu_qpset *s, uint32_t q, uint32_t b);

#ifdef __cplusplus
}
#endif
