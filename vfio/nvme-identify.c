/* SPDX-License-Identifier: MIT */
/* Identify Controller and Identify Namespace pages, the fields used. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "nvme-driver.h"

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* An ASCII field of LEN bytes, space padded, into BUF (LEN + 1 bytes). */
static void ascii(char *buf, const uint8_t *p, size_t len)
{
	memcpy(buf, p, len);
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\0'))
		buf[--len] = '\0';
}

void homi_nvme_parse_ctrl(const void *page, uint32_t mpsmin, struct homi_nvme_ctrl_info *ret)
{
	const uint8_t *id = page;

	memset(ret, 0, sizeof(*ret));
	ret->vid = le16(id + 0);
	ret->ssvid = le16(id + 2);
	ascii(ret->sn, id + 4, 20);
	ascii(ret->mn, id + 24, 40);
	ascii(ret->fr, id + 64, 8);
	ret->mdts = id[77];
	ret->cntlid = le16(id + 78);
	ret->ver = le32(id + 80);
	ret->sqes = id[512];
	ret->cqes = id[513];
	ret->nn = le32(id + 516);
	ret->oncs = le16(id + 520);
	ret->vwc = id[525];
	/* 2^MDTS pages of CAP.MPSMIN; past 2^31 bytes it is no limit for us. */
	if (ret->mdts && ret->mdts < 20 && (uint64_t)mpsmin << ret->mdts <= 0x80000000ULL)
		ret->max_xfer = mpsmin << ret->mdts;
}

int homi_nvme_parse_ns(const void *page, uint32_t nsid, struct homi_nvme_ns_info *ret)
{
	const uint8_t *id = page;
	uint8_t flbas = id[26], nlbaf = id[25];
	uint32_t lbaf;
	unsigned idx = (flbas & 0xf) | (unsigned)((flbas >> 5) & 3) << 4;

	memset(ret, 0, sizeof(*ret));
	ret->nsid = nsid;
	ret->nsze = le64(id + 0);
	ret->ncap = le64(id + 8);
	ret->nuse = le64(id + 16);
	if (ret->nsze == 0)
		return -ENOENT;
	if (idx > nlbaf || idx >= 64)
		return -EBADMSG;
	lbaf = le32(id + 128 + 4 * idx);
	ret->lbaf = (uint8_t)idx;
	ret->ms = (uint16_t)(lbaf & 0xffff);
	if (((lbaf >> 16) & 0xff) < 9 || ((lbaf >> 16) & 0xff) > 16)
		return -EBADMSG; /* 512 B .. 64 KiB blocks */
	ret->lba_size = 1u << ((lbaf >> 16) & 0xff);
	return 0;
}
