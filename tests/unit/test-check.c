/* SPDX-License-Identifier: MIT */
/* `check`: each verdict rule on facts built for it (the judges are pure),
 * then the facts read from the captured and synthetic trees, and the pair
 * selection of homi_check_run. */
#include "config.h"

#include <check.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "check-facts.h"
#include "check-json.h"
#include "fixture.h"
#include "macro.h"
#include "pci.h"
#include "policy.h"
#include "sysfs.h"
#include "topology.h"

#define H HOMI_MODE_H
#define D HOMI_MODE_D
#define G HOMI_MODE_G
#define ALL HOMI_MODES_ALL

/* ---- helpers -------------------------------------------------------------- */

static struct homi_check_report *report(unsigned modes)
{
	struct homi_check_report *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	r->modes = modes;
	return r;
}

/* The verdict of CHECK about SUBJECT (NULL: any) that covers MODE. */
static const struct homi_verdict *find(const struct homi_check_report *r, const char *check, const char *subject,
				       unsigned mode)
{
	for (size_t i = 0; i < r->n; i++)
		if (streq(r->v[i].check, check) && (!subject || streq(r->v[i].subject, subject)) &&
		    (r->v[i].modes & mode))
			return &r->v[i];
	return NULL;
}

static size_t count_check(const struct homi_check_report *r, const char *check)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += streq(r->v[i].check, check);
	return n;
}

#define ck_status(r, check, subject, mode, want)                                                       \
	do {                                                                                            \
		const struct homi_verdict *_v = find(r, check, subject, mode);                          \
		ck_assert_msg(_v, "no %s verdict for %s in mode %u", check, subject ? subject : "-", mode); \
		ck_assert_msg(_v->status == (want), "%s %s mode %u: %s, expected %s: %s", check,          \
			      subject ? subject : "-", mode, homi_check_status_name(_v->status),         \
			      homi_check_status_name(want), _v->why);                                     \
	} while (0)

#define ck_why(r, check, subject, mode, text)                                                          \
	do {                                                                                            \
		const struct homi_verdict *_v = find(r, check, subject, mode);                          \
		ck_assert_ptr_nonnull(_v);                                                              \
		ck_assert_msg(strstr(_v->why, text), "%s: why lacks \"%s\": %s", check, text, _v->why);  \
	} while (0)

#define ck_fix(r, check, subject, mode, text)                                                          \
	do {                                                                                            \
		const struct homi_verdict *_v = find(r, check, subject, mode);                          \
		ck_assert_ptr_nonnull(_v);                                                              \
		ck_assert_msg(_v->fix && strstr(_v->fix, text), "%s: fix lacks \"%s\": %s", check, text, \
			      _v->fix ? _v->fix : "(none)");                                             \
	} while (0)

static struct homi_host_facts host_live(void)
{
	struct homi_host_facts h = { .live = true, .iommu_units = 1, .cmdline_known = true,
				     .noiommu = 0, .vfio_pci = true, .type1 = 1, .iommufd = 0, .dev_vfio = 1,
				     .dev_iommu = 0, .importer = HOMI_IMPORTER_NO_NODE };
	snprintf(h.iommu_names, sizeof(h.iommu_names), "dmar0");
	snprintf(h.cmdline, sizeof(h.cmdline), "intel_iommu=on iommu=pt");
	snprintf(h.importer_why, sizeof(h.importer_why), "no importer");
	return h;
}

static struct homi_port port(const char *pci, int type, bool vf, bool gpu, uint16_t ctl)
{
	struct homi_port p = { .port_type = type, .above_vf = vf, .above_gpu = gpu };
	snprintf(p.pci, sizeof(p.pci), "%s", pci);
	p.acs.state = HOMI_ACS_READ;
	p.acs.offset = 0x150;
	p.acs.cap = 0x5f;
	p.acs.ctl = ctl;
	return p;
}

/* VF 0000:04:00.1 (VF1 of 0000:04:00.0) below switch port 02:01.0, GPU
 * 0000:03:00.0 below 02:00.0, both below the upstream port 01:00.0 (PIX);
 * root port 00:01.0 above. ACS as Linux sets it with an IOMMU (0x1d). */
static struct homi_port pix_ports[4];

static struct homi_pair_facts pair_pix(void)
{
	struct homi_pair_facts f = { 0 };

	snprintf(f.vf, sizeof(f.vf), "0000:04:00.1");
	snprintf(f.pf, sizeof(f.pf), "0000:04:00.0");
	snprintf(f.label, sizeof(f.label), "0000:04:00.1");
	f.vfn = 1;
	f.pf_num_vfs = 4;
	f.pairing = HOMI_PAIR_NEAREST;
	snprintf(f.origin, sizeof(f.origin), "p.json: $.devices[0].vfs[0]");
	snprintf(f.gpu, sizeof(f.gpu), "0000:03:00.0");
	snprintf(f.best_gpu, sizeof(f.best_gpu), "0000:03:00.0");
	f.machine_has_gpu = true;
	snprintf(f.want_driver, sizeof(f.want_driver), "vfio-pci");
	snprintf(f.vf_driver, sizeof(f.vf_driver), "vfio-pci");
	f.link = f.best_link = HOMI_AFF_PIX;
	snprintf(f.common, sizeof(f.common), "0000:01:00.0");
	f.common_type = HOMI_PORT_UPSTREAM;
	snprintf(f.vf_hb, sizeof(f.vf_hb), "pci0000:00");
	snprintf(f.gpu_hb, sizeof(f.gpu_hb), "pci0000:00");
	pix_ports[0] = port("0000:02:01.0", HOMI_PORT_DOWNSTREAM, true, false, 0x1d);
	pix_ports[1] = port("0000:02:00.0", HOMI_PORT_DOWNSTREAM, false, true, 0x1d);
	pix_ports[2] = port("0000:01:00.0", HOMI_PORT_UPSTREAM, true, true, 0);
	pix_ports[2].acs.state = HOMI_ACS_ABSENT;
	pix_ports[3] = port("0000:00:01.0", HOMI_PORT_ROOT, true, true, 0x1d);
	f.ports = pix_ports;
	f.n_ports = 4;
	f.group = 35;
	snprintf(f.group_type, sizeof(f.group_type), "DMA");
	f.gpu_group = 8;
	snprintf(f.gpu_group_type, sizeof(f.gpu_group_type), "DMA");
	f.sec_known = f.sec_found = f.online = true;
	f.scid = 1;
	f.nvq = 2;
	f.nvi = 1;
	snprintf(f.ctrl, sizeof(f.ctrl), "nvme0");
	f.node_known = true;
	snprintf(f.node, sizeof(f.node), "/dev/vfio/35");
	f.mode = 0600;
	f.want_mode = -1;
	f.want_ids_known = true;
	snprintf(f.gpu_driver, sizeof(f.gpu_driver), "nvidia");
	f.gpu_vendor = 0x10de;
	f.bar_known = true;
	f.bar = 1;
	f.bar_start = 0x10000000000ULL;
	f.bar_size = 256ULL << 30;
	return f;
}

/* ---- affinity ------------------------------------------------------------- */

START_TEST(affinity_by_link)
{
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(ALL);
	const char *pair = "0000:04:00.1 <-> 0000:03:00.0";

	homi_judge_affinity(&f, r);
	ck_status(r, "affinity", pair, H | D | G, HOMI_CHECK_PASS);
	ck_assert_int_eq(r->v[0].modes, ALL);
	ck_why(r, "affinity", pair, H, "0000:01:00.0 (switch upstream port)");
	ck_assert_ptr_null(r->v[0].fix);
	homi_check_report_free(r);

	f.link = HOMI_AFF_PXB;
	r = report(ALL);
	homi_judge_affinity(&f, r);
	ck_status(r, "affinity", pair, ALL, HOMI_CHECK_PASS);
	homi_check_report_free(r);

	f.link = HOMI_AFF_PHB;
	f.common[0] = '\0';
	r = report(ALL);
	homi_judge_affinity(&f, r);
	ck_assert_int_eq(r->n, 1);
	ck_status(r, "affinity", pair, H, HOMI_CHECK_WARN);
	ck_status(r, "affinity", pair, D, HOMI_CHECK_WARN);
	ck_status(r, "affinity", pair, G, HOMI_CHECK_WARN);
	ck_why(r, "affinity", pair, H, "host bridge pci0000:00");
	homi_check_report_free(r);

	/* NODE and SYS: a warning for doorbells, a failure for GPU-memory DMA;
	 * the fix names the better GPU when there is one. */
	for (int l = HOMI_AFF_NODE; l <= HOMI_AFF_SYS; l++) {
		f.link = (enum homi_affinity_link)l;
		snprintf(f.best_gpu, sizeof(f.best_gpu), "0000:43:00.0");
		f.best_link = HOMI_AFF_PIX;
		f.vf_numa = 0;
		f.gpu_numa = 1;
		r = report(ALL);
		homi_judge_affinity(&f, r);
		ck_assert_int_eq(r->n, 2);
		ck_status(r, "affinity", pair, H, HOMI_CHECK_WARN);
		ck_status(r, "affinity", pair, D, HOMI_CHECK_FAIL);
		ck_status(r, "affinity", pair, G, HOMI_CHECK_FAIL);
		ck_fix(r, "affinity", pair, D, "\"gpu\": \"0000:43:00.0\"");
		ck_why(r, "affinity", pair, D, l == HOMI_AFF_NODE ? "host bridges" : "inter-socket link");
		homi_check_report_free(r);
	}

	/* No GPU paired: unknown, never a verdict about a path nobody named. */
	f.gpu[0] = '\0';
	r = report(ALL);
	homi_judge_affinity(&f, r);
	ck_status(r, "affinity", NULL, ALL, HOMI_CHECK_UNKNOWN);
	homi_check_report_free(r);
}
END_TEST

