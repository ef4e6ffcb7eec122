/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "strv.h"
#include "macro.h"
#include "pci.h"
#include "plan-json.h"
#include "state.h"

#define JOURNAL "journal.json"
#define MAX_ROUNDS 3

#define MAX_UNDO_STEPS 4096 /* of one forward step, as a journal may hold them */

/* The inverse of one forward step: its steps run in its place in the
 * rollback, its late ones (step.late) once every other undo step is done. */
struct undo {
	struct homi_step *steps;
	size_t n;
};

/* A late undo step waiting for the end of the rollback. */
struct pending {
	struct homi_step step;
	size_t of;                   /* the forward step it undoes */
};

struct run {
	struct homi_host *h;
	const struct homi_apply_opts *opts;
	struct homi_apply_result *res;
	struct homi_step *forward;   /* every step started, in order */
	struct undo *undo;
	size_t n;
	char recorded[16][HOMI_ADDR_LEN]; /* PFs whose ownership this run recorded */
	size_t n_recorded;
	struct pending *pending;     /* rollback: late undo steps still to run, in order */
	size_t n_pending;
	size_t done;                 /* rollback: undo steps of the newest step to undo already run */
};

static void run_free_undo(struct run *run)
{
	for (size_t i = 0; run->undo && i < run->n; i++)
		free(run->undo[i].steps);
	free(run->undo);
	free(run->forward);
	free(run->pending);
	run->undo = NULL;
	run->forward = NULL;
	run->pending = NULL;
	run->n = run->n_pending = 0;
}

/* ---- reading the current state ---------------------------------------- */

static int find_secondary(struct homi_host *h, const char *pf, uint16_t cntlid, struct homi_secondary *ret)
{
	_cleanup_free_ struct homi_secondary *sec = NULL;
	size_t n = 0;
	int status, r = h->ops->secondaries(h, pf, &sec, &n, &status);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (sec[i].scid == cntlid) {
			*ret = sec[i];
			return 0;
		}
	return -ENOENT;
}

struct fn_state {
	int num_vfs, autoprobe, iommu_group;
	char driver[16];
};

static int function_state(struct homi_host *h, const char *addr, struct fn_state *ret)
{
	struct homi_topology *t = NULL;
	int r = h->ops->topology(h, &t);
	ssize_t i;

	if (r < 0)
		return r;
	i = homi_topology_find(t, addr);
	if (i < 0) {
		homi_topology_free(t);
		return -ENODEV;
	}
	const struct homi_device *d = &t->devices[i];
	*ret = (struct fn_state){ d->sriov.num_vfs, d->sriov.drivers_autoprobe, d->iommu_group, "" };
	snprintf(ret->driver, sizeof(ret->driver), "%s", d->driver ? d->driver : "");
	homi_topology_free(t);
	return 0;
}

static int ns_has_ctrl(struct homi_host *h, const char *pf, uint32_t nsid, uint16_t cntlid)
{
	_cleanup_free_ uint16_t *c = NULL;
	size_t n = 0;
	int status, r = h->ops->ns_controllers(h, pf, nsid, &c, &n, &status);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (c[i] == cntlid)
			return 1;
	return 0;
}

/* ---- executing one step ------------------------------------------------ */

static int vf_group(struct homi_host *h, const char *vf)
{
	struct fn_state st;
	int r = function_state(h, vf, &st);
	return r < 0 ? r : (st.iommu_group < 0 ? -ENOENT : st.iommu_group);
}

static int exec_step(struct homi_host *h, const struct homi_step *s, int *status)
{
	char v[32];
	int r, g;

	*status = 0;
	switch (s->op) {
	case HOMI_OP_DISABLE_VFS:
		return h->ops->write_attr(h, s->pf, "sriov_numvfs", "0");
	case HOMI_OP_ENABLE_VFS:
		snprintf(v, sizeof(v), "%d", s->count);
		return h->ops->write_attr(h, s->pf, "sriov_numvfs", v);
	case HOMI_OP_PRIMARY_FLEX:
		return h->ops->virt_mgmt(h, s->pf, HOMI_VM_ACT_PRIMARY_FLEX, s->resource, s->cntlid,
					 (uint16_t)s->count, status);
	case HOMI_OP_RESET_PF:
		return h->ops->write_attr(h, s->pf, "reset", "1");
	case HOMI_OP_SET_AUTOPROBE:
		return h->ops->write_attr(h, s->pf, "sriov_drivers_autoprobe", s->value ? "1" : "0");
	case HOMI_OP_SECONDARY_OFFLINE:
		return h->ops->virt_mgmt(h, s->pf, HOMI_VM_ACT_OFFLINE, HOMI_VM_RT_VQ, s->cntlid, 0, status);
	case HOMI_OP_ASSIGN:
		return h->ops->virt_mgmt(h, s->pf, HOMI_VM_ACT_ASSIGN, s->resource, s->cntlid, (uint16_t)s->count,
					 status);
	case HOMI_OP_SECONDARY_ONLINE:
		return h->ops->virt_mgmt(h, s->pf, HOMI_VM_ACT_ONLINE, HOMI_VM_RT_VQ, s->cntlid, 0, status);
	case HOMI_OP_ATTACH_NS:
	case HOMI_OP_DETACH_NS:
		return h->ops->ns_attach(h, s->pf, s->nsid, s->cntlid, s->op == HOMI_OP_ATTACH_NS, status);
	case HOMI_OP_BIND:
		r = h->ops->write_attr(h, s->vf_pci, "driver_override", s->driver);
		if (r < 0)
			return r;
		r = h->ops->drivers_probe(h, s->vf_pci);
		if (r >= 0 && s->restore_override)
			r = h->ops->write_attr(h, s->vf_pci, "driver_override", s->override);
		return r;
	case HOMI_OP_UNBIND:
		r = h->ops->unbind(h, s->vf_pci, s->driver);
		if (r >= 0 && s->restore_override)
			r = h->ops->write_attr(h, s->vf_pci, "driver_override", s->override);
		return r;
	case HOMI_OP_SET_VFIO_OWNER:
		g = vf_group(h, s->vf_pci);
		if (g < 0)
			return g;
		uid_t uid = s->uid;
		gid_t gid = s->gid;
		mode_t mode = s->mode >= 0 ? (mode_t)s->mode : 0;
		if (s->uid == (uid_t)-1 || s->gid == (gid_t)-1 || s->mode < 0) {
			uid_t u;
			gid_t gg;
			mode_t m;
			r = h->ops->vfio_node(h, g, &u, &gg, &m);
			if (r < 0)
				return r;
			uid = s->uid == (uid_t)-1 ? u : uid;
			gid = s->gid == (gid_t)-1 ? gg : gid;
			mode = s->mode < 0 ? m : mode;
		}
		return h->ops->vfio_chown(h, g, uid, gid, mode);
	default:
		return -EINVAL;
	}
}

