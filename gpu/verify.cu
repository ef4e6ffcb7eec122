/* SPDX-License-Identifier: MIT */
/* homi-gpu-verify: data written and read by CUDA threads through a
 * controller endpoint, checked against a reproducible pattern, so that a
 * VF's data can be compared with what the PF's block device holds.
 *
 *   --op pattern     print the pattern of LBAs [LBA, LBA+COUNT) to stdout
 *                    (no GPU): write it through the PF, or cmp against a
 *                    PF read
 *   --op write       the GPU writes the pattern to the range
 *   --op read        the GPU reads the range and checks every byte
 *   --op write-read  both, in one process (the soft controller's RAM
 *                    namespace lives only as long as the process)
 * --dump-ns FILE (soft target) saves the range as the namespace holds it,
 * the soft controller's "PF view". Exit status 0 when every command
 * succeeded and every byte matched. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#include "homi-gpu-dev.cuh"
#include "homi-gpu-pattern.h"
#include "homi-gpu-vf.h"
#include "homi-gpu.h"
#include "softctrl-ep.h"

struct vout {
	unsigned long long cmds, bad_status, bad_lbas, first_bad;
};

__global__ void verify_kernel(struct homi_gpu_qp *qps, uint64_t lba0, uint64_t count, uint32_t nlb, uint32_t seed,
			      uint8_t op, uint32_t rounds, struct vout *out)
{
	struct homi_gpu_qp *qp = &qps[blockIdx.x];
	const uint32_t t = threadIdx.x, wpl = 1u << (qp->lba_shift - 2);
	const uint64_t gidx = (uint64_t)blockIdx.x * blockDim.x + t, total = (uint64_t)gridDim.x * blockDim.x;
	uint32_t *buf = (uint32_t *)homi_gpu_buf(qp, t);
	unsigned long long cmds = 0, bst = 0, blba = 0;

	for (uint32_t r = 0; r < rounds; r++) {
		const uint64_t first = ((uint64_t)r * total + gidx) * nlb;
		const int active = first < count;
		const uint32_t n = active ? (uint32_t)(count - first < nlb ? count - first : nlb) : 0;
		const uint64_t slba = lba0 + first;
		int ret;

		for (uint32_t i = 0; i < n * wpl; i++)
			buf[i] = op == HOMI_NVME_CMD_WRITE ? homi_gpu_pattern(slba + i / wpl, i % wpl, seed) : 0xdeadbeefu;
		ret = homi_gpu_block_rw(qp, active, op, slba, n ? n : 1, t);
		if (!active)
			continue;
		cmds++;
		if (ret) {
			bst++;
			continue;
		}
		if (op != HOMI_NVME_CMD_READ)
			continue;
		for (uint32_t l = 0; l < n; l++) {
			int bad = 0;
			for (uint32_t i = 0; i < wpl; i += 4) {
				uint4 v = homi_ld_volatile_v4(buf + l * wpl + i);
				bad |= v.x != homi_gpu_pattern(slba + l, i, seed);
				bad |= v.y != homi_gpu_pattern(slba + l, i + 1, seed);
				bad |= v.z != homi_gpu_pattern(slba + l, i + 2, seed);
				bad |= v.w != homi_gpu_pattern(slba + l, i + 3, seed);
			}
			if (bad) {
				blba++;
				atomicMin(&out->first_bad, (unsigned long long)(slba + l));
			}
		}
	}
	atomicAdd(&out->cmds, cmds);
	atomicAdd(&out->bad_status, bst);
	atomicAdd(&out->bad_lbas, blba);
}

static int emit_pattern(uint64_t lba0, uint64_t count, uint32_t lba_bytes, uint32_t seed)
{
	const uint32_t wpl = lba_bytes / 4;
	uint32_t *w = (uint32_t *)malloc(lba_bytes);

	if (!w)
		return 1;
	for (uint64_t l = lba0; l < lba0 + count; l++) {
		for (uint32_t i = 0; i < wpl; i++)
			w[i] = homi_gpu_pattern(l, i, seed);
		if (fwrite(w, lba_bytes, 1, stdout) != 1) {
			free(w);
			return 1;
		}
	}
	free(w);
	return fflush(stdout) ? 1 : 0;
}

static int run(struct homi_gpu *g, const struct homi_gpu_qp_config *cfg, uint64_t lba0, uint64_t count,
	       uint32_t nlb, uint32_t seed, uint8_t op, struct vout *h)
{
	struct homi_gpu_qpset *s = NULL;
	struct vout *d = NULL;
	const uint64_t per_round = (uint64_t)cfg->nqueues * cfg->nbuf * nlb;
	const uint32_t rounds = (uint32_t)((count + per_round - 1) / per_round);
	char why[256];
	int ret = homi_gpu_qpset_create(g, cfg, &s, why, sizeof(why));

	if (ret) {
		fprintf(stderr, "homi-gpu-verify: queue pairs: %s\n", why);
		return ret;
	}
	memset(h, 0, sizeof(*h));
	h->first_bad = ~0ull;
	if (cudaMalloc(&d, sizeof(*d)) != cudaSuccess || cudaMemcpy(d, h, sizeof(*h), cudaMemcpyHostToDevice)) {
		ret = -ENOMEM;
		goto out;
	}
	verify_kernel<<<cfg->nqueues, cfg->nbuf>>>(homi_gpu_qpset_dev(s), lba0, count, nlb, seed, op, rounds, d);
	if (cudaDeviceSynchronize() != cudaSuccess || cudaMemcpy(h, d, sizeof(*h), cudaMemcpyDeviceToHost)) {
		fprintf(stderr, "homi-gpu-verify: kernel: %s\n", cudaGetErrorString(cudaGetLastError()));
		ret = -EIO;
	}
out:
	cudaFree(d);
	homi_gpu_qpset_destroy(s);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: homi-gpu-verify --op pattern|write|read|write-read --lba LBA --count N [--seed S]\n"
		   "         [--target soft|vf:BDF] [--mode H|D|G] [--bs BYTES] [--queues Q] [--depth D]\n"
		   "         [--lba-size BYTES (pattern only)] [--dump-ns FILE (soft)] [--device N]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "op", required_argument, NULL, 'o' },      { "lba", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'n' },   { "seed", required_argument, NULL, 's' },
		{ "target", required_argument, NULL, 't' },  { "mode", required_argument, NULL, 'm' },
		{ "bs", required_argument, NULL, 'b' },      { "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },   { "lba-size", required_argument, NULL, 1 },
		{ "dump-ns", required_argument, NULL, 2 },   { "device", required_argument, NULL, 3 },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	const char *op = NULL, *target = "soft", *dump = NULL;
	uint64_t lba0 = 0, count = 0;
	uint32_t seed = 1, bs = 16384, lba_bytes = 512, queues = 2, depth = 256;
	int device = 0, c, ret = 1, have_lba = 0;
	enum homi_gpu_mode mode = HOMI_GPU_MODE_H;
	struct homi_softctrl *sc = NULL;
	struct homi_gpu_ctrl ep;
	struct homi_gpu *g = NULL;
	struct homi_gpu_qp_config cfg;
	char why[512];

	while ((c = getopt_long(argc, argv, "o:l:n:s:t:m:b:q:d:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o': op = optarg; break;
		case 'l': lba0 = strtoull(optarg, NULL, 0); have_lba = 1; break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 's': seed = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': target = optarg; break;
		case 'm': if (homi_gpu_mode_parse(optarg, &mode)) goto usage; break;
		case 'b': bs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'q': queues = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'd': depth = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 1: lba_bytes = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 2: dump = optarg; break;
		case 3: device = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: goto usage;
		}
	}
	if (!op || !have_lba || !count || optind != argc || !queues || !depth || depth > 1024)
		goto usage;
	if (!strcmp(op, "pattern")) {
		if (lba_bytes < 512 || lba_bytes > 4096 || (lba_bytes & (lba_bytes - 1)))
			goto usage;
		return emit_pattern(lba0, count, lba_bytes, seed);
	}
	if (strcmp(op, "write") && strcmp(op, "read") && strcmp(op, "write-read"))
		goto usage;

	if (!strcmp(target, "soft")) {
		struct homi_softctrl_config sc_cfg;
		homi_softctrl_config_default(&sc_cfg);
		sc_cfg.nlbas = lba0 + count > (1u << 20) ? lba0 + count : (1u << 20);
		sc_cfg.max_ioqs = 64;
		ret = homi_softctrl_create(&sc_cfg, &sc);
		if (ret) {
			fprintf(stderr, "homi-gpu-verify: soft controller: %s\n", strerror(-ret));
			return 1;
		}
		homi_softctrl_endpoint(sc, &ep);
	} else if (!strncmp(target, "vf:", 3)) {
		ret = homi_gpu_vf_endpoint_open(target + 3, &ep, why, sizeof(why));
		if (ret) {
			fprintf(stderr, "homi-gpu-verify: %s\n", why);
			return 4;
		}
	} else {
		goto usage;
	}
	ret = homi_gpu_open(&ep, device, &g, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "homi-gpu-verify: %s: %s\n", target, why);
		goto out;
	}
	{
		const struct homi_gpu_ctrl_info *in = homi_gpu_info(g);
		const uint32_t lbab = 1u << in->lba_shift;
		const uint32_t nlb = bs / lbab;
		struct vout w, r;
		int ok = 1;

		if (!nlb || bs % lbab || bs % in->page_size || lba0 + count > in->nlbas) {
			fprintf(stderr, "homi-gpu-verify: --bs must be a multiple of %u and of %u; the namespace has %llu LBAs\n",
				lbab, in->page_size, (unsigned long long)in->nlbas);
			ret = -EINVAL;
			goto out;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.mode = mode;
		cfg.nqueues = queues;
		cfg.sq_depth = depth + 1;
		cfg.nbuf = depth;
		cfg.buf_bytes = bs;
		printf("# homi-gpu-verify: %s, mode %s, %u queues x %u, %u-byte commands, LBAs %llu..%llu (%u B), seed %u; "
		       "doorbells: %s\n",
		       in->name, homi_gpu_mode_name(mode), queues, depth, bs, (unsigned long long)lba0,
		       (unsigned long long)(lba0 + count - 1), lbab, seed, homi_gpu_doorbell_desc(g));
		if (strcmp(op, "read")) {
			ret = run(g, &cfg, lba0, count, nlb, seed, HOMI_NVME_CMD_WRITE, &w);
			if (ret)
				goto out;
			printf("write: %llu commands, %llu failed\n", w.cmds, w.bad_status);
			ok &= !w.bad_status;
		}
		if (strcmp(op, "write")) {
			ret = run(g, &cfg, lba0, count, nlb, seed, HOMI_NVME_CMD_READ, &r);
			if (ret)
				goto out;
			printf("read: %llu commands, %llu failed, %llu of %llu LBAs differ from the pattern", r.cmds,
			       r.bad_status, r.bad_lbas, (unsigned long long)count);
			if (r.bad_lbas)
				printf(" (first %llu)", r.first_bad);
			printf("\n");
			ok &= !r.bad_status && !r.bad_lbas;
		}
		if (dump && sc) {
			size_t len;
			uint8_t *ns = homi_softctrl_ns(sc, &len);
			FILE *f = fopen(dump, "wb");
			if (!f || fwrite(ns + (lba0 << in->lba_shift), count << in->lba_shift, 1, f) != 1)
				ok = 0;
			if (f && fclose(f))
				ok = 0;
		}
		ret = ok ? 0 : -EIO;
	}
out:
	homi_gpu_close(g);
	if (!strncmp(target, "vf:", 3))
		homi_gpu_vf_endpoint_close(&ep);
	homi_softctrl_destroy(sc);
	return ret ? 1 : 0;
usage:
	usage(stderr);
	return 2;
}