/* ---- acs ------------------------------------------------------------------ */

START_TEST(acs_redirect_on_both_sides)
{
	struct homi_host_facts h = host_live();
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(ALL);

	homi_judge_acs(&h, &f, r);
	/* Only the downstream ports below the common bridge are judged. */
	ck_assert_int_eq(count_check(r, "acs"), 2);
	ck_assert_ptr_null(find(r, "acs", "0000:01:00.0", ALL));
	ck_assert_ptr_null(find(r, "acs", "0000:00:01.0", ALL));
	/* The GPU's port concerns every mode: doorbell writes (H), completions (D). */
	ck_status(r, "acs", "0000:02:00.0", H, HOMI_CHECK_WARN);
	ck_assert_int_eq(find(r, "acs", "0000:02:00.0", H)->modes, ALL);
	ck_why(r, "acs", "0000:02:00.0", H, "ReqRedir+");
	ck_why(r, "acs", "0000:02:00.0", H, "CmpltRedir+");
	ck_fix(r, "acs", "0000:02:00.0", H, "setpci -s 0000:02:00.0 ECAP_ACS+6.w=0x0011");
	ck_fix(r, "acs", "0000:02:00.0", H, "pci=disable_acs_redir=0000:02:00.0");
	/* The VF's port does not concern mode H: doorbell writes leave there. */
	ck_assert_ptr_null(find(r, "acs", "0000:02:01.0", H));
	ck_status(r, "acs", "0000:02:01.0", D, HOMI_CHECK_WARN);
	ck_assert_int_eq(find(r, "acs", "0000:02:01.0", D)->modes, D | G);
	/* The trade-off is explained where it applies: the VF's port. */
	ck_why(r, "acs", "0000:02:01.0", D, "shares the PF's group");
	ck_fix(r, "acs", "0000:02:01.0", D, "IOMMU off");
	homi_check_report_free(r);
}
END_TEST

START_TEST(acs_redirect_off)
{
	struct homi_host_facts h = host_live();
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r;

	/* Redirect off on the GPU's port only: the clean set-up for mode H. */
	pix_ports[1].acs.ctl = 0x11;
	r = report(ALL);
	homi_judge_acs(&h, &f, r);
	ck_status(r, "acs", "0000:02:00.0", ALL, HOMI_CHECK_PASS);
	ck_assert_int_eq(find(r, "acs", "0000:02:00.0", H)->modes, ALL);
	ck_assert_ptr_null(find(r, "acs", "0000:02:00.0", H)->fix);
	ck_why(r, "acs", "0000:02:00.0", H, "routed straight to the peer port (ReqRedir-)");
	ck_status(r, "acs", "0000:02:01.0", D, HOMI_CHECK_WARN);
	homi_check_report_free(r);

	/* Request redirect off, completion redirect on: H passes, D and G warn. */
	pix_ports[1].acs.ctl = 0x19;
	r = report(ALL);
	homi_judge_acs(&h, &f, r);
	ck_status(r, "acs", "0000:02:00.0", H, HOMI_CHECK_PASS);
	ck_status(r, "acs", "0000:02:00.0", D, HOMI_CHECK_WARN);
	ck_status(r, "acs", "0000:02:00.0", G, HOMI_CHECK_WARN);
	ck_assert_int_eq(find(r, "acs", "0000:02:00.0", D)->modes, D | G);
	homi_check_report_free(r);

	/* Everything off on the VF's port too (no IOMMU): all direct. */
	pix_ports[0].acs.ctl = 0;
	pix_ports[1].acs.ctl = 0;
	h.iommu_units = 0;
	snprintf(f.group_type, sizeof(f.group_type), "unknown");
	snprintf(f.group_name, sizeof(f.group_name), "vfio-noiommu");
	r = report(ALL);
	homi_judge_acs(&h, &f, r);
	ck_assert_uint_eq(homi_check_count(r, HOMI_CHECK_PASS), r->n);
	ck_why(r, "acs", "0000:02:01.0", D, "routed straight to the peer port");
	homi_check_report_free(r);
}
END_TEST

START_TEST(acs_absent_unreadable_egress)
{
	struct homi_host_facts h = host_live();
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r;

	pix_ports[0].acs.state = HOMI_ACS_ABSENT;
	pix_ports[1].acs.state = HOMI_ACS_UNREADABLE;
	snprintf(pix_ports[1].acs.why, sizeof(pix_ports[1].acs.why), "only 64 bytes of its config space are readable");
	r = report(ALL);
	homi_judge_acs(&h, &f, r);
	ck_status(r, "acs", "0000:02:01.0", D, HOMI_CHECK_PASS);
	ck_why(r, "acs", "0000:02:01.0", D, "no ACS capability");
	ck_status(r, "acs", "0000:02:00.0", ALL, HOMI_CHECK_UNKNOWN);
	ck_why(r, "acs", "0000:02:00.0", H, "only 64 bytes");
	ck_fix(r, "acs", "0000:02:00.0", H, "root");
	ck_assert_uint_eq(homi_check_count(r, HOMI_CHECK_FAIL), 0);
	homi_check_report_free(r);

	/* P2P Egress Control on the GPU's port. */
	pix_ports[1] = port("0000:02:00.0", HOMI_PORT_DOWNSTREAM, false, true, 0x31);
	pix_ports[1].acs.cap = 0x7f;
	pix_ports[1].acs.egress = 0x2;
	r = report(ALL);
	homi_judge_acs(&h, &f, r);
	ck_status(r, "acs", "0000:02:00.0", H, HOMI_CHECK_WARN);
	ck_status(r, "acs", "0000:02:00.0", D, HOMI_CHECK_PASS); /* completions: no CmpltRedir */
	ck_why(r, "acs", "0000:02:00.0", H, "Egress Control is on");
	homi_check_report_free(r);
}
END_TEST

START_TEST(acs_through_root_complex)
{
	struct homi_host_facts h = host_live();
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(ALL);

	f.link = HOMI_AFF_PHB;
	f.common[0] = '\0';
	homi_judge_acs(&h, &f, r);
	ck_assert_int_eq(r->n, 1);
	ck_status(r, "acs", "0000:04:00.1 <-> 0000:03:00.0", ALL, HOMI_CHECK_PASS);
	ck_why(r, "acs", NULL, H, "no PCIe switch is common");
	homi_check_report_free(r);

	f.gpu[0] = '\0';
	r = report(ALL);
	homi_judge_acs(&h, &f, r);
	ck_status(r, "acs", NULL, ALL, HOMI_CHECK_UNKNOWN);
	homi_check_report_free(r);
}
END_TEST

/* ---- iommu-mode ----------------------------------------------------------- */