/* Checks that a step's effect holds; a one-line reason when not. */
static char *verify_step(struct homi_host *h, const struct homi_step *s)
{
	struct homi_secondary sec;
	struct fn_state st;
	int r;

	switch (s->op) {
	case HOMI_OP_DISABLE_VFS:
	case HOMI_OP_ENABLE_VFS:
	case HOMI_OP_SET_AUTOPROBE:
		r = function_state(h, s->pf, &st);
		if (r < 0)
			return homi_fmt("%s: cannot re-read: %s", s->pf, strerror(-r));
		if (s->op == HOMI_OP_SET_AUTOPROBE && st.autoprobe != s->value)
			return homi_fmt("%s: sriov_drivers_autoprobe reads %d after writing %d", s->pf, st.autoprobe, s->value);
		if (s->op != HOMI_OP_SET_AUTOPROBE && st.num_vfs != (s->op == HOMI_OP_DISABLE_VFS ? 0 : s->count))
			return homi_fmt("%s: sriov_numvfs reads %d after the write", s->pf, st.num_vfs);
		return NULL;
	case HOMI_OP_SECONDARY_OFFLINE:
	case HOMI_OP_SECONDARY_ONLINE:
	case HOMI_OP_ASSIGN:
		r = find_secondary(h, s->pf, s->cntlid, &sec);
		if (r < 0)
			return homi_fmt("%s: secondary controller %u: cannot re-read: %s", s->pf, s->cntlid, strerror(-r));
		if (s->op == HOMI_OP_SECONDARY_ONLINE && !sec.online)
			return homi_fmt("%s: secondary controller %u is still offline", s->pf, s->cntlid);
		if (s->op == HOMI_OP_SECONDARY_OFFLINE && sec.online)
			return homi_fmt("%s: secondary controller %u is still online", s->pf, s->cntlid);
		if (s->op == HOMI_OP_ASSIGN && (s->resource == HOMI_VM_RT_VI ? sec.nvi : sec.nvq) != s->count)
			return homi_fmt("%s: secondary controller %u has %u %s after assigning %d", s->pf, s->cntlid,
				   s->resource == HOMI_VM_RT_VI ? sec.nvi : sec.nvq,
				   s->resource == HOMI_VM_RT_VI ? "VI" : "VQ", s->count);
		return NULL;
	case HOMI_OP_ATTACH_NS:
	case HOMI_OP_DETACH_NS:
		r = ns_has_ctrl(h, s->pf, s->nsid, s->cntlid);
		if (r < 0)
			return homi_fmt("%s: namespace %u: cannot re-read its controllers: %s", s->pf, s->nsid, strerror(-r));
		if (r != (s->op == HOMI_OP_ATTACH_NS))
			return homi_fmt("%s: namespace %u is %s controller %u", s->pf, s->nsid, r ? "still attached to" : "not attached to",
				   s->cntlid);
		return NULL;
	case HOMI_OP_BIND:
	case HOMI_OP_UNBIND:
		r = function_state(h, s->vf_pci, &st);
		if (r < 0)
			return homi_fmt("%s: cannot re-read: %s", s->vf_pci, strerror(-r));
		if (s->op == HOMI_OP_BIND && !streq(st.driver, s->driver))
			return homi_fmt("%s: not bound to %s after drivers_probe (driver: %s)", s->vf_pci, s->driver,
				   st.driver[0] ? st.driver : "none");
		if (s->op == HOMI_OP_UNBIND && st.driver[0])
			return homi_fmt("%s: still bound to %s", s->vf_pci, st.driver);
		return NULL;
	case HOMI_OP_SET_VFIO_OWNER: {
		uid_t uid;
		gid_t gid;
		mode_t mode;
		int g = vf_group(h, s->vf_pci);
		if (g < 0 || (r = h->ops->vfio_node(h, g, &uid, &gid, &mode)) < 0)
			return homi_fmt("%s: cannot stat its /dev/vfio node", s->vf_pci);
		if ((s->uid != (uid_t)-1 && uid != s->uid) || (s->gid != (gid_t)-1 && gid != s->gid) ||
		    (s->mode >= 0 && (int)(mode & 07777) != s->mode))
			return homi_fmt("%s: /dev/vfio/%d is %u:%u %04o after the change", s->vf_pci, g, uid, gid, mode & 07777);
		return NULL;
	}
	default:
		return NULL; /* primary-flex is staged; reset-pf is checked by the final re-plan */
	}
}

/* Whether verify_step checks all that step S does (primary-flex is staged
 * and not seen; an override written back after a bind is not checked). */
static bool verify_covers(const struct homi_step *s)
{
	switch (s->op) {
	case HOMI_OP_PRIMARY_FLEX:
	case HOMI_OP_RESET_PF:
		return false;
	case HOMI_OP_BIND:
	case HOMI_OP_UNBIND:
		return !s->restore_override;
	default:
		return true;
	}
}

/* ---- undo ---------------------------------------------------------------- */

