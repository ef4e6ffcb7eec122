/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "defaults.h"
#include "macro.h"
#include "tool-args.h"
#include "tool.h"

void tool_err(const struct tool_opts *o, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", o->addr ? o->addr : o->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void tool_qpair_err(const struct tool_opts *o, struct homi_nvme_qpair *qp, int r, const char *what)
{
	char buf[512];

	homi_nvme_qpair_strerror(qp, r, buf, sizeof(buf));
	tool_err(o, "%s: %s", what, buf);
}

int tool_parse_mode(const char *s, enum homi_vfio_mode *ret)
{
	static const enum homi_vfio_mode modes[] = { HOMI_VFIO_AUTO, HOMI_VFIO_TYPE1, HOMI_VFIO_CDEV, HOMI_VFIO_NOIOMMU };

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (streq(s, homi_vfio_mode_name(modes[i]))) {
			*ret = modes[i];
			return 0;
		}
	return -EINVAL;
}

int tool_common_option(int c, const char *arg, struct tool_opts *o, const char **ret_error)
{
	uint64_t v;

	*ret_error = NULL;
	switch (c) {
	case 'n':
		if (homi_parse_uint(arg, 0xfffffffe, &v) < 0 || v == 0) {
			*ret_error = "--nsid: expected a namespace ID from 1";
			return -EINVAL;
		}
		o->nsid = (uint32_t)v;
		return 1;
	case 'R': o->ro = true; return 1;
	case 'P': o->policy = arg; return 1;
	case 'X': o->reset = true; return 1;
	case 'T':
		if (homi_parse_uint(arg, 3600000, &v) < 0 || v == 0) {
			*ret_error = "--timeout-ms: expected milliseconds from 1";
			return -EINVAL;
		}
		o->timeout_ms = (uint32_t)v;
		return 1;
	case 'M':
		if (tool_parse_mode(arg, &o->mode) < 0) {
			*ret_error = "--vfio-mode: expected auto, type1, cdev or noiommu";
			return -EINVAL;
		}
		return 1;
	case 'v': o->verbose = true; return 1;
	default: return 0;
	}
}

int tool_dma_alloc(const struct tool_opts *o, struct tool_dev *d, size_t len, struct homi_dma_mem *ret)
{
	int r = homi_vfio_dma_alloc(d->vfio, len, ret);
	struct rlimit rl;

	if (r == -ENOMEM && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		tool_err(o, "cannot pin %zu KiB of DMA memory: RLIMIT_MEMLOCK is %llu KiB (raise it: ulimit -l, "
			 "LimitMEMLOCK=; see homi-io(1))", (len + 1023) / 1024, (unsigned long long)rl.rlim_cur / 1024);
	else if (r < 0)
		tool_err(o, "cannot allocate %zu bytes of DMA memory: %s", len, strerror(-r));
	return r;
}

/* Whether the delegation lets this process write namespace NSID. */
static int decide_access(const struct tool_opts *o, struct tool_dev *d)
{
	const char *path = o->policy ? o->policy : homi_policy_dir();
	int r;

	if (o->ro) {
		d->access = HOMI_NS_RO;
		if (!o->want_write)
			return 0;
		tool_err(o, "namespace %u is read-only (--ro): refusing to write", o->nsid);
		return -EROFS;
	}
	if (!o->want_write && !o->query_access)
		return 0; /* reading needs no permission beyond the VF's own */
	r = homi_ns_access_from_policy(d->sysfs, path, o->addr, o->nsid, &d->access, &d->access_why);
	if (r < 0 && !o->want_write) {
		d->access = HOMI_NS_UNMANAGED; /* only a question: no answer is no failure */
		return 0;
	}
	if (r < 0) {
		if (d->access_why)
			fprintf(stderr, "%s\n", d->access_why);
		tool_err(o, "cannot tell how namespace %u is delegated (policy %s: %s): refusing to write", o->nsid,
			 path, strerror(-r));
		return r;
	}
	if (!o->want_write)
		return 0;
	switch (d->access) {
	case HOMI_NS_RO:
		tool_err(o, "namespace %u is delegated read-only (%s): refusing to write", o->nsid,
			 d->access_why ?: path);
		return -EROFS;
	case HOMI_NS_NONE:
		tool_err(o, "namespace %u is not delegated to this VF (%s): refusing to write", o->nsid,
			 d->access_why ?: path);
		return -EPERM;
	case HOMI_NS_RW:
	case HOMI_NS_UNMANAGED:
		if (o->verbose)
			tool_err(o, "namespace %u: %s (%s)", o->nsid, homi_ns_access_name(d->access),
				 d->access_why ? d->access_why : path);
		return 0;
	}
	return 0;
}

int tool_open(const struct tool_opts *o, struct tool_dev *d)
{
	struct homi_nvme_opts nopts = { .timeout_ms = o->timeout_ms };
	char err[768];
	uint16_t status;
	int r;

	*d = (struct tool_dev){ .access = HOMI_NS_UNMANAGED };
	r = homi_sysfs_open(NULL, &d->sysfs);
	if (r < 0) {
		tool_err(o, "/sys: %s", strerror(-r));
		return r;
	}
	/* The policy first: a refused write touches nothing. */
	if (o->nsid && o->want_write) {
		r = decide_access(o, d);
		if (r < 0)
			return r;
	}
	r = homi_vfio_open(d->sysfs, o->addr, o->mode, &d->vfio, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s\n", err);
		return r;
	}
	if (o->verbose)
		fprintf(stderr, "%s: opened through VFIO (%s, IOMMU group %d)\n", o->addr,
			homi_vfio_mode_name(homi_vfio_mode(d->vfio)), homi_vfio_group(d->vfio));
	if (o->reset) {
		r = homi_vfio_reset(d->vfio);
		if (r < 0) {
			tool_err(o, "function-level reset: %s", r == -ENOTTY ? "the VF offers none" : strerror(-r));
			return r;
		}
	}
	r = homi_nvme_ctrl_open_vfio(d->vfio, &nopts, &d->ctrl, err, sizeof(err));
	if (r < 0) {
		tool_err(o, "%s", err);
		return r;
	}
	if (o->nsid) {
		if (!o->want_write)
			r = decide_access(o, d);
		if (r < 0)
			return r;
		r = homi_nvme_ns_open(d->ctrl, o->nsid, d->access == HOMI_NS_RO || !o->want_write, &d->ns, &status);
		if (r == -ENOENT) {
			tool_err(o, "namespace %u is not attached to this controller", o->nsid);
			return r;
		}
		if (r == -EOPNOTSUPP) {
			tool_err(o, "namespace %u has a format with metadata, which this driver does not handle",
				 o->nsid);
			return r;
		}
		if (r < 0) {
			tool_qpair_err(o, homi_nvme_ctrl_admin(d->ctrl), r, "Identify Namespace");
			return r;
		}
	}
	return 0;
}

void tool_close(struct tool_dev *d)
{
	d->ctrl = homi_nvme_ctrl_close(d->ctrl);
	d->vfio = homi_vfio_close(d->vfio);
	d->sysfs = homi_sysfs_free(d->sysfs);
	free(d->access_why);
	d->access_why = NULL;
}

void tool_usage(const char *prog, const char *text, const char *fmt, va_list ap)
{
	if (fmt) {
		fprintf(stderr, "%s: ", prog);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	fputs(text, stderr);
}
