/* SPDX-License-Identifier: MIT */
/* Policies: parsing with exact error lines (one case per directory below
 * tests/policy/invalid/), files and directories, and resolution against
 * topologies built on the spot: match, merge and conflicts, gpu pairing,
 * protect and the per-gpu placement. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-run.h"
#include "fixture.h"
#include "macro.h"
#include "policy.h"
#include "topology.h"

#define NVME_CLASS "0x010802"
#define BRIDGE_CLASS "0x060400"
#define GPU_CLASS "0x030200"

#define A "0000:03:00.0"  /* GPU A: one switch from P1 and P2 */
#define B "0000:06:00.0"  /* GPU B: own root port, node 0 */
#define C "0000:81:00.0"  /* GPU C: node 1 */
#define P1 "0000:04:00.0" /* SR-IOV PF, 4 VFs, VF 1 enabled */
#define P2 "0000:05:00.0" /* SR-IOV PF, 4 VFs */
#define P3 "0000:82:00.0" /* SR-IOV PF, 1 VF, node 1 */

static const char *srcdir(void)
{
	const char *d = getenv("top_srcdir");
	return d ? d : HOMI_TOP_SRCDIR;
}

/* ---- helpers --------------------------------------------------------- */

static void add_ok(struct homi_policy *p, const char *name, const char *json)
{
	char *errors = NULL;
	int r = homi_policy_add_buffer(p, name, json, strlen(json), &errors);

	ck_assert_msg(r == 0, "%s: %s (%s)", name, strerror(-r), errors ? errors : "");
	ck_assert_ptr_null(errors);
}

/* Adds JSON, expecting a policy error; returns the lines (caller frees). */
static char *add_bad(struct homi_policy *p, const char *name, const char *json)
{
	size_t before = homi_policy_count(p);
	char *errors = NULL;
	int r = homi_policy_add_buffer(p, name, json, strlen(json), &errors);

	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_nonnull(errors);
	ck_assert_uint_eq(homi_policy_count(p), before);
	return errors;
}

static struct homi_desired *resolve_ok(const struct homi_policy *p, const struct homi_topology *t)
{
	struct homi_desired *d = NULL;
	char *errors = NULL;
	int r = homi_policy_resolve(p, t, &d, &errors);

	ck_assert_msg(r == 0, "resolve: %s (%s)", strerror(-r), errors ? errors : "");
	ck_assert_ptr_null(errors);
	ck_assert_ptr_nonnull(d);
	return d;
}

static char *resolve_bad(const struct homi_policy *p, const struct homi_topology *t)
{
	struct homi_desired *d = NULL;
	char *errors = NULL;
	int r = homi_policy_resolve(p, t, &d, &errors);

	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(errors);
	return errors;
}

/* Resolves the one document JSON named NAME and expects the error ERROR. */
static void expect_resolve_error(const struct homi_topology *t, const char *name, const char *json,
				 const char *error)
{
	struct homi_policy *p = homi_policy_new();
	char *e;

	add_ok(p, name, json);
	e = resolve_bad(p, t);
	ck_assert_str_eq(e, error);
	free(e);
	homi_policy_free(p);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	ck_assert_msg(f, "cannot open %s", path);
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f, "cannot create %s", path);
	fputs(text, f);
	fclose(f);
}

/* Overwrites attribute NAME of NVMe controller CTRL below function ADDR. */
static void set_nvme_attr(struct tb *tb, const char *addr, const char *ctrl, const char *name, const char *value)
{
	char link[PATH_MAX], dir[PATH_MAX], p[PATH_MAX * 2];

	snprintf(link, sizeof(link), "%s/bus/pci/devices/%s", tb->root, addr);
	ck_assert(realpath(link, dir));
	snprintf(p, sizeof(p), "%s/nvme/%s/%s", dir, ctrl, name);
	write_text(p, value);
}

/* A two-node GPU server:
 *
 * pci0000:00 (node 0)
 *   00:01.0 root port -> 01:00.0 switch upstream
 *     02:00.0 downstream -> 03:00.0 GPU A
 *     02:01.0 downstream -> 04:00.0 PF P1 (Samsung, nvme0 "Test NVMe" SN123, 4 VFs, VF 1 = 04:00.1 enabled)
 *     02:02.0 downstream -> 05:00.0 PF P2 (Samsung, nvme1 "Other Disk" SN456, 4 VFs)
 *   00:02.0 root port -> 06:00.0 GPU B
 *   00:03.0 root port -> 07:00.0 NVMe without SR-IOV
 * pci0000:80 (node 1)
 *   80:01.0 root port -> 81:00.0 GPU C
 *   80:02.0 root port -> 82:00.0 PF P3 (Intel, no nvme driver, 1 VF)
 */
static struct homi_topology *gpu_server(struct tb *tb)
{
	static const char *const p1_vfs[] = { "0000:04:00.1" };
	const char *us = "pci0000:00/0000:00:01.0/0000:01:00.0";
	char p[256];

	tb_init(tb);
	tb_add(tb, "pci0000:00/0000:00:01.0", "0x8086", "0x2030", BRIDGE_CLASS, 0);
	tb_add(tb, us, "0x1000", "0xc010", BRIDGE_CLASS, 0);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/0000:02:0%d.0", us, i);
		tb_add(tb, p, "0x1000", "0xc010", BRIDGE_CLASS, 0);
	}
	tb_add(tb, "pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0", "0x10de", "0x2330", GPU_CLASS, 0);
	tb_add(tb, "pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:04:00.0", "0x144d", "0xa824", NVME_CLASS, 0);
	tb_driver(tb, P1, "nvme");
	tb_nvme(tb, P1, "nvme0", 65, 2);
	tb_add(tb, "pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:04:00.1", "0x144d", "0xa824", NVME_CLASS, 0);
	tb_sriov(tb, P1, 4, p1_vfs, 1);
	tb_add(tb, "pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:02.0/0000:05:00.0", "0x144d", "0xa824", NVME_CLASS, 0);
	tb_driver(tb, P2, "nvme");
	tb_nvme(tb, P2, "nvme1", 65, 1);
	set_nvme_attr(tb, P2, "nvme1", "serial", "SN456");
	set_nvme_attr(tb, P2, "nvme1", "model", "Other Disk");
	tb_sriov(tb, P2, 4, NULL, 0);
	tb_add(tb, "pci0000:00/0000:00:02.0", "0x8086", "0x2031", BRIDGE_CLASS, 0);
	tb_add(tb, "pci0000:00/0000:00:02.0/0000:06:00.0", "0x10de", "0x2330", GPU_CLASS, 0);
	tb_add(tb, "pci0000:00/0000:00:03.0", "0x8086", "0x2032", BRIDGE_CLASS, 0);
	tb_add(tb, "pci0000:00/0000:00:03.0/0000:07:00.0", "0x8086", "0x0a54", NVME_CLASS, 0);
	tb_add(tb, "pci0000:80/0000:80:01.0", "0x8086", "0x2030", BRIDGE_CLASS, 1);
	tb_add(tb, "pci0000:80/0000:80:01.0/0000:81:00.0", "0x10de", "0x2330", GPU_CLASS, 1);
	tb_add(tb, "pci0000:80/0000:80:02.0", "0x8086", "0x2030", BRIDGE_CLASS, 1);
	tb_add(tb, "pci0000:80/0000:80:02.0/0000:82:00.0", "0x8086", "0x0b60", NVME_CLASS, 1);
	tb_sriov(tb, P3, 1, NULL, 0);

	return load_topology(tb->root);
}

