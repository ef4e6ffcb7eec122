/* SPDX-License-Identifier: MIT */
/* Judges of the path between the VF and its GPU: the pairing, the affinity
 * and common ancestor, and ACS on every port between them. Pure functions
 * of the facts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-facts.h"
#include "macro.h"

#define NVIDIA 0x10de

static char *pair_subject(const struct homi_pair_facts *f)
{
	return homi_fmt("%s <-> %s", f->label, f->gpu[0] ? f->gpu : "(no GPU)");
}

/* The verdict of a check that needs a GPU when none is paired. */
static void no_gpu(const struct homi_pair_facts *f, struct homi_check_report *r, const char *check, unsigned modes)
{
	_cleanup_free_ char *subject = pair_subject(f);
	homi_report_add(r, check, subject ? subject : f->label, f, modes, HOMI_CHECK_UNKNOWN,
			homi_fmt("no GPU is paired with %s (see check gpu)", f->label), NULL);
}

/* ---- gpu: which GPU, and why ---------------------------------------------- */

static const char *policy_of(const struct homi_pair_facts *f)
{
	return f->origin[0] ? f->origin : "the policy";
}

void homi_judge_pairing(const struct homi_pair_facts *f, struct homi_check_report *r)
{
	const unsigned all = HOMI_MODES_ALL;
	char *why = NULL;

	switch (f->pairing) {
	case HOMI_PAIR_NONE:
		homi_report_add(r, "gpu", f->label, f, all, HOMI_CHECK_UNKNOWN,
				homi_fmt("%s pairs no GPU with this VF (\"gpu\": \"none\"): the GPU path is not checked",
					 policy_of(f)),
				homi_fmt("name a GPU (\"gpu\": \"nearest\" or its address) to have the path checked"));
		return;
	case HOMI_PAIR_NAMED:
		if (!f->gpu[0]) {
			homi_report_add(r, "gpu", f->label, f, all, HOMI_CHECK_FAIL,
					homi_fmt("%s names GPU %s, which is not a GPU of this machine", policy_of(f),
						 f->named_gpu),
					f->best_gpu[0] ? homi_fmt("correct \"gpu\" in the policy; the GPU nearest to %s is %s "
								  "(%s)", f->label, f->best_gpu,
								  homi_affinity_name(f->best_link))
						       : homi_fmt("correct \"gpu\" in the policy (this machine has no GPU)"));
			return;
		}
		why = homi_fmt("%s pairs it with GPU %s", policy_of(f), f->gpu);
		break;
	default:
		if (!f->gpu[0]) {
			bool asked = f->pairing == HOMI_PAIR_NEAREST;
			homi_report_add(r, "gpu", f->label, f, all, asked ? HOMI_CHECK_FAIL : HOMI_CHECK_UNKNOWN,
					homi_fmt("%s; this machine has no GPU (no function of class 0x0302, nor of class "
						 "0x0300 from NVIDIA, AMD or a discrete Intel card): the GPU-dependent "
						 "checks are UNKNOWN",
						 asked ? "the policy asks for the nearest GPU (\"gpu\": \"nearest\")"
						 : f->pairing == HOMI_PAIR_UNSET ? "the policy names no GPU for this VF"
										 : "no policy lists this VF"),
					asked ? homi_fmt("add a GPU, or set \"gpu\": \"none\" if CPU processes use this VF")
					      : NULL);
			return;
		}
		why = homi_fmt("%s%s: paired with the GPU nearest to it, %s (%s)", f->origin[0] ? f->origin : "",
			       f->pairing == HOMI_PAIR_NEAREST ? (f->origin[0] ? " asks for the nearest GPU"
									      : "the policy asks for the nearest GPU")
			       : f->pairing == HOMI_PAIR_UNSET ? (f->origin[0] ? " names no GPU for this VF"
									    : "the policy names no GPU for this VF")
							       : "no policy lists this VF",
			       f->gpu, homi_affinity_name(f->link));
		break;
	}
	if (f->gpu_vendor != NVIDIA) {
		homi_report_add(r, "gpu", f->label, f, all, HOMI_CHECK_WARN,
				homi_fmt("%s; it is not an NVIDIA GPU (vendor 0x%04x): homi's GPU queues are CUDA code",
					 why ? why : "", f->gpu_vendor),
				homi_fmt("pair the VF with an NVIDIA GPU"));
	} else if (!streq(f->gpu_driver, "nvidia")) {
		homi_report_add(r, "gpu", f->label, f, all, HOMI_CHECK_WARN,
				homi_fmt("%s; it is on %s%s, not on the nvidia driver that CUDA needs", why ? why : "",
					 f->gpu_driver[0] ? "driver " : "", f->gpu_driver[0] ? f->gpu_driver : "no driver"),
				homi_fmt("bind %s to nvidia (install the NVIDIA driver)", f->gpu));
	} else {
		homi_report_add(r, "gpu", f->label, f, all, HOMI_CHECK_PASS,
				homi_fmt("%s, on the nvidia driver", why ? why : ""), NULL);
	}
	free(why);
}

