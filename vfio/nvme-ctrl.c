/* SPDX-License-Identifier: MIT */
/* Controller bring-up: disable and enable within CAP.TO, the admin queue,
 * Identify Controller; and noticing a controller that vanished. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nvme-internal.h"

#define ADMIN_DEPTH_DEFAULT 32u
#define ADMIN_DEPTH_MAX 64u     /* SQ and CQ each fit in one page */
#define POLL_SLEEP_US 100

static int failf(char *err, size_t errlen, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int failf(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

uint64_t homi_nvme_read_cap(volatile void *bar)
{
	uint32_t lo = homi_mmio_read32(bar, HOMI_NVME_REG_CAP), hi = homi_mmio_read32(bar, HOMI_NVME_REG_CAP + 4);
	return (uint64_t)hi << 32 | lo;
}

static void write64(volatile void *bar, uint32_t off, uint64_t v)
{
	homi_mmio_write32(bar, off, (uint32_t)v);
	homi_mmio_write32(bar, off + 4, (uint32_t)(v >> 32));
}

int homi_nvme_ctrl_check(struct homi_nvme_ctrl *c, uint32_t *ret_csts)
{
	uint32_t csts = homi_mmio_read32(c->bar, HOMI_NVME_REG_CSTS);

	c->last_csts = csts;
	if (ret_csts)
		*ret_csts = csts;
	if (homi_nvme_csts_dead(csts) || !(csts & HOMI_NVME_CSTS_RDY)) {
		c->dead = true;
		return -ENODEV;
	}
	return 0;
}

/* Waits up to TO_MS for CSTS.RDY == WANT. -ETIMEDOUT, or -ENODEV when the
 * registers read all ones (or CFS while enabling). */
static int wait_ready(struct homi_nvme_ctrl *c, bool want, uint32_t *ret_csts)
{
	uint64_t deadline = homi_now_ns() + (uint64_t)c->to_ms * 1000000ULL;
	uint32_t csts;

	for (;;) {
		csts = homi_mmio_read32(c->bar, HOMI_NVME_REG_CSTS);
		*ret_csts = csts;
		if (csts == 0xffffffffu || (want && (csts & HOMI_NVME_CSTS_CFS)))
			return -ENODEV;
		if (!!(csts & HOMI_NVME_CSTS_RDY) == want)
			return 0;
		if (homi_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(POLL_SLEEP_US);
	}
}

static int disable(struct homi_nvme_ctrl *c, char *err, size_t errlen)
{
	uint32_t cc = homi_mmio_read32(c->bar, HOMI_NVME_REG_CC), csts;
	char why[160];
	int r;

	if (cc & HOMI_NVME_CC_EN)
		homi_mmio_write32(c->bar, HOMI_NVME_REG_CC, cc & ~(uint32_t)HOMI_NVME_CC_EN);
	r = wait_ready(c, false, &csts);
	if (r == -ETIMEDOUT)
		return failf(err, errlen, r, "controller did not become disabled within CAP.TO (%u ms), CSTS=0x%08x",
			     c->to_ms, csts);
	if (r < 0) {
		homi_nvme_csts_describe(csts, why, sizeof(why));
		return failf(err, errlen, r, "controller vanished while disabling it: %s", why);
	}
	return 0;
}

static int enable(struct homi_nvme_ctrl *c, uint16_t depth, char *err, size_t errlen)
{
	uint64_t sq = c->admin_mem.iova, cq = c->admin_mem.iova + HOMI_NVME_PAGE;
	uint32_t csts;
	char why[160];
	int r;

	memset((uint8_t *)c->admin_mem.va + HOMI_NVME_PAGE, 0, HOMI_NVME_PAGE);
	homi_mmio_write32(c->bar, HOMI_NVME_REG_AQA, (uint32_t)(depth - 1) << 16 | (uint32_t)(depth - 1));
	write64(c->bar, HOMI_NVME_REG_ASQ, sq);
	write64(c->bar, HOMI_NVME_REG_ACQ, cq);
	homi_dma_wmb();
	homi_mmio_write32(c->bar, HOMI_NVME_REG_CC, homi_nvme_cc_enable(c->page));
	r = wait_ready(c, true, &csts);
	if (r == -ETIMEDOUT)
		return failf(err, errlen, r, "controller did not become ready within CAP.TO (%u ms), CSTS=0x%08x",
			     c->to_ms, csts);
	if (r < 0) {
		homi_nvme_csts_describe(csts, why, sizeof(why));
		return failf(err, errlen, r, "controller failed while enabling it: %s", why);
	}
	return 0;
}

int homi_nvme_ctrl_open(volatile void *bar0, size_t bar_len, const struct homi_dma_ops *ops, void *ops_ctx,
			const struct homi_nvme_opts *opts, struct homi_nvme_ctrl **ret, char *err, size_t errlen)
{
	struct homi_nvme_ctrl *c;
	uint16_t depth = opts && opts->admin_depth ? opts->admin_depth : ADMIN_DEPTH_DEFAULT;
	struct homi_nvme_ioq aq;
	uint32_t csts;
	uint16_t status;
	char why[192];
	int r;

	if (bar_len < HOMI_NVME_REG_DOORBELLS + 8)
		return failf(err, errlen, -EINVAL, "BAR0 of %zu bytes is too small for NVMe registers", bar_len);
	c = calloc(1, sizeof(*c));
	if (!c)
		return failf(err, errlen, -ENOMEM, "out of memory");
	c->bar = bar0;
	c->bar_len = bar_len;
	c->ops = ops;
	c->ops_ctx = ops_ctx;
	c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : HOMI_NVME_DEFAULT_TIMEOUT_MS;
	c->cap = homi_nvme_read_cap(bar0);
	c->vs = homi_mmio_read32(bar0, HOMI_NVME_REG_VS);
	csts = homi_mmio_read32(bar0, HOMI_NVME_REG_CSTS);
	if (csts == 0xffffffffu) {
		homi_nvme_csts_describe(csts, why, sizeof(why));
		r = failf(err, errlen, -ENODEV, "controller vanished: %s", why);
		goto fail;
	}
	if (c->cap == 0) {
		r = failf(err, errlen, -ENODEV, "controller offline (CAP reads 0, CSTS=0x%08x): the VF's secondary "
			  "controller has no queue resources or was taken offline (by a PF reset?); homictl apply "
			  "brings it back online", csts);
		goto fail;
	}
	if (!homi_nvme_cap_css_nvm(c->cap)) {
		r = failf(err, errlen, -EOPNOTSUPP, "controller without the NVM command set (CAP=0x%016llx)",
			  (unsigned long long)c->cap);
		goto fail;
	}
	c->page = HOMI_NVME_PAGE;
	if (homi_nvme_cap_mpsmin(c->cap) > c->page || homi_nvme_cap_mpsmax(c->cap) < c->page) {
		r = failf(err, errlen, -EOPNOTSUPP, "controller does not take 4 KiB memory pages (MPSMIN %u, MPSMAX %u)",
			  homi_nvme_cap_mpsmin(c->cap), homi_nvme_cap_mpsmax(c->cap));
		goto fail;
	}
	c->dstrd = homi_nvme_cap_dstrd(c->cap);
	c->to_ms = homi_nvme_cap_to_ms(c->cap) ?: 500;
	if (depth < 2 || depth > ADMIN_DEPTH_MAX)
		depth = ADMIN_DEPTH_DEFAULT;
	if (depth > homi_nvme_cap_mqes(c->cap))
		depth = (uint16_t)homi_nvme_cap_mqes(c->cap);
	if (homi_nvme_ctrl_doorbell_fits(c, 0) < 0) {
		r = failf(err, errlen, -EINVAL, "BAR0 too small for the admin doorbells");
		goto fail;
	}

	r = disable(c, err, errlen);
	if (r < 0)
		goto fail;
	r = ops->alloc(ops_ctx, 2 * HOMI_NVME_PAGE, &c->admin_mem);
	if (r >= 0)
		r = ops->alloc(ops_ctx, HOMI_NVME_PAGE, &c->scratch);
	if (r < 0) {
		failf(err, errlen, r, "DMA memory for the admin queue: %s", strerror(-r));
		goto fail;
	}
	aq = (struct homi_nvme_ioq){
		.qid = 0, .depth = depth,
		.sq_va = c->admin_mem.va, .sq_iova = c->admin_mem.iova,
		.cq_va = (uint8_t *)c->admin_mem.va + HOMI_NVME_PAGE, .cq_iova = c->admin_mem.iova + HOMI_NVME_PAGE,
		.sq_db = (volatile uint32_t *)((volatile uint8_t *)bar0 + homi_nvme_sq_doorbell(0, c->dstrd)),
		.cq_db = (volatile uint32_t *)((volatile uint8_t *)bar0 + homi_nvme_cq_doorbell(0, c->dstrd)),
	};
	r = enable(c, depth, err, errlen);
	if (r < 0)
		goto fail;
	r = homi_nvme_qpair_init(c, &aq, true, &c->admin);
	if (r < 0) {
		failf(err, errlen, r, "admin queue: %s", strerror(-r));
		goto fail;
	}
	r = homi_nvme_identify_ctrl(c, &c->info, &status);
	if (r < 0) {
		homi_nvme_qpair_strerror(c->admin, r, why, sizeof(why));
		failf(err, errlen, r, "Identify Controller: %s", why);
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	homi_nvme_ctrl_close(c);
	return r;
}

struct homi_nvme_ctrl *homi_nvme_ctrl_close(struct homi_nvme_ctrl *c)
{
	uint32_t csts;

	if (!c)
		return NULL;
	if (!c->dead && c->admin && homi_mmio_read32(c->bar, HOMI_NVME_REG_CSTS) != 0xffffffffu) {
		/* Disabling deletes every queue; the device forgets our memory. */
		homi_mmio_write32(c->bar, HOMI_NVME_REG_CC, 0);
		(void)wait_ready(c, false, &csts);
	}
	homi_nvme_qpair_free(c->admin);
	if (c->scratch.va)
		c->ops->free(c->ops_ctx, &c->scratch);
	if (c->admin_mem.va)
		c->ops->free(c->ops_ctx, &c->admin_mem);
	free(c);
	return NULL;
}

int homi_nvme_ctrl_open_vfio(struct homi_vfio *v, const struct homi_nvme_opts *opts, struct homi_nvme_ctrl **ret,
			     char *err, size_t errlen)
{
	size_t len;
	volatile void *bar = homi_vfio_bar0(v, &len);

	return homi_nvme_ctrl_open(bar, len, &homi_vfio_dma_ops, v, opts, ret, err, errlen);
}

const struct homi_nvme_ctrl_info *homi_nvme_ctrl_info(const struct homi_nvme_ctrl *c) { return &c->info; }
uint64_t homi_nvme_ctrl_cap(const struct homi_nvme_ctrl *c) { return c->cap; }
uint32_t homi_nvme_ctrl_vs(const struct homi_nvme_ctrl *c) { return c->vs; }
uint32_t homi_nvme_ctrl_page_size(const struct homi_nvme_ctrl *c) { return c->page; }
uint32_t homi_nvme_ctrl_dstrd(const struct homi_nvme_ctrl *c) { return c->dstrd; }
volatile void *homi_nvme_ctrl_bar0(const struct homi_nvme_ctrl *c) { return c->bar; }
uint32_t homi_nvme_ctrl_max_entries(const struct homi_nvme_ctrl *c) { return homi_nvme_cap_mqes(c->cap); }
struct homi_nvme_qpair *homi_nvme_ctrl_admin(const struct homi_nvme_ctrl *c) { return c->admin; }

const struct homi_dma_ops *homi_nvme_ctrl_dma(const struct homi_nvme_ctrl *c, void **ret_ctx)
{
	if (ret_ctx)
		*ret_ctx = c->ops_ctx;
	return c->ops;
}

uint32_t homi_nvme_ctrl_max_xfer(const struct homi_nvme_ctrl *c)
{
	/* One PRP list page: PAGE / 8 entries after PRP1's page. */
	uint32_t prp = (c->page / 8) * c->page;

	return c->info.max_xfer && c->info.max_xfer < prp ? c->info.max_xfer : prp;
}

int homi_nvme_ctrl_doorbell_fits(const struct homi_nvme_ctrl *c, uint16_t qid)
{
	return homi_nvme_cq_doorbell(qid, c->dstrd) + 4 <= c->bar_len ? 0 : -ERANGE;
}
