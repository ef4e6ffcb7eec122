/* SPDX-License-Identifier: MIT */
/* Odd answers of an NVMe controller (docs/security.md): the paging of the
 * Allocated Namespace List (homi_nvme_ns_page) ends on a controller that
 * ignores the starting NSID and sends the same full page again, on NSIDs
 * that are not ascending, and at the last valid NSID; a normal list is
 * read whole. Exit 0 when every check holds. */
#include "config.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>

#include "nvme.h"

#define MAX 1024

static int failures;

static void check(int cond, const char *what)
{
	printf("%s %s\n", cond ? "ok  " : "FAIL", what);
	failures += !cond;
}

int main(void)
{
	static uint32_t page[MAX];
	uint32_t *out = NULL;
	size_t n = 0;
	int r;

	for (unsigned i = 0; i < 3; i++)
		page[i] = htole32(i + 1);
	r = homi_nvme_ns_page(page, MAX, &out, &n);
	check(r == 0 && n == 3 && out[2] == 3, "a short list is complete: 1 2 3");

	free(out), out = NULL, n = 0;
	for (unsigned i = 0; i < MAX; i++)
		page[i] = htole32(i + 1);
	r = homi_nvme_ns_page(page, MAX, &out, &n);
	check(r == 1 && n == MAX, "a full ascending page asks for the next");
	r = homi_nvme_ns_page(page, MAX, &out, &n); /* the controller ignored the starting NSID */
	check(r == 0 && n == MAX, "the same full page again ends the list (no endless paging)");

	free(out), out = NULL, n = 0;
	page[0] = htole32(5), page[1] = htole32(3), page[2] = 0;
	r = homi_nvme_ns_page(page, MAX, &out, &n);
	check(r == 0 && n == 1 && out[0] == 5, "NSIDs not ascending end the list");

	free(out), out = NULL, n = 0;
	for (unsigned i = 0; i < MAX; i++)
		page[i] = htole32(0xfffffffe - (MAX - 1) + i);
	r = homi_nvme_ns_page(page, MAX, &out, &n);
	check(r == 0 && n == MAX, "a full page ending at NSID 0xfffffffe is the last");

	free(out), out = NULL, n = 0;
	r = homi_nvme_ns_page(page, 0, &out, &n);
	check(r == 0 && n == 0, "an empty page");
	free(out);
	return failures ? 1 : 0;
}
