/* SPDX-License-Identifier: MIT */
/* homi_plan_build(): model + desired -> ordered steps. Pure: it reads only
 * its arguments. The order per PF is fixed by NVMe and the kernel
 * (ARCHITECTURE.md 1): secondaries offline and VFs disabled, primary
 * flexible allocation and PF reset, autoprobe off, VFs enabled, then per VF
 * unbind, offline, assign VQ and VI, online, namespaces, bind, ownership. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "plan.h"
#include "strv.h"

struct builder {
	const struct homi_observed *o;
	const struct homi_plan_opts *opts;
	struct homi_plan *plan;
	FILE *err;
	char *err_buf;
	size_t err_len;
	unsigned n_errors;
};

static _printf_(2, 3) void fail(struct builder *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(b->err, fmt, ap);
	va_end(ap);
	fputc('\n', b->err);
	b->n_errors++;
}

#define note(b, ...) ((void)homi_strv_appendf(&(b)->plan->notes, &(b)->plan->n_notes, __VA_ARGS__))

static struct homi_step *add(struct builder *b, enum homi_op op, const char *pf)
{
	struct homi_plan *p = b->plan;
	struct homi_step *n = realloc(p->steps, (p->n_steps + 1) * sizeof(*n));

	if (!n) {
		fail(b, "out of memory");
		return NULL;
	}
	p->steps = n;
	struct homi_step *s = &p->steps[p->n_steps++];
	*s = (struct homi_step){ .op = op, .mode = -1 };
	memcpy(s->pf, pf, HOMI_ADDR_LEN);
	return s;
}

static const struct homi_secondary *secondary_of(const struct homi_pf_observed *p, unsigned vfn)
{
	for (size_t i = 0; p->sec && i < p->n_sec; i++)
		if (p->sec[i].vfn == vfn)
			return &p->sec[i];
	return NULL;
}

static const struct homi_vf_observed *vf_of(const struct homi_pf_observed *p, unsigned vfn)
{
	return vfn >= 1 && vfn <= p->n_vfs ? &p->vfs[vfn - 1] : NULL;
}

static const struct homi_want_vf *want_vf(const struct homi_want_pf *w, unsigned vfn)
{
	for (size_t i = 0; w && i < w->n_vfs; i++)
		if (w->vfs[i].vf == vfn)
			return &w->vfs[i];
	return NULL;
}

static const struct homi_ns_observed *ns_of(const struct homi_pf_observed *p, uint32_t nsid)
{
	for (size_t i = 0; i < p->n_ns; i++)
		if (p->ns[i].nsid == nsid)
			return &p->ns[i];
	return NULL;
}

static bool ns_attached(const struct homi_ns_observed *ns, uint16_t cntlid)
{
	for (size_t i = 0; ns && i < ns->n_ctrls; i++)
		if (ns->ctrls[i] == cntlid)
			return true;
	return false;
}

/* Address VF VFN will have: PF routing ID + First VF Offset + (VFN-1) * Stride. */
static void vf_addr(const struct homi_device *pf, unsigned vfn, char out[HOMI_ADDR_LEN])
{
	unsigned dom, bus, dev, fn;

	if (vfn <= pf->n_vfs) {
		memcpy(out, pf->vfs[vfn - 1], HOMI_ADDR_LEN);
		return;
	}
	sscanf(pf->pci, "%x:%x:%x.%u", &dom, &bus, &dev, &fn);
	unsigned offset = pf->sriov.vf_offset > 0 ? (unsigned)pf->sriov.vf_offset : 1;
	unsigned stride = pf->sriov.vf_stride > 0 ? (unsigned)pf->sriov.vf_stride : 1;
	unsigned rid = (bus << 8 | dev << 3 | fn) + offset + (vfn - 1) * stride;
	snprintf(out, HOMI_ADDR_LEN, "%04x:%02x:%02x.%u", dom, (rid >> 8) & 0xff, (rid >> 3) & 0x1f, rid & 7);
}

