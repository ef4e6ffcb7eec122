/* SPDX-License-Identifier: MIT */
/* The real-VF endpoint (homi-gpu-vf.h) over libhomi-vfio: the VF opened
 * through VFIO (type1, or iommufd where built), its controller brought up by
 * vfio/'s driver, which keeps the admin queue; libhomi-gpu gets BAR0, DMA
 * mappings of its own memory and synchronous admin commands to create the
 * I/O queues the GPU drives. The namespace is NSID 1 unless
 * $HOMI_GPU_NSID names another.
 *
 * The installed homi-gpu-perf and homi-gpu-verify link this one; the device
 * bundle (a GPU machine without NVMe, VFIO, libpci) links the stub in
 * vf-endpoint.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "homi-gpu-vf.h"
#include "macro.h"
#include "pci.h"
#include "sysfs.h"
#include "topology.h"
#include "vfio/nvme-driver.h"
#include "vfio/vfio.h"

#define MAX_MAPS 256
#define ADMIN_TIMEOUT_MS 5000

struct vf_ep {
	struct homi_sysfs *s;
	struct homi_vfio *v;
	struct homi_nvme_ctrl *c;
	struct homi_gpu_ctrl_info info;
	void *sysfs_bar;
	size_t sysfs_len;
	struct { void *va; size_t len; uint64_t iova; bool owned; struct homi_dma_mem mem; } maps[MAX_MAPS];
};

static int ep_info(void *ctx, struct homi_gpu_ctrl_info *info)
{
	*info = ((struct vf_ep *)ctx)->info;
	return 0;
}

static int ep_bar0(void *ctx, void **va, size_t *len)
{
	struct vf_ep *e = ctx;
	*va = (void *)homi_vfio_bar0(e->v, len);
	return *va ? 0 : -ENXIO;
}

/* The same BAR through sysfs resource0: CUDA may register this mapping
 * where it refuses vfio's (gpu-path.md R1). */
static int ep_bar0_sysfs(void *ctx, void **va, size_t *len)
{
	struct vf_ep *e = ctx;
	char rel[64];
	size_t want;
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;

	if (e->sysfs_bar) {
		*va = e->sysfs_bar;
		*len = e->sysfs_len;
		return 0;
	}
	homi_vfio_bar0(e->v, &want);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", homi_vfio_addr(e->v));
	dfd = homi_sysfs_open_dir(e->s, rel);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, "resource0", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	void *p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	e->sysfs_bar = *va = p;
	e->sysfs_len = *len = want;
	return 0;
}

static int slot_free(struct vf_ep *e)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (!e->maps[i].va)
			return i;
	return -ENOSPC;
}

static int slot_of(struct vf_ep *e, void *va)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (e->maps[i].va == va)
			return i;
	return -ENOENT;
}

static int ep_dma_map(void *ctx, void *va, size_t len, uint64_t *iova)
{
	struct vf_ep *e = ctx;
	int i = slot_of(e, va), r;

	if (i >= 0 && e->maps[i].owned) { /* memory of ep_dma_alloc: mapped already */
		*iova = e->maps[i].iova;
		return 0;
	}
	i = slot_free(e);
	if (i < 0)
		return i;
	r = homi_vfio_dma_map(e->v, va, len, iova);
	if (r < 0)
		return r;
	e->maps[i].va = va;
	e->maps[i].len = len;
	e->maps[i].iova = *iova;
	e->maps[i].owned = false;
	return 0;
}

static int ep_dma_unmap(void *ctx, void *va, size_t len)
{
	struct vf_ep *e = ctx;
	int i = slot_of(e, va);

	if (i < 0)
		return i;
	if (e->maps[i].owned)
		return 0; /* freed with ep_dma_free */
	int r = homi_vfio_dma_unmap(e->v, e->maps[i].iova, e->maps[i].len);
	e->maps[i].va = NULL;
	return r;
}

static int ep_dma_alloc(void *ctx, size_t len, void **va)
{
	struct vf_ep *e = ctx;
	int i = slot_free(e), r;

	if (i < 0)
		return i;
	r = homi_vfio_dma_alloc(e->v, len, &e->maps[i].mem);
	if (r < 0)
		return r;
	e->maps[i].va = *va = e->maps[i].mem.va;
	e->maps[i].len = len;
	e->maps[i].iova = e->maps[i].mem.iova;
	e->maps[i].owned = true;
	return 0;
}

static void ep_dma_free(void *ctx, void *va, size_t len)
{
	struct vf_ep *e = ctx;
	int i = slot_of(e, va);

	if (i < 0 || !e->maps[i].owned)
		return;
	homi_vfio_dma_free(e->v, &e->maps[i].mem);
	e->maps[i].va = NULL;
}