START_TEST(iommu_mode)
{
	struct homi_host_facts h = host_live();
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(ALL);

	/* On: vfio maps host memory (H); GPU-memory bus addresses are no use. */
	homi_judge_iommu_mode(&h, &f, r);
	ck_status(r, "iommu-mode", "0000:04:00.1", H, HOMI_CHECK_PASS);
	ck_status(r, "iommu-mode", "0000:04:00.1", D, HOMI_CHECK_FAIL);
	ck_assert_int_eq(find(r, "iommu-mode", NULL, D)->modes, D | G);
	ck_why(r, "iommu-mode", NULL, H, "intel_iommu=on iommu=pt");
	ck_why(r, "iommu-mode", NULL, D, "iommu=pt does not change that");
	ck_fix(r, "iommu-mode", NULL, D, "enable_unsafe_noiommu_mode=1");
	homi_check_report_free(r);

	/* Pass-through default domain: vfio still translates. */
	snprintf(f.group_type, sizeof(f.group_type), "identity");
	r = report(ALL);
	homi_judge_iommu_mode(&h, &f, r);
	ck_status(r, "iommu-mode", NULL, H, HOMI_CHECK_PASS);
	ck_why(r, "iommu-mode", NULL, H, "identity");
	ck_status(r, "iommu-mode", NULL, D, HOMI_CHECK_FAIL);
	homi_check_report_free(r);

	/* Off, the VF in vfio's no-IOMMU group: works, unsafely. */
	h.iommu_units = 0;
	snprintf(f.group_type, sizeof(f.group_type), "unknown");
	snprintf(f.group_name, sizeof(f.group_name), "vfio-noiommu");
	r = report(ALL);
	homi_judge_iommu_mode(&h, &f, r);
	ck_status(r, "iommu-mode", NULL, H, HOMI_CHECK_WARN);
	ck_why(r, "iommu-mode", NULL, H, "CAP_SYS_RAWIO");
	ck_status(r, "iommu-mode", NULL, D, HOMI_CHECK_PASS);
	ck_status(r, "iommu-mode", NULL, G, HOMI_CHECK_PASS);
	homi_check_report_free(r);

	/* Off, not yet bound, no-IOMMU mode off: vfio-pci cannot take it. */
	f.group = -1;
	f.group_type[0] = f.group_name[0] = '\0';
	h.noiommu = 0;
	r = report(ALL);
	homi_judge_iommu_mode(&h, &f, r);
	ck_status(r, "iommu-mode", NULL, H, HOMI_CHECK_FAIL);
	homi_check_report_free(r);

	/* Off on a capture: the no-IOMMU setting is not in it. */
	h.noiommu = -1;
	h.live = h.cmdline_known = false;
	r = report(ALL);
	homi_judge_iommu_mode(&h, &f, r);
	ck_status(r, "iommu-mode", NULL, H, HOMI_CHECK_UNKNOWN);
	ck_why(r, "iommu-mode", NULL, H, "not in a capture");
	homi_check_report_free(r);
}
END_TEST

/* ---- iommu-group ---------------------------------------------------------- */

static struct homi_member member(const char *pci, const char *driver, enum homi_kind kind)
{
	struct homi_member m = { .kind = kind };
	snprintf(m.pci, sizeof(m.pci), "%s", pci);
	snprintf(m.driver, sizeof(m.driver), "%s", driver);
	return m;
}

START_TEST(iommu_group)
{
	struct homi_host_facts h = host_live();
	struct homi_pair_facts f = pair_pix();
	struct homi_member m[3];
	struct homi_check_report *r = report(ALL);

	homi_judge_iommu_group(&h, &f, r);
	ck_status(r, "iommu-group", "0000:04:00.1", ALL, HOMI_CHECK_PASS);
	ck_why(r, "iommu-group", NULL, H, "group 35 holds 0000:04:00.1 alone");
	homi_check_report_free(r);

	/* Behind a switch port without ACS: the VF shares the PF's group. */
	pix_ports[0].acs.state = HOMI_ACS_ABSENT;
	m[0] = member("0000:02:01.0", "pcieport", HOMI_KIND_BRIDGE);
	m[1] = member("0000:04:00.0", "nvme", HOMI_KIND_NVME_PF);
	m[2] = member("0000:04:00.2", "", HOMI_KIND_NVME_VF);
	f.members = m;
	f.n_members = 3;
	r = report(ALL);
	homi_judge_iommu_group(&h, &f, r);
	ck_status(r, "iommu-group", NULL, ALL, HOMI_CHECK_FAIL);
	ck_why(r, "iommu-group", NULL, H, "its PF, on nvme");
	ck_why(r, "iommu-group", NULL, H, "0000:02:01.0 has no ACS capability");
	ck_fix(r, "iommu-group", NULL, H, "no setting separates");
	homi_check_report_free(r);

	/* ACS there but redirect off: the fix turns it on, and says when it
	 * takes effect. */
	pix_ports[0].acs.state = HOMI_ACS_READ;
	pix_ports[0].acs.ctl = 0x11;
	r = report(ALL);
	homi_judge_iommu_group(&h, &f, r);
	ck_status(r, "iommu-group", NULL, ALL, HOMI_CHECK_FAIL);
	ck_why(r, "iommu-group", NULL, H, "ReqRedir-");
	ck_fix(r, "iommu-group", NULL, H, "setpci -s 0000:02:01.0 ECAP_ACS+6.w=0x001d");
	ck_fix(r, "iommu-group", NULL, H, "reboot");
	homi_check_report_free(r);

	/* Another device on another driver: not viable. */
	m[0] = member("0000:05:00.0", "ixgbe", HOMI_KIND_OTHER);
	f.n_members = 1;
	r = report(ALL);
	homi_judge_iommu_group(&h, &f, r);
	ck_status(r, "iommu-group", NULL, ALL, HOMI_CHECK_FAIL);
	ck_why(r, "iommu-group", NULL, H, "not viable");
	homi_check_report_free(r);

	/* A sibling VF, unbound: viable, not alone. */
	m[0] = member("0000:04:00.2", "", HOMI_KIND_NVME_VF);
	r = report(ALL);
	homi_judge_iommu_group(&h, &f, r);
	ck_status(r, "iommu-group", NULL, ALL, HOMI_CHECK_WARN);
	ck_why(r, "iommu-group", NULL, H, "not alone");
	homi_check_report_free(r);

	/* Not enabled; or no group while the IOMMU is on. */
	f.n_members = 0;
	f.vf[0] = '\0';
	r = report(ALL);
	homi_judge_iommu_group(&h, &f, r);
	ck_status(r, "iommu-group", NULL, ALL, HOMI_CHECK_UNKNOWN);
	homi_check_report_free(r);
	snprintf(f.vf, sizeof(f.vf), "0000:04:00.1");
	f.group = -1;
	f.group_type[0] = '\0';
	r = report(ALL);
	homi_judge_iommu_group(&h, &f, r);
	ck_status(r, "iommu-group", NULL, ALL, HOMI_CHECK_FAIL);
	homi_check_report_free(r);

	/* vfio's no-IOMMU group. */
	h.iommu_units = 0;
	f.group = 0;
	snprintf(f.group_type, sizeof(f.group_type), "unknown");
	snprintf(f.group_name, sizeof(f.group_name), "vfio-noiommu");
	r = report(ALL);
	homi_judge_iommu_group(&h, &f, r);
	ck_status(r, "iommu-group", NULL, ALL, HOMI_CHECK_PASS);
	ck_why(r, "iommu-group", NULL, H, "no-IOMMU group");
	homi_check_report_free(r);
}
END_TEST

/* ---- the VF --------------------------------------------------------------- */

START_TEST(vf_driver)
{
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(ALL);

	homi_judge_vf_driver(&f, r);
	ck_status(r, "vf-driver", "0000:04:00.1", ALL, HOMI_CHECK_PASS);
	homi_check_report_free(r);

	snprintf(f.vf_driver, sizeof(f.vf_driver), "nvme");
	r = report(ALL);
	homi_judge_vf_driver(&f, r);
	ck_status(r, "vf-driver", NULL, ALL, HOMI_CHECK_FAIL);
	ck_why(r, "vf-driver", NULL, H, "bound to nvme");
	ck_fix(r, "vf-driver", NULL, H, "homictl --direct apply binds it");
	homi_check_report_free(r);

	/* The policy itself gives it another driver. */
	snprintf(f.want_driver, sizeof(f.want_driver), "nvme");
	r = report(ALL);
	homi_judge_vf_driver(&f, r);
	ck_fix(r, "vf-driver", NULL, H, "p.json: $.devices[0].vfs[0] gives it driver nvme");
	homi_check_report_free(r);

	/* Not enabled. */
	snprintf(f.want_driver, sizeof(f.want_driver), "vfio-pci");
	f.vf[0] = '\0';
	f.pf_num_vfs = 0;
	snprintf(f.label, sizeof(f.label), "VF1 of 0000:04:00.0");
	r = report(ALL);
	homi_judge_vf_driver(&f, r);
	ck_status(r, "vf-driver", "VF1 of 0000:04:00.0", ALL, HOMI_CHECK_FAIL);
	ck_why(r, "vf-driver", NULL, H, "not enabled (sriov_numvfs is 0)");
	ck_fix(r, "vf-driver", NULL, H, "enables and binds");
	homi_check_report_free(r);
}
END_TEST

