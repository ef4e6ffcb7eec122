/* SPDX-License-Identifier: MIT */
/* libhomi-vfio pieces without a device: PRP construction (nvme-queue.h),
 * NVMe status and CSTS wording, Identify parsing, the latency histogram and
 * the tools' argument parsing. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "nvme-driver.h"
#include "perf-hist.h"
#include "tool-args.h"

#define PAGE 4096u

/* ---- PRPs ------------------------------------------------------------------ */
START_TEST(prp_single_page)
{
	uint64_t list[512] = { 0 }, prp1, prp2 = 99;

	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100000, 4096, PAGE, list, 0x900000, &prp1, &prp2), 0);
	ck_assert_uint_eq(prp1, 0x100000);
	ck_assert_uint_eq(prp2, 0);
	/* 512 bytes in the middle of a page: still one page, offset in PRP1. */
	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100200, 512, PAGE, list, 0x900000, &prp1, &prp2), 0);
	ck_assert_uint_eq(prp1, 0x100200);
	ck_assert_uint_eq(prp2, 0);
	ck_assert_uint_eq(list[0], 0); /* no list written */
}
END_TEST

START_TEST(prp_two_pages)
{
	uint64_t prp1, prp2;

	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100000, 8192, PAGE, NULL, 0, &prp1, &prp2), 0);
	ck_assert_uint_eq(prp1, 0x100000);
	ck_assert_uint_eq(prp2, 0x101000);
	/* 4 KiB from an offset spans two pages: PRP2 is the second page. */
	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100800, 4096, PAGE, NULL, 0, &prp1, &prp2), 0);
	ck_assert_uint_eq(prp1, 0x100800);
	ck_assert_uint_eq(prp2, 0x101000);
}
END_TEST

START_TEST(prp_list)
{
	uint64_t list[512], prp1, prp2;

	memset(list, 0xee, sizeof(list));
	/* 16 KiB at an offset: pages 0x100, 0x101, 0x102, 0x103, 0x104. */
	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100200, 16384, PAGE, list, 0x900000, &prp1, &prp2), 4);
	ck_assert_uint_eq(prp1, 0x100200);
	ck_assert_uint_eq(prp2, 0x900000);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(list[i], 0x101000 + (uint64_t)i * PAGE);
	ck_assert_uint_eq(list[4], 0xeeeeeeeeeeeeeeeeULL);
	/* The largest transfer one list page holds: 513 pages with an offset. */
	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100200, 512 * PAGE, PAGE, list, 0x900000, &prp1, &prp2), 512);
	ck_assert_uint_eq(list[511], 0x100000 + 512ULL * PAGE);
	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100000, 513 * PAGE, PAGE, list, 0x900000, &prp1, &prp2), 512);
	/* One more page would need a chained list: refused. */
	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100200, 513 * PAGE, PAGE, list, 0x900000, &prp1, &prp2), -1);
	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100000, 514 * PAGE, PAGE, list, 0x900000, &prp1, &prp2), -1);
}
END_TEST

START_TEST(prp_refusals)
{
	uint64_t list[4], prp1, prp2;

	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100002, 512, PAGE, list, 0, &prp1, &prp2), -1); /* not dword aligned */
	ck_assert_int_eq(homi_nvme_prp_build_contig(0x100000, 0, PAGE, list, 0, &prp1, &prp2), -1);
	ck_assert_uint_eq(homi_nvme_prp_pages(0x100fff, 2, PAGE), 2);
	ck_assert_uint_eq(homi_nvme_prp_list_entries(0x100000, 3 * PAGE, PAGE), 2);
}
END_TEST