static void pf_addrs(const struct homi_desired *d, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < d->n_pfs; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "", d->pfs[i].pci);
}

/* ---- the example model ------------------------------------------------ */

START_TEST(topology_as_assumed)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);

	ck_assert_int_eq(t->devices[dev_idx(t, P1)].kind, HOMI_KIND_NVME_PF);
	ck_assert_int_eq(t->devices[dev_idx(t, P2)].kind, HOMI_KIND_NVME_PF);
	ck_assert_int_eq(t->devices[dev_idx(t, P3)].kind, HOMI_KIND_NVME_PF);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:04:00.1")].kind, HOMI_KIND_NVME_VF);
	ck_assert_int_eq(t->devices[dev_idx(t, "0000:07:00.0")].kind, HOMI_KIND_NVME);
	ck_assert_str_eq(t->devices[dev_idx(t, P2)].nvme.serial, "SN456");
	ck_assert_str_eq(affinity_of(t, A, P1), "PIX");
	ck_assert_str_eq(affinity_of(t, A, P2), "PIX");
	ck_assert_str_eq(affinity_of(t, B, P1), "PHB");
	ck_assert_str_eq(affinity_of(t, B, P2), "PHB");
	ck_assert_str_eq(affinity_of(t, B, P3), "SYS");
	ck_assert_str_eq(affinity_of(t, C, P3), "PHB");
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

/* ---- parsing ----------------------------------------------------------- */

START_TEST(parse_messages)
{
	struct homi_policy *p = homi_policy_new();
	char *e;

	e = add_bad(p, "policy.json",
		    "{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"01:00.0\"}, \"vfs\": [\n"
		    "  {\"vf\": 1, \"vq\": 2, \"vi\": 1}, {\"vf\": 2, \"vq\": 1, \"vi\": 1}]}]}");
	ck_assert_str_eq(e, "policy.json: $.devices[0].vfs[1].vq: expected an integer >= 2, got 1");
	free(e);
	e = add_bad(p, "policy.json",
		    "{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"01:00.0\"}, \"vfs\": [{\"vf\": 1, "
		    "\"vqs\": 2}]}]}");
	ck_assert_str_eq(e, "policy.json: $.devices[0].vfs[0].vqs: unknown key");
	free(e);
	e = add_bad(p, "a.json", "{\"homi-policy\": 1,\n \"protect\": [],\n \"protect\": []}");
	ck_assert_str_eq(e, "a.json:3:10: duplicate object key near '\"protect\"'");
	free(e);
	e = add_bad(p, "b.json", "{\"homi-policy\": 1,\n \"devices\": [\n   {\"match\": {}},\n]}");
	ck_assert_str_eq(e, "b.json:4:1: unexpected token near ']'");
	free(e);
	/* Several problems: every one reported, one line each, nothing added. */
	e = add_bad(p, "c.json",
		    "{\"homi-policy\": 1, \"protect\": [\"x\"], \"devices\": [{\"match\": {\"pci\": \"01:00.0\"}, \"vfs\": "
		    "[{\"vf\": 0, \"driver\": \"nvme\", \"mode\": \"0660\"}]}], \"extra\": 1}");
	ck_assert_str_eq(e, "c.json: $.protect[0]: expected a PCI address (DDDD:BB:DD.F or BB:DD.F), got \"x\"\n"
			    "c.json: $.devices[0].vfs[0].vf: expected an integer from 1 to 65535, got 0\n"
			    "c.json: $.devices[0].vfs[0].mode: only for a \"vfio-pci\" VF (this one's driver is \"nvme\")\n"
			    "c.json: $.extra: unknown key");
	free(e);
	ck_assert_uint_eq(homi_policy_count(p), 0);
	homi_policy_free(p);
}
END_TEST

START_TEST(parse_error_without_ret)
{
	struct homi_policy *p = homi_policy_new();
	ck_assert_int_eq(homi_policy_add_buffer(p, "x.json", "{", 1, NULL), -EINVAL);
	ck_assert_int_eq(homi_policy_add_buffer(p, "x.json", "{\"homi-policy\": 1}", 18, NULL), 0);
	ck_assert_uint_eq(homi_policy_count(p), 1);
	ck_assert_str_eq(homi_policy_name(p, 0), "x.json");
	ck_assert_ptr_null(homi_policy_name(p, 1));
	homi_policy_free(p);
}
END_TEST

