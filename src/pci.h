/* SPDX-License-Identifier: MIT */
/* libpci, confined: config space, capabilities and names.
 *
 * libpci's error callback is declared never to return and its default exits
 * the process. Every call into libpci made here runs under a guard that turns
 * such an error into -EIO (the message is kept for homi_pci_last_error), so no
 * libpci failure can end homictl or homid. libpci reads DIR/bus/pci of the
 * sysfs root given, with the linux-sysfs method forced: it never falls back to
 * /proc or to port I/O on the real host. A captured tree (any root but
 * /sys) is refused (-EPERM) when a device of it leads outside the tree or
 * holds anything but regular files, directories and sysfs's own links:
 * libpci would follow a link named config to a device node of the host, or
 * block on a named pipe. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct homi_pci;

int homi_pci_open(const char *sysfs_root, struct homi_pci **ret);
struct homi_pci *homi_pci_free(struct homi_pci *p);

/* The message of the last libpci error this context caught ("" if none). */
const char *homi_pci_last_error(const struct homi_pci *p);

/* Parses "DDDD:BB:DD.F" or "BB:DD.F" into its canonical 12-character form.
 * Returns -EINVAL for anything else. */
int homi_pci_parse_addr(const char *s, char out[13]);

/* PCI Express port type (PCI_EXP_TYPE_*: 4 root port, 5 upstream, 6
 * downstream, ...) of ADDR, or -ENODATA when it has no PCIe capability or its
 * config space cannot be read. */
int homi_pci_port_type(struct homi_pci *p, const char *addr);

/* Reads LEN bytes of config space at OFFSET (extended space included). */
int homi_pci_read_config(struct homi_pci *p, const char *addr, unsigned offset, void *buf, size_t len);

/* Offset of capability ID (standard, or extended when EXTENDED is set), 0
 * when absent, or a negative errno. */
int homi_pci_find_cap(struct homi_pci *p, const char *addr, unsigned id, int extended);

/* "Vendor Device" names from pci.ids; -ENOENT when unknown. */
int homi_pci_name(struct homi_pci *p, unsigned vendor, unsigned device, char *buf, size_t len);
