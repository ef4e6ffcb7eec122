/* SPDX-License-Identifier: MIT */
/* ACS (Access Control Services) of a port, from its extended capability
 * through libpci, and its description in lspci's words. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check-facts.h"
#include "macro.h"

#define PCI_EXT_CAP_ID_ACS 0x000d
#define CONFIG_EXTENDED 4096

_printf_(2, 3) static void unreadable(struct homi_acs *a, const char *fmt, ...)
{
	va_list ap;

	a->state = HOMI_ACS_UNREADABLE;
	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
}

void homi_acs_read(const struct homi_sysfs *s, struct homi_pci *pci, const char *addr, struct homi_acs *ret)
{
	unsigned char config[CONFIG_EXTENDED];
	char rel[64];
	uint8_t regs[8];
	int fd, n, off;

	memset(ret, 0, sizeof(*ret));
	/* libpci reads the same file; an unprivileged reader gets its first 64
	 * bytes only, and the extended space would then look empty: say
	 * "unreadable" rather than "no ACS". */
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	fd = homi_sysfs_open_dir(s, rel);
	n = fd < 0 ? fd : homi_sysfs_read_bin_at(fd, "config", config, sizeof(config));
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		unreadable(ret, "its config space cannot be read (%s)", strerror(-n));
		return;
	}
	if (n < CONFIG_EXTENDED) {
		unreadable(ret, "only %d bytes of its config space are readable: the extended space (ACS) needs root", n);
		return;
	}
	if (!pci) {
		unreadable(ret, "libpci is not available to decode its config space");
		return;
	}
	off = homi_pci_find_cap(pci, addr, PCI_EXT_CAP_ID_ACS, 1);
	if (off < 0) {
		unreadable(ret, "libpci: %s", *homi_pci_last_error(pci) ? homi_pci_last_error(pci) : strerror(-off));
		return;
	}
	if (off == 0) {
		ret->state = HOMI_ACS_ABSENT;
		return;
	}
	if (homi_pci_read_config(pci, addr, (unsigned)off + 4, regs, 4) < 0) {
		unreadable(ret, "libpci cannot read its ACS registers at 0x%x", (unsigned)off + 4);
		return;
	}
	ret->state = HOMI_ACS_READ;
	ret->offset = off;
	ret->cap = (uint16_t)(regs[0] | regs[1] << 8);
	ret->ctl = (uint16_t)(regs[2] | regs[3] << 8);
	if ((ret->cap & HOMI_ACS_EC) && homi_pci_read_config(pci, addr, (unsigned)off + 8, regs, 4) == 0)
		ret->egress = (uint32_t)regs[0] | (uint32_t)regs[1] << 8 | (uint32_t)regs[2] << 16 |
			      (uint32_t)regs[3] << 24;
}

void homi_acs_describe(uint16_t cap, uint16_t word, char *buf, size_t len)
{
	static const char *const names[] = { "SrcValid", "TransBlk", "ReqRedir", "CmpltRedir",
					     "UpstreamFwd", "EgressCtrl", "DirectTrans" };
	size_t used = 0;

	(void)cap; /* lspci shows every bit, implemented or not; so do we */
	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names) && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s%c", i ? " " : "", names[i],
				 (word >> i) & 1 ? '+' : '-');
		if (w < 0)
			break;
		used += (size_t)w;
	}
}
