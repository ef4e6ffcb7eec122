/* SPDX-License-Identifier: MIT */
/* homi-gpu-test-nofence: the fence test with the system-scope fence before
 * the SQ doorbell compiled out of the device API (see gt-fence.cu). It
 * passes when at least one run detects the corruption.
 * Usage: homi-gpu-test-nofence [RUNS [COMMANDS]] */
#define HOMI_GPU_NO_SYSTEM_FENCE 1
#include <stdlib.h>

#include "gt-fence.cu"

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	unsigned long long cmds = argc > 2 ? strtoull(argv[2], NULL, 0) : 1048576ull;

	if (runs < 1 || cmds < 1) {
		fprintf(stderr, "usage: %s [RUNS [COMMANDS]]\n", argv[0]);
		return 2;
	}
	gt_run_fence(runs, cmds, 1);
	printf("# %d passed, %d failed\n", gt_passed, gt_failed);
	return gt_failed ? 1 : 0;
}
