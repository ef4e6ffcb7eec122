/* SPDX-License-Identifier: MIT */
/* Resolution of parsed policies against the observed topology: which PFs
 * each `match` selects, the VF-by-VF merge of the entries that select one PF,
 * `gpu` pairings, the `per-gpu` placement and `protect`.
 *
 * Everything is decided in a fixed order (documents as added, entries in
 * document order, devices and GPUs in address order), so one topology and
 * one set of documents always give the same desired state and the same
 * errors. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "policy-internal.h"
#include "policy.h"
#include "strv.h"
#include "topology.h"

#define VF_MAX 65535

/* The desired state of one PF while it is being built; indexed like the
 * topology's devices. */
struct pf_build {
	bool used;
	char *origin;              /* the first entry (or per-gpu placement) that selected it */
	int reset;                 /* allow-pf-reset: -1 no entry said it, else 0 or 1 */
	const char *reset_origin;  /* the entry that said it (borrowed from the policy) */
	struct homi_want_vf *vfs;
	size_t n_vfs;
};

struct resolver {
	const struct homi_policy *p;
	const struct homi_topology *t;
	struct policy_errors errs;
	struct pf_build *pfs;
	char **notes;            /* handed to the desired state */
	size_t n_notes;
	bool notes_oom;
};

#define err(r, ...) policy_errors_add(&(r)->errs, __VA_ARGS__)

#define note(r, ...) ((r)->notes_oom |= homi_strv_appendf(&(r)->notes, &(r)->n_notes, __VA_ARGS__) < 0)

static bool is_pf(const struct homi_device *d)
{
	return d->kind == HOMI_KIND_NVME_PF;
}

/* Where ADDR is protected: "FILE: $.protect[i]" of the first document that
 * lists it, into BUF; false when it is not. */
static bool protected_by(const struct homi_policy *p, const char *addr, char *buf, size_t len)
{
	for (size_t i = 0; i < p->n_docs; i++)
		for (size_t j = 0; j < p->docs[i]->n_protect; j++)
			if (streq(p->docs[i]->protect[j], addr)) {
				snprintf(buf, len, "%s: $.protect[%zu]", p->docs[i]->name, j);
				return true;
			}
	return false;
}

static bool match_holds(const struct policy_match *m, const struct homi_device *d)
{
	const struct homi_nvme_ctrl *c = d->has_nvme ? &d->nvme : NULL;

	if (m->pci && (m->pci_glob ? fnmatch(m->pci, d->pci, FNM_CASEFOLD) != 0 : !streq(m->pci, d->pci)))
		return false;
	if (m->serial && (!c || !c->serial || !streq(m->serial, c->serial)))
		return false;
	if (m->model && (!c || !c->model || fnmatch(m->model, c->model, 0) != 0))
		return false;
	if (m->vendor[0] && (!d->have_ids || strcasecmp(m->vendor, d->vendor_str) != 0))
		return false;
	if (m->device[0] && (!d->have_ids || strcasecmp(m->device, d->device_str) != 0))
		return false;
	if (m->numa_node >= 0 && d->numa_node != m->numa_node)
		return false;
	return true;
}

/* An entry whose `match.pci` is one address: that device must be an SR-IOV
 * NVMe PF homi may change. False when the entry must select nothing. */
