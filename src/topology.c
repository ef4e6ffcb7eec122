/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "macro.h"
#include "pci.h"
#include "topology.h"
#include "strv.h"

#define PCI_CLASS_NVME_MASK 0xffff00u
#define PCI_CLASS_NVME 0x010800u     /* mass storage, non-volatile memory */
#define PCI_EXP_TYPE_ROOT_PORT 4
#define PCI_EXP_TYPE_UPSTREAM 5
#define PCI_EXP_TYPE_DOWNSTREAM 6

struct loader {
	const struct homi_sysfs *s;
	struct homi_topology *t;
	size_t cap_devices;
};

void homi_topology_warn(struct homi_topology *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)homi_strv_appendv(&t->warnings, &t->n_warnings, fmt, ap); /* a warning lost to ENOMEM */
	va_end(ap);
}

#define warn(l, ...) homi_topology_warn((l)->t, __VA_ARGS__)

static bool is_addr(const char *s)
{
	char canon[HOMI_ADDR_LEN];
	return homi_pci_parse_addr(s, canon) == 0 && streq(canon, s);
}

static char *read_string(int dirfd, const char *name)
{
	char buf[256];
	return homi_sysfs_read_at(dirfd, name, buf, sizeof(buf)) > 0 ? strdup(buf) : NULL;
}

static int read_int(int dirfd, const char *name, int dflt)
{
	long v;
	return homi_sysfs_read_long_at(dirfd, name, &v) == 0 ? (int)v : dflt;
}

/* Position from the link bus/pci/devices/ADDR ->
 * ../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0: the host bridge is
 * the last pciDDDD:BB component, the parent the address before ADDR. */