static int ep_admin(void *ctx, const struct homi_nvme_sqe *cmd, struct homi_nvme_cqe *cpl)
{
	struct vf_ep *e = ctx;
	uint16_t status = 0;
	uint32_t dw0 = 0;
	int r = homi_nvme_qpair_exec(homi_nvme_ctrl_admin(e->c), cmd, ADMIN_TIMEOUT_MS, &status, &dw0);

	if (r < 0 && r != -EIO)
		return r; /* no completion: timeout, vanished controller */
	memset(cpl, 0, sizeof(*cpl));
	cpl->dw0 = dw0;
	cpl->cid = cmd->cid;
	cpl->status = (uint16_t)(status << 1);
	return 0;
}

static const struct homi_gpu_ctrl_ops vf_ops = {
	.info = ep_info,
	.bar0 = ep_bar0,
	.bar0_sysfs = ep_bar0_sysfs,
	.dma_map = ep_dma_map,
	.dma_unmap = ep_dma_unmap,
	.dma_alloc = ep_dma_alloc,
	.dma_free = ep_dma_free,
	.admin = ep_admin,
};

static void ep_free(struct vf_ep *e)
{
	if (!e)
		return;
	for (int i = 0; i < MAX_MAPS; i++)
		if (e->maps[i].va && e->maps[i].owned)
			homi_vfio_dma_free(e->v, &e->maps[i].mem);
		else if (e->maps[i].va)
			homi_vfio_dma_unmap(e->v, e->maps[i].iova, e->maps[i].len);
	if (e->sysfs_bar)
		munmap(e->sysfs_bar, e->sysfs_len);
	homi_nvme_ctrl_close(e->c);
	homi_vfio_close(e->v);
	homi_sysfs_free(e->s);
	free(e);
}

int homi_gpu_vf_endpoint_open(const char *bdf, struct homi_gpu_ctrl *ep, char *why, size_t whylen)
{
	struct vf_ep *e = calloc(1, sizeof(*e));
	struct homi_nvme_ns_info ns;
	char addr[HOMI_ADDR_LEN];
	const char *env = getenv("HOMI_GPU_NSID");
	uint32_t nsid = env ? (uint32_t)strtoul(env, NULL, 0) : 1;
	uint16_t status = 0, nsq = 0, ncq = 0;
	int r;

	ep->ops = NULL;
	ep->ctx = NULL;
	if (!e)
		return -ENOMEM;
	if (!bdf || homi_pci_parse_addr(bdf, addr) < 0) {
		snprintf(why, whylen, "%s: not a PCI address", bdf ? bdf : "(none)");
		free(e);
		return -EINVAL;
	}
	r = homi_sysfs_open(NULL, &e->s);
	if (r < 0) {
		snprintf(why, whylen, "sysfs: %s", strerror(-r));
		goto fail;
	}
	r = homi_vfio_open(e->s, addr, HOMI_VFIO_AUTO, &e->v, why, whylen);
	if (r < 0)
		goto fail;
	r = homi_nvme_ctrl_open_vfio(e->v, NULL, &e->c, why, whylen);
	if (r < 0)
		goto fail;
	r = homi_nvme_identify_ns(e->c, nsid, &ns, &status);
	if (r < 0) {
		snprintf(why, whylen, "%s: namespace %u: %s", addr, nsid,
			 r == -ENOENT ? "not attached to this VF (homictl ns attach)" : strerror(-r));
		goto fail;
	}
	/* ask for as many I/O queues as the controller takes; it grants what
	 * its VQ resources allow (NR of Virtualization Management minus admin) */
	r = homi_nvme_set_num_queues(e->c, 0xfffe, 0xfffe, &nsq, &ncq, &status);
	if (r < 0) {
		snprintf(why, whylen, "%s: Set Features Number of Queues: %s", addr, strerror(-r));
		goto fail;
	}
	e->info = (struct homi_gpu_ctrl_info){
		.cap = homi_nvme_ctrl_cap(e->c),
		.page_size = homi_nvme_ctrl_page_size(e->c),
		.mdts_bytes = homi_nvme_ctrl_max_xfer(e->c),
		.nsid = nsid,
		.nlbas = ns.nsze,
		.max_ioqs = nsq < ncq ? nsq : ncq,
		.flags = HOMI_GPU_CTRL_DB_IOMEM |
			 (homi_vfio_mode(e->v) == HOMI_VFIO_NOIOMMU ? 0u : (unsigned)HOMI_GPU_CTRL_IOMMU),
	};
	for (uint32_t s = ns.lba_size; s > 1; s >>= 1)
		e->info.lba_shift++;
	snprintf(e->info.name, sizeof(e->info.name), "vfio %s (%s)", addr, homi_vfio_mode_name(homi_vfio_mode(e->v)));
	ep->ops = &vf_ops;
	ep->ctx = e;
	return 0;
fail:
	ep_free(e);
	return r < 0 ? r : -EIO;
}

void homi_gpu_vf_endpoint_close(struct homi_gpu_ctrl *ep)
{
	if (ep->ops == &vf_ops)
		ep_free(ep->ctx);
	ep->ops = NULL;
	ep->ctx = NULL;
}
