/* SPDX-License-Identifier: MIT */
/* Opening a VF through the VFIO group/container API (type1 v2, or the
 * no-IOMMU mode on request), the device's regions, bus mastering, reset. */
#include "config.h"

#include <fcntl.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "macro.h"
#include "pci.h"
#include "vfio-internal.h"

static struct homi_vfio *vfio_new(const char *addr)
{
	struct homi_vfio *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	snprintf(v->addr, sizeof(v->addr), "%s", addr);
	v->container_fd = v->group_fd = v->device_fd = v->iommufd = v->pagemap_fd = -EBADF;
	return v;
}

const char *homi_vfio_addr(const struct homi_vfio *v) { return v->addr; }
enum homi_vfio_mode homi_vfio_mode(const struct homi_vfio *v) { return v->mode; }
int homi_vfio_group(const struct homi_vfio *v) { return v->group_no; }
int homi_vfio_device_fd(const struct homi_vfio *v) { return v->device_fd; }

const char *homi_vfio_mode_name(enum homi_vfio_mode m)
{
	switch (m) {
	case HOMI_VFIO_AUTO: return "auto";
	case HOMI_VFIO_TYPE1: return "type1";
	case HOMI_VFIO_CDEV: return "cdev";
	case HOMI_VFIO_NOIOMMU: return "noiommu";
	}
	return "?";
}

volatile void *homi_vfio_bar0(const struct homi_vfio *v, size_t *ret_len)
{
	if (ret_len)
		*ret_len = v->bar0_len;
	return v->bar0;
}

