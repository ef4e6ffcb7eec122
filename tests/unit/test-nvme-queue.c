/* SPDX-License-Identifier: MIT */
/* The shared NVMe queue protocol header (vfio/nvme-queue.h) on the CPU:
 * doorbell offsets, SQ wrap and space, CQ phase across wraps, CQE dword 3,
 * command fields, PRP page counts and PRP list building with chaining. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "vfio/nvme-queue.h"

START_TEST(doorbell_offsets)
{
	/* 0x1000 + (2y) * (4 << DSTRD) for SQ y, (2y + 1) * ... for CQ y */
	ck_assert_uint_eq(homi_nvme_sq_doorbell(0, 0), 0x1000);
	ck_assert_uint_eq(homi_nvme_cq_doorbell(0, 0), 0x1004);
	ck_assert_uint_eq(homi_nvme_sq_doorbell(1, 0), 0x1008);
	ck_assert_uint_eq(homi_nvme_cq_doorbell(1, 0), 0x100c);
	ck_assert_uint_eq(homi_nvme_sq_doorbell(5, 0), 0x1028);
	ck_assert_uint_eq(homi_nvme_sq_doorbell(1, 1), 0x1010);
	ck_assert_uint_eq(homi_nvme_cq_doorbell(1, 1), 0x1018);
	ck_assert_uint_eq(homi_nvme_sq_doorbell(3, 2), 0x1000 + 6 * 16);
	ck_assert_uint_eq(homi_nvme_cq_doorbell(3, 2), 0x1000 + 7 * 16);
	ck_assert_uint_eq(homi_nvme_cq_doorbell(65535, 0), 0x1000 + 131071u * 4);
}
END_TEST

START_TEST(cap_and_cc)
{
	uint64_t cap = 0x3ffull | 1ull << 16 | 20ull << 24 | 2ull << 32 | 1ull << 37 | 1ull << 48 | 4ull << 52;

	ck_assert_uint_eq(homi_nvme_cap_mqes(cap), 1024);
	ck_assert_uint_eq(homi_nvme_cap_to_ms(cap), 10000);
	ck_assert_uint_eq(homi_nvme_cap_dstrd(cap), 2);
	ck_assert_uint_eq(homi_nvme_cap_css_nvm(cap), 1);
	ck_assert_uint_eq(homi_nvme_cap_mpsmin(cap), 8192);
	ck_assert_uint_eq(homi_nvme_cap_mpsmax(cap), 65536);
	ck_assert_uint_eq(homi_nvme_cc_enable(4096) & (0xfu << 7), 0);
	ck_assert_uint_eq((homi_nvme_cc_enable(16384) >> 7) & 0xf, 2);
	ck_assert_uint_eq(homi_nvme_cc_enable(4096) & 1, 1);
	ck_assert(homi_nvme_csts_dead(0xffffffffu));
	ck_assert(homi_nvme_csts_dead(HOMI_NVME_CSTS_CFS | HOMI_NVME_CSTS_RDY));
	ck_assert(!homi_nvme_csts_dead(HOMI_NVME_CSTS_RDY));
}
END_TEST

START_TEST(sq_wrap_and_space)
{
	struct homi_nvme_sq sq;

	homi_nvme_sq_init(&sq, 3, 8);
	ck_assert_uint_eq(homi_nvme_sq_space(&sq), 7); /* one slot stays empty */
	homi_nvme_sq_advance(&sq, 7);
	ck_assert_uint_eq(sq.tail, 7);
	ck_assert_uint_eq(homi_nvme_sq_space(&sq), 0);
	ck_assert_uint_eq(homi_nvme_sq_slot(&sq, 1), 0);
	ck_assert_uint_eq(homi_nvme_sq_slot(&sq, 3), 2);
	sq.head = 5; /* the controller consumed five */
	ck_assert_uint_eq(homi_nvme_sq_space(&sq), 5);
	homi_nvme_sq_advance(&sq, 4);
	ck_assert_uint_eq(sq.tail, 3);
	ck_assert_uint_eq(homi_nvme_sq_space(&sq), 1);
}
END_TEST

