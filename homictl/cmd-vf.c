/* SPDX-License-Identifier: MIT */
/* homictl vf assign | vf unassign | ns attach | ns detach: imperative
 * changes kept as an overlay on the policies (src/overlay.h). Each builds the
 * new desired state of one PF and goes through the same plan and apply; the
 * overlay is saved only once the apply succeeded. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "defaults.h"
#include "homictl.h"
#include "imperative.h"
#include "overlay.h"
#include "policy.h"

static int parse_pf_vf(struct ctl *ctl, const char *pf, const char *vf, struct homi_change *c)
{
	char *end;
	long n;

	if (homi_pci_parse_addr(pf, c->pf) < 0)
		return ctl_fail(ctl, EXIT_USAGE, EINVAL, "%s: not a PCI address (DDDD:BB:DD.F or BB:DD.F)", pf);
	n = strtol(vf ? vf : "", &end, 10);
	if (!vf || !*vf || *end || n < 1 || n > 65535)
		return ctl_fail(ctl, EXIT_USAGE, EINVAL, "%s: VF must be a VF number from 1 (sysfs virtfn0 is VF 1), got '%s'",
				c->pf, vf ? vf : "");
	c->vf = (unsigned)n;
	return EXIT_OK;
}

/* Edits the overlay with C, applies the result for C's PF, and saves the
 * overlay only once the apply succeeded: a refused change leaves nothing. */
/* Through homid: the same change, as a method. */
static int daemon_change(struct ctl *ctl, const struct homi_change *c)
{
	static const char *const methods[] = {
		[HOMI_CHANGE_VF_ASSIGN] = "vf.assign", [HOMI_CHANGE_VF_UNASSIGN] = "vf.unassign",
		[HOMI_CHANGE_NS_ATTACH] = "ns.attach", [HOMI_CHANGE_NS_DETACH] = "ns.detach",
	};
	json_t *p = json_pack("{s:s, s:i, s:b, s:b}", "pf", c->pf, "vf", (int)c->vf, "runtime",
			      ctl_opt(ctl, "runtime") != NULL, "force", ctl_opt(ctl, "force") != NULL);
	json_t *doc = NULL;
	int r;

	if (c->op == HOMI_CHANGE_VF_ASSIGN) {
		json_object_set_new(p, "driver", json_string(homi_vf_driver_name(c->driver)));
		if (c->vq >= 0) {
			json_object_set_new(p, "vq", json_integer(c->vq));
			json_object_set_new(p, "vi", json_integer(c->vi));
		}
	}
	if (c->op == HOMI_CHANGE_NS_ATTACH || c->op == HOMI_CHANGE_NS_DETACH) {
		json_object_set_new(p, "nsid", json_integer(c->nsid));
		json_object_set_new(p, "access", json_string(c->read_only ? "ro" : "rw"));
	}
	r = ctl_call(ctl, methods[c->op], p, &doc);
	if (r != EXIT_OK)
		return r;
	if (ctl->json)
		ctl_print_json(ctl, json_incref(doc));
	else
		ctl_print_apply_doc(doc);
	json_decref(doc);
	return EXIT_OK;
}

static int commit_change(struct ctl *ctl, struct homi_change *c, const char *what)
{
	_cleanup_free_ char *origin = homi_change_origin("homictl", what, (unsigned)getuid());
	_cleanup_free_ char *error = NULL;
	struct homi_overlay none = { 0 };
	struct homi_host *h = NULL;
	struct homi_overlay *o = NULL;
	struct homi_desired *policy_only = NULL, *d = NULL;
	int r, e;

	c->origin = origin;
	c->runtime = ctl_opt(ctl, "runtime") != NULL;
	if (ctl->daemon)
		return daemon_change(ctl, c);
	r = ctl_open_host(ctl, &h);
	if (r != EXIT_OK)
		return r;
	e = homi_overlay_load(homi_state_dir(), homi_run_dir(), &o);
	if (e < 0) {
		r = ctl_fail(ctl, EXIT_ERROR, -e, "%s/overlay.json: %s", homi_state_dir(), strerror(-e));
		goto out;
	}
	r = ctl_desired(ctl, h, 0, NULL, &none, &policy_only);
	if (r != EXIT_OK)
		goto out;
	e = homi_change_edit(o, policy_only, c, &error);
	if (e < 0) {
		r = ctl_fail(ctl, EXIT_ERROR, -e, "%s", error ? error : strerror(-e));
		goto out;
	}
	r = ctl_desired(ctl, h, 0, NULL, o, &d);
	if (r != EXIT_OK)
		goto out;
	struct homi_plan_opts popts = { .force = ctl_opt(ctl, "force") != NULL, .only_pf = c->pf };
	r = ctl_run_apply(ctl, h, d, &popts);
	if (r != EXIT_OK)
		goto out; /* the overlay on disk is unchanged */
	e = homi_overlay_save(o, homi_state_dir(), homi_run_dir());
	if (e < 0)
		r = ctl_fail(ctl, EXIT_ERROR, -e, "%s/overlay.json: %s (the device was changed; the overlay was not saved)",
			     homi_state_dir(), strerror(-e));
out:
	homi_desired_free(d);
	homi_desired_free(policy_only);
	homi_overlay_free(o);
	homi_host_free(h);
	return r;
}

