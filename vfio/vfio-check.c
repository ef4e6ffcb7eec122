/* SPDX-License-Identifier: MIT */
/* The checks before a VF is opened, on sysfs alone: it is a VF, it is on
 * vfio-pci, it has an IOMMU group and nothing else is in that group. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "pci.h"
#include "vfio-internal.h"

int homi_vfio_fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static void driver_of(const struct homi_sysfs *s, const char *addr, char *buf, size_t len)
{
	char rel[300];
	_cleanup_close_ int fd = -EBADF;

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	fd = homi_sysfs_open_dir(s, rel);
	if (fd < 0 || homi_sysfs_link_name_at(fd, "driver", buf, len) < 0)
		snprintf(buf, len, "no driver");
}

int homi_vfio_group_others(const struct homi_sysfs *s, int group, const char *addr, char *buf, size_t len)
{
	char rel[64], drv[64];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/devices", group);
	d = homi_sysfs_opendir(s, rel);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || streq(de->d_name, addr))
			continue;
		driver_of(s, de->d_name, drv, sizeof(drv));
		if (used < len) {
			int w = snprintf(buf + used, len - used, "%s%s (%s)", n ? ", " : "", de->d_name, drv);
			used += w > 0 ? (size_t)w : 0;
		}
		n++;
	}
	return n;
}

int homi_vfio_check(const struct homi_sysfs *s, const char *addr, char *err, size_t errlen)
{
	char canon[HOMI_ADDR_LEN], rel[64], buf[256], others[512];
	_cleanup_close_ int fd = -EBADF;
	long group;
	char *end;
	int r;

	if (homi_pci_parse_addr(addr, canon) < 0)
		return homi_vfio_fail(err, errlen, -EINVAL, "%s: not a PCI address (expected DDDD:BB:DD.F)", addr);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", canon);
	fd = homi_sysfs_open_dir(s, rel);
	if (fd < 0)
		return homi_vfio_fail(err, errlen, -ENODEV, "%s: no such PCI function", canon);

	r = homi_sysfs_readlink_at(fd, "physfn", buf, sizeof(buf));
	if (r < 0) {
		long total;
		if (homi_sysfs_read_long_at(fd, "sriov_totalvfs", &total) == 0)
			return homi_vfio_fail(err, errlen, -EINVAL,
					      "%s: an SR-IOV physical function, not a VF: the PF stays with the kernel, "
					      "only its delegated VFs are opened", canon);
		return homi_vfio_fail(err, errlen, -EINVAL,
				      "%s: not an SR-IOV virtual function (no physfn link): only delegated VFs are opened",
				      canon);
	}

	r = homi_sysfs_link_name_at(fd, "driver", buf, sizeof(buf));
	if (r == -ENOENT)
		return homi_vfio_fail(err, errlen, -ENXIO,
				      "%s: not bound to any driver; a VF delegated to user space is bound to vfio-pci "
				      "(policy \"driver\": \"vfio-pci\", homictl apply)", canon);
	if (r < 0)
		return homi_vfio_fail(err, errlen, r, "%s: cannot read its driver link: %s", canon, strerror(-r));
	if (!streq(buf, "vfio-pci"))
		return homi_vfio_fail(err, errlen, -EBUSY,
				      "%s: bound to %s, not vfio-pci: the kernel owns this VF (a VF delegated to user "
				      "space has policy \"driver\": \"vfio-pci\")", canon, buf);

	r = homi_sysfs_link_name_at(fd, "iommu_group", buf, sizeof(buf));
	if (r == -ENOENT)
		return homi_vfio_fail(err, errlen, -ENOENT,
				      "%s: no IOMMU group: the IOMMU is off (boot with intel_iommu=on or amd_iommu=on); "
				      "the unsafe no-IOMMU mode is used only on request", canon);
	if (r < 0)
		return homi_vfio_fail(err, errlen, r, "%s: cannot read its iommu_group link: %s", canon, strerror(-r));
	group = strtol(buf, &end, 10);
	if (*end || group < 0 || group > 1000000)
		return homi_vfio_fail(err, errlen, -EBADMSG, "%s: odd IOMMU group name '%s'", canon, buf);

	r = homi_vfio_group_others(s, (int)group, canon, others, sizeof(others));
	if (r < 0)
		return homi_vfio_fail(err, errlen, r, "%s: cannot list IOMMU group %ld: %s", canon, group, strerror(-r));
	if (r > 0)
		return homi_vfio_fail(err, errlen, -EPERM,
				      "%s: IOMMU group %ld is shared with %s: the VF is not isolated (no ACS between "
				      "it and its PF), so user space cannot own it alone", canon, group, others);
	return (int)group;
}