/* Every tests/policy/invalid/NAME/policy.json gives exactly NAME/error. */
START_TEST(invalid_cases)
{
	char dir[PATH_MAX], path[PATH_MAX * 2], report[8192] = "";
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int cases = 0, failed = 0;

	snprintf(dir, sizeof(dir), "%s/tests/policy/invalid", srcdir());
	d = opendir(dir);
	ck_assert_msg(d, "cannot open %s", dir);
	while ((de = readdir(d))) {
		struct homi_policy *p;
		char *json, *want, *got = NULL;
		size_t n;
		int r;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/policy.json", dir, de->d_name);
		json = read_text(path);
		snprintf(path, sizeof(path), "%s/%s/error", dir, de->d_name);
		want = read_text(path);
		n = strlen(want);
		while (n && want[n - 1] == '\n')
			want[--n] = '\0';
		p = homi_policy_new();
		r = homi_policy_add_buffer(p, "policy.json", json, strlen(json), &got);
		if (r != -EINVAL || !got || !streq(got, want) || homi_policy_count(p) != 0) {
			failed++;
			snprintf(report + strlen(report), sizeof(report) - strlen(report),
				 "\n%s: r=%d\n  want: %s\n  got:  %s", de->d_name, r, want, got ? got : "(none)");
		}
		cases++;
		homi_policy_free(p);
		free(json);
		free(want);
		free(got);
	}
	ck_assert_msg(cases >= 40, "only %d cases in %s", cases, dir);
	ck_assert_msg(!failed, "%d of %d cases differ:%s", failed, cases, report);
}
END_TEST

START_TEST(valid_cases)
{
	struct homi_policy *p = homi_policy_new();
	char dir[PATH_MAX], *e = NULL;
	int r;

	snprintf(dir, sizeof(dir), "%s/tests/policy/valid", srcdir());
	r = homi_policy_add_path(p, dir, &e);
	ck_assert_msg(r == 0, "%s", e ? e : strerror(-r));
	ck_assert_uint_eq(homi_policy_count(p), 3);
	homi_policy_free(p);
}
END_TEST

/* Every example in policies/ passes `policy check`: parses alone and all
 * together. */
START_TEST(examples_parse)
{
	char dir[PATH_MAX], path[PATH_MAX * 2], *e = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct homi_policy *all = homi_policy_new();
	struct dirent *de;
	size_t n = 0;
	int r;

	snprintf(dir, sizeof(dir), "%s/policies", srcdir());
	d = opendir(dir);
	ck_assert_msg(d, "cannot open %s", dir);
	while ((de = readdir(d))) {
		struct homi_policy *p;
		size_t l = strlen(de->d_name);
		if (l < 6 || !streq(de->d_name + l - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		p = homi_policy_new();
		r = homi_policy_add_path(p, path, &e);
		ck_assert_msg(r == 0, "%s", e ? e : strerror(-r));
		ck_assert_uint_eq(homi_policy_count(p), 1);
		homi_policy_free(p);
		n++;
	}
	ck_assert_uint_ge(n, 4);
	r = homi_policy_add_path(all, dir, &e);
	ck_assert_msg(r == 0, "%s", e ? e : strerror(-r));
	ck_assert_uint_eq(homi_policy_count(all), n);
	homi_policy_free(all);
}
END_TEST

START_TEST(names)
{
	enum homi_vf_driver drv;

	ck_assert_str_eq(homi_vf_driver_name(HOMI_VF_DRIVER_VFIO), "vfio-pci");
	ck_assert_str_eq(homi_vf_driver_name(HOMI_VF_DRIVER_NVME), "nvme");
	ck_assert_str_eq(homi_vf_driver_name(HOMI_VF_DRIVER_NONE), "none");
	ck_assert_int_eq(homi_vf_driver_from_name("vfio-pci", &drv), 0);
	ck_assert_int_eq(drv, HOMI_VF_DRIVER_VFIO);
	ck_assert_int_eq(homi_vf_driver_from_name("vfio", &drv), -EINVAL);
	ck_assert_str_eq(homi_gpu_pairing_name(HOMI_GPU_NEAREST), "nearest");
	ck_assert_ptr_null(homi_gpu_pairing_name(HOMI_GPU_UNSET));
}
END_TEST

/* ---- files and directories --------------------------------------------- */

static void tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/homi-policy-XXXXXX");
	ck_assert(mkdtemp(buf));
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	write_text(p, text);
}

START_TEST(directory_order)
{
	struct homi_policy *p = homi_policy_new();
	char dir[64], want[PATH_MAX], *e = NULL;
	static const char *const order[] = { "10.json", "A.json", "a.json", "b.json" };
	int r;

	tmpdir(dir, sizeof(dir));
	put(dir, "b.json", "{\"homi-policy\": 1}");
	put(dir, "a.json", "{\"homi-policy\": 1}");
	put(dir, "A.json", "{\"homi-policy\": 1}");
	put(dir, "10.json", "{\"homi-policy\": 1}");
	put(dir, ".hidden.json", "not read");
	put(dir, "notes.txt", "not read");
	put(dir, "a.json~", "not read");
	r = homi_policy_add_path(p, dir, &e);
	ck_assert_msg(r == 0, "%s", e ? e : strerror(-r));
	ck_assert_uint_eq(homi_policy_count(p), 4);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		snprintf(want, sizeof(want), "%s/%s", dir, order[i]);
		ck_assert_str_eq(homi_policy_name(p, i), want);
	}
	homi_policy_free(p);
	rm_rf(dir);
}
END_TEST

/* One bad file in a directory: every problem of every file, nothing added. */
START_TEST(directory_all_or_nothing)
{
	struct homi_policy *p = homi_policy_new();
	char dir[64], link[PATH_MAX], want[2048], *e = NULL;
	int r;

	tmpdir(dir, sizeof(dir));
	put(dir, "a.json", "{\"homi-policy\": 1}");
	put(dir, "b.json",
	    "{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"01:00.0\"}, \"vfs\": [{\"vf\": 1, \"vq\": 1, "
	    "\"vi\": 1}]}]}");
	snprintf(link, sizeof(link), "%s/c.json", dir);
	ck_assert_int_eq(symlink("/nonexistent/c.json", link), 0);
	put(dir, "d.json", "{\"homi-policy\": 1,}");
	r = homi_policy_add_path(p, dir, &e);
	ck_assert_int_eq(r, -EINVAL);
	snprintf(want, sizeof(want),
		 "%s/b.json: $.devices[0].vfs[0].vq: expected an integer >= 2, got 1\n"
		 "%s/c.json: No such file or directory\n"
		 "%s/d.json:1:19: string or '}' expected near '}'",
		 dir, dir, dir);
	ck_assert_str_eq(e, want);
	ck_assert_uint_eq(homi_policy_count(p), 0);
	free(e);
	homi_policy_free(p);
	rm_rf(dir);
}
END_TEST