static struct homi_step *undo_add(struct undo *u, const struct homi_step *like, enum homi_op op)
{
	struct homi_step *s;

	if (u->n >= MAX_UNDO_STEPS)
		return NULL;
	s = realloc(u->steps, (u->n + 1) * sizeof(*s));
	if (!s)
		return NULL;
	u->steps = s;
	s = &u->steps[u->n++];
	*s = (struct homi_step){ .op = op, .mode = -1, .uid = (uid_t)-1, .gid = (gid_t)-1, .vf = like->vf };
	memcpy(s->pf, like->pf, HOMI_ADDR_LEN);
	memcpy(s->vf_pci, like->vf_pci, HOMI_ADDR_LEN);
	s->cntlid = like->cntlid;
	s->nsid = like->nsid;
	return s;
}

#define ADD(x, u, like, op)                          \
	do {                                         \
		if (!((x) = undo_add(u, like, op)))  \
			return -ENOMEM;              \
	} while (0)

/* Undo steps that give /dev/vfio/GROUP back its owner, group and mode. */
static int undo_vfio_node(struct homi_host *h, const struct homi_step *like, int group, bool late, struct undo *u)
{
	struct homi_step *x;
	uid_t uid;
	gid_t gid;
	mode_t mode;

	if (group < 0 || h->ops->vfio_node(h, group, &uid, &gid, &mode) < 0)
		return 0; /* no node: nothing to give back */
	ADD(x, u, like, HOMI_OP_SET_VFIO_OWNER);
	x->uid = uid;
	x->gid = gid;
	x->mode = (int)(mode & 07777);
	x->late = late;
	return 0;
}

/* Late undo steps that give VF number VFN (ADDR) of PF back what it has
 * now: each namespace of the PF attached or not to its secondary (when
 * SEC, the Secondary Controller List, is known), its driver with its
 * driver_override, its /dev/vfio node. */
static int undo_vf_late(struct homi_host *h, const struct homi_topology *t, const struct homi_step *pf,
			const char *addr, unsigned vfn, const struct homi_secondary *sec, size_t n_sec,
			const uint32_t *ns, size_t n_ns, struct undo *u)
{
	struct homi_step like = *pf, *x;
	ssize_t i = homi_topology_find(t, addr);
	char ov[32];
	int r;

	if (i < 0)
		return 0;
	const struct homi_device *d = &t->devices[i];
	like.vf = vfn;
	memcpy(like.vf_pci, d->pci, HOMI_ADDR_LEN);
	for (size_t k = 0; k < n_sec; k++) {
		if (sec[k].vfn != vfn)
			continue;
		for (size_t n = 0; n < n_ns; n++) {
			r = ns_has_ctrl(h, pf->pf, ns[n], sec[k].scid);
			if (r < 0)
				continue;
			ADD(x, u, &like, r ? HOMI_OP_ATTACH_NS : HOMI_OP_DETACH_NS);
			x->nsid = ns[n];
			x->cntlid = sec[k].scid;
			x->late = true;
		}
	}
	if (!d->driver)
		return 0; /* an override without a driver is not given back */
	r = h->ops->read_attr(h, d->pci, "driver_override", ov, sizeof(ov));
	if (r < 0 || streq(ov, "(null)"))
		ov[0] = '\0';
	ADD(x, u, &like, HOMI_OP_BIND);
	snprintf(x->driver, sizeof(x->driver), "%s", d->driver);
	x->restore_override = true;
	snprintf(x->override, sizeof(x->override), "%s", ov);
	x->late = true;
	return streq(d->driver, "vfio-pci") ? undo_vfio_node(h, &like, d->iommu_group, true, u) : 0;
}

/* Disabling VFs loses all they had; enabling them again gives bare VFs.
 * What each VF of S->pf has now, as late undo steps. */
static int undo_vfs_late(struct homi_host *h, const struct homi_step *s, struct undo *u)
{
	_cleanup_free_ struct homi_secondary *sec = NULL;
	_cleanup_free_ uint32_t *ns = NULL;
	struct homi_topology *t = NULL;
	size_t n_sec = 0, n_ns = 0;
	ssize_t i;
	int status, r;

	if (h->ops->secondaries(h, s->pf, &sec, &n_sec, &status) < 0) {
		sec = NULL; /* fixed resources: VF controllers unknown, namespaces left as they come */
		n_sec = 0;
	}
	if (h->ops->namespaces(h, s->pf, &ns, &n_ns, &status) < 0) {
		ns = NULL;
		n_ns = 0;
	}
	r = h->ops->topology(h, &t);
	if (r < 0)
		return r;
	i = homi_topology_find(t, s->pf);
	for (size_t v = 0; i >= 0 && r >= 0 && v < t->devices[i].n_vfs; v++)
		r = undo_vf_late(h, t, s, t->devices[i].vfs[v], (unsigned)v + 1, sec, n_sec, ns, n_ns, u);
	homi_topology_free(t);
	return i < 0 ? -ENODEV : r;
}

