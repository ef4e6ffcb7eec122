/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "ns-access.h"
#include "pci.h"
#include "policy.h"

const char *homi_ns_access_name(enum homi_ns_access a)
{
	switch (a) {
	case HOMI_NS_UNMANAGED: return "unmanaged";
	case HOMI_NS_RW: return "rw";
	case HOMI_NS_RO: return "ro";
	case HOMI_NS_NONE: return "none";
	}
	return "?";
}

static int say(char **ret_why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(char **ret_why, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (ret_why) {
		free(*ret_why);
		*ret_why = s;
	} else {
		free(s);
	}
	return 0;
}

int homi_ns_access_from_policy(const struct homi_sysfs *s, const char *policy_path, const char *vf, uint32_t nsid,
			       enum homi_ns_access *ret, char **ret_why)
{
	struct homi_topology *t = NULL;
	struct homi_policy *p = NULL;
	struct homi_desired *d = NULL;
	const struct homi_want_pf *wp;
	const struct homi_want_vf *wv;
	const struct homi_device *dev;
	char addr[HOMI_ADDR_LEN], *errors = NULL;
	struct stat st;
	ssize_t idx;
	int r;

	if (ret_why)
		*ret_why = NULL;
	*ret = HOMI_NS_UNMANAGED;
	if (homi_pci_parse_addr(vf, addr) < 0)
		return -EINVAL;
	if (stat(policy_path, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		return say(ret_why, "no policy: %s does not exist", policy_path);
	}
	r = homi_topology_load(s, NULL, &t);
	if (r < 0)
		return r;
	idx = homi_topology_find(t, addr);
	if (idx < 0 || !t->devices[idx].pf[0] || t->devices[idx].vf <= 0) {
		r = -EINVAL;
		say(ret_why, "%s is not a VF", addr);
		goto out;
	}
	dev = &t->devices[idx];
	p = homi_policy_new();
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	r = homi_policy_add_path(p, policy_path, &errors);
	if (r >= 0)
		r = homi_policy_resolve(p, t, &d, &errors);
	if (r < 0) {
		if (ret_why)
			*ret_why = TAKE_PTR(errors);
		goto out;
	}
	wp = homi_desired_find(d, dev->pf);
	if (!wp) {
		say(ret_why, "no policy in %s matches its PF %s", policy_path, dev->pf);
		goto out;
	}
	wv = homi_want_pf_find_vf(wp, (unsigned)dev->vf);
	if (!wv) {
		*ret = HOMI_NS_NONE;
		say(ret_why, "VF %d is not listed for its PF %s by %s", dev->vf, dev->pf, wp->origin);
		goto out;
	}
	*ret = HOMI_NS_NONE;
	for (size_t i = 0; i < wv->n_ns; i++)
		if (wv->ns[i].nsid == nsid)
			*ret = wv->ns[i].read_only ? HOMI_NS_RO : HOMI_NS_RW;
	if (*ret == HOMI_NS_NONE)
		say(ret_why, "%s lists no namespace %u", wv->origin, nsid);
	else
		say(ret_why, "%s", wv->origin);
	r = 0;
out:
	free(errors);
	homi_desired_free(d);
	homi_policy_free(p);
	homi_topology_free(t);
	return r;
}