START_TEST(unreadable_paths)
{
	struct homi_policy *p = homi_policy_new();
	char dir[64], *e = NULL;

	ck_assert_int_eq(homi_policy_add_path(p, "/nonexistent/x.json", &e), -ENOENT);
	ck_assert_str_eq(e, "/nonexistent/x.json: No such file or directory");
	free(e);
	tmpdir(dir, sizeof(dir));
	ck_assert_int_eq(homi_policy_add_path(p, dir, &e), 0); /* empty: nothing to add */
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(homi_policy_count(p), 0);
	rm_rf(dir);
	homi_policy_free(p);
}
END_TEST

/* Loads fixture NAME and removes its unpacked copy again. */
static struct homi_topology *load_fixture(const char *name)
{
	char dir[PATH_MAX], *slash;
	struct homi_topology *t;

	snprintf(dir, sizeof(dir), "%s", fixture_unpack(name));
	t = load_topology(dir);
	slash = strrchr(dir, '/');
	if (slash && streq(slash, "/sys")) {
		*slash = '\0';
		rm_rf(dir);
	}
	return t;
}

/* ---- resolution: match and merge --------------------------------------- */

START_TEST(resolve_explicit)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;
	const struct homi_want_pf *pf;
	const struct homi_want_vf *v;

	add_ok(p, "t.json",
	       "{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"04:00.0\"}, \"vfs\": ["
	       "{\"vf\": 3, \"driver\": \"vfio-pci\", \"vq\": 4, \"vi\": 1, \"namespaces\": [{\"nsid\": 2, \"allow-mounted-rw\": true}, "
	       "{\"nsid\": 1, \"access\": \"ro\"}], \"gpu\": \"03:00.0\", \"owner\": \"ml\", \"group\": \"gpu\", \"mode\": \"0660\"},"
	       "{\"vf\": 1}]}]}");
	d = resolve_ok(p, t);
	ck_assert_uint_eq(d->n_pfs, 1);
	pf = homi_desired_find(d, P1);
	ck_assert_ptr_eq(pf, &d->pfs[0]);
	ck_assert_ptr_null(homi_desired_find(d, P2));
	ck_assert_str_eq(pf->origin, "t.json: $.devices[0]");
	ck_assert(!pf->allow_pf_reset);
	ck_assert_uint_eq(pf->num_vfs, 3);
	ck_assert_uint_eq(pf->n_vfs, 2);
	/* VF 1: every default */
	v = &pf->vfs[0];
	ck_assert_uint_eq(v->vf, 1);
	ck_assert_int_eq(v->driver, HOMI_VF_DRIVER_NONE);
	ck_assert_int_eq(v->vq, -1);
	ck_assert_int_eq(v->vi, -1);
	ck_assert(!homi_want_vf_online(v));
	ck_assert_uint_eq(v->n_ns, 0);
	ck_assert_int_eq(v->gpu, HOMI_GPU_UNSET);
	ck_assert_str_eq(v->gpu_addr, "");
	ck_assert_ptr_null(v->owner);
	ck_assert_ptr_null(v->group);
	ck_assert_int_eq(v->mode, -1);
	ck_assert_str_eq(v->origin, "t.json: $.devices[0].vfs[1]");
	/* VF 3 */
	v = homi_want_pf_find_vf(pf, 3);
	ck_assert_ptr_eq(v, &pf->vfs[1]);
	ck_assert_ptr_null(homi_want_pf_find_vf(pf, 2));
	ck_assert_int_eq(v->driver, HOMI_VF_DRIVER_VFIO);
	ck_assert(homi_want_vf_online(v));
	ck_assert_int_eq(v->vq, 4);
	ck_assert_int_eq(v->vi, 1);
	ck_assert_uint_eq(v->n_ns, 2);
	ck_assert_uint_eq(v->ns[0].nsid, 1); /* sorted */
	ck_assert(v->ns[0].read_only);
	ck_assert_uint_eq(v->ns[1].nsid, 2);
	ck_assert(!v->ns[0].allow_mounted_rw);
	ck_assert(!v->ns[1].read_only);
	ck_assert(v->ns[1].allow_mounted_rw);
	ck_assert_int_eq(v->gpu, HOMI_GPU_ADDR);
	ck_assert_str_eq(v->gpu_addr, A);
	ck_assert_str_eq(v->owner, "ml");
	ck_assert_str_eq(v->group, "gpu");
	ck_assert_int_eq(v->mode, 0660);
	ck_assert_str_eq(v->origin, "t.json: $.devices[0].vfs[0]");
	ck_assert_uint_eq(d->n_protect, 0);
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

static void expect_selected(const struct homi_topology *t, const char *match, const char *want)
{
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;
	char json[512], got[256];

	snprintf(json, sizeof(json), "{\"homi-policy\": 1, \"devices\": [{\"match\": %s, \"vfs\": []}]}", match);
	add_ok(p, "t.json", json);
	d = resolve_ok(p, t);
	pf_addrs(d, got, sizeof(got));
	ck_assert_msg(streq(got, want), "match %s selected '%s', not '%s'", match, got, want);
	for (size_t i = 0; i < d->n_pfs; i++)
		ck_assert_uint_eq(d->pfs[i].num_vfs, 0);
	homi_desired_free(d);
	homi_policy_free(p);
}

