/* SPDX-License-Identifier: MIT */
/* Soft controller: what one I/O command must satisfy, and its execution.
 * Checks follow NVMe 2.0 (Base 4.1.1 PRPs, 4.2.3 status codes; NVM
 * Command Set 3.2 Read/Write/Flush) in the order a controller applies
 * them: opcode, fused/PSDT, namespace, reserved protection and directive
 * fields, LBA range, MDTS, PRPs and the DMA window. */
#include "config.h"

#include <string.h>

#include "softctrl-internal.h"

#define GENERIC(sc) homi_nvme_status(HOMI_NVME_SCT_GENERIC, (sc), 1)

static int chunk_add(struct sc_worker *w, uint32_t *n, uint8_t *va, uint32_t len)
{
	if (*n >= w->max_chunks)
		return -1;
	w->chunks[*n].va = va;
	w->chunks[*n].len = len;
	(*n)++;
	return 0;
}

static uint16_t window_fault(struct homi_softctrl *sc)
{
	atomic_fetch_add(&sc->st_window_faults, 1);
	return GENERIC(HOMI_NVME_SC_DATA_XFER_ERROR);
}

uint16_t sc_prp_walk(struct sc_worker *w, uint64_t prp1, uint64_t prp2, uint64_t len, uint32_t *n)
{
	struct homi_softctrl *sc = w->sc;
	const uint64_t page = sc->cfg.page_size, mask = page - 1;
	uint64_t first, rem, lp;
	uint8_t *va;

	*n = 0;
	/* PRP1 may point into its page but must be dword aligned */
	if (prp1 & 3)
		return GENERIC(HOMI_NVME_SC_PRP_OFFSET_INVALID);
	first = page - (prp1 & mask);
	if (first > len)
		first = len;
	va = sc_xlate(sc, prp1, first);
	if (!va)
		return window_fault(sc);
	if (chunk_add(w, n, va, (uint32_t)first))
		return GENERIC(HOMI_NVME_SC_INTERNAL);
	rem = len - first;
	if (rem == 0)
		return 0;
	if (rem <= page) {
		/* PRP2 is the second data page */
		if (prp2 & mask)
			return GENERIC(HOMI_NVME_SC_PRP_OFFSET_INVALID);
		va = sc_xlate(sc, prp2, rem);
		if (!va)
			return window_fault(sc);
		return chunk_add(w, n, va, (uint32_t)rem) ? GENERIC(HOMI_NVME_SC_INTERNAL) : 0;
	}
	/* PRP2 points into a PRP list; the last entry of a list page chains
	 * to the next page while more than one entry is still needed */
	lp = prp2;
	if (lp & 7)
		return GENERIC(HOMI_NVME_SC_PRP_OFFSET_INVALID);
	while (rem) {
		uint64_t avail = (page - (lp & mask)) / 8, k;
		const uint64_t *list = (const uint64_t *)sc_xlate(sc, lp, avail * 8);
		if (!list)
			return window_fault(sc);
		for (k = 0; k < avail && rem; k++) {
			uint64_t e = list[k], c;
			if (k == avail - 1 && rem > page) {
				if (e & 7)
					return GENERIC(HOMI_NVME_SC_PRP_OFFSET_INVALID);
				lp = e;
				break;
			}
			if (e & mask)
				return GENERIC(HOMI_NVME_SC_PRP_OFFSET_INVALID);
			c = rem < page ? rem : page;
			va = sc_xlate(sc, e, c);
			if (!va)
				return window_fault(sc);
			if (chunk_add(w, n, va, (uint32_t)c))
				return GENERIC(HOMI_NVME_SC_INTERNAL);
			rem -= c;
		}
	}
	return 0;
}

static int match(uint64_t v, uint64_t mod, uint64_t rem)
{
	return mod && v % mod == rem;
}

uint16_t sc_io_execute(struct sc_worker *w, const struct homi_nvme_sqe *e, const struct homi_softctrl_faults *f,
		       uint8_t *drop)
{
	struct homi_softctrl *sc = w->sc;
	const struct homi_softctrl_config *c = &sc->cfg;
	uint64_t slba, len, off;
	uint32_t nlb, n, i;
	uint16_t st;

	*drop = 0;
	if (e->opc != HOMI_NVME_CMD_READ && e->opc != HOMI_NVME_CMD_WRITE && e->opc != HOMI_NVME_CMD_FLUSH)
		return GENERIC(HOMI_NVME_SC_INVALID_OPCODE);
	if (homi_nvme_sqe_fuse(e) || homi_nvme_sqe_psdt(e))
		return GENERIC(HOMI_NVME_SC_INVALID_FIELD); /* no fused commands, no SGLs */
	if (e->opc == HOMI_NVME_CMD_FLUSH)
		return (e->nsid == c->nsid || e->nsid == 0xffffffffu) ? 0 : GENERIC(HOMI_NVME_SC_INVALID_NS);
	if (e->nsid != c->nsid)
		return GENERIC(HOMI_NVME_SC_INVALID_NS);
	/* PRINFO (29:26) without protection information, DTYPE (23:20)
	 * without directives enabled */
	if (e->cdw12 & (0xfu << 26 | 0xfu << 20))
		return GENERIC(HOMI_NVME_SC_INVALID_FIELD);
	slba = homi_nvme_sqe_slba(e);
	nlb = homi_nvme_sqe_nlb(e);
	if (slba >= c->nlbas || nlb > c->nlbas - slba)
		return GENERIC(HOMI_NVME_SC_LBA_RANGE);
	len = (uint64_t)nlb << c->lba_shift;
	if (c->mdts_pages && len > (uint64_t)c->mdts_pages * c->page_size)
		return GENERIC(HOMI_NVME_SC_INVALID_FIELD);

	pthread_rwlock_rdlock(&sc->win_lock);
	st = sc_prp_walk(w, e->prp1, e->prp2, len, &n);
	if (st)
		goto out;
	if (match(slba, f->drop_mod, f->drop_rem)) {
		*drop = 1;
		goto out;
	}
	if (f->err_status && match(slba, f->err_mod, f->err_rem)) {
		atomic_fetch_add(&sc->st_injected, 1);
		st = f->err_status;
		goto out;
	}
	off = slba << c->lba_shift;
	for (i = 0; i < n; i++) {
		if (e->opc == HOMI_NVME_CMD_READ)
			memcpy(w->chunks[i].va, sc->ns + off, w->chunks[i].len);
		else
			memcpy(sc->ns + off, w->chunks[i].va, w->chunks[i].len);
		off += w->chunks[i].len;
	}
	atomic_fetch_add(&sc->st_bytes, len);
out:
	pthread_rwlock_unlock(&sc->win_lock);
	return st;
}
