/* SPDX-License-Identifier: MIT */
/* Judges of the delegated VF: the IOMMU mode and what it means for
 * vfio-pci and for GPU-memory DMA, its IOMMU group, its driver, its
 * secondary controller, its /dev/vfio node. Pure functions of the facts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-facts.h"
#include "macro.h"

static bool noiommu_group(const struct homi_pair_facts *f)
{
	return streq(f->group_name, "vfio-noiommu");
}

/* ---- iommu-mode ----------------------------------------------------------- */

/* A group's default domain type as the kernel shows it in "type". */
static const char *domain(const char *type)
{
	if (!type[0])
		return "default domain unreadable";
	if (streq(type, "unknown"))
		return "no default domain";
	if (streq(type, "DMA") || streq(type, "DMA-FQ"))
		return streq(type, "DMA") ? "default domain DMA (translated)" : "default domain DMA-FQ (translated)";
	if (streq(type, "identity"))
		return "default domain identity (pass-through)";
	return type;
}

static char *iommu_evidence(const struct homi_host_facts *h, const struct homi_pair_facts *f)
{
	char groups[160] = "";

	if (f->group >= 0)
		snprintf(groups, sizeof(groups), "; VF group %d%s, %s", f->group, noiommu_group(f) ? " (vfio-noiommu)" : "",
			 domain(f->group_type));
	if (f->gpu[0] && f->gpu_group >= 0)
		snprintf(groups + strlen(groups), sizeof(groups) - strlen(groups), "; GPU group %d, %s", f->gpu_group,
			 domain(f->gpu_group_type));
	return homi_fmt("IOMMU units: %s (class/iommu); kernel command line: %s%s",
			h->iommu_units > 0 ? h->iommu_names : "none",
			!h->cmdline_known ? "not in a capture" : h->cmdline[0] ? h->cmdline : "no IOMMU options", groups);
}

void homi_judge_iommu_mode(const struct homi_host_facts *h, const struct homi_pair_facts *f,
			   struct homi_check_report *r)
{
	_cleanup_free_ char *ev = iommu_evidence(h, f);
	const char *e = ev ? ev : "";