/* Every reason the VFs of PF cannot be disturbed. */
static void check_in_use(struct builder *b, const struct homi_device *d, const struct homi_pf_observed *p,
			 const char *why)
{
	for (size_t i = 0; i < p->n_vfs; i++) {
		const struct homi_vf_observed *v = &p->vfs[i];
		if (v->vfio_user)
			fail(b, "%s: VF %u (%s) is in use: %s; %s would block in the kernel until it is released "
				"(--force does not override this)",
			     d->pci, v->vf, v->pci, v->vfio_user, why);
		if (v->ns_user && !b->opts->force)
			fail(b, "%s: VF %u (%s) is in use: %s; %s would take its file system away (--force overrides)",
			     d->pci, v->vf, v->pci, v->ns_user, why);
	}
}

static void check_vf_in_use(struct builder *b, const struct homi_device *d, const struct homi_vf_observed *v,
			    const char *why)
{
	if (v->vfio_user)
		fail(b, "%s: VF %u (%s) is in use: %s; %s would block in the kernel until it is released "
			"(--force does not override this)",
		     d->pci, v->vf, v->pci, v->vfio_user, why);
	else if (v->ns_user && !b->opts->force)
		fail(b, "%s: VF %u (%s) is in use: %s; %s would take its file system away (--force overrides)",
		     d->pci, v->vf, v->pci, v->ns_user, why);
}

struct pf_goal {
	unsigned num_vfs;
	int autoprobe;            /* wanted sriov_drivers_autoprobe */
	int vq_primary, vi_primary; /* wanted primary flexible allocation, -1 keep */
	bool allow_reset;
	bool restage;             /* stage the primary's allocation even where it holds (state.h) */
	bool restage_only;        /* teardown: stage the recorded allocation, which holds, no reset */
	const char *why_reset_refused;
};

/* Resource feasibility on flexible controllers; decides the primary's
 * allocation and whether the VFs must be re-created. */
static void plan_resources(struct builder *b, const struct homi_device *d, const struct homi_pf_observed *p,
			   const struct homi_want_pf *w, struct pf_goal *g, bool *recreate)
{
	const struct homi_primary_caps *c = &p->primary;
	unsigned need_vq = 0, need_vi = 0, held_vq = 0, held_vi = 0;

	for (size_t i = 0; i < w->n_vfs; i++) {
		const struct homi_want_vf *v = &w->vfs[i];
		if (v->vq < 0)
			continue;
		if ((unsigned)v->vq > c->vqfrsm)
			fail(b, "%s: VF %u: vq %d is more than the %u VQ resources a VF may have (VQFRSM) (%s)", d->pci,
			     v->vf, v->vq, c->vqfrsm, v->origin);
		if ((unsigned)v->vi > c->vifrsm)
			fail(b, "%s: VF %u: vi %d is more than the %u VI resources a VF may have (VIFRSM) (%s)", d->pci,
			     v->vf, v->vi, c->vifrsm, v->origin);
		need_vq += (unsigned)v->vq;
		need_vi += (unsigned)v->vi;
	}
	for (int pass = 0; pass < 2; pass++) {
		held_vq = held_vi = 0;
		if (!*recreate)
			for (size_t i = 0; p->sec && i < p->n_sec; i++) {
				const struct homi_want_vf *v = want_vf(w, p->sec[i].vfn);
				if (v && v->vq >= 0 && p->sec[i].vfn <= w->num_vfs)
					continue; /* reassigned */
				held_vq += p->sec[i].nvq;
				held_vi += p->sec[i].nvi;
			}
		if (need_vq + held_vq > c->vqfrt || need_vi + held_vi > c->vifrt) {
			fail(b, "%s: the VFs need %u VQ and %u VI flexible resources (other secondaries hold %u and %u), "
				"more than the controller's pools of %u VQ and %u VI",
			     d->pci, need_vq, need_vi, held_vq, held_vi, c->vqfrt, c->vifrt);
			return;
		}
		bool short_vq = need_vq + held_vq > c->vqfrt - c->vqrfap;
		bool short_vi = need_vi + held_vi > c->vifrt - c->virfap;
		if (!short_vq && !short_vi)
			return;
		/* The primary holds what the VFs need: release it (staged),
		 * then a function-level reset while no VF is enabled. */
		g->vq_primary = short_vq ? (int)(c->vqfrt - need_vq - held_vq) : -1;
		g->vi_primary = short_vi ? (int)(c->vifrt - need_vi - held_vi) : -1;
		if (*recreate || !p->n_vfs) {
			*recreate = true;
			return;
		}
		*recreate = true; /* again, with every secondary freed */
	}
}

