/* SPDX-License-Identifier: MIT */
/* Placement modes: whether the controller can be given GPU memory. Modes
 * D and G need bus addresses of GPU memory that the controller's DMA can
 * use: a CUDA dma-buf attached by the out-of-tree importer
 * (/dev/dmabuf_import, gpu-path.md 2.4) yields them, and they are usable
 * only when no IOMMU translates the controller's DMA (R2). The importer is
 * probed through its ioctl, not by the existence of a device node. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "gpu-dmabuf-uapi.h"
#include "gpu-internal.h"

int homi_gpu_dmabuf_probe(const char *devpath, char *why, size_t whylen)
{
	struct homi_dmabuf_import_attach a = { .fd = -1, .count = 0 };
	int fd, r, e;

	fd = open(devpath, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(why, whylen, "no dma-buf importer: %s: %s (the dmabuf_import module of gpu-path.md 2.4)",
			 devpath, strerror(e));
		return e == ENOENT ? -ENODEV : -e;
	}
	/* an importer answers ATTACH of a bad descriptor with EBADF or
	 * EINVAL; anything else answers ENOTTY */
	r = ioctl(fd, HOMI_DMABUF_IMPORT_ATTACH, &a);
	e = errno;
	close(fd);
	if (r == 0 || e == EBADF || e == EINVAL) {
		snprintf(why, whylen, "%s answers DMABUF_IMPORT_ATTACH", devpath);
		return 0;
	}
	snprintf(why, whylen, "%s does not answer DMABUF_IMPORT_ATTACH (%s): not the dma-buf importer", devpath,
		 strerror(e));
	return -ENODEV;
}

int homi_gpu_placement_check(const struct homi_gpu *g, enum homi_gpu_mode mode, char *why, size_t whylen)
{
	const uint32_t f = g->info.flags;
	CUdevice dev;
	int ok = 0;

	if (f & HOMI_GPU_CTRL_GPU_PEER) {
		if (mode == HOMI_GPU_MODE_G) {
			snprintf(why, whylen, "the controller is GPU code: queues and data in GPU memory");
			return 0;
		}
		snprintf(why, whylen, "mode %s refused: %s is GPU code and uses GPU memory only (mode G)",
			 homi_gpu_mode_name(mode), g->info.name);
		return -EOPNOTSUPP;
	}
	if (mode == HOMI_GPU_MODE_H) {
		snprintf(why, whylen, "queues and data in host memory, DMA-mapped by the endpoint");
		return 0;
	}
	if (mode != HOMI_GPU_MODE_D && mode != HOMI_GPU_MODE_G) {
		snprintf(why, whylen, "unknown placement mode");
		return -EINVAL;
	}
	if (f & HOMI_GPU_CTRL_HOST_ONLY) {
		snprintf(why, whylen, "mode %s refused: %s reaches host memory only", homi_gpu_mode_name(mode),
			 g->info.name);
		return -EOPNOTSUPP;
	}
	if (f & HOMI_GPU_CTRL_IOMMU) {
		snprintf(why, whylen,
			 "mode %s refused: an IOMMU translates %s's DMA, so bus addresses of GPU memory are no IOVAs "
			 "it can use (gpu-path.md R2; vfio noiommu mode only)",
			 homi_gpu_mode_name(mode), g->info.name);
		return -EOPNOTSUPP;
	}
	if (cuDeviceGet(&dev, g->device) != CUDA_SUCCESS ||
	    cuDeviceGetAttribute(&ok, CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED, dev) != CUDA_SUCCESS || !ok) {
		snprintf(why, whylen, "mode %s refused: CUDA cannot export GPU memory as a dma-buf on this device",
			 homi_gpu_mode_name(mode));
		return -EOPNOTSUPP;
	}
	{
		char probe[256];
		int ret = homi_gpu_dmabuf_probe(HOMI_GPU_DMABUF_IMPORTER, probe, sizeof(probe));
		if (ret) {
			snprintf(why, whylen, "mode %s refused: %s", homi_gpu_mode_name(mode), probe);
			return ret;
		}
	}
	snprintf(why, whylen, "GPU memory reaches the controller through the dma-buf importer (no IOMMU)");
	return 0;
}