/* ---- status, CSTS ---------------------------------------------------------- */
START_TEST(status_words)
{
	char buf[128];

	homi_nvme_status_format(0x0080, buf, sizeof(buf));
	ck_assert_str_eq(buf, "NVMe status 0x0080 (LBA Out of Range)");
	homi_nvme_status_format(0x4002, buf, sizeof(buf));
	ck_assert_str_eq(buf, "NVMe status 0x4002 (Invalid Field in Command, do not retry)");
	homi_nvme_status_format(0x0101, buf, sizeof(buf));
	ck_assert_str_eq(buf, "NVMe status 0x0101 (Invalid Queue Identifier)");
	homi_nvme_status_format(0x0281, buf, sizeof(buf));
	ck_assert_str_eq(buf, "NVMe status 0x0281 (Unrecovered Read Error)");
	homi_nvme_status_format(0x07ff, buf, sizeof(buf));
	ck_assert_str_eq(buf, "NVMe status 0x07ff (NVMe error)");
	ck_assert_int_eq(homi_nvme_status_errno(0), 0);
	ck_assert_int_eq(homi_nvme_status_errno(0x0080), -ERANGE);
	ck_assert_int_eq(homi_nvme_status_errno(0x4020), -EROFS);
	ck_assert_int_eq(homi_nvme_status_errno(0x0182), -EROFS);
	ck_assert_int_eq(homi_nvme_status_errno(0x0281), -EIO);
	ck_assert_str_eq(homi_nvme_opcode_name(true, 0x0c), "Asynchronous Event Request");
	ck_assert_str_eq(homi_nvme_opcode_name(false, HOMI_NVME_CMD_WRITE), "Write");
}
END_TEST

START_TEST(csts_words)
{
	char buf[256];

	homi_nvme_csts_describe(0xffffffff, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "all ones"), "%s", buf);
	homi_nvme_csts_describe(0x3, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "CSTS=0x00000003: Controller Fatal Status"), "%s", buf);
	homi_nvme_csts_describe(0x0, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "no longer ready"), "%s", buf);
	ck_assert(homi_nvme_csts_dead(0xffffffff));
	ck_assert(homi_nvme_csts_dead(0x2));
	ck_assert(!homi_nvme_csts_dead(0x1));
}
END_TEST

/* ---- Identify ---------------------------------------------------------------- */
START_TEST(identify_ctrl)
{
	uint8_t id[4096] = { 0 };
	struct homi_nvme_ctrl_info ci;

	id[0] = 0x4d, id[1] = 0x14;
	memcpy(id + 4, "S4ABC123            ", 20);
	memcpy(id + 24, "SAMSUNG MZWLJ3T8HBLS-00007              ", 40);
	memcpy(id + 64, "EPK9AB5Q", 8);
	id[77] = 9;
	id[78] = 0x41;
	id[80] = 0x00, id[81] = 0x03, id[82] = 0x01; /* 1.3.0 */
	id[516] = 32;
	homi_nvme_parse_ctrl(id, 4096, &ci);
	ck_assert_uint_eq(ci.vid, 0x144d);
	ck_assert_str_eq(ci.sn, "S4ABC123");
	ck_assert_str_eq(ci.mn, "SAMSUNG MZWLJ3T8HBLS-00007");
	ck_assert_str_eq(ci.fr, "EPK9AB5Q");
	ck_assert_uint_eq(ci.cntlid, 0x41);
	ck_assert_uint_eq(ci.ver, 0x10300);
	ck_assert_uint_eq(ci.nn, 32);
	ck_assert_uint_eq(ci.max_xfer, 2u << 20);
	id[77] = 0;
	homi_nvme_parse_ctrl(id, 4096, &ci);
	ck_assert_uint_eq(ci.max_xfer, 0); /* no limit */
}
END_TEST

START_TEST(identify_ns)
{
	uint8_t id[4096] = { 0 };
	struct homi_nvme_ns_info ni;
	uint64_t nsze = 7501476528ULL;

	ck_assert_int_eq(homi_nvme_parse_ns(id, 1, &ni), -ENOENT); /* inactive */
	memcpy(id, &nsze, 8);
	id[25] = 1;              /* two formats */
	id[26] = 1;              /* format 1 in use */
	id[128 + 2] = 9;         /* format 0: 512 B */
	id[132 + 2] = 12;        /* format 1: 4 KiB */
	id[132 + 0] = 8;         /* with 8 bytes of metadata */
	ck_assert_int_eq(homi_nvme_parse_ns(id, 3, &ni), 0);
	ck_assert_uint_eq(ni.nsid, 3);
	ck_assert_uint_eq(ni.nsze, nsze);
	ck_assert_uint_eq(ni.lba_size, 4096);
	ck_assert_uint_eq(ni.ms, 8);
	ck_assert_uint_eq(ni.lbaf, 1);
	id[26] = 2;              /* a format beyond NLBAF */
	ck_assert_int_eq(homi_nvme_parse_ns(id, 3, &ni), -EBADMSG);
	id[26] = 0;
	id[128 + 2] = 3;         /* 8-byte blocks: impossible */
	ck_assert_int_eq(homi_nvme_parse_ns(id, 3, &ni), -EBADMSG);
}
END_TEST

