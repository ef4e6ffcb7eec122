/* SPDX-License-Identifier: MIT */
/* The NVMe driver of libhomi-vfio against the emulated controller of
 * nvme-emu.c: bring-up and its failures, I/O queues on caller memory, data
 * through PRPs, completions out of order and across phase wraps, per-command
 * timeouts, a controller that vanishes, a completion for a command ID that
 * is not in flight, read-only namespaces. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check-run.h"
#include "nvme-driver.h"
#include "nvme-emu.h"

static struct emu *emu;
static struct homi_nvme_ctrl *ctrl;
static char err[512];

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void setup(void)
{
	emu = aligned_alloc(4096, sizeof(*emu));
	emu_init(emu);
}

static void teardown(void)
{
	ctrl = homi_nvme_ctrl_close(ctrl);
	if (emu->thread)
		emu_stop(emu);
	free(emu);
}

static int open_ctrl(void)
{
	struct homi_nvme_opts o = { .timeout_ms = 2000 };
	return homi_nvme_ctrl_open(emu->bar, EMU_BAR_SIZE, &emu_dma_ops, NULL, &o, &ctrl, err, sizeof(err));
}

static void start_and_open(void)
{
	emu_start(emu);
	ck_assert_msg(open_ctrl() == 0, "open: %s", err);
}

static struct homi_dma_mem dma(size_t len)
{
	struct homi_dma_mem m;
	ck_assert_int_eq(emu_dma_ops.alloc(NULL, len, &m), 0);
	return m;
}

START_TEST(bringup_identify)
{
	const struct homi_nvme_ctrl_info *ci;
	struct homi_nvme_ns ns;
	uint16_t status, nsq, ncq;

	start_and_open();
	ci = homi_nvme_ctrl_info(ctrl);
	ck_assert_str_eq(ci->sn, "EMU0001");
	ck_assert_str_eq(ci->mn, "homi test controller");
	ck_assert_str_eq(ci->fr, "1.0");
	ck_assert_uint_eq(ci->cntlid, 7);
	ck_assert_uint_eq(homi_nvme_ctrl_max_xfer(ctrl), 4096u << 5);
	ck_assert_uint_eq(homi_nvme_ctrl_max_entries(ctrl), 1024);
	ck_assert_uint_eq(homi_nvme_ctrl_vs(ctrl), 0x10400);
	ck_assert_int_eq(homi_nvme_ctrl_check(ctrl, NULL), 0);
	ck_assert_int_eq(homi_nvme_ns_open(ctrl, 1, false, &ns, &status), 0);
	ck_assert_uint_eq(ns.info.nsze, 2048);
	ck_assert_uint_eq(ns.info.lba_size, 512);
	ck_assert_uint_eq(ns.max_blocks, (4096u << 5) / 512);
	ck_assert_int_eq(homi_nvme_ns_open(ctrl, 2, false, &ns, &status), -ENOENT);
	ck_assert_int_eq(homi_nvme_set_num_queues(ctrl, 8, 8, &nsq, &ncq, &status), 0);
	ck_assert_uint_eq(nsq, 4);
	ck_assert_uint_eq(ncq, 4);
	/* Closing disables the controller. */
	ctrl = homi_nvme_ctrl_close(ctrl);
	ck_assert_uint_eq(*(volatile uint32_t *)(emu->bar + HOMI_NVME_REG_CC) & 1, 0);
}
END_TEST

START_TEST(bringup_never_ready)
{
	uint64_t t0;
	int r;

	emu->never_ready = true;
	emu_start(emu);
	t0 = now_ms();
	r = open_ctrl();
	ck_assert_int_eq(r, -ETIMEDOUT);
	ck_assert_uint_ge(now_ms() - t0, 500);      /* CAP.TO = 1: 500 ms */
	ck_assert_uint_lt(now_ms() - t0, 2000);
	ck_assert_msg(strstr(err, "did not become ready within CAP.TO (500 ms)"), "%s", err);
}
END_TEST