START_TEST(cq_phase_across_wraps)
{
	struct homi_nvme_cq cq;

	homi_nvme_cq_init(&cq, 1, 4);
	ck_assert_uint_eq(cq.phase, 1);
	/* slots 0..3 of the first pass carry phase 1, the next pass 0 */
	for (uint32_t n = 0; n < 4; n++) {
		ck_assert_uint_eq(homi_nvme_cq_slot(&cq, n), n);
		ck_assert_uint_eq(homi_nvme_cq_expected_phase(&cq, n), 1);
	}
	ck_assert_uint_eq(homi_nvme_cq_expected_phase(&cq, 4), 0);
	ck_assert_uint_eq(homi_nvme_cq_expected_phase(&cq, 8), 1);
	homi_nvme_cq_advance(&cq, 3);
	ck_assert_uint_eq(cq.head, 3);
	ck_assert_uint_eq(cq.phase, 1);
	ck_assert_uint_eq(homi_nvme_cq_slot(&cq, 1), 0);
	ck_assert_uint_eq(homi_nvme_cq_expected_phase(&cq, 0), 1);
	ck_assert_uint_eq(homi_nvme_cq_expected_phase(&cq, 1), 0);
	homi_nvme_cq_advance(&cq, 2); /* crosses the end: phase flips */
	ck_assert_uint_eq(cq.head, 1);
	ck_assert_uint_eq(cq.phase, 0);
	homi_nvme_cq_advance(&cq, 3);
	ck_assert_uint_eq(cq.head, 0);
	ck_assert_uint_eq(cq.phase, 1);
	/* walk 1000 single steps: the phase flips exactly every depth steps */
	homi_nvme_cq_init(&cq, 1, 7);
	for (uint32_t i = 0; i < 1000; i++) {
		ck_assert_uint_eq(cq.phase, ((i / 7) & 1) ? 0 : 1);
		homi_nvme_cq_advance(&cq, 1);
	}
}
END_TEST

START_TEST(cqe_dword3)
{
	uint16_t st = homi_nvme_status(HOMI_NVME_SCT_MEDIA, HOMI_NVME_SC_UNRECOVERED_READ, 1);
	uint32_t dw3 = homi_nvme_cqe_dw3(0xbeef, st, 1);
	struct homi_nvme_cqe cqe;

	ck_assert_uint_eq(st, 0x4281);
	ck_assert_uint_eq(homi_nvme_dw3_cid(dw3), 0xbeef);
	ck_assert_uint_eq(homi_nvme_dw3_phase(dw3), 1);
	ck_assert_uint_eq(homi_nvme_dw3_status(dw3), st);
	/* the same word seen through the CQE struct */
	memset(&cqe, 0, sizeof(cqe));
	memcpy((uint8_t *)&cqe + 12, &dw3, 4);
	ck_assert_uint_eq(cqe.cid, 0xbeef);
	ck_assert_uint_eq(homi_nvme_cqe_phase(cqe.status), 1);
	ck_assert_uint_eq(homi_nvme_cqe_status(cqe.status), st);
	ck_assert_uint_eq(homi_nvme_status_sct(st), 2);
	ck_assert_uint_eq(homi_nvme_status_sc(st), 0x81);
	ck_assert(homi_nvme_status_dnr(st));
	ck_assert_uint_eq(homi_nvme_dw3_phase(homi_nvme_cqe_dw3(1, 0, 0)), 0);
}
END_TEST

START_TEST(command_fields)
{
	struct homi_nvme_sqe e;

	memset(&e, 0xa5, sizeof(e));
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 77, 1, 0x123456789aull, 256, 0x1000, 0x2000);
	ck_assert_uint_eq(e.opc, 2);
	ck_assert_uint_eq(e.cid, 77);
	ck_assert_uint_eq(e.flags, 0);
	ck_assert_uint_eq(e.mptr, 0);
	ck_assert_uint_eq(e.cdw13, 0);
	ck_assert_uint_eq(homi_nvme_sqe_slba(&e), 0x123456789aull);
	ck_assert_uint_eq(homi_nvme_sqe_nlb(&e), 256);
	ck_assert_uint_eq(e.cdw12, 255);
	ck_assert_uint_eq(homi_nvme_sqe_fuse(&e), 0);
	e.flags = 0x41;
	ck_assert_uint_eq(homi_nvme_sqe_fuse(&e), 1);
	ck_assert_uint_eq(homi_nvme_sqe_psdt(&e), 1);
	homi_nvme_sqe_create_cq(&e, 1, 4, 1024, 0x10000, 0, 0);
	ck_assert_uint_eq(e.cdw10, (1023u << 16) | 4);
	ck_assert_uint_eq(e.cdw11, 1);
	homi_nvme_sqe_create_sq(&e, 1, 4, 64, 0x20000, 4);
	ck_assert_uint_eq(e.cdw10, (63u << 16) | 4);
	ck_assert_uint_eq(e.cdw11, (4u << 16) | 1);
}
END_TEST

