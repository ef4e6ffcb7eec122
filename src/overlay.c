/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "overlay.h"
#include "pci.h"
#include "state.h"

#define OVERLAY_FILE "overlay.json"

static json_t *vf_json(const struct homi_want_vf *v)
{
	json_t *o = json_object(), *ns = json_array();

	json_object_set_new(o, "vf", json_integer(v->vf));
	json_object_set_new(o, "driver", json_string(homi_vf_driver_name(v->driver)));
	if (v->vq >= 0) {
		json_object_set_new(o, "vq", json_integer(v->vq));
		json_object_set_new(o, "vi", json_integer(v->vi));
	}
	for (size_t i = 0; i < v->n_ns; i++)
		json_array_append_new(ns, json_pack("{s:i, s:s}", "nsid", (json_int_t)v->ns[i].nsid, "access",
						    v->ns[i].read_only ? "ro" : "rw"));
	json_object_set_new(o, "namespaces", ns);
	if (v->owner)
		json_object_set_new(o, "owner", json_string(v->owner));
	if (v->group)
		json_object_set_new(o, "group", json_string(v->group));
	if (v->mode >= 0) {
		char m[16];
		snprintf(m, sizeof(m), "%04o", (unsigned)v->mode & 07777u);
		json_object_set_new(o, "mode", json_string(m));
	}
	return o;
}

json_t *homi_overlay_to_json(const struct homi_overlay *o)
{
	json_t *a = json_array();

	for (size_t i = 0; o && i < o->n; i++) {
		json_t *e = vf_json(&o->entries[i].vf);
		json_object_set_new(e, "pf", json_string(o->entries[i].pf));
		json_object_set_new(e, "origin", json_string(o->entries[i].vf.origin ? o->entries[i].vf.origin : ""));
		json_object_set_new(e, "runtime", json_boolean(o->entries[i].runtime));
		json_array_append_new(a, e);
	}
	return a;
}

static int entry_from_json(json_t *j, bool runtime, struct homi_overlay_entry *e)
{
	const char *pf = NULL, *driver = "none", *origin = "", *owner = NULL, *group = NULL, *mode = NULL;
	int vf = 0, vq = -1, vi = -1;
	json_t *ns = NULL;
	json_error_t err;

	if (json_unpack_ex(j, &err, 0, "{s:s, s:i, s?s, s?i, s?i, s?o, s?s, s?s, s?s, s?s}", "pf", &pf, "vf", &vf,
			   "driver", &driver, "vq", &vq, "vi", &vi, "namespaces", &ns, "owner", &owner, "group", &group,
			   "mode", &mode, "origin", &origin) < 0 ||
	    vf < 1 || homi_pci_parse_addr(pf, e->pf) < 0)
		return -EBADMSG;
	memset(&e->vf, 0, sizeof(e->vf));
	e->runtime = runtime;
	e->vf.vf = (unsigned)vf;
	e->vf.vq = vq;
	e->vf.vi = vi;
	e->vf.mode = mode ? (int)strtol(mode, NULL, 8) : -1;
	if (homi_vf_driver_from_name(driver, &e->vf.driver) < 0)
		return -EBADMSG;
	e->vf.owner = owner ? strdup(owner) : NULL;
	e->vf.group = group ? strdup(group) : NULL;
	e->vf.origin = strdup(origin);
	size_t n = json_array_size(ns);
	e->vf.ns = calloc(n ? n : 1, sizeof(*e->vf.ns));
	if (!e->vf.ns || !e->vf.origin)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(ns, i);
		const char *access = "rw";
		json_int_t nsid = 0;
		if (json_unpack(x, "{s:I, s?s}", "nsid", &nsid, "access", &access) < 0 || nsid < 1)
			return -EBADMSG;
		e->vf.ns[e->vf.n_ns++] = (struct homi_want_ns){ .nsid = (uint32_t)nsid, .read_only = streq(access, "ro") };
	}
	return 0;
}