/* `match` selects SR-IOV PFs only; all keys must hold; no match is fine. */
START_TEST(match_keys)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);

	expect_selected(t, "{\"pci\": \"0000:0*\"}", P1 " " P2); /* not the VF 04:00.1, not the plain 07:00.0 */
	expect_selected(t, "{\"pci\": \"*\"}", P1 " " P2 " " P3);
	expect_selected(t, "{\"pci\": \"0000:0[45]:00.0\"}", P1 " " P2);
	expect_selected(t, "{\"pci\": \"0000:8?:*\"}", P3);
	expect_selected(t, "{\"pci\": \"0000:05:00.0\"}", P2);
	expect_selected(t, "{\"vendor\": \"0X144D\"}", P1 " " P2); /* case-insensitive */
	expect_selected(t, "{\"device\": \"0xA824\", \"serial\": \"SN456\"}", P2);
	expect_selected(t, "{\"model\": \"Test*\"}", P1);
	expect_selected(t, "{\"model\": \"*\"}", P1 " " P2); /* P3 has no controller on nvme */
	expect_selected(t, "{\"numa-node\": 1}", P3);
	expect_selected(t, "{\"numa-node\": 0, \"vendor\": \"0x8086\"}", "");
	expect_selected(t, "{\"pci\": \"0000:99:00.0\"}", ""); /* not on this machine */
	expect_selected(t, "{\"serial\": \"SN1\"}", "");        /* exact, not a prefix */
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(match_names_non_pf)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);

	expect_resolve_error(t, "t.json", "{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"04:00.1\"}, \"vfs\": []}]}",
			     "t.json: $.devices[0].match.pci: 0000:04:00.1 is a VF (VF 1 of 0000:04:00.0); match "
			     "selects physical functions only");
	expect_resolve_error(t, "t.json",
			     "{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"0000:07:00.0\"}, \"vfs\": []}]}",
			     "t.json: $.devices[0].match.pci: 0000:07:00.0 is an NVMe controller without SR-IOV (it "
			     "cannot have VFs)");
	expect_resolve_error(t, "t.json",
			     "{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"0000:03:00.0\"}, \"vfs\": []}]}",
			     "t.json: $.devices[0].match.pci: 0000:03:00.0 is not an NVMe controller (kind gpu)");
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

#define ENTRY(match, extra, vfs) "{\"match\": " match extra ", \"vfs\": [" vfs "]}"
#define DOC(entries) "{\"homi-policy\": 1, \"devices\": [" entries "]}"
#define DOC2(a, b) DOC(a ", " b)

/* Entries of several files that select one PF merge VF by VF. */
START_TEST(merge_files)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;

	add_ok(p, "a.json", DOC(ENTRY("{\"pci\": \"04:00.0\"}", "", "{\"vf\": 1, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1, \"namespaces\": [1]}")));
	add_ok(p, "b.json", DOC2(ENTRY("{\"pci\": \"0000:05:00.0\"}", "", "{\"vf\": 2}"),
				ENTRY("{\"vendor\": \"0x144d\"}", "",
				      "{\"vf\": 1, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1, \"namespaces\": [{\"nsid\": 1}], "
				      "\"comment\": \"same settings\"}, {\"vf\": 4}")));
	d = resolve_ok(p, t);
	ck_assert_uint_eq(d->n_pfs, 2);
	ck_assert_str_eq(d->pfs[0].pci, P1);
	ck_assert_str_eq(d->pfs[0].origin, "a.json: $.devices[0]");
	ck_assert_uint_eq(d->pfs[0].num_vfs, 4);
	ck_assert_uint_eq(d->pfs[0].n_vfs, 2);
	ck_assert_str_eq(d->pfs[0].vfs[0].origin, "a.json: $.devices[0].vfs[0]"); /* the first one given */
	ck_assert_str_eq(d->pfs[0].vfs[1].origin, "b.json: $.devices[1].vfs[1]");
	ck_assert_str_eq(d->pfs[1].pci, P2);
	ck_assert_str_eq(d->pfs[1].origin, "b.json: $.devices[0]");
	ck_assert_uint_eq(d->pfs[1].num_vfs, 4);
	ck_assert_uint_eq(d->pfs[1].n_vfs, 3);
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(merge_conflicts)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	char dir[64], want[1024], *e = NULL;
	int r;

	/* Through a directory, as homid reads /etc/homi/policies.d. */
	tmpdir(dir, sizeof(dir));
	put(dir, "a.json", DOC(ENTRY("{\"pci\": \"04:00.0\"}", ", \"allow-pf-reset\": true", "{\"vf\": 1, \"driver\": \"vfio-pci\"}")));
	put(dir, "b.json", DOC2(ENTRY("{\"pci\": \"99:00.0\"}", "", ""),
			       ENTRY("{\"pci\": \"0000:0*\"}", ", \"allow-pf-reset\": false",
				     "{\"vf\": 1, \"driver\": \"nvme\"}, {\"vf\": 2}")));
	r = homi_policy_add_path(p, dir, &e);
	ck_assert_msg(r == 0, "%s", e ? e : strerror(-r));
	e = resolve_bad(p, t);
	snprintf(want, sizeof(want),
		 "%s/a.json: $.devices[0].allow-pf-reset and %s/b.json: $.devices[1].allow-pf-reset disagree for "
		 "0000:04:00.0\n"
		 "%s/a.json: $.devices[0].vfs[0] and %s/b.json: $.devices[1].vfs[0] give VF 1 of 0000:04:00.0 "
		 "different settings",
		 dir, dir, dir, dir);
	ck_assert_str_eq(e, want);
	free(e);
	homi_policy_free(p);
	rm_rf(dir);

	/* The message of ARCHITECTURE.md, with names as given. */
	p = homi_policy_new();
	add_ok(p, "a.json", DOC(ENTRY("{\"pci\": \"04:00.0\"}", "", "{\"vf\": 1, \"vq\": 2, \"vi\": 1}")));
	add_ok(p, "b.json", DOC2(ENTRY("{\"pci\": \"05:00.0\"}", "", ""),
				ENTRY("{\"pci\": \"04:00.0\"}", "", "{\"vf\": 1, \"vq\": 3, \"vi\": 1}")));
	e = resolve_bad(p, t);
	ck_assert_str_eq(e, "a.json: $.devices[0].vfs[0] and b.json: $.devices[1].vfs[0] give VF 1 of 0000:04:00.0 "
			    "different settings");
	free(e);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

/* allow-pf-reset: an entry without it has no opinion; given ones must agree. */
START_TEST(pf_reset_merge)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;

	add_ok(p, "a.json", DOC2(ENTRY("{\"pci\": \"04:00.0\"}", "", "{\"vf\": 1}"),
				ENTRY("{\"pci\": \"05:00.0\"}", ", \"allow-pf-reset\": false", "")));
	add_ok(p, "b.json", DOC2(ENTRY("{\"vendor\": \"0x144d\"}", "", ""),
				ENTRY("{\"pci\": \"04:00.0\"}", ", \"allow-pf-reset\": true", "")));
	d = resolve_ok(p, t);
	ck_assert_uint_eq(d->n_pfs, 2);
	ck_assert(d->pfs[0].allow_pf_reset);
	ck_assert(!d->pfs[1].allow_pf_reset);
	ck_assert_uint_eq(d->pfs[0].num_vfs, 1);
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(vf_beyond_total)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);

	expect_resolve_error(t, "t.json", DOC(ENTRY("{\"pci\": \"82:00.0\"}", "", "{\"vf\": 1}, {\"vf\": 2}")),
			     "t.json: $.devices[0].vfs[1]: VF 2 is beyond sriov_totalvfs (1) of 0000:82:00.0");
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

