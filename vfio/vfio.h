/* SPDX-License-Identifier: MIT */
/* libhomi-vfio, the VFIO half: a delegated NVMe VF opened by PCI address.
 *
 * Opening checks, in this order, that the address is a VF (its `physfn`
 * link), that it is bound to vfio-pci, that it has an IOMMU group, that the
 * group is viable and that the VF is alone in it; a refusal is -EPERM (or
 * the errno of the failing step) with one line in ERR that starts with the
 * address and names the reason. It then attaches the group to a new
 * container with the type1 v2 IOMMU, takes the device descriptor, maps
 * BAR0 and turns bus mastering on in the config space command register.
 *
 * Modes: HOMI_VFIO_TYPE1 (the group/container API, the default and the only
 * one Debian 12's 6.1 kernel has), HOMI_VFIO_CDEV (iommufd and the device
 * file /dev/vfio/devices/vfioN; compiled only where the kernel headers
 * define VFIO_DEVICE_BIND_IOMMUFD, otherwise -EOPNOTSUPP) and
 * HOMI_VFIO_NOIOMMU (no IOMMU at all: the unsafe mode, taken only on
 * request; DMA addresses are physical addresses from /proc/self/pagemap).
 *
 * Every /sys and /dev path goes through the homi_sysfs layer. Functions
 * return 0 or a negative errno and print nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sysfs.h"

enum homi_vfio_mode {
	HOMI_VFIO_AUTO,    /* cdev where compiled in and the VF has one, else type1; never noiommu */
	HOMI_VFIO_TYPE1,
	HOMI_VFIO_CDEV,
	HOMI_VFIO_NOIOMMU,
};

struct homi_vfio;

/* The checks before opening, on sysfs alone: a VF, on vfio-pci, with an
 * IOMMU group that holds only it. Returns the group number, or a negative
 * errno with the reason in ERR ("0000:01:00.0: not an SR-IOV virtual
 * function ..."). Viability needs the group file: homi_vfio_open checks it. */
int homi_vfio_check(const struct homi_sysfs *s, const char *addr, char *err, size_t errlen);

int homi_vfio_open(const struct homi_sysfs *s, const char *addr, enum homi_vfio_mode mode, struct homi_vfio **ret,
		   char *err, size_t errlen);
/* Unmaps everything, turns bus mastering off, closes. NULL is fine. */
struct homi_vfio *homi_vfio_close(struct homi_vfio *v);

const char *homi_vfio_addr(const struct homi_vfio *v);
enum homi_vfio_mode homi_vfio_mode(const struct homi_vfio *v);
const char *homi_vfio_mode_name(enum homi_vfio_mode m);
int homi_vfio_group(const struct homi_vfio *v);
/* The device descriptor (region reads, ioctls the library does not wrap). */
int homi_vfio_device_fd(const struct homi_vfio *v);

/* BAR0 as mapped by homi_vfio_open, and its size. Register access only
 * through volatile 32-bit loads and stores. */
volatile void *homi_vfio_bar0(const struct homi_vfio *v, size_t *ret_len);

/* Function-level reset (VFIO_DEVICE_RESET); -ENOTTY when the device offers
 * none. Bus mastering is turned on again afterwards. */
int homi_vfio_reset(struct homi_vfio *v);

/* Makes LEN bytes at VA (page aligned, LEN a multiple of 4096) reachable
 * by the device: an IOVA from the library's allocator (type1, cdev), or
 * the physical address in no-IOMMU mode (then the range must be physically
 * contiguous: one hugepage). The pages are pinned and count against
 * RLIMIT_MEMLOCK (-ENOMEM when over it). */
int homi_vfio_dma_map(struct homi_vfio *v, void *va, size_t len, uint64_t *ret_iova);
int homi_vfio_dma_unmap(struct homi_vfio *v, uint64_t iova, size_t len);

/* DMA memory: LEN bytes rounded up to the page size, zeroed, mapped. Backed
 * by 2 MiB hugepages when the system has free ones (mem.hugepage), else by
 * ordinary pages that the mapping pins. Contiguous in IOVA space. */
struct homi_dma_mem {
	void *va;
	uint64_t iova;
	size_t len;          /* as asked */
	size_t map_len;      /* as mapped (rounded up) */
	bool hugepage;
};
int homi_vfio_dma_alloc(struct homi_vfio *v, size_t len, struct homi_dma_mem *ret);
void homi_vfio_dma_free(struct homi_vfio *v, struct homi_dma_mem *m);

/* The same pair as a function table, for code that only needs memory (the
 * NVMe driver, tests with memory of their own). */
struct homi_dma_ops {
	int (*alloc)(void *ctx, size_t len, struct homi_dma_mem *ret);
	void (*free)(void *ctx, struct homi_dma_mem *m);
};
extern const struct homi_dma_ops homi_vfio_dma_ops; /* ctx: the struct homi_vfio */