static void plan_namespaces(struct builder *b, const struct homi_device *d, const struct homi_pf_observed *p,
			    const struct homi_want_vf *v, uint16_t cntlid, bool fresh)
{
	for (size_t i = 0; i < v->n_ns; i++) {
		const struct homi_want_ns *n = &v->ns[i];
		const struct homi_ns_observed *ns = ns_of(p, n->nsid);
		struct homi_step *s;

		if (!p->have_ns) {
			fail(b, "%s: VF %u: the namespaces of the controller cannot be read (%s)", d->pci, v->vf, v->origin);
			return;
		}
		if (!ns) {
			fail(b, "%s: VF %u: namespace %u does not exist on this controller (%s)", d->pci, v->vf, n->nsid,
			     v->origin);
			continue;
		}
		if (v->driver == HOMI_VF_DRIVER_VFIO && !n->read_only && !n->allow_mounted_rw) {
			const char *who = ns->pf_user;
			for (size_t k = 0; !who && k < p->n_vfs; k++)
				if (p->vfs[k].vf != v->vf && p->vfs[k].ns_user && ns_attached(ns, 0))
					who = p->vfs[k].ns_user;
			if (who)
				fail(b, "%s: VF %u: namespace %u is in use by the kernel (%s); a second writer through "
					"vfio-pci destroys file systems: give it \"access\": \"ro\" or set "
					"\"allow-mounted-rw\" (%s)",
				     d->pci, v->vf, n->nsid, who, v->origin);
		}
		if (fresh || !ns_attached(ns, cntlid)) {
			s = add(b, HOMI_OP_ATTACH_NS, d->pci);
			if (s) {
				s->nsid = n->nsid;
				s->cntlid = cntlid;
				s->vf = v->vf;
			}
		}
	}
	if (fresh)
		return; /* what the controller attaches by itself is seen after */
	for (size_t i = 0; i < p->n_ns; i++) {
		bool keep = false;
		if (!ns_attached(&p->ns[i], cntlid))
			continue;
		for (size_t k = 0; k < v->n_ns; k++)
			keep |= v->ns[k].nsid == p->ns[i].nsid;
		if (keep)
			continue;
		struct homi_step *s = add(b, HOMI_OP_DETACH_NS, d->pci);
		if (s) {
			s->nsid = p->ns[i].nsid;
			s->cntlid = cntlid;
			s->vf = v->vf;
		}
	}
}

static const struct homi_pf_ids *ids_of(const struct homi_pf_observed *p, unsigned vfn)
{
	for (size_t i = 0; i < p->n_ids; i++)
		if (p->ids[i].vf == vfn)
			return &p->ids[i];
	return NULL;
}

