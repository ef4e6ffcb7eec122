/* SPDX-License-Identifier: MIT */
/* homi-io: read, write, verify and identify through a delegated VF with the
 * user-space NVMe driver (homi-io(1)). */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "sysfs.h"
#include "tool-args.h"
#include "tool.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

enum cmd { CMD_READ, CMD_WRITE, CMD_VERIFY, CMD_IDENTIFY };

struct io {
	struct tool_opts o;
	enum cmd cmd;
	uint64_t lba, count;
	bool have_lba, have_count, have_pattern, json;
	uint8_t pattern;
};

static const char usage_text[] =
	"usage: homi-io [OPTIONS] PCI {read|write|verify} [--nsid N] --lba L --count C [--pattern BYTE]\n"
	"       homi-io [OPTIONS] PCI identify [--nsid N] [-j]\n"
	"options: --ro, --policy PATH, --reset, --timeout-ms MS, --vfio-mode auto|type1|cdev|noiommu, -v, -h\n";

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_usage("homi-io", usage_text, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct io *io)
{
	static const struct option opts[] = {
		{ "lba", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'c' },
		{ "pattern", required_argument, NULL, 'p' },
		TOOL_COMMON_OPTIONS,
		{}
	};
	const char *err;
	int c, r;

	io->o = (struct tool_opts){ .prog = "homi-io", .nsid = 1 };
	while ((c = getopt_long(argc, argv, "jvh", opts, NULL)) != -1) {
		if ((r = tool_common_option(c, optarg, &io->o, &err)) < 0)
			return usage("%s, got '%s'", err, optarg);
		if (r > 0)
			continue;
		switch (c) {
		case 'l':
			if (homi_parse_uint(optarg, UINT64_MAX, &io->lba) < 0)
				return usage("--lba: expected a block number, got '%s'", optarg);
			io->have_lba = true;
			break;
		case 'c':
			if (homi_parse_uint(optarg, UINT32_MAX, &io->count) < 0 || io->count == 0)
				return usage("--count: expected a number of blocks from 1, got '%s'", optarg);
			io->have_count = true;
			break;
		case 'p':
			if (homi_parse_byte(optarg, &io->pattern) < 0)
				return usage("--pattern: expected a byte (0xa5, 165), got '%s'", optarg);
			io->have_pattern = true;
			break;
		case 'j': io->json = true; break;
		case 'h': fputs(usage_text, stdout); return -1;
		default: return usage(NULL);
		}
	}
	if (argc - optind < 2)
		return usage("PCI address and command expected");
	if (argc - optind > 2)
		return usage("unexpected argument '%s'", argv[optind + 2]);
	io->o.addr = argv[optind];
	if (streq(argv[optind + 1], "read"))
		io->cmd = CMD_READ;
	else if (streq(argv[optind + 1], "write"))
		io->cmd = CMD_WRITE;
	else if (streq(argv[optind + 1], "verify"))
		io->cmd = CMD_VERIFY;
	else if (streq(argv[optind + 1], "identify"))
		io->cmd = CMD_IDENTIFY;
	else
		return usage("unknown command '%s' (read, write, verify, identify)", argv[optind + 1]);
	if (io->cmd != CMD_IDENTIFY && (!io->have_lba || !io->have_count))
		return usage("%s needs --lba and --count", argv[optind + 1]);
	if (io->cmd == CMD_VERIFY && !io->have_pattern)
		return usage("verify needs --pattern");
	if (io->cmd == CMD_READ && io->have_pattern)
		return usage("read takes no --pattern");
	io->o.want_write = io->cmd == CMD_WRITE;
	io->o.query_access = io->cmd == CMD_IDENTIFY;
	return EXIT_OK;
}