static bool check_named_pf(struct resolver *r, const struct policy_entry *e)
{
	const struct homi_device *d;
	char by[PATH_MAX + 32];
	ssize_t i;

	if (!e->match.pci || e->match.pci_glob)
		return true;
	i = homi_topology_find(r->t, e->match.pci);
	if (i < 0)
		return true; /* not on this machine: selects nothing */
	d = &r->t->devices[i];
	if (d->kind == HOMI_KIND_NVME_VF && d->vf > 0)
		err(r, "%s.match.pci: %s is a VF (VF %d of %s); match selects physical functions only", e->origin,
		    d->pci, d->vf, d->pf);
	else if (d->kind == HOMI_KIND_NVME_VF)
		err(r, "%s.match.pci: %s is a VF of %s; match selects physical functions only", e->origin, d->pci,
		    d->pf[0] ? d->pf : "an unknown PF");
	else if (d->kind == HOMI_KIND_NVME)
		err(r, "%s.match.pci: %s is an NVMe controller without SR-IOV (it cannot have VFs)", e->origin,
		    d->pci);
	else if (!is_pf(d))
		err(r, "%s.match.pci: %s is not an NVMe controller (kind %s)", e->origin, d->pci,
		    homi_kind_name(d->kind));
	else if (protected_by(r->p, d->pci, by, sizeof(by)))
		err(r, "%s.match.pci: %s is protected (%s)", e->origin, d->pci, by);
	else
		return true;
	return false;
}

static struct homi_want_vf *find_vf(struct pf_build *b, unsigned vf)
{
	for (size_t i = 0; i < b->n_vfs; i++)
		if (b->vfs[i].vf == vf)
			return &b->vfs[i];
	return NULL;
}

