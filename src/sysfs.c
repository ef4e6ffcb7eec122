/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "sysfs.h"

#define LIVE_SYSFS "/sys"
#define LIVE_DEV "/dev"
#define LIVE_PROC "/proc"

struct homi_sysfs {
	char *root;
	int rootfd;
	bool live;
	bool have_openat2;
};

static int open_in_root(const struct homi_sysfs *s, const char *rel, int flags)
{
	if (s->live || !s->have_openat2)
		return openat(s->rootfd, rel, flags | O_CLOEXEC);

	/* Inside a captured tree, resolve as if the tree were the whole file
	 * system: an absolute or escaping link stays inside it. */
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	/* openat2 answers EAGAIN when a rename or mount anywhere raced with
	 * the lookup (RESOLVE_IN_ROOT is checked against it): retry. */
	for (int i = 0;; i++) {
		int fd = (int)syscall(SYS_openat2, s->rootfd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN || i == 64)
			return fd;
	}
}

int homi_sysfs_open(const char *root, struct homi_sysfs **ret)
{
	_cleanup_free_ struct homi_sysfs *s = calloc(1, sizeof(*s));
	struct stat st;
	int r;

	if (!s)
		return -ENOMEM;
	s->live = !root;
	s->root = realpath(root ? root : LIVE_SYSFS, NULL);
	if (!s->root)
		return -errno;
	s->rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0) {
		r = -errno;
		free(s->root);
		return r;
	}
	/* Probe openat2 (Linux 5.6+); without it a capture is read with plain
	 * openat, which follows its links like any other directory. */
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT };
	int fd = (int)syscall(SYS_openat2, s->rootfd, "bus/pci/devices", &how, sizeof(how));
	if (fd >= 0) {
		s->have_openat2 = true;
		close(fd);
	} else if (errno == ENOSYS) {
		s->have_openat2 = false;
	}
	if (fstatat(s->rootfd, "bus/pci/devices", &st, 0) < 0 || !S_ISDIR(st.st_mode)) {
		close(s->rootfd);
		free(s->root);
		return -EINVAL;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

struct homi_sysfs *homi_sysfs_free(struct homi_sysfs *s)
{
	if (!s)
		return NULL;
	if (s->rootfd >= 0)
		close(s->rootfd);
	free(s->root);
	free(s);
	return NULL;
}

const char *homi_sysfs_root(const struct homi_sysfs *s) { return s->root; }
bool homi_sysfs_is_live(const struct homi_sysfs *s) { return s && s->live; }

int homi_sysfs_dev_path(const struct homi_sysfs *s, const char *name, char *buf, size_t len)
{
	/* NULL: no machine behind (the simulated host) names nodes as a live
	 * one would, but nothing there is ever opened. */
	if (s && !s->live)
		return -ENODEV;
	if ((size_t)snprintf(buf, len, "%s/%s", LIVE_DEV, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int homi_sysfs_proc_path(const struct homi_sysfs *s, const char *name, char *buf, size_t len)
{
	if (!s->live)
		return -ENODEV;
	if ((size_t)snprintf(buf, len, "%s/%s", LIVE_PROC, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int homi_sysfs_open_dir(const struct homi_sysfs *s, const char *rel)
{
	int fd = open_in_root(s, rel, O_RDONLY | O_DIRECTORY);
	return fd < 0 ? -errno : fd;
}

DIR *homi_fdopendir(int fd)
{
	DIR *d;

	if (fd < 0)
		return NULL; /* errno from the open, dup or openat */
	d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

DIR *homi_sysfs_opendir(const struct homi_sysfs *s, const char *rel)
{
	int fd = homi_sysfs_open_dir(s, rel);

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return homi_fdopendir(fd);
}

int homi_sysfs_read_bin_at(int dirfd, const char *name, void *buf, size_t len)
{
	/* O_NONBLOCK: a named pipe in a capture would block the open (and
	 * every read) for ever; attributes are regular files. */
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return (int)homi_read_full(fd, buf, len);
}

ssize_t homi_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int homi_sysfs_read_at(int dirfd, const char *name, char *buf, size_t len)
{
	int n;

	if (len == 0)
		return -EINVAL;
	n = homi_sysfs_read_bin_at(dirfd, name, buf, len - 1);
	if (n < 0)
		return n;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n))
		return -EBADMSG; /* binary where text was expected */
	return n;
}

int homi_sysfs_read_long_at(int dirfd, const char *name, long *ret)
{
	char buf[64], *end;
	long v;
	int r = homi_sysfs_read_at(dirfd, name, buf, sizeof(buf));

	if (r < 0)
		return r;
	if (r == 0)
		return -ENODATA;
	errno = 0;
	v = strtol(buf, &end, 0);
	if (errno)
		return -errno;
	if (*end)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int homi_sysfs_readlink_at(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n = readlinkat(dirfd, name, buf, len);

	if (n < 0)
		return -errno;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return (int)n;
}

int homi_sysfs_link_name_at(int dirfd, const char *name, char *buf, size_t len)
{
	char target[4096];
	int r = homi_sysfs_readlink_at(dirfd, name, target, sizeof(target));
	const char *base;

	if (r < 0)
		return r;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!*base)
		return -EBADMSG;
	if ((size_t)snprintf(buf, len, "%s", base) >= len)
		return -ENAMETOOLONG;
	return (int)strlen(buf);
}

int homi_sysfs_write(const struct homi_sysfs *s, const char *rel, const char *value)
{
	if (!s->live)
		return -EROFS;
	_cleanup_close_ int fd = openat(s->rootfd, rel, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len = strlen(value);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}