START_TEST(prp_page_counts)
{
	ck_assert_uint_eq(homi_nvme_prp_pages(0x10000, 512, 4096), 1);
	ck_assert_uint_eq(homi_nvme_prp_pages(0x10000, 4096, 4096), 1);
	ck_assert_uint_eq(homi_nvme_prp_pages(0x10200, 4096, 4096), 2);
	ck_assert_uint_eq(homi_nvme_prp_pages(0x10000, 8192, 4096), 2);
	ck_assert_uint_eq(homi_nvme_prp_pages(0x10004, 8192, 4096), 3);
	ck_assert_uint_eq(homi_nvme_prp_list_entries(0x10000, 8192, 4096), 0);
	ck_assert_uint_eq(homi_nvme_prp_list_entries(0x10000, 12288, 4096), 2);
	ck_assert_uint_eq(homi_nvme_prp_per_page(4096), 512);
	ck_assert_uint_eq(homi_nvme_prp_list_pages(0, 4096), 0);
	ck_assert_uint_eq(homi_nvme_prp_list_pages(1, 4096), 1);
	ck_assert_uint_eq(homi_nvme_prp_list_pages(512, 4096), 1);
	ck_assert_uint_eq(homi_nvme_prp_list_pages(513, 4096), 2);
	ck_assert_uint_eq(homi_nvme_prp_list_pages(1023, 4096), 2);
	ck_assert_uint_eq(homi_nvme_prp_list_pages(1024, 4096), 3);
	ck_assert_uint_eq(homi_nvme_prp_list_pages(3 * 511 + 1, 4096), 3);
	ck_assert_uint_eq(homi_nvme_prp_list_pages(3 * 511 + 2, 4096), 4);
}
END_TEST

/* Walk a built list the way a controller does and collect the pages. */
static uint32_t walk(uint64_t prp2, uint32_t n_after_first, uint64_t *const *lists, const uint64_t *bus,
		     uint32_t nlist, uint64_t *out)
{
	uint32_t got = 0, l, k, per = 512;

	for (l = 0; l < nlist && bus[l] != prp2; l++)
		;
	ck_assert_uint_lt(l, nlist);
	while (got < n_after_first) {
		for (k = 0; k < per && got < n_after_first; k++) {
			uint64_t e = lists[l][k];
			if (k == per - 1 && n_after_first - got > 1) {
				for (l = 0; l < nlist && bus[l] != e; l++)
					;
				ck_assert_uint_lt(l, nlist);
				break;
			}
			out[got++] = e;
		}
	}
	return got;
}

START_TEST(prp_build_chained)
{
	const uint32_t sizes[] = { 1, 2, 3, 512, 513, 514, 1024, 1100, 1534 };
	uint64_t *pages = calloc(2000, 8), *seen = calloc(2000, 8), prp1, prp2;
	uint64_t *lists[4], bus[4] = { 0x7000000, 0x7003000, 0x7001000, 0x7009000 };

	for (int i = 0; i < 4; i++)
		lists[i] = calloc(512, 8);
	for (uint32_t i = 0; i < 2000; i++)
		pages[i] = 0x100000000ull + (uint64_t)((i * 7919u) % 2000) * 4096; /* scrambled */
	pages[0] += 0x200;
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s];
		int used = homi_nvme_prp_build(pages, n, 4096, lists, bus, 4, &prp1, &prp2);
		ck_assert_int_ge(used, 0);
		ck_assert_uint_eq(prp1, pages[0]);
		if (n == 1) {
			ck_assert_uint_eq(prp2, 0);
			ck_assert_int_eq(used, 0);
		} else if (n == 2) {
			ck_assert_uint_eq(prp2, pages[1]);
			ck_assert_int_eq(used, 0);
		} else {
			ck_assert_int_eq(used, (int)homi_nvme_prp_list_pages(n - 1, 4096));
			ck_assert_uint_eq(walk(prp2, n - 1, lists, bus, 4, seen), n - 1);
			for (uint32_t i = 1; i < n; i++)
				ck_assert_uint_eq(seen[i - 1], pages[i]);
		}
	}
	/* 1535 entries after the first need 4 pages; 3 are too few */
	ck_assert_int_eq(homi_nvme_prp_build(pages, 1536, 4096, lists, bus, 3, &prp1, &prp2), -1);
	ck_assert_int_eq(homi_nvme_prp_build(pages, 1536, 4096, lists, bus, 4, &prp1, &prp2), 4);
	for (int i = 0; i < 4; i++)
		free(lists[i]);
	free(pages);
	free(seen);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("nvme-queue");
	TCase *tc = tcase_create("protocol");

	tcase_add_test(tc, doorbell_offsets);
	tcase_add_test(tc, cap_and_cc);
	tcase_add_test(tc, sq_wrap_and_space);
	tcase_add_test(tc, cq_phase_across_wraps);
	tcase_add_test(tc, cqe_dword3);
	tcase_add_test(tc, command_fields);
	tcase_add_test(tc, prp_page_counts);
	tcase_add_test(tc, prp_build_chained);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite(), CK_NORMAL);
}