static int load_file(struct homi_overlay *o, const char *dir, bool runtime)
{
	char path[PATH_MAX];
	json_error_t err;
	json_t *j, *entries;
	int r = 0;

	if (!dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, OVERLAY_FILE);
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return access(path, F_OK) == 0 ? -EBADMSG : 0;
	entries = json_object_get(j, "entries");
	for (size_t i = 0; i < json_array_size(entries) && r >= 0; i++) {
		struct homi_overlay_entry *n = realloc(o->entries, (o->n + 1) * sizeof(*n));
		if (!n) {
			r = -ENOMEM;
			break;
		}
		o->entries = n;
		r = entry_from_json(json_array_get(entries, i), runtime, &o->entries[o->n]);
		if (r < 0)
			homi_want_vf_done(&o->entries[o->n].vf);
		else
			o->n++;
	}
	json_decref(j);
	return r;
}

int homi_overlay_load(const char *state_dir, const char *run_dir, struct homi_overlay **ret)
{
	struct homi_overlay *o = calloc(1, sizeof(*o));
	int r;

	if (!o)
		return -ENOMEM;
	r = load_file(o, state_dir, false);
	if (r >= 0)
		r = load_file(o, run_dir, true);
	if (r < 0) {
		homi_overlay_free(o);
		return r;
	}
	*ret = o;
	return 0;
}

struct homi_overlay *homi_overlay_free(struct homi_overlay *o)
{
	if (!o)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		homi_want_vf_done(&o->entries[i].vf);
	free(o->entries);
	free(o);
	return NULL;
}

static int save_file(const struct homi_overlay *o, const char *dir, bool runtime)
{
	json_t *doc = json_object(), *entries = json_array();

	if (!dir)
		return 0;
	for (size_t i = 0; i < o->n; i++) {
		if (o->entries[i].runtime != runtime)
			continue;
		json_t *e = vf_json(&o->entries[i].vf);
		json_object_set_new(e, "pf", json_string(o->entries[i].pf));
		json_object_set_new(e, "origin", json_string(o->entries[i].vf.origin ? o->entries[i].vf.origin : ""));
		json_array_append_new(entries, e);
	}
	json_object_set_new(doc, "homi-overlay", json_integer(1));
	json_object_set_new(doc, "entries", entries);
	_cleanup_free_ char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	int r = homi_mkdir_p(dir, 0755);
	return r < 0 ? r : homi_write_file_atomic(dir, OVERLAY_FILE, text, 0644);
}

int homi_overlay_save(const struct homi_overlay *o, const char *state_dir, const char *run_dir)
{
	int r = save_file(o, state_dir, false);
	return r < 0 ? r : save_file(o, run_dir, true);
}

const struct homi_overlay_entry *homi_overlay_find(const struct homi_overlay *o, const char *pf, unsigned vf)
{
	for (size_t i = 0; o && i < o->n; i++)
		if (streq(o->entries[i].pf, pf) && o->entries[i].vf.vf == vf)
			return &o->entries[i];
	return NULL;
}

int homi_overlay_set(struct homi_overlay *o, const char *pf, const struct homi_want_vf *vf, bool runtime)
{
	struct homi_overlay_entry e = { .runtime = runtime };
	int r;

	memcpy(e.pf, pf, HOMI_ADDR_LEN);
	r = homi_want_vf_copy(&e.vf, vf);
	if (r < 0)
		return r;
	homi_overlay_remove(o, pf, vf->vf);
	struct homi_overlay_entry *n = realloc(o->entries, (o->n + 1) * sizeof(*n));
	if (!n) {
		homi_want_vf_done(&e.vf);
		return -ENOMEM;
	}
	o->entries = n;
	o->entries[o->n++] = e;
	return 0;
}

int homi_overlay_remove(struct homi_overlay *o, const char *pf, unsigned vf)
{
	for (size_t i = 0; i < o->n; i++)
		if (streq(o->entries[i].pf, pf) && o->entries[i].vf.vf == vf) {
			homi_want_vf_done(&o->entries[i].vf);
			memmove(&o->entries[i], &o->entries[i + 1], (o->n - i - 1) * sizeof(*o->entries));
			o->n--;
			return 0;
		}
	return -ENOENT;
}

