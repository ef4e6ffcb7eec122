/* SPDX-License-Identifier: MIT */
/* Probes only a live host can answer: whether a dma-buf importer answers its
 * ioctls (gpu-path.md 2.4), and what NVIDIA's management library says about
 * a GPU's memory and BAR1. Neither changes anything. */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "check-facts.h"
#include "macro.h"

/* ---- dma-buf importer ---------------------------------------------------- */

/* The UAPI of the out-of-tree importer (/dev/dmabuf_import, DKMS
 * "dmabuf-import"), and of the udmabuf patch it started as (/dev/udmabuf,
 * the same magic and numbers). Only the layout the probe needs. */
struct importer_get_map {
	int32_t fd;
	uint32_t count;
};
struct importer_attach_bdf {
	int32_t fd;
	uint32_t count;
	char bdf[16];
};
#define IMPORTER_GET_MAP _IOWR('u', 0x49, struct importer_get_map)
#define IMPORTER_ATTACH_BDF _IOWR('u', 0x4b, struct importer_attach_bdf)

/* 1: the node implements the import ioctls; 0: it does not (ENOTTY); -errno
 * when it cannot be asked. GET_MAP of descriptor -1 has nothing to map: an
 * implementation answers EINVAL (no attachment for it) and changes
 * nothing. */
static int ask_importer(const char *path, bool *ret_bdf, int *ret_errno)
{
	struct importer_get_map m = { .fd = -1, .count = 0 };
	int fd = open(path, O_RDWR | O_CLOEXEC);

	*ret_bdf = false;
	*ret_errno = 0;
	if (fd < 0)
		return -errno;
	int rc = ioctl(fd, IMPORTER_GET_MAP, &m);
	if (rc < 0 && errno == ENOTTY) {
		close(fd);
		return 0;
	}
	*ret_errno = rc < 0 ? errno : 0;
	/* The newer form that maps for a named PCI device: descriptor -1 is
	 * refused (EBADF) before anything is attached. */
	struct importer_attach_bdf b = { .fd = -1 };
	*ret_bdf = ioctl(fd, IMPORTER_ATTACH_BDF, &b) < 0 && errno != ENOTTY;
	close(fd);
	return 1;
}

void homi_probe_importer(const struct homi_sysfs *s, struct homi_host_facts *h)
{
	static const char *const nodes[] = { "dmabuf_import", "udmabuf" };
	char path[64];
	bool any_node = false;

	h->importer = HOMI_IMPORTER_UNKNOWN;
	if (!homi_sysfs_is_live(s)) {
		snprintf(h->importer_why, sizeof(h->importer_why),
			 "a captured tree has no device nodes: the importer's ioctls cannot be asked");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		bool bdf;
		int e, r;

		if (homi_sysfs_dev_path(s, nodes[i], path, sizeof(path)) < 0)
			continue;
		r = ask_importer(path, &bdf, &e);
		if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
			continue;
		any_node = true;
		snprintf(h->importer_node, sizeof(h->importer_node), "%s", path);
		if (r == 1) {
			h->importer = HOMI_IMPORTER_OK;
			h->importer_bdf = bdf;
			snprintf(h->importer_why, sizeof(h->importer_why),
				 "%s answers the import ioctls (GET_MAP of no buffer: %s)%s", path,
				 e ? strerror(e) : "accepted",
				 bdf ? "; it also maps for a named PCI device (ATTACH_BDF)" : "");
			return;
		}
		if (r == 0) {
			h->importer = HOMI_IMPORTER_NO_IOCTL;
			snprintf(h->importer_why, sizeof(h->importer_why),
				 "%s exists but does not implement the import ioctls ('u' 0x47-0x49 answer ENOTTY): "
				 "%s",
				 path,
				 i == 1 ? "the stock udmabuf creates dma-bufs from memfds, it does not import them"
					: "not the importer gpu-path.md 2.4 describes");
			continue;
		}
		h->importer = HOMI_IMPORTER_UNKNOWN;
		snprintf(h->importer_why, sizeof(h->importer_why), "%s cannot be opened (%s)%s", path, strerror(-r),
			 r == -EACCES || r == -EPERM ? ": the importer is root-only (mode 0600)" : "");
		return;
	}
	if (!any_node) {
		h->importer = HOMI_IMPORTER_NO_NODE;
		snprintf(h->importer_why, sizeof(h->importer_why),
			 "neither /dev/dmabuf_import nor /dev/udmabuf exists: no dma-buf importer is loaded");
	}
}

/* ---- NVIDIA management library ------------------------------------------ */

/* The stable NVML ABI, declared here so that nothing of NVIDIA's is needed
 * at build time. */
typedef int nvml_return;
typedef struct nvml_device *nvml_device;
struct nvml_memory { unsigned long long total, free, used; };
struct nvml_bar1 { unsigned long long total, free, used; };

bool homi_probe_nvml(const char *gpu, uint64_t *ret_mem, uint64_t *ret_bar1, char *why, size_t why_len)
{
	return homi_probe_nvml_lib("libnvidia-ml.so.1", gpu, ret_mem, ret_bar1, why, why_len);
}

bool homi_probe_nvml_lib(const char *library, const char *gpu, uint64_t *ret_mem, uint64_t *ret_bar1, char *why,
			 size_t why_len)
{
	nvml_return (*init)(void), (*shutdown)(void);
	nvml_return (*by_bus)(const char *, nvml_device *);
	nvml_return (*mem_info)(nvml_device, struct nvml_memory *);
	nvml_return (*bar1_info)(nvml_device, struct nvml_bar1 *);
	const char *(*err_str)(nvml_return);
	struct nvml_memory mem;
	struct nvml_bar1 bar1;
	nvml_device dev;
	void *lib;
	int r;
	bool ok = false;

	lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(why, why_len, "NVIDIA's management library cannot be loaded (%s)", dlerror());
		return false;
	}
	*(void **)&init = dlsym(lib, "nvmlInit_v2");
	*(void **)&shutdown = dlsym(lib, "nvmlShutdown");
	*(void **)&by_bus = dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2");
	*(void **)&mem_info = dlsym(lib, "nvmlDeviceGetMemoryInfo");
	*(void **)&bar1_info = dlsym(lib, "nvmlDeviceGetBAR1MemoryInfo");
	*(void **)&err_str = dlsym(lib, "nvmlErrorString");
	if (!init || !shutdown || !by_bus || !mem_info || !bar1_info || !err_str) {
		snprintf(why, why_len, "%s lacks the NVML functions needed (too old?)", library);
		dlclose(lib);
		return false;
	}
	r = init();
	if (r != 0) {
		snprintf(why, why_len, "NVML does not start: %s", err_str(r));
		dlclose(lib);
		return false;
	}
	if ((r = by_bus(gpu, &dev)) != 0)
		snprintf(why, why_len, "NVML does not know %s: %s", gpu, err_str(r));
	else if ((r = mem_info(dev, &mem)) != 0)
		snprintf(why, why_len, "NVML cannot read the memory size of %s: %s", gpu, err_str(r));
	else if ((r = bar1_info(dev, &bar1)) != 0)
		snprintf(why, why_len, "NVML cannot read the BAR1 size of %s: %s", gpu, err_str(r));
	else
		ok = true;
	if (ok) {
		*ret_mem = mem.total;
		*ret_bar1 = bar1.total;
	}
	shutdown();
	dlclose(lib);
	return ok;
}