START_TEST(vf_online)
{
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(ALL);

	homi_judge_vf_online(&f, r);
	ck_status(r, "vf-online", NULL, ALL, HOMI_CHECK_PASS);
	ck_why(r, "vf-online", NULL, H, "online with 2 VQ and 1 VI");
	homi_check_report_free(r);

	f.nvq = 1; /* admin queue only */
	r = report(ALL);
	homi_judge_vf_online(&f, r);
	ck_status(r, "vf-online", NULL, ALL, HOMI_CHECK_FAIL);
	ck_fix(r, "vf-online", NULL, H, "at least 2 VQ");
	homi_check_report_free(r);

	f.nvq = 2;
	f.nvi = 0;
	r = report(ALL);
	homi_judge_vf_online(&f, r);
	ck_status(r, "vf-online", NULL, ALL, HOMI_CHECK_FAIL);
	homi_check_report_free(r);

	f.online = false;
	f.nvq = f.nvi = 0;
	r = report(ALL);
	homi_judge_vf_online(&f, r);
	ck_status(r, "vf-online", NULL, ALL, HOMI_CHECK_FAIL);
	ck_why(r, "vf-online", NULL, H, "offline");
	homi_check_report_free(r);

	f.sec_found = false;
	r = report(ALL);
	homi_judge_vf_online(&f, r);
	ck_status(r, "vf-online", NULL, ALL, HOMI_CHECK_FAIL);
	homi_check_report_free(r);

	/* A capture: unknown with the reason, never a failure. */
	f.sec_known = false;
	snprintf(f.sec_why, sizeof(f.sec_why), "a captured tree holds no NVMe admin data");
	r = report(ALL);
	homi_judge_vf_online(&f, r);
	ck_status(r, "vf-online", NULL, ALL, HOMI_CHECK_UNKNOWN);
	ck_why(r, "vf-online", NULL, H, "no NVMe admin data");
	homi_check_report_free(r);
}
END_TEST

START_TEST(vfio_owner)
{
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(ALL);

	/* The policy sets nothing: the node as udev leaves it passes. */
	homi_judge_vfio_owner(&f, r);
	ck_status(r, "vfio-owner", NULL, ALL, HOMI_CHECK_PASS);
	ck_why(r, "vfio-owner", NULL, H, "/dev/vfio/35 is 0:0 mode 0600");
	homi_check_report_free(r);

	snprintf(f.want_owner, sizeof(f.want_owner), "user");
	snprintf(f.want_group, sizeof(f.want_group), "homi-admin");
	f.want_mode = 0660;
	f.want_uid = 1000;
	f.want_gid = 1001;
	r = report(ALL);
	homi_judge_vfio_owner(&f, r);
	ck_status(r, "vfio-owner", NULL, ALL, HOMI_CHECK_FAIL);
	ck_why(r, "vfio-owner", NULL, H, "wants owner user, group homi-admin, mode 0660");
	ck_fix(r, "vfio-owner", NULL, H, "homictl --direct apply");
	homi_check_report_free(r);

	f.uid = 1000;
	f.gid = 1001;
	f.mode = 0660;
	r = report(ALL);
	homi_judge_vfio_owner(&f, r);
	ck_status(r, "vfio-owner", NULL, ALL, HOMI_CHECK_PASS);
	homi_check_report_free(r);

	f.want_ids_known = false;
	snprintf(f.want_ids_why, sizeof(f.want_ids_why), "the policy's owner 'user' is not a user here");
	r = report(ALL);
	homi_judge_vfio_owner(&f, r);
	ck_status(r, "vfio-owner", NULL, ALL, HOMI_CHECK_UNKNOWN);
	homi_check_report_free(r);

	f.node_known = false;
	snprintf(f.node_why, sizeof(f.node_why), "a captured tree has no /dev");
	r = report(ALL);
	homi_judge_vfio_owner(&f, r);
	ck_status(r, "vfio-owner", NULL, ALL, HOMI_CHECK_UNKNOWN);
	homi_check_report_free(r);

	/* On vfio-pci, yet no node. */
	f.node_known = true;
	f.mode = -1;
	r = report(ALL);
	homi_judge_vfio_owner(&f, r);
	ck_status(r, "vfio-owner", NULL, ALL, HOMI_CHECK_FAIL);
	homi_check_report_free(r);
}
END_TEST

/* ---- the GPU and its pairing ----------------------------------------------- */

START_TEST(pairing)
{
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(ALL);

	homi_judge_pairing(&f, r);
	ck_status(r, "gpu", "0000:04:00.1", ALL, HOMI_CHECK_PASS);
	ck_why(r, "gpu", NULL, H, "nearest");
	homi_check_report_free(r);

	/* Named and absent. */
	f.pairing = HOMI_PAIR_NAMED;
	snprintf(f.named_gpu, sizeof(f.named_gpu), "0000:99:00.0");
	f.gpu[0] = '\0';
	r = report(ALL);
	homi_judge_pairing(&f, r);
	ck_status(r, "gpu", NULL, ALL, HOMI_CHECK_FAIL);
	ck_why(r, "gpu", NULL, H, "0000:99:00.0, which is not a GPU of this machine");
	ck_fix(r, "gpu", NULL, H, "0000:03:00.0");
	homi_check_report_free(r);

	/* "nearest" on a machine without GPU fails; no "gpu" key is unknown. */
	f.pairing = HOMI_PAIR_NEAREST;
	f.machine_has_gpu = false;
	f.best_gpu[0] = '\0';
	r = report(ALL);
	homi_judge_pairing(&f, r);
	ck_status(r, "gpu", NULL, ALL, HOMI_CHECK_FAIL);
	homi_check_report_free(r);
	f.pairing = HOMI_PAIR_UNSET;
	r = report(ALL);
	homi_judge_pairing(&f, r);
	ck_status(r, "gpu", NULL, ALL, HOMI_CHECK_UNKNOWN);
	ck_why(r, "gpu", NULL, H, "this machine has no GPU");
	homi_check_report_free(r);
	f.pairing = HOMI_PAIR_NONE;
	r = report(ALL);
	homi_judge_pairing(&f, r);
	ck_status(r, "gpu", NULL, ALL, HOMI_CHECK_UNKNOWN);
	ck_why(r, "gpu", NULL, H, "\"gpu\": \"none\"");
	homi_check_report_free(r);

	/* Not NVIDIA, or not on the nvidia driver. */
	f = pair_pix();
	f.gpu_vendor = 0x1002;
	r = report(ALL);
	homi_judge_pairing(&f, r);
	ck_status(r, "gpu", NULL, ALL, HOMI_CHECK_WARN);
	homi_check_report_free(r);
	f.gpu_vendor = 0x10de;
	f.gpu_driver[0] = '\0';
	r = report(ALL);
	homi_judge_pairing(&f, r);
	ck_status(r, "gpu", NULL, ALL, HOMI_CHECK_WARN);
	ck_why(r, "gpu", NULL, H, "no driver");
	homi_check_report_free(r);
}
END_TEST

