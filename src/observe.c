/* SPDX-License-Identifier: MIT */
/* homi_observe(): what planning needs to know, read through the host. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "plan.h"

static char *describe_failure(const char *what, int r, int status)
{
	char *s = NULL;
	if (asprintf(&s, "%s failed: %s", what, homi_host_strerror(r, status)) < 0)
		s = NULL;
	return s;
}

static void observe_virt(struct homi_host *h, const char *pf, struct homi_pf_observed *p)
{
	int status = 0, r;

	r = h->ops->primary_caps(h, pf, &p->primary, &status);
	if (r < 0) {
		/* Support is decided by this command, not by OACS bit 7. */
		p->fixed_why = describe_failure("Identify Primary Controller Capabilities", r, status);
	} else if ((p->primary.crt & 3) != 3 || !p->primary.vqfrt || !p->primary.vifrt) {
		p->fixed_why = strdup("the controller has no flexible VQ and VI resources (CNS 0x14)");
	} else {
		p->flexible = true;
	}
	r = h->ops->secondaries(h, pf, &p->sec, &p->n_sec, &status);
	if (r < 0) {
		p->sec = NULL;
		p->n_sec = 0;
	}
}

static int observe_namespaces(struct homi_host *h, const char *pf, struct homi_pf_observed *p)
{
	_cleanup_free_ uint32_t *ids = NULL;
	size_t n = 0;
	int status, r;

	r = h->ops->namespaces(h, pf, &ids, &n, &status);
	if (r < 0)
		return 0; /* unknown: a plan that needs namespaces says so */
	p->ns = calloc(n ? n : 1, sizeof(*p->ns));
	if (!p->ns)
		return -ENOMEM;
	p->have_ns = true;
	for (size_t i = 0; i < n; i++) {
		struct homi_ns_observed *ns = &p->ns[p->n_ns++];
		ns->nsid = ids[i];
		r = h->ops->ns_controllers(h, pf, ids[i], &ns->ctrls, &ns->n_ctrls, &status);
		if (r < 0) {
			ns->ctrls = NULL;
			ns->n_ctrls = 0;
		}
		if (h->ops->ns_users(h, pf, ids[i], &ns->pf_user) <= 0)
			ns->pf_user = NULL;
	}
	return 0;
}

static int observe_vfs(struct homi_host *h, const struct homi_topology *t, const struct homi_device *d,
		       struct homi_pf_observed *p)
{
	p->vfs = calloc(d->n_vfs ? d->n_vfs : 1, sizeof(*p->vfs));
	if (!p->vfs)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_vfs; i++) {
		ssize_t vi = homi_topology_find(t, d->vfs[i]);
		struct homi_vf_observed *v = &p->vfs[p->n_vfs++];

		memcpy(v->pci, d->vfs[i], HOMI_ADDR_LEN);
		v->vf = (unsigned)i + 1;
		v->iommu_group = -1;
		if (vi < 0)
			continue;
		const struct homi_device *vd = &t->devices[vi];
		v->driver = vd->driver;
		v->iommu_group = vd->iommu_group;
		if (h->ops->vfio_users(h, vd->pci, &v->vfio_user) <= 0)
			v->vfio_user = NULL;
		if (vd->driver && streq(vd->driver, "nvme") && h->ops->ns_users(h, vd->pci, 0, &v->ns_user) <= 0)
			v->ns_user = NULL;
		if (vd->driver && streq(vd->driver, "vfio-pci") && vd->iommu_group >= 0) {
			mode_t mode;
			if (h->ops->vfio_node(h, vd->iommu_group, &v->node_uid, &v->node_gid, &mode) == 0) {
				v->have_node = true;
				v->node_mode = (int)(mode & 07777);
			}
		}
		if (h->ops->holds_root_fs(h, vd->pci) > 0)
			p->holds_root_fs = true;
	}
	return 0;
}

static int resolve_ids(struct homi_host *h, const struct homi_want_pf *w, struct homi_pf_observed *p)
{
	p->ids = calloc(w->n_vfs ? w->n_vfs : 1, sizeof(*p->ids));
	if (!p->ids)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_vfs; i++) {
		const struct homi_want_vf *v = &w->vfs[i];
		struct homi_pf_ids *id = &p->ids[p->n_ids++];
		id->vf = v->vf;
		if (v->owner && h->ops->lookup_user(h, v->owner, &id->uid) < 0 &&
		    asprintf(&id->error, "unknown user '%s'", v->owner) < 0)
			id->error = NULL;
		if (!id->error && v->group && h->ops->lookup_group(h, v->group, &id->gid) < 0 &&
		    asprintf(&id->error, "unknown group '%s'", v->group) < 0)
			id->error = NULL;
	}
	return 0;
}

static bool wanted(const struct homi_desired *want, const struct homi_owned_set *records, const char *pci)
{
	return (want && homi_desired_find(want, pci)) || homi_owned_find(records, pci);
}

int homi_observe(struct homi_host *h, const struct homi_desired *want, const struct homi_owned_set *records,
		 struct homi_observed **ret)
{
	struct homi_observed *o = calloc(1, sizeof(*o));
	int r;

	if (!o)
		return -ENOMEM;
	r = h->ops->topology(h, &o->topology);
	if (r < 0) {
		free(o);
		return r;
	}
	const struct homi_topology *t = o->topology;
	o->pfs = calloc(t->n_devices ? t->n_devices : 1, sizeof(*o->pfs));
	if (!o->pfs) {
		homi_observed_free(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n_devices; i++) {
		const struct homi_device *d = &t->devices[i];
		if (d->kind != HOMI_KIND_NVME_PF || !wanted(want, records, d->pci))
			continue;
		struct homi_pf_observed *p = &o->pfs[o->n_pfs++];
		p->idx = i;
		r = 0;
		if (d->driver && streq(d->driver, "nvme")) {
			observe_virt(h, d->pci, p);
			r = observe_namespaces(h, d->pci, p);
		} else {
			p->fixed_why = strdup("the PF is not bound to the nvme driver");
		}
		if (r >= 0)
			r = observe_vfs(h, t, d, p);
		if (h->ops->holds_root_fs(h, d->pci) > 0)
			p->holds_root_fs = true;
		const struct homi_want_pf *w = want ? homi_desired_find(want, d->pci) : NULL;
		if (r >= 0 && w)
			r = resolve_ids(h, w, p);
		if (r < 0) {
			homi_observed_free(o);
			return r;
		}
	}
	*ret = o;
	return 0;
}

struct homi_observed *homi_observed_free(struct homi_observed *o)
{
	if (!o)
		return NULL;
	for (size_t i = 0; i < o->n_pfs; i++) {
		struct homi_pf_observed *p = &o->pfs[i];
		free(p->fixed_why);
		free(p->sec);
		for (size_t k = 0; k < p->n_ns; k++) {
			free(p->ns[k].ctrls);
			free(p->ns[k].pf_user);
		}
		free(p->ns);
		for (size_t k = 0; k < p->n_vfs; k++) {
			free(p->vfs[k].vfio_user);
			free(p->vfs[k].ns_user);
		}
		free(p->vfs);
		for (size_t k = 0; k < p->n_ids; k++)
			free(p->ids[k].error);
		free(p->ids);
	}
	free(o->pfs);
	homi_topology_free(o->topology);
	free(o);
	return NULL;
}

const struct homi_pf_observed *homi_observed_pf(const struct homi_observed *o, const char *addr)
{
	for (size_t i = 0; i < o->n_pfs; i++)
		if (streq(o->topology->devices[o->pfs[i].idx].pci, addr))
			return &o->pfs[i];
	return NULL;
}
