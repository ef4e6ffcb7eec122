/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "model-json.h"

/* Keys are set in insertion order (jansson keeps it), so a document reads in
 * the order ARCHITECTURE.md lists them. */
static void set(json_t *o, const char *key, json_t *v) { json_object_set_new(o, key, v ? v : json_null()); }

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }
static json_t *int_or_null(long v, long unknown) { return v == unknown ? json_null() : json_integer(v); }

static void set_unknown(json_t *o, const char *key, json_t *v, const char *why)
{
	bool null = json_is_null(v);
	set(o, key, v);
	if (null && why) {
		char k[64];
		snprintf(k, sizeof(k), "%s-unknown", key);
		set(o, k, json_string(why));
	}
}

static json_t *nvme_json(const struct homi_nvme_ctrl *c)
{
	json_t *o = json_object(), *ns = json_array();

	set(o, "name", json_string(c->name));
	set(o, "model", str_or_null(c->model));
	set(o, "serial", str_or_null(c->serial));
	set(o, "firmware", str_or_null(c->firmware));
	set(o, "cntlid", int_or_null(c->cntlid, -1));
	for (size_t i = 0; i < c->n_namespaces; i++)
		json_array_append_new(ns, json_integer(c->namespaces[i]));
	set(o, "namespaces", ns);
	return o;
}

json_t *homi_json_device(const struct homi_topology *t, size_t idx)
{
	const struct homi_device *d = &t->devices[idx];
	json_t *o = json_object();

	set(o, "pci", json_string(d->pci));
	set(o, "kind", json_string(homi_kind_name(d->kind)));
	set(o, "parent", str_or_null(d->parent));
	set_unknown(o, "host-bridge", str_or_null(d->host_bridge), "device link does not show its host bridge");
	set_unknown(o, "numa-node", int_or_null(d->numa_node, -1), "sysfs numa_node is -1 (no NUMA information)");
	set(o, "driver", str_or_null(d->driver));
	set(o, "iommu-group", int_or_null(d->iommu_group, -1));
	set(o, "vendor", str_or_null(d->vendor_str));
	set(o, "device", str_or_null(d->device_str));
	set(o, "class", str_or_null(d->class_str));
	if (d->link_speed) {
		json_t *l = json_object();
		set(l, "speed", json_string(d->link_speed));
		set(l, "width", json_integer(d->link_width));
		set(o, "link", l);
	} else {
		set(o, "link", json_null());
	}
	if (d->is_pf) {
		json_t *s = json_object(), *vfs = json_array();
		set(s, "total-vfs", int_or_null(d->sriov.total_vfs, -1));
		set(s, "num-vfs", int_or_null(d->sriov.num_vfs, -1));
		set(s, "vf-offset", int_or_null(d->sriov.vf_offset, -1));
		set(s, "vf-stride", int_or_null(d->sriov.vf_stride, -1));
		set(s, "drivers-autoprobe", int_or_null(d->sriov.drivers_autoprobe, -1));
		set(o, "sriov", s);
		for (size_t i = 0; i < d->n_vfs; i++)
			json_array_append_new(vfs, json_string(d->vfs[i]));
		set(o, "vfs", vfs);
	}
	if (d->pf[0]) {
		set(o, "pf", json_string(d->pf));
		set_unknown(o, "vf", int_or_null(d->vf, 0), "the PF's virtfn links do not name this function");
	}
	if (d->has_nvme)
		set(o, "nvme", nvme_json(&d->nvme));
	return o;
}

static json_t *warnings_json(const struct homi_topology *t)
{
	json_t *w = json_array();
	for (size_t i = 0; i < t->n_warnings; i++)
		json_array_append_new(w, json_string(t->warnings[i]));
	return w;
}

json_t *homi_json_topology(const struct homi_topology *t)
{
	json_t *o = json_object(), *devs = json_array(), *aff = json_array();

	set(o, "homi-topology", json_integer(1));
	for (size_t i = 0; i < t->n_devices; i++)
		json_array_append_new(devs, homi_json_device(t, i));
	set(o, "devices", devs);
	for (size_t i = 0; i < t->n_affinity; i++) {
		const struct homi_affinity *a = &t->affinity[i];
		json_t *e = json_object();
		set(e, "gpu", json_string(t->devices[a->gpu].pci));
		set(e, "nvme", json_string(t->devices[a->nvme].pci));
		set(e, "link", json_string(homi_affinity_name(a->link)));
		set(e, "common-bridge", a->common >= 0 ? json_string(t->devices[a->common].pci) : json_null());
		json_array_append_new(aff, e);
	}
	set(o, "affinity", aff);
	set(o, "warnings", warnings_json(t));
	return o;
}

bool homi_device_listed(const struct homi_device *d)
{
	return d->kind == HOMI_KIND_NVME_PF || d->kind == HOMI_KIND_NVME_VF || d->kind == HOMI_KIND_NVME ||
	       d->kind == HOMI_KIND_GPU;
}

json_t *homi_json_device_list(const struct homi_topology *t)
{
	json_t *o = json_object(), *devs = json_array();

	set(o, "homi-devices", json_integer(1));
	for (size_t i = 0; i < t->n_devices; i++)
		if (homi_device_listed(&t->devices[i]))
			json_array_append_new(devs, homi_json_device(t, i));
	set(o, "devices", devs);
	set(o, "warnings", warnings_json(t));
	return o;
}

