/* SPDX-License-Identifier: MIT */
/* The live machine behind the host interface: sysfs below the context's
 * root, NVMe admin commands through libnvme on /dev/nvmeN, in-use facts from
 * /proc, and /dev/vfio ownership. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "macro.h"
#include "pci.h"

struct linux_host {
	struct homi_host host;
	struct homi_sysfs *s;
	struct homi_pci *pci;
	struct homi_topology *cache; /* valid until homi changes something */
	bool read_only;              /* a reader (host.h): changes fail with -EROFS */
};

static struct linux_host *lh(struct homi_host *h) { return (struct linux_host *)h; }

static int lx_topology(struct homi_host *h, struct homi_topology **ret)
{
	struct linux_host *l = lh(h);
	int r;

	if (!l->cache) {
		r = homi_topology_load(l->s, l->pci, &l->cache);
		if (r < 0)
			return r;
	}
	*ret = homi_topology_ref(l->cache);
	return 0;
}

/* Every change drops the cached model: the next reader sees sysfs anew. */
static void changed(struct homi_host *h)
{
	lh(h)->cache = homi_topology_free(lh(h)->cache);
}

/* The nvme class device of function ADDR ("nvme0"). */
static int ctrl_name(struct homi_host *h, const char *addr, char *buf, size_t len)
{
	if (len > 0)
		buf[0] = '\0';
	char rel[64];
	struct dirent *de;
	DIR *d;
	int r = -ENODEV;

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/nvme", addr);
	d = homi_sysfs_opendir(lh(h)->s, rel);
	if (!d)
		return errno == ENOENT ? -ENODEV : -errno;
	while ((de = readdir(d)))
		if (has_prefix(de->d_name, "nvme") && isdigit((unsigned char)de->d_name[4])) {
			r = strlen(de->d_name) < len ? 0 : -ENAMETOOLONG;
			if (r == 0)
				memcpy(buf, de->d_name, strlen(de->d_name) + 1);
			break;
		}
	closedir(d);
	return r;
}

static int open_ctrl(struct homi_host *h, const char *addr, int *ret_fd)
{
	char name[64];
	int r = ctrl_name(h, addr, name, sizeof(name));
	return r < 0 ? r : homi_nvme_open(lh(h)->s, name, ret_fd);
}

#define WITH_CTRL(h, addr, counter, call)             \
	({                                            \
		_cleanup_close_ int _fd = -EBADF;     \
		int _r = open_ctrl(h, addr, &_fd);    \
		(h)->counters.counter++;              \
		if (_r >= 0) {                        \
			int fd = _fd;                 \
			_r = (call);                  \
		}                                     \
		_r;                                   \
	})

static int lx_primary_caps(struct homi_host *h, const char *pf, struct homi_primary_caps *ret, int *st)
{
	*st = 0;
	return WITH_CTRL(h, pf, admin_reads, ({
		uint16_t cntlid;
		int r = homi_nvme_identify_cntlid(fd, &cntlid, st);
		r < 0 ? r : homi_nvme_primary_caps(fd, cntlid, ret, st);
	}));
}

static int lx_secondaries(struct homi_host *h, const char *pf, struct homi_secondary **ret, size_t *n, int *st)
{
	*st = 0;
	return WITH_CTRL(h, pf, admin_reads, homi_nvme_secondaries(fd, ret, n, st));
}

static int lx_namespaces(struct homi_host *h, const char *pf, uint32_t **ret, size_t *n, int *st)
{
	*st = 0;
	return WITH_CTRL(h, pf, admin_reads, homi_nvme_ns_allocated(fd, ret, n, st));
}

static int lx_ns_controllers(struct homi_host *h, const char *pf, uint32_t nsid, uint16_t **ret, size_t *n, int *st)
{
	*st = 0;
	return WITH_CTRL(h, pf, admin_reads, homi_nvme_ns_ctrls(fd, nsid, ret, n, st));
}