static int config_rw(struct homi_vfio *v, void *buf, size_t len, unsigned off, bool write)
{
	ssize_t n = write ? pwrite(v->device_fd, buf, len, (off_t)(v->config_offset + off))
			  : pread(v->device_fd, buf, len, (off_t)(v->config_offset + off));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int homi_vfio_set_bus_master(struct homi_vfio *v, bool on)
{
	uint16_t cmd;
	int r = config_rw(v, &cmd, sizeof(cmd), PCI_COMMAND, false);

	if (r < 0)
		return r;
	/* Memory space (a VF's real enable is VF MSE in its PF, vfio-pci
	 * virtualizes this bit), bus master, and INTx off: we poll. */
	if (on)
		cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
	else
		cmd &= (uint16_t)~PCI_COMMAND_MASTER;
	return config_rw(v, &cmd, sizeof(cmd), PCI_COMMAND, true);
}

int homi_vfio_setup_device(struct homi_vfio *v, char *err, size_t errlen)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info bar = { .argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	void *p;
	int r;

	if (ioctl(v->device_fd, VFIO_DEVICE_GET_INFO, &di) < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: VFIO_DEVICE_GET_INFO: %m", v->addr);
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI))
		return homi_vfio_fail(err, errlen, -ENODEV, "%s: the VFIO device is not a PCI device", v->addr);
	v->can_reset = di.flags & VFIO_DEVICE_FLAGS_RESET;
	if (ioctl(v->device_fd, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: config region: %m", v->addr);
	v->config_offset = cfg.offset;
	if (ioctl(v->device_fd, VFIO_DEVICE_GET_REGION_INFO, &bar) < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: BAR0 region: %m", v->addr);
	if (bar.size < 0x2000 || !(bar.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return homi_vfio_fail(err, errlen, -ENODEV, "%s: BAR0 (%llu bytes) cannot be mapped as NVMe registers",
				      v->addr, (unsigned long long)bar.size);
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device_fd, (off_t)bar.offset);
	if (p == MAP_FAILED)
		return homi_vfio_fail(err, errlen, -errno, "%s: mapping BAR0: %m", v->addr);
	v->bar0 = p;
	v->bar0_len = bar.size;
	r = homi_vfio_set_bus_master(v, true);
	if (r < 0)
		return homi_vfio_fail(err, errlen, r, "%s: enabling bus mastering: %s", v->addr, strerror(-r));
	return 0;
}

/* The usable IOVA ranges of the container (type1 capability chain); the
 * defaults stay when the kernel does not report them. */
static void read_iova_ranges(struct homi_vfio *v)
{
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	_cleanup_free_ struct vfio_iommu_type1_info *info = NULL;
	uint32_t off;

	homi_vfio_default_ranges(v);
	if (ioctl(v->container_fd, VFIO_IOMMU_GET_INFO, &probe) < 0 || probe.argsz <= sizeof(probe))
		return;
	info = calloc(1, probe.argsz);
	if (!info)
		return;
	info->argsz = probe.argsz;
	if (ioctl(v->container_fd, VFIO_IOMMU_GET_INFO, info) < 0 || !(info->flags & VFIO_IOMMU_INFO_CAPS))
		return;
	for (off = info->cap_offset; off && off + sizeof(struct vfio_info_cap_header) <= info->argsz;) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *c = (void *)h;
			size_t n = 0;
			for (uint32_t i = 0; i < c->nr_iovas && n < HOMI_VFIO_MAX_RANGES; i++) {
				/* Keep clear of page 0 and of the low 256 MiB. */
				uint64_t start = c->iova_ranges[i].start, end = c->iova_ranges[i].end;
				if (start < 0x10000000ULL)
					start = 0x10000000ULL;
				if (end <= start)
					continue;
				v->ranges[n].start = start;
				v->ranges[n].end = end;
				n++;
			}
			if (n) {
				v->n_ranges = n;
				v->cur_range = 0;
				v->next_iova = v->ranges[0].start;
			}
			return;
		}
		off = h->next;
	}
}

static int open_type1(struct homi_vfio *v, const struct homi_sysfs *s, char *err, size_t errlen)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	bool noiommu = v->mode == HOMI_VFIO_NOIOMMU;
	unsigned long iommu = noiommu ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU;
	char name[64], path[256], others[512];
	int r;

	snprintf(name, sizeof(name), noiommu ? "vfio/noiommu-%d" : "vfio/%d", v->group_no);
	r = homi_sysfs_dev_path(s, name, path, sizeof(path));
	if (r < 0)
		return homi_vfio_fail(err, errlen, r, "%s: no device nodes on a captured sysfs tree", v->addr);
	v->group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->group_fd < 0) {
		r = -errno;
		if (r == -EACCES || r == -EPERM)
			return homi_vfio_fail(err, errlen, r,
					      "%s: %s: permission denied: the VF's policy (owner, group, mode) decides "
					      "who may open it", v->addr, path);
		if (r == -EBUSY)
			return homi_vfio_fail(err, errlen, r, "%s: %s is busy: another process has the VF open",
					      v->addr, path);
		if (r == -ENOENT && !noiommu)
			return homi_vfio_fail(err, errlen, r,
					      "%s: %s does not exist (a no-IOMMU group? then ask for no-IOMMU mode)",
					      v->addr, path);
		return homi_vfio_fail(err, errlen, r, "%s: %s: %s", v->addr, path, strerror(-r));
	}
	if (ioctl(v->group_fd, VFIO_GROUP_GET_STATUS, &gs) < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: VFIO_GROUP_GET_STATUS: %m", v->addr);
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		homi_vfio_group_others(s, v->group_no, v->addr, others, sizeof(others));
		return homi_vfio_fail(err, errlen, -EPERM,
				      "%s: IOMMU group %d is not viable: a device in it is bound to a host driver%s%s",
				      v->addr, v->group_no, others[0] ? ": " : "", others);
	}

	r = homi_sysfs_dev_path(s, "vfio/vfio", path, sizeof(path));
	if (r < 0)
		return homi_vfio_fail(err, errlen, r, "%s: no /dev", v->addr);
	v->container_fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->container_fd < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: %s: %m", v->addr, path);
	if (ioctl(v->container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return homi_vfio_fail(err, errlen, -EPROTO, "%s: unknown VFIO API version", v->addr);
	if (ioctl(v->container_fd, VFIO_CHECK_EXTENSION, iommu) != 1)
		return homi_vfio_fail(err, errlen, -EOPNOTSUPP, "%s: the kernel's VFIO has no %s IOMMU", v->addr,
				      noiommu ? "no-IOMMU (enable_unsafe_noiommu_mode)" : "type1 v2");
	if (ioctl(v->group_fd, VFIO_GROUP_SET_CONTAINER, &v->container_fd) < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: VFIO_GROUP_SET_CONTAINER: %m", v->addr);
	if (ioctl(v->container_fd, VFIO_SET_IOMMU, iommu) < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: VFIO_SET_IOMMU(%s): %m", v->addr,
				      homi_vfio_mode_name(v->mode));
	if (noiommu) {
		r = homi_sysfs_proc_path(s, "self/pagemap", path, sizeof(path));
		if (r < 0)
			return homi_vfio_fail(err, errlen, r, "%s: no /proc", v->addr);
		v->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (v->pagemap_fd < 0)
			return homi_vfio_fail(err, errlen, -errno, "%s: %s: %m", v->addr, path);
	} else {
		read_iova_ranges(v);
	}
	v->device_fd = ioctl(v->group_fd, VFIO_GROUP_GET_DEVICE_FD, v->addr);
	if (v->device_fd < 0)
		return homi_vfio_fail(err, errlen, -errno, "%s: VFIO_GROUP_GET_DEVICE_FD: %m", v->addr);
	return 0;
}

int homi_vfio_open(const struct homi_sysfs *s, const char *addr, enum homi_vfio_mode mode, struct homi_vfio **ret,
		   char *err, size_t errlen)
{
	struct homi_vfio *v;
	int r = homi_vfio_check(s, addr, err, errlen);

	if (r < 0)
		return r;
	v = vfio_new(addr);
	if (!v)
		return homi_vfio_fail(err, errlen, -ENOMEM, "%s: out of memory", addr);
	/* The check canonicalised the address; keep that form. */
	homi_pci_parse_addr(addr, v->addr);
	v->group_no = r;
	if (mode == HOMI_VFIO_AUTO)
		mode = homi_vfio_cdev_available(s, v->addr) ? HOMI_VFIO_CDEV : HOMI_VFIO_TYPE1;
	v->mode = mode;
	switch (mode) {
	case HOMI_VFIO_CDEV:
#ifdef HOMI_HAVE_VFIO_CDEV
		r = homi_vfio_cdev_open(v, s, err, errlen);
#else
		r = homi_vfio_fail(err, errlen, -EOPNOTSUPP,
				   "%s: built without the iommufd device-file API (kernel headers before 6.6)", v->addr);
#endif
		break;
	case HOMI_VFIO_TYPE1:
	case HOMI_VFIO_NOIOMMU:
		r = open_type1(v, s, err, errlen);
		break;
	default:
		r = homi_vfio_fail(err, errlen, -EINVAL, "%s: unknown VFIO mode", v->addr);
	}
	if (r >= 0)
		r = homi_vfio_setup_device(v, err, errlen);
	if (r < 0) {
		homi_vfio_close(v);
		return r;
	}
	*ret = v;
	return 0;
}

int homi_vfio_reset(struct homi_vfio *v)
{
	if (!v->can_reset)
		return -ENOTTY;
	if (ioctl(v->device_fd, VFIO_DEVICE_RESET) < 0)
		return -errno;
	return homi_vfio_set_bus_master(v, true);
}

struct homi_vfio *homi_vfio_close(struct homi_vfio *v)
{
	if (!v)
		return NULL;
	while (v->n_maps)
		homi_vfio_dma_unmap(v, v->maps[v->n_maps - 1].iova, v->maps[v->n_maps - 1].len);
	free(v->maps);
	if (v->device_fd >= 0)
		homi_vfio_set_bus_master(v, false);
	if (v->bar0)
		munmap((void *)v->bar0, v->bar0_len);
	if (v->device_fd >= 0)
		close(v->device_fd);
	if (v->group_fd >= 0)
		close(v->group_fd);
	if (v->container_fd >= 0)
		close(v->container_fd);
	if (v->iommufd >= 0)
		close(v->iommufd);
	if (v->pagemap_fd >= 0)
		close(v->pagemap_fd);
	free(v);
	return NULL;
}
