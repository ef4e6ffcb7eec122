/* SPDX-License-Identifier: MIT */
/* Device tests: result lines and the soft-controller fixture. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gt.h"

int gt_failed, gt_passed;

void gt_result(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		gt_passed++;
	else
		gt_failed++;
}

int gt_soft_up(struct gt_soft *t, uint64_t nlbas, uint16_t max_ioqs, uint32_t workers)
{
	struct homi_softctrl_config cfg;
	char why[256];
	int ret;

	memset(t, 0, sizeof(*t));
	homi_softctrl_config_default(&cfg);
	cfg.nlbas = nlbas;
	cfg.max_ioqs = max_ioqs;
	cfg.workers = workers;
	cfg.mdts_pages = 32;
	ret = homi_softctrl_create(&cfg, &t->sc);
	if (ret) {
		fprintf(stderr, "homi_softctrl_create: %s\n", strerror(-ret));
		return ret;
	}
	homi_softctrl_endpoint(t->sc, &t->ep);
	ret = homi_gpu_open(&t->ep, 0, &t->g, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "homi_gpu_open: %s: %s\n", strerror(-ret), why);
		homi_softctrl_destroy(t->sc);
		t->sc = NULL;
	}
	return ret;
}

void gt_soft_down(struct gt_soft *t)
{
	homi_gpu_close(t->g);
	homi_softctrl_destroy(t->sc);
	memset(t, 0, sizeof(*t));
}

void gt_ns_fill(struct gt_soft *t, uint32_t seed)
{
	size_t len;
	uint32_t *w = (uint32_t *)homi_softctrl_ns(t->sc, &len);
	uint64_t nlba = len / 512;

	for (uint64_t l = 0; l < nlba; l++)
		for (uint32_t i = 0; i < 128; i++)
			w[l * 128 + i] = gt_pat(l, i, seed);
}

uint64_t gt_ns_check(struct gt_soft *t, uint64_t lba, uint32_t nlb, uint32_t seed)
{
	size_t len;
	const uint32_t *w = (const uint32_t *)homi_softctrl_ns(t->sc, &len);
	uint64_t bad = 0;

	for (uint64_t l = lba; l < lba + nlb; l++)
		for (uint32_t i = 0; i < 128; i++)
			bad += w[l * 128 + i] != gt_pat(l, i, seed);
	return bad;
}

void gt_faults(struct gt_soft *t, enum homi_softctrl_order o, uint32_t max_fetch)
{
	struct homi_softctrl_faults f;
	memset(&f, 0, sizeof(f));
	f.order = o;
	f.max_fetch = max_fetch;
	f.seed = 0x5eed;
	homi_softctrl_set_faults(t->sc, &f);
}
