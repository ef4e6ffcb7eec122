/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imperative.h"
#include "macro.h"

char *homi_change_origin(const char *who, const char *what, unsigned uid)
{
	char when[32], *s = NULL;
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if (asprintf(&s, "%s %s (uid %u, %s)", who, what, uid, when) < 0)
		s = NULL;
	return s;
}

static int base_of(const struct homi_overlay *o, const struct homi_desired *policy_only, const char *pf, unsigned vf,
		   struct homi_want_vf *ret)
{
	const struct homi_overlay_entry *e = homi_overlay_find(o, pf, vf);
	const struct homi_want_pf *w = policy_only ? homi_desired_find(policy_only, pf) : NULL;
	const struct homi_want_vf *v = w ? homi_want_pf_find_vf(w, vf) : NULL;

	if (e)
		return homi_want_vf_copy(ret, &e->vf);
	if (v)
		return homi_want_vf_copy(ret, v);
	*ret = (struct homi_want_vf){ .vf = vf, .vq = -1, .vi = -1, .mode = -1 };
	return 0;
}

static _printf_(3, 4) int fail(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		if (vasprintf(ret_error, fmt, ap) < 0)
			*ret_error = NULL;
		va_end(ap);
	}
	return r;
}

int homi_change_edit(struct homi_overlay *o, const struct homi_desired *policy_only, const struct homi_change *c,
		     char **ret_error)
{
	struct homi_want_vf spec;
	size_t i;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (c->op == HOMI_CHANGE_VF_UNASSIGN)
		return homi_overlay_remove(o, c->pf, c->vf) < 0
			       ? fail(ret_error, -ENOENT, "%s: VF %u has no imperative assignment to remove", c->pf, c->vf)
			       : 0;
	r = base_of(o, policy_only, c->pf, c->vf, &spec);
	if (r < 0)
		return r;
	switch (c->op) {
	case HOMI_CHANGE_VF_ASSIGN:
		spec.driver = c->driver;
		if (c->vq >= 0) {
			spec.vq = c->vq;
			spec.vi = c->vi;
		}
		if (c->driver != HOMI_VF_DRIVER_VFIO) {
			/* /dev/vfio ownership only means something on vfio-pci */
			free(spec.owner);
			free(spec.group);
			spec.owner = spec.group = NULL;
			spec.mode = -1;
		}
		break;
	case HOMI_CHANGE_NS_ATTACH:
	case HOMI_CHANGE_NS_DETACH:
		for (i = 0; i < spec.n_ns && spec.ns[i].nsid != c->nsid; i++)
			;
		if (c->op == HOMI_CHANGE_NS_DETACH) {
			if (i == spec.n_ns) {
				homi_want_vf_done(&spec);
				return fail(ret_error, -ENOENT, "%s: namespace %u is not given to VF %u", c->pf, c->nsid,
					    c->vf);
			}
			memmove(&spec.ns[i], &spec.ns[i + 1], (spec.n_ns - i - 1) * sizeof(*spec.ns));
			spec.n_ns--;
			break;
		}
		if (i == spec.n_ns) {
			struct homi_want_ns *n = realloc(spec.ns, (spec.n_ns + 1) * sizeof(*n));
			if (!n) {
				homi_want_vf_done(&spec);
				return -ENOMEM;
			}
			spec.ns = n;
			spec.n_ns++;
		}
		spec.ns[i] = (struct homi_want_ns){ .nsid = c->nsid, .read_only = c->read_only };
		break;
	default:
		homi_want_vf_done(&spec);
		return -EINVAL;
	}
	free(spec.origin);
	spec.origin = strdup(c->origin ? c->origin : "imperative change");
	const struct homi_overlay_entry *old = homi_overlay_find(o, c->pf, c->vf);
	r = spec.origin ? homi_overlay_set(o, c->pf, &spec, c->runtime || (old && old->runtime)) : -ENOMEM;
	homi_want_vf_done(&spec);
	return r;
}