START_TEST(gpu_bar1)
{
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(ALL);

	/* 256 GiB without the memory size: unknown, with the size. */
	snprintf(f.mem_why, sizeof(f.mem_why), "NVIDIA's management library cannot be loaded");
	homi_judge_gpu_bar1(&f, r);
	ck_assert_ptr_null(find(r, "gpu-bar1", NULL, H)); /* mode H needs no BAR1 */
	ck_status(r, "gpu-bar1", "0000:03:00.0", D | G, HOMI_CHECK_UNKNOWN);
	ck_assert_int_eq(r->v[0].modes, D | G);
	ck_why(r, "gpu-bar1", NULL, D, "region 1");
	ck_why(r, "gpu-bar1", NULL, D, "256 GiB");
	ck_why(r, "gpu-bar1", NULL, D, "cannot be loaded");
	homi_check_report_free(r);

	f.mem_known = true;
	f.mem_total = 143771ULL << 20; /* H200 */
	f.nvml_bar1 = 256ULL << 30;
	r = report(ALL);
	homi_judge_gpu_bar1(&f, r);
	ck_status(r, "gpu-bar1", NULL, D, HOMI_CHECK_PASS);
	ck_why(r, "gpu-bar1", NULL, D, "covers the GPU's 143771 MiB");
	homi_check_report_free(r);

	f.bar_size = 64ULL << 30;
	r = report(ALL);
	homi_judge_gpu_bar1(&f, r);
	ck_status(r, "gpu-bar1", NULL, D, HOMI_CHECK_FAIL);
	homi_check_report_free(r);

	/* The BAR decodes it all, but NVML's BAR1 is smaller. */
	f.bar_size = 256ULL << 30;
	f.nvml_bar1 = 32ULL << 30;
	r = report(ALL);
	homi_judge_gpu_bar1(&f, r);
	ck_status(r, "gpu-bar1", NULL, D, HOMI_CHECK_FAIL);
	ck_why(r, "gpu-bar1", NULL, D, "BAR1 total 32 GiB");
	homi_check_report_free(r);
	f.nvml_bar1 = 256ULL << 30;

	/* The legacy window fails even without the memory size. */
	f.mem_known = false;
	f.bar_size = 256ULL << 20;
	r = report(ALL);
	homi_judge_gpu_bar1(&f, r);
	ck_status(r, "gpu-bar1", NULL, D, HOMI_CHECK_FAIL);
	ck_fix(r, "gpu-bar1", NULL, D, "Resizable BAR");
	homi_check_report_free(r);

	/* Unassigned. */
	f.bar_size = 256ULL << 30;
	f.bar_start = 0;
	r = report(ALL);
	homi_judge_gpu_bar1(&f, r);
	ck_status(r, "gpu-bar1", NULL, D, HOMI_CHECK_FAIL);
	ck_why(r, "gpu-bar1", NULL, D, "no address assigned");
	homi_check_report_free(r);

	f.bar_known = false;
	snprintf(f.bar_why, sizeof(f.bar_why), "0000:03:00.0/resource cannot be read");
	r = report(ALL);
	homi_judge_gpu_bar1(&f, r);
	ck_status(r, "gpu-bar1", NULL, D, HOMI_CHECK_UNKNOWN);
	homi_check_report_free(r);
}
END_TEST

/* ---- the host ------------------------------------------------------------- */

START_TEST(modules_and_importer)
{
	struct homi_host_facts h = host_live();
	struct homi_check_report *r = report(ALL);

	homi_judge_modules(&h, r);
	homi_judge_importer(&h, r);
	ck_status(r, "modules", "host", ALL, HOMI_CHECK_PASS);
	ck_why(r, "modules", NULL, H, "vfio_iommu_type1 loaded");
	ck_assert_ptr_null(find(r, "dmabuf-importer", NULL, H));
	ck_status(r, "dmabuf-importer", NULL, D | G, HOMI_CHECK_FAIL);
	ck_fix(r, "dmabuf-importer", NULL, D, "dmabuf_import");
	homi_check_report_free(r);

	h.importer = HOMI_IMPORTER_NO_IOCTL; /* a node that does not implement the ioctls */
	h.type1 = 0;
	r = report(ALL);
	homi_judge_modules(&h, r);
	homi_judge_importer(&h, r);
	ck_status(r, "modules", NULL, ALL, HOMI_CHECK_FAIL);
	ck_fix(r, "modules", NULL, H, "modprobe vfio_iommu_type1");
	ck_status(r, "dmabuf-importer", NULL, D, HOMI_CHECK_FAIL);
	homi_check_report_free(r);

	h.importer = HOMI_IMPORTER_OK;
	h.vfio_pci = false;
	r = report(ALL);
	homi_judge_modules(&h, r);
	homi_judge_importer(&h, r);
	ck_status(r, "modules", NULL, ALL, HOMI_CHECK_FAIL);
	ck_fix(r, "modules", NULL, H, "modprobe vfio-pci");
	ck_status(r, "dmabuf-importer", NULL, D, HOMI_CHECK_PASS);
	homi_check_report_free(r);

	/* No IOMMU: the no-IOMMU mode stands in for a back-end. */
	h.vfio_pci = true;
	h.iommu_units = 0;
	h.noiommu = 1;
	r = report(ALL);
	homi_judge_modules(&h, r);
	ck_status(r, "modules", NULL, ALL, HOMI_CHECK_PASS);
	homi_check_report_free(r);
	h.noiommu = 0;
	r = report(ALL);
	homi_judge_modules(&h, r);
	ck_status(r, "modules", NULL, ALL, HOMI_CHECK_FAIL);
	homi_check_report_free(r);

	/* A capture: unknown. */
	h.live = false;
	h.importer = HOMI_IMPORTER_UNKNOWN;
	r = report(ALL);
	homi_judge_modules(&h, r);
	homi_judge_importer(&h, r);
	ck_status(r, "modules", NULL, ALL, HOMI_CHECK_UNKNOWN);
	ck_status(r, "dmabuf-importer", NULL, D, HOMI_CHECK_UNKNOWN);
	homi_check_report_free(r);
}
END_TEST

START_TEST(modes)
{
	struct homi_host_facts h = host_live();
	struct homi_pair_facts f = pair_pix();
	struct homi_check_report *r = report(H);
	unsigned m;
	char buf[8];

	/* Only mode H: the D/G verdicts are left out, the shared ones cut. */
	homi_judge_pair(&h, &f, r);
	homi_judge_importer(&h, r);
	ck_assert_ptr_null(find(r, "gpu-bar1", NULL, ALL));
	ck_assert_ptr_null(find(r, "dmabuf-importer", NULL, ALL));
	for (size_t i = 0; i < r->n; i++)
		ck_assert_uint_eq(r->v[i].modes, H);
	ck_assert_uint_eq(homi_check_count(r, HOMI_CHECK_FAIL), 0);
	homi_check_report_free(r);

	ck_assert_int_eq(homi_check_modes_parse("H,D", &m), 0);
	ck_assert_uint_eq(m, H | D);
	ck_assert_int_eq(homi_check_modes_parse("g", &m), 0);
	ck_assert_uint_eq(m, G);
	ck_assert_int_eq(homi_check_modes_parse("all", &m), 0);
	ck_assert_uint_eq(m, ALL);
	ck_assert_int_eq(homi_check_modes_parse("HX", &m), -EINVAL);
	ck_assert_int_eq(homi_check_modes_parse("", &m), -EINVAL);
	ck_assert_str_eq(homi_check_modes_str(ALL, buf, sizeof(buf)), "H D G");
	ck_assert_str_eq(homi_check_modes_str(D | G, buf, sizeof(buf)), "D G");
}
END_TEST

/* ---- facts from trees ----------------------------------------------------- */

struct tree {
	struct homi_sysfs *s;
	struct homi_pci *pci;
	struct homi_topology *t;
	char dir[PATH_MAX];
};

static void tree_open(struct tree *tr, const char *fixture)
{
	const char *root = fixture_unpack(fixture);
	char tmp[PATH_MAX];

	memset(tr, 0, sizeof(*tr));
	snprintf(tmp, sizeof(tmp), "%s", root);
	snprintf(tr->dir, sizeof(tr->dir), "%s", dirname(tmp));
	ck_assert_int_eq(homi_sysfs_open(root, &tr->s), 0);
	ck_assert_int_eq(homi_pci_open(root, &tr->pci), 0);
	ck_assert_int_eq(homi_topology_load(tr->s, tr->pci, &tr->t), 0);
}

