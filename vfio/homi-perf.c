/* SPDX-License-Identifier: MIT */
/* homi-perf: I/O load on a delegated VF through the user-space NVMe driver,
 * with IOPS, bandwidth and latency percentiles (homi-perf(1)). One thread
 * polls every queue in turn. */
#include "config.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "perf-hist.h"
#include "tool-args.h"
#include "tool.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct args {
	struct tool_opts o;
	enum homi_perf_rw rw;
	uint64_t bs, qd, queues, seed;
	double time_s;
	bool have_range, json;
	uint64_t range_start, range_count;
	uint8_t pattern;
};

struct perf;

struct slot {
	struct perf *p;
	struct homi_nvme_qpair *qp;
	void *buf;
	uint64_t buf_iova, prp_iova, t0;
	uint64_t *prp;
};

struct perf {
	const struct args *a;
	struct tool_dev *d;
	struct homi_nvme_qpair **qps;
	uint16_t nq;
	struct slot *slots;
	uint32_t nslots, blocks_per_io, page;
	uint64_t range_start, range_ios, seq, rng;
	struct homi_hist hist;
	uint64_t ios, errors;
	uint16_t first_status;
	uint64_t first_lba;
	bool stopping;
	int submit_err;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { interrupted = sig; }

static const char usage_text[] =
	"usage: homi-perf [OPTIONS] PCI --rw randread|read|randwrite|write --bs B --qd D --queues Q --time S\n"
	"                 [--lba-range START:COUNT] [--nsid N] [--pattern BYTE] [-j]\n"
	"options: --ro, --policy PATH, --reset, --timeout-ms MS, --seed N,\n"
	"         --vfio-mode auto|type1|cdev|noiommu, -v, -h\n";

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_usage("homi-perf", usage_text, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "rw", required_argument, NULL, 'w' },
		{ "bs", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' },
		{ "queues", required_argument, NULL, 'Q' },
		{ "time", required_argument, NULL, 't' },
		{ "lba-range", required_argument, NULL, 'r' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		TOOL_COMMON_OPTIONS,
		{}
	};
	const char *err;
	int c, r;

	*a = (struct args){
		.o = { .prog = "homi-perf", .nsid = 1 },
		.rw = HOMI_PERF_RANDREAD, .bs = 4096, .qd = 32, .queues = 1, .time_s = 10,
		.pattern = 0x5a, .seed = 0x9e3779b97f4a7c15ULL,
	};
	while ((c = getopt_long(argc, argv, "jvh", opts, NULL)) != -1) {
		if ((r = tool_common_option(c, optarg, &a->o, &err)) < 0)
			return usage("%s, got '%s'", err, optarg);
		if (r > 0)
			continue;
		switch (c) {
		case 'w':
			if (homi_parse_rw(optarg, &a->rw) < 0)
				return usage("--rw: expected randread, read, randwrite or write, got '%s'", optarg);
			break;
		case 'b':
			if (homi_parse_size(optarg, &a->bs) < 0 || a->bs == 0 || a->bs > (64u << 20))
				return usage("--bs: expected a block size such as 4k (up to 64M), got '%s'", optarg);
			break;
		case 'q':
			if (homi_parse_uint(optarg, 65535, &a->qd) < 0 || a->qd == 0)
				return usage("--qd: expected a queue depth from 1 to 65535, got '%s'", optarg);
			break;
		case 'Q':
			if (homi_parse_uint(optarg, 65534, &a->queues) < 0 || a->queues == 0)
				return usage("--queues: expected a number of I/O queues from 1, got '%s'", optarg);
			break;
		case 't':
			if (homi_parse_seconds(optarg, &a->time_s) < 0)
				return usage("--time: expected seconds (0 < S <= 86400), got '%s'", optarg);
			break;
		case 'r':
			if (homi_parse_range(optarg, &a->range_start, &a->range_count) < 0)
				return usage("--lba-range: expected START:COUNT in blocks, got '%s'", optarg);
			a->have_range = true;
			break;
		case 'p':
			if (homi_parse_byte(optarg, &a->pattern) < 0)
				return usage("--pattern: expected a byte (0xa5, 165), got '%s'", optarg);
			break;
		case 's':
			if (homi_parse_uint(optarg, UINT64_MAX, &a->seed) < 0 || a->seed == 0)
				return usage("--seed: expected a number from 1, got '%s'", optarg);
			break;
		case 'j': a->json = true; break;
		case 'h': fputs(usage_text, stdout); return -1;
		default: return usage(NULL);
		}
	}
	if (argc - optind < 1)
		return usage("PCI address expected");
	if (argc - optind > 1)
		return usage("unexpected argument '%s'", argv[optind + 1]);
	if (a->qd < a->queues)
		return usage("--qd %llu is less than --queues %llu: every queue needs a command in flight",
			     (unsigned long long)a->qd, (unsigned long long)a->queues);
	a->o.addr = argv[optind];
	a->o.want_write = homi_perf_rw_writes(a->rw);
	return EXIT_OK;
}

/* xorshift64*: fast, and the same sequence for the same --seed. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void done(void *arg, uint16_t status, uint32_t dw0);

static int submit(struct slot *s)
{
	struct perf *p = s->p;
	uint64_t k = homi_perf_rw_random(p->a->rw) ? next_random(&p->rng) % p->range_ios : p->seq++ % p->range_ios;
	uint64_t lba = p->range_start + k * p->blocks_per_io;
	uint8_t opc = homi_perf_rw_writes(p->a->rw) ? HOMI_NVME_CMD_WRITE : HOMI_NVME_CMD_READ;
	struct homi_nvme_sqe e;
	int r;

	r = homi_nvme_ns_rw(&p->d->ns, p->page, &e, opc, lba, p->blocks_per_io, s->buf_iova, s->prp, s->prp_iova);
	if (r < 0)
		return r;
	s->t0 = tool_now_ns();
	r = homi_nvme_qpair_submit(s->qp, &e, p->a->o.timeout_ms, done, s);
	if (r < 0)
		return r;
	if (!p->errors)
		p->first_lba = lba;
	return 0;
}

static void done(void *arg, uint16_t status, uint32_t dw0)
{
	struct slot *s = arg;
	struct perf *p = s->p;
	uint64_t now = tool_now_ns();
	int r;

	(void)dw0;
	homi_hist_add(&p->hist, now - s->t0);
	p->ios++;
	if (status) {
		if (!p->errors++)
			p->first_status = status;
		p->stopping = true;
	}
	if (p->stopping)
		return;
	r = submit(s);
	if (r < 0) {
		p->submit_err = r;
		p->stopping = true;
	}
}

static uint16_t outstanding(const struct perf *p)
{
	uint32_t n = 0;

	for (uint16_t i = 0; i < p->nq; i++)
		n += homi_nvme_qpair_outstanding(p->qps[i]);
	return (uint16_t)(n > 0xffff ? 0xffff : n);
}

static void report(const struct perf *p, double secs, bool hugepage)
{
	const struct args *a = p->a;
	double iops = secs > 0 ? (double)p->ios / secs : 0;
	double mibs = iops * (double)a->bs / 1048576.0;
	double mean = p->hist.n ? (double)p->hist.sum / (double)p->hist.n / 1000.0 : 0;
	double p50 = (double)homi_hist_percentile(&p->hist, 50) / 1000.0;
	double p99 = (double)homi_hist_percentile(&p->hist, 99) / 1000.0;
	double p999 = (double)homi_hist_percentile(&p->hist, 99.9) / 1000.0;
	double max = (double)p->hist.max / 1000.0;
	const char *mem = hugepage ? "hugepage" : "pages";

	if (a->json) {
		json_t *doc = json_pack(
			"{s:i, s:s, s:I, s:s, s:I, s:I, s:I, s:f, s:I, s:f, s:f, s:{s:f, s:f, s:f, s:f, s:f}, s:I, s:s, s:s}",
			"homi-perf", 1, "device", a->o.addr, "nsid", (json_int_t)a->o.nsid, "rw", homi_perf_rw_name(a->rw),
			"bs", (json_int_t)a->bs, "qd", (json_int_t)a->qd, "queues", (json_int_t)a->queues,
			"time-s", round(secs * 1000) / 1000, "ios", (json_int_t)p->ios, "iops", round(iops * 10) / 10,
			"mib-s", round(mibs * 100) / 100, "lat-us", "mean", round(mean * 100) / 100, "p50",
			round(p50 * 100) / 100, "p99", round(p99 * 100) / 100, "p99.9", round(p999 * 100) / 100, "max",
			round(max * 100) / 100, "errors", (json_int_t)p->errors, "memory", mem, "vfio-mode",
			homi_vfio_mode_name(homi_vfio_mode(p->d->vfio)));
		if (doc) {
			json_dumpf(doc, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
			putchar('\n');
			json_decref(doc);
		}
		return;
	}
	printf("%s nsid %u: %s bs %llu qd %llu queues %llu, %.2f s (memory: %s)\n", a->o.addr, a->o.nsid,
	       homi_perf_rw_name(a->rw), (unsigned long long)a->bs, (unsigned long long)a->qd,
	       (unsigned long long)a->queues, secs, mem);
	printf("  ios %llu  iops %.1f  MiB/s %.2f  errors %llu\n", (unsigned long long)p->ios, iops, mibs,
	       (unsigned long long)p->errors);
	printf("  latency us: mean %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", mean, p50, p99, p999, max);
}

static int setup(struct perf *p, struct homi_dma_mem *mem)
{
	const struct args *a = p->a;
	const struct homi_nvme_ns *ns = &p->d->ns;
	struct homi_nvme_ctrl *c = p->d->ctrl;
	uint16_t nsq, ncq, status;
	size_t stride;
	int r;

	p->page = homi_nvme_ctrl_page_size(c);
	if (a->bs % ns->info.lba_size || a->bs / ns->info.lba_size > ns->max_blocks) {
		tool_err(&a->o, "--bs %llu: must be a multiple of the %u-byte block and at most %llu bytes per command",
			 (unsigned long long)a->bs, ns->info.lba_size,
			 (unsigned long long)ns->max_blocks * ns->info.lba_size);
		return -EINVAL;
	}
	p->blocks_per_io = (uint32_t)(a->bs / ns->info.lba_size);
	p->range_start = a->have_range ? a->range_start : 0;
	if (a->have_range && (a->range_start >= ns->info.nsze || a->range_count > ns->info.nsze - a->range_start)) {
		tool_err(&a->o, "--lba-range %llu:%llu lies beyond namespace %u (%llu blocks)",
			 (unsigned long long)a->range_start, (unsigned long long)a->range_count, ns->info.nsid,
			 (unsigned long long)ns->info.nsze);
		return -ERANGE;
	}
	p->range_ios = (a->have_range ? a->range_count : ns->info.nsze) / p->blocks_per_io;
	if (p->range_ios == 0) {
		tool_err(&a->o, "--lba-range holds no %llu-byte I/O", (unsigned long long)a->bs);
		return -ERANGE;
	}
	r = homi_nvme_set_num_queues(c, (uint16_t)a->queues, (uint16_t)a->queues, &nsq, &ncq, &status);
	if (r < 0) {
		tool_qpair_err(&a->o, homi_nvme_ctrl_admin(c), r, "Set Features Number of Queues");
		return r;
	}
	if (nsq < a->queues || ncq < a->queues) {
		tool_err(&a->o, "asked for %llu I/O queues, the controller allocates %u (the VF's queue resources: "
			 "policy \"vq\" is I/O queues + 1)", (unsigned long long)a->queues, nsq < ncq ? nsq : ncq);
		return -ENOSPC;
	}
	p->nq = (uint16_t)a->queues;
	p->nslots = (uint32_t)a->qd;
	p->qps = calloc(p->nq, sizeof(*p->qps));
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	if (!p->qps || !p->slots)
		return -ENOMEM;
	stride = (a->bs + p->page - 1) / p->page * p->page + p->page;
	r = tool_dma_alloc(&a->o, p->d, stride * p->nslots, mem);
	if (r < 0)
		return r;
	if (homi_perf_rw_writes(a->rw))
		memset(mem->va, a->pattern, stride * p->nslots);
	for (uint16_t q = 0; q < p->nq; q++) {
		uint32_t depth = (uint32_t)(a->qd / a->queues + (q < a->qd % a->queues)) + 1;
		if (depth > homi_nvme_ctrl_max_entries(c)) {
			tool_err(&a->o, "--qd %llu: %u entries per queue exceed the controller's %u",
				 (unsigned long long)a->qd, depth, homi_nvme_ctrl_max_entries(c));
			return -EINVAL;
		}
		r = homi_nvme_io_qpair_alloc(c, (uint16_t)(q + 1), (uint16_t)depth, &p->qps[q], &status);
		if (r < 0) {
			char what[48];
			snprintf(what, sizeof(what), "creating I/O queue %u", q + 1);
			tool_qpair_err(&a->o, homi_nvme_ctrl_admin(c), r, what);
			return r;
		}
	}
	for (uint32_t i = 0; i < p->nslots; i++) {
		struct slot *s = &p->slots[i];
		uint8_t *base = (uint8_t *)mem->va + stride * i;
		s->p = p;
		s->qp = p->qps[i % p->nq];
		s->buf = base;
		s->buf_iova = mem->iova + stride * i;
		s->prp = (uint64_t *)(base + stride - p->page);
		s->prp_iova = s->buf_iova + stride - p->page;
	}
	return 0;
}

static int run(struct perf *p, double *ret_secs)
{
	uint64_t start = tool_now_ns(), end = start + (uint64_t)(p->a->time_s * 1e9), now = start;
	struct homi_nvme_qpair *failed_qp = NULL;
	int r = 0;

	for (uint32_t i = 0; i < p->nslots && r >= 0; i++)
		r = submit(&p->slots[i]);
	if (r < 0) {
		tool_err(&p->a->o, "submitting: %s", strerror(-r));
		return r;
	}
	for (uint16_t q = 0; q < p->nq; q++)
		homi_nvme_qpair_ring(p->qps[q]);
	for (;;) {
		for (uint16_t q = 0; q < p->nq; q++) {
			r = homi_nvme_qpair_poll(p->qps[q], 0);
			if (r < 0) {
				failed_qp = p->qps[q];
				break;
			}
			homi_nvme_qpair_ring(p->qps[q]);
		}
		if (failed_qp)
			break;
		now = tool_now_ns();
		if (now >= end || interrupted)
			p->stopping = true;
		if (p->stopping && outstanding(p) == 0)
			break;
	}
	*ret_secs = (double)(now - start) / 1e9;
	if (failed_qp) {
		tool_qpair_err(&p->a->o, failed_qp, r, homi_perf_rw_name(p->a->rw));
		return r;
	}
	if (p->submit_err) {
		tool_err(&p->a->o, "submitting: %s", strerror(-p->submit_err));
		return p->submit_err;
	}
	if (p->errors) {
		char st[160];
		homi_nvme_status_format(p->first_status, st, sizeof(st));
		tool_err(&p->a->o, "%llu command(s) failed, the first with %s", (unsigned long long)p->errors, st);
		return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct args a;
	struct tool_dev d;
	struct perf p = { 0 };
	struct homi_dma_mem mem = { 0 };
	double secs = 0;
	int r = parse_args(argc, argv, &a), ret = EXIT_FAIL;

	if (r != EXIT_OK)
		return r < 0 ? EXIT_OK : r;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	p.a = &a;
	p.d = &d;
	p.rng = a.seed;
	homi_hist_init(&p.hist);
	r = tool_open(&a.o, &d);
	if (r >= 0)
		r = setup(&p, &mem);
	if (r >= 0) {
		r = run(&p, &secs);
		if (p.ios)
			report(&p, secs, mem.hugepage);
		if (r >= 0)
			ret = EXIT_OK;
	}
	for (uint16_t q = 0; p.qps && q < p.nq; q++)
		if (p.qps[q])
			homi_nvme_io_qpair_destroy(d.ctrl, p.qps[q]);
	if (d.vfio)
		homi_vfio_dma_free(d.vfio, &mem);
	free(p.qps);
	free(p.slots);
	tool_close(&d);
	return ret;
}
