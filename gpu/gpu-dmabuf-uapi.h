/* SPDX-License-Identifier: MIT */
/* The ioctl interface of the out-of-tree dma-buf importer
 * (/dev/dmabuf_import; gpu-path.md 2.4): ATTACH a dma-buf descriptor and
 * learn its segment count, GET_MAP the {dma_addr, dma_len} segments,
 * DETACH. Attachments belong to the importer descriptor that made them.
 * The numbers are the importer's ABI ('u', 0x47..0x49). */
#pragma once

#include <linux/ioctl.h>
#include <stdint.h>

struct homi_dmabuf_import_attach {
	int32_t fd;     /* dma-buf descriptor (in) */
	uint32_t count; /* segments (out) */
};

struct homi_dmabuf_import_seg {
	uint64_t dma_addr;
	uint64_t dma_len;
};

struct homi_dmabuf_import_get_map {
	int32_t fd;     /* dma-buf descriptor (in) */
	uint32_t count; /* room in segs (in) */
	struct homi_dmabuf_import_seg segs[];
};

#define HOMI_DMABUF_IMPORT_ATTACH _IOWR('u', 0x47, struct homi_dmabuf_import_attach)
#define HOMI_DMABUF_IMPORT_DETACH _IOW('u', 0x48, int)
#define HOMI_DMABUF_IMPORT_GET_MAP _IOWR('u', 0x49, struct homi_dmabuf_import_get_map)