	if (homi_iommu_on(h, f)) {
		if (f->vf[0] && f->group < 0)
			homi_report_add(r, "iommu-mode", f->label, f, HOMI_MODE_H, HOMI_CHECK_FAIL,
					homi_fmt("the IOMMU is on but the VF has no IOMMU group (%s): vfio-pci cannot "
						 "take it", e),
					homi_fmt("check the firmware's IOMMU tables cover the SSD's root port"));
		else
			homi_report_add(r, "iommu-mode", f->label, f, HOMI_MODE_H, HOMI_CHECK_PASS,
					homi_fmt("the IOMMU is on (%s): vfio-pci gives the VF a DMA domain of its own "
						 "(type1 or iommufd), so host-memory queues and data are mapped by IOVA%s",
						 e,
						 streq(f->group_type, "identity")
							 ? "; the group's identity default (iommu=pt) is replaced by vfio's "
							   "domain while vfio owns the VF"
							 : ""),
					NULL);
		homi_report_add(r, "iommu-mode", f->label, f, HOMI_MODE_D | HOMI_MODE_G, HOMI_CHECK_FAIL,
				homi_fmt("the IOMMU is on (%s): vfio translates every DMA of the VF through its own "
					 "domain, whatever the group's default type (iommu=pt does not change that). The "
					 "bus addresses of GPU memory that a dma-buf importer returns are then not valid "
					 "DMA addresses for the VF, and no supported interface maps GPU memory into a "
					 "VFIO container (iommufd refuses CUDA dma-bufs as of Linux 6.19)",
					 e),
				homi_fmt("modes D and G need the IOMMU off: boot with intel_iommu=off or amd_iommu=off "
					 "and load vfio with enable_unsafe_noiommu_mode=1 (no DMA isolation, a tainted "
					 "kernel: a lab set-up); otherwise use mode H"));
		return;
	}
	/* No IOMMU translates anything. */
	if (noiommu_group(f) || h->noiommu == 1)
		homi_report_add(r, "iommu-mode", f->label, f, HOMI_MODE_H, HOMI_CHECK_WARN,
				homi_fmt("no IOMMU (%s): vfio runs the VF in its unsafe no-IOMMU mode (%s): DMA by "
					 "physical address, no isolation from the rest of memory, a tainted kernel, and "
					 "opening it needs CAP_SYS_RAWIO",
					 e, noiommu_group(f) ? "its node is /dev/vfio/noiommu-<group>"
							     : "enable_unsafe_noiommu_mode=Y"),
				homi_fmt("for production enable the IOMMU (firmware: VT-d or AMD-Vi; kernel: "
					 "intel_iommu=on or amd_iommu=on) and use mode H with it"));
	else if (h->noiommu == 0)
		homi_report_add(r, "iommu-mode", f->label, f, HOMI_MODE_H, HOMI_CHECK_FAIL,
				homi_fmt("no IOMMU (%s), and vfio's no-IOMMU mode is off (enable_unsafe_noiommu_mode=N "
					 "or vfio not loaded): vfio-pci cannot take the VF",
					 e),
				homi_fmt("enable the IOMMU (firmware VT-d or AMD-Vi, intel_iommu=on or amd_iommu=on), "
					 "or for a lab set-up: modprobe vfio enable_unsafe_noiommu_mode=1"));
	else
		homi_report_add(r, "iommu-mode", f->label, f, HOMI_MODE_H, HOMI_CHECK_UNKNOWN,
				homi_fmt("no IOMMU in this tree (%s); whether vfio's unsafe no-IOMMU mode is enabled "
					 "is not in a capture",
					 e),
				NULL);
	homi_report_add(r, "iommu-mode", f->label, f, HOMI_MODE_D | HOMI_MODE_G, HOMI_CHECK_PASS,
			homi_fmt("no IOMMU (%s): the VF's DMA addresses are bus addresses, so those of GPU memory "
				 "from the dma-buf importer are valid as they are",
				 e),
			NULL);
}

/* ---- iommu-group ---------------------------------------------------------- */

/* The first port above the VF whose ACS does not give the isolation Linux
 * requires before it separates the devices below it: why the group is
 * shared. NULL when every readable port has it. */
static char *isolation_gap(const struct homi_pair_facts *f)
{
	for (size_t i = 0; i < f->n_ports; i++) {
		const struct homi_port *p = &f->ports[i];
		if (!p->above_vf || (p->port_type != HOMI_PORT_DOWNSTREAM && p->port_type != HOMI_PORT_ROOT))
			continue;
		if (p->acs.state == HOMI_ACS_ABSENT)
			return homi_fmt("%s has no ACS capability, so Linux cannot isolate the functions below it "
					"from each other",
					p->pci);
		if (p->acs.state == HOMI_ACS_UNREADABLE)
			continue;
		uint16_t need = HOMI_ACS_ISOLATION & (p->acs.cap | HOMI_ACS_EC);
		if ((p->acs.ctl & need) != need) {
			char ctl[128];
			homi_acs_describe(p->acs.cap, p->acs.ctl, ctl, sizeof(ctl));
			return homi_fmt("%s has ACSCtl %s, short of the SrcValid ReqRedir CmpltRedir UpstreamFwd that "
					"Linux requires (REQ_ACS_FLAGS) to give the functions below it groups of their "
					"own",
					p->pci, ctl);
		}
	}
	return NULL;
}