START_TEST(bringup_offline_or_gone)
{
	/* An offline secondary: CAP reads 0, CSTS shows CFS (no thread). */
	*(uint32_t *)(emu->bar + HOMI_NVME_REG_CSTS) = HOMI_NVME_CSTS_CFS;
	ck_assert_int_eq(open_ctrl(), -ENODEV);
	ck_assert_msg(strstr(err, "controller offline (CAP reads 0, CSTS=0x00000002)"), "%s", err);
	/* A function that is gone: everything reads all ones. */
	memset(emu->bar, 0xff, sizeof(emu->bar));
	ck_assert_int_eq(open_ctrl(), -ENODEV);
	ck_assert_msg(strstr(err, "controller vanished: CSTS=0xffffffff"), "%s", err);
}
END_TEST

/* Write 64 KiB at an offset inside a page (PRP list), read it back. */
START_TEST(io_roundtrip_prp_list)
{
	struct homi_nvme_qpair *qp;
	struct homi_nvme_ns ns;
	struct homi_nvme_sqe e;
	struct homi_dma_mem buf = dma(128 * 1024), list = dma(4096);
	uint8_t *p = (uint8_t *)buf.va + 512;
	uint16_t status;

	start_and_open();
	ck_assert_int_eq(homi_nvme_ns_open(ctrl, 1, false, &ns, &status), 0);
	ck_assert_int_eq(homi_nvme_io_qpair_alloc(ctrl, 1, 8, &qp, &status), 0);
	for (int i = 0; i < 65536; i++)
		p[i] = (uint8_t)(i * 7 + i / 512);
	ck_assert_int_eq(homi_nvme_ns_rw(&ns, 4096, &e, HOMI_NVME_CMD_WRITE, 100, 128, buf.iova + 512, list.va,
					 list.iova), 0);
	ck_assert_uint_eq(e.prp2, list.iova); /* 17 pages: a list */
	ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 0, &status, NULL), 0);
	ck_assert_int_eq(memcmp(emu->ns + 100 * 512, p, 65536), 0);
	ck_assert_uint_eq(emu->ns[100 * 512 - 1], 0);
	ck_assert_uint_eq(emu->ns[228 * 512], 0);
	memset(buf.va, 0, buf.len);
	ck_assert_int_eq(homi_nvme_ns_rw(&ns, 4096, &e, HOMI_NVME_CMD_READ, 100, 128, buf.iova + 1024, list.va,
					 list.iova), 0);
	ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 0, &status, NULL), 0);
	ck_assert_int_eq(memcmp((uint8_t *)buf.va + 1024, emu->ns + 100 * 512, 65536), 0);
	/* Two pages: PRP2 is the second page itself. */
	ck_assert_int_eq(homi_nvme_ns_rw(&ns, 4096, &e, HOMI_NVME_CMD_READ, 0, 8, buf.iova + 2048, NULL, 0), 0);
	ck_assert_uint_eq(e.prp2, buf.iova + 4096);
	ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 0, &status, NULL), 0);
	ck_assert_int_eq(homi_nvme_ns_rw(&ns, 4096, &e, HOMI_NVME_CMD_FLUSH, 0, 0, 0, NULL, 0), 0);
	ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 0, &status, NULL), 0);
	ck_assert_int_eq(homi_nvme_io_qpair_destroy(ctrl, qp), 0);
	ck_assert(!emu->sq[1].valid && !emu->cq[1].valid);
	emu_dma_ops.free(NULL, &buf);
	emu_dma_ops.free(NULL, &list);
}
END_TEST

/* Queue memory of the caller's own (as gpu/ brings it): the CQ is zeroed
 * before creation, the doorbells follow DSTRD, the queue works. */
