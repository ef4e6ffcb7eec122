/* SPDX-License-Identifier: MIT */
/* homictl vf assign | vf unassign | ns attach | ns detach: imperative
 * changes kept as an overlay on the policies (src/overlay.h). Each builds the
 * new desired state of one PF and goes through the same plan and apply; the
 * overlay is saved only once the apply succeeded. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "defaults.h"
#include "homictl.h"
#include "overlay.h"
#include "policy.h"

struct change {
	char pf[HOMI_ADDR_LEN];
	unsigned vf;
	struct homi_want_vf spec; /* what the VF gets */
	bool remove;              /* vf unassign */
};

static int parse_pf_vf(struct ctl *ctl, const char *pf, const char *vf, struct change *c)
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

static char *origin(const char *what)
{
	char when[32], *s = NULL;
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if (asprintf(&s, "homictl %s (uid %u, %s)", what, (unsigned)getuid(), when) < 0)
		s = NULL;
	return s;
}

/* The VF's current desired state: its overlay entry, else what the
 * policies give it, else nothing (offline, unbound). */
static int base_spec(struct ctl *ctl, struct homi_host *h, const struct homi_overlay *o, struct change *c)
{
	const struct homi_overlay_entry *e = homi_overlay_find(o, c->pf, c->vf);
	struct homi_overlay none = { 0 };
	struct homi_desired *d = NULL;
	int r;

	if (e)
		return homi_want_vf_copy(&c->spec, &e->vf) < 0 ? ctl_fail(ctl, EXIT_ERROR, ENOMEM, "out of memory")
							      : EXIT_OK;
	r = ctl_desired(ctl, h, 0, NULL, &none, &d);
	if (r != EXIT_OK)
		return r;
	const struct homi_want_pf *w = homi_desired_find(d, c->pf);
	const struct homi_want_vf *v = w ? homi_want_pf_find_vf(w, c->vf) : NULL;
	if (v)
		r = homi_want_vf_copy(&c->spec, v) < 0 ? ctl_fail(ctl, EXIT_ERROR, ENOMEM, "out of memory") : EXIT_OK;
	else
		c->spec = (struct homi_want_vf){ .vf = c->vf, .vq = -1, .vi = -1, .mode = -1 };
	homi_desired_free(d);
	return r;
}

/* Applies the overlay with C in it; saves it when the apply succeeded. */
static int commit_change(struct ctl *ctl, struct homi_host *h, struct homi_overlay *o, struct change *c)
{
	struct homi_desired *d = NULL;
	bool runtime = ctl_opt(ctl, "runtime") != NULL;
	int r, e;

	if (c->remove) {
		if (homi_overlay_remove(o, c->pf, c->vf) < 0)
			return ctl_fail(ctl, EXIT_ERROR, ENOENT, "%s: VF %u has no imperative assignment to remove", c->pf,
					c->vf);
	} else {
		const struct homi_overlay_entry *old = homi_overlay_find(o, c->pf, c->vf);
		e = homi_overlay_set(o, c->pf, &c->spec, runtime || (old && old->runtime && !ctl_opt(ctl, "runtime")));
		if (e < 0)
			return ctl_fail(ctl, EXIT_ERROR, -e, "%s: %s", c->pf, strerror(-e));
	}
	r = ctl_desired(ctl, h, 0, NULL, o, &d);
	if (r != EXIT_OK)
		return r;
	struct homi_plan_opts popts = { .force = ctl_opt(ctl, "force") != NULL, .only_pf = c->pf };
	r = ctl_run_apply(ctl, h, d, &popts);
	homi_desired_free(d);
	if (r != EXIT_OK)
		return r; /* the overlay on disk is unchanged */
	e = homi_overlay_save(o, homi_state_dir(), homi_run_dir());
	if (e < 0)
		return ctl_fail(ctl, EXIT_ERROR, -e, "%s/overlay.json: %s (the device was changed; the overlay was not saved)",
				homi_state_dir(), strerror(-e));
	return EXIT_OK;
}

/* Common frame: parse PF VF, open the host, load the overlay, let EDIT
 * change the spec, commit. */
static int change_vf(struct ctl *ctl, const char *pf, const char *vf, const char *what,
		     int (*edit)(struct ctl *ctl, struct change *c, void *arg), void *arg, bool remove)
{
	struct change c = { .remove = remove };
	struct homi_host *h = NULL;
	struct homi_overlay *o = NULL;
	int r = parse_pf_vf(ctl, pf, vf, &c), e;

	if (r != EXIT_OK)
		return r;
	r = ctl_open_host(ctl, &h);
	if (r != EXIT_OK)
		return r;
	e = homi_overlay_load(homi_state_dir(), homi_run_dir(), &o);
	if (e < 0) {
		homi_host_free(h);
		return ctl_fail(ctl, EXIT_ERROR, -e, "%s/overlay.json: %s", homi_state_dir(), strerror(-e));
	}
	if (!remove) {
		r = base_spec(ctl, h, o, &c);
		if (r == EXIT_OK)
			r = edit(ctl, &c, arg);
		if (r == EXIT_OK) {
			free(c.spec.origin);
			c.spec.origin = origin(what);
		}
	}
	if (r == EXIT_OK)
		r = commit_change(ctl, h, o, &c);
	homi_want_vf_done(&c.spec);
	homi_overlay_free(o);
	homi_host_free(h);
	return r;
}