/* What undoes S, computed from the state just before it runs. */
static int compute_undo(struct homi_host *h, const struct homi_step *s, struct undo *u)
{
	struct homi_primary_caps caps;
	struct homi_secondary sec;
	struct fn_state st;
	struct homi_step *x;
	char ov[32];
	int r, status;

	switch (s->op) {
	case HOMI_OP_DISABLE_VFS:
		r = function_state(h, s->pf, &st);
		if (r < 0 || st.num_vfs <= 0)
			return r;
		ADD(x, u, s, HOMI_OP_ENABLE_VFS);
		x->count = st.num_vfs;
		return undo_vfs_late(h, s, u);
	case HOMI_OP_ENABLE_VFS:
		ADD(x, u, s, HOMI_OP_DISABLE_VFS);
		return 0;
	case HOMI_OP_PRIMARY_FLEX:
		r = h->ops->primary_caps(h, s->pf, &caps, &status);
		if (r < 0)
			return r;
		ADD(x, u, s, HOMI_OP_PRIMARY_FLEX);
		x->resource = s->resource;
		x->count = s->resource == HOMI_VM_RT_VI ? caps.virfap : caps.vqrfap;
		x->value = s->value;
		if (!s->value) /* a staging only (plan.h) is undone without a reset */
			ADD(x, u, s, HOMI_OP_RESET_PF);
		return 0;
	case HOMI_OP_RESET_PF:
		return 0; /* undone by the primary-flex undo */
	case HOMI_OP_SET_AUTOPROBE:
		r = function_state(h, s->pf, &st);
		if (r < 0)
			return r;
		ADD(x, u, s, HOMI_OP_SET_AUTOPROBE);
		x->value = st.autoprobe;
		return 0;
	case HOMI_OP_SECONDARY_OFFLINE:
	case HOMI_OP_ASSIGN:
		r = find_secondary(h, s->pf, s->cntlid, &sec);
		if (r < 0)
			return r;
		if (s->op == HOMI_OP_ASSIGN) {
			ADD(x, u, s, HOMI_OP_ASSIGN);
			x->resource = s->resource;
			x->count = s->resource == HOMI_VM_RT_VI ? sec.nvi : sec.nvq;
			return 0;
		}
		if (!sec.online)
			return 0;
		ADD(x, u, s, HOMI_OP_ASSIGN);
		x->resource = HOMI_VM_RT_VQ;
		x->count = sec.nvq;
		ADD(x, u, s, HOMI_OP_ASSIGN);
		x->resource = HOMI_VM_RT_VI;
		x->count = sec.nvi;
		ADD(x, u, s, HOMI_OP_SECONDARY_ONLINE);
		return 0;
	case HOMI_OP_SECONDARY_ONLINE:
		ADD(x, u, s, HOMI_OP_SECONDARY_OFFLINE);
		return 0;
	case HOMI_OP_ATTACH_NS:
		ADD(x, u, s, HOMI_OP_DETACH_NS);
		return 0;
	case HOMI_OP_DETACH_NS:
		ADD(x, u, s, HOMI_OP_ATTACH_NS);
		return 0;
	case HOMI_OP_BIND:
	case HOMI_OP_UNBIND:
		r = function_state(h, s->vf_pci, &st);
		if (r < 0)
			return r;
		r = h->ops->read_attr(h, s->vf_pci, "driver_override", ov, sizeof(ov));
		if (r < 0 || streq(ov, "(null)"))
			ov[0] = '\0';
		if (s->op == HOMI_OP_BIND) {
			ADD(x, u, s, HOMI_OP_UNBIND);
			snprintf(x->driver, sizeof(x->driver), "%s", s->driver);
		} else {
			ADD(x, u, s, HOMI_OP_BIND);
			snprintf(x->driver, sizeof(x->driver), "%s", st.driver);
		}
		x->restore_override = true;
		snprintf(x->override, sizeof(x->override), "%s", ov);
		/* vfio-pci's node comes back root:root 0600 with the bind */
		if (s->op == HOMI_OP_UNBIND && streq(st.driver, "vfio-pci"))
			return undo_vfio_node(h, s, st.iommu_group, false, u);
		return 0;
	case HOMI_OP_SET_VFIO_OWNER:
		r = vf_group(h, s->vf_pci);
		if (r < 0)
			return r;
		r = undo_vfio_node(h, s, r, false, u);
		return r < 0 ? r : u->n ? 0 : -ENOENT;
	default:
		return -EINVAL;
	}
}

/* A step whose effect already holds is done: the controller may attach
 * shared namespaces to new VFs by itself, an undo may meet a half-done step. */
static bool effect_holds(const struct homi_step *s, int r, int status)
{
	unsigned sc = (unsigned)status & 0x7ff;
	if (s->op == HOMI_OP_ATTACH_NS && r == -EIO && sc == 0x118)
		return true;
	if (s->op == HOMI_OP_DETACH_NS && r == -EIO && sc == 0x11a)
		return true;
	if (s->op == HOMI_OP_UNBIND && r == -ENODEV)
		return true;
	return false;
}

/* ---- journal ------------------------------------------------------------- */

static json_t *steps_json(const struct homi_step *s, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, homi_step_to_json(&s[i]));
	return a;
}

/* An undo step with what homi_step_to_json leaves out. */
static json_t *undo_step_json(const struct homi_step *s)
{
	json_t *j = homi_step_to_json(s);

	if (s->restore_override) /* the override to restore travels with the step */
		json_object_set_new(j, "restore-override", json_string(s->override));
	if (s->late)
		json_object_set_new(j, "late", json_true());
	return j;
}

static int undo_step_from_json(const json_t *j, struct homi_step *ret)
{
	const char *ov = json_string_value(json_object_get(j, "restore-override"));

	if (homi_step_from_json(j, ret) < 0)
		return -EBADMSG;
	if (ov) {
		ret->restore_override = true;
		snprintf(ret->override, sizeof(ret->override), "%s", ov);
	}
	ret->late = json_is_true(json_object_get(j, "late"));
	return 0;
}

/* The journal: the forward steps started, what undoes each, NEXT: how many
 * of them are still to undo (all, until a rollback starts), DONE: how many
 * undo steps of the newest of those already ran, the late undo steps the
 * rollback has yet to run, the PFs whose ownership this run recorded
 * (forgotten again once everything is undone). */
