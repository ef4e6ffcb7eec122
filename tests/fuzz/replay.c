/* SPDX-License-Identifier: MIT */
/* replay [FILE|DIR...]: feeds each file (a directory: each file in it, in
 * name order) to the harness's LLVMFuzzerTestOneInput, once. Without
 * arguments: the harness's committed corpus in the source tree
 * (tests/fuzz/corpus/<target>/), which must not be empty. A crash, a
 * sanitizer report or an input that takes over a minute (SIGALRM) ends the
 * program: make check fails. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_LIMIT_S 60

#ifndef HOMI_TOP_SRCDIR
#define HOMI_TOP_SRCDIR "."
#endif

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	len = (size_t)n;
	buf = malloc(len ? len : 1);
	if (!buf || fread(buf, 1, len, f) != len) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	alarm(REPLAY_LIMIT_S); /* an input that hangs the reader fails the test */
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	alarm(0);
	free(buf);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

/* Returns the number of files replayed, or -1. */
static int replay(const char *path)
{
	struct dirent **names = NULL;
	struct stat st;
	int n, count = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: no such file\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path) < 0 ? -1 : 1;
	n = scandir(path, &names, NULL, by_name);
	for (int i = 0; i < n; i++) {
		char sub[4096];
		if (names[i]->d_name[0] != '.') {
			snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
			if (count >= 0)
				count = replay_file(sub) < 0 ? -1 : count + 1;
		}
		free(names[i]);
	}
	free(names);
	return n < 0 ? -1 : count;
}

int main(int argc, char **argv)
{
	char dflt[4096];
	int total = 0;

	if (argc < 2) {
		snprintf(dflt, sizeof(dflt), "%s/tests/fuzz/corpus/%s", HOMI_TOP_SRCDIR, fuzz_target_name);
		int n = replay(dflt);
		if (n <= 0) {
			fprintf(stderr, "replay: %s: %s\n", dflt, n == 0 ? "empty corpus" : "unreadable");
			return 1;
		}
		printf("%s: %d inputs replayed\n", fuzz_target_name, n);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		int n = replay(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	printf("%s: %d inputs replayed\n", fuzz_target_name, total);
	return 0;
}
