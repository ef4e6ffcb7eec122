/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "macro.h"
#include "sysfs.h"

static void run(const char *cmd)
{
	int r = system(cmd);
	ck_assert_msg(r == 0, "'%s' failed (%d)", cmd, r);
}

const char *fixture_unpack(const char *name)
{
	static char path[PATH_MAX];
	const char *dir = getenv("HOMI_FIXTURES");
	char tmpl[] = "/tmp/homi-fixture-XXXXXX", cmd[PATH_MAX * 2];

	ck_assert_msg(dir, "HOMI_FIXTURES is not set (run through make check)");
	ck_assert_msg(mkdtemp(tmpl), "mkdtemp failed");
	snprintf(cmd, sizeof(cmd), "tar -C '%s' -xzf '%s/%s.tar.gz'", tmpl, dir, name);
	run(cmd);
	snprintf(path, sizeof(path), "%s/sys", tmpl);
	return path;
}

static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

static void write_file(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f, "cannot create %s", path);
	fprintf(f, "%s\n", value);
	fclose(f);
}

void tb_init(struct tb *tb)
{
	char p[PATH_MAX];
	snprintf(tb->root, sizeof(tb->root), "/tmp/homi-tree-XXXXXX");
	ck_assert(mkdtemp(tb->root));
	snprintf(p, sizeof(p), "%s/bus/pci/devices", tb->root);
	mkdir_p(p);
	snprintf(p, sizeof(p), "%s/bus/pci/drivers", tb->root);
	mkdir_p(p);
	snprintf(p, sizeof(p), "%s/devices", tb->root);
	mkdir_p(p);
}

void tb_cleanup(struct tb *tb)
{
	char cmd[PATH_MAX];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tb->root);
	run(cmd);
}

/* Directory of ADDR, found through its bus link. */
static void dev_dir(struct tb *tb, const char *addr, char *buf, size_t len)
{
	char link[PATH_MAX];
	snprintf(link, sizeof(link), "%s/bus/pci/devices/%s", tb->root, addr);
	ck_assert_msg(realpath(link, buf), "no device %s", addr);
	(void)len;
}

void tb_add(struct tb *tb, const char *path, const char *vendor, const char *device, const char *class_, int numa)
{
	char dir[PATH_MAX], link[PATH_MAX], target[PATH_MAX], num[16];
	const char *addr = strrchr(path, '/');

	addr = addr ? addr + 1 : path;
	snprintf(dir, sizeof(dir), "%s/devices/%s", tb->root, path);
	mkdir_p(dir);
	snprintf(link, sizeof(link), "%s/bus/pci/devices/%s", tb->root, addr);
	snprintf(target, sizeof(target), "../../../devices/%s", path);
	ck_assert(symlink(target, link) == 0);
	tb_attr(tb, addr, "vendor", vendor);
	tb_attr(tb, addr, "device", device);
	tb_attr(tb, addr, "class", class_);
	snprintf(num, sizeof(num), "%d", numa);
	tb_attr(tb, addr, "numa_node", num);
}

void tb_attr(struct tb *tb, const char *addr, const char *name, const char *value)
{
	char dir[PATH_MAX], p[PATH_MAX + 64];
	dev_dir(tb, addr, dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	write_file(p, value);
}

void tb_link(struct tb *tb, const char *addr, const char *name, const char *target)
{
	char dir[PATH_MAX], p[PATH_MAX + 64];
	dev_dir(tb, addr, dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
	ck_assert_msg(symlink(target, p) == 0, "symlink %s", p);
}

void tb_driver(struct tb *tb, const char *addr, const char *drv)
{
	char p[PATH_MAX], target[PATH_MAX];
	snprintf(p, sizeof(p), "%s/bus/pci/drivers/%s", tb->root, drv);
	mkdir_p(p);
	/* Absolute target into the tree: the depth does not matter for reading the name. */
	snprintf(target, sizeof(target), "%s", p);
	tb_link(tb, addr, "driver", target);
}

void tb_sriov(struct tb *tb, const char *pf, int total, const char *const *vfs, int n)
{
	char v[16], name[32], target[64];
	snprintf(v, sizeof(v), "%d", total);
	tb_attr(tb, pf, "sriov_totalvfs", v);
	snprintf(v, sizeof(v), "%d", n);
	tb_attr(tb, pf, "sriov_numvfs", v);
	tb_attr(tb, pf, "sriov_offset", "1");
	tb_attr(tb, pf, "sriov_stride", "1");
	tb_attr(tb, pf, "sriov_drivers_autoprobe", "0");
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "virtfn%d", i);
		snprintf(target, sizeof(target), "../%s", vfs[i]);
		tb_link(tb, pf, name, target);
		snprintf(target, sizeof(target), "../%s", pf);
		tb_link(tb, vfs[i], "physfn", target);
	}
}

void tb_nvme(struct tb *tb, const char *addr, const char *name, int cntlid, int n_ns)
{
	char dir[PATH_MAX], p[PATH_MAX + 128], v[16];
	dev_dir(tb, addr, dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/nvme/%s", dir, name);
	mkdir_p(p);
	snprintf(p, sizeof(p), "%s/nvme/%s/model", dir, name);
	write_file(p, "Test NVMe");
	snprintf(p, sizeof(p), "%s/nvme/%s/serial", dir, name);
	write_file(p, "SN123");
	snprintf(p, sizeof(p), "%s/nvme/%s/firmware_rev", dir, name);
	write_file(p, "1.0");
	snprintf(v, sizeof(v), "%d", cntlid);
	snprintf(p, sizeof(p), "%s/nvme/%s/cntlid", dir, name);
	write_file(p, v);
	for (int i = 1; i <= n_ns; i++) {
		snprintf(p, sizeof(p), "%s/nvme/%s/%sn%d", dir, name, name, i);
		mkdir_p(p);
		snprintf(p, sizeof(p), "%s/nvme/%s/%sn%d/nsid", dir, name, name, i);
		snprintf(v, sizeof(v), "%d", i);
		write_file(p, v);
	}
}

struct homi_topology *load_topology(const char *root)
{
	struct homi_sysfs *s = NULL;
	struct homi_topology *t = NULL;
	int r = homi_sysfs_open(root, &s);

	ck_assert_msg(r == 0, "homi_sysfs_open(%s): %s", root, strerror(-r));
	r = homi_topology_load(s, NULL, &t);
	ck_assert_msg(r == 0, "homi_topology_load: %s", strerror(-r));
	homi_sysfs_free(s);
	return t;
}

size_t dev_idx(const struct homi_topology *t, const char *addr)
{
	ssize_t i = homi_topology_find(t, addr);
	ck_assert_msg(i >= 0, "device %s not in the model", addr);
	return (size_t)i;
}

const char *affinity_of(const struct homi_topology *t, const char *gpu, const char *nvme)
{
	size_t g = dev_idx(t, gpu), n = dev_idx(t, nvme);
	for (size_t i = 0; i < t->n_affinity; i++)
		if (t->affinity[i].gpu == g && t->affinity[i].nvme == n)
			return homi_affinity_name(t->affinity[i].link);
	ck_abort_msg("no affinity row for %s / %s", gpu, nvme);
	return NULL;
}
