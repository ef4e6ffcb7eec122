/* SPDX-License-Identifier: MIT */
/* The controller endpoint: the narrow interface libhomi-gpu needs from
 * whatever plays the NVMe controller, so that one host library and one
 * device API serve
 *   - a real VF opened through vfio/ (implemented by vfio/, not here),
 *   - the soft controller (gpu/softctrl.h, CPU threads),
 *   - the loopback responder (gpu/homi-gpu-loopback.h, GPU threads).
 *
 * Plain C, no CUDA. Every callback returns 0 or a negative errno and prints
 * nothing. The endpoint owns the controller: it has reset and enabled it,
 * runs the admin queue on the CPU, and has granted I/O queues (Set Features
 * Number of Queues) before libhomi-gpu is handed the endpoint.
 *
 * What a vfio implementation must do (gpu-path.md 7.2):
 *   bar0        the vfio region mmap of BAR0 (registers + doorbells);
 *   bar0_sysfs  optional: an mmap of /sys/bus/pci/devices/BDF/resource0 of
 *               the same BAR, used only when CUDA refuses to register the
 *               vfio mapping as I/O memory (risk R1);
 *   dma_map     vf_dma_map(): map VA..VA+LEN for the VF's DMA and return
 *               the IOVA of VA (contiguous over the range); in noiommu mode
 *               the physical address, refusing memory that is not
 *               physically contiguous;
 *   dma_alloc   optional: memory dma_map accepts (hugepages for noiommu);
 *               without it libhomi-gpu maps anonymous page-aligned memory;
 *   admin       submit one command on the admin queue, wait for its CQE.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vfio/nvme-queue.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	/* Doorbells are device registers (a PCI BAR): CUDA must map them with
	 * CU_MEMHOSTREGISTER_IOMEMORY. Otherwise they are host memory. */
	HOMI_GPU_CTRL_DB_IOMEM = 1u << 0,
	/* The doorbell page returned by bar0 is GPU memory (a device pointer). */
	HOMI_GPU_CTRL_DB_DEVMEM = 1u << 1,
	/* The controller is GPU code: queues and data live in GPU memory and
	 * an "IOVA" is a device pointer (the loopback responder). */
	HOMI_GPU_CTRL_GPU_PEER = 1u << 2,
	/* An IOMMU translates the controller's DMA: IOVAs are not bus
	 * addresses, so GPU memory addresses from a dma-buf importer are
	 * useless to it (gpu-path.md R2). */
	HOMI_GPU_CTRL_IOMMU = 1u << 3,
	/* The controller reaches host memory only (CPU code: the soft
	 * controller), so data and queues can never be GPU memory. */
	HOMI_GPU_CTRL_HOST_ONLY = 1u << 4,
};

struct homi_gpu_ctrl_info {
	uint64_t cap;        /* the CAP register (MQES, DSTRD, MPSMIN) */
	uint32_t page_size;  /* memory page size the controller runs with (CC.MPS) */
	uint32_t mdts_bytes; /* maximum data transfer size, 0 = no limit */
	uint32_t nsid;       /* the namespace I/O goes to */
	uint32_t lba_shift;  /* log2 of its LBA size */
	uint64_t nlbas;      /* its size in LBAs */
	uint16_t max_ioqs;   /* I/O queue pairs granted (qids 1..max_ioqs) */
	uint32_t flags;      /* HOMI_GPU_CTRL_* */
	char name[64];       /* "soft", "loopback", "vfio 0000:01:00.1" */
};

struct homi_gpu_ctrl_ops {
	int (*info)(void *ctx, struct homi_gpu_ctrl_info *info);
	/* BAR0 as the CPU maps it; the doorbells start at offset 0x1000. */
	int (*bar0)(void *ctx, void **va, size_t *len);
	/* Optional (NULL): another mapping of the same BAR0, tried when
	 * registering the bar0 mapping with CUDA fails. */
	int (*bar0_sysfs)(void *ctx, void **va, size_t *len);
	int (*dma_map)(void *ctx, void *va, size_t len, uint64_t *iova);
	int (*dma_unmap)(void *ctx, void *va, size_t len);
	/* Optional (both or neither): memory suitable for dma_map. */
	int (*dma_alloc)(void *ctx, size_t len, void **va);
	void (*dma_free)(void *ctx, void *va, size_t len);
	/* One admin command, synchronously: the endpoint assigns the CID,
	 * submits, waits, and copies the CQE to CPL. Returns 0 when a CQE
	 * came (its status may be an error), a negative errno otherwise. */
	int (*admin)(void *ctx, const struct homi_nvme_sqe *cmd, struct homi_nvme_cqe *cpl);
};

struct homi_gpu_ctrl {
	const struct homi_gpu_ctrl_ops *ops;
	void *ctx;
};

#ifdef __cplusplus
}
#endif