static const struct ctl_command assign_cmd = { .words = "vf assign",
					       .args = "PF VF --driver vfio-pci|nvme|none [--vq N] [--vi N] [--runtime]" };
static const struct ctl_command attach_cmd = { .words = "ns attach", .args = "PF NSID --vf VF [--access ro|rw]" };

int cmd_vf_assign(struct ctl *ctl, int argc, char **argv)
{
	struct homi_change c = { .op = HOMI_CHANGE_VF_ASSIGN, .vq = -1, .vi = -1 };
	const char *drv = ctl_opt(ctl, "driver");
	long vq = -1, vi = -1;
	int r = parse_pf_vf(ctl, argv[0], argv[1], &c);

	if (r != EXIT_OK)
		return r;
	if (!drv)
		return ctl_usage_error(&assign_cmd, "--driver vfio-pci|nvme|none is required");
	if (homi_vf_driver_from_name(drv, &c.driver) < 0)
		return ctl_usage_error(&assign_cmd, "--driver: expected vfio-pci, nvme or none, got '%s'", drv);
	r = ctl_opt_int(ctl, &assign_cmd, "vq", 2, 65535, &vq);
	if (r == EXIT_OK)
		r = ctl_opt_int(ctl, &assign_cmd, "vi", 1, 65535, &vi);
	if (r != EXIT_OK)
		return r;
	if ((vq < 0) != (vi < 0))
		return ctl_usage_error(&assign_cmd, "--vq and --vi go together: a VF is online exactly when it has both");
	c.vq = (int)vq;
	c.vi = (int)vi;
	return commit_change(ctl, &c, "vf assign");
}

int cmd_vf_unassign(struct ctl *ctl, int argc, char **argv)
{
	struct homi_change c = { .op = HOMI_CHANGE_VF_UNASSIGN };
	int r = parse_pf_vf(ctl, argv[0], argv[1], &c);

	return r != EXIT_OK ? r : commit_change(ctl, &c, "vf unassign");
}

static int ns_command(struct ctl *ctl, int argc, char **argv, bool attach)
{
	struct homi_change c = { .op = attach ? HOMI_CHANGE_NS_ATTACH : HOMI_CHANGE_NS_DETACH };
	const char *vf = ctl_opt(ctl, "vf"), *access = ctl_opt(ctl, "access");
	char *end;
	long nsid = strtol(argv[1], &end, 10);
	int r;

	if (!vf)
		return ctl_usage_error(&attach_cmd, "--vf VF is required");
	if (!*argv[1] || *end || nsid < 1 || nsid > 0xfffffffeL)
		return ctl_usage_error(&attach_cmd, "NSID must be a namespace ID from 1, got '%s'", argv[1]);
	if (access && !streq(access, "ro") && !streq(access, "rw"))
		return ctl_usage_error(&attach_cmd, "--access: expected ro or rw, got '%s'", access);
	r = parse_pf_vf(ctl, argv[0], vf, &c);
	if (r != EXIT_OK)
		return r;
	c.nsid = (uint32_t)nsid;
	c.read_only = access && streq(access, "ro");
	return commit_change(ctl, &c, attach ? "ns attach" : "ns detach");
}

int cmd_ns_attach(struct ctl *ctl, int argc, char **argv) { return ns_command(ctl, argc, argv, true); }
int cmd_ns_detach(struct ctl *ctl, int argc, char **argv) { return ns_command(ctl, argc, argv, false); }