static char *isolation_fix(const struct homi_pair_facts *f)
{
	for (size_t i = 0; i < f->n_ports; i++) {
		const struct homi_port *p = &f->ports[i];
		if (!p->above_vf || (p->port_type != HOMI_PORT_DOWNSTREAM && p->port_type != HOMI_PORT_ROOT))
			continue;
		if (p->acs.state == HOMI_ACS_ABSENT)
			return homi_fmt("%s has no ACS: no setting separates the VF from its PF behind it. Put the "
					"SSD behind a port with ACS (a root port, or a switch with ACS enabled in its "
					"firmware or EEPROM), or run without IOMMU in vfio's no-IOMMU mode (a lab set-up); "
					"the out-of-tree pcie_acs_override patch only pretends isolation",
					p->pci);
		if (p->acs.state == HOMI_ACS_READ) {
			uint16_t need = HOMI_ACS_ISOLATION & (p->acs.cap | HOMI_ACS_EC);
			if ((p->acs.ctl & need) != need)
				return homi_fmt("turn ACS on at %s: firmware setting \"PCIe ACS\" / \"ACS Enable\", no "
						"pci=disable_acs_redir= for it, or setpci -s %s ECAP_ACS+6.w=0x%04x; "
						"groups are formed when devices are added, so reboot (or remove and "
						"rescan the port) afterwards",
						p->pci, p->pci, (unsigned)(p->acs.ctl | need));
		}
	}
	return homi_fmt("make the VF's IOMMU group its own: ACS on every port above it and, where those have it "
			"already, on the PF itself (a multi-function device without ACS keeps its functions in one "
			"group); then reboot");
}

static char *member_list(const struct homi_pair_facts *f)
{
	char buf[512] = "";

	for (size_t i = 0; i < f->n_members; i++) {
		const struct homi_member *m = &f->members[i];
		size_t used = strlen(buf);
		snprintf(buf + used, sizeof(buf) - used, "%s%s (%s%s%s)", i ? ", " : "", m->pci,
			 streq(m->pci, f->pf) ? "its PF, " : m->kind == HOMI_KIND_BRIDGE ? "bridge, " : "",
			 m->driver[0] ? "on " : "", m->driver[0] ? m->driver : "no driver");
	}
	return homi_fmt("%s", buf);
}

void homi_judge_iommu_group(const struct homi_host_facts *h, const struct homi_pair_facts *f,
			    struct homi_check_report *r)
{
	const unsigned all = HOMI_MODES_ALL;
	bool pf = false, bridge = false, foreign = false, vfio_only = false;
	_cleanup_free_ char *members = NULL, *gap = NULL;

	if (!f->vf[0]) {
		homi_report_add(r, "iommu-group", f->label, f, all, HOMI_CHECK_UNKNOWN,
				homi_fmt("the VF is not enabled: it has no IOMMU group yet"),
				homi_fmt("homictl --direct apply enables it"));
		return;
	}
	if (f->group < 0) {
		if (homi_iommu_on(h, f))
			homi_report_add(r, "iommu-group", f->label, f, all, HOMI_CHECK_FAIL,
					homi_fmt("%s has no IOMMU group although the IOMMU is on: no IOMMU covers it, so "
						 "vfio-pci cannot take it",
						 f->vf),
					homi_fmt("check the firmware's IOMMU tables (DMAR/IVRS) cover the SSD"));
		else
			homi_report_add(r, "iommu-group", f->label, f, all, HOMI_CHECK_PASS,
					homi_fmt("no IOMMU: %s shares nothing; vfio's no-IOMMU mode gives it a group of "
						 "its own when it binds",
						 f->vf),
					NULL);
		return;
	}
	if (noiommu_group(f) && !f->n_members) {
		homi_report_add(r, "iommu-group", f->label, f, all, HOMI_CHECK_PASS,
				homi_fmt("group %d is vfio's no-IOMMU group for %s alone", f->group, f->vf), NULL);
		return;
	}
	for (size_t i = 0; i < f->n_members; i++) {
		const struct homi_member *m = &f->members[i];
		if (streq(m->pci, f->pf))
			pf = true;
		else if (m->kind == HOMI_KIND_BRIDGE)
			bridge = true;
		else if (!m->driver[0] || streq(m->driver, "vfio-pci") || streq(m->driver, "pci-stub"))
			vfio_only = true;
		else
			foreign = true;
	}
	members = member_list(f);
	gap = isolation_gap(f);
	if (pf || foreign) {
		homi_report_add(r, "iommu-group", f->label, f, all, HOMI_CHECK_FAIL,
				homi_fmt("group %d holds %s with %s: %s%s%s", f->group, f->vf, members ? members : "?",
					 pf ? "it shares the group with its PF, so the group is never viable while the PF "
					      "stays on nvme (vfio needs every member on vfio-pci or driverless)"
					    : "a member is bound to another driver, so the group is not viable for vfio",
					 gap ? "; " : "", gap ? gap : ""),
				pf ? isolation_fix(f)
				   : homi_fmt("unbind the other members, or separate them with ACS on the ports above"));
		return;
	}
	if (vfio_only) {
		homi_report_add(r, "iommu-group", f->label, f, all, HOMI_CHECK_WARN,
				homi_fmt("group %d holds %s with %s: viable, but not alone: whoever opens the group "
					 "holds them all%s%s",
					 f->group, f->vf, members ? members : "?", gap ? "; " : "", gap ? gap : ""),
				isolation_fix(f));
		return;
	}
	homi_report_add(r, "iommu-group", f->label, f, all, HOMI_CHECK_PASS,
			homi_fmt("group %d holds %s alone%s%s%s: viable and isolated from its PF (%s)", f->group, f->vf,
				 bridge ? " (with " : "", bridge && members ? members : "", bridge ? ", which vfio ignores)" : "",
				 f->pf),
			NULL);
}