/* ---- resolution: gpu, protect ------------------------------------------ */

START_TEST(gpu_pairing)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;

	add_ok(p, "t.json", DOC2(ENTRY("{\"pci\": \"0000:0*\"}", "",
				       "{\"vf\": 1, \"driver\": \"vfio-pci\", \"gpu\": \"nearest\"}, "
				       "{\"vf\": 2, \"driver\": \"vfio-pci\", \"gpu\": \"none\"}") ", "
				 ENTRY("{\"pci\": \"0000:8*\"}", "", "{\"vf\": 1, \"driver\": \"vfio-pci\", \"gpu\": \"nearest\"}"),
				/* selects nothing here: its address is not looked at */
				ENTRY("{\"pci\": \"0000:99:00.0\"}", "", "{\"vf\": 1, \"gpu\": \"0000:99:00.0\"}")));
	d = resolve_ok(p, t);
	ck_assert_uint_eq(d->n_pfs, 3);
	ck_assert_int_eq(d->pfs[0].vfs[0].gpu, HOMI_GPU_NEAREST);
	ck_assert_str_eq(d->pfs[0].vfs[0].gpu_addr, A); /* PIX */
	ck_assert_str_eq(d->pfs[1].vfs[0].gpu_addr, A);
	ck_assert_str_eq(d->pfs[2].vfs[0].gpu_addr, C); /* PHB beats B's SYS */
	ck_assert_int_eq(d->pfs[0].vfs[1].gpu, HOMI_GPU_NONE);
	ck_assert_str_eq(d->pfs[0].vfs[1].gpu_addr, "");
	homi_desired_free(d);
	homi_policy_free(p);

	expect_resolve_error(t, "t.json", DOC(ENTRY("{\"pci\": \"04:00.0\"}", "", "{\"vf\": 1, \"gpu\": \"05:00.0\"}, {\"vf\": 2, \"gpu\": \"0000:3b:00.0\"}")),
			     "t.json: $.devices[0].vfs[0].gpu: 0000:05:00.0 is not a GPU (kind nvme-pf)\n"
			     "t.json: $.devices[0].vfs[1].gpu: 0000:3b:00.0 is not a GPU (no such device)");
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(protect)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;
	char *e;

	add_ok(p, "p.json", "{\"homi-policy\": 1, \"protect\": [\"05:00.0\", \"0000:00:17.0\", \"0000:05:00.0\"]}");
	add_ok(p, "q.json", "{\"homi-policy\": 1, \"protect\": [\"0000:00:17.0\", \"0000:00:02.0\"]}");
	add_ok(p, "t.json", DOC(ENTRY("{\"pci\": \"0000:0*\"}", "", "{\"vf\": 1}")));
	d = resolve_ok(p, t);
	ck_assert_uint_eq(d->n_protect, 3);
	ck_assert_str_eq(d->protect[0], "0000:00:02.0");
	ck_assert_str_eq(d->protect[1], "0000:00:17.0");
	ck_assert_str_eq(d->protect[2], P2);
	ck_assert(homi_desired_protected(d, P2));
	ck_assert(!homi_desired_protected(d, P1));
	/* a glob passes over the protected PF, and says so */
	ck_assert_uint_eq(d->n_pfs, 1);
	ck_assert_str_eq(d->pfs[0].pci, P1);
	ck_assert_uint_eq(d->n_notes, 1);
	ck_assert_str_eq(d->notes[0], P2 ": passed over: t.json: $.devices[0].match selects it, but it is protected "
					  "(p.json: $.protect[0])");
	homi_desired_free(d);
	/* naming it is an error */
	add_ok(p, "u.json", DOC(ENTRY("{\"pci\": \"05:00.0\"}", "", "{\"vf\": 1}")));
	e = resolve_bad(p, t);
	ck_assert_str_eq(e, "u.json: $.devices[0].match.pci: 0000:05:00.0 is protected (p.json: $.protect[0])");
	free(e);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

/* ---- resolution: per-gpu ------------------------------------------------ */

#define PER_GPU "{\"homi-policy\": 1, \"per-gpu\": {\"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, " \
		"\"namespaces\": [{\"nsid\": 1, \"access\": \"ro\"}], \"mode\": \"0660\"}}"

static const struct homi_want_vf *want(const struct homi_desired *d, const char *pf, unsigned vf)
{
	const struct homi_want_pf *w = homi_desired_find(d, pf);
	ck_assert_msg(w, "%s not in the desired state", pf);
	const struct homi_want_vf *v = homi_want_pf_find_vf(w, vf);
	ck_assert_msg(v, "VF %u of %s not in the desired state", vf, pf);
	return v;
}

static void expect_gpu_vf(const struct homi_desired *d, const char *pf, unsigned vf, const char *gpu)
{
	const struct homi_want_vf *v = want(d, pf, vf);
	char origin[128];

	snprintf(origin, sizeof(origin), "g.json: $.per-gpu for GPU %s", gpu);
	ck_assert_int_eq(v->gpu, HOMI_GPU_ADDR);
	ck_assert_str_eq(v->gpu_addr, gpu);
	ck_assert_str_eq(v->origin, origin);
}

/* Best affinity, then fewest claimed, then lowest address; lowest free VF. */
START_TEST(per_gpu_placement)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;
	const struct homi_want_vf *v;

	add_ok(p, "g.json", PER_GPU);
	d = resolve_ok(p, t);
	ck_assert_uint_eq(d->n_pfs, 3);
	expect_gpu_vf(d, P1, 1, A); /* PIX to P1 and P2, none claimed: lowest address */
	expect_gpu_vf(d, P2, 1, B); /* PHB to both, P1 has one: P2 */
	expect_gpu_vf(d, P3, 1, C); /* PHB beats SYS */
	ck_assert_uint_eq(d->pfs[0].n_vfs, 1);
	ck_assert_uint_eq(d->pfs[1].n_vfs, 1);
	ck_assert_str_eq(d->pfs[0].origin, "g.json: $.per-gpu for GPU " A);
	ck_assert(!d->pfs[0].allow_pf_reset);
	v = want(d, P1, 1);
	ck_assert_int_eq(v->driver, HOMI_VF_DRIVER_VFIO);
	ck_assert_int_eq(v->vq, 2);
	ck_assert_int_eq(v->vi, 1);
	ck_assert_uint_eq(v->n_ns, 1);
	ck_assert(v->ns[0].read_only);
	ck_assert_int_eq(v->mode, 0660);
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