static int journal_write(struct run *run, size_t next, size_t done)
{
	if (!run->opts->run_dir)
		return 0;
	json_t *o = json_object(), *undo = json_array(), *late = json_array(), *recorded = json_array();
	for (size_t i = 0; i < run->n; i++) {
		json_t *u = json_array();
		for (size_t k = 0; k < run->undo[i].n; k++)
			json_array_append_new(u, undo_step_json(&run->undo[i].steps[k]));
		json_array_append_new(undo, u);
	}
	for (size_t i = 0; i < run->n_pending; i++) {
		json_t *l = undo_step_json(&run->pending[i].step);
		json_object_set_new(l, "of", json_integer((json_int_t)run->pending[i].of));
		json_array_append_new(late, l);
	}
	for (size_t i = 0; i < run->n_recorded; i++)
		json_array_append_new(recorded, json_string(run->recorded[i]));
	json_object_set_new(o, "homi-journal", json_integer(1));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "steps", steps_json(run->forward, run->n));
	json_object_set_new(o, "next", json_integer((json_int_t)next));
	if (done)
		json_object_set_new(o, "done", json_integer((json_int_t)done));
	json_object_set_new(o, "undo", undo);
	json_object_set_new(o, "late", late);
	json_object_set_new(o, "recorded", recorded);
	_cleanup_free_ char *text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	int r = homi_mkdir_p(run->opts->run_dir, 0755);
	return r < 0 ? r : homi_write_file_atomic(run->opts->run_dir, JOURNAL, text, 0600);
}