START_TEST(ioq_caller_memory)
{
	struct homi_dma_mem sq = dma(4096), cq = dma(4096), buf = dma(4096);
	struct homi_nvme_ioq q;
	struct homi_nvme_qpair *qp;
	struct homi_nvme_sqe e;
	uint16_t status, nsq, ncq;

	start_and_open();
	ck_assert_int_eq(homi_nvme_set_num_queues(ctrl, 2, 2, &nsq, &ncq, &status), 0);
	memset(cq.va, 0xff, 4096); /* stale phase tags */
	ck_assert_int_eq(homi_nvme_ioq_create(ctrl, 2, 64, sq.va, sq.iova, cq.va, cq.iova, &q, &status), 0);
	for (int i = 0; i < 64 * 16; i++)
		ck_assert_uint_eq(((uint8_t *)cq.va)[i], 0);
	ck_assert_uint_eq(((uint8_t *)cq.va)[64 * 16], 0xff); /* only the queue itself */
	ck_assert_ptr_eq((void *)q.sq_db, emu->bar + 0x1000 + 2 * 2 * 4);
	ck_assert_ptr_eq((void *)q.cq_db, emu->bar + 0x1000 + (2 * 2 + 1) * 4);
	ck_assert(emu->cq[2].valid && emu->cq[2].addr == cq.iova && emu->cq[2].depth == 64);
	ck_assert(emu->sq[2].valid && emu->sq[2].addr == sq.iova && emu->sq[2].cqid == 2);
	ck_assert_int_eq(homi_nvme_qpair_new(ctrl, &q, &qp), 0);
	ck_assert_uint_eq(homi_nvme_qpair_capacity(qp), 63);
	emu->ns[5 * 512] = 0x5a;
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 5, 1, buf.iova, 0);
	ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 0, &status, NULL), 0);
	ck_assert_uint_eq(((uint8_t *)buf.va)[0], 0x5a);
	homi_nvme_qpair_free(qp);
	ck_assert_int_eq(homi_nvme_ioq_delete(ctrl, &q, &status), 0);
	/* Misaligned queue memory and bad sizes are refused before any command. */
	ck_assert_int_eq(homi_nvme_ioq_create(ctrl, 2, 64, sq.va, sq.iova + 64, cq.va, cq.iova, &q, &status), -EINVAL);
	ck_assert_int_eq(homi_nvme_ioq_create(ctrl, 0, 64, sq.va, sq.iova, cq.va, cq.iova, &q, &status), -EINVAL);
	ck_assert_int_eq(homi_nvme_ioq_create(ctrl, 2, 1025, sq.va, sq.iova, cq.va, cq.iova, &q, &status), -EINVAL);
	/* A queue the controller did not grant: its status, and no CQ left. */
	ck_assert_int_eq(homi_nvme_ioq_create(ctrl, 5, 64, sq.va, sq.iova, cq.va, cq.iova, &q, &status), -EIO);
	ck_assert_uint_eq(status, 0x0101);
	ck_assert(!emu->cq[5].valid);
	emu_dma_ops.free(NULL, &sq);
	emu_dma_ops.free(NULL, &cq);
	emu_dma_ops.free(NULL, &buf);
}
END_TEST

struct tag {
	int index, order;
	uint16_t status;
};

static int completed;

static void on_done(void *arg, uint16_t status, uint32_t dw0)
{
	struct tag *t = arg;
	(void)dw0;
	t->status = status;
	t->order = completed++;
}

/* Completions in reverse order reach the command they belong to. */
START_TEST(completion_by_cid)
{
	struct homi_dma_mem buf = dma(16 * 512);
	struct homi_nvme_qpair *qp;
	struct homi_nvme_sqe e;
	struct tag tags[16];
	uint16_t status;
	int got = 0, r;

	start_and_open();
	for (int b = 0; b < 16; b++)
		memset(emu->ns + (200 + b) * 512, 0x10 + b, 512);
	ck_assert_int_eq(homi_nvme_io_qpair_alloc(ctrl, 1, 32, &qp, &status), 0);
	emu->reverse = true;
	completed = 0;
	for (int i = 0; i < 16; i++) {
		tags[i] = (struct tag){ .index = i, .order = -1 };
		homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 200 + (uint64_t)i, 1, buf.iova + (uint64_t)i * 512, 0);
		ck_assert_int_eq(homi_nvme_qpair_submit(qp, &e, 0, on_done, &tags[i]), 0);
	}
	ck_assert_uint_eq(homi_nvme_qpair_outstanding(qp), 16);
	homi_nvme_qpair_ring(qp); /* one doorbell for the batch */
	while (got < 16) {
		r = homi_nvme_qpair_poll(qp, 0);
		ck_assert_int_ge(r, 0);
		got += r;
	}
	for (int i = 0; i < 16; i++) {
		ck_assert_uint_eq(tags[i].status, 0);
		ck_assert_uint_eq(((uint8_t *)buf.va)[i * 512], 0x10 + i);
	}
	ck_assert_int_eq(tags[15].order, 0);  /* the emulator answered the last first */
	ck_assert_int_eq(tags[0].order, 15);
	ck_assert_uint_eq(homi_nvme_qpair_outstanding(qp), 0);
	ck_assert_int_eq(homi_nvme_io_qpair_destroy(ctrl, qp), 0);
	emu_dma_ops.free(NULL, &buf);
}
END_TEST