static int lx_virt_mgmt(struct homi_host *h, const char *pf, int act, int rt, uint16_t cntlid, uint16_t nr, int *st)
{
	*st = 0;
	if (lh(h)->read_only)
		return -EROFS;
	changed(h);
	return WITH_CTRL(h, pf, admin_writes, homi_nvme_virt_mgmt(fd, act, rt, cntlid, nr, st));
}

static int lx_ns_attach(struct homi_host *h, const char *pf, uint32_t nsid, uint16_t cntlid, bool attach, int *st)
{
	*st = 0;
	if (lh(h)->read_only)
		return -EROFS;
	changed(h);
	return WITH_CTRL(h, pf, admin_writes, homi_nvme_ns_attach(fd, nsid, cntlid, attach, st));
}

/* ---- in use ------------------------------------------------------------- */

static int iommu_group_of(struct homi_host *h, const char *addr)
{
	char rel[64], name[32];
	_cleanup_close_ int fd = -EBADF;

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	fd = homi_sysfs_open_dir(lh(h)->s, rel);
	if (fd < 0)
		return fd;
	if (homi_sysfs_link_name_at(fd, "iommu_group", name, sizeof(name)) < 0)
		return -ENOENT;
	return atoi(name);
}

/* First process with an open descriptor whose link target is TARGET. */
static int find_holder(struct homi_host *h, const char *target, char **ret_who)
{
	char proc[64];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (homi_sysfs_proc_path(lh(h)->s, "", proc, sizeof(proc)) < 0 || !(d = opendir(proc)))
		return 0;
	while ((de = readdir(d))) {
		char fdpath[600], comm[64] = "?";
		_cleanup_closedir_ DIR *fds = NULL;
		struct dirent *fe;

		if (!isdigit((unsigned char)de->d_name[0]) || atoi(de->d_name) == getpid())
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s/fd", proc, de->d_name);
		fds = opendir(fdpath);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			char link[1024], tgt[256];
			ssize_t n;
			snprintf(link, sizeof(link), "%s/%s", fdpath, fe->d_name);
			n = readlink(link, tgt, sizeof(tgt) - 1);
			if (n <= 0)
				continue;
			tgt[n] = '\0';
			if (!streq(tgt, target))
				continue;
			snprintf(fdpath, sizeof(fdpath), "%s/%s/comm", proc, de->d_name);
			FILE *f = fopen(fdpath, "re");
			if (f) {
				if (fgets(comm, sizeof(comm), f))
					comm[strcspn(comm, "\n")] = '\0';
				fclose(f);
			}
			if (asprintf(ret_who, "pid %s (%s) holds %s", de->d_name, comm, target) < 0)
				*ret_who = NULL;
			return 1;
		}
	}
	return 0;
}

static int lx_vfio_users(struct homi_host *h, const char *addr, char **ret_who)
{
	char rel[64], node[64];
	_cleanup_close_ int fd = -EBADF;
	long enable = 0;
	char drv[32] = "";
	int g;

	*ret_who = NULL;
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	fd = homi_sysfs_open_dir(lh(h)->s, rel);
	if (fd < 0)
		return 0;
	if (homi_sysfs_link_name_at(fd, "driver", drv, sizeof(drv)) < 0 || !streq(drv, "vfio-pci"))
		return 0;
	g = iommu_group_of(h, addr);
	snprintf(rel, sizeof(rel), "vfio/%d", g);
	if (g >= 0 && homi_sysfs_dev_path(lh(h)->s, rel, node, sizeof(node)) == 0 && find_holder(h, node, ret_who))
		return 1;
	/* vfio-pci enables the function while a user has it open; a device
	 * descriptor keeps it open after the group descriptor is closed. */
	if (homi_sysfs_read_long_at(fd, "enable", &enable) == 0 && enable > 0) {
		if (asprintf(ret_who, "a vfio user has it open (enable count %ld)", enable) < 0)
			*ret_who = NULL;
		return 1;
	}
	return 0;
}

