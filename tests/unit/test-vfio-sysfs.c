/* SPDX-License-Identifier: MIT */
/* libhomi-vfio on captured sysfs trees: the refusals before a VF is opened
 * (homi_vfio_check), and a namespace's delegation from the policies
 * (homi_ns_access_from_policy) as the tools derive read-only from it. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-run.h"
#include "fixture.h"
#include "ns-access.h"
#include "vfio.h"

static const char *top_srcdir(void)
{
	const char *d = getenv("top_srcdir");
	return d ? d : HOMI_TOP_SRCDIR;
}

static struct homi_sysfs *open_fixture(const char *name)
{
	struct homi_sysfs *s;
	ck_assert_int_eq(homi_sysfs_open(fixture_unpack(name), &s), 0);
	return s;
}

/* ADDR is refused with errno R and a one-line reason that starts with the
 * address and contains WHAT. */
static void refused(struct homi_sysfs *s, const char *addr, int r, const char *what)
{
	char err[512] = "";

	ck_assert_int_eq(homi_vfio_check(s, addr, err, sizeof(err)), r);
	ck_assert_msg(strncmp(err, addr, strlen(addr)) == 0 && err[strlen(addr)] == ':', "'%s' does not start with %s",
		      err, addr);
	ck_assert_msg(strstr(err, what), "'%s' lacks '%s'", err, what);
	ck_assert_msg(!strchr(err, '\n'), "'%s' is not one line", err);
}

START_TEST(check_sriov_fixture)
{
	struct homi_sysfs *s = open_fixture("qemu-sriov");
	char err[256] = "";

	/* VF1 on vfio-pci, alone in group 4: accepted, the group returned. */
	ck_assert_int_eq(homi_vfio_check(s, "0000:01:00.1", err, sizeof(err)), 4);
	ck_assert_int_eq(homi_vfio_check(s, "01:00.1", err, sizeof(err)), 4);
	refused(s, "0000:01:00.2", -EBUSY, "bound to nvme, not vfio-pci");
	refused(s, "0000:01:00.0", -EINVAL, "an SR-IOV physical function, not a VF");
	refused(s, "0000:01:00.3", -ENXIO, "not bound to any driver");
	refused(s, "0000:00:01.0", -EINVAL, "not an SR-IOV virtual function (no physfn link)");
	refused(s, "0000:07:00.0", -ENODEV, "no such PCI function");
	refused(s, "01:00", -EINVAL, "not a PCI address");
	homi_sysfs_free(s);
}
END_TEST

START_TEST(check_switch_fixture)
{
	struct homi_sysfs *s = open_fixture("qemu-switch");
	char err[512];

	/* Behind the switch without ACS: the PF, the downstream port and the
	 * other VF share the group; every one of them is named. */
	refused(s, "0000:03:00.1", -EPERM, "IOMMU group 5 is shared with ");
	homi_vfio_check(s, "0000:03:00.1", err, sizeof(err));
	ck_assert_msg(strstr(err, "0000:02:00.0 (pcieport)"), "%s", err);
	ck_assert_msg(strstr(err, "0000:03:00.0 (nvme)"), "%s", err);
	ck_assert_msg(strstr(err, "0000:03:00.2 (no driver)"), "%s", err);
	ck_assert_msg(strstr(err, "the VF is not isolated"), "%s", err);
	/* Behind the expander host bridge the VF is alone. */
	ck_assert_int_ge(homi_vfio_check(s, "0000:81:00.1", err, sizeof(err)), 0);
	homi_sysfs_free(s);
}
END_TEST

START_TEST(check_no_iommu_group)
{
	struct homi_sysfs *s;
	struct tb tb;

	tb_init(&tb);
	tb_add(&tb, "pci0000:00/0000:00:01.0/0000:01:00.0", "0x1b36", "0x0010", "0x010802", -1);
	tb_add(&tb, "pci0000:00/0000:00:01.0/0000:01:00.1", "0x1b36", "0x0010", "0x010802", -1);
	tb_link(&tb, "0000:01:00.1", "physfn", "../0000:01:00.0");
	tb_driver(&tb, "0000:01:00.1", "vfio-pci");
	ck_assert_int_eq(homi_sysfs_open(tb.root, &s), 0);
	refused(s, "0000:01:00.1", -ENOENT, "no IOMMU group: the IOMMU is off");
	homi_sysfs_free(s);
	tb_cleanup(&tb);
}
END_TEST

