/* SPDX-License-Identifier: MIT */
/* homi-gpu-perf: queues x depth x block-size sweeps of device-initiated
 * NVMe I/O against the soft controller, the loopback responder, or a real
 * VF (through the vfio endpoint, absent from builds without vfio/).
 * Prints the card, driver and mode, then one row per point: IOPS, GB/s,
 * errors. See homi-gpu-perf(1). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#include "homi-gpu-vf.h"
#include "perf.h"
#include "softctrl-ep.h"

#define MAXLIST 32

struct list {
	uint32_t v[MAXLIST];
	int n;
};

static int parse_list(const char *s, struct list *l)
{
	char *end;
	l->n = 0;
	while (*s) {
		unsigned long long v = strtoull(s, &end, 0);
		if (end == s || l->n == MAXLIST)
			return -1;
		if (*end == 'k' || *end == 'K') {
			v *= 1024;
			end++;
		} else if (*end == 'm' || *end == 'M') {
			v *= 1024 * 1024;
			end++;
		}
		if (!v || v > 0xffffffffull)
			return -1;
		l->v[l->n++] = (uint32_t)v;
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return l->n ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: homi-gpu-perf [OPTIONS]\n"
		"  -t, --target soft|loopback|vf:BDF  controller (default loopback)\n"
		"  -m, --mode H|D|G        placement (default H; G for loopback)\n"
		"  -a, --api block|warp    a queue per block or per warp (default block)\n"
		"  -q, --queues LIST       queue pairs, e.g. 1,4,16 (default 1,4)\n"
		"  -d, --depth LIST        commands in flight per queue (default 32,128)\n"
		"  -b, --bs LIST           bytes per command, e.g. 512,4k (default 4k)\n"
		"  -o, --op read|write     (default read)\n"
		"  -p, --pattern seq|rand  (default rand)\n"
		"  -T, --time MS           timed run per point (default 200)\n"
		"      --timeout-ms MS     per command (default 5000)\n"
		"      --workers N         soft controller threads (default 12)\n"
		"      --device N          CUDA device (default 0)\n"
		"      --csv               comma-separated rows\n"
		"  -h, --help\n");
}

static void card(int dev, char *out, size_t len)
{
	cudaDeviceProp p;
	int drv = 0;
	char kmod[64] = "unknown", line[256];
	FILE *f = fopen("/proc/driver/nvidia/version", "r");

	/* "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ...":
	 * the first word that starts with a digit and holds a dot */
	if (f) {
		if (fgets(line, sizeof(line), f)) {
			char *save = NULL;
			for (char *w = strtok_r(line, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
				if (w[0] >= '0' && w[0] <= '9' && strchr(w, '.')) {
					snprintf(kmod, sizeof(kmod), "%s", w);
					break;
				}
			}
		}
		fclose(f);
	}
	cudaDriverGetVersion(&drv);
	if (cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
		snprintf(out, len, "device %d: unavailable", dev);
		return;
	}
	snprintf(out, len, "device %d: %s (sm_%d%d, %d SMs), driver %s, CUDA %d.%d", dev, p.name, p.major, p.minor,
		 p.multiProcessorCount, kmod, drv / 1000, drv % 1000 / 10);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' }, { "mode", required_argument, NULL, 'm' },
		{ "api", required_argument, NULL, 'a' },    { "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },  { "bs", required_argument, NULL, 'b' },
		{ "op", required_argument, NULL, 'o' },     { "pattern", required_argument, NULL, 'p' },
		{ "time", required_argument, NULL, 'T' },   { "timeout-ms", required_argument, NULL, 1 },
		{ "workers", required_argument, NULL, 2 },  { "device", required_argument, NULL, 3 },
		{ "csv", no_argument, NULL, 4 },            { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct perf_opts o;
	struct list qs, ds, bs;
	const char *target = "loopback", *mode = NULL;
	uint32_t workers = 12;
	int csv = 0, c, ret, mode_set = 0;
	struct homi_softctrl *sc = NULL;
	struct homi_loopback *lb = NULL;
	struct homi_gpu_ctrl ep;
	struct homi_gpu *g = NULL;
	char why[512], cardline[512];
	double best = 0;

	memset(&o, 0, sizeof(o));
	o.op = HOMI_NVME_CMD_READ;
	o.rand = 1;
	o.target_ms = 200;
	o.timeout_ms = 5000;
	parse_list("1,4", &qs);
	parse_list("32,128", &ds);
	parse_list("4k", &bs);
	while ((c = getopt_long(argc, argv, "t:m:a:q:d:b:o:p:T:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': target = optarg; break;
		case 'm': mode = optarg; mode_set = 1; break;
		case 'a':
			if (strcmp(optarg, "block") && strcmp(optarg, "warp"))
				goto bad;
			o.warp = !strcmp(optarg, "warp");
			break;
		case 'q': if (parse_list(optarg, &qs)) goto bad; break;
		case 'd': if (parse_list(optarg, &ds)) goto bad; break;
		case 'b': if (parse_list(optarg, &bs)) goto bad; break;
		case 'o':
			if (!strcmp(optarg, "read"))
				o.op = HOMI_NVME_CMD_READ;
			else if (!strcmp(optarg, "write"))
				o.op = HOMI_NVME_CMD_WRITE;
			else
				goto bad;
			break;
		case 'p':
			if (strcmp(optarg, "seq") && strcmp(optarg, "rand"))
				goto bad;
			o.rand = !strcmp(optarg, "rand");
			break;
		case 'T': o.target_ms = (uint32_t)strtoul(optarg, NULL, 0); if (!o.target_ms) goto bad; break;
		case 1: o.timeout_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 2: workers = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 3: o.device = atoi(optarg); break;
		case 4: csv = 1; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	if (!strcmp(target, "soft")) {
		o.target = PERF_SOFT;
	} else if (!strcmp(target, "loopback")) {
		o.target = PERF_LOOPBACK;
	} else if (!strncmp(target, "vf:", 3)) {
		o.target = PERF_VF;
		o.vf_bdf = target + 3;
	} else {
		goto bad;
	}
	o.mode = o.target == PERF_LOOPBACK ? HOMI_GPU_MODE_G : HOMI_GPU_MODE_H;
	if (mode_set && homi_gpu_mode_parse(mode, &o.mode))
		goto bad;

	if (cudaSetDevice(o.device) != cudaSuccess) {
		fprintf(stderr, "homi-gpu-perf: no CUDA device %d\n", o.device);
		return 1;
	}
	card(o.device, cardline, sizeof(cardline));
	switch (o.target) {
	case PERF_SOFT: {
		struct homi_softctrl_config cfg;
		homi_softctrl_config_default(&cfg);
		cfg.nlbas = 1u << 21; /* 1 GiB */
		cfg.max_ioqs = 256;
		cfg.workers = workers;
		cfg.mdts_pages = 64;
		ret = homi_softctrl_create(&cfg, &sc);
		if (ret) {
			fprintf(stderr, "homi-gpu-perf: soft controller: %s\n", strerror(-ret));
			return 1;
		}
		homi_softctrl_endpoint(sc, &ep);
		break;
	}
	case PERF_LOOPBACK:
		ret = homi_loopback_create(4096, &lb);
		if (ret) {
			fprintf(stderr, "homi-gpu-perf: loopback: %s\n", strerror(-ret));
			return 1;
		}
		homi_loopback_endpoint(lb, &ep);
		break;
	case PERF_VF:
		ret = homi_gpu_vf_endpoint_open(o.vf_bdf, &ep, why, sizeof(why));
		if (ret) {
			printf("# homi-gpu-perf: %s\n# target vf:%s unavailable: %s\n", cardline, o.vf_bdf, why);
			return 4;
		}
		break;
	}
	ret = homi_gpu_open(&ep, o.device, &g, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "homi-gpu-perf: %s: %s\n", target, why);
		goto out;
	}
	ret = homi_gpu_placement_check(g, o.mode, why, sizeof(why));
	printf("# homi-gpu-perf: %s\n", cardline);
	printf("# target %s, mode %s (%s), %s groups, %s %s; doorbells: %s\n", homi_gpu_info(g)->name,
	       homi_gpu_mode_name(o.mode), why, o.warp ? "warp" : "block", o.rand ? "random" : "sequential",
	       o.op == HOMI_NVME_CMD_READ ? "reads" : "writes", homi_gpu_doorbell_desc(g));
	if (ret) {
		fprintf(stderr, "homi-gpu-perf: %s\n", why);
		goto out;
	}
	printf(csv ? "target,mode,api,queues,depth,bs,threads,cmds,ms,miops,gbps,errors\n"
		   : "%-8s %-4s %-5s %6s %5s %7s %7s %11s %8s %9s %8s %6s\n",
	       "target", "mode", "api", "queues", "depth", "bs", "threads", "cmds", "ms", "MIOPS", "GB/s", "errors");
	for (int qi = 0; qi < qs.n; qi++)
		for (int di = 0; di < ds.n; di++)
			for (int bi = 0; bi < bs.n; bi++) {
				struct perf_point p = { qs.v[qi], ds.v[di], bs.v[bi] };
				struct perf_result r;
				char gbps[16];
				double miops;
				ret = perf_run_point(g, lb, &o, &p, &r);
				if (!r.ran) {
					printf("# skip %s q=%u depth=%u bs=%u: %s\n", homi_gpu_info(g)->name, p.queues,
					       p.depth, p.bs, r.skip);
					if (ret)
						goto out;
					continue;
				}
				miops = r.cmds / (r.ms * 1e3);
				if (o.target == PERF_LOOPBACK)
					snprintf(gbps, sizeof(gbps), "-");
				else
					snprintf(gbps, sizeof(gbps), "%.2f", (double)r.cmds * p.bs / (r.ms * 1e6));
				if (!r.errors && miops > best)
					best = miops;
				printf(csv ? "%s,%s,%s,%u,%u,%u,%u,%llu,%.2f,%.3f,%s,%llu\n"
					   : "%-8s %-4s %-5s %6u %5u %7u %7u %11llu %8.2f %9.3f %8s %6llu\n",
				       homi_gpu_info(g)->name, homi_gpu_mode_name(o.mode), o.warp ? "warp" : "block",
				       p.queues, p.depth, p.bs, p.queues * p.depth, (unsigned long long)r.cmds, r.ms,
				       miops, gbps, (unsigned long long)r.errors);
				fflush(stdout);
			}
	printf("# best error-free: %.2f M commands/s (%s, %s groups)\n", best, homi_gpu_info(g)->name,
	       o.warp ? "warp" : "block");
	ret = 0;
out:
	homi_gpu_close(g);
	if (o.target == PERF_VF)
		homi_gpu_vf_endpoint_close(&ep);
	homi_softctrl_destroy(sc);
	homi_loopback_destroy(lb);
	return ret ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