/* Block devices (disk names) that belong to controller CTRL, with NSID. */
static bool disk_of_ctrl(struct homi_host *h, const char *disk, const char *ctrl, uint32_t nsid)
{
	char rel[300], prefix[64];
	long v;
	int fd;

	snprintf(rel, sizeof(rel), "block/%s", disk);
	fd = homi_sysfs_open_dir(lh(h)->s, rel);
	if (fd < 0)
		return false;
	bool mine = false;
	snprintf(prefix, sizeof(prefix), "%sn", ctrl);
	if (has_prefix(disk, prefix)) {
		mine = true; /* no multipath: nvme0n1 of nvme0 */
	} else {
		snprintf(rel, sizeof(rel), "block/%s/multipath", disk);
		_cleanup_closedir_ DIR *md = homi_sysfs_opendir(lh(h)->s, rel);
		struct dirent *de;
		snprintf(prefix, sizeof(prefix), "%sc", ctrl);
		while (md && (de = readdir(md)))
			mine |= has_prefix(de->d_name, prefix);
	}
	if (mine && nsid && (homi_sysfs_read_long_at(fd, "nsid", &v) < 0 || (uint32_t)v != nsid))
		mine = false;
	close(fd);
	return mine;
}

/* Whether block device NAME has a holder (its directory REL below DIRFD's
 * holders/ is not empty): "/dev/NAME is held by HOLDER" in *RET_WHO. */