/* A queue of 4 entries wraps its phase many times. */
START_TEST(phase_wraps)
{
	struct homi_dma_mem buf = dma(4096);
	struct homi_nvme_qpair *qp;
	struct homi_nvme_sqe e;
	uint16_t status;

	start_and_open();
	ck_assert_int_eq(homi_nvme_io_qpair_alloc(ctrl, 1, 4, &qp, &status), 0);
	for (int i = 0; i < 1000; i++) {
		emu->ns[(i % 2048) * 512 + 3] = (uint8_t)i;
		homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, (uint64_t)(i % 2048), 1, buf.iova, 0);
		ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 0, &status, NULL), 0);
		ck_assert_uint_eq(((uint8_t *)buf.va)[3], (uint8_t)i);
	}
	/* Three in flight fill a 4-entry queue; a fourth is refused. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(homi_nvme_qpair_submit(qp, &e, 0, NULL, NULL), 0);
	ck_assert_int_eq(homi_nvme_qpair_submit(qp, &e, 0, NULL, NULL), -EBUSY);
	homi_nvme_qpair_ring(qp);
	while (homi_nvme_qpair_outstanding(qp))
		ck_assert_int_ge(homi_nvme_qpair_poll(qp, 0), 0);
	ck_assert_int_eq(homi_nvme_io_qpair_destroy(ctrl, qp), 0);
	emu_dma_ops.free(NULL, &buf);
}
END_TEST

START_TEST(command_timeout)
{
	struct homi_nvme_sqe e = { .opc = 0x0c };
	struct homi_nvme_qpair *admin;
	char msg[256];
	uint64_t t0, took;
	uint16_t status;

	start_and_open();
	admin = homi_nvme_ctrl_admin(ctrl);
	emu->drop_opc = 0x0c;
	t0 = now_ms();
	ck_assert_int_eq(homi_nvme_qpair_exec(admin, &e, 150, &status, NULL), -ETIMEDOUT);
	took = now_ms() - t0;
	ck_assert_uint_ge(took, 150);
	ck_assert_uint_lt(took, 1000);
	homi_nvme_qpair_strerror(admin, -ETIMEDOUT, msg, sizeof(msg));
	ck_assert_str_eq(msg, "Asynchronous Event Request (opcode 0x0c, command ID 0) on queue 0 not completed "
			      "after 150 ms: command timed out");
	/* Sticky: the queue pair is not used again. */
	t0 = now_ms();
	ck_assert_int_eq(homi_nvme_qpair_exec(admin, &e, 5000, &status, NULL), -ETIMEDOUT);
	ck_assert_uint_lt(now_ms() - t0, 100);
}
END_TEST

static void vanish(uint32_t csts, const char *expect)
{
	struct homi_dma_mem buf = dma(4096);
	struct homi_nvme_qpair *qp;
	struct homi_nvme_sqe e;
	char msg[256];
	uint64_t t0;
	uint16_t status;

	start_and_open();
	ck_assert_int_eq(homi_nvme_io_qpair_alloc(ctrl, 1, 8, &qp, &status), 0);
	emu->dead_csts = csts;
	while (*(volatile uint32_t *)(emu->bar + HOMI_NVME_REG_CSTS) != csts)
		;
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 0, 1, buf.iova, 0);
	t0 = now_ms();
	/* Long before the 10 s timeout: the CSTS check every 10 ms. */
	ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 10000, &status, NULL), -ENODEV);
	ck_assert_uint_lt(now_ms() - t0, 1000);
	homi_nvme_qpair_strerror(qp, -ENODEV, msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "controller vanished with 1 command(s) in flight on queue 1: ") && strstr(msg, expect),
		      "%s", msg);
	/* Tearing down a vanished controller sends it nothing and does not wait. */
	t0 = now_ms();
	homi_nvme_io_qpair_destroy(ctrl, qp);
	ctrl = homi_nvme_ctrl_close(ctrl);
	ck_assert_uint_lt(now_ms() - t0, 100);
	emu_dma_ops.free(NULL, &buf);
}