/* ---- affinity ------------------------------------------------------------- */

static const char *port_kind(int type)
{
	switch (type) {
	case HOMI_PORT_ROOT: return "root port";
	case HOMI_PORT_UPSTREAM: return "switch upstream port";
	case HOMI_PORT_DOWNSTREAM: return "switch downstream port";
	default: return "bridge";
	}
}

static char *better_gpu(const struct homi_pair_facts *f, const char *otherwise)
{
	if (f->best_gpu[0] && f->best_link < f->link && !streq(f->best_gpu, f->gpu))
		return homi_fmt("pair the VF with GPU %s, %s to it (\"gpu\": \"%s\" in the policy), or %s", f->best_gpu,
				homi_affinity_name(f->best_link), f->best_gpu, otherwise);
	return homi_fmt("%s", otherwise);
}

void homi_judge_affinity(const struct homi_pair_facts *f, struct homi_check_report *r)
{
	_cleanup_free_ char *subject = NULL, *where = NULL;
	const char *name = homi_affinity_name(f->link);
	const char *pos = f->vf[0] ? "" : " (the VF is not enabled: its PF's position)";

	if (!f->gpu[0]) {
		no_gpu(f, r, "affinity", HOMI_MODES_ALL);
		return;
	}
	subject = pair_subject(f);
	if (!subject)
		return;
	switch (f->link) {
	case HOMI_AFF_PIX:
	case HOMI_AFF_PXB:
		homi_report_add(r, "affinity", subject, f, HOMI_MODES_ALL, HOMI_CHECK_PASS,
				homi_fmt("%s%s: %s; their lowest common bridge is %s (%s), so peer traffic turns "
					 "there and need not cross the root complex",
					 name, pos,
					 f->link == HOMI_AFF_PIX ? "at most one PCIe switch between them"
								 : "several PCIe switches between them, no host bridge",
					 f->common, port_kind(f->common_type)),
				NULL);
		return;
	case HOMI_AFF_PHB:
		homi_report_add(r, "affinity", subject, f, HOMI_MODES_ALL, HOMI_CHECK_WARN,
				homi_fmt("PHB%s: no PCIe bridge is common to them, they meet in host bridge %s: every "
					 "peer transfer crosses the root complex. Mode H: the GPU's doorbell writes "
					 "take the root complex's peer-to-peer path (supported for writes by most "
					 "current CPUs, slower than a switch). Modes D and G: the NVMe's DMA into GPU "
					 "memory depends on the root complex's peer-to-peer bandwidth, often far below "
					 "the link rate",
					 pos, f->vf_hb),
				better_gpu(f, "put the SSD and the GPU below one PCIe switch"));
		return;
	case HOMI_AFF_NODE:
	case HOMI_AFF_SYS:
		where = f->link == HOMI_AFF_NODE
				? homi_fmt("%s%s: different host bridges (%s, %s) of one NUMA node", name, pos, f->vf_hb,
					   f->gpu_hb)
				: homi_fmt("%s%s: across NUMA nodes (VF on %d, GPU on %d; host bridges %s, %s)", name, pos,
					   f->vf_numa, f->gpu_numa, f->vf_hb, f->gpu_hb);
		if (!where)
			return;
		homi_report_add(r, "affinity", subject, f, HOMI_MODE_H, HOMI_CHECK_WARN,
				homi_fmt("%s: the GPU's doorbell writes cross %s; many platforms forward peer writes "
					 "there only slowly, some not at all",
					 where, f->link == HOMI_AFF_NODE ? "host bridges" : "the inter-socket link"),
				better_gpu(f, "put the SSD and the GPU below one host bridge, better one PCIe switch"));
		homi_report_add(r, "affinity", subject, f, HOMI_MODE_D | HOMI_MODE_G, HOMI_CHECK_FAIL,
				homi_fmt("%s: the NVMe's DMA into GPU memory would cross %s, where root complexes "
					 "do not forward peer-to-peer traffic, or only at a fraction of the link rate",
					 where, f->link == HOMI_AFF_NODE ? "host bridges" : "the inter-socket link"),
				better_gpu(f, "put the SSD and the GPU below one PCIe switch"));
		return;
	}
}

