/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

struct homi_host *homi_host_free(struct homi_host *h)
{
	if (h)
		h->ops->free(h);
	return NULL;
}

void homi_host_forget(struct homi_host *h)
{
	if (h && h->ops->forget)
		h->ops->forget(h);
}

int homi_host_reader(struct homi_host *h, struct homi_host **ret)
{
	if (!h || !h->ops->reader)
		return -EOPNOTSUPP;
	return h->ops->reader(h, ret);
}

const char *homi_host_strerror(int r, int status)
{
	static __thread char buf[160];

	if (r == -EIO && status > 0)
		snprintf(buf, sizeof(buf), "NVMe status 0x%04x (%s)", (unsigned)status, homi_nvme_status_name(status));
	else
		snprintf(buf, sizeof(buf), "%s", strerror(r < 0 ? -r : r));
	return buf;
}