static void plan_vf(struct builder *b, const struct homi_device *d, const struct homi_pf_observed *p,
		    const struct homi_want_pf *w, unsigned vfn, bool fresh)
{
	const struct homi_want_vf *v = want_vf(w, vfn);
	const struct homi_vf_observed *ov = fresh ? NULL : vf_of(p, vfn);
	const struct homi_secondary *sec = secondary_of(p, vfn);
	const char *cur_driver = ov ? ov->driver : NULL;
	enum homi_vf_driver target = v ? v->driver : HOMI_VF_DRIVER_NONE;
	const char *target_name = target == HOMI_VF_DRIVER_NONE ? NULL : homi_vf_driver_name(target);
	bool want_online = p->flexible && v && v->vq >= 0;
	bool online = !fresh && sec && sec->online;
	unsigned nvq = fresh || !sec ? 0 : sec->nvq, nvi = fresh || !sec ? 0 : sec->nvi;
	bool res_change = want_online && !(online && nvq == (unsigned)v->vq && nvi == (unsigned)v->vi);
	bool offline = p->flexible && online && (!want_online || res_change);
	/* A driver never keeps a controller that goes offline or gets new
	 * resources under it: unbind first, bind again after online. */
	bool rebind = !streq_ptr(cur_driver, target_name) || (cur_driver && (offline || res_change));
	char addr[HOMI_ADDR_LEN];
	struct homi_step *s;

	vf_addr(d, vfn, addr);
	if (p->flexible && (want_online || offline) && !sec) {
		fail(b, "%s: VF %u: no secondary controller with this VF number in the Secondary Controller List",
		     d->pci, vfn);
		return;
	}
	if (cur_driver && rebind) {
		check_vf_in_use(b, d, ov, "unbinding it");
		s = add(b, HOMI_OP_UNBIND, d->pci);
		if (s) {
			memcpy(s->vf_pci, addr, HOMI_ADDR_LEN);
			snprintf(s->driver, sizeof(s->driver), "%s", cur_driver);
			s->vf = vfn;
		}
	}
	if (offline) {
		s = add(b, HOMI_OP_SECONDARY_OFFLINE, d->pci);
		if (s) {
			s->cntlid = sec->scid;
			s->vf = vfn;
		}
		nvq = nvi = 0;
	}
	if (res_change) {
		static const int rts[] = { HOMI_VM_RT_VQ, HOMI_VM_RT_VI };
		for (size_t k = 0; k < ARRAY_SIZE(rts); k++) {
			unsigned want = k ? (unsigned)v->vi : (unsigned)v->vq, cur = k ? nvi : nvq;
			if (want == cur)
				continue;
			s = add(b, HOMI_OP_ASSIGN, d->pci);
			if (s) {
				s->cntlid = sec->scid;
				s->resource = rts[k];
				s->count = (int)want;
				s->vf = vfn;
			}
		}
		s = add(b, HOMI_OP_SECONDARY_ONLINE, d->pci);
		if (s) {
			s->cntlid = sec->scid;
			s->vf = vfn;
		}
	}
	if (v && v->n_ns) {
		if (!sec)
			fail(b, "%s: VF %u: attaching namespaces needs the VF's controller ID, and the Secondary "
				"Controller List is not available (%s)",
			     d->pci, vfn, v->origin);
		else
			plan_namespaces(b, d, p, v, sec->scid, fresh);
	} else if (v && sec && !fresh) {
		plan_namespaces(b, d, p, v, sec->scid, fresh); /* detach what is not listed */
	}
	if (target_name && (rebind || !cur_driver)) {
		s = add(b, HOMI_OP_BIND, d->pci);
		if (s) {
			memcpy(s->vf_pci, addr, HOMI_ADDR_LEN);
			snprintf(s->driver, sizeof(s->driver), "%s", target_name);
			s->vf = vfn;
		}
	}
	if (target == HOMI_VF_DRIVER_VFIO && (v->owner || v->group || v->mode >= 0)) {
		const struct homi_pf_ids *id = ids_of(p, vfn);
		if (!id || id->error) {
			fail(b, "%s: VF %u: %s (%s)", d->pci, vfn, id && id->error ? id->error : "owner not resolved",
			     v->origin);
			return;
		}
		bool differs = !ov || !ov->have_node || rebind || (v->owner && ov->node_uid != id->uid) ||
			       (v->group && ov->node_gid != id->gid) || (v->mode >= 0 && ov->node_mode != v->mode);
		if (differs && (s = add(b, HOMI_OP_SET_VFIO_OWNER, d->pci))) {
			memcpy(s->vf_pci, addr, HOMI_ADDR_LEN);
			snprintf(s->owner, sizeof(s->owner), "%s", v->owner ? v->owner : "");
			snprintf(s->group, sizeof(s->group), "%s", v->group ? v->group : "");
			s->uid = v->owner ? id->uid : (uid_t)-1;
			s->gid = v->group ? id->gid : (gid_t)-1;
			s->mode = v->mode;
			s->vf = vfn;
		}
	}
}

static void plan_teardown_primary(struct builder *b, const struct homi_device *d, const struct homi_pf_observed *p,
				  const struct homi_owned *rec, struct pf_goal *g)
{
	if (!p->flexible || rec->vq_primary < 0 || rec->vi_primary < 0)
		return;
	if (p->primary.vqrfap == (unsigned)rec->vq_primary && p->primary.virfap == (unsigned)rec->vi_primary) {
		/* what a failed undo may have staged goes, without a reset */
		g->restage_only = rec->restage_primary;
		return;
	}
	if (!b->opts->teardown_allow_pf_reset) {
		note(b, "%s: the primary keeps %u VQ and %u VI flexible resources; it had %d and %d: "
			"teardown --allow-pf-reset restores them with a function-level reset",
		     d->pci, p->primary.vqrfap, p->primary.virfap, rec->vq_primary, rec->vi_primary);
		return;
	}
	g->vq_primary = rec->vq_primary;
	g->vi_primary = rec->vi_primary;
	g->allow_reset = true;
}