/* The access of NSID through VF under the policy at top_srcdir/PATH. */
static enum homi_ns_access access_of(struct homi_sysfs *s, const char *path, const char *vf, uint32_t nsid,
				     char **why)
{
	char full[4096];
	enum homi_ns_access a;

	snprintf(full, sizeof(full), "%s/%s", top_srcdir(), path);
	ck_assert_int_eq(homi_ns_access_from_policy(s, full, vf, nsid, &a, why), 0);
	return a;
}

START_TEST(access_from_policy)
{
	struct homi_sysfs *s = open_fixture("qemu-sriov");
	char *why = NULL;

	/* The testbed policy delegates namespace 1 read-only to VF1. */
	ck_assert_int_eq(access_of(s, "policies/qemu-testbed.json", "0000:01:00.1", 1, &why), HOMI_NS_RO);
	ck_assert_msg(strstr(why, "policies/qemu-testbed.json: $.devices[0].vfs[0]"), "%s", why);
	free(why);
	ck_assert_int_eq(access_of(s, "tests/vm/policies/testbed-rw.json", "0000:01:00.1", 1, &why), HOMI_NS_RW);
	free(why);
	/* VF2's namespaces are plain NSIDs: rw. */
	ck_assert_int_eq(access_of(s, "policies/qemu-testbed.json", "0000:01:00.2", 1, &why), HOMI_NS_RW);
	free(why);
	/* A namespace the VF's entry does not list. */
	ck_assert_int_eq(access_of(s, "policies/qemu-testbed.json", "0000:01:00.1", 2, &why), HOMI_NS_NONE);
	ck_assert_msg(strstr(why, "lists no namespace 2"), "%s", why);
	free(why);
	/* A VF the policy does not list at all (VF3 is enabled, offline). */
	ck_assert_int_eq(access_of(s, "policies/qemu-testbed.json", "0000:01:00.3", 1, &why), HOMI_NS_NONE);
	ck_assert_msg(strstr(why, "VF 3 is not listed for its PF 0000:01:00.0"), "%s", why);
	free(why);
	/* A directory of policies, and no policy at all. */
	ck_assert_int_eq(access_of(s, "tests/vm/policies", "0000:01:00.1", 1, &why), HOMI_NS_RW);
	free(why);
	ck_assert_int_eq(access_of(s, "tests/vm/no-such-policy.json", "0000:01:00.1", 1, &why), HOMI_NS_UNMANAGED);
	ck_assert_msg(strstr(why, "no policy"), "%s", why);
	free(why);
	homi_sysfs_free(s);
}
END_TEST

START_TEST(access_other_pf_and_errors)
{
	struct homi_sysfs *s = open_fixture("qemu-sriov");
	char dir[] = "/tmp/homi-access-XXXXXX", path[128];
	enum homi_ns_access a;
	char *why = NULL;
	FILE *f;

	ck_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/other.json", dir);
	f = fopen(path, "w");
	fputs("{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"0000:05:00.0\"}, "
	      "\"vfs\": [{\"vf\": 1, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1}]}]}\n", f);
	fclose(f);
	ck_assert_int_eq(homi_ns_access_from_policy(s, path, "0000:01:00.1", 1, &a, &why), 0);
	ck_assert_int_eq(a, HOMI_NS_UNMANAGED);
	ck_assert_msg(strstr(why, "matches its PF 0000:01:00.0"), "%s", why);
	free(why);
	/* A policy that does not parse: an error with the policy's message. */
	f = fopen(path, "w");
	fputs("{\"homi-policy\": 1, \"devices\": [}\n", f);
	fclose(f);
	ck_assert_int_eq(homi_ns_access_from_policy(s, path, "0000:01:00.1", 1, &a, &why), -EINVAL);
	ck_assert_msg(why && strstr(why, "other.json:1:"), "%s", why ? why : "(null)");
	free(why);
	/* The PF is not a VF. */
	ck_assert_int_eq(homi_ns_access_from_policy(s, path, "0000:01:00.0", 1, &a, &why), -EINVAL);
	free(why);
	unlink(path);
	rmdir(dir);
	homi_sysfs_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vfio-sysfs");
	TCase *tc = tcase_create("captured trees");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, check_sriov_fixture);
	tcase_add_test(tc, check_switch_fixture);
	tcase_add_test(tc, check_no_iommu_group);
	tcase_add_test(tc, access_from_policy);
	tcase_add_test(tc, access_other_pf_and_errors);
	suite_add_tcase(s, tc);
	return check_run(s, CK_NORMAL);
}