/* ---- vf-driver ------------------------------------------------------------ */

void homi_judge_vf_driver(const struct homi_pair_facts *f, struct homi_check_report *r)
{
	const unsigned all = HOMI_MODES_ALL;
	char *fix;

	if (streq(f->want_driver, "vfio-pci"))
		fix = homi_fmt("homictl --direct apply %sbinds it (driver_override, then drivers_probe)",
			       f->vf[0] ? "" : "enables and ");
	else if (f->want_driver[0])
		fix = homi_fmt("%s gives it driver %s: set \"driver\": \"vfio-pci\" to delegate it, then apply",
			       f->origin[0] ? f->origin : "the policy", f->want_driver);
	else
		fix = homi_fmt("delegate it in a policy (\"driver\": \"vfio-pci\") and apply");
	if (!f->vf[0]) {
		homi_report_add(r, "vf-driver", f->label, f, all, HOMI_CHECK_FAIL,
				homi_fmt("VF %u of %s is not enabled (sriov_numvfs is %d)", f->vfn, f->pf, f->pf_num_vfs),
				fix);
		return;
	}
	if (streq(f->vf_driver, "vfio-pci")) {
		free(fix);
		homi_report_add(r, "vf-driver", f->label, f, all, HOMI_CHECK_PASS,
				homi_fmt("%s (VF %u of %s) is bound to vfio-pci", f->vf, f->vfn, f->pf), NULL);
		return;
	}
	homi_report_add(r, "vf-driver", f->label, f, all, HOMI_CHECK_FAIL,
			homi_fmt("%s (VF %u of %s) is %s%s, not on vfio-pci", f->vf, f->vfn, f->pf,
				 f->vf_driver[0] ? "bound to " : "", f->vf_driver[0] ? f->vf_driver : "unbound"),
			fix);
}

/* ---- vf-online ------------------------------------------------------------ */