static int edit_assign(struct ctl *ctl, struct change *c, void *arg)
{
	const struct ctl_command *cmd = arg;
	const char *drv = ctl_opt(ctl, "driver");
	long vq = -1, vi = -1;
	int r;

	if (!drv)
		return ctl_usage_error(cmd, "--driver vfio-pci|nvme|none is required");
	if (homi_vf_driver_from_name(drv, &c->spec.driver) < 0)
		return ctl_usage_error(cmd, "--driver: expected vfio-pci, nvme or none, got '%s'", drv);
	r = ctl_opt_int(ctl, cmd, "vq", 2, 65535, &vq);
	if (r == EXIT_OK)
		r = ctl_opt_int(ctl, cmd, "vi", 1, 65535, &vi);
	if (r != EXIT_OK)
		return r;
	if ((vq < 0) != (vi < 0))
		return ctl_usage_error(cmd, "--vq and --vi go together: a VF is online exactly when it has both");
	if (vq >= 0) {
		c->spec.vq = (int)vq;
		c->spec.vi = (int)vi;
	}
	if (c->spec.driver != HOMI_VF_DRIVER_VFIO) {
		/* ownership of /dev/vfio only means something on vfio-pci */
		free(c->spec.owner);
		free(c->spec.group);
		c->spec.owner = c->spec.group = NULL;
		c->spec.mode = -1;
	}
	return EXIT_OK;
}

static const struct ctl_command assign_cmd = { .words = "vf assign",
					       .args = "PF VF --driver vfio-pci|nvme|none [--vq N] [--vi N] [--runtime]" };
static const struct ctl_command attach_cmd = { .words = "ns attach", .args = "PF NSID --vf VF [--access ro|rw]" };

int cmd_vf_assign(struct ctl *ctl, int argc, char **argv)
{
	return change_vf(ctl, argv[0], argv[1], "vf assign", edit_assign, (void *)&assign_cmd, false);
}

int cmd_vf_unassign(struct ctl *ctl, int argc, char **argv)
{
	return change_vf(ctl, argv[0], argv[1], "vf unassign", NULL, NULL, true);
}

struct ns_edit {
	uint32_t nsid;
	bool attach;
};

static int edit_ns(struct ctl *ctl, struct change *c, void *arg)
{
	const struct ns_edit *ne = arg;
	const char *access = ctl_opt(ctl, "access");
	size_t i;

	if (access && !streq(access, "ro") && !streq(access, "rw"))
		return ctl_usage_error(&attach_cmd, "--access: expected ro or rw, got '%s'", access);
	for (i = 0; i < c->spec.n_ns && c->spec.ns[i].nsid != ne->nsid; i++)
		;
	if (!ne->attach) {
		if (i == c->spec.n_ns)
			return ctl_fail(ctl, EXIT_ERROR, ENOENT, "%s: namespace %u is not given to VF %u", c->pf, ne->nsid,
					c->vf);
		memmove(&c->spec.ns[i], &c->spec.ns[i + 1], (c->spec.n_ns - i - 1) * sizeof(*c->spec.ns));
		c->spec.n_ns--;
		return EXIT_OK;
	}
	if (i == c->spec.n_ns) {
		struct homi_want_ns *n = realloc(c->spec.ns, (c->spec.n_ns + 1) * sizeof(*n));
		if (!n)
			return ctl_fail(ctl, EXIT_ERROR, ENOMEM, "out of memory");
		c->spec.ns = n;
		c->spec.n_ns++;
	}
	c->spec.ns[i] = (struct homi_want_ns){ .nsid = ne->nsid, .read_only = access && streq(access, "ro") };
	return EXIT_OK;
}

static int ns_command(struct ctl *ctl, int argc, char **argv, bool attach)
{
	const char *vf = ctl_opt(ctl, "vf");
	struct ns_edit ne = { .attach = attach };
	char *end;
	long nsid = strtol(argv[1], &end, 10);

	if (!vf)
		return ctl_usage_error(&attach_cmd, "--vf VF is required");
	if (!*argv[1] || *end || nsid < 1 || nsid > 0xfffffffeL)
		return ctl_usage_error(&attach_cmd, "NSID must be a namespace ID from 1, got '%s'", argv[1]);
	ne.nsid = (uint32_t)nsid;
	return change_vf(ctl, argv[0], vf, attach ? "ns attach" : "ns detach", edit_ns, &ne, false);
}

int cmd_ns_attach(struct ctl *ctl, int argc, char **argv) { return ns_command(ctl, argc, argv, true); }
int cmd_ns_detach(struct ctl *ctl, int argc, char **argv) { return ns_command(ctl, argc, argv, false); }
