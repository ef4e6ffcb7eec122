/* SPDX-License-Identifier: MIT */
/* homi_check_run() (checks.h): which pairs are checked, in which order, and the report
 * the judges fill. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-facts.h"
#include "device.h"
#include "macro.h"

void homi_report_add(struct homi_check_report *r, const char *check, const char *subject,
		     const struct homi_pair_facts *f, unsigned modes, enum homi_check_status st, char *why,
		     char *fix)
{
	struct homi_verdict *v;

	modes &= r->modes;
	if (!modes) {
		free(why);
		free(fix);
		return;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			goto oom;
		r->v = v;
		r->cap = cap;
	}
	v = &r->v[r->n];
	memset(v, 0, sizeof(*v));
	v->subject = strdup(subject);
	v->check = strdup(check);
	if (!v->subject || !v->check || !why)
		goto oom_v;
	v->modes = modes;
	v->status = st;
	v->why = why;
	v->fix = fix;
	if (f) {
		memcpy(v->vf, f->vf, sizeof(v->vf));
		memcpy(v->gpu, f->gpu, sizeof(v->gpu));
		memcpy(v->pair, f->label, sizeof(v->pair));
	}
	r->n++;
	return;
oom_v:
	free(v->subject);
	free(v->check);
oom:
	free(why);
	free(fix);
	r->oom = true;
}

struct homi_check_report *homi_check_report_free(struct homi_check_report *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].check);
		free(r->v[i].subject);
		free(r->v[i].why);
		free(r->v[i].fix);
	}
	free(r->v);
	free(r);
	return NULL;
}

size_t homi_check_count(const struct homi_check_report *r, enum homi_check_status st)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->v[i].status == st;
	return n;
}

const char *homi_check_status_name(enum homi_check_status st)
{
	static const char *const names[] = {
		[HOMI_CHECK_PASS] = "PASS", [HOMI_CHECK_WARN] = "WARN",
		[HOMI_CHECK_FAIL] = "FAIL", [HOMI_CHECK_UNKNOWN] = "UNKNOWN",
	};
	return (unsigned)st < ARRAY_SIZE(names) ? names[st] : "UNKNOWN";
}

int homi_check_status_parse(const char *s, enum homi_check_status *ret)
{
	for (enum homi_check_status st = HOMI_CHECK_PASS; st <= HOMI_CHECK_UNKNOWN; st++)
		if (streq(s, homi_check_status_name(st))) {
			*ret = st;
			return 0;
		}
	return -EINVAL;
}

const char *homi_check_modes_str(unsigned modes, char *buf, size_t len)
{
	static const char letters[] = "HDG";
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned i = 0; i < 3; i++)
		if ((modes & (1u << i)) && used + 3 <= len)
			used += (size_t)snprintf(buf + used, len - used, "%s%c", used ? " " : "", letters[i]);
	return buf;
}

int homi_check_modes_parse(const char *s, unsigned *ret)
{
	unsigned m = 0;

	if (streq(s, "all")) {
		*ret = HOMI_MODES_ALL;
		return 0;
	}
	for (; *s; s++) {
		switch (toupper((unsigned char)*s)) {
		case 'H': m |= HOMI_MODE_H; break;
		case 'D': m |= HOMI_MODE_D; break;
		case 'G': m |= HOMI_MODE_G; break;
		case ',': case ' ': break;
		default: return -EINVAL;
		}
	}
	if (!m)
		return -EINVAL;
	*ret = m;
	return 0;
}

int homi_iommu_on(const struct homi_host_facts *h, const struct homi_pair_facts *f)
{
	if (f && streq(f->group_name, "vfio-noiommu"))
		return 0;
	if (h->iommu_units > 0)
		return 1;
	/* A default domain exists only where an IOMMU driver made one. */
	if (f && f->group_type[0] && !streq(f->group_type, "unknown"))
		return 1;
	return 0;
}

void homi_judge_pair(const struct homi_host_facts *h, const struct homi_pair_facts *f, struct homi_check_report *r)
{
	homi_judge_pairing(f, r);
	homi_judge_affinity(f, r);
	homi_judge_acs(h, f, r);
	homi_judge_iommu_mode(h, f, r);
	homi_judge_iommu_group(h, f, r);
	homi_judge_vf_driver(f, r);
	homi_judge_vf_online(f, r);
	homi_judge_vfio_owner(f, r);
	homi_judge_gpu_bar1(f, r);
}

/* ---- which pairs --------------------------------------------------------- */

struct wants {
	struct homi_check_want *w;
	size_t n;
};