static void journal_remove(const struct homi_apply_opts *opts)
{
	char path[PATH_MAX];
	if (!opts->run_dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", opts->run_dir, JOURNAL);
	unlink(path);
}

/* ---- results -------------------------------------------------------------- */

static void result_add(struct homi_apply_result *res, const struct homi_step *s, char *error)
{
	struct homi_step_result *n = realloc(res->steps, (res->n_steps + 1) * sizeof(*n));
	if (!n) {
		free(error);
		return;
	}
	res->steps = n;
	res->steps[res->n_steps++] = (struct homi_step_result){ .step = *s, .error = error };
}

static void not_undone_add(struct homi_apply_result *res, const struct homi_step *s, char *why)
{
	struct homi_step *n = realloc(res->not_undone, (res->n_not_undone + 1) * sizeof(*n));
	char **w = realloc(res->not_undone_why, (res->n_not_undone + 1) * sizeof(*w));
	if (n)
		res->not_undone = n;
	if (w)
		res->not_undone_why = w;
	if (!n || !w) {
		free(why);
		return;
	}
	res->not_undone[res->n_not_undone] = *s;
	res->not_undone_why[res->n_not_undone++] = why;
}

/* A sleep:MS fail point: the step waits, then runs as usual. */
static void fp_sleep(struct homi_fp_hit hit)
{
	struct timespec ts = { hit.value / 1000, (long)(hit.value % 1000) * 1000000L };

	if (hit.action == HOMI_FP_SLEEP)
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
}

/* Runs undo step U of forward step I, and checks its effect as a forward
 * step's is checked: drivers_probe reports success even when nothing bound.
 * Whatever does not hold is reported as not undone (-EIO). -ECANCELED: it
 * was undone, and an undo: crash fail point asks the process to die. */
static int undo_one(struct run *run, const struct homi_step *u, size_t i)
{
	_cleanup_free_ char *d = homi_step_describe(u), *bad = NULL;
	struct homi_fp_hit hit;
	int status = 0, r;

	/* The step that failed may have done nothing, a crash may have come
	 * in the middle of a rollback: an undo whose effect already holds is
	 * not run again (assigning resources to an online secondary fails). */
	if (verify_covers(u) && !(bad = verify_step(run->h, u)))
		return 0;
	free(TAKE_PTR(bad));
	/* only undo steps that run count for undo: fail points */
	hit = homi_failpoints_hit_undo(run->opts->failpoints, homi_op_name(u->op));
	fp_sleep(hit);
	if (hit.action == HOMI_FP_ERRNO)
		r = -hit.value;
	else if (hit.action == HOMI_FP_NVME)
		status = hit.value, r = -EIO;
	else
		r = exec_step(run->h, u, &status);
	if (r < 0 && !effect_holds(u, r, status)) {
		not_undone_add(run->res, &run->forward[i],
			       homi_fmt("%s: %s", d ? d : homi_op_name(u->op), homi_host_strerror(r, status)));
		return -EIO;
	}
	bad = verify_step(run->h, u);
	if (bad) {
		not_undone_add(run->res, &run->forward[i], homi_fmt("%s: %s", d ? d : homi_op_name(u->op), bad));
		return -EIO;
	}
	return hit.action == HOMI_FP_CRASH ? -ECANCELED : 0;
}

static void mark_undone(struct run *run, size_t i, bool undone)
{
	struct homi_apply_result *res = run->res;

	for (size_t k = 0; k < res->n_steps; k++)
		if (!memcmp(&res->steps[k].step, &run->forward[i], sizeof(run->forward[i])))
			res->steps[k].undone = undone;
}

static bool pending_add(struct run *run, const struct homi_step *u, size_t of)
{
	struct pending *p = realloc(run->pending, (run->n_pending + 1) * sizeof(*p));

	if (!p)
		return false;
	run->pending = p;
	run->pending[run->n_pending++] = (struct pending){ .step = *u, .of = of };
	return true;
}

/* A primary-flex not undone leaves an allocation staged for the next reset
 * that Identify does not show: the PF's ownership record says so, and its
 * teardown (or homi's next reset of it) stages the wanted one again. */
static void mark_restage(struct run *run, const char *pf)
{
	struct homi_owned_set *set = NULL;
	const char *dir = run->opts->state_dir;
	const struct homi_owned *rec;

	if (!dir || homi_state_load(dir, &set) < 0) {
		homi_owned_set_free(set);
		return;
	}
	rec = homi_owned_find(set, pf);
	if (rec && !rec->restage_primary) {
		struct homi_owned r = *rec;
		r.restage_primary = true;
		homi_state_record(dir, &r);
	}
	homi_owned_set_free(set);
}

/* An undo: crash fail point: the undo step ran and the journal says so
 * (NEXT, DONE, the pending late steps); the process dies, or the caller
 * returns -ECANCELED and leaves the journal to homi_apply_recover. */
static int rollback_crash(struct run *run, size_t next, size_t done)
{
	journal_write(run, next, done);
	if (run->opts->crash_exits)
		_exit(137);
	return -ECANCELED;
}

/* Undoes the first NEXT started steps, newest first (of the newest, the
 * first run->done undo steps ran already: a rollback a crash interrupted);
 * then runs the late undo steps (pending ones first). The journal follows
 * each undo step. Returns 0, or -ECANCELED after an undo: crash fail point.
 *
 * An undo step that fails ends the undo of its forward step (the later
 * undo steps of that step build on it) but not the rollback: the older
 * steps are still undone, to come as close to the state before as can be.
 * Nothing is lost by what is left: the result names each forward step not
 * undone and why, and the ownership records the run made stay (they are
 * forgotten only once everything is undone), so a teardown, or any apply,
 * still knows each PF's original state. The journal is not kept for a
 * retry: what is left was computed against the state before the older
 * steps were undone, and replaying it after them is not sound (the fault
 * matrix showed it: the unbind undoing a bind that did nothing, replayed
 * after the rollback bound the VF's original driver again, unbinds that;
 * an unbind replayed after disable-vfs finds no VF). The next apply plans
 * from the state it observes instead, with the records. */
static int rollback(struct run *run, size_t next)
{
	struct homi_apply_result *res = run->res;
	size_t done = run->done;

	run->done = 0;
	for (size_t i = next; i-- > 0;) {
		int r = 0;
		size_t k = 0;

		if (i + 1 == next)
			k = done < run->undo[i].n ? done : run->undo[i].n;
		for (; k < run->undo[i].n; k++) {
			const struct homi_step *u = &run->undo[i].steps[k];
			if (!u->late)
				r = undo_one(run, u, i);
			else if (!pending_add(run, u, i)) {
				not_undone_add(res, &run->forward[i], strdup("out of memory"));
				r = -ENOMEM;
			}
			if (r == -ECANCELED)
				return rollback_crash(run, i + 1, k + 1);
			if (r == -EIO && u->op == HOMI_OP_PRIMARY_FLEX)
				mark_restage(run, u->pf);
			if (r < 0)
				break;
			journal_write(run, i + 1, k + 1);
		}
		mark_undone(run, i, r >= 0);
		journal_write(run, i, 0); /* what is left to undo */
	}
	while (run->n_pending > 0) {
		struct pending p = run->pending[0];
		int r = undo_one(run, &p.step, p.of);
		if (r == -EIO)
			mark_undone(run, p.of, false);
		memmove(run->pending, run->pending + 1, --run->n_pending * sizeof(*run->pending));
		if (r == -ECANCELED)
			return rollback_crash(run, 0, 0);
		journal_write(run, 0, 0);
	}
	res->outcome = res->n_not_undone ? HOMI_APPLY_FAILED : HOMI_APPLY_ROLLED_BACK;
	for (size_t i = 0; run->opts->state_dir && !res->n_not_undone && i < run->n_recorded; i++)
		homi_state_forget(run->opts->state_dir, run->recorded[i]); /* back to where it started */
	journal_remove(run->opts);
	return 0;
}

/* ---- ownership -------------------------------------------------------------- */

static int record_owner(struct run *run, const struct homi_observed *o, const char *pf,
			const struct homi_owned_set *records)
{
	const struct homi_pf_observed *p = homi_observed_pf(o, pf);
	const char *dir = run->opts->state_dir;

	if (!dir || !p || homi_owned_find(records, pf))
		return 0;
	for (size_t i = 0; i < run->n_recorded; i++)
		if (streq(run->recorded[i], pf))
			return 0;
	const struct homi_device *d = &o->topology->devices[p->idx];
	struct homi_owned rec = {
		.num_vfs = d->sriov.num_vfs,
		.autoprobe = d->sriov.drivers_autoprobe,
		.vq_primary = p->flexible ? p->primary.vqrfap : -1,
		.vi_primary = p->flexible ? p->primary.virfap : -1,
	};
	memcpy(rec.pci, pf, HOMI_ADDR_LEN);
	snprintf(rec.serial, sizeof(rec.serial), "%s", d->nvme.serial ? d->nvme.serial : "");
	int r = homi_state_record(dir, &rec);
	if (r < 0)
		return r;
	if (run->n_recorded < ARRAY_SIZE(run->recorded))
		memcpy(run->recorded[run->n_recorded++], pf, HOMI_ADDR_LEN);
	return 0;
}

/* The primary's allocation staged again (state.h; the planner stages VI
 * last): what a failed undo may have staged is gone. */
static void restaged(const struct homi_apply_opts *opts, struct homi_owned_set *records, const struct homi_step *s)
{
	if (s->op != HOMI_OP_PRIMARY_FLEX || s->resource != HOMI_VM_RT_VI || !opts->state_dir || !records)
		return;
	for (size_t i = 0; i < records->n; i++)
		if (records->items[i].restage_primary && streq(records->items[i].pci, s->pf)) {
			records->items[i].restage_primary = false;
			homi_state_record(opts->state_dir, &records->items[i]);
		}
}

/* Owned PFs no policy wants, back in their recorded state, are released. */
static void forget_torn_down(const struct homi_apply_opts *opts, const struct homi_desired *want,
			     const struct homi_owned_set *records)
{
	for (size_t i = 0; opts->state_dir && records && i < records->n; i++)
		if (!homi_desired_find(want, records->items[i].pci))
			homi_state_forget(opts->state_dir, records->items[i].pci);
}

/* ---- the run ------------------------------------------------------------------ */

static int run_step(struct run *run, const struct homi_step *s)
{
	struct homi_fp_hit hit = homi_failpoints_hit(run->opts->failpoints, homi_op_name(s->op));
	struct homi_step *f = realloc(run->forward, (run->n + 1) * sizeof(*f));
	struct undo *u = realloc(run->undo, (run->n + 1) * sizeof(*u));
	int r, status = 0;

	if (f)
		run->forward = f;
	if (u)
		run->undo = u;
	if (!f || !u)
		return -ENOMEM;
	if (run->opts->cancel && ATOMIC_GET(*run->opts->cancel)) {
		result_add(run->res, s, homi_fmt("cancelled before %s: the daemon is stopping", homi_op_name(s->op)));
		return -EINTR;
	}
	run->undo[run->n] = (struct undo){ 0 };
	r = compute_undo(run->h, s, &run->undo[run->n]);
	if (r < 0) {
		free(run->undo[run->n].steps);
		result_add(run->res, s, homi_fmt("%s: cannot read the state before the step: %s", s->pf, strerror(-r)));
		return r;
	}
	run->forward[run->n++] = *s;
	r = journal_write(run, run->n, 0);
	if (r < 0) {
		free(run->undo[--run->n].steps);
		result_add(run->res, s, homi_fmt("journal: %s", strerror(-r)));
		return r;
	}
	fp_sleep(hit);
	if (hit.action == HOMI_FP_ERRNO)
		r = -hit.value;
	else if (hit.action == HOMI_FP_NVME)
		status = hit.value, r = -EIO;
	else if ((r = exec_step(run->h, s, &status)) < 0 && effect_holds(s, r, status))
		r = 0;
	if (r < 0) {
		_cleanup_free_ char *d = homi_step_describe(s);
		result_add(run->res, s, homi_fmt("%s: %s", d ? d : homi_op_name(s->op), homi_host_strerror(r, status)));
		return r;
	}
	char *bad = verify_step(run->h, s);
	result_add(run->res, s, bad);
	if (bad)
		return -EIO;
	if (hit.action == HOMI_FP_CRASH) {
		if (run->opts->crash_exits)
			_exit(137);
		return -ECANCELED;
	}
	return 0;
}

static void steal_notes(struct homi_apply_result *res, struct homi_plan *p)
{
	for (size_t i = 0; i < p->n_notes; i++) {
		char **n = realloc(res->notes, (res->n_notes + 1) * sizeof(*n));
		if (!n)
			return;
		res->notes = n;
		res->notes[res->n_notes++] = TAKE_PTR(p->notes[i]);
	}
}

int homi_apply(struct homi_host *h, const struct homi_desired *want, const struct homi_apply_opts *opts,
	       struct homi_apply_result **ret, char **ret_errors)
{
	struct homi_owned_set *records = NULL;
	struct run run = { .h = h, .opts = opts };
	int r = 0;

	*ret = NULL;
	if (opts->state_dir) {
		r = homi_state_load(opts->state_dir, &records);
		if (r < 0) {
			homi_owned_set_free(records);
			return r;
		}
	}
	if (records && opts->plan.only_pf) {
		size_t w = 0;
		for (size_t i = 0; i < records->n; i++)
			if (streq(records->items[i].pci, opts->plan.only_pf))
				records->items[w++] = records->items[i];
		records->n = w;
	}
	run.res = calloc(1, sizeof(*run.res));
	if (!run.res) {
		homi_owned_set_free(records);
		return -ENOMEM;
	}
	run.res->outcome = HOMI_APPLY_NOTHING_TO_DO;
	for (int round = 0; round <= MAX_ROUNDS; round++) {
		struct homi_observed *o = NULL;
		struct homi_plan *p = NULL;

		r = homi_observe(h, want, records, &o);
		if (r >= 0)
			r = homi_plan_build(o, want, records, &opts->plan, &p, round == 0 ? ret_errors : NULL);
		if (r < 0) {
			homi_observed_free(o);
			if (round == 0) {
				homi_apply_result_free(run.res);
				homi_owned_set_free(records);
				run_free_undo(&run);
				return r;
			}
			run.res->error = homi_fmt("re-planning after round %d failed: %s", round, strerror(-r));
			break;
		}
		if (round == 0)
			steal_notes(run.res, p);
		if (!p->n_steps) {
			homi_plan_free(p);
			homi_observed_free(o);
			if (round > 0)
				run.res->outcome = HOMI_APPLY_APPLIED;
			r = 0;
			goto done;
		}
		if (round == MAX_ROUNDS) {
			_cleanup_free_ char *d = homi_step_describe(&p->steps[0]);
			run.res->error = homi_fmt("the state does not converge: after %d rounds still to do: %s", MAX_ROUNDS,
					     d ? d : "?");
			homi_plan_free(p);
			homi_observed_free(o);
			r = -EIO;
			break;
		}
		for (size_t i = 0; i < p->n_steps && r >= 0; i++) {
			r = record_owner(&run, o, p->steps[i].pf, records);
			if (r >= 0)
				r = run_step(&run, &p->steps[i]);
			if (r >= 0)
				restaged(opts, records, &p->steps[i]);
		}
		homi_plan_free(p);
		homi_observed_free(o);
		if (r == -ECANCELED)
			goto crashed;
		if (r < 0) {
			for (size_t i = run.res->n_steps; i-- > 0;)
				if (run.res->steps[i].error) {
					run.res->error = strdup(run.res->steps[i].error);
					break;
				}
			break;
		}
	}
	if (rollback(&run, run.n) == -ECANCELED)
		goto crashed;
	r = 0;
	goto out;
done:
	journal_remove(opts);
	forget_torn_down(opts, want, records);
out:
	run_free_undo(&run);
	homi_owned_set_free(records);
	*ret = run.res;
	return r;
crashed:
	run_free_undo(&run);
	homi_owned_set_free(records);
	homi_apply_result_free(run.res);
	return -ECANCELED;
}

/* The undo steps of journal entry U into RET. */
static int undo_from_json(const json_t *u, struct undo *ret)
{
	size_t i;
	json_t *us;

	if (!json_is_array(u) || json_array_size(u) > MAX_UNDO_STEPS)
		return -EBADMSG;
	ret->steps = calloc(json_array_size(u) + 1, sizeof(*ret->steps));
	if (!ret->steps)
		return -ENOMEM;
	json_array_foreach(u, i, us) {
		if (undo_step_from_json(us, &ret->steps[i]) < 0)
			return -EBADMSG;
		ret->n++;
	}
	return 0;
}

/* The journal J into RUN; how many steps are still to undo in *RET_NEXT. */
static int journal_read(const json_t *j, struct run *run, size_t *ret_next)
{
	json_t *steps = json_object_get(j, "steps"), *undo = json_object_get(j, "undo"), *e;
	json_t *next = json_object_get(j, "next"), *done = json_object_get(j, "done");
	size_t n = json_array_size(undo), i;
	int r;

	if (!json_is_array(steps) || !json_is_array(undo) || json_array_size(steps) < n)
		return -EBADMSG;
	/* a journal without "next" is from before rollbacks recorded their progress */
	*ret_next = json_is_integer(next) && json_integer_value(next) >= 0 && (size_t)json_integer_value(next) <= n
			    ? (size_t)json_integer_value(next)
			    : n;
	/* without "done", every undo step of the newest step to undo runs again
	 * (those whose effect holds are skipped) */
	if (json_is_integer(done) && json_integer_value(done) > 0 && *ret_next > 0)
		run->done = (size_t)json_integer_value(done);
	run->forward = calloc(n ? n : 1, sizeof(*run->forward));
	run->undo = calloc(n ? n : 1, sizeof(*run->undo));
	if (!run->forward || !run->undo)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (homi_step_from_json(json_array_get(steps, i), &run->forward[i]) < 0)
			return -EBADMSG;
		run->n++;
		r = undo_from_json(json_array_get(undo, i), &run->undo[i]);
		if (r < 0)
			return r;
		result_add(run->res, &run->forward[i], NULL);
	}
	json_array_foreach(json_object_get(j, "late"), i, e) {
		json_int_t of = json_integer_value(json_object_get(e, "of"));
		struct homi_step u;
		if (undo_step_from_json(e, &u) < 0 || of < 0 || (size_t)of >= n)
			return -EBADMSG;
		if (!pending_add(run, &u, (size_t)of))
			return -ENOMEM;
	}
	json_array_foreach(json_object_get(j, "recorded"), i, e) {
		char pci[HOMI_ADDR_LEN];
		if (!json_is_string(e) || homi_pci_parse_addr(json_string_value(e), pci) < 0)
			return -EBADMSG;
		if (run->n_recorded < ARRAY_SIZE(run->recorded))
			memcpy(run->recorded[run->n_recorded++], pci, HOMI_ADDR_LEN);
	}
	return 0;
}