json_t *homi_json_device_show(const struct homi_topology *t, const struct homi_device_report *rep)
{
	const struct homi_device *d = &t->devices[rep->idx];
	json_t *o = json_object();

	set(o, "homi-device", json_integer(1));
	set(o, "device", homi_json_device(t, rep->idx));
	if (rep->have_primary) {
		const struct homi_primary_caps *p = &rep->primary;
		json_t *j = json_object();
		set(j, "cntlid", json_integer(p->cntlid));
		set(j, "vq-flexible-total", json_integer(p->vqfrt));
		set(j, "vq-flexible-primary", json_integer(p->vqrfap));
		set(j, "vq-private", json_integer(p->vqprt));
		set(j, "vq-max-per-vf", json_integer(p->vqfrsm));
		set(j, "vi-flexible-total", json_integer(p->vifrt));
		set(j, "vi-flexible-primary", json_integer(p->virfap));
		set(j, "vi-private", json_integer(p->viprt));
		set(j, "vi-max-per-vf", json_integer(p->vifrsm));
		/* extensions */
		set(j, "vq-flexible-assigned", json_integer(p->vqrfa));
		set(j, "vi-flexible-assigned", json_integer(p->virfa));
		set(j, "vq-granularity", json_integer(p->vqgran));
		set(j, "vi-granularity", json_integer(p->vigran));
		set(j, "resource-types", json_integer(p->crt));
		set(o, "primary", j);
	} else {
		set_unknown(o, "primary", json_null(), rep->primary_unknown);
	}
	if (rep->have_secondaries) {
		json_t *a = json_array();
		for (size_t i = 0; i < rep->n_secondaries; i++) {
			const struct homi_secondary *sc = &rep->secondaries[i];
			json_t *e = json_object();
			set(e, "scid", json_integer(sc->scid));
			set(e, "vf", json_integer(sc->vfn));
			set(e, "state", json_string(sc->online ? "online" : "offline"));
			set(e, "vq", json_integer(sc->nvq));
			set(e, "vi", json_integer(sc->nvi));
			set(e, "pci", str_or_null(homi_device_vf_addr(d, sc->vfn)));
			json_array_append_new(a, e);
		}
		set(o, "secondaries", a);
	} else {
		set_unknown(o, "secondaries", json_null(), rep->secondaries_unknown);
	}
	set(o, "warnings", warnings_json(t));
	return o;
}

json_t *homi_json_error(const char *message, int err)
{
	json_t *o = json_object();
	set(o, "homi-error", json_integer(1));
	set(o, "message", json_string(message));
	set(o, "errno", json_integer(err < 0 ? -err : err));
	return o;
}

static unsigned get_u(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));
	return v < 0 ? 0 : (unsigned)v;
}

int homi_device_report_from_json(const json_t *doc, size_t idx, struct homi_device_report **ret)
{
	struct homi_device_report *rep = calloc(1, sizeof(*rep));
	json_t *p = json_object_get(doc, "primary"), *secs = json_object_get(doc, "secondaries"), *e;
	size_t i;

	if (!rep)
		return -ENOMEM;
	rep->idx = idx;
	if (json_is_object(p)) {
		rep->have_primary = true;
		rep->primary = (struct homi_primary_caps){
			.cntlid = (uint16_t)get_u(p, "cntlid"), .crt = (uint8_t)get_u(p, "resource-types"),
			.vqfrt = get_u(p, "vq-flexible-total"), .vqrfap = (uint16_t)get_u(p, "vq-flexible-primary"),
			.vqprt = (uint16_t)get_u(p, "vq-private"), .vqfrsm = (uint16_t)get_u(p, "vq-max-per-vf"),
			.vqrfa = get_u(p, "vq-flexible-assigned"), .vqgran = (uint16_t)get_u(p, "vq-granularity"),
			.vifrt = get_u(p, "vi-flexible-total"), .virfap = (uint16_t)get_u(p, "vi-flexible-primary"),
			.viprt = (uint16_t)get_u(p, "vi-private"), .vifrsm = (uint16_t)get_u(p, "vi-max-per-vf"),
			.virfa = get_u(p, "vi-flexible-assigned"), .vigran = (uint16_t)get_u(p, "vi-granularity"),
		};
	} else {
		const char *why = json_string_value(json_object_get(doc, "primary-unknown"));
		rep->primary_unknown = strdup(why ? why : "unknown");
	}
	if (json_is_array(secs)) {
		rep->have_secondaries = true;
		rep->secondaries = calloc(json_array_size(secs) + 1, sizeof(*rep->secondaries));
		if (!rep->secondaries) {
			homi_device_report_free(rep);
			return -ENOMEM;
		}
		json_array_foreach(secs, i, e) {
			const char *state = json_string_value(json_object_get(e, "state"));
			rep->secondaries[rep->n_secondaries++] = (struct homi_secondary){
				.scid = (uint16_t)get_u(e, "scid"), .vfn = (uint16_t)get_u(e, "vf"),
				.nvq = (uint16_t)get_u(e, "vq"), .nvi = (uint16_t)get_u(e, "vi"),
				.online = state && streq(state, "online"),
			};
		}
	} else {
		const char *why = json_string_value(json_object_get(doc, "secondaries-unknown"));
		rep->secondaries_unknown = strdup(why ? why : "unknown");
	}
	*ret = rep;
	return 0;
}