static int push(struct wants *ws, const char *pf, unsigned vfn, const struct homi_want_vf *want)
{
	struct homi_check_want *w = realloc(ws->w, (ws->n + 1) * sizeof(*w));

	if (!w)
		return -ENOMEM;
	ws->w = w;
	w = &ws->w[ws->n++];
	memset(w, 0, sizeof(*w));
	snprintf(w->pf, sizeof(w->pf), "%s", pf);
	w->vfn = vfn;
	w->want = want;
	return 0;
}

/* Every VF a policy delegates to vfio-pci, by PF address then VF number;
 * restricted to PF ONLY_PF when set. */
static int delegated(const struct homi_desired *want, const char *only_pf, struct wants *ws)
{
	for (size_t i = 0; want && i < want->n_pfs; i++) {
		const struct homi_want_pf *p = &want->pfs[i];
		if (only_pf && !streq(only_pf, p->pci))
			continue;
		for (size_t j = 0; j < p->n_vfs; j++)
			if (p->vfs[j].driver == HOMI_VF_DRIVER_VFIO && push(ws, p->pci, p->vfs[j].vf, &p->vfs[j]) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* The pairs to check for OPTS->only; *ret_gpu set when it names a GPU. */
static int select_pairs(const struct homi_check_env *env, const struct homi_desired *want, const char *only,
			struct wants *ws, bool *ret_gpu, char **ret_error)
{
	const struct homi_topology *t = env->t;
	ssize_t i;

	*ret_gpu = false;
	if (!only)
		return delegated(want, NULL, ws);
	i = homi_topology_find(t, only);
	if (i < 0) {
		*ret_error = homi_fmt("%s: no such PCI function", only);
		return -ENOENT;
	}
	const struct homi_device *d = &t->devices[i];
	switch (d->kind) {
	case HOMI_KIND_NVME_VF: {
		if (!d->pf[0] || d->vf <= 0) {
			*ret_error = homi_fmt("%s: its PF or VF number is unknown (see homictl topology)", only);
			return -EINVAL;
		}
		const struct homi_want_pf *p = want ? homi_desired_find(want, d->pf) : NULL;
		return push(ws, d->pf, (unsigned)d->vf, p ? homi_want_pf_find_vf(p, (unsigned)d->vf) : NULL);
	}
	case HOMI_KIND_NVME_PF: {
		int r = delegated(want, d->pci, ws);
		if (r == 0 && ws->n == 0) {
			*ret_error = homi_fmt("%s: no policy delegates a VF of this PF to vfio-pci; name the VF to "
					      "check it anyway", only);
			return -ENOENT;
		}
		return r;
	}
	case HOMI_KIND_GPU:
		*ret_gpu = true;
		return delegated(want, NULL, ws);
	default:
		*ret_error = homi_fmt("%s: kind %s, not an NVMe VF, NVMe PF or GPU", only, homi_kind_name(d->kind));
		return -EINVAL;
	}
}

int homi_check_run(const struct homi_check_env *env, const struct homi_desired *want,
		   const struct homi_check_opts *opts, struct homi_check_report **ret, char **ret_error)
{
	struct homi_check_report *r = calloc(1, sizeof(*r));
	struct homi_host_facts h;
	struct wants ws = { 0 };
	size_t judged = 0;
	bool only_gpu;
	int e;

	*ret_error = NULL;
	if (!r)
		return -ENOMEM;
	r->modes = opts && opts->modes ? opts->modes & HOMI_MODES_ALL : HOMI_MODES_ALL;
	e = select_pairs(env, want, opts ? opts->only : NULL, &ws, &only_gpu, ret_error);
	if (e < 0)
		goto out;

	homi_check_gather_host(env, &h);
	homi_judge_modules(&h, r);
	homi_judge_importer(&h, r);
	for (size_t i = 0; i < ws.n; i++) {
		struct homi_pair_facts f;
		e = homi_check_gather_pair(env, &ws.w[i], &f);
		if (e >= 0 && (!only_gpu || streq(f.gpu, opts->only))) {
			homi_judge_pair(&h, &f, r);
			judged++;
		}
		homi_pair_facts_clear(&f);
		if (e == -ENOMEM)
			goto out;
	}
	if (only_gpu && !judged) {
		/* No delegated VF is paired with this GPU: its own checks. */
		struct homi_pair_facts f;
		homi_check_gather_gpu(env, opts->only, &f);
		homi_judge_gpu_bar1(&f, r);
		homi_pair_facts_clear(&f);
	}
	e = r->oom ? -ENOMEM : 0;
out:
	free(ws.w);
	if (e < 0) {
		homi_check_report_free(r);
		return e;
	}
	*ret = r;
	return 0;
}