static int cmp_pf(const void *a, const void *b)
{
	return strcmp(((const struct homi_want_pf *)a)->pci, ((const struct homi_want_pf *)b)->pci);
}

static int cmp_vf(const void *a, const void *b)
{
	unsigned x = ((const struct homi_want_vf *)a)->vf, y = ((const struct homi_want_vf *)b)->vf;
	return x < y ? -1 : x > y;
}

static struct homi_want_pf *pf_for(struct homi_desired *d, const char *pf, bool *created)
{
	for (size_t i = 0; i < d->n_pfs; i++)
		if (streq(d->pfs[i].pci, pf))
			return &d->pfs[i];
	struct homi_want_pf *n = realloc(d->pfs, (d->n_pfs + 1) * sizeof(*n));
	if (!n)
		return NULL;
	d->pfs = n;
	struct homi_want_pf *w = &d->pfs[d->n_pfs++];
	*w = (struct homi_want_pf){ 0 };
	memcpy(w->pci, pf, HOMI_ADDR_LEN);
	w->origin = strdup("overlay");
	*created = true;
	return w;
}

int homi_overlay_merge(const struct homi_overlay *o, const struct homi_topology *t, struct homi_desired *d,
		       char **ret_errors)
{
	char *errors = NULL;
	size_t elen = 0;
	FILE *err = open_memstream(&errors, &elen);
	bool created = false;
	int r = 0;

	if (!err)
		return -ENOMEM;
	for (size_t i = 0; o && i < o->n && r >= 0; i++) {
		const struct homi_overlay_entry *e = &o->entries[i];
		ssize_t idx = homi_topology_find(t, e->pf);
		if (idx < 0 || t->devices[idx].kind != HOMI_KIND_NVME_PF) {
			fprintf(err, "%s: %s: not an SR-IOV NVMe PF on this machine\n", e->pf, e->vf.origin);
			continue;
		}
		if (homi_desired_protected(d, e->pf)) {
			fprintf(err, "%s: %s: the PF is protected\n", e->pf, e->vf.origin);
			continue;
		}
		if ((int)e->vf.vf > t->devices[idx].sriov.total_vfs) {
			fprintf(err, "%s: %s: VF %u is beyond sriov_totalvfs (%d)\n", e->pf, e->vf.origin, e->vf.vf,
				t->devices[idx].sriov.total_vfs);
			continue;
		}
		struct homi_want_pf *w = pf_for(d, e->pf, &created);
		if (!w) {
			r = -ENOMEM;
			break;
		}
		size_t k;
		for (k = 0; k < w->n_vfs && w->vfs[k].vf != e->vf.vf; k++)
			;
		if (k == w->n_vfs) {
			struct homi_want_vf *n = realloc(w->vfs, (w->n_vfs + 1) * sizeof(*n));
			if (!n) {
				r = -ENOMEM;
				break;
			}
			w->vfs = n;
			w->n_vfs++;
		} else {
			homi_want_vf_done(&w->vfs[k]);
		}
		r = homi_want_vf_copy(&w->vfs[k], &e->vf);
		if (r < 0) {
			w->vfs[k] = (struct homi_want_vf){ .vq = -1, .vi = -1, .mode = -1 };
			break;
		}
		qsort_safe(w->vfs, w->n_vfs, sizeof(*w->vfs), cmp_vf);
		if (e->vf.vf > w->num_vfs)
			w->num_vfs = e->vf.vf;
	}
	fclose(err);
	if (created)
		qsort_safe(d->pfs, d->n_pfs, sizeof(*d->pfs), cmp_pf);
	if (r >= 0 && elen) {
		errors[elen - 1] = '\0';
		r = -EINVAL;
	}
	if (r == -EINVAL && ret_errors)
		*ret_errors = errors;
	else
		free(errors);
	return r;
}
