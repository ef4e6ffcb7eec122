/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-probe: open a PCI function bound to vfio-pci through the VFIO
 * container/group API (Linux 6.1 has no iommufd cdev) and check that user
 * space can drive it: group viability, type1v2 IOMMU, device fd, BAR0
 * mapping (NVMe CAP/VS), a DMA mapping, and optionally one NVMe admin
 * command (Identify Controller) through that DMA memory.
 *
 *   vfio-probe [--expect-viable | --expect-not-viable] [--expect-group-has PCI]...
 *              [--expect-alone] [--identify] [--hold SECONDS] PCI
 *
 * Prints one "key=value" fact a line; the VM scenarios grep them.
 * Exit: 0 all checks and expectations hold; 1 error; 2 usage;
 * 3 an expectation failed. With --expect-not-viable the program stops
 * (successfully) after confirming that the group is not viable.
 *
 * Test helper of the homi VM testbed; built static (gcc -static) so that
 * it needs nothing in the guest.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define DMA_IOVA 0x10000000ULL /* 256 MiB: clear of the x86 MSI window */
#define DMA_SIZE 0x10000ULL    /* 64 KiB */
#define MAX_EXPECT 16

static const char *pci;
static int failures;

static void fact(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fact(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "vfio-probe: %s: %s: %s\n", pci ? pci : "?", what, strerror(errno));
	exit(1);
}

static void expect_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void expect_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vfio-probe: %s: expectation failed: ", pci);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint32_t rd32(volatile uint8_t *bar, unsigned off)
{
	return *(volatile uint32_t *)(bar + off);
}

static void wr32(volatile uint8_t *bar, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(bar + off) = v;
}

static uint64_t rd64(volatile uint8_t *bar, unsigned off)
{
	return rd32(bar, off) | (uint64_t)rd32(bar, off + 4) << 32;
}

static void wr64(volatile uint8_t *bar, unsigned off, uint64_t v)
{
	wr32(bar, off, (uint32_t)v);
	wr32(bar, off + 4, (uint32_t)(v >> 32));
}

/* The sysfs name of PCI's driver, or "-" when none. */
static void driver_of(const char *dev, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", dev);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(buf, len, "-");
		return;
	}
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	n = (ssize_t)strlen(base);
	if ((size_t)n >= len)
		n = (ssize_t)len - 1;
	memcpy(buf, base, (size_t)n);
	buf[n] = '\0';
}