static void plan_pf(struct builder *b, const struct homi_pf_observed *p, const struct homi_want_pf *w,
		    const struct homi_owned *rec, bool protect)
{
	const struct homi_device *d = &b->o->topology->devices[p->idx];
	struct pf_goal g = { .vq_primary = -1, .vi_primary = -1 };
	size_t first = b->plan->n_steps;
	unsigned errors = b->n_errors;
	struct homi_want_pf none = { 0 };
	struct homi_step *s;

	if (!d->driver || !streq(d->driver, "nvme")) {
		fail(b, "%s: the PF is not bound to the nvme driver; homi never rebinds a PF", d->pci);
		return;
	}
	g.restage = rec && rec->restage_primary;
	if (w) {
		g.num_vfs = w->num_vfs;
		g.autoprobe = 0;
		g.allow_reset = w->allow_pf_reset;
	} else {
		w = &none; /* teardown to the recorded state */
		g.num_vfs = rec->num_vfs > 0 ? (unsigned)rec->num_vfs : 0;
		g.autoprobe = rec->autoprobe;
	}
	if (g.num_vfs > (unsigned)d->sriov.total_vfs)
		fail(b, "%s: %u VFs wanted, but sriov_totalvfs is %d (%s)", d->pci, g.num_vfs, d->sriov.total_vfs,
		     w->origin ? w->origin : "recorded state");
	for (size_t i = 0; i < w->n_vfs; i++) {
		const struct homi_want_vf *v = &w->vfs[i];
		if (!p->flexible && v->vq >= 0)
			fail(b, "%s: VF %u: vq and vi given, but the controller's VF resources are fixed (%s); remove "
				"them (%s)",
			     d->pci, v->vf, p->fixed_why ? p->fixed_why : "unknown", v->origin);
		if (p->flexible && v->vq < 0 && v->driver != HOMI_VF_DRIVER_NONE)
			fail(b, "%s: VF %u: driver %s needs an online VF: give vq and vi (%s)", d->pci, v->vf,
			     homi_vf_driver_name(v->driver), v->origin);
	}
	bool recreate = (unsigned)d->sriov.num_vfs != g.num_vfs;
	if (p->flexible && w != &none)
		plan_resources(b, d, p, w, &g, &recreate);
	if (rec && w == &none) {
		plan_teardown_primary(b, d, p, rec, &g);
		if (g.vq_primary >= 0 || g.vi_primary >= 0)
			recreate = true;
	}
	bool reset = g.vq_primary >= 0 || g.vi_primary >= 0;
	if (reset && !g.allow_reset)
		fail(b, "%s: the primary controller holds %u VQ and %u VI flexible resources the VFs need; releasing "
			"them takes effect only with a function-level reset of the PF, which the policy does not allow "
			"(set \"allow-pf-reset\": true) (%s)",
		     d->pci, p->primary.vqrfap, p->primary.virfap, w->origin);
	else if (reset && p->holds_root_fs)
		fail(b, "%s: the PF holds the root file system; it is never reset", d->pci);
	if (b->n_errors != errors)
		return;

	if (recreate && d->sriov.num_vfs > 0) {
		check_in_use(b, d, p, "changing the VF count");
		for (size_t i = 0; p->flexible && p->sec && i < p->n_sec; i++) {
			if (!p->sec[i].online)
				continue;
			if ((s = add(b, HOMI_OP_SECONDARY_OFFLINE, d->pci))) {
				s->cntlid = p->sec[i].scid;
				s->vf = p->sec[i].vfn;
			}
		}
		if ((s = add(b, HOMI_OP_DISABLE_VFS, d->pci)))
			s->count = d->sriov.num_vfs; /* what was there, for undo */
	}
	if (reset) {
		static const int rts[] = { HOMI_VM_RT_VQ, HOMI_VM_RT_VI };
		for (size_t k = 0; k < ARRAY_SIZE(rts); k++) {
			int want = k ? g.vi_primary : g.vq_primary, now = k ? p->primary.virfap : p->primary.vqrfap;
			/* the reset applies what is staged: what may be is replaced */
			if (want < 0 && g.restage)
				want = now;
			if (want < 0 || (want == now && !g.restage))
				continue;
			if ((s = add(b, HOMI_OP_PRIMARY_FLEX, d->pci))) {
				s->resource = rts[k];
				s->count = want;
				s->cntlid = p->primary.cntlid;
			}
		}
		add(b, HOMI_OP_RESET_PF, d->pci);
	} else if (g.restage_only) {
		for (int k = 0; k < 2; k++)
			if ((s = add(b, HOMI_OP_PRIMARY_FLEX, d->pci))) {
				s->resource = k ? HOMI_VM_RT_VI : HOMI_VM_RT_VQ;
				s->count = k ? rec->vi_primary : rec->vq_primary;
				s->cntlid = p->primary.cntlid;
				s->value = 1; /* its undo stages again, no reset either */
			}
	}
	/* Autoprobe off before VFs appear (no driver grabs an unconfigured
	 * VF), kept off while homi owns the PF; restored last on teardown. */
	if (w != &none && d->sriov.drivers_autoprobe != 0 && (s = add(b, HOMI_OP_SET_AUTOPROBE, d->pci)))
		s->value = 0;
	if (recreate && g.num_vfs > 0 && (s = add(b, HOMI_OP_ENABLE_VFS, d->pci)))
		s->count = (int)g.num_vfs;
	for (unsigned vfn = 1; w != &none && vfn <= g.num_vfs; vfn++)
		plan_vf(b, d, p, w, vfn, recreate);
	if (w == &none && !recreate)
		for (size_t i = 0; p->flexible && p->sec && i < p->n_sec; i++)
			if (p->sec[i].online && (s = add(b, HOMI_OP_SECONDARY_OFFLINE, d->pci))) {
				s->cntlid = p->sec[i].scid;
				s->vf = p->sec[i].vfn;
			}
	if (w == &none && d->sriov.drivers_autoprobe != g.autoprobe && (s = add(b, HOMI_OP_SET_AUTOPROBE, d->pci)))
		s->value = g.autoprobe;

	if (protect && b->plan->n_steps > first) {
		fail(b, "%s: protected (\"protect\" or the root file system), yet the policy would change it", d->pci);
		b->plan->n_steps = first;
	}
}