/* ---- acs ------------------------------------------------------------------ */

/* ACS acts where a TLP enters the switch. Mode H: the GPU writes the VF's
 * doorbells, posted requests entering at the GPU's ports. Mode D: the VF
 * writes into and reads from GPU memory, requests entering at the VF's
 * ports, the completions of its reads entering at the GPU's. Mode G: both.
 * So a port on the VF's side concerns D and G (ReqRedir), one on the GPU's
 * side H (ReqRedir) and D (CmpltRedir), and G (both). */
static uint16_t relevant(unsigned mode, bool gpu_side)
{
	switch (mode) {
	case HOMI_MODE_H: return gpu_side ? HOMI_ACS_RR | HOMI_ACS_EC : 0;
	case HOMI_MODE_D: return gpu_side ? HOMI_ACS_CR : HOMI_ACS_RR | HOMI_ACS_EC;
	default:          return gpu_side ? HOMI_ACS_RR | HOMI_ACS_CR | HOMI_ACS_EC : HOMI_ACS_RR | HOMI_ACS_EC;
	}
}

static const char *routed(uint16_t ctl, uint16_t bit)
{
	if (bit == HOMI_ACS_RR)
		return ctl & bit ? "redirected up to the root complex (ReqRedir+)" : "routed straight to the peer port (ReqRedir-)";
	return ctl & bit ? "redirected up to the root complex (CmpltRedir+)" : "routed straight back (CmpltRedir-)";
}

/* The evidence for port P, whatever the mode. */
static char *port_why(const struct homi_port *p, const char *common, bool iommu_on)
{
	const bool gpu_side = p->above_gpu;
	const uint16_t ctl = p->acs.ctl;
	_cleanup_free_ char *traffic = NULL, *effect = NULL;
	char bits[128];

	if (p->acs.state == HOMI_ACS_UNREADABLE)
		return homi_fmt("%s, on the %s's side of %s: its ACS is unknown: %s", p->pci, gpu_side ? "GPU" : "VF",
				common, p->acs.why);
	if (p->acs.state == HOMI_ACS_ABSENT)
		return homi_fmt("%s, on the %s's side of %s: no ACS capability, so peer traffic entering here is "
				"routed by address, straight to the peer port%s",
				p->pci, gpu_side ? "GPU" : "VF", common,
				gpu_side ? "" : "; Linux therefore groups the functions below it with it (see iommu-group)");
	homi_acs_describe(p->acs.cap, ctl, bits, sizeof(bits));
	if (gpu_side)
		traffic = homi_fmt("the GPU's doorbell writes to the VF (modes H, G) are %s; the completions of the "
				   "VF's reads of GPU memory (modes D, G) are %s",
				   routed(ctl, HOMI_ACS_RR), routed(ctl, HOMI_ACS_CR));
	else
		traffic = homi_fmt("the VF's DMA to GPU memory (modes D, G) is %s", routed(ctl, HOMI_ACS_RR));
	if (ctl & (gpu_side ? HOMI_ACS_RR | HOMI_ACS_CR : HOMI_ACS_RR))
		effect = gpu_side
			? homi_fmt(". Redirected traffic takes the longer way and needs a root complex that routes "
				   "peer traffic back down; clearing redirect here only puts the GPU in one IOMMU group "
				   "with this port")
			: homi_fmt(". There the IOMMU translates it: it reaches GPU memory only if the IOMMU maps "
				   "BAR1 for the VF (no supported VFIO interface does, gpu-path.md R2) and the root "
				   "complex forwards peer traffic%s",
				   iommu_on ? ". Trade-off: Linux gives the VF an IOMMU group apart from its PF and this "
					      "port only while the port has SrcValid, ReqRedir, CmpltRedir and "
					      "UpstreamFwd on; with redirect off the VF shares the PF's group, which "
					      "vfio-pci cannot use while the PF stays on nvme"
					    : "");
	else
		effect = homi_fmt("%s", gpu_side || !iommu_on
					? ""
					: ", untranslated: it needs bus addresses (see iommu-mode), and Linux groups "
					  "the VF with this port (see iommu-group)");
	return homi_fmt("%s, on the %s's side of %s: ACSCtl %s: where traffic enters here, %s%s%s", p->pci,
			gpu_side ? "GPU" : "VF", common, bits, traffic ? traffic : "", effect ? effect : "",
			(ctl & HOMI_ACS_EC) ? "; P2P Egress Control is on: requests to the ports set in its vector are "
					      "redirected or blocked as ACS violations"
					    : "");
}