void homi_judge_vf_online(const struct homi_pair_facts *f, struct homi_check_report *r)
{
	const unsigned all = HOMI_MODES_ALL;
	const char *ctrl = f->ctrl[0] ? f->ctrl : f->pf;

	if (!f->sec_known) {
		homi_report_add(r, "vf-online", f->label, f, all, HOMI_CHECK_UNKNOWN, homi_fmt("%s", f->sec_why), NULL);
		return;
	}
	if (!f->sec_found) {
		homi_report_add(r, "vf-online", f->label, f, all, HOMI_CHECK_FAIL,
				homi_fmt("the Secondary Controller List (Identify CNS 0x15) of %s has no controller for "
					 "VF %u",
					 ctrl, f->vfn),
				homi_fmt("the controller offers fewer VFs than the policy uses: lower the VF number"));
		return;
	}
	char *why = homi_fmt("secondary controller %u of %s (VF %u) is %s with %u VQ and %u VI (Identify CNS 0x15)",
			     f->scid, ctrl, f->vfn, f->online ? "online" : "offline", f->nvq, f->nvi);
	if (f->online && f->nvq >= 2 && f->nvi >= 1) {
		homi_report_add(r, "vf-online", f->label, f, all, HOMI_CHECK_PASS, why, NULL);
		return;
	}
	homi_report_add(r, "vf-online", f->label, f, all, HOMI_CHECK_FAIL, why,
			homi_fmt("%s; homictl --direct apply assigns them and sets it online (a PF reset takes every "
				 "secondary offline with zero resources)",
				 f->online ? "a VF needs at least 2 VQ (admin + one I/O queue) and 1 VI"
					   : "an offline VF's controller does not answer"));
}

/* ---- vfio-owner ----------------------------------------------------------- */

void homi_judge_vfio_owner(const struct homi_pair_facts *f, struct homi_check_report *r)
{
	const unsigned all = HOMI_MODES_ALL;
	const bool wants = f->want_owner[0] || f->want_group[0] || f->want_mode >= 0;
	char want[160];

	if (!f->node_known) {
		homi_report_add(r, "vfio-owner", f->label, f, all, HOMI_CHECK_UNKNOWN, homi_fmt("%s", f->node_why), NULL);
		return;
	}
	if (f->mode < 0) {
		homi_report_add(r, "vfio-owner", f->label, f, all, HOMI_CHECK_FAIL,
				homi_fmt("%s does not exist although %s is on vfio-pci", f->node, f->vf),
				homi_fmt("rebind the VF (homictl --direct apply) and check udev rules for /dev/vfio"));
		return;
	}
	if (!wants) {
		homi_report_add(r, "vfio-owner", f->label, f, all, HOMI_CHECK_PASS,
				homi_fmt("%s is %u:%u mode %04o; the policy sets no owner, group or mode, so only "
					 "root opens it",
					 f->node, (unsigned)f->uid, (unsigned)f->gid, (unsigned)f->mode),
				NULL);
		return;
	}
	if (!f->want_ids_known) {
		homi_report_add(r, "vfio-owner", f->label, f, all, HOMI_CHECK_UNKNOWN,
				homi_fmt("%s is %u:%u mode %04o; %s", f->node, (unsigned)f->uid, (unsigned)f->gid,
					 (unsigned)f->mode, f->want_ids_why),
				NULL);
		return;
	}
	snprintf(want, sizeof(want), "%s%s%s%s", f->want_owner[0] ? "owner " : "", f->want_owner,
		 f->want_group[0] ? (f->want_owner[0] ? ", group " : "group ") : "", f->want_group);
	if (f->want_mode >= 0)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%smode %04o", want[0] ? ", " : "",
			 (unsigned)f->want_mode);
	bool ok = (!f->want_owner[0] || f->uid == f->want_uid) && (!f->want_group[0] || f->gid == f->want_gid) &&
		  (f->want_mode < 0 || f->mode == f->want_mode);
	char *why = homi_fmt("%s is %u:%u mode %04o; %s wants %s", f->node, (unsigned)f->uid, (unsigned)f->gid,
			     (unsigned)f->mode, f->origin[0] ? f->origin : "the policy", want);
	if (ok)
		homi_report_add(r, "vfio-owner", f->label, f, all, HOMI_CHECK_PASS, why, NULL);
	else
		homi_report_add(r, "vfio-owner", f->label, f, all, HOMI_CHECK_FAIL, why,
				homi_fmt("homictl --direct apply sets it (udev resets the node at every bind, homi "
					 "re-applies it)"));
}