/* Adds a copy of W (its VF number and origin as given) to B. */
static int push_vf(struct pf_build *b, const struct homi_want_vf *w)
{
	struct homi_want_vf *n = realloc(b->vfs, (b->n_vfs + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	b->vfs = n;
	if (want_vf_copy(&b->vfs[b->n_vfs], w) < 0)
		return -ENOMEM;
	b->n_vfs++;
	return 0;
}

static int use_pf(struct pf_build *b, const char *origin)
{
	if (b->used)
		return 0;
	b->origin = strdup(origin);
	if (!b->origin)
		return -ENOMEM;
	b->used = true;
	return 0;
}

static void merge_reset(struct resolver *r, struct pf_build *b, const struct homi_device *d,
			const struct policy_entry *e)
{
	if (e->allow_pf_reset < 0)
		return;
	if (b->reset >= 0 && b->reset != e->allow_pf_reset) {
		err(r, "%s.allow-pf-reset and %s.allow-pf-reset disagree for %s", b->reset_origin, e->origin, d->pci);
		return;
	}
	b->reset = e->allow_pf_reset;
	b->reset_origin = e->origin;
}

/* Merges entry E into the PF at device index I, VF by VF. */
static int merge_entry(struct resolver *r, size_t i, const struct policy_entry *e)
{
	const struct homi_device *d = &r->t->devices[i];
	struct pf_build *b = &r->pfs[i];
	int limit = d->sriov.total_vfs >= 0 ? d->sriov.total_vfs : VF_MAX;

	if (use_pf(b, e->origin) < 0)
		return -ENOMEM;
	merge_reset(r, b, d, e);
	for (size_t j = 0; j < e->n_vfs; j++) {
		const struct homi_want_vf *w = &e->vfs[j], *have = find_vf(b, w->vf);
		if (have) {
			if (!want_vf_same(have, w))
				err(r, "%s and %s give VF %u of %s different settings", have->origin, w->origin, w->vf,
				    d->pci);
		} else if (w->vf > (unsigned)limit) {
			err(r, "%s: VF %u is beyond sriov_totalvfs (%d) of %s", w->origin, w->vf, limit, d->pci);
		} else if (push_vf(b, w) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* `gpu` addresses of an entry that selected a PF must name GPUs. */
static void check_gpu_addrs(struct resolver *r, const struct policy_entry *e)
{
	for (size_t j = 0; j < e->n_vfs; j++) {
		const struct homi_want_vf *w = &e->vfs[j];
		ssize_t g;

		if (w->gpu != HOMI_GPU_ADDR)
			continue;
		g = homi_topology_find(r->t, w->gpu_addr);
		if (g < 0)
			err(r, "%s.gpu: %s is not a GPU (no such device)", w->origin, w->gpu_addr);
		else if (r->t->devices[g].kind != HOMI_KIND_GPU)
			err(r, "%s.gpu: %s is not a GPU (kind %s)", w->origin, w->gpu_addr,
			    homi_kind_name(r->t->devices[g].kind));
	}
}

static int apply_entry(struct resolver *r, const struct policy_entry *e)
{
	const struct homi_topology *t = r->t;
	bool selected = false;
	char by[PATH_MAX + 32];

	if (!check_named_pf(r, e))
		return 0;
	for (size_t i = 0; i < t->n_devices; i++) {
		const struct homi_device *d = &t->devices[i];
		/* A protected PF is never selected; naming it by address is
		 * an error (above), a glob or attribute passes over it, and the
		 * plan says so: an operator must not think it was provisioned. */
		if (!is_pf(d) || !match_holds(&e->match, d))
			continue;
		if (protected_by(r->p, d->pci, by, sizeof(by))) {
			note(r, "%s: passed over: %s.match selects it, but it is protected (%s)", d->pci, e->origin, by);
			continue;
		}
		if (merge_entry(r, i, e) < 0)
			return -ENOMEM;
		selected = true;
	}
	if (selected)
		check_gpu_addrs(r, e);
	return 0;
}

/* ---- per-gpu ----------------------------------------------------------- */

/* The one per-gpu template of all documents; two that differ are an error. */
static const struct homi_want_vf *per_gpu_template(struct resolver *r)
{
	const struct homi_want_vf *first = NULL;

	for (size_t i = 0; i < r->p->n_docs; i++) {
		const struct homi_want_vf *w = r->p->docs[i]->per_gpu;
		if (!w)
			continue;
		if (!first)
			first = w;
		else if (!want_vf_same(first, w))
			err(r, "%s and %s give different per-gpu settings", first->origin, w->origin);
	}
	return first;
}

/* The explicit VF already paired with GPU ADDR, and its PF's index. */
static const struct homi_want_vf *paired_with(struct resolver *r, const char *addr, size_t *ret_pf)
{
	for (size_t i = 0; i < r->t->n_devices; i++)
		for (size_t j = 0; j < r->pfs[i].n_vfs; j++) {
			const struct homi_want_vf *w = &r->pfs[i].vfs[j];
			if (w->gpu == HOMI_GPU_ADDR && streq(w->gpu_addr, addr)) {
				*ret_pf = i;
				return w;
			}
		}
	return NULL;
}

/* The PF for GPU G: best affinity, then fewest VFs claimed, then lowest
 * address (devices are in address order). -1 when there is none. */
static ssize_t place_gpu(struct resolver *r, size_t g)
{
	const struct homi_topology *t = r->t;
	enum homi_affinity_link best_aff = HOMI_AFF_SYS;
	ssize_t best = -1;
	char by[PATH_MAX + 32];

	ssize_t nearest_protected = -1;
	enum homi_affinity_link protected_aff = HOMI_AFF_SYS;

	for (size_t i = 0; i < t->n_devices; i++) {
		enum homi_affinity_link aff;
		if (!is_pf(&t->devices[i]))
			continue;
		aff = homi_topology_affinity(t, g, i, NULL);
		if (protected_by(r->p, t->devices[i].pci, by, sizeof(by))) {
			if (nearest_protected < 0 || aff < protected_aff) {
				nearest_protected = (ssize_t)i;
				protected_aff = aff;
			}
			continue;
		}
		if (best < 0 || aff < best_aff || (aff == best_aff && r->pfs[i].n_vfs < r->pfs[best].n_vfs)) {
			best = (ssize_t)i;
			best_aff = aff;
		}
	}
	if (nearest_protected >= 0 && (best < 0 || protected_aff < best_aff)) {
		protected_by(r->p, t->devices[nearest_protected].pci, by, sizeof(by));
		note(r, "%s: passed over for GPU %s (%s, nearer than %s), it is protected (%s)",
		     t->devices[nearest_protected].pci, t->devices[g].pci, homi_affinity_name(protected_aff),
		     best < 0 ? "any other" : t->devices[best].pci, by);
	}
	return best;
}

static unsigned lowest_free_vf(struct pf_build *b, unsigned limit)
{
	for (unsigned v = 1; v <= limit; v++)
		if (!find_vf(b, v))
			return v;
	return 0;
}

static int place_one(struct resolver *r, const struct homi_want_vf *tmpl, size_t g)
{
	const struct homi_device *gpu = &r->t->devices[g];
	_cleanup_free_ char *origin = NULL;
	const struct homi_want_vf *other;
	struct homi_want_vf w;
	struct pf_build *b;
	ssize_t pf;
	size_t opf;
	unsigned vf, limit;
	int ret;

	if (asprintf(&origin, "%s for GPU %s", tmpl->origin, gpu->pci) < 0)
		return -ENOMEM;
	other = paired_with(r, gpu->pci, &opf);
	if (other) {
		err(r, "%s collides with %s (VF %u of %s is already paired with that GPU)", origin, other->origin,
		    other->vf, r->t->devices[opf].pci);
		return 0;
	}
	pf = place_gpu(r, g);
	if (pf < 0) {
		err(r, "%s: no SR-IOV NVMe PF to place its VF on", origin);
		return 0;
	}
	b = &r->pfs[pf];
	limit = r->t->devices[pf].sriov.total_vfs >= 0 ? (unsigned)r->t->devices[pf].sriov.total_vfs : VF_MAX;
	vf = lowest_free_vf(b, limit);
	if (!vf) {
		err(r, "%s: no free VF on %s (sriov_totalvfs %u, all claimed)", origin, r->t->devices[pf].pci, limit);
		return 0;
	}
	w = *tmpl;
	w.vf = vf;
	w.gpu = HOMI_GPU_ADDR;
	memcpy(w.gpu_addr, gpu->pci, sizeof(w.gpu_addr));
	w.origin = origin;
	ret = use_pf(b, origin);
	return ret < 0 ? ret : push_vf(b, &w);
}

static int apply_per_gpu(struct resolver *r)
{
	const struct homi_want_vf *tmpl = per_gpu_template(r);

	if (!tmpl)
		return 0;
	for (size_t g = 0; g < r->t->n_devices; g++)
		if (r->t->devices[g].kind == HOMI_KIND_GPU && place_one(r, tmpl, g) < 0)
			return -ENOMEM;
	return 0;
}

/* ---- the result -------------------------------------------------------- */

/* "nearest": the GPU with the best affinity to PF I, lowest address first;
 * "" when the machine has none. */
static void nearest_gpu(const struct homi_topology *t, size_t i, char out[HOMI_ADDR_LEN])
{
	enum homi_affinity_link best_aff = HOMI_AFF_SYS;
	ssize_t best = -1;

	for (size_t g = 0; g < t->n_devices; g++) {
		enum homi_affinity_link aff;
		if (t->devices[g].kind != HOMI_KIND_GPU)
			continue;
		aff = homi_topology_affinity(t, g, i, NULL);
		if (best < 0 || aff < best_aff) {
			best = (ssize_t)g;
			best_aff = aff;
		}
	}
	out[0] = '\0';
	if (best >= 0)
		memcpy(out, t->devices[best].pci, HOMI_ADDR_LEN);
}

static int cmp_vf(const void *a, const void *b)
{
	unsigned x = ((const struct homi_want_vf *)a)->vf, y = ((const struct homi_want_vf *)b)->vf;
	return x < y ? -1 : x > y;
}

/* Moves the PF being built at index I into W. */
static void finish_pf(struct resolver *r, size_t i, struct homi_want_pf *w)
{
	struct pf_build *b = &r->pfs[i];

	memcpy(w->pci, r->t->devices[i].pci, sizeof(w->pci));
	w->allow_pf_reset = b->reset == 1;
	w->origin = TAKE_PTR(b->origin);
	w->vfs = TAKE_PTR(b->vfs);
	w->n_vfs = b->n_vfs;
	b->n_vfs = 0;
	if (w->n_vfs)
		qsort_safe(w->vfs, w->n_vfs, sizeof(*w->vfs), cmp_vf);
	w->num_vfs = w->n_vfs ? w->vfs[w->n_vfs - 1].vf : 0;
	for (size_t j = 0; j < w->n_vfs; j++)
		if (w->vfs[j].gpu == HOMI_GPU_NEAREST)
			nearest_gpu(r->t, i, w->vfs[j].gpu_addr);
}

static int cmp_addr(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int build_protect(const struct homi_policy *p, struct homi_desired *d)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < p->n_docs; i++)
		n += p->docs[i]->n_protect;
	if (!n)
		return 0;
	d->protect = malloc(n * sizeof(*d->protect));
	if (!d->protect)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_docs; i++)
		for (size_t j = 0; j < p->docs[i]->n_protect; j++)
			memcpy(d->protect[k++], p->docs[i]->protect[j], HOMI_ADDR_LEN);
	qsort_safe(d->protect, n, sizeof(*d->protect), cmp_addr);
	for (size_t i = 0; i < n; i++)
		if (!d->n_protect || !streq(d->protect[d->n_protect - 1], d->protect[i]))
			memmove(d->protect[d->n_protect++], d->protect[i], HOMI_ADDR_LEN);
	return 0;
}

static int build_desired(struct resolver *r, struct homi_desired **ret)
{
	struct homi_desired *d = calloc(1, sizeof(*d));
	size_t n = 0;

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < r->t->n_devices; i++)
		n += r->pfs[i].used;
	d->pfs = n ? calloc(n, sizeof(*d->pfs)) : NULL;
	if ((n && !d->pfs) || build_protect(r->p, d) < 0) {
		homi_desired_free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->t->n_devices; i++)
		if (r->pfs[i].used)
			finish_pf(r, i, &d->pfs[d->n_pfs++]);
	d->notes = TAKE_PTR(r->notes);
	d->n_notes = r->n_notes;
	r->n_notes = 0;
	*ret = d;
	return 0;
}

static void resolver_done(struct resolver *r)
{
	for (size_t i = 0; r->pfs && i < r->t->n_devices; i++) {
		for (size_t j = 0; j < r->pfs[i].n_vfs; j++)
			want_vf_done(&r->pfs[i].vfs[j]);
		free(r->pfs[i].vfs);
		free(r->pfs[i].origin);
	}
	free(r->pfs);
	for (size_t i = 0; i < r->n_notes; i++)
		free(r->notes[i]);
	free(r->notes);
	policy_errors_done(&r->errs);
}

static int resolve(struct resolver *r)
{
	for (size_t i = 0; i < r->p->n_docs; i++)
		for (size_t j = 0; j < r->p->docs[i]->n_entries; j++)
			if (apply_entry(r, &r->p->docs[i]->entries[j]) < 0)
				return -ENOMEM;
	return apply_per_gpu(r);
}

int homi_policy_resolve(const struct homi_policy *p, const struct homi_topology *t, struct homi_desired **ret,
			char **ret_errors)
{
	struct resolver r = { .p = p, .t = t };
	int ret_code;

	*ret = NULL;
	if (ret_errors)
		*ret_errors = NULL;
	r.pfs = t->n_devices ? calloc(t->n_devices, sizeof(*r.pfs)) : NULL;
	if (t->n_devices && !r.pfs)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_devices; i++)
		r.pfs[i].reset = -1;
	ret_code = resolve(&r);
	if (ret_code == 0 && (r.errs.n || r.errs.oom))
		ret_code = policy_errors_finish(&r.errs, ret_errors);
	else if (ret_code == 0 && r.notes_oom)
		ret_code = -ENOMEM;
	else if (ret_code == 0)
		ret_code = build_desired(&r, ret);
	resolver_done(&r);
	return ret_code;
}
