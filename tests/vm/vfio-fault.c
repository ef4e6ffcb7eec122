/* SPDX-License-Identifier: MIT */
/* vfio-fault: drive libhomi-vfio into a failure on a real controller and
 * show how it is reported (VM testbed helper, tests/vm/scenarios/vfio-faults.sh).
 *
 *   vfio-fault PCI aer-timeout MS
 *
 * aer-timeout: sends an Asynchronous Event Request, which a controller
 * holds until an event happens (none will), with a per-command timeout of
 * MS milliseconds, and expects -ETIMEDOUT within 4 * MS + 1 s. Prints the
 * driver's message and "elapsed-ms=N". Exit 0 when the timeout was reported
 * in time, 1 otherwise, 2 on usage errors. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvme-driver.h"
#include "vfio.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int aer_timeout(const char *addr, uint32_t ms)
{
	struct homi_sysfs *s = NULL;
	struct homi_vfio *v = NULL;
	struct homi_nvme_ctrl *c = NULL;
	struct homi_nvme_sqe e = { .opc = 0x0c };
	char err[512];
	uint64_t t0, elapsed;
	uint16_t status;
	int r, ret = 1;

	r = homi_sysfs_open(NULL, &s);
	if (r < 0) {
		fprintf(stderr, "vfio-fault: /sys: %s\n", strerror(-r));
		return 1;
	}
	r = homi_vfio_open(s, addr, HOMI_VFIO_AUTO, &v, err, sizeof(err));
	if (r >= 0)
		r = homi_nvme_ctrl_open_vfio(v, NULL, &c, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	t0 = now_ms();
	r = homi_nvme_qpair_exec(homi_nvme_ctrl_admin(c), &e, ms, &status, NULL);
	elapsed = now_ms() - t0;
	homi_nvme_qpair_strerror(homi_nvme_ctrl_admin(c), r, err, sizeof(err));
	printf("%s: result=%d (%s)\n%s: %s\nelapsed-ms=%llu\n", addr, r, strerror(r < 0 ? -r : 0), addr, err,
	       (unsigned long long)elapsed);
	if (r != -ETIMEDOUT)
		fprintf(stderr, "vfio-fault: expected -ETIMEDOUT, got %d\n", r);
	else if (elapsed < ms || elapsed > 4ULL * ms + 1000)
		fprintf(stderr, "vfio-fault: timeout reported after %llu ms, expected about %u\n",
			(unsigned long long)elapsed, ms);
	else
		ret = 0;
	/* The queue pair is unusable now; a later command says so at once. */
	r = homi_nvme_qpair_exec(homi_nvme_ctrl_admin(c), &e, ms, &status, NULL);
	printf("next-command=%d (%s)\n", r, strerror(-r));
	if (r != -ETIMEDOUT)
		ret = 1;
out:
	homi_nvme_ctrl_close(c);
	homi_vfio_close(v);
	homi_sysfs_free(s);
	return ret;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long ms;

	if (argc != 4 || strcmp(argv[2], "aer-timeout")) {
		fprintf(stderr, "usage: vfio-fault PCI aer-timeout MS\n");
		return 2;
	}
	ms = strtoul(argv[3], &end, 10);
	if (*end || ms == 0 || ms > 60000) {
		fprintf(stderr, "vfio-fault: MS: expected 1..60000\n");
		return 2;
	}
	return aer_timeout(argv[1], (uint32_t)ms);
}