START_TEST(vanished_all_ones) { vanish(0xffffffff, "CSTS=0xffffffff: registers read all ones"); }
END_TEST
START_TEST(vanished_cfs) { vanish(0x3, "CSTS=0x00000003: Controller Fatal Status"); }
END_TEST

START_TEST(unknown_cid)
{
	struct homi_dma_mem buf = dma(4096);
	struct homi_nvme_qpair *qp;
	struct homi_nvme_sqe e;
	char msg[256];
	uint16_t status;

	start_and_open();
	ck_assert_int_eq(homi_nvme_io_qpair_alloc(ctrl, 1, 8, &qp, &status), 0);
	emu->bad_cid = true;
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 0, 1, buf.iova, 0);
	ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 1000, &status, NULL), -EPROTO);
	homi_nvme_qpair_strerror(qp, -EPROTO, msg, sizeof(msg));
	ck_assert_str_eq(msg, "completion on queue 1 for command ID 48879, which is not in flight");
	homi_nvme_io_qpair_destroy(ctrl, qp);
	emu_dma_ops.free(NULL, &buf);
}
END_TEST

START_TEST(errors_and_read_only)
{
	struct homi_dma_mem buf = dma(4096);
	struct homi_nvme_qpair *qp;
	struct homi_nvme_ns ns;
	struct homi_nvme_sqe e;
	char msg[256];
	uint16_t status = 0;

	start_and_open();
	ck_assert_int_eq(homi_nvme_ns_open(ctrl, 1, true, &ns, &status), 0);
	ck_assert_int_eq(homi_nvme_io_qpair_alloc(ctrl, 1, 8, &qp, &status), 0);
	/* The namespace layer refuses before the device sees anything. */
	ck_assert_int_eq(homi_nvme_ns_rw(&ns, 4096, &e, HOMI_NVME_CMD_WRITE, 0, 1, buf.iova, NULL, 0), -EROFS);
	ck_assert_int_eq(homi_nvme_ns_rw(&ns, 4096, &e, HOMI_NVME_CMD_READ, 2047, 2, buf.iova, NULL, 0), -ERANGE);
	ck_assert_int_eq(homi_nvme_ns_rw(&ns, 4096, &e, HOMI_NVME_CMD_READ, 0, 0, buf.iova, NULL, 0), -ERANGE);
	ck_assert_int_eq(homi_nvme_ns_rw(&ns, 4096, &e, HOMI_NVME_CMD_READ, 0, 257, buf.iova, NULL, 0), -E2BIG);
	ck_assert_int_eq(homi_nvme_ns_rw(&ns, 4096, &e, HOMI_NVME_CMD_READ, 0, 24, buf.iova, NULL, 0), -EINVAL);
	/* The device's own refusal comes back as -EIO with its status. */
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 4096, 1, buf.iova, 0);
	ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 0, &status, NULL), -EIO);
	ck_assert_uint_eq(status, 0x0080);
	homi_nvme_qpair_strerror(qp, -EIO, msg, sizeof(msg));
	ck_assert_str_eq(msg, "Read (opcode 0x02) failed: NVMe status 0x0080 (LBA Out of Range)");
	/* ... and the queue pair goes on working. */
	homi_nvme_sqe_rw(&e, HOMI_NVME_CMD_READ, 0, 1, 0, 1, buf.iova, 0);
	ck_assert_int_eq(homi_nvme_qpair_exec(qp, &e, 0, &status, NULL), 0);
	ck_assert_int_eq(homi_nvme_io_qpair_destroy(ctrl, qp), 0);
	emu_dma_ops.free(NULL, &buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vfio-driver");
	TCase *tc = tcase_create("emulated controller");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, bringup_identify);
	tcase_add_test(tc, bringup_never_ready);
	tcase_add_test(tc, bringup_offline_or_gone);
	tcase_add_test(tc, io_roundtrip_prp_list);
	tcase_add_test(tc, ioq_caller_memory);
	tcase_add_test(tc, completion_by_cid);
	tcase_add_test(tc, phase_wraps);
	tcase_add_test(tc, command_timeout);
	tcase_add_test(tc, vanished_all_ones);
	tcase_add_test(tc, vanished_cfs);
	tcase_add_test(tc, unknown_cid);
	tcase_add_test(tc, errors_and_read_only);
	suite_add_tcase(s, tc);
	return check_run(s, CK_NORMAL);
}
