/* SPDX-License-Identifier: MIT */
/* homi-gpu-test: device tests of libhomi-gpu on a CUDA GPU with no NVMe.
 * Usage: homi-gpu-test [all|host|loopback|loopback-quick|soft|soft-quick|fence] ...
 * Prints a PASS/FAIL line per test and a summary; exit status 1 if any
 * failed, 2 on usage errors, 3 without a usable GPU. */
#include <stdlib.h>
#include <string.h>

#include "gt.h"

int main(int argc, char **argv)
{
	cudaDeviceProp p;
	int n = 0, drv = 0, rt = 0;

	if (cudaGetDeviceCount(&n) != cudaSuccess || n < 1 || cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
		fprintf(stderr, "homi-gpu-test: no CUDA device\n");
		return 3;
	}
	cudaDriverGetVersion(&drv);
	cudaRuntimeGetVersion(&rt);
	printf("# device 0: %s, sm_%d%d, %d SMs, CUDA driver %d, runtime %d\n", p.name, p.major, p.minor,
	       p.multiProcessorCount, drv, rt);
	for (int i = 1; i < argc || i == 1; i++) {
		const char *what = argc > 1 ? argv[i] : "all";
		int all = !strcmp(what, "all");
		if (all || !strcmp(what, "host"))
			gt_run_host();
		if (all || !strcmp(what, "loopback"))
			gt_run_loopback(0);
		if (!strcmp(what, "loopback-quick"))
			gt_run_loopback(1);
		if (all || !strcmp(what, "soft"))
			gt_run_soft(0);
		if (!strcmp(what, "soft-quick"))
			gt_run_soft(1);
		if (all || !strcmp(what, "fence"))
			gt_run_fence(5, 1048576, 0);
		if (!all && strcmp(what, "host") && strcmp(what, "loopback") && strcmp(what, "soft") &&
		    strcmp(what, "soft-quick") && strcmp(what, "fence") && strcmp(what, "loopback-quick")) {
			fprintf(stderr, "usage: %s [all|host|loopback|loopback-quick|soft|soft-quick|fence]...\n", argv[0]);
			return 2;
		}
		if (argc <= 1)
			break;
	}
	printf("# %d passed, %d failed\n", gt_passed, gt_failed);
	return gt_failed ? 1 : 0;
}