static void tree_close(struct tree *tr)
{
	char cmd[PATH_MAX + 16];

	homi_topology_free(tr->t);
	homi_pci_free(tr->pci);
	homi_sysfs_free(tr->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tr->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const struct homi_port *port_of(const struct homi_pair_facts *f, const char *pci)
{
	for (size_t i = 0; i < f->n_ports; i++)
		if (streq(f->ports[i].pci, pci))
			return &f->ports[i];
	ck_abort_msg("%s is not on the path", pci);
	return NULL;
}

/* The synthetic server: ACS read through libpci from the config spaces. */
START_TEST(facts_synth_gpu_server)
{
	struct tree tr;
	struct homi_pair_facts f;
	struct homi_check_want w = { .pf = "0000:04:00.0", .vfn = 1 };

	tree_open(&tr, "synth-gpu-server");
	struct homi_check_env env = { .sysfs = tr.s, .pci = tr.pci, .t = tr.t };
	ck_assert_int_eq(homi_check_gather_pair(&env, &w, &f), 0);
	ck_assert_str_eq(f.vf, "0000:04:00.1");
	ck_assert_int_eq(f.pairing, HOMI_PAIR_NO_POLICY);
	ck_assert_str_eq(f.gpu, "0000:03:00.0"); /* the nearest */
	ck_assert_int_eq(f.link, HOMI_AFF_PIX);
	ck_assert_str_eq(f.common, "0000:01:00.0");
	ck_assert_str_eq(f.vf_driver, "vfio-pci");
	ck_assert_int_eq(f.group, 35);
	ck_assert_str_eq(f.group_type, "DMA");
	ck_assert_int_eq(f.n_members, 0);
	/* VF side, GPU side, then the shared part up to the root port. */
	ck_assert_int_eq(f.n_ports, 4);
	ck_assert_str_eq(f.ports[0].pci, "0000:02:01.0");
	ck_assert(f.ports[0].above_vf && !f.ports[0].above_gpu);
	ck_assert_str_eq(f.ports[1].pci, "0000:02:00.0");
	ck_assert(!f.ports[1].above_vf && f.ports[1].above_gpu);
	ck_assert_str_eq(f.ports[2].pci, "0000:01:00.0");
	ck_assert_str_eq(f.ports[3].pci, "0000:00:01.0");
	const struct homi_port *p = port_of(&f, "0000:02:01.0");
	ck_assert_int_eq(p->port_type, HOMI_PORT_DOWNSTREAM);
	ck_assert_int_eq(p->acs.state, HOMI_ACS_READ);
	ck_assert_uint_eq(p->acs.cap, 0x5f);
	ck_assert_uint_eq(p->acs.ctl, 0x1d);
	ck_assert_int_eq(port_of(&f, "0000:01:00.0")->acs.state, HOMI_ACS_ABSENT); /* upstream port */
	ck_assert_int_eq(port_of(&f, "0000:00:01.0")->port_type, HOMI_PORT_ROOT);
	/* GPU: BAR1 is resource line 1 here. */
	ck_assert(f.bar_known);
	ck_assert_int_eq(f.bar, 1);
	ck_assert_uint_eq(f.bar_size, 256ULL << 30);
	ck_assert(!f.mem_known); /* a capture cannot ask NVML */
	/* A capture has no NVMe admin data and no /dev. */
	ck_assert(!f.sec_known);
	ck_assert(!f.node_known);
	ck_assert_str_eq(f.ctrl, "nvme0");
	homi_pair_facts_clear(&f);

	/* SW4: redirect off (0x11) on both ports; each port shares a group with
	 * its endpoint. No VF is enabled: the PF's position is used. */
	struct homi_check_want w4 = { .pf = "0000:c4:00.0", .vfn = 1 };
	ck_assert_int_eq(homi_check_gather_pair(&env, &w4, &f), 0);
	ck_assert_str_eq(f.vf, "");
	ck_assert_str_eq(f.label, "VF1 of 0000:c4:00.0");
	ck_assert_str_eq(f.gpu, "0000:c3:00.0");
	ck_assert_int_eq(f.link, HOMI_AFF_PIX);
	ck_assert_uint_eq(port_of(&f, "0000:c2:01.0")->acs.ctl, 0x11);
	ck_assert_uint_eq(port_of(&f, "0000:c2:00.0")->acs.ctl, 0x11);
	homi_pair_facts_clear(&f);

	/* Host facts of a capture. */
	struct homi_host_facts h;
	homi_check_gather_host(&env, &h);
	ck_assert(!h.live);
	ck_assert_int_eq(h.iommu_units, 4);
	ck_assert_str_eq(h.iommu_names, "ivhd0 ivhd1 ivhd2 ivhd3");
	ck_assert(h.vfio_pci);
	ck_assert_int_eq(h.type1, -1);
	ck_assert(!h.cmdline_known);
	ck_assert_int_eq(h.importer, HOMI_IMPORTER_UNKNOWN);
	tree_close(&tr);
}
END_TEST

/* QEMU behind an XIO3130 switch without ACS: the VF shares its group with
 * the downstream port and its PF. */
START_TEST(facts_qemu_switch)
{
	struct tree tr;
	struct homi_pair_facts f;
	struct homi_check_want w = { .pf = "0000:03:00.0", .vfn = 1 };
	struct homi_host_facts h;

	tree_open(&tr, "qemu-switch");
	struct homi_check_env env = { .sysfs = tr.s, .pci = tr.pci, .t = tr.t };
	ck_assert_int_eq(homi_check_gather_pair(&env, &w, &f), 0);
	ck_assert_str_eq(f.vf, "0000:03:00.1");
	ck_assert_str_eq(f.gpu, "");
	ck_assert(!f.machine_has_gpu);
	ck_assert_int_eq(f.group, 5);
	ck_assert_str_eq(f.group_type, "identity");
	ck_assert_int_eq(f.n_members, 3);
	ck_assert_str_eq(f.members[0].pci, "0000:02:00.0");
	ck_assert_int_eq(f.members[0].kind, HOMI_KIND_BRIDGE);
	ck_assert_str_eq(f.members[1].pci, "0000:03:00.0");
	ck_assert_str_eq(f.members[1].driver, "nvme");
	ck_assert_str_eq(f.members[2].pci, "0000:03:00.2");
	ck_assert_str_eq(f.members[2].driver, "");
	ck_assert_int_eq(port_of(&f, "0000:02:00.0")->acs.state, HOMI_ACS_ABSENT);
	ck_assert_int_eq(port_of(&f, "0000:00:01.0")->acs.state, HOMI_ACS_READ);

	homi_check_gather_host(&env, &h);
	struct homi_check_report *r = report(ALL);
	homi_judge_pair(&h, &f, r);
	ck_status(r, "iommu-group", NULL, ALL, HOMI_CHECK_FAIL);
	ck_why(r, "iommu-group", NULL, H, "0000:02:00.0 has no ACS capability");
	ck_status(r, "gpu", NULL, ALL, HOMI_CHECK_UNKNOWN);
	ck_status(r, "affinity", NULL, ALL, HOMI_CHECK_UNKNOWN);
	ck_status(r, "vf-driver", NULL, ALL, HOMI_CHECK_PASS);
	ck_status(r, "vf-online", NULL, ALL, HOMI_CHECK_UNKNOWN);
	homi_check_report_free(r);
	homi_pair_facts_clear(&f);
	tree_close(&tr);
}
END_TEST

START_TEST(facts_noiommu_and_h200)
{
	struct tree tr;
	struct homi_pair_facts f;
	struct homi_check_want w = { .pf = "0000:04:00.0", .vfn = 1 };

	tree_open(&tr, "synth-noiommu");
	struct homi_check_env env = { .sysfs = tr.s, .pci = tr.pci, .t = tr.t };
	ck_assert_int_eq(homi_check_gather_pair(&env, &w, &f), 0);
	ck_assert_int_eq(f.group, 0);
	ck_assert_str_eq(f.group_type, "unknown");
	ck_assert_str_eq(f.group_name, "vfio-noiommu");
	ck_assert_int_eq(f.gpu_group, -1);
	ck_assert_uint_eq(port_of(&f, "0000:02:01.0")->acs.ctl, 0);
	struct homi_host_facts h;
	homi_check_gather_host(&env, &h);
	ck_assert_int_eq(h.iommu_units, 0);
	ck_assert_int_eq(homi_iommu_on(&h, &f), 0);
	homi_pair_facts_clear(&f);
	tree_close(&tr);

	/* The H200 microVM: the frame buffer is region 2 there. */
	tree_open(&tr, "gpu-h200-vm");
	env = (struct homi_check_env){ .sysfs = tr.s, .pci = tr.pci, .t = tr.t };
	homi_check_gather_gpu(&env, "0000:00:06.0", &f);
	ck_assert(f.bar_known);
	ck_assert_int_eq(f.bar, 2);
	ck_assert_uint_eq(f.bar_size, 256ULL << 30);
	ck_assert_uint_eq(f.bar_start, 0x100000000000ULL);
	ck_assert_int_eq(f.gpu_group, -1);
	homi_pair_facts_clear(&f);
	tree_close(&tr);
}
END_TEST

/* An unprivileged reader sees 64 bytes of config space: ACS is unknown,
 * not absent. */
START_TEST(facts_short_config)
{
	struct tree tr;
	struct homi_acs acs;
	char path[PATH_MAX + 64];

	tree_open(&tr, "synth-gpu-server");
	homi_acs_read(tr.s, tr.pci, "0000:02:01.0", &acs);
	ck_assert_int_eq(acs.state, HOMI_ACS_READ);
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/0000:02:01.0/config", tr.dir);
	ck_assert_int_eq(truncate(path, 64), 0);
	homi_acs_read(tr.s, tr.pci, "0000:02:01.0", &acs);
	ck_assert_int_eq(acs.state, HOMI_ACS_UNREADABLE);
	ck_assert_msg(strstr(acs.why, "only 64 bytes"), "%s", acs.why);
	/* Without libpci. */
	homi_acs_read(tr.s, NULL, "0000:02:00.0", &acs);
	ck_assert_int_eq(acs.state, HOMI_ACS_UNREADABLE);
	char d[160];
	homi_acs_describe(0x5f, 0x1d, d, sizeof(d));
	ck_assert_str_eq(d, "SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-");
	tree_close(&tr);
}
END_TEST

/* NVML through dlopen, against the stand-in library (tests/unit/fake-nvml.c)
 * whose numbers are those NVML gave on the lent H200. */
START_TEST(nvml_probe)
{
	uint64_t mem = 0, bar1 = 0;
	char why[200] = "";

	ck_assert(homi_probe_nvml_lib(FAKE_NVML, "0000:00:06.0", &mem, &bar1, why, sizeof(why)));
	ck_assert_uint_eq(mem, 143771ULL << 20);
	ck_assert_uint_eq(bar1, 256ULL << 30);
	ck_assert(!homi_probe_nvml_lib(FAKE_NVML, "0000:00:07.0", &mem, &bar1, why, sizeof(why)));
	ck_assert_str_eq(why, "NVML does not know 0000:00:07.0: Not Found");
	ck_assert(!homi_probe_nvml_lib("/nonexistent/libnvidia-ml.so.1", "0000:00:06.0", &mem, &bar1, why,
				       sizeof(why)));
	ck_assert_msg(strstr(why, "NVIDIA's management library cannot be loaded"), "%s", why);
}
END_TEST

/* ---- homi_check_run ------------------------------------------------------- */

static struct homi_desired *desired(const struct homi_topology *t, const char *json)
{
	struct homi_policy *p = homi_policy_new();
	struct homi_desired *d = NULL;
	char *err = NULL;

	ck_assert_int_eq(homi_policy_add_buffer(p, "p.json", json, strlen(json), &err), 0);
	ck_assert_msg(homi_policy_resolve(p, t, &d, &err) == 0, "%s", err ? err : "?");
	homi_policy_free(p);
	return d;
}

START_TEST(run_selects_pairs)
{
	struct tree tr;
	struct homi_check_report *r = NULL;
	char *err = NULL;

	tree_open(&tr, "synth-gpu-server");
	struct homi_check_env env = { .sysfs = tr.s, .pci = tr.pci, .t = tr.t };
	struct homi_desired *d = desired(
		tr.t, "{\"homi-policy\": 1, \"devices\": ["
		      "{\"match\": {\"pci\": \"0000:04:00.0\"}, \"vfs\": ["
		      "{\"vf\": 1, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, \"gpu\": \"nearest\"},"
		      "{\"vf\": 2, \"driver\": \"nvme\", \"vq\": 2, \"vi\": 1}]},"
		      "{\"match\": {\"pci\": \"0000:44:00.0\"}, \"vfs\": ["
		      "{\"vf\": 1, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, \"gpu\": \"0000:03:00.0\"}]}]}");

	/* Every VF delegated to vfio-pci (not VF2, on nvme), host checks first. */
	ck_assert_int_eq(homi_check_run(&env, d, NULL, &r, &err), 0);
	ck_assert_str_eq(r->v[0].check, "modules");
	ck_assert_str_eq(r->v[1].check, "dmabuf-importer");
	ck_assert_uint_eq(count_check(r, "gpu"), 2);
	ck_assert_ptr_nonnull(find(r, "gpu", "0000:04:00.1", ALL));
	ck_assert_ptr_nonnull(find(r, "gpu", "VF1 of 0000:44:00.0", ALL));
	ck_assert_ptr_null(find(r, "gpu", "0000:04:00.2", ALL));
	/* A capture never FAILs for what it cannot show; these FAILs are real. */
	ck_status(r, "affinity", "VF1 of 0000:44:00.0 <-> 0000:03:00.0", D, HOMI_CHECK_FAIL);
	ck_status(r, "vf-driver", "VF1 of 0000:44:00.0", H, HOMI_CHECK_FAIL);
	ck_status(r, "acs", "0000:02:00.0", H, HOMI_CHECK_WARN);
	ck_status(r, "vf-online", "0000:04:00.1", H, HOMI_CHECK_UNKNOWN);
	json_t *j = homi_check_to_json(r);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "homi-check")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "checks")), r->n);
	json_t *first = json_array_get(json_object_get(j, "checks"), 0);
	ck_assert(json_is_null(json_object_get(first, "fix")));
	ck_assert(json_is_null(json_object_get(first, "vf")));
	json_decref(j);
	r = homi_check_report_free(r);

	/* One VF: the policy's pairing; one not listed: its nearest GPU. */
	struct homi_check_opts o = { .only = "0000:04:00.1" };
	ck_assert_int_eq(homi_check_run(&env, d, &o, &r, &err), 0);
	ck_assert_uint_eq(count_check(r, "gpu"), 1);
	r = homi_check_report_free(r);
	o.only = "0000:04:00.3";
	ck_assert_int_eq(homi_check_run(&env, d, &o, &r, &err), 0);
	ck_why(r, "gpu", "0000:04:00.3", H, "no policy lists this VF");
	ck_status(r, "vf-driver", "0000:04:00.3", H, HOMI_CHECK_FAIL);
	r = homi_check_report_free(r);

	/* A PF: its delegated VFs; a GPU: the VFs paired with it. */
	o.only = "0000:44:00.0";
	ck_assert_int_eq(homi_check_run(&env, d, &o, &r, &err), 0);
	ck_assert_uint_eq(count_check(r, "gpu"), 1);
	r = homi_check_report_free(r);
	o.only = "0000:03:00.0";
	ck_assert_int_eq(homi_check_run(&env, d, &o, &r, &err), 0);
	ck_assert_uint_eq(count_check(r, "gpu"), 2);
	r = homi_check_report_free(r);
	o.only = "0000:43:00.0"; /* nobody's: its own checks */
	ck_assert_int_eq(homi_check_run(&env, d, &o, &r, &err), 0);
	ck_assert_uint_eq(count_check(r, "gpu"), 0);
	ck_assert_ptr_nonnull(find(r, "gpu-bar1", "0000:43:00.0", D));
	r = homi_check_report_free(r);

	/* What check cannot take. */
	o.only = "0000:01:00.0";
	ck_assert_int_eq(homi_check_run(&env, d, &o, &r, &err), -EINVAL);
	ck_assert_str_eq(err, "0000:01:00.0: kind bridge, not an NVMe VF, NVMe PF or GPU");
	free(err);
	o.only = "0000:47:00.0";
	ck_assert_int_eq(homi_check_run(&env, d, &o, &r, &err), -ENOENT);
	ck_assert_msg(strstr(err, "no policy delegates"), "%s", err);
	free(err);
	o.only = "0000:99:00.0";
	ck_assert_int_eq(homi_check_run(&env, d, &o, &r, &err), -ENOENT);
	free(err);

	/* No policy at all: the host alone. */
	ck_assert_int_eq(homi_check_run(&env, NULL, NULL, &r, &err), 0);
	ck_assert_uint_eq(r->n, 2);
	r = homi_check_report_free(r);
	homi_desired_free(d);
	tree_close(&tr);
}
END_TEST