static int write_all(int fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static int transfer(struct io *io, struct tool_dev *d)
{
	const struct homi_nvme_ns *ns = &d->ns;
	uint32_t page = homi_nvme_ctrl_page_size(d->ctrl), bs = ns->info.lba_size;
	uint64_t chunk = io->count < ns->max_blocks ? io->count : ns->max_blocks;
	size_t buf_len = ((size_t)chunk * bs + page - 1) / page * page;
	struct homi_nvme_qpair *qp = NULL;
	struct homi_dma_mem mem = { 0 };
	uint64_t bad_blocks = 0, first_bad = UINT64_MAX;
	uint16_t status, nsq, ncq;
	char what[96];
	int r, ret = EXIT_FAIL;

	if (io->lba >= ns->info.nsze || io->count > ns->info.nsze - io->lba) {
		tool_err(&io->o, "LBA %llu+%llu lies beyond namespace %u (%llu blocks)", (unsigned long long)io->lba,
			 (unsigned long long)io->count, ns->info.nsid, (unsigned long long)ns->info.nsze);
		return EXIT_FAIL;
	}
	r = homi_nvme_set_num_queues(d->ctrl, 1, 1, &nsq, &ncq, &status);
	if (r < 0) {
		tool_qpair_err(&io->o, homi_nvme_ctrl_admin(d->ctrl), r, "Set Features Number of Queues");
		return EXIT_FAIL;
	}
	/* One buffer for a chunk, then one page of PRP list. */
	if (tool_dma_alloc(&io->o, d, buf_len + page, &mem) < 0)
		return EXIT_FAIL;
	r = homi_nvme_io_qpair_alloc(d->ctrl, 1, 2, &qp, &status);
	if (r < 0) {
		tool_qpair_err(&io->o, homi_nvme_ctrl_admin(d->ctrl), r, "creating I/O queue 1");
		goto out;
	}
	for (uint64_t done = 0; done < io->count;) {
		uint32_t n = (uint32_t)(io->count - done < chunk ? io->count - done : chunk);
		uint64_t lba = io->lba + done;
		size_t len = (size_t)n * bs;
		uint8_t opc = io->cmd == CMD_WRITE ? HOMI_NVME_CMD_WRITE : HOMI_NVME_CMD_READ;
		struct homi_nvme_sqe e;

		if (io->cmd == CMD_WRITE) {
			if (io->have_pattern) {
				memset(mem.va, io->pattern, len);
			} else {
				ssize_t got = homi_read_full(STDIN_FILENO, mem.va, len);
				if (got < 0 || (size_t)got != len) {
					tool_err(&io->o, "standard input: %s after %llu bytes, %llu expected",
						 got < 0 ? strerror((int)-got) : "ended",
						 (unsigned long long)(done * bs + (got > 0 ? (uint64_t)got : 0)),
						 (unsigned long long)(io->count * bs));
					goto out;
				}
			}
		}
		r = homi_nvme_ns_rw(ns, page, &e, opc, lba, n, mem.iova, (uint64_t *)((uint8_t *)mem.va + buf_len),
				    mem.iova + buf_len);
		if (r < 0) {
			tool_err(&io->o, "%s LBA %llu+%u: %s", opc == HOMI_NVME_CMD_WRITE ? "write" : "read",
				 (unsigned long long)lba, n, r == -EROFS ? "namespace is read-only" : strerror(-r));
			goto out;
		}
		r = homi_nvme_qpair_exec(qp, &e, io->o.timeout_ms, &status, NULL);
		if (r < 0) {
			snprintf(what, sizeof(what), "%s LBA %llu+%u", opc == HOMI_NVME_CMD_WRITE ? "write" : "read",
				 (unsigned long long)lba, n);
			tool_qpair_err(&io->o, qp, r, what);
			goto out;
		}
		if (io->cmd == CMD_READ && write_all(STDOUT_FILENO, mem.va, len) < 0) {
			tool_err(&io->o, "standard output: %m");
			goto out;
		}
		if (io->cmd == CMD_VERIFY) {
			const uint8_t *p = mem.va;
			for (uint32_t b = 0; b < n; b++) {
				bool bad = false;
				for (uint32_t i = 0; i < bs; i++)
					if (p[(size_t)b * bs + i] != io->pattern) {
						if (first_bad == UINT64_MAX) {
							first_bad = lba + b;
							tool_err(&io->o, "verify: LBA %llu byte %u is 0x%02x, expected 0x%02x",
								 (unsigned long long)(lba + b), i, p[(size_t)b * bs + i],
								 io->pattern);
						}
						bad = true;
						break;
					}
				bad_blocks += bad;
			}
		}
		done += n;
	}
	if (io->cmd == CMD_WRITE) {
		struct homi_nvme_sqe e;
		homi_nvme_ns_rw(ns, page, &e, HOMI_NVME_CMD_FLUSH, 0, 0, 0, NULL, 0);
		r = homi_nvme_qpair_exec(qp, &e, io->o.timeout_ms, &status, NULL);
		if (r < 0) {
			tool_qpair_err(&io->o, qp, r, "flush");
			goto out;
		}
	}
	if (bad_blocks) {
		tool_err(&io->o, "verify: %llu of %llu blocks at LBA %llu differ from 0x%02x", (unsigned long long)bad_blocks,
			 (unsigned long long)io->count, (unsigned long long)io->lba, io->pattern);
		goto out;
	}
	if (io->cmd == CMD_VERIFY)
		printf("%s: verify: %llu blocks at LBA %llu of namespace %u hold 0x%02x\n", io->o.addr,
		       (unsigned long long)io->count, (unsigned long long)io->lba, ns->info.nsid, io->pattern);
	else if (io->o.verbose)
		fprintf(stderr, "%s: %s %llu blocks of %u bytes at LBA %llu of namespace %u (memory: %s)\n",
			io->o.addr, io->cmd == CMD_WRITE ? "wrote" : "read", (unsigned long long)io->count, bs,
			(unsigned long long)io->lba, ns->info.nsid, mem.hugepage ? "hugepage" : "pages");
	ret = EXIT_OK;
out:
	if (qp) {
		r = homi_nvme_io_qpair_destroy(d->ctrl, qp);
		if (r < 0 && ret == EXIT_OK) {
			tool_err(&io->o, "deleting I/O queue 1: %s", strerror(-r));
			ret = EXIT_FAIL;
		}
	}
	homi_vfio_dma_free(d->vfio, &mem);
	return ret;
}

static int identify(struct io *io, struct tool_dev *d)
{
	const struct homi_nvme_ctrl_info *ci = homi_nvme_ctrl_info(d->ctrl);
	const struct homi_nvme_ns_info *ni = &d->ns.info;
	uint32_t vs = homi_nvme_ctrl_vs(d->ctrl);
	uint16_t nsq = 0, ncq = 0, status;
	char version[16];
	int r;

	/* How many I/O queues this VF can have: ask for the most there are. */
	r = homi_nvme_set_num_queues(d->ctrl, 0xfffe, 0xfffe, &nsq, &ncq, &status);
	if (r < 0) {
		tool_qpair_err(&io->o, homi_nvme_ctrl_admin(d->ctrl), r, "Set Features Number of Queues");
		return EXIT_FAIL;
	}
	snprintf(version, sizeof(version), "%u.%u.%u", vs >> 16, (vs >> 8) & 0xff, vs & 0xff);
	if (io->json) {
		json_t *doc = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s}",
					"homi-io", 1, "device", io->o.addr, "serial", ci->sn, "model", ci->mn,
					"firmware", ci->fr, "version", version, "vid", ci->vid, "cntlid", ci->cntlid,
					"max-transfer", (json_int_t)homi_nvme_ctrl_max_xfer(d->ctrl), "max-queue-entries",
					(json_int_t)homi_nvme_ctrl_max_entries(d->ctrl), "io-queues",
					nsq < ncq ? nsq : ncq, "namespaces", (json_int_t)ci->nn, "vfio-mode",
					homi_vfio_mode_name(homi_vfio_mode(d->vfio)));
		if (!doc)
			return EXIT_FAIL;
		json_object_set_new(doc, "namespace",
				    json_pack("{s:i, s:I, s:i, s:s}", "nsid", (json_int_t)ni->nsid, "blocks",
					      (json_int_t)ni->nsze, "block-size", (json_int_t)ni->lba_size, "access",
					      homi_ns_access_name(d->access)));
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(doc);
		return EXIT_OK;
	}
	printf("device: %s\n", io->o.addr);
	printf("serial: %s\n", ci->sn);
	printf("model: %s\n", ci->mn);
	printf("firmware: %s\n", ci->fr);
	printf("version: %s\n", version);
	printf("vid: 0x%04x\n", ci->vid);
	printf("cntlid: %u\n", ci->cntlid);
	printf("max-transfer: %u\n", homi_nvme_ctrl_max_xfer(d->ctrl));
	printf("max-queue-entries: %u\n", homi_nvme_ctrl_max_entries(d->ctrl));
	printf("io-queues: %u\n", nsq < ncq ? nsq : ncq);
	printf("namespaces: %u\n", ci->nn);
	printf("vfio-mode: %s\n", homi_vfio_mode_name(homi_vfio_mode(d->vfio)));
	printf("namespace %u: %llu blocks of %u bytes\n", ni->nsid, (unsigned long long)ni->nsze, ni->lba_size);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct io io;
	struct tool_dev d;
	int r = parse_args(argc, argv, &io);

	if (r != EXIT_OK)
		return r < 0 ? EXIT_OK : r;
	r = tool_open(&io.o, &d);
	if (r >= 0)
		r = io.cmd == CMD_IDENTIFY ? identify(&io, &d) : transfer(&io, &d);
	else
		r = EXIT_FAIL;
	tool_close(&d);
	return r;
}