static char *port_fix(const struct homi_port *p, bool iommu_on)
{
	const uint16_t ctl = p->acs.ctl, clear = ctl & (uint16_t) ~(HOMI_ACS_RR | HOMI_ACS_CR | HOMI_ACS_EC);

	if (p->acs.state == HOMI_ACS_UNREADABLE)
		return homi_fmt("run the check as root on the live host (and capture as root: capture-sysfs keeps "
				"config space as it reads it)");
	if (p->above_gpu)
		return homi_fmt("clear P2P redirect%s on this port only: setpci -s %s ECAP_ACS+6.w=0x%04x (lost at reboot "
				"and hotplug: run it before homid starts), or boot with pci=disable_acs_redir=%s; the "
				"VF's port keeps redirect, so the VF keeps its IOMMU group",
				(ctl & HOMI_ACS_EC) ? " and Egress Control" : "", p->pci, clear, p->pci);
	return homi_fmt("a direct path needs redirect off on this port (setpci -s %s ECAP_ACS+6.w=0x%04x, or "
			"pci=disable_acs_redir=%s)%s",
			p->pci, clear, p->pci,
			iommu_on ? ", which with the IOMMU on puts the VF in its PF's group: do it only together with "
				   "the IOMMU off and vfio's no-IOMMU mode (a lab set-up), or stay with mode H"
				 : "");
}

static enum homi_check_status port_status(const struct homi_port *p, unsigned mode)
{
	if (p->acs.state == HOMI_ACS_UNREADABLE)
		return HOMI_CHECK_UNKNOWN;
	if (p->acs.state == HOMI_ACS_ABSENT)
		return HOMI_CHECK_PASS;
	return p->acs.ctl & relevant(mode, p->above_gpu) ? HOMI_CHECK_WARN : HOMI_CHECK_PASS;
}

/* One verdict per status among the modes port P concerns. */
static void judge_port(const struct homi_port *p, bool iommu_on, struct homi_check_report *r,
		       const struct homi_pair_facts *f)
{
	static const unsigned modes[] = { HOMI_MODE_H, HOMI_MODE_D, HOMI_MODE_G };
	const unsigned concerned = p->above_gpu ? HOMI_MODES_ALL : HOMI_MODE_D | HOMI_MODE_G;
	unsigned by_status[4] = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (concerned & modes[i])
			by_status[port_status(p, modes[i])] |= modes[i];
	for (int st = 0; st < 4; st++) {
		if (!by_status[st])
			continue;
		homi_report_add(r, "acs", p->pci, f, by_status[st], (enum homi_check_status)st,
				port_why(p, f->common, iommu_on),
				st == HOMI_CHECK_PASS ? NULL : port_fix(p, iommu_on));
	}
}

void homi_judge_acs(const struct homi_host_facts *h, const struct homi_pair_facts *f, struct homi_check_report *r)
{
	bool iommu_on = homi_iommu_on(h, f) > 0;
	size_t judged = 0;

	if (!f->gpu[0]) {
		no_gpu(f, r, "acs", HOMI_MODES_ALL);
		return;
	}
	if (!f->common[0]) {
		_cleanup_free_ char *subject = pair_subject(f);
		homi_report_add(r, "acs", subject ? subject : f->label, f, HOMI_MODES_ALL, HOMI_CHECK_PASS,
				homi_fmt("%s: no PCIe switch is common to them, so every peer transfer crosses the root "
					 "complex whatever the ports' ACS (see affinity)",
					 homi_affinity_name(f->link)),
				NULL);
		return;
	}
	for (size_t i = 0; i < f->n_ports; i++) {
		const struct homi_port *p = &f->ports[i];
		/* Below the common bridge only; ACS applies to downstream and
		 * root ports (an upstream port forwards what it gets). */
		if (p->above_vf == p->above_gpu)
			continue;
		if (p->port_type != HOMI_PORT_DOWNSTREAM && p->port_type != HOMI_PORT_ROOT)
			continue;
		judge_port(p, iommu_on, r, f);
		judged++;
	}
	if (!judged) {
		_cleanup_free_ char *subject = pair_subject(f);
		homi_report_add(r, "acs", subject ? subject : f->label, f, HOMI_MODES_ALL, HOMI_CHECK_PASS,
				homi_fmt("no downstream port lies between them below %s: nothing to redirect", f->common),
				NULL);
	}
}
