/* SPDX-License-Identifier: MIT */
/* The iommufd path: the VF's device file /dev/vfio/devices/vfioN bound to
 * /dev/iommu with one IO address space (Linux 6.6 and later). Compiled only
 * where the kernel headers have VFIO_DEVICE_BIND_IOMMUFD; Debian 12's 6.1
 * headers do not, so this path is untested on the project's testbed. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "macro.h"
#include "vfio-internal.h"

#ifdef HOMI_HAVE_VFIO_CDEV
#include <linux/iommufd.h>
#endif

/* The name of the VF's vfio device file ("vfio3"), from <addr>/vfio-dev/. */
static int cdev_name(const struct homi_sysfs *s, const char *addr, char *buf, size_t len)
{
	char rel[96];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/vfio-dev", addr);
	d = homi_sysfs_opendir(s, rel);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (has_prefix(de->d_name, "vfio")) {
			snprintf(buf, len, "%s", de->d_name);
			return 0;
		}
	return -ENOENT;
}

bool homi_vfio_cdev_available(const struct homi_sysfs *s, const char *addr)
{
#ifdef HOMI_HAVE_VFIO_CDEV
	char name[32], path[256];

	if (cdev_name(s, addr, name, sizeof(name)) < 0)
		return false;
	return homi_sysfs_dev_path(s, "iommu", path, sizeof(path)) == 0 && access(path, F_OK) == 0;
#else
	(void)cdev_name;
	return false;
#endif
}

#ifdef HOMI_HAVE_VFIO_CDEV
int homi_vfio_cdev_open(struct homi_vfio *v, const struct homi_sysfs *s, char *err, size_t errlen)
{
	char name[32], rel[64], path[256];
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	int r;

	r = cdev_name(s, v->addr, name, sizeof(name));
	if (r < 0)
		return homi_vfio_fail(err, errlen, r, "%s: no vfio device file (vfio-dev/): kernel without "
				      "CONFIG_VFIO_DEVICE_CDEV", v->addr);
	snprintf(rel, sizeof(rel), "vfio/devices/%s", name);
	if (homi_sysfs_dev_path(s, rel, path, sizeof(path)) < 0)
		return homi_vfio_fail(err, errlen, -ENODEV, "%s: no device nodes on a captured tree", v->addr);
	v->device_fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->device_fd < 0) {
		r = -errno;
		if (r == -EACCES || r == -EPERM)
			return homi_vfio_fail(err, errlen, r, "%s: %s: permission denied: the VF's policy (owner, "
					      "group, mode) decides who may open it", v->addr, path);
		return homi_vfio_fail(err, errlen, r, "%s: %s: %s", v->addr, path, strerror(-r));
	}
	if (homi_sysfs_dev_path(s, "iommu", path, sizeof(path)) < 0)
		return homi_vfio_fail(err, errlen, -ENODEV, "%s: no /dev", v->addr);
	v->iommufd = open(path, O_RDWR | O_CLOEXEC);
	if (v->iommufd < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: %s: %m", v->addr, path);
	bind.iommufd = v->iommufd;
	if (ioctl(v->device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0) {
		r = -errno;
		if (r == -EBUSY || r == -EPERM || r == -EINVAL) {
			char others[512];
			homi_vfio_group_others(s, v->group_no, v->addr, others, sizeof(others));
			return homi_vfio_fail(err, errlen, r, "%s: VFIO_DEVICE_BIND_IOMMUFD: %s%s%s", v->addr,
					      strerror(-r), others[0] ? " (IOMMU group shared with " : "",
					      others[0] ? others : "");
		}
		return homi_vfio_fail(err, errlen, r, "%s: VFIO_DEVICE_BIND_IOMMUFD: %s", v->addr, strerror(-r));
	}
	if (ioctl(v->iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: IOMMU_IOAS_ALLOC: %m", v->addr);
	v->ioas_id = alloc.out_ioas_id;
	attach.pt_id = v->ioas_id;
	if (ioctl(v->device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT: %m", v->addr);
	homi_vfio_default_ranges(v);
	return 0;
}

int homi_vfio_cdev_map(struct homi_vfio *v, void *va, size_t len, uint64_t iova)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = v->ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};
	return ioctl(v->iommufd, IOMMU_IOAS_MAP, &map) < 0 ? -errno : 0;
}

int homi_vfio_cdev_unmap(struct homi_vfio *v, uint64_t iova, size_t len)
{
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = v->ioas_id, .iova = iova, .length = len };
	return ioctl(v->iommufd, IOMMU_IOAS_UNMAP, &unmap) < 0 ? -errno : 0;
}
#endif
