/* SPDX-License-Identifier: MIT */
/* NVMe admin commands through libnvme, on a descriptor opened here.
 *
 * libnvme's topology scan reads fixed /sys paths, so homi never uses it: the
 * controller's name comes from the sysfs layer, the descriptor from
 * homi_nvme_open(). Functions return 0, or a negative errno; a command the
 * controller completed with an error returns -EIO and its 15-bit status
 * (SCT << 8 | SC, with DNR/More) in *ret_status. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sysfs.h"

/* Identify CNS 0x14, Primary Controller Capabilities. */
struct homi_primary_caps {
	uint16_t cntlid;
	uint8_t crt;                        /* bit 0 VQ, bit 1 VI resources */
	uint32_t vqfrt, vqrfa, vifrt, virfa;
	uint16_t vqrfap, vqprt, vqfrsm, vqgran;
	uint16_t virfap, viprt, vifrsm, vigran;
};

/* One entry of the Secondary Controller List (CNS 0x15). */
struct homi_secondary {
	uint16_t scid, pcid, vfn, nvq, nvi;
	bool online;
};

/* Opens the controller's character device (CTRL: "nvme0") read-only.
 * -ENODEV on a captured tree, which has no device nodes. */
int homi_nvme_open(const struct homi_sysfs *s, const char *ctrl, int *ret_fd);

int homi_nvme_identify_cntlid(int fd, uint16_t *ret_cntlid, int *ret_status);
int homi_nvme_primary_caps(int fd, uint16_t cntlid, struct homi_primary_caps *ret, int *ret_status);
/* Every secondary controller, paged past the 127 entries of one Identify. */
int homi_nvme_secondaries(int fd, struct homi_secondary **ret, size_t *ret_n, int *ret_status);

/* "Invalid Field in Command" for a status; never NULL. */
const char *homi_nvme_status_name(int status);

/* Virtualization Management (admin 0x1C). */
int homi_nvme_virt_mgmt(int fd, int act, int rt, uint16_t cntlid, uint16_t nr, int *ret_status);
/* Namespace Attachment (admin 0x15) of NSID to/from one controller. */
int homi_nvme_ns_attach(int fd, uint32_t nsid, uint16_t cntlid, bool attach, int *ret_status);
/* NSIDs allocated in the subsystem (Identify CNS 0x10, paged). */
int homi_nvme_ns_allocated(int fd, uint32_t **ret, size_t *ret_n, int *ret_status);
/* One page of an Allocated Namespace List (little-endian NSIDs, zero-ended,
 * at most MAX) appended to *OUT (*N of them): 1 when the next page is to be
 * read (this one was full and ascending), 0 when the list is complete (a
 * short page, or an NSID not above the one before: a controller that
 * ignores the starting NSID would otherwise be asked for ever), -ENOMEM. */
int homi_nvme_ns_page(const uint32_t *page, size_t max, uint32_t **out, size_t *n);
/* Controllers attached to NSID (Identify CNS 0x12). */
int homi_nvme_ns_ctrls(int fd, uint32_t nsid, uint16_t **ret, size_t *ret_n, int *ret_status);