static void trim(char *s, size_t len)
{
	size_t i;

	s[len] = '\0';
	for (i = len; i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\0'); i--)
		s[i - 1] = '\0';
}

/* Config space access through the VFIO config region. */
static void cfg_rw(int dev, const struct vfio_region_info *cfg, void *buf, size_t len,
		   off_t off, bool write)
{
	ssize_t n = write ? pwrite(dev, buf, len, (off_t)cfg->offset + off)
			  : pread(dev, buf, len, (off_t)cfg->offset + off);
	if (n != (ssize_t)len)
		die(write ? "config space write" : "config space read");
}

/*
 * One Identify Controller through the admin queue, polled (no interrupts),
 * with the queues and the data buffer in the DMA mapping at DMA_IOVA.
 */
static int nvme_identify(int dev, volatile uint8_t *bar, uint8_t *dma)
{
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint64_t cap = rd64(bar, 0x0), deadline;
	unsigned dstrd = (unsigned)(cap >> 32) & 0xf, to_ms = (unsigned)((cap >> 24) & 0xff) * 500;
	uint16_t cmd;
	uint32_t *sqe, *cqe, status;
	uint8_t *id = dma + 0x2000;
	char sn[21], mn[41], fr[9];

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		die("VFIO_DEVICE_GET_REGION_INFO(config)");
	/* Memory space + bus master on, INTx off: completions are polled. */
	cfg_rw(dev, &cfg, &cmd, sizeof(cmd), 0x4, false);
	cmd |= 0x2 | 0x4 | 0x400;
	cfg_rw(dev, &cfg, &cmd, sizeof(cmd), 0x4, true);

	if (to_ms == 0)
		to_ms = 500;
	if (rd32(bar, 0x14) & 1) {
		wr32(bar, 0x14, 0);
		deadline = now_ns() + to_ms * 1000000ULL;
		while (rd32(bar, 0x1c) & 1)
			if (now_ns() > deadline) {
				fprintf(stderr, "vfio-probe: %s: controller did not disable\n", pci);
				return -1;
			}
	}
	memset(dma, 0, DMA_SIZE);
	wr32(bar, 0x24, (15u << 16) | 15u);      /* AQA: 16 entries each */
	wr64(bar, 0x28, DMA_IOVA);               /* ASQ */
	wr64(bar, 0x30, DMA_IOVA + 0x1000);      /* ACQ */
	wr32(bar, 0x14, (4u << 20) | (6u << 16) | 1u); /* CC: IOCQES 16, IOSQES 64, EN */
	deadline = now_ns() + to_ms * 1000000ULL;
	while (!(rd32(bar, 0x1c) & 1)) {
		if (rd32(bar, 0x1c) & 2 || now_ns() > deadline) {
			fprintf(stderr, "vfio-probe: %s: controller not ready (CSTS=0x%08x)\n", pci,
				rd32(bar, 0x1c));
			return -1;
		}
	}
	fact("nvme-enable=ok csts=0x%08x", rd32(bar, 0x1c));

	sqe = (uint32_t *)dma;
	sqe[0] = 0x06 | (1u << 16);                /* Identify, CID 1 */
	sqe[1] = 0;                                /* NSID */
	sqe[6] = (uint32_t)(DMA_IOVA + 0x2000);    /* PRP1 */
	sqe[7] = (uint32_t)((DMA_IOVA + 0x2000) >> 32);
	sqe[10] = 1;                               /* CNS 1: controller */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr32(bar, 0x1000, 1);                      /* SQ0 tail doorbell */

	cqe = (uint32_t *)(dma + 0x1000);
	deadline = now_ns() + 2000000000ULL;
	while (!(__atomic_load_n(&cqe[3], __ATOMIC_ACQUIRE) & 0x10000)) {
		if (now_ns() > deadline) {
			fprintf(stderr, "vfio-probe: %s: Identify timed out (no completion)\n", pci);
			return -1;
		}
	}
	status = (cqe[3] >> 17) & 0x7fff;
	wr32(bar, 0x1000 + (4u << dstrd), 1);      /* CQ0 head doorbell */
	if (status) {
		fprintf(stderr, "vfio-probe: %s: Identify failed, status 0x%x\n", pci, status);
		return -1;
	}
	memcpy(sn, id + 4, 20);
	trim(sn, 20);
	memcpy(mn, id + 24, 40);
	trim(mn, 40);
	memcpy(fr, id + 64, 8);
	trim(fr, 8);
	fact("identify=ok vid=0x%04x cntlid=%u sn=%s mn=%s fr=%s",
	     id[0] | id[1] << 8, id[78] | id[79] << 8, sn, mn, fr);

	wr32(bar, 0x14, 0);                        /* leave it disabled */
	deadline = now_ns() + to_ms * 1000000ULL;
	while ((rd32(bar, 0x1c) & 1) && now_ns() < deadline)
		;
	cmd &= (uint16_t)~0x4;
	cfg_rw(dev, &cfg, &cmd, sizeof(cmd), 0x4, true);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: vfio-probe [--expect-viable | --expect-not-viable] "
			"[--expect-alone] [--expect-group-has PCI]... [--identify] [--hold SECONDS] PCI\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *expect_has[MAX_EXPECT];
	int n_expect_has = 0, expect_viable = -1, i;
	bool expect_alone = false, identify = false;
	char path[PATH_MAX], target[PATH_MAX], members[4096] = "", drv[64];
	const char *group;
	ssize_t n;
	int container, grp, dev, count = 0;
	DIR *d;
	struct dirent *de;
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info bar = { .argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_iommu_type1_info ii = { .argsz = sizeof(ii) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	volatile uint8_t *bar0;
	uint8_t *buf;
	uint64_t cap;
	uint32_t vs;
	int hold = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--expect-viable"))
			expect_viable = 1;
		else if (!strcmp(argv[i], "--expect-not-viable"))
			expect_viable = 0;
		else if (!strcmp(argv[i], "--expect-alone"))
			expect_alone = true;
		else if (!strcmp(argv[i], "--identify"))
			identify = true;
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			hold = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--expect-group-has") && i + 1 < argc && n_expect_has < MAX_EXPECT)
			expect_has[n_expect_has++] = argv[++i];
		else if (argv[i][0] == '-' || pci)
			usage();
		else
			pci = argv[i];
	}
	if (!pci)
		usage();

	/* The IOMMU group and its members, as sysfs shows them. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", pci);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		die("no IOMMU group (is an IOMMU enabled?)");
	target[n] = '\0';
	group = strrchr(target, '/') + 1;
	driver_of(pci, drv, sizeof(drv));
	fact("device=%s driver=%s group=%s", pci, drv, group);
	if (strcmp(drv, "vfio-pci"))
		fprintf(stderr, "vfio-probe: %s: warning: bound to %s, not vfio-pci\n", pci, drv);
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/devices", group);
	d = opendir(path);
	if (!d)
		die(path);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		count++;
		driver_of(de->d_name, drv, sizeof(drv));
		fact("group-member=%s driver=%s", de->d_name, drv);
		if (strlen(members) + strlen(de->d_name) + 2 < sizeof(members)) {
			if (members[0])
				strcat(members, ",");
			strcat(members, de->d_name);
		}
	}
	closedir(d);
	fact("group-size=%d members=%s", count, members);
	if (expect_alone && count != 1)
		expect_fail("group is not %s alone", pci);
	for (i = 0; i < n_expect_has; i++) {
		char key[64];

		snprintf(key, sizeof(key), "%s", expect_has[i]);
		if (!strstr(members, key))
			expect_fail("group does not contain %s", expect_has[i]);
	}

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		die("/dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		die("VFIO API version mismatch");
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		errno = ENOTSUP;
		die("VFIO_TYPE1v2_IOMMU not supported");
	}
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	grp = open(path, O_RDWR | O_CLOEXEC);
	if (grp < 0)
		die(path);
	if (ioctl(grp, VFIO_GROUP_GET_STATUS, &gs))
		die("VFIO_GROUP_GET_STATUS");
	fact("viable=%d", !!(gs.flags & VFIO_GROUP_FLAGS_VIABLE));
	if (expect_viable >= 0 && expect_viable != !!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		expect_fail("viability is not as expected (%s)", expect_viable ? "viable" : "not viable");
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		/* Setting the container must fail, as the kernel promises. */
		if (ioctl(grp, VFIO_GROUP_SET_CONTAINER, &container) == 0) {
			expect_fail("%s", "VFIO_GROUP_SET_CONTAINER succeeded on a group that is not viable");
		} else {
			fact("set-container=refused errno=%d (%s)", errno, strerror(errno));
		}
		fact("result=%s", failures ? "FAIL" : "not-viable");
		return failures ? 3 : (expect_viable == 0 ? 0 : 3);
	}

	if (ioctl(grp, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU(TYPE1v2)");
	if (ioctl(container, VFIO_IOMMU_GET_INFO, &ii))
		die("VFIO_IOMMU_GET_INFO");
	fact("iommu=type1v2 iova-pgsizes=0x%" PRIx64, (uint64_t)ii.iova_pgsizes);

	dev = ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, pci);
	if (dev < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	if (ioctl(dev, VFIO_DEVICE_GET_INFO, &di))
		die("VFIO_DEVICE_GET_INFO");
	fact("device-fd=ok pci=%d reset=%d regions=%u irqs=%u", !!(di.flags & VFIO_DEVICE_FLAGS_PCI),
	     !!(di.flags & VFIO_DEVICE_FLAGS_RESET), di.num_regions, di.num_irqs);
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &bar))
		die("VFIO_DEVICE_GET_REGION_INFO(BAR0)");
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar.size == 0) {
		errno = ENOTSUP;
		die("BAR0 cannot be mmapped");
	}
	bar0 = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)bar.offset);
	if (bar0 == MAP_FAILED)
		die("mmap BAR0");
	cap = rd64(bar0, 0x0);
	vs = rd32(bar0, 0x8);
	fact("bar0-size=0x%" PRIx64 " cap=0x%016" PRIx64 " vs=0x%08x mqes=%u csts=0x%08x",
	     (uint64_t)bar.size, cap, vs, (unsigned)(cap & 0xffff), rd32(bar0, 0x1c));
	if (vs == 0 || cap == 0)
		fprintf(stderr, "vfio-probe: %s: CAP/VS read 0: the secondary controller is offline\n", pci);

	buf = mmap(NULL, DMA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap DMA buffer");
	map.vaddr = (uintptr_t)buf;
	map.iova = DMA_IOVA;
	map.size = DMA_SIZE;
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		die("VFIO_IOMMU_MAP_DMA");
	fact("dma-map=ok iova=0x%llx size=0x%llx", DMA_IOVA, DMA_SIZE);

	if (identify) {
		if (vs == 0) {
			expect_fail("%s", "--identify on an offline controller");
		} else if (nvme_identify(dev, bar0, buf)) {
			failures++;
		}
	}

	if (hold > 0) {
		/* keep the device open (its group descriptor closed: a device
		 * descriptor alone keeps vfio-pci's hold) for a test to meet */
		close(grp);
		grp = -1;
		fact("holding=%ds", hold);
		fflush(stdout);
		sleep((unsigned)hold);
	}
	unmap.iova = DMA_IOVA;
	unmap.size = DMA_SIZE;
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		die("VFIO_IOMMU_UNMAP_DMA");
	munmap((void *)bar0, bar.size);
	close(dev);
	if (grp >= 0)
		close(grp);
	close(container);
	fact("result=%s", failures ? "FAIL" : "ok");
	return failures ? 3 : 0;
}
