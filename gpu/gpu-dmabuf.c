/* SPDX-License-Identifier: MIT */
/* GPU memory to bus addresses for modes D and G: export the range as a
 * CUDA dma-buf, attach it with the importer, read back its segments and
 * cut them into one bus address per controller page. Only meaningful
 * where nothing translates the controller's DMA (checked by the placement
 * check before this is reached). Untested here: the lent GPU machine has
 * no importer; gpu/HARDWARE.md has the procedure. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "gpu-dmabuf-uapi.h"
#include "gpu-internal.h"

void homi_gpu_dmabuf_unmap(uint64_t *bus, int importer, int dmabuf)
{
	if (importer >= 0 && dmabuf >= 0)
		ioctl(importer, HOMI_DMABUF_IMPORT_DETACH, &dmabuf);
	if (importer >= 0)
		close(importer);
	if (dmabuf >= 0)
		close(dmabuf);
	free(bus);
}

int homi_gpu_dmabuf_map(CUdeviceptr d, size_t len, uint32_t page, uint64_t **bus, int *importer, int *dmabuf,
			char *why, size_t whylen)
{
	struct homi_dmabuf_import_attach a;
	struct homi_dmabuf_import_get_map *m = NULL;
	uint64_t *out = NULL;
	size_t npages = len / page, p = 0;
	CUresult r;
	int fd = -1, imp = -1, ret;

	*importer = *dmabuf = -1;
	r = cuMemGetHandleForAddressRange(&fd, d, len, CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0);
	if (r != CUDA_SUCCESS) {
		snprintf(why, whylen, "cuMemGetHandleForAddressRange(DMA_BUF_FD): %s", homi_gpu_cu_name(r));
		return homi_gpu_cu_errno(r);
	}
	imp = open(HOMI_GPU_DMABUF_IMPORTER, O_RDWR | O_CLOEXEC);
	if (imp < 0) {
		ret = -errno;
		snprintf(why, whylen, "%s: %s", HOMI_GPU_DMABUF_IMPORTER, strerror(-ret));
		goto fail;
	}
	a.fd = fd;
	a.count = 0;
	if (ioctl(imp, HOMI_DMABUF_IMPORT_ATTACH, &a) < 0) {
		ret = -errno;
		snprintf(why, whylen, "DMABUF_IMPORT_ATTACH: %s", strerror(-ret));
		goto fail;
	}
	if (!a.count) {
		ret = -EIO;
		snprintf(why, whylen, "DMABUF_IMPORT_ATTACH: no segments");
		goto fail_detach;
	}
	ret = -ENOMEM;
	m = calloc(1, sizeof(*m) + a.count * sizeof(m->segs[0]));
	out = calloc(npages ? npages : 1, sizeof(*out));
	if (!m || !out)
		goto fail_detach;
	m->fd = fd;
	m->count = a.count;
	if (ioctl(imp, HOMI_DMABUF_IMPORT_GET_MAP, m) < 0) {
		ret = -errno;
		snprintf(why, whylen, "DMABUF_IMPORT_GET_MAP: %s", strerror(-ret));
		goto fail_detach;
	}
	for (uint32_t i = 0; i < a.count && p < npages; i++) {
		const struct homi_dmabuf_import_seg *s = &m->segs[i];
		if ((s->dma_addr | s->dma_len) & (page - 1)) {
			ret = -EINVAL;
			snprintf(why, whylen, "dma-buf segment %u not aligned to %u bytes", i, page);
			goto fail_detach;
		}
		for (uint64_t o = 0; o < s->dma_len && p < npages; o += page)
			out[p++] = s->dma_addr + o;
	}
	if (p < npages) {
		ret = -EIO;
		snprintf(why, whylen, "dma-buf segments cover %zu of %zu pages", p, npages);
		goto fail_detach;
	}
	free(m);
	*bus = out;
	*importer = imp;
	*dmabuf = fd;
	return 0;
fail_detach:
	ioctl(imp, HOMI_DMABUF_IMPORT_DETACH, &fd);
fail:
	free(m);
	free(out);
	if (imp >= 0)
		close(imp);
	close(fd);
	return ret;
}