/* ---- histogram --------------------------------------------------------------- */
START_TEST(hist_buckets)
{
	uint64_t prev = 0;

	for (uint64_t v = 0; v < 64; v++)
		ck_assert_uint_eq(homi_hist_bucket(v), v);
	for (unsigned i = 1; i < HOMI_HIST_BUCKETS && homi_hist_bucket_low(i) != 0; i++) {
		uint64_t lo = homi_hist_bucket_low(i);
		ck_assert_msg(lo > prev, "bucket %u starts at %llu, not after %llu", i, (unsigned long long)lo,
			      (unsigned long long)prev);
		ck_assert_uint_eq(homi_hist_bucket(lo), i);
		ck_assert_uint_eq(homi_hist_bucket(lo - 1), i - 1);
		prev = lo;
	}
	ck_assert_uint_lt(homi_hist_bucket(UINT64_MAX), HOMI_HIST_BUCKETS);
}
END_TEST

START_TEST(hist_percentiles)
{
	struct homi_hist *h = malloc(sizeof(*h));

	homi_hist_init(h);
	ck_assert_uint_eq(homi_hist_percentile(h, 50), 0);
	for (uint64_t v = 1; v <= 100000; v++)
		homi_hist_add(h, v * 1000); /* 1 us .. 100 ms */
	ck_assert_uint_eq(h->n, 100000);
	ck_assert_uint_eq(h->min, 1000);
	ck_assert_uint_eq(h->max, 100000000);
	/* Within the 1/32 width of a bucket. */
	ck_assert_uint_le(llabs((long long)homi_hist_percentile(h, 50) - 50000000LL), 50000000 / 32);
	ck_assert_uint_le(llabs((long long)homi_hist_percentile(h, 99) - 99000000LL), 99000000 / 32);
	ck_assert_uint_le(llabs((long long)homi_hist_percentile(h, 99.9) - 99900000LL), 99900000 / 32);
	ck_assert_uint_eq(homi_hist_percentile(h, 100), h->max);
	homi_hist_init(h);
	homi_hist_add(h, 7);
	ck_assert_uint_eq(homi_hist_percentile(h, 50), 7);
	ck_assert_uint_eq(homi_hist_percentile(h, 99.9), 7);
	free(h);
}
END_TEST