static bool held(int dirfd, const char *rel, const char *name, char **ret_who)
{
	_cleanup_closedir_ DIR *hd = homi_fdopendir(openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	struct dirent *he;

	while (hd && (he = readdir(hd)))
		if (he->d_name[0] != '.') {
			if (asprintf(ret_who, "/dev/%s is held by %s", name, he->d_name) < 0)
				*ret_who = NULL;
			return true;
		}
	return false;
}

/* Is block device DISK (or a partition) mounted or held? */
static int disk_users(struct homi_host *h, const char *disk, char **ret_who)
{
	char path[256], line[4096], rel[300];
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char devs[32][16];
	size_t n = 0;

	snprintf(rel, sizeof(rel), "block/%s", disk);
	d = homi_sysfs_opendir(lh(h)->s, rel);
	if (!d)
		return 0;
	if (homi_sysfs_read_at(dirfd(d), "dev", devs[n], sizeof(devs[n])) > 0)
		n++;
	while ((de = readdir(d)) && n < ARRAY_SIZE(devs)) {
		char r2[300];
		if (!has_prefix(de->d_name, disk) || streq(de->d_name, disk))
			continue;
		snprintf(r2, sizeof(r2), "%s/dev", de->d_name);
		if (homi_sysfs_read_at(dirfd(d), r2, devs[n], sizeof(devs[n])) > 0)
			n++;
		snprintf(r2, sizeof(r2), "%s/holders", de->d_name);
		if (held(dirfd(d), r2, de->d_name, ret_who))
			return 1;
	}
	if (held(dirfd(d), "holders", disk, ret_who))
		return 1;
	if (homi_sysfs_proc_path(lh(h)->s, "self/mountinfo", path, sizeof(path)) < 0 || !(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char majmin[32], mnt[1024];
		if (sscanf(line, "%*s %*s %31s %*s %1023s", majmin, mnt) != 2)
			continue;
		for (size_t i = 0; i < n; i++)
			if (streq(majmin, devs[i])) {
				if (asprintf(ret_who, "%s (/dev/%s, %s) is mounted on %s", disk, disk, majmin, mnt) < 0)
					*ret_who = NULL;
				return 1;
			}
	}
	return 0;
}

static int lx_ns_users(struct homi_host *h, const char *addr, uint32_t nsid, char **ret_who)
{
	char ctrl[64];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	*ret_who = NULL;
	if (ctrl_name(h, addr, ctrl, sizeof(ctrl)) < 0)
		return 0;
	d = homi_sysfs_opendir(lh(h)->s, "block");
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (has_prefix(de->d_name, "nvme") && disk_of_ctrl(h, de->d_name, ctrl, nsid) &&
		    disk_users(h, de->d_name, ret_who) > 0)
			return 1;
	return 0;
}

static int lx_holds_root_fs(struct homi_host *h, const char *addr)
{
	char rel[64], target[4096], ctrl[64];
	struct stat st;
	_cleanup_close_ int fd = -EBADF;

	if (!homi_sysfs_is_live(lh(h)->s) || stat("/", &st) < 0)
		return 0;
	snprintf(rel, sizeof(rel), "dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
	fd = homi_sysfs_open_dir(lh(h)->s, "dev/block");
	if (fd < 0)
		return 0;
	snprintf(rel, sizeof(rel), "%u:%u", major(st.st_dev), minor(st.st_dev));
	if (homi_sysfs_readlink_at(fd, rel, target, sizeof(target)) < 0)
		return 0;
	if (strstr(target, addr))
		return 1;
	/* A multipath head: the controllers are its paths. */
	if (ctrl_name(h, addr, ctrl, sizeof(ctrl)) == 0 && strstr(target, "nvme-subsystem")) {
		char *disk = strrchr(target, '/'), *p;
		if (disk && (p = strchr(disk + 1, 'p')) && isdigit((unsigned char)p[1]))
			*p = '\0'; /* partition -> disk: nvme0n1p2 -> nvme0n1 */
		if (disk && disk_of_ctrl(h, disk + 1, ctrl, 0))
			return 1;
	}
	return 0;
}

static int lx_vfio_node(struct homi_host *h, int group, uid_t *uid, gid_t *gid, mode_t *mode)
{
	char rel[32], path[64];
	struct stat st;
	int r;

	snprintf(rel, sizeof(rel), "vfio/%d", group);
	r = homi_sysfs_dev_path(lh(h)->s, rel, path, sizeof(path));
	if (r < 0)
		return r;
	if (stat(path, &st) < 0)
		return -errno;
	*uid = st.st_uid;
	*gid = st.st_gid;
	*mode = st.st_mode & 07777;
	return 0;
}

static int lx_vfio_chown(struct homi_host *h, int group, uid_t uid, gid_t gid, mode_t mode)
{
	if (lh(h)->read_only)
		return -EROFS;
	char rel[32], path[64];
	_cleanup_close_ int fd = -EBADF;
	int r;

	snprintf(rel, sizeof(rel), "vfio/%d", group);
	r = homi_sysfs_dev_path(lh(h)->s, rel, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* change the node opened, not whatever the path names by then */
	char rel2[32], proc[64];
	snprintf(rel2, sizeof(rel2), "self/fd/%d", fd);
	r = homi_sysfs_proc_path(lh(h)->s, rel2, proc, sizeof(proc));
	if (r < 0)
		return r;
	if (chown(proc, uid, gid) < 0 || chmod(proc, mode & 07777) < 0)
		return -errno;
	return 0;
}

/* A user or group named by number, or by name through NSS. */
static bool numeric_id(const char *name, unsigned long *ret)
{
	char *end;
	*ret = strtoul(name, &end, 10);
	return *name && !*end;
}

static int lx_lookup_user(struct homi_host *h, const char *name, uid_t *ret)
{
	unsigned long v;
	struct passwd *pw;

	if (numeric_id(name, &v)) {
		*ret = (uid_t)v;
		return 0;
	}
	pw = getpwnam(name);
	if (!pw)
		return -ENOENT;
	*ret = pw->pw_uid;
	return 0;
}

static int lx_lookup_group(struct homi_host *h, const char *name, gid_t *ret)
{
	unsigned long v;
	struct group *gr;

	if (numeric_id(name, &v)) {
		*ret = (gid_t)v;
		return 0;
	}
	gr = getgrnam(name);
	if (!gr)
		return -ENOENT;
	*ret = gr->gr_gid;
	return 0;
}

static int lx_read_attr(struct homi_host *h, const char *addr, const char *attr, char *buf, size_t len)
{
	char rel[64];
	_cleanup_close_ int fd = -EBADF;

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	fd = homi_sysfs_open_dir(lh(h)->s, rel);
	if (fd < 0)
		return fd;
	int r = homi_sysfs_read_at(fd, attr, buf, len);
	return r < 0 ? r : 0;
}

static bool is_pf(struct homi_host *h, const char *addr)
{
	char rel[64];
	_cleanup_close_ int fd = -EBADF;
	long v;

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	fd = homi_sysfs_open_dir(lh(h)->s, rel);
	return fd >= 0 && homi_sysfs_read_long_at(fd, "sriov_totalvfs", &v) == 0 && v > 0;
}

/* After a function-level reset the nvme driver re-initialises the
 * controller asynchronously; admin commands wait for "live". */
static int wait_live(struct homi_host *h, const char *addr)
{
	char ctrl[64], rel[128], state[32];
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	for (int i = 0; i < 1500; i++) { /* 30 s */
		if (ctrl_name(h, addr, ctrl, sizeof(ctrl)) == 0) {
			_cleanup_close_ int fd = -EBADF;
			snprintf(rel, sizeof(rel), "bus/pci/devices/%s/nvme/%s", addr, ctrl);
			fd = homi_sysfs_open_dir(lh(h)->s, rel);
			if (fd >= 0 && homi_sysfs_read_at(fd, "state", state, sizeof(state)) > 0 && streq(state, "live"))
				return 0;
		}
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

static int lx_write_attr(struct homi_host *h, const char *addr, const char *attr, const char *value)
{
	if (lh(h)->read_only)
		return -EROFS;
	char rel[128];
	int r;

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/%s", addr, attr);
	h->counters.sysfs_writes++;
	changed(h);
	r = homi_sysfs_write(lh(h)->s, rel, value);
	if (r >= 0 && streq(attr, "reset")) {
		h->counters.resets++;
		r = wait_live(h, addr);
	}
	return r;
}

static int lx_drivers_probe(struct homi_host *h, const char *addr)
{
	if (lh(h)->read_only)
		return -EROFS;
	h->counters.sysfs_writes++;
	changed(h);
	return homi_sysfs_write(lh(h)->s, "bus/pci/drivers_probe", addr);
}

static int lx_unbind(struct homi_host *h, const char *addr, const char *driver)
{
	if (lh(h)->read_only)
		return -EROFS;
	char rel[128];

	if (is_pf(h, addr))
		return -EPERM; /* the PF stays with nvme, always */
	snprintf(rel, sizeof(rel), "bus/pci/drivers/%s/unbind", driver);
	h->counters.sysfs_writes++;
	changed(h);
	return homi_sysfs_write(lh(h)->s, rel, addr);
}

static void lx_free(struct homi_host *h)
{
	homi_topology_free(lh(h)->cache);
	homi_pci_free(lh(h)->pci);
	free(h);
}

static int lx_reader(struct homi_host *h, struct homi_host **ret);

static const struct homi_host_ops linux_ops = {
	.name = "linux",
	.topology = lx_topology,
	.primary_caps = lx_primary_caps,
	.secondaries = lx_secondaries,
	.namespaces = lx_namespaces,
	.ns_controllers = lx_ns_controllers,
	.vfio_users = lx_vfio_users,
	.ns_users = lx_ns_users,
	.holds_root_fs = lx_holds_root_fs,
	.vfio_node = lx_vfio_node,
	.read_attr = lx_read_attr,
	.lookup_user = lx_lookup_user,
	.lookup_group = lx_lookup_group,
	.write_attr = lx_write_attr,
	.drivers_probe = lx_drivers_probe,
	.unbind = lx_unbind,
	.virt_mgmt = lx_virt_mgmt,
	.ns_attach = lx_ns_attach,
	.vfio_chown = lx_vfio_chown,
	.forget = changed,
	.reader = lx_reader,
	.free = lx_free,
};

/* sysfs and /dev are safe to read from several threads; the cache and the
 * libpci handle are the reader's own. */
static int lx_reader(struct homi_host *h, struct homi_host **ret)
{
	int r = homi_host_linux(lh(h)->s, ret);

	if (r >= 0)
		lh(*ret)->read_only = true;
	return r;
}

int homi_host_linux(struct homi_sysfs *s, struct homi_host **ret)
{
	struct linux_host *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->host.ops = &linux_ops;
	h->s = s;
	if (homi_pci_open(homi_sysfs_root(s), &h->pci) < 0)
		h->pci = NULL; /* port types are then inferred */
	*ret = &h->host;
	return 0;
}