/* A GPU whose nearest PF is protected gets the next one, and the plan
 * says which PF was passed over; GPUs whose nearest PF is free say nothing. */
START_TEST(per_gpu_protected_nearest)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;

	add_ok(p, "p.json", "{\"homi-policy\": 1, \"protect\": [\"82:00.0\"]}");
	add_ok(p, "g.json", PER_GPU);
	d = resolve_ok(p, t);
	ck_assert_ptr_null(homi_desired_find(d, P3));
	expect_gpu_vf(d, P1, 1, A);
	expect_gpu_vf(d, P2, 1, B);
	expect_gpu_vf(d, P1, 2, C); /* SYS to both, one claimed each: lowest address */
	ck_assert_uint_eq(d->n_notes, 1);
	ck_assert_str_eq(d->notes[0], P3 ": passed over for GPU " C " (PHB, nearer than " P1 "), it is protected "
					  "(p.json: $.protect[0])");
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(per_gpu_fewest_claimed)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;

	add_ok(p, "e.json", DOC(ENTRY("{\"pci\": \"04:00.0\"}", "", "{\"vf\": 1}, {\"vf\": 2}")));
	add_ok(p, "g.json", PER_GPU);
	d = resolve_ok(p, t);
	expect_gpu_vf(d, P2, 1, A); /* P1 has 2 explicit VFs, P2 none */
	expect_gpu_vf(d, P2, 2, B); /* P1 2, P2 1 */
	expect_gpu_vf(d, P3, 1, C);
	ck_assert_uint_eq(homi_desired_find(d, P1)->n_vfs, 2);
	ck_assert_uint_eq(homi_desired_find(d, P2)->num_vfs, 2);
	ck_assert_str_eq(homi_desired_find(d, P2)->origin, "g.json: $.per-gpu for GPU " A);
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(per_gpu_lowest_free)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;

	add_ok(p, "e.json", DOC2(ENTRY("{\"pci\": \"04:00.0\"}", "", "{\"vf\": 1}"),
				ENTRY("{\"pci\": \"05:00.0\"}", "", "{\"vf\": 1}, {\"vf\": 3}")));
	add_ok(p, "g.json", PER_GPU);
	d = resolve_ok(p, t);
	expect_gpu_vf(d, P1, 2, A); /* P1 has fewer: its lowest free VF is 2 */
	expect_gpu_vf(d, P1, 3, B); /* 2 and 2 claimed: lowest address, VF 3 */
	ck_assert_ptr_null(homi_want_pf_find_vf(homi_desired_find(d, P2), 2));
	ck_assert_uint_eq(homi_desired_find(d, P1)->num_vfs, 3);
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(per_gpu_protected_pf)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;

	add_ok(p, "g.json", "{\"homi-policy\": 1, \"protect\": [\"04:00.0\"], \"per-gpu\": {\"driver\": \"vfio-pci\"}}");
	d = resolve_ok(p, t);
	ck_assert_ptr_null(homi_desired_find(d, P1));
	expect_gpu_vf(d, P2, 1, A);
	expect_gpu_vf(d, P2, 2, B);
	ck_assert_uint_eq(d->n_notes, 0); /* P2 is as near as P1: nothing was given up */
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

START_TEST(per_gpu_errors)
{
	struct tb tb;
	struct homi_topology *t = gpu_server(&tb);
	struct homi_policy *p;
	char *e;

	/* P3's only VF is taken; the placement does not wander off to SYS. */
	p = homi_policy_new();
	add_ok(p, "e.json", DOC(ENTRY("{\"pci\": \"82:00.0\"}", "", "{\"vf\": 1}")));
	add_ok(p, "g.json", PER_GPU);
	e = resolve_bad(p, t);
	ck_assert_str_eq(e, "g.json: $.per-gpu for GPU 0000:81:00.0: no free VF on 0000:82:00.0 (sriov_totalvfs 1, "
			    "all claimed)");
	free(e);
	homi_policy_free(p);

	/* A GPU that an explicit entry pairs by address. */
	p = homi_policy_new();
	add_ok(p, "e.json", DOC(ENTRY("{\"pci\": \"04:00.0\"}", "", "{\"vf\": 1, \"driver\": \"vfio-pci\", \"gpu\": \"06:00.0\"}")));
	add_ok(p, "g.json", PER_GPU);
	e = resolve_bad(p, t);
	ck_assert_str_eq(e, "g.json: $.per-gpu for GPU 0000:06:00.0 collides with e.json: $.devices[0].vfs[0] (VF 1 "
			    "of 0000:04:00.0 is already paired with that GPU)");
	free(e);
	homi_policy_free(p);

	/* Two documents with different per-gpu settings; identical ones are one rule. */
	p = homi_policy_new();
	add_ok(p, "g.json", PER_GPU);
	add_ok(p, "h.json", PER_GPU);
	homi_desired_free(resolve_ok(p, t));
	add_ok(p, "i.json", "{\"homi-policy\": 1, \"per-gpu\": {\"driver\": \"vfio-pci\", \"vq\": 4, \"vi\": 1}}");
	e = resolve_bad(p, t);
	ck_assert_str_eq(e, "g.json: $.per-gpu and i.json: $.per-gpu give different per-gpu settings");
	free(e);
	homi_policy_free(p);
	homi_topology_free(t);
	tb_cleanup(&tb);
}
END_TEST

/* A GPU machine without SR-IOV NVMe (the H200 capture). */
START_TEST(per_gpu_without_pf)
{
	struct homi_topology *t = load_fixture("gpu-h200-vm");

	expect_resolve_error(t, "g.json", PER_GPU,
			     "g.json: $.per-gpu for GPU 0000:00:06.0: no SR-IOV NVMe PF to place its VF on");
	homi_topology_free(t);
}
END_TEST