int homi_apply_recover(struct homi_host *h, const struct homi_apply_opts *opts, struct homi_apply_result **ret)
{
	char path[PATH_MAX];
	json_error_t err;
	struct run run = { .h = h, .opts = opts };
	size_t next = 0;
	json_t *j;
	int r = 0;

	*ret = NULL;
	if (!opts->run_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", opts->run_dir, JOURNAL);
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : -errno;
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return -EBADMSG;
	run.res = calloc(1, sizeof(*run.res));
	r = run.res ? journal_read(j, &run, &next) : -ENOMEM;
	if (r < 0)
		goto out;
	run.res->error = homi_fmt("an apply was interrupted after %zu step%s; rolled back", run.n, run.n == 1 ? "" : "s");
	r = rollback(&run, next);
	if (r < 0)
		goto out;
	*ret = TAKE_PTR(run.res);
	r = 1;
out:
	json_decref(j);
	run_free_undo(&run);
	homi_apply_result_free(run.res);
	return r;
}

struct homi_apply_result *homi_apply_result_free(struct homi_apply_result *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_steps; i++)
		free(r->steps[i].error);
	free(r->steps);
	for (size_t i = 0; i < r->n_not_undone; i++)
		free(r->not_undone_why[i]);
	free(r->not_undone_why);
	free(r->not_undone);
	for (size_t i = 0; i < r->n_notes; i++)
		free(r->notes[i]);
	free(r->notes);
	free(r->error);
	free(r);
	return NULL;
}

