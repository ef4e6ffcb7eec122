/* SPDX-License-Identifier: MIT */
/* What the parts of the VFIO layer share (vfio-open.c, vfio-dma.c,
 * vfio-cdev.c); not installed, not for callers. */
#pragma once

#include <linux/vfio.h>
#include <stdarg.h>

#include "topology.h"
#include "vfio.h"

#define HOMI_VFIO_MAX_RANGES 16

struct homi_vfio_range {
	uint64_t start, end; /* inclusive */
};

struct homi_vfio_map {
	uint64_t iova;
	size_t len;
};

struct homi_vfio {
	char addr[HOMI_ADDR_LEN];
	enum homi_vfio_mode mode;
	int group_no;
	int container_fd, group_fd, device_fd;
	int iommufd;                 /* cdev mode */
	uint32_t ioas_id;            /* cdev mode */
	int pagemap_fd;              /* noiommu mode: /proc/self/pagemap */
	volatile void *bar0;
	size_t bar0_len;
	uint64_t config_offset;
	bool can_reset;
	/* IOVA allocator: a bump pointer through the usable ranges. */
	struct homi_vfio_range ranges[HOMI_VFIO_MAX_RANGES];
	size_t n_ranges, cur_range;
	uint64_t next_iova;
	struct homi_vfio_map *maps;
	size_t n_maps;
};

/* One line into ERR; returns R (a negative errno). */
int homi_vfio_fail(char *err, size_t errlen, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "0000:02:00.0 (pcieport), 0000:03:00.0 (nvme)": the members of GROUP
 * other than ADDR, with their drivers. Returns how many there are. */
int homi_vfio_group_others(const struct homi_sysfs *s, int group, const char *addr, char *buf, size_t len);

/* After the device descriptor is open: regions, BAR0 mapping, bus master. */
int homi_vfio_setup_device(struct homi_vfio *v, char *err, size_t errlen);
int homi_vfio_set_bus_master(struct homi_vfio *v, bool on);

/* IOVA bookkeeping (vfio-dma.c). */
void homi_vfio_default_ranges(struct homi_vfio *v);
int homi_vfio_iova_alloc(struct homi_vfio *v, size_t len, uint64_t *ret);
int homi_vfio_map_record(struct homi_vfio *v, uint64_t iova, size_t len);
void homi_vfio_map_forget(struct homi_vfio *v, uint64_t iova);

#ifdef VFIO_DEVICE_BIND_IOMMUFD
#define HOMI_HAVE_VFIO_CDEV 1
int homi_vfio_cdev_open(struct homi_vfio *v, const struct homi_sysfs *s, char *err, size_t errlen);
int homi_vfio_cdev_map(struct homi_vfio *v, void *va, size_t len, uint64_t iova);
int homi_vfio_cdev_unmap(struct homi_vfio *v, uint64_t iova, size_t len);
#endif
/* True when the VF has a vfio device file (vfio-dev/vfioN) and /dev/iommu exists. */
bool homi_vfio_cdev_available(const struct homi_sysfs *s, const char *addr);