/* ---- arguments ----------------------------------------------------------------- */
START_TEST(args_sizes)
{
	uint64_t v;

	ck_assert_int_eq(homi_parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(homi_parse_size("4k", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(homi_parse_size("4K", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(homi_parse_size("4KiB", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(homi_parse_size("128M", &v), 0);
	ck_assert_uint_eq(v, 128u << 20);
	ck_assert_int_eq(homi_parse_size("2GiB", &v), 0);
	ck_assert_uint_eq(v, 2ULL << 30);
	ck_assert_int_eq(homi_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(homi_parse_size("4x", &v), -EINVAL);
	ck_assert_int_eq(homi_parse_size("k", &v), -EINVAL);
	ck_assert_int_eq(homi_parse_size("-4k", &v), -EINVAL);
	ck_assert_int_eq(homi_parse_size(" 4k", &v), -EINVAL);
	ck_assert_int_eq(homi_parse_size("99999999999999G", &v), -ERANGE);
	ck_assert_int_eq(homi_parse_size("99999999999999999999999", &v), -ERANGE);
}
END_TEST

START_TEST(args_numbers)
{
	uint64_t a, b;
	uint8_t byte;
	double s;

	ck_assert_int_eq(homi_parse_uint("0x10", 100, &a), 0);
	ck_assert_uint_eq(a, 16);
	ck_assert_int_eq(homi_parse_uint("101", 100, &a), -ERANGE);
	ck_assert_int_eq(homi_parse_uint("1.5", 100, &a), -EINVAL);
	ck_assert_int_eq(homi_parse_byte("0xa5", &byte), 0);
	ck_assert_uint_eq(byte, 0xa5);
	ck_assert_int_eq(homi_parse_byte("165", &byte), 0);
	ck_assert_uint_eq(byte, 0xa5);
	ck_assert_int_eq(homi_parse_byte("0", &byte), 0);
	ck_assert_uint_eq(byte, 0);
	ck_assert_int_eq(homi_parse_byte("256", &byte), -ERANGE);
	ck_assert_int_eq(homi_parse_byte("a5", &byte), -EINVAL);
	ck_assert_int_eq(homi_parse_range("65536:4096", &a, &b), 0);
	ck_assert_uint_eq(a, 65536);
	ck_assert_uint_eq(b, 4096);
	ck_assert_int_eq(homi_parse_range("0:1", &a, &b), 0);
	ck_assert_int_eq(homi_parse_range("5:0", &a, &b), -EINVAL);
	ck_assert_int_eq(homi_parse_range(":5", &a, &b), -EINVAL);
	ck_assert_int_eq(homi_parse_range("5:", &a, &b), -EINVAL);
	ck_assert_int_eq(homi_parse_range("5", &a, &b), -EINVAL);
	ck_assert_int_eq(homi_parse_range("a:b", &a, &b), -EINVAL);
	ck_assert_int_eq(homi_parse_range("18446744073709551615:2", &a, &b), -ERANGE);
	ck_assert_int_eq(homi_parse_seconds("10", &s), 0);
	ck_assert(s == 10);
	ck_assert_int_eq(homi_parse_seconds("0.5", &s), 0);
	ck_assert(s == 0.5);
	ck_assert_int_eq(homi_parse_seconds("0", &s), -ERANGE);
	ck_assert_int_eq(homi_parse_seconds("1e9", &s), -ERANGE);
	ck_assert_int_eq(homi_parse_seconds("nan", &s), -EINVAL);
	ck_assert_int_eq(homi_parse_seconds("10s", &s), -EINVAL);
}
END_TEST

START_TEST(args_rw)
{
	enum homi_perf_rw rw;

	ck_assert_int_eq(homi_parse_rw("randread", &rw), 0);
	ck_assert(rw == HOMI_PERF_RANDREAD && homi_perf_rw_random(rw) && !homi_perf_rw_writes(rw));
	ck_assert_int_eq(homi_parse_rw("write", &rw), 0);
	ck_assert(rw == HOMI_PERF_WRITE && !homi_perf_rw_random(rw) && homi_perf_rw_writes(rw));
	ck_assert_int_eq(homi_parse_rw("randwrite", &rw), 0);
	ck_assert(homi_perf_rw_random(rw) && homi_perf_rw_writes(rw));
	ck_assert_str_eq(homi_perf_rw_name(HOMI_PERF_READ), "read");
	ck_assert_int_eq(homi_parse_rw("randrw", &rw), -EINVAL);
	ck_assert_int_eq(homi_parse_rw("Read", &rw), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vfio-proto");
	TCase *tc = tcase_create("all");

	tcase_add_test(tc, prp_single_page);
	tcase_add_test(tc, prp_two_pages);
	tcase_add_test(tc, prp_list);
	tcase_add_test(tc, prp_refusals);
	tcase_add_test(tc, status_words);
	tcase_add_test(tc, csts_words);
	tcase_add_test(tc, identify_ctrl);
	tcase_add_test(tc, identify_ns);
	tcase_add_test(tc, hist_buckets);
	tcase_add_test(tc, hist_percentiles);
	tcase_add_test(tc, args_sizes);
	tcase_add_test(tc, args_numbers);
	tcase_add_test(tc, args_rw);
	suite_add_tcase(s, tc);
	return check_run(s, CK_NORMAL);
}