/* ---- the homi-check document and back ------------------------------------- */

/* homi_check_report_from_json(homi_check_to_json(R)) prints the same text and
 * the same document as R; returns the document. */
static json_t *ck_round_trip(const struct homi_check_report *r)
{
	struct homi_check_report *back = NULL;
	json_t *doc = homi_check_to_json(r), *again;
	char *text, *text_back;

	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(homi_check_report_from_json(doc, &back), 0);
	ck_assert_uint_eq(back->n, r->n);
	ck_assert_uint_eq(back->modes, r->modes);
	for (size_t i = 0; i < r->n; i++) {
		const struct homi_verdict *a = &r->v[i], *b = &back->v[i];
		ck_assert_str_eq(a->check, b->check);
		ck_assert_str_eq(a->subject, b->subject);
		ck_assert_str_eq(a->vf, b->vf);
		ck_assert_str_eq(a->gpu, b->gpu);
		ck_assert_str_eq(a->pair, b->pair);
		ck_assert_uint_eq(a->modes, b->modes);
		ck_assert_int_eq(a->status, b->status);
		ck_assert_str_eq(a->why, b->why);
		ck_assert(streq_ptr(a->fix, b->fix));
	}
	text = homi_check_report_text(r);
	text_back = homi_check_report_text(back);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(text_back);
	ck_assert_str_eq(text, text_back);
	again = homi_check_to_json(back);
	ck_assert(json_equal(doc, again));
	json_decref(again);
	free(text);
	free(text_back);
	homi_check_report_free(back);
	return doc;
}

