/* SPDX-License-Identifier: MIT */
/* Device tests of the host side of libhomi-gpu: doorbell registration of a
 * "device BAR" (IOMEMORY) and its fallback to the sysfs mapping, placement
 * modes D and G refused with a reason where no dma-buf importer answers,
 * the importer probe refusing a node that does not answer its ioctl, and
 * the queue-pair set's argument checks and teardown. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "gpu/gpu-internal.h"
#include "gt.h"

/* A fake VF: BAR0 is a PROT_NONE mapping (nothing CUDA can register as
 * I/O memory); the "sysfs" mapping, when offered, is ordinary memory. The
 * soft controller provides everything else. */
struct fake_vf {
	struct homi_softctrl *sc;
	void *bar_none, *bar_ram;
	size_t len;
	int offer_sysfs;
	uint32_t flags;
};

static int fv_info(void *ctx, struct homi_gpu_ctrl_info *info)
{
	struct fake_vf *f = (struct fake_vf *)ctx;
	struct homi_gpu_ctrl ep;
	homi_softctrl_endpoint(f->sc, &ep);
	int ret = ep.ops->info(ep.ctx, info);
	info->flags = f->flags;
	snprintf(info->name, sizeof(info->name), "fake-vf");
	return ret;
}

static int fv_bar0(void *ctx, void **va, size_t *len)
{
	struct fake_vf *f = (struct fake_vf *)ctx;
	*va = f->bar_none;
	*len = f->len;
	return 0;
}

static int fv_bar0_sysfs(void *ctx, void **va, size_t *len)
{
	struct fake_vf *f = (struct fake_vf *)ctx;
	if (!f->offer_sysfs)
		return -ENOENT;
	*va = f->bar_ram;
	*len = f->len;
	return 0;
}

static int fv_dma_map(void *ctx, void *va, size_t len, uint64_t *iova)
{
	return homi_softctrl_dma_map(((struct fake_vf *)ctx)->sc, va, len, iova);
}

static int fv_dma_unmap(void *ctx, void *va, size_t len)
{
	return homi_softctrl_dma_unmap(((struct fake_vf *)ctx)->sc, va, len);
}

static int fv_admin(void *ctx, const struct homi_nvme_sqe *c, struct homi_nvme_cqe *cpl)
{
	return homi_softctrl_admin(((struct fake_vf *)ctx)->sc, c, cpl);
}

static const struct homi_gpu_ctrl_ops fv_ops = {
	fv_info, fv_bar0, fv_bar0_sysfs, fv_dma_map, fv_dma_unmap, NULL, NULL, fv_admin,
};

