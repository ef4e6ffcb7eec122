/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "macro.h"

const char *homi_device_vf_addr(const struct homi_device *pf, unsigned vfn)
{
	return vfn >= 1 && vfn <= pf->n_vfs ? pf->vfs[vfn - 1] : NULL;
}

static char *reason_errno(const char *what, int r, int status)
{
	char *s = NULL;

	if (r == -EIO && status > 0)
		r = asprintf(&s, "%s failed: NVMe status 0x%04x (%s)", what, (unsigned)status,
			     homi_nvme_status_name(status));
	else
		r = asprintf(&s, "%s: %s", what, strerror(-r));
	return r < 0 ? NULL : s;
}

static void set_unknown(struct homi_device_report *rep, char *why)
{
	rep->primary_unknown = why;
	rep->secondaries_unknown = why ? strdup(why) : NULL;
}

int homi_device_report_load(const struct homi_sysfs *s, const struct homi_topology *t, size_t idx,
			    struct homi_device_report **ret)
{
	const struct homi_device *d = &t->devices[idx];
	struct homi_device_report *rep = calloc(1, sizeof(*rep));
	_cleanup_close_ int fd = -EBADF;
	char path[300];
	uint16_t cntlid;
	int r, status = 0;

	if (!rep)
		return -ENOMEM;
	rep->idx = idx;
	*ret = rep;

	if (d->kind != HOMI_KIND_NVME_PF) {
		set_unknown(rep, strdup("not an SR-IOV capable NVMe physical function"));
		return 0;
	}
	if (!d->has_nvme) {
		set_unknown(rep, strdup("controller not bound to the nvme driver (no nvme class device)"));
		return 0;
	}
	if (!homi_sysfs_is_live(s)) {
		set_unknown(rep, strdup("NVMe admin data is not part of a captured sysfs tree"));
		return 0;
	}
	r = homi_nvme_open(s, d->nvme.name, &fd);
	if (r < 0) {
		homi_sysfs_dev_path(s, d->nvme.name, path, sizeof(path));
		set_unknown(rep, reason_errno(path, r, 0));
		return 0;
	}
	r = homi_nvme_identify_cntlid(fd, &cntlid, &status);
	if (r < 0) {
		set_unknown(rep, reason_errno("Identify Controller", r, status));
		return 0;
	}
	r = homi_nvme_primary_caps(fd, cntlid, &rep->primary, &status);
	if (r < 0) {
		/* Support is decided by this command, not by OACS bit 7 (QEMU
		 * 7.2 leaves it clear yet implements it). */
		set_unknown(rep, reason_errno("Identify Primary Controller Capabilities", r, status));
		return 0;
	}
	rep->have_primary = true;
	r = homi_nvme_secondaries(fd, &rep->secondaries, &rep->n_secondaries, &status);
	if (r < 0) {
		rep->secondaries_unknown = reason_errno("Identify Secondary Controller List", r, status);
		return 0;
	}
	rep->have_secondaries = true;
	return 0;
}

struct homi_device_report *homi_device_report_free(struct homi_device_report *r)
{
	if (!r)
		return NULL;
	free(r->primary_unknown);
	free(r->secondaries_unknown);
	free(r->secondaries);
	free(r);
	return NULL;
}