static void ck_round_trip_run(const struct homi_check_env *env, const struct homi_desired *d, const char *only,
			      unsigned m)
{
	struct homi_check_opts o = { .only = only, .modes = m };
	struct homi_check_report *r = NULL;
	char *err = NULL;

	ck_assert_msg(homi_check_run(env, d, &o, &r, &err) == 0, "%s", err ? err : "?");
	ck_assert_uint_gt(r->n, 0);
	json_decref(ck_round_trip(r));
	homi_check_report_free(r);
}

START_TEST(json_round_trip)
{
	static const char *const fixtures[] = { "synth-gpu-server", "qemu-switch", "synth-noiommu", "gpu-h200-vm" };
	struct tree tr;

	/* The reports of the golden cases: every fixture without a policy (the
	 * host alone) and with the VFs of a policy, a VF not enabled ("VF1 of
	 * PF"), a GPU's own checks, one mode. */
	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		tree_open(&tr, fixtures[i]);
		struct homi_check_env env = { .sysfs = tr.s, .pci = tr.pci, .t = tr.t };
		ck_round_trip_run(&env, NULL, NULL, 0);
		ck_round_trip_run(&env, NULL, NULL, H);
		tree_close(&tr);
	}
	tree_open(&tr, "synth-gpu-server");
	struct homi_check_env env = { .sysfs = tr.s, .pci = tr.pci, .t = tr.t };
	struct homi_desired *d = desired(
		tr.t, "{\"homi-policy\": 1, \"devices\": ["
		      "{\"match\": {\"pci\": \"0000:04:00.0\"}, \"vfs\": ["
		      "{\"vf\": 1, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, \"gpu\": \"nearest\"},"
		      "{\"vf\": 3, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, \"gpu\": \"none\"}]},"
		      "{\"match\": {\"pci\": \"0000:44:00.0\"}, \"vfs\": ["
		      "{\"vf\": 1, \"driver\": \"vfio-pci\", \"vq\": 2, \"vi\": 1, \"gpu\": \"0000:03:00.0\"}]}]}");
	ck_round_trip_run(&env, d, NULL, 0);
	ck_round_trip_run(&env, d, NULL, D | G);
	ck_round_trip_run(&env, d, "0000:44:00.0", 0);
	ck_round_trip_run(&env, d, "0000:43:00.0", 0);
	ck_round_trip_run(&env, d, "0000:04:00.2", H);
	homi_desired_free(d);
	tree_close(&tr);

	/* Built verdicts: a fix, none, every status. */
	struct homi_check_report *r = report(ALL);
	struct homi_pair_facts f = { .vf = "0000:04:00.1", .gpu = "0000:03:00.0", .label = "0000:04:00.1" };
	homi_report_add(r, "modules", "host", NULL, ALL, HOMI_CHECK_PASS, strdup("loaded"), NULL);
	homi_report_add(r, "acs", "0000:02:00.0", &f, D, HOMI_CHECK_FAIL, strdup("redirect"), strdup("setpci"));
	homi_report_add(r, "vf-online", "0000:04:00.1", &f, H | G, HOMI_CHECK_UNKNOWN, strdup("no  admin data"), NULL);
	homi_report_add(r, "gpu", "0000:04:00.1", &f, ALL, HOMI_CHECK_WARN, strdup("far"), strdup("move it"));
	ck_assert(!r->oom);
	json_t *doc = ck_round_trip(r);
	homi_check_report_free(r);

	/* An empty report is a document too. */
	r = report(H);
	json_decref(ck_round_trip(r));
	homi_check_report_free(r);

	/* What is not a homi-check 1 document. */
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"homi-check\": 2, \"modes\": [\"H\"], \"checks\": [], "
		"\"summary\": {\"pass\": 0, \"warn\": 0, \"fail\": 0, \"unknown\": 0}}",
		"{\"homi-check\": 1, \"modes\": [], \"checks\": [], "
		"\"summary\": {\"pass\": 0, \"warn\": 0, \"fail\": 0, \"unknown\": 0}}",
		"{\"homi-check\": 1, \"modes\": [\"H\", \"H\"], \"checks\": [], "
		"\"summary\": {\"pass\": 0, \"warn\": 0, \"fail\": 0, \"unknown\": 0}}",
		"{\"homi-check\": 1, \"modes\": [\"h\"], \"checks\": [], "
		"\"summary\": {\"pass\": 0, \"warn\": 0, \"fail\": 0, \"unknown\": 0}}",
		"{\"homi-check\": 1, \"modes\": [\"H\"], \"checks\": {}, "
		"\"summary\": {\"pass\": 0, \"warn\": 0, \"fail\": 0, \"unknown\": 0}}",
		"{\"homi-check\": 1, \"modes\": [\"H\"], \"checks\": []}",
		"{\"homi-check\": 1, \"modes\": [\"H\"], \"checks\": [], "
		"\"summary\": {\"pass\": 1, \"warn\": 0, \"fail\": 0, \"unknown\": 0}}",
	};
	struct homi_check_report *back = (void *)1;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		ck_assert_ptr_nonnull(j);
		ck_assert_msg(homi_check_report_from_json(j, &back) == -EBADMSG, "accepted %s", bad[i]);
		ck_assert_ptr_null(back);
		json_decref(j);
	}
	/* A well-formed document made bad one key at a time. */
	static const struct {
		const char *key;
		json_t *(*value)(void);
	} breaks[] = {
		{ "check", json_null },    { "subject", json_true }, { "status", json_null }, { "why", json_null },
		{ "fix", json_false },     { "modes", json_null },   { "vf", json_true },     { "gpu", json_false },
		{ "pair", json_true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(breaks); i++) {
		json_t *j = json_deep_copy(doc);
		json_t *c = json_array_get(json_object_get(j, "checks"), 1);
		json_object_set_new(c, breaks[i].key, breaks[i].value());
		ck_assert_msg(homi_check_report_from_json(j, &back) == -EBADMSG, "accepted a bad %s", breaks[i].key);
		json_object_del(c, breaks[i].key);
		ck_assert_msg(homi_check_report_from_json(j, &back) == -EBADMSG, "accepted no %s",
			      breaks[i].key);
		json_decref(j);
	}
	static const char *const statuses[] = { "pass", "OK", "" };
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++) {
		json_t *j = json_deep_copy(doc);
		json_object_set_new(json_array_get(json_object_get(j, "checks"), 0), "status",
				    json_string(statuses[i]));
		ck_assert_int_eq(homi_check_report_from_json(j, &back), -EBADMSG);
		json_decref(j);
	}
	json_t *j = json_deep_copy(doc); /* a verdict about a mode not evaluated */
	json_array_remove(json_object_get(j, "modes"), 0);
	ck_assert_int_eq(homi_check_report_from_json(j, &back), -EBADMSG);
	json_decref(j);
	j = json_deep_copy(doc); /* an address too long for its field */
	json_object_set_new(json_array_get(json_object_get(j, "checks"), 1), "vf", json_string("0000:04:00.1.too.long"));
	ck_assert_int_eq(homi_check_report_from_json(j, &back), -EBADMSG);
	json_decref(j);
	json_decref(doc);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("check");
	TCase *judge = tcase_create("judge"), *facts = tcase_create("facts");

	tcase_add_test(judge, affinity_by_link);
	tcase_add_test(judge, acs_redirect_on_both_sides);
	tcase_add_test(judge, acs_redirect_off);
	tcase_add_test(judge, acs_absent_unreadable_egress);
	tcase_add_test(judge, acs_through_root_complex);
	tcase_add_test(judge, iommu_mode);
	tcase_add_test(judge, iommu_group);
	tcase_add_test(judge, vf_driver);
	tcase_add_test(judge, vf_online);
	tcase_add_test(judge, vfio_owner);
	tcase_add_test(judge, pairing);
	tcase_add_test(judge, gpu_bar1);
	tcase_add_test(judge, modules_and_importer);
	tcase_add_test(judge, modes);
	suite_add_tcase(s, judge);

	tcase_add_test(facts, facts_synth_gpu_server);
	tcase_add_test(facts, facts_qemu_switch);
	tcase_add_test(facts, facts_noiommu_and_h200);
	tcase_add_test(facts, facts_short_config);
	tcase_add_test(facts, nvml_probe);
	tcase_add_test(facts, run_selects_pairs);
	tcase_add_test(facts, json_round_trip);
	tcase_set_timeout(facts, 30);
	suite_add_tcase(s, facts);
	return s;
}

int main(void)
{
	return check_run(suite(), CK_ENV);
}