const char *homi_apply_outcome_name(enum homi_apply_outcome o)
{
	switch (o) {
	case HOMI_APPLY_APPLIED: return "applied";
	case HOMI_APPLY_NOTHING_TO_DO: return "nothing-to-do";
	case HOMI_APPLY_ROLLED_BACK: return "rolled-back";
	default: return "failed";
	}
}

json_t *homi_apply_result_to_json(const struct homi_apply_result *r)
{
	json_t *o = json_object(), *steps = json_array(), *nu = json_array();

	json_object_set_new(o, "homi-apply", json_integer(1));
	for (size_t i = 0; i < r->n_steps; i++) {
		json_t *s = homi_step_to_json(&r->steps[i].step);
		const char *res = r->steps[i].error ? "failed" : r->steps[i].undone ? "undone" : "done";
		json_object_set_new(s, "result", json_string(res));
		if (r->steps[i].error)
			json_object_set_new(s, "error", json_string(r->steps[i].error));
		json_array_append_new(steps, s);
	}
	json_object_set_new(o, "steps", steps);
	json_object_set_new(o, "result", json_string(homi_apply_outcome_name(r->outcome)));
	for (size_t i = 0; i < r->n_not_undone; i++) {
		json_t *s = homi_step_to_json(&r->not_undone[i]);
		json_object_set_new(s, "why", json_string(r->not_undone_why[i]));
		json_array_append_new(nu, s);
	}
	json_object_set_new(o, "not-undone", nu);
	json_object_set_new(o, "error", r->error ? json_string(r->error) : json_null());
	json_t *notes = json_array();
	for (size_t i = 0; i < r->n_notes; i++)
		json_array_append_new(notes, json_string(r->notes[i]));
	json_object_set_new(o, "notes", notes);
	return o;
}