int homi_plan_build(const struct homi_observed *o, const struct homi_desired *want,
		    const struct homi_owned_set *records, const struct homi_plan_opts *opts, struct homi_plan **ret,
		    char **ret_errors)
{
	static const struct homi_plan_opts no_opts = { 0 };
	struct builder b = { .o = o, .opts = opts ? opts : &no_opts };
	int r = 0;

	*ret = NULL;
	if (ret_errors)
		*ret_errors = NULL;
	b.plan = calloc(1, sizeof(*b.plan));
	b.err = open_memstream(&b.err_buf, &b.err_len);
	if (!b.plan || !b.err) {
		free(b.plan);
		if (b.err)
			fclose(b.err);
		free(b.err_buf);
		return -ENOMEM;
	}
	/* What the resolver passed over (a protected PF a glob selected)
	 * is told first; notes start with the PF's address. */
	for (size_t i = 0; want && i < want->n_notes; i++)
		if (!b.opts->only_pf || !strncmp(want->notes[i], b.opts->only_pf, strlen(b.opts->only_pf)))
			note(&b, "%s", want->notes[i]);
	/* PFs wanted but absent, or not SR-IOV NVMe PFs, are the resolver's
	 * business; here every observed PF is planned in address order. */
	for (size_t i = 0; i < o->n_pfs; i++) {
		const struct homi_pf_observed *p = &o->pfs[i];
		const char *pci = o->topology->devices[p->idx].pci;
		const struct homi_want_pf *w = want ? homi_desired_find(want, pci) : NULL;
		const struct homi_owned *rec = homi_owned_find(records, pci);
		bool protect = (want && homi_desired_protected(want, pci));

		if ((!w && !rec) || (b.opts->only_pf && !streq(pci, b.opts->only_pf)))
			continue;
		plan_pf(&b, p, w, rec, protect);
	}
	fclose(b.err);
	if (b.n_errors) {
		if (b.err_len && b.err_buf[b.err_len - 1] == '\n')
			b.err_buf[b.err_len - 1] = '\0';
		if (ret_errors)
			*ret_errors = b.err_buf;
		else
			free(b.err_buf);
		homi_plan_free(b.plan);
		return -EINVAL;
	}
	free(b.err_buf);
	*ret = b.plan;
	return r;
}

