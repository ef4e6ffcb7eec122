/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "model-json.h"
#include "pci.h"

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

/* PCIe port types (PCI_EXP_TYPE_*) of bridges, by name. */
static const char *const port_types[] = {
	[4] = "root-port", [5] = "switch-upstream", [6] = "switch-downstream", [7] = "pcie-to-pci", [8] = "pci-to-pcie",
};

static const char *port_type_name(int type)
{
	return type >= 0 && (size_t)type < ARRAY_SIZE(port_types) ? port_types[type] : NULL;
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
	if (d->kind == HOMI_KIND_BRIDGE) /* an extension of 3.2: homictl draws the tree from it */
		set(o, "port-type", str_or_null(port_type_name(d->port_type)));
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

/* ---- the model from a homi-topology document (homid's answer) ------------- */

static int get_int(const json_t *o, const char *key, int unknown)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int)json_integer_value(v) : unknown;
}

static char *get_dup(const json_t *o, const char *key, bool *oom)
{
	const char *v = json_string_value(json_object_get(o, key));
	char *d = v ? strdup(v) : NULL;

	*oom |= v && !d;
	return d;
}

/* Copies string KEY of O into BUF (LEN bytes); false when it is not a
 * string that fits. An absent or null key leaves BUF empty. */
static bool get_str(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, key);

	buf[0] = '\0';
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) >= len)
		return false;
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool get_addr(const json_t *o, const char *key, char buf[HOMI_ADDR_LEN])
{
	char tmp[HOMI_ADDR_LEN];

	if (!get_str(o, key, buf, HOMI_ADDR_LEN))
		return false;
	return !buf[0] || (homi_pci_parse_addr(buf, tmp) == 0 && streq(tmp, buf));
}

static int nvme_from_json(const json_t *o, struct homi_nvme_ctrl *c)
{
	const json_t *ns = json_object_get(o, "namespaces"), *e;
	bool oom = false;
	size_t i;

	if (!json_is_object(o) || !get_str(o, "name", c->name, sizeof(c->name)) || !c->name[0] || !json_is_array(ns))
		return -EBADMSG;
	c->model = get_dup(o, "model", &oom);
	c->serial = get_dup(o, "serial", &oom);
	c->firmware = get_dup(o, "firmware", &oom);
	c->cntlid = get_int(o, "cntlid", -1);
	c->namespaces = calloc(json_array_size(ns) + 1, sizeof(*c->namespaces));
	if (oom || !c->namespaces)
		return -ENOMEM;
	json_array_foreach(ns, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) <= 0 || json_integer_value(e) > UINT32_MAX)
			return -EBADMSG;
		c->namespaces[c->n_namespaces++] = (uint32_t)json_integer_value(e);
	}
	return 0;
}

static int device_from_json(const json_t *o, struct homi_device *d)
{
	const json_t *link = json_object_get(o, "link"), *sriov = json_object_get(o, "sriov"), *vfs, *e;
	const char *port = json_string_value(json_object_get(o, "port-type"));
	bool oom = false;
	size_t i;

	if (!json_is_object(o) || !get_addr(o, "pci", d->pci) || !d->pci[0] || !get_addr(o, "parent", d->parent) ||
	    !get_addr(o, "pf", d->pf) || !get_str(o, "host-bridge", d->host_bridge, sizeof(d->host_bridge)) ||
	    !get_str(o, "vendor", d->vendor_str, sizeof(d->vendor_str)) ||
	    !get_str(o, "device", d->device_str, sizeof(d->device_str)) ||
	    !get_str(o, "class", d->class_str, sizeof(d->class_str)))
		return -EBADMSG;
	d->numa_node = get_int(o, "numa-node", -1);
	d->iommu_group = get_int(o, "iommu-group", -1);
	d->driver = get_dup(o, "driver", &oom);
	d->have_ids = d->vendor_str[0] && d->device_str[0] && d->class_str[0];
	if (d->have_ids) {
		d->vendor = (unsigned)strtoul(d->vendor_str, NULL, 16);
		d->device = (unsigned)strtoul(d->device_str, NULL, 16);
		d->class_ = (unsigned)strtoul(d->class_str, NULL, 16);
	}
	if (json_is_object(link)) {
		d->link_speed = get_dup(link, "speed", &oom);
		d->link_width = get_int(link, "width", 0);
	}
	for (size_t k = 0; port && k < ARRAY_SIZE(port_types); k++)
		if (port_types[k] && streq(port_types[k], port))
			d->port_type = (int)k;
	if (json_is_object(sriov)) {
		d->is_pf = true;
		d->sriov = (struct homi_sriov){
			get_int(sriov, "total-vfs", -1), get_int(sriov, "num-vfs", -1), get_int(sriov, "vf-offset", -1),
			get_int(sriov, "vf-stride", -1), get_int(sriov, "drivers-autoprobe", -1),
		};
		vfs = json_object_get(o, "vfs");
		if (!json_is_array(vfs))
			return -EBADMSG;
		d->vfs = calloc(json_array_size(vfs) + 1, sizeof(*d->vfs));
		if (!d->vfs)
			return -ENOMEM;
		json_array_foreach(vfs, i, e) {
			if (!json_is_string(e) || homi_pci_parse_addr(json_string_value(e), d->vfs[d->n_vfs]) < 0)
				return -EBADMSG;
			d->n_vfs++;
		}
	}
	if (json_object_get(o, "nvme")) {
		d->has_nvme = true;
		int r = nvme_from_json(json_object_get(o, "nvme"), &d->nvme);
		if (r < 0)
			return r;
	}
	return oom ? -ENOMEM : 0;
}

int homi_topology_from_json(const json_t *doc, struct homi_topology **ret)
{
	const json_t *devs = json_object_get(doc, "devices"), *warnings = json_object_get(doc, "warnings"), *e;
	struct homi_topology *t;
	size_t i;
	int r = 0;

	*ret = NULL;
	if (json_integer_value(json_object_get(doc, "homi-topology")) != 1 || !json_is_array(devs) ||
	    (warnings && !json_is_array(warnings)))
		return -EBADMSG;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->devices = calloc(json_array_size(devs) + 1, sizeof(*t->devices));
	if (!t->devices) {
		free(t);
		return -ENOMEM;
	}
	json_array_foreach(devs, i, e) {
		homi_device_init(&t->devices[t->n_devices], "");
		t->n_devices++; /* freed with the model whatever happens below */
		r = device_from_json(e, &t->devices[i]);
		/* in address order, each once: lookups bisect */
		if (r >= 0 && i > 0 && strcmp(t->devices[i - 1].pci, t->devices[i].pci) >= 0)
			r = -EBADMSG;
		if (r < 0)
			break;
	}
	if (r >= 0)
		r = homi_topology_finish(t, NULL);
	/* the document's warnings are the model's: finishing may repeat some */
	for (i = 0; i < t->n_warnings; i++)
		free(t->warnings[i]);
	t->n_warnings = 0;
	json_array_foreach(warnings, i, e)
		if (r >= 0 && json_is_string(e))
			homi_topology_warn(t, "%s", json_string_value(e));
	if (r < 0) {
		homi_topology_free(t);
		return r;
	}
	*ret = t;
	return 0;
}
