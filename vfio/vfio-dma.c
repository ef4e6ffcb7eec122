/* SPDX-License-Identifier: MIT */
/* DMA: IOVAs for caller memory (type1 MAP_DMA, iommufd IOAS_MAP, or the
 * physical address in no-IOMMU mode), and DMA memory of our own. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "macro.h"
#include "vfio-internal.h"

#define PAGE 4096ULL
#define HUGE (2ULL << 20)
/* Allocations from this size up try hugepages first (a 2 MiB page for a
 * 4 KiB identify buffer would waste the scarce pool). */
#define HUGE_FROM (64ULL << 10)

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

void homi_vfio_default_ranges(struct homi_vfio *v)
{
	/* Below 4 GiB without the x86 MSI window, then up to 2^39 (the
	 * smallest address width Intel IOMMUs offer). */
	v->ranges[0] = (struct homi_vfio_range){ 0x10000000ULL, 0xfedfffffULL };
	v->ranges[1] = (struct homi_vfio_range){ 0x100000000ULL, (1ULL << 39) - 1 };
	v->n_ranges = 2;
	v->cur_range = 0;
	v->next_iova = v->ranges[0].start;
}

int homi_vfio_iova_alloc(struct homi_vfio *v, size_t len, uint64_t *ret)
{
	uint64_t align = len >= HUGE ? HUGE : 64 * 1024;

	while (v->cur_range < v->n_ranges) {
		const struct homi_vfio_range *r = &v->ranges[v->cur_range];
		uint64_t at = align_up(v->next_iova < r->start ? r->start : v->next_iova, align);
		if (at >= r->start && at + len - 1 <= r->end && at + len > at) {
			v->next_iova = at + len;
			*ret = at;
			return 0;
		}
		if (++v->cur_range < v->n_ranges)
			v->next_iova = v->ranges[v->cur_range].start;
	}
	return -ENOSPC;
}

int homi_vfio_map_record(struct homi_vfio *v, uint64_t iova, size_t len)
{
	struct homi_vfio_map *m = realloc(v->maps, (v->n_maps + 1) * sizeof(*m));

	if (!m)
		return -ENOMEM;
	v->maps = m;
	v->maps[v->n_maps++] = (struct homi_vfio_map){ iova, len };
	return 0;
}

void homi_vfio_map_forget(struct homi_vfio *v, uint64_t iova)
{
	for (size_t i = 0; i < v->n_maps; i++)
		if (v->maps[i].iova == iova) {
			v->maps[i] = v->maps[--v->n_maps];
			return;
		}
}

/* No-IOMMU: the physical address of VA..VA+LEN, which must be contiguous.
 * /proc/self/pagemap shows frame numbers to CAP_SYS_ADMIN only. */
static int pagemap_translate(struct homi_vfio *v, void *va, size_t len, uint64_t *ret)
{
	uint64_t first = 0;

	for (size_t off = 0; off < len; off += PAGE) {
		uint64_t e, pfn;
		off_t at = (off_t)(((uintptr_t)va + off) / PAGE * sizeof(e));
		if (pread(v->pagemap_fd, &e, sizeof(e), at) != (ssize_t)sizeof(e))
			return -EIO;
		if (!(e & (1ULL << 63)))
			return -EFAULT; /* not present: not populated */
		pfn = e & ((1ULL << 55) - 1);
		if (pfn == 0)
			return -EPERM;
		if (off == 0)
			first = pfn;
		else if (pfn != first + off / PAGE)
			return -EINVAL; /* not physically contiguous */
	}
	*ret = first * PAGE;
	return 0;
}

int homi_vfio_dma_map(struct homi_vfio *v, void *va, size_t len, uint64_t *ret_iova)
{
	uint64_t iova;
	int r;

	if (!len || ((uintptr_t)va | len) & (PAGE - 1))
		return -EINVAL;
	switch (v->mode) {
	case HOMI_VFIO_NOIOMMU:
		r = pagemap_translate(v, va, len, &iova);
		break;
	case HOMI_VFIO_TYPE1: {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)va,
			.size = len,
		};
		r = homi_vfio_iova_alloc(v, len, &iova);
		if (r < 0)
			return r;
		map.iova = iova;
		r = ioctl(v->container_fd, VFIO_IOMMU_MAP_DMA, &map) < 0 ? -errno : 0;
		break;
	}
#ifdef HOMI_HAVE_VFIO_CDEV
	case HOMI_VFIO_CDEV:
		r = homi_vfio_iova_alloc(v, len, &iova);
		if (r < 0)
			return r;
		r = homi_vfio_cdev_map(v, va, len, iova);
		break;
#endif
	default:
		return -EOPNOTSUPP;
	}
	if (r < 0)
		return r;
	r = homi_vfio_map_record(v, iova, len);
	if (r < 0) {
		homi_vfio_dma_unmap(v, iova, len);
		return r;
	}
	*ret_iova = iova;
	return 0;
}

int homi_vfio_dma_unmap(struct homi_vfio *v, uint64_t iova, size_t len)
{
	int r = 0;

	switch (v->mode) {
	case HOMI_VFIO_TYPE1: {
		struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .iova = iova, .size = len };
		if (ioctl(v->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
			r = -errno;
		break;
	}
#ifdef HOMI_HAVE_VFIO_CDEV
	case HOMI_VFIO_CDEV:
		r = homi_vfio_cdev_unmap(v, iova, len);
		break;
#endif
	default:
		break;
	}
	homi_vfio_map_forget(v, iova);
	return r;
}

int homi_vfio_dma_alloc(struct homi_vfio *v, size_t len, struct homi_dma_mem *ret)
{
	size_t map_len = align_up(len ? len : 1, PAGE);
	bool huge = false;
	void *p = MAP_FAILED;
	int r;

	if (map_len >= HUGE_FROM || (v->mode == HOMI_VFIO_NOIOMMU && map_len > PAGE)) {
		size_t hlen = align_up(map_len, HUGE);
		p = mmap(NULL, hlen, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT) | MAP_POPULATE, -1, 0);
		if (p != MAP_FAILED) {
			huge = true;
			map_len = hlen;
		} else if (v->mode == HOMI_VFIO_NOIOMMU) {
			return -ENOMEM; /* without an IOMMU only a hugepage is contiguous */
		}
	}
	if (p == MAP_FAILED) {
		p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
	}
	/* A fork must not turn the pinned pages copy-on-write under the device. */
	(void)madvise(p, map_len, MADV_DONTFORK);
	*ret = (struct homi_dma_mem){ .va = p, .len = len, .map_len = map_len, .hugepage = huge };
	r = homi_vfio_dma_map(v, p, map_len, &ret->iova);
	if (r < 0) {
		munmap(p, map_len);
		*ret = (struct homi_dma_mem){ 0 };
		return r;
	}
	return 0;
}

void homi_vfio_dma_free(struct homi_vfio *v, struct homi_dma_mem *m)
{
	if (!m || !m->va)
		return;
	homi_vfio_dma_unmap(v, m->iova, m->map_len);
	munmap(m->va, m->map_len);
	*m = (struct homi_dma_mem){ 0 };
}

static int ops_alloc(void *ctx, size_t len, struct homi_dma_mem *ret) { return homi_vfio_dma_alloc(ctx, len, ret); }
static void ops_free(void *ctx, struct homi_dma_mem *m) { homi_vfio_dma_free(ctx, m); }

const struct homi_dma_ops homi_vfio_dma_ops = { .alloc = ops_alloc, .free = ops_free };