struct homi_plan *homi_plan_free(struct homi_plan *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_notes; i++)
		free(p->notes[i]);
	free(p->notes);
	free(p->steps);
	free(p);
	return NULL;
}

static const char *const op_names[] = {
	[HOMI_OP_DISABLE_VFS] = "disable-vfs",
	[HOMI_OP_PRIMARY_FLEX] = "primary-flex",
	[HOMI_OP_RESET_PF] = "reset-pf",
	[HOMI_OP_SET_AUTOPROBE] = "set-autoprobe",
	[HOMI_OP_ENABLE_VFS] = "enable-vfs",
	[HOMI_OP_SECONDARY_OFFLINE] = "secondary-offline",
	[HOMI_OP_ASSIGN] = "assign",
	[HOMI_OP_SECONDARY_ONLINE] = "secondary-online",
	[HOMI_OP_ATTACH_NS] = "attach-ns",
	[HOMI_OP_DETACH_NS] = "detach-ns",
	[HOMI_OP_BIND] = "bind",
	[HOMI_OP_UNBIND] = "unbind",
	[HOMI_OP_SET_VFIO_OWNER] = "set-vfio-owner",
};

const char *homi_op_name(enum homi_op op) { return (unsigned)op < _HOMI_OP_MAX ? op_names[op] : "?"; }

int homi_op_from_name(const char *name)
{
	for (int i = 0; i < _HOMI_OP_MAX; i++)
		if (streq(op_names[i], name))
			return i;
	return -1;
}

char *homi_step_describe(const struct homi_step *s)
{
	const char *res = s->resource == HOMI_VM_RT_VI ? "vi" : "vq";
	char *out = NULL;
	int r;

	switch (s->op) {
	case HOMI_OP_DISABLE_VFS:
		r = asprintf(&out, "disable-vfs %s (sriov_numvfs 0)", s->pf);
		break;
	case HOMI_OP_PRIMARY_FLEX:
		r = asprintf(&out, "primary-flex %s %s %d (takes effect at the PF reset)", s->pf, res, s->count);
		break;
	case HOMI_OP_RESET_PF:
		r = asprintf(&out, "reset-pf %s (function-level reset)", s->pf);
		break;
	case HOMI_OP_SET_AUTOPROBE:
		r = asprintf(&out, "set-autoprobe %s %d", s->pf, s->value);
		break;
	case HOMI_OP_ENABLE_VFS:
		r = asprintf(&out, "enable-vfs %s count %d", s->pf, s->count);
		break;
	case HOMI_OP_SECONDARY_OFFLINE:
	case HOMI_OP_SECONDARY_ONLINE:
		r = asprintf(&out, "%s %s VF %u (cntlid %u)", homi_op_name(s->op), s->pf, s->vf, s->cntlid);
		break;
	case HOMI_OP_ASSIGN:
		r = asprintf(&out, "assign %s VF %u (cntlid %u) %s %d", s->pf, s->vf, s->cntlid, res, s->count);
		break;
	case HOMI_OP_ATTACH_NS:
	case HOMI_OP_DETACH_NS:
		r = asprintf(&out, "%s %s namespace %u VF %u (cntlid %u)", homi_op_name(s->op), s->pf, s->nsid, s->vf,
			     s->cntlid);
		break;
	case HOMI_OP_BIND:
		r = asprintf(&out, "bind %s VF %u to %s", s->vf_pci, s->vf, s->driver);
		break;
	case HOMI_OP_UNBIND:
		r = asprintf(&out, "unbind %s VF %u from %s", s->vf_pci, s->vf, s->driver);
		break;
	case HOMI_OP_SET_VFIO_OWNER:
		r = asprintf(&out, "set-vfio-owner %s VF %u owner %s group %s mode %04o", s->vf_pci, s->vf,
			     s->owner[0] ? s->owner : "-", s->group[0] ? s->group : "-",
			     s->mode >= 0 ? (unsigned)s->mode : 0600u);
		break;
	default:
		r = asprintf(&out, "%s %s", homi_op_name(s->op), s->pf);
	}
	return r < 0 ? NULL : out;
}