static void doorbell_fallback(struct gt_soft *t)
{
	struct fake_vf f;
	struct homi_gpu_ctrl ep = { &fv_ops, &f };
	struct homi_gpu *g = NULL;
	char why[512];
	int ret, ok;

	memset(&f, 0, sizeof(f));
	f.sc = t->sc;
	f.flags = HOMI_GPU_CTRL_DB_IOMEM;
	f.len = 2 * 4096 + 4096;
	f.bar_none = mmap(NULL, f.len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f.bar_ram = mmap(NULL, f.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f.bar_none == MAP_FAILED || f.bar_ram == MAP_FAILED) {
		gt_result("host/doorbell-iomem-fallback", 0, "mmap failed");
		return;
	}

	/* no fallback offered: the refusal of the BAR mapping is the answer */
	ret = homi_gpu_open(&ep, 0, &g, why, sizeof(why));
	if (ret == 0) {
		ok = homi_gpu_doorbell_path(g) == HOMI_GPU_DB_IOMEM_BAR;
		gt_result("host/doorbell-iomem-no-fallback", ok, "CUDA registered a PROT_NONE range as I/O memory: %s",
			  why);
		homi_gpu_close(g);
	} else {
		ok = strstr(why, "no sysfs mapping") != NULL || strstr(why, "sysfs resource0 mapping failed") != NULL;
		gt_result("host/doorbell-iomem-no-fallback", ok, "open refused (%s): %s", strerror(-ret), why);
	}

	/* fallback offered: either it registers (and says the first was
	 * refused) or both refusals are reported */
	f.offer_sysfs = 1;
	g = NULL;
	ret = homi_gpu_open(&ep, 0, &g, why, sizeof(why));
	if (ret == 0) {
		enum homi_gpu_db_path p = homi_gpu_doorbell_path(g);
		ok = p == HOMI_GPU_DB_IOMEM_SYSFS && strstr(why, "refused") != NULL;
		gt_result("host/doorbell-iomem-fallback", ok || p == HOMI_GPU_DB_IOMEM_BAR, "registered: %s", why);
		homi_gpu_close(g);
	} else {
		ok = strstr(why, "endpoint mapping") != NULL && strstr(why, "sysfs resource0") != NULL;
		gt_result("host/doorbell-iomem-fallback", ok, "both refused (%s): %s", strerror(-ret), why);
	}
	munmap(f.bar_none, f.len);
	munmap(f.bar_ram, f.len);
}

static void placement(struct gt_soft *t)
{
	char why[512], w2[512];
	int r1, r2, r3, ok;

	r1 = homi_gpu_placement_check(t->g, HOMI_GPU_MODE_H, why, sizeof(why));
	r2 = homi_gpu_placement_check(t->g, HOMI_GPU_MODE_D, w2, sizeof(w2));
	r3 = homi_gpu_placement_check(t->g, HOMI_GPU_MODE_G, w2, sizeof(w2));
	gt_result("host/placement-soft", r1 == 0 && r2 == -EOPNOTSUPP && r3 == -EOPNOTSUPP, "H: %s; D/G: %s", why, w2);

	/* a controller that could reach GPU memory (no IOMMU, not host-only):
	 * D and G hinge on the importer */
	{
		struct fake_vf f;
		struct homi_gpu_ctrl ep = { &fv_ops, &f };
		struct homi_gpu *g = NULL;

		memset(&f, 0, sizeof(f));
		f.sc = t->sc;
		f.flags = 0; /* host-memory doorbells of its own */
		f.len = 3 * 4096;
		f.bar_none = mmap(NULL, f.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (f.bar_none == MAP_FAILED || homi_gpu_open(&ep, 0, &g, why, sizeof(why))) {
			gt_result("host/placement-d-g-need-importer", 0, "open: %s", why);
			return;
		}
		r2 = homi_gpu_placement_check(g, HOMI_GPU_MODE_D, why, sizeof(why));
		r3 = homi_gpu_dmabuf_probe(HOMI_GPU_DMABUF_IMPORTER, w2, sizeof(w2));
		/* where no importer answers, D is refused with the probe's reason */
		ok = r3 ? (r2 < 0 && (strstr(why, HOMI_GPU_DMABUF_IMPORTER) || strstr(why, "dma-buf"))) : r2 == 0;
		gt_result("host/placement-d-g-need-importer", ok, "D: %s (%s)", why, r2 ? strerror(-r2) : "allowed");
		homi_gpu_close(g);

		f.flags = HOMI_GPU_CTRL_IOMMU;
		g = NULL;
		if (homi_gpu_open(&ep, 0, &g, why, sizeof(why)) == 0) {
			r2 = homi_gpu_placement_check(g, HOMI_GPU_MODE_G, why, sizeof(why));
			gt_result("host/placement-iommu-refuses-g", r2 == -EOPNOTSUPP && strstr(why, "IOMMU"), "G: %s",
				  why);
			homi_gpu_close(g);
		} else {
			gt_result("host/placement-iommu-refuses-g", 0, "open: %s", why);
		}
		munmap(f.bar_none, f.len);
	}
}

static void importer_probe(void)
{
	char why[256], w2[256];
	int r1 = homi_gpu_dmabuf_probe("/dev/null", why, sizeof(why));
	int r2 = homi_gpu_dmabuf_probe("/nonexistent/dmabuf_import", w2, sizeof(w2));

	gt_result("host/importer-probe-uses-ioctl", r1 == -ENODEV && strstr(why, "does not answer") && r2 == -ENODEV,
		  "/dev/null: %s; missing node: %s", why, w2);
}

static void qpset_checks(struct gt_soft *t)
{
	struct homi_gpu_qp_config c;
	struct homi_gpu_qpset *a = NULL, *b = NULL;
	char why[256];
	int r[6];

	memset(&c, 0, sizeof(c));
	c.mode = HOMI_GPU_MODE_H;
	c.nqueues = 2;
	c.sq_depth = 1;
	r[0] = homi_gpu_qpset_create(t->g, &c, &a, why, sizeof(why));       /* depth 1 */
	c.sq_depth = 64;
	c.nqueues = 1000;
	r[1] = homi_gpu_qpset_create(t->g, &c, &a, why, sizeof(why));       /* too many queues */
	c.nqueues = 2;
	c.nbuf = 4;
	c.buf_bytes = 1000;
	r[2] = homi_gpu_qpset_create(t->g, &c, &a, why, sizeof(why));       /* buffer size */
	c.buf_bytes = 8192;
	r[3] = homi_gpu_qpset_create(t->g, &c, &a, why, sizeof(why));       /* fine */
	r[4] = r[3] ? -1 : homi_gpu_qpset_create(t->g, &c, &b, why, sizeof(why)); /* same qids */
	if (!r[3])
		homi_gpu_qpset_destroy(a);
	r[5] = homi_gpu_qpset_create(t->g, &c, &b, why, sizeof(why));       /* qids free again */
	if (!r[5])
		homi_gpu_qpset_destroy(b);
	gt_result("host/qpset-checks", r[0] == -EINVAL && r[1] == -EINVAL && r[2] == -EINVAL && r[3] == 0 &&
					  r[4] == -EBUSY && r[5] == 0,
		  "depth 1: %d, 1000 queues: %d, 1000-byte buffers: %d, ok: %d, same qids: %d, after destroy: %d", r[0],
		  r[1], r[2], r[3], r[4], r[5]);
}

int gt_run_host(void)
{
	struct gt_soft t;

	if (gt_soft_up(&t, 1u << 14, 16, 1)) {
		gt_result("host/setup", 0, "no soft controller");
		return -1;
	}
	doorbell_fallback(&t);
	placement(&t);
	importer_probe();
	qpset_checks(&t);
	gt_soft_down(&t);
	return 0;
}