static void read_position(struct loader *l, int devicesfd, struct homi_device *d)
{
	char target[4096], *save = NULL, *tok;
	char prev[HOMI_ADDR_LEN] = "";
	bool seen_self = false;

	if (homi_sysfs_readlink_at(devicesfd, d->pci, target, sizeof(target)) < 0) {
		warn(l, "%s: bus/pci/devices/%s is not a link into devices/; position unknown", d->pci, d->pci);
		return;
	}
	for (tok = strtok_r(target, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (has_prefix(tok, "pci") && strchr(tok, ':')) {
			snprintf(d->host_bridge, sizeof(d->host_bridge), "%s", tok);
			prev[0] = '\0';
		} else if (is_addr(tok)) {
			if (streq(tok, d->pci)) {
				seen_self = true;
				break;
			}
			memcpy(prev, tok, sizeof(prev));
		}
	}
	if (!seen_self || !d->host_bridge[0]) {
		warn(l, "%s: link target does not name the device under a host bridge; position unknown", d->pci);
		d->host_bridge[0] = '\0';
		return;
	}
	memcpy(d->parent, prev, sizeof(d->parent));
}

static void read_ids(struct loader *l, int fd, struct homi_device *d)
{
	static const struct { const char *name; size_t off; } attrs[] = {
		{ "vendor", offsetof(struct homi_device, vendor_str) },
		{ "device", offsetof(struct homi_device, device_str) },
		{ "class", offsetof(struct homi_device, class_str) },
	};
	bool ok = true;

	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
		char *dst = (char *)d + attrs[i].off;
		size_t len = i == 2 ? sizeof(d->class_str) : sizeof(d->vendor_str);
		char buf[64], *end;
		int r = homi_sysfs_read_at(fd, attrs[i].name, buf, sizeof(buf));

		if (r <= 0 || strlen(buf) >= len || (strtoul(buf, &end, 16), *end)) {
			warn(l, "%s: %s: %s", d->pci, attrs[i].name,
			     r < 0 ? strerror(-r) : "not a hexadecimal value");
			ok = false;
			continue;
		}
		for (char *c = buf; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		memcpy(dst, buf, strlen(buf) + 1);
	}
	d->have_ids = ok;
	if (ok) {
		d->vendor = (unsigned)strtoul(d->vendor_str, NULL, 16);
		d->device = (unsigned)strtoul(d->device_str, NULL, 16);
		d->class_ = (unsigned)strtoul(d->class_str, NULL, 16);
	}
}

static void read_link(int fd, struct homi_device *d)
{
	char speed[64];
	long width;

	if (homi_sysfs_read_at(fd, "current_link_speed", speed, sizeof(speed)) <= 0 ||
	    has_prefix(speed, "Unknown"))
		return;
	if (homi_sysfs_read_long_at(fd, "current_link_width", &width) < 0 || width <= 0)
		return;
	d->link_speed = strdup(speed);
	d->link_width = (int)width;
}

static void read_sriov(struct loader *l, int fd, struct homi_device *d)
{
	long total;

	if (homi_sysfs_read_long_at(fd, "sriov_totalvfs", &total) < 0 || total <= 0)
		return;
	if (total > HOMI_MAX_VFS) { /* TotalVFs is a 16-bit field of the SR-IOV capability */
		warn(l, "%s: sriov_totalvfs %ld is not a VF count; not taken as an SR-IOV PF", d->pci, total);
		return;
	}
	d->is_pf = true;
	d->sriov.total_vfs = (int)total;
	d->sriov.num_vfs = read_int(fd, "sriov_numvfs", -1);
	d->sriov.vf_offset = read_int(fd, "sriov_offset", -1);
	d->sriov.vf_stride = read_int(fd, "sriov_stride", -1);
	d->sriov.drivers_autoprobe = read_int(fd, "sriov_drivers_autoprobe", -1);
	if (d->sriov.num_vfs > d->sriov.total_vfs) {
		warn(l, "%s: sriov_numvfs %d is more than sriov_totalvfs %d; VF count unknown", d->pci,
		     d->sriov.num_vfs, d->sriov.total_vfs);
		d->sriov.num_vfs = -1;
	} else if (d->sriov.num_vfs < 0) {
		warn(l, "%s: sriov_numvfs unreadable; VF count unknown", d->pci);
	}
	if (d->sriov.num_vfs <= 0)
		return;
	d->vfs = calloc((size_t)d->sriov.num_vfs, sizeof(*d->vfs));
	if (!d->vfs)
		return;
	for (int i = 0; i < d->sriov.num_vfs; i++) {
		char name[32], vf[64];
		snprintf(name, sizeof(name), "virtfn%d", i);
		if (homi_sysfs_link_name_at(fd, name, vf, sizeof(vf)) < 0 || !is_addr(vf)) {
			warn(l, "%s: %s missing or not a PCI address although sriov_numvfs is %d", d->pci, name,
			     d->sriov.num_vfs);
			continue;
		}
		memcpy(d->vfs[d->n_vfs++], vf, HOMI_ADDR_LEN);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Namespace entries of a controller: nvme0n1 (no multipath), nvme0c0n1 (a
 * path under native multipath), ng0n1 (the generic char device). */
static bool is_ns_entry(const char *n)
{
	if (has_prefix(n, "ng"))
		n += 2;
	else if (has_prefix(n, "nvme"))
		n += 4;
	else
		return false;
	return isdigit((unsigned char)*n) && strchr(n, 'n');
}

static void read_namespaces(struct loader *l, int ctrlfd, struct homi_device *d)
{
	_cleanup_closedir_ DIR *dir = homi_fdopendir(dup(ctrlfd));
	struct homi_nvme_ctrl *c = &d->nvme;
	size_t cap = 0;
	struct dirent *de;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char rel[300];
		long nsid;

		if (!is_ns_entry(de->d_name))
			continue;
		snprintf(rel, sizeof(rel), "%s/nsid", de->d_name);
		if (homi_sysfs_read_long_at(ctrlfd, rel, &nsid) < 0 || nsid <= 0) {
			warn(l, "%s: %s/%s has no valid nsid", d->pci, c->name, de->d_name);
			continue;
		}
		if (c->n_namespaces == cap) {
			cap = cap ? cap * 2 : 4;
			uint32_t *n = realloc(c->namespaces, cap * sizeof(*n));
			if (!n)
				return;
			c->namespaces = n;
		}
		c->namespaces[c->n_namespaces++] = (uint32_t)nsid;
	}
	qsort_safe(c->namespaces, c->n_namespaces, sizeof(uint32_t), cmp_u32);
	size_t w = 0;
	for (size_t i = 0; i < c->n_namespaces; i++)
		if (w == 0 || c->namespaces[w - 1] != c->namespaces[i])
			c->namespaces[w++] = c->namespaces[i];
	c->n_namespaces = w;
}

static void read_nvme(struct loader *l, struct homi_device *d)
{
	char rel[64];
	int fd;
	DIR *dir;
	struct dirent *de;

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/nvme", d->pci);
	dir = homi_sysfs_opendir(l->s, rel);
	if (!dir)
		return; /* not bound to nvme, or not probed yet */
	fd = dirfd(dir);
	while ((de = readdir(dir))) {
		if (!has_prefix(de->d_name, "nvme") || !isdigit((unsigned char)de->d_name[4]))
			continue;
		_cleanup_close_ int cfd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			continue;
		struct homi_nvme_ctrl *c = &d->nvme;
		d->has_nvme = true;
		snprintf(c->name, sizeof(c->name), "%s", de->d_name);
		c->model = read_string(cfd, "model");
		c->serial = read_string(cfd, "serial");
		c->firmware = read_string(cfd, "firmware_rev");
		c->cntlid = read_int(cfd, "cntlid", -1);
		read_namespaces(l, cfd, d);
		break; /* one controller per PCI function */
	}
	closedir(dir);
}

bool homi_is_gpu(unsigned vendor, unsigned class_, bool on_root_bus)
{
	unsigned cls = class_ >> 8;

	if (cls == 0x0302) /* 3D controller */
		return true;
	if (cls != 0x0300) /* VGA: only from a GPU vendor */
		return false;
	switch (vendor) {
	case 0x10de: /* NVIDIA */
	case 0x1002: /* AMD */
		return true;
	case 0x8086: /* Intel: discrete cards sit behind a bridge, the iGPU on the root bus */
		return !on_root_bus;
	default:     /* ASPEED, Matrox, QEMU/Bochs, ... BMC and emulator VGA */
		return false;
	}
}

static enum homi_kind classify(const struct homi_device *d)
{
	if (!d->have_ids)
		return d->pf[0] ? HOMI_KIND_NVME_VF : HOMI_KIND_OTHER;
	if ((d->class_ & PCI_CLASS_NVME_MASK) == PCI_CLASS_NVME) {
		if (d->pf[0])
			return HOMI_KIND_NVME_VF;
		return d->is_pf ? HOMI_KIND_NVME_PF : HOMI_KIND_NVME;
	}
	if (homi_is_gpu(d->vendor, d->class_, !d->parent[0]))
		return HOMI_KIND_GPU;
	if ((d->class_ >> 8) == 0x0604 || (d->class_ >> 8) == 0x0609)
		return HOMI_KIND_BRIDGE;
	return HOMI_KIND_OTHER;
}

void homi_device_init(struct homi_device *d, const char *addr)
{
	memset(d, 0, sizeof(*d));
	size_t n = strnlen(addr, sizeof(d->pci) - 1);
	memcpy(d->pci, addr, n);
	d->numa_node = -1;
	d->iommu_group = -1;
	d->parent_idx = -1;
	d->port_type = -1;
	d->nvme.cntlid = -1;
	d->sriov = (struct homi_sriov){ -1, -1, -1, -1, -1 };
}

/* The live kernel's uevent holds IDs, class and driver in one read, the
 * same facts as four attributes and a link (captures have only those). */
static bool read_uevent(int fd, struct homi_device *d)
{
	char buf[512], *save = NULL;
	unsigned v = 0, dev = 0, cls = 0;
	bool have_id = false, have_class = false;

	if (homi_sysfs_read_at(fd, "uevent", buf, sizeof(buf)) <= 0)
		return false;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (has_prefix(line, "PCI_ID="))
			have_id = sscanf(line + 7, "%x:%x", &v, &dev) == 2;
		else if (has_prefix(line, "PCI_CLASS="))
			have_class = sscanf(line + 10, "%x", &cls) == 1;
		else if (has_prefix(line, "DRIVER=") && line[7])
			d->driver = strdup(line + 7);
	}
	if (!have_id || !have_class) {
		free(d->driver);
		d->driver = NULL;
		return false;
	}
	d->vendor = v, d->device = dev, d->class_ = cls, d->have_ids = true;
	snprintf(d->vendor_str, sizeof(d->vendor_str), "0x%04x", v & 0xffff);
	snprintf(d->device_str, sizeof(d->device_str), "0x%04x", dev & 0xffff);
	snprintf(d->class_str, sizeof(d->class_str), "0x%06x", cls & 0xffffff);
	return true;
}

static void load_device(struct loader *l, int devicesfd, struct homi_device *d)
{
	char rel[64], buf[64];
	_cleanup_close_ int fd = -EBADF;

	read_position(l, devicesfd, d);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", d->pci);
	fd = homi_sysfs_open_dir(l->s, rel);
	if (fd < 0) {
		warn(l, "%s: %s: %s", d->pci, rel, strerror(-fd));
		return;
	}
	if (!read_uevent(fd, d)) {
		read_ids(l, fd, d);
		if (homi_sysfs_link_name_at(fd, "driver", buf, sizeof(buf)) > 0)
			d->driver = strdup(buf);
	}
	d->numa_node = read_int(fd, "numa_node", -1);
	if (d->numa_node < -1)
		d->numa_node = -1;
	if (homi_sysfs_link_name_at(fd, "iommu_group", buf, sizeof(buf)) > 0) {
		char *end;
		long g = strtol(buf, &end, 10);
		if (*end || g < 0)
			warn(l, "%s: iommu_group link names '%s', not a group number", d->pci, buf);
		else
			d->iommu_group = (int)g;
	}
	read_link(fd, d);
	/* SR-IOV links and NVMe controllers: homi's business is NVMe (a
	 * function whose IDs are unknown is looked at too). */
	if (d->have_ids && (d->class_ & PCI_CLASS_NVME_MASK) != PCI_CLASS_NVME)
		return;
	if (homi_sysfs_link_name_at(fd, "physfn", buf, sizeof(buf)) > 0) {
		if (is_addr(buf))
			memcpy(d->pf, buf, HOMI_ADDR_LEN);
		else
			warn(l, "%s: physfn link names '%s', not a PCI address", d->pci, buf);
	}
	read_sriov(l, fd, d);
	if (d->have_ids && (d->class_ & PCI_CLASS_NVME_MASK) == PCI_CLASS_NVME)
		read_nvme(l, d);
}

static int cmp_device(const void *a, const void *b)
{
	return strcmp(((const struct homi_device *)a)->pci, ((const struct homi_device *)b)->pci);
}

ssize_t homi_topology_find(const struct homi_topology *t, const char *addr)
{
	struct homi_device key;
	struct homi_device *hit;

	if (strlen(addr) >= sizeof(key.pci))
		return -1;
	memcpy(key.pci, addr, strlen(addr) + 1);
	hit = bsearch_safe(&key, t->devices, t->n_devices, sizeof(key), cmp_device);
	return hit ? hit - t->devices : -1;
}

static int list_devices(struct loader *l, int devicesfd)
{
	_cleanup_closedir_ DIR *dir = homi_fdopendir(dup(devicesfd));
	struct homi_topology *t = l->t;
	struct dirent *de;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (!is_addr(de->d_name)) {
			warn(l, "bus/pci/devices/%s: not a PCI address; ignored", de->d_name);
			continue;
		}
		if (t->n_devices == l->cap_devices) {
			size_t cap = l->cap_devices ? l->cap_devices * 2 : 64;
			struct homi_device *n = realloc(t->devices, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			t->devices = n;
			l->cap_devices = cap;
		}
		homi_device_init(&t->devices[t->n_devices++], de->d_name);
	}
	return 0;
}

/* Links between devices, once all are read: parents, VF numbers. */
static void resolve(struct homi_topology *t)
{
	struct loader lt = { .t = t }, *l = &lt;

	for (size_t i = 0; i < t->n_devices; i++) {
		struct homi_device *d = &t->devices[i];
		if (d->parent[0]) {
			d->parent_idx = homi_topology_find(t, d->parent);
			if (d->parent_idx < 0)
				warn(l, "%s: its parent bridge %s is not in the tree", d->pci, d->parent);
		}
		if (d->pf[0] && homi_topology_find(t, d->pf) < 0)
			warn(l, "%s: its PF %s is not in the tree; VF number unknown", d->pci, d->pf);
		for (size_t v = 0; v < d->n_vfs; v++) {
			ssize_t vi = homi_topology_find(t, d->vfs[v]);
			if (vi < 0) {
				warn(l, "%s: virtfn%zu points to %s, which is not in the tree", d->pci, v, d->vfs[v]);
				continue;
			}
			struct homi_device *vf = &t->devices[vi];
			if (!streq(vf->pf, d->pci)) {
				warn(l, "%s: virtfn%zu points to %s, whose physfn is %s", d->pci, v, vf->pci,
				     vf->pf[0] ? vf->pf : "missing");
				if (!vf->pf[0])
					memcpy(vf->pf, d->pci, HOMI_ADDR_LEN);
				else
					continue;
			}
			vf->vf = (int)v + 1;
		}
	}
	for (size_t i = 0; i < t->n_devices; i++)
		t->devices[i].kind = classify(&t->devices[i]);
}

static void derive_ports(struct homi_topology *t, struct homi_pci *pci)
{
	for (size_t i = 0; i < t->n_devices; i++) {
		struct homi_device *d = &t->devices[i];
		int depth = 0;

		for (ssize_t p = d->parent_idx; p >= 0 && depth <= 64; p = t->devices[p].parent_idx)
			depth++;
		d->depth = depth;
		if (d->kind != HOMI_KIND_BRIDGE)
			continue;
		/* a model built by other means may know it already */
		if (pci || d->port_type < 0)
			d->port_type = pci ? homi_pci_port_type(pci, d->pci) : -ENODATA;
		if (d->port_type < 0) {
			/* No PCIe capability readable (a capture without config,
			 * an unprivileged reader): the hierarchy tells. */
			d->port_type = depth == 0     ? PCI_EXP_TYPE_ROOT_PORT
				       : depth % 2 == 1 ? PCI_EXP_TYPE_UPSTREAM
							: PCI_EXP_TYPE_DOWNSTREAM;
		}
	}
}

static bool is_ancestor(const struct homi_topology *t, ssize_t anc, size_t dev)
{
	int guard = 0;
	for (ssize_t p = t->devices[dev].parent_idx; p >= 0 && guard++ < 64; p = t->devices[p].parent_idx)
		if (p == anc)
			return true;
	return false;
}

static int switches_below(const struct homi_topology *t, size_t dev, ssize_t stop)
{
	int n = 0, guard = 0;
	for (ssize_t p = t->devices[dev].parent_idx; p >= 0 && p != stop && guard++ < 64;
	     p = t->devices[p].parent_idx)
		n += t->devices[p].port_type == PCI_EXP_TYPE_UPSTREAM;
	return n;
}

enum homi_affinity_link homi_topology_affinity(const struct homi_topology *t, size_t a, size_t b, ssize_t *ret_common)
{
	const struct homi_device *da = &t->devices[a], *db = &t->devices[b];
	ssize_t common = -1;
	int guard = 0;

	if (ret_common)
		*ret_common = -1;
	if (!da->host_bridge[0] || !db->host_bridge[0] || !streq(da->host_bridge, db->host_bridge))
		/* Unknown NUMA on both sides counts as one node; on one side as
		 * another node: never claim a closeness nothing shows. */
		return da->numa_node == db->numa_node ? HOMI_AFF_NODE : HOMI_AFF_SYS;

	for (ssize_t p = da->parent_idx; p >= 0 && guard++ < 64; p = t->devices[p].parent_idx)
		if (is_ancestor(t, p, b)) {
			common = p;
			break;
		}
	if (common < 0)
		return HOMI_AFF_PHB;
	if (ret_common)
		*ret_common = common;
	int switches = switches_below(t, a, common) + switches_below(t, b, common) +
		       (t->devices[common].port_type == PCI_EXP_TYPE_UPSTREAM);
	return switches <= 1 ? HOMI_AFF_PIX : HOMI_AFF_PXB;
}

static int compute_affinity(struct homi_topology *t)
{
	size_t n_gpu = 0, n_nvme = 0;

	for (size_t i = 0; i < t->n_devices; i++) {
		n_gpu += t->devices[i].kind == HOMI_KIND_GPU;
		n_nvme += t->devices[i].kind == HOMI_KIND_NVME_PF || t->devices[i].kind == HOMI_KIND_NVME;
	}
	if (!n_gpu || !n_nvme)
		return 0;
	t->affinity = calloc(n_gpu * n_nvme, sizeof(*t->affinity));
	if (!t->affinity)
		return -ENOMEM;
	for (size_t g = 0; g < t->n_devices; g++) {
		if (t->devices[g].kind != HOMI_KIND_GPU)
			continue;
		for (size_t n = 0; n < t->n_devices; n++) {
			enum homi_kind k = t->devices[n].kind;
			if (k != HOMI_KIND_NVME_PF && k != HOMI_KIND_NVME)
				continue;
			struct homi_affinity *a = &t->affinity[t->n_affinity++];
			a->gpu = g;
			a->nvme = n;
			a->link = homi_topology_affinity(t, g, n, &a->common);
		}
	}
	return 0;
}

int homi_topology_load(const struct homi_sysfs *s, struct homi_pci *pci, struct homi_topology **ret)
{
	struct loader l = { .s = s };
	_cleanup_close_ int devicesfd = -EBADF;
	int r;

	l.t = calloc(1, sizeof(*l.t));
	if (!l.t)
		return -ENOMEM;
	devicesfd = homi_sysfs_open_dir(s, "bus/pci/devices");
	if (devicesfd < 0) {
		homi_topology_free(l.t);
		return devicesfd;
	}
	r = list_devices(&l, devicesfd);
	if (r < 0) {
		homi_topology_free(l.t);
		return r;
	}
	for (size_t i = 0; i < l.t->n_devices; i++)
		load_device(&l, devicesfd, &l.t->devices[i]);
	r = homi_topology_finish(l.t, pci);
	if (r < 0) {
		homi_topology_free(l.t);
		return r;
	}
	*ret = l.t;
	return 0;
}

int homi_topology_finish(struct homi_topology *t, struct homi_pci *pci)
{
	qsort_safe(t->devices, t->n_devices, sizeof(*t->devices), cmp_device);
	resolve(t);
	derive_ports(t, pci);
	return compute_affinity(t);
}

struct homi_topology *homi_topology_ref(struct homi_topology *t)
{
	t->refs = (t->refs ? t->refs : 1) + 1;
	return t;
}

struct homi_topology *homi_topology_free(struct homi_topology *t)
{
	if (!t)
		return NULL;
	if (t->refs > 1) {
		t->refs--;
		return NULL;
	}
	for (size_t i = 0; i < t->n_devices; i++) {
		struct homi_device *d = &t->devices[i];
		free(d->driver);
		free(d->link_speed);
		free(d->vfs);
		free(d->nvme.model);
		free(d->nvme.serial);
		free(d->nvme.firmware);
		free(d->nvme.namespaces);
	}
	for (size_t i = 0; i < t->n_warnings; i++)
		free(t->warnings[i]);
	free(t->warnings);
	free(t->devices);
	free(t->affinity);
	free(t);
	return NULL;
}

const char *homi_kind_name(enum homi_kind k)
{
	static const char *const names[] = {
		[HOMI_KIND_NVME_PF] = "nvme-pf", [HOMI_KIND_NVME_VF] = "nvme-vf", [HOMI_KIND_NVME] = "nvme",
		[HOMI_KIND_GPU] = "gpu",         [HOMI_KIND_BRIDGE] = "bridge",   [HOMI_KIND_OTHER] = "other",
	};
	return (unsigned)k < ARRAY_SIZE(names) ? names[k] : "other";
}

const char *homi_affinity_name(enum homi_affinity_link l)
{
	static const char *const names[] = { "PIX", "PXB", "PHB", "NODE", "SYS" };
	return (unsigned)l < ARRAY_SIZE(names) ? names[l] : "SYS";
}