/* policies/qemu-testbed.json on the QEMU capture it was written for. */
START_TEST(qemu_testbed)
{
	struct homi_topology *t = load_fixture("qemu-sriov");
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;
	const struct homi_want_pf *pf;
	const struct homi_want_vf *v;
	char path[PATH_MAX], *e = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/policies/qemu-testbed.json", srcdir());
	r = homi_policy_add_path(p, path, &e);
	ck_assert_msg(r == 0, "%s", e ? e : strerror(-r));
	d = resolve_ok(p, t);
	ck_assert_uint_eq(d->n_pfs, 1);
	pf = homi_desired_find(d, "0000:01:00.0");
	ck_assert_ptr_nonnull(pf);
	ck_assert(pf->allow_pf_reset);
	ck_assert_uint_eq(pf->num_vfs, 2);
	v = &pf->vfs[0];
	ck_assert_int_eq(v->driver, HOMI_VF_DRIVER_VFIO);
	ck_assert_int_eq(v->vq, 2);
	ck_assert_int_eq(v->vi, 1);
	ck_assert_uint_eq(v->n_ns, 1);
	ck_assert_uint_eq(v->ns[0].nsid, 1);
	ck_assert(v->ns[0].read_only);
	ck_assert_str_eq(v->owner, "user");
	ck_assert_str_eq(v->group, "homi-admin");
	ck_assert_int_eq(v->mode, 0660);
	v = &pf->vfs[1];
	ck_assert_int_eq(v->driver, HOMI_VF_DRIVER_NVME);
	ck_assert_int_eq(v->vq, 2);
	ck_assert_int_eq(v->vi, 1);
	ck_assert_uint_eq(v->n_ns, 1);
	ck_assert(!v->ns[0].read_only);
	ck_assert_ptr_null(v->owner);
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
}
END_TEST

/* The examples on the synthetic 4-GPU server (tests/bench/gen-sysfs), when
 * that fixture is present. */
static bool have_fixture(const char *name)
{
	const char *dir = getenv("HOMI_FIXTURES");
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s.tar.gz", dir ? dir : "", name);
	return dir && access(p, R_OK) == 0;
}

static struct homi_desired *resolve_example(const struct homi_topology *t, const char *file)
{
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d;
	char path[PATH_MAX], *e = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/policies/%s", srcdir(), file);
	r = homi_policy_add_path(p, path, &e);
	ck_assert_msg(r == 0, "%s", e ? e : strerror(-r));
	d = resolve_ok(p, t);
	homi_policy_free(p);
	return d;
}

START_TEST(examples_on_gpu_server)
{
	struct homi_topology *t;
	struct homi_desired *d;
	char got[256];

	if (!have_fixture("synth-gpu-server"))
		return;
	t = load_fixture("synth-gpu-server");

	/* per-gpu: each GPU behind its own switch with one PIX PF. */
	d = resolve_example(t, "per-gpu.json");
	pf_addrs(d, got, sizeof(got));
	ck_assert_str_eq(got, "0000:04:00.0 0000:44:00.0 0000:84:00.0 0000:c4:00.0");
	ck_assert_str_eq(want(d, "0000:04:00.0", 1)->gpu_addr, "0000:03:00.0");
	ck_assert_str_eq(want(d, "0000:44:00.0", 1)->gpu_addr, "0000:43:00.0");
	ck_assert_str_eq(want(d, "0000:84:00.0", 1)->gpu_addr, "0000:83:00.0");
	ck_assert_str_eq(want(d, "0000:c4:00.0", 1)->gpu_addr, "0000:c3:00.0");
	ck_assert(homi_desired_protected(d, "0000:00:17.0"));
	homi_desired_free(d);

	/* vfio-nearest-gpu: every SR-IOV PF, not the boot SSD without SR-IOV. */
	d = resolve_example(t, "vfio-nearest-gpu.json");
	pf_addrs(d, got, sizeof(got));
	ck_assert_str_eq(got, "0000:04:00.0 0000:44:00.0 0000:47:00.0 0000:84:00.0 0000:c4:00.0");
	ck_assert_str_eq(want(d, "0000:47:00.0", 1)->gpu_addr, "0000:43:00.0"); /* PXB */
	ck_assert_int_eq(want(d, "0000:47:00.0", 1)->gpu, HOMI_GPU_NEAREST);
	homi_desired_free(d);

	/* split-vfio-nvme: the model does not match; nothing selected. */
	d = resolve_example(t, "split-vfio-nvme.json");
	ck_assert_uint_eq(d->n_pfs, 0);
	homi_desired_free(d);
	homi_topology_free(t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("policy");
	TCase *parse = tcase_create("parse"), *res = tcase_create("resolve");

	tcase_add_test(parse, parse_messages);
	tcase_add_test(parse, parse_error_without_ret);
	tcase_add_test(parse, invalid_cases);
	tcase_add_test(parse, valid_cases);
	tcase_add_test(parse, examples_parse);
	tcase_add_test(parse, names);
	tcase_add_test(parse, directory_order);
	tcase_add_test(parse, directory_all_or_nothing);
	tcase_add_test(parse, unreadable_paths);
	suite_add_tcase(s, parse);

	tcase_add_test(res, topology_as_assumed);
	tcase_add_test(res, resolve_explicit);
	tcase_add_test(res, match_keys);
	tcase_add_test(res, match_names_non_pf);
	tcase_add_test(res, merge_files);
	tcase_add_test(res, merge_conflicts);
	tcase_add_test(res, pf_reset_merge);
	tcase_add_test(res, vf_beyond_total);
	tcase_add_test(res, gpu_pairing);
	tcase_add_test(res, protect);
	tcase_add_test(res, per_gpu_placement);
	tcase_add_test(res, per_gpu_fewest_claimed);
	tcase_add_test(res, per_gpu_lowest_free);
	tcase_add_test(res, per_gpu_protected_pf);
	tcase_add_test(res, per_gpu_protected_nearest);
	tcase_add_test(res, per_gpu_errors);
	tcase_add_test(res, per_gpu_without_pf);
	tcase_add_test(res, qemu_testbed);
	tcase_add_test(res, examples_on_gpu_server);
	tcase_set_timeout(res, 30);
	suite_add_tcase(s, res);
	return s;
}

int main(void)
{
	return check_run(suite(), CK_NORMAL);
}
