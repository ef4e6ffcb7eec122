/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-tree.h"
#include "macro.h"

#define MAX_LINES 256
#define MAX_LINE 4096
#define MAX_DEVS 64

static char root[PATH_MAX];
static int rootfd = -1;
static struct { char addr[64]; char path[512]; } devs[MAX_DEVS];
static size_t n_devs;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static bool good_component(const char *c, size_t n)
{
	return n > 0 && n < NAME_MAX && !(n == 1 && c[0] == '.') && !(n == 2 && c[0] == '.' && c[1] == '.');
}

/* Opens the directory that holds the last component of REL (below the
 * root, never through a link), creating missing directories; its name goes
 * to LAST. Returns the descriptor or -1. */
static int walk(const char *rel, char last[NAME_MAX + 1])
{
	int fd = dup(rootfd);
	const char *p = rel;

	while (fd >= 0) {
		size_t n = strcspn(p, "/");
		char comp[NAME_MAX + 1];
		int sub;

		if (!good_component(p, n))
			break;
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (!p[n]) {
			memcpy(last, comp, n + 1);
			return fd;
		}
		sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && errno == ENOENT && mkdirat(fd, comp, 0755) == 0)
			sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = sub;
		p += n + 1;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

static void make_dir(const char *rel)
{
	char last[NAME_MAX + 1];
	int fd = walk(rel, last);

	if (fd >= 0) {
		mkdirat(fd, last, 0755);
		close(fd);
	}
}

static void make_file(const char *rel, const char *value, size_t len)
{
	char last[NAME_MAX + 1];
	int fd = walk(rel, last), f;

	if (fd < 0)
		return;
	f = openat(fd, last, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (f >= 0) {
		(void)!write(f, value, len);
		close(f);
	}
	close(fd);
}

static void make_link(const char *rel, const char *target)
{
	char last[NAME_MAX + 1];
	int fd = walk(rel, last);

	if (fd >= 0) {
		symlinkat(target, fd, last);
		close(fd);
	}
}

static void make_fifo(const char *rel)
{
	char last[NAME_MAX + 1];
	int fd = walk(rel, last);

	if (fd >= 0) {
		mkfifoat(fd, last, 0644);
		close(fd);
	}
}

/* Decodes the escapes of S in place; returns the length. */
static size_t unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r != '\\' || !r[1]) {
			*w++ = *r;
			continue;
		}
		r++;
		if (*r == 'n')
			*w++ = '\n';
		else if (*r == 't')
			*w++ = '\t';
		else if (*r == 'x' && r[1] && r[2]) {
			char hex[3] = { r[1], r[2], 0 };
			*w++ = (char)strtoul(hex, NULL, 16);
			r += 2;
		} else
			*w++ = *r;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* The directory of device ADDR, relative to the root. */
static void dev_dir(const char *addr, char *buf, size_t len)
{
	for (size_t i = 0; i < n_devs; i++)
		if (streq(devs[i].addr, addr)) {
			snprintf(buf, len, "devices/%s/%s", devs[i].path, addr);
			return;
		}
	snprintf(buf, len, "devices/%s", addr);
}

static void command(char *line)
{
	char *save = NULL, *cmd = strtok_r(line, " ", &save), *a = strtok_r(NULL, " ", &save);
	char *after_a = save, *b, *rest;
	char rel[1200], tgt[1200];

	if (!cmd || !a || !after_a)
		return;
	if (streq(cmd, "file")) { /* REL VALUE, the value with its spaces */
		make_file(a, after_a, unescape(after_a));
		return;
	}
	if (streq(cmd, "ln")) {
		make_link(a, after_a);
		return;
	}
	if (strchr(a, '/'))
		return; /* an ADDR is one component */
	b = strtok_r(NULL, " ", &save);
	rest = save ? save : (char *)"";
	if (!b)
		return;
	if (streq(cmd, "dev")) {
		if (n_devs == MAX_DEVS || strlen(a) >= sizeof(devs[0].addr) || strlen(b) >= sizeof(devs[0].path))
			return;
		snprintf(devs[n_devs].addr, sizeof(devs[0].addr), "%s", a);
		snprintf(devs[n_devs].path, sizeof(devs[0].path), "%s", b);
		n_devs++;
		dev_dir(a, rel, sizeof(rel));
		make_dir(rel);
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s", a);
		snprintf(tgt, sizeof(tgt), "../../../devices/%s/%s", b, a);
		make_link(rel, tgt);
		return;
	}
	dev_dir(a, rel, sizeof(rel));
	size_t l = strlen(rel);
	snprintf(rel + l, sizeof(rel) - l, "/%s", b);
	if (streq(cmd, "attr"))
		make_file(rel, rest, unescape(rest));
	else if (streq(cmd, "link"))
		make_link(rel, rest);
	else if (streq(cmd, "fifo"))
		make_fifo(rel);
	else if (streq(cmd, "dir"))
		make_dir(rel);
}

static void remove_root(void)
{
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(root);
}

static int reset_root(void)
{
	if (rootfd < 0) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		snprintf(root, sizeof(root), "%s/homi-fuzz-sysfs-XXXXXX", base);
		if (!mkdtemp(root))
			return -1;
		rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return -1;
		atexit(remove_root);
	}
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	n_devs = 0;
	make_dir("bus");
	make_dir("bus/pci");
	make_dir("bus/pci/devices");
	make_dir("devices");
	return 0;
}

const char *fuzz_tree_build(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (reset_root() < 0)
		return NULL;
	for (int lines = 0; off < size && lines < MAX_LINES; lines++) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (data + off)) : size - off;
		char line[MAX_LINE + 1];

		if (n <= MAX_LINE && !memchr(data + off, '\0', n)) {
			memcpy(line, data + off, n);
			line[n] = '\0';
			command(line);
		}
		off += n + 1;
	}
	return root;
}
