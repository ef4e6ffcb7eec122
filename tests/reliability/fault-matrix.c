/* SPDX-License-Identifier: MIT */
/* fault-matrix [--summary] [--all-undo|--no-undo] [POLICY_DIR]: runs the fault matrix of every
 * example policy (POLICY_DIR, default the source tree's policies/) on the
 * simulated testbed and GPU server, from every starting state where the
 * policy applies, and prints it as markdown tables: a summary per case,
 * then (unless --summary) one row per step and fault. The undo column
 * faults the first, middle and last undo step of each rollback, or every
 * one with --all-undo, none with --no-undo (valgrind's run: the forward
 * faults only, the undo column runs natively and under ASan). Exit 1 when any run
 * ended between states, did not converge, or when a policy or a plan op is
 * not covered at all (a matrix that lost its cases must not pass). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "matrix.h"
#include "matrix-util.h"
#include "plan.h"

#ifndef HOMI_TOP_SRCDIR
#define HOMI_TOP_SRCDIR "."
#endif

struct policy_file {
	char name[256];
	char *text;
};

static int filter_json(const struct dirent *d)
{
	size_t l = strlen(d->d_name);
	return d->d_name[0] != '.' && l > 5 && streq(d->d_name + l - 5, ".json");
}

static int load_policies(const char *dir, struct policy_file **ret, size_t *ret_n)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, filter_json, alphasort);
	struct policy_file *p;

	if (n < 0)
		return -errno;
	p = calloc((size_t)n + 1, sizeof(*p));
	for (int i = 0; p && i < n; i++) {
		char path[4096];
		FILE *f;
		size_t len = 0;

		snprintf(p[i].name, sizeof(p[i].name), "%s", names[i]->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		f = fopen(path, "re");
		if (f && getdelim(&p[i].text, &len, '\0', f) < 0) {
			free(p[i].text);
			p[i].text = NULL;
		}
		if (f)
			fclose(f);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!p)
		return -ENOMEM;
	*ret = p;
	*ret_n = (size_t)n;
	return 0;
}

struct tally {
	size_t cases, runs, undo_runs, bad, na;
	bool op_seen[_HOMI_OP_MAX];
};

static void print_rows(FILE *out, const char *name, const struct matrix_row *rows, size_t n)
{
	fprintf(out, "\n### %s\n\n| step | op#n | fault | result |\n| --- | --- | --- | --- |\n", name);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "| %s | %s | %s | %s%s%s |\n", rows[i].step, rows[i].op, rows[i].fault, rows[i].bad ? "**" : "",
		       rows[i].result, rows[i].bad ? "**" : "");
}

int main(int argc, char **argv)
{
	bool summary = false;
	int a = 1;
	for (; a < argc && has_prefix(argv[a], "--"); a++) {
		if (streq(argv[a], "--summary"))
			summary = true;
		else if (streq(argv[a], "--all-undo"))
			matrix_undo_all = true;
		else if (streq(argv[a], "--no-undo"))
			matrix_undo_none = true;
		else {
			fprintf(stderr, "fault-matrix: unknown option %s\n", argv[a]);
			return 2;
		}
	}
	const char *dir = a < argc ? argv[a] : HOMI_TOP_SRCDIR "/policies";
	static const char *const configs[] = { "testbed", "server" };
	char tmpdir[] = "/dev/shm/homi-matrix-XXXXXX";
	struct policy_file *pol = NULL;
	size_t n_pol = 0;
	struct tally t = { 0 };
	char *details = NULL, *na = NULL;
	size_t details_len = 0, na_len = 0;
	FILE *dout, *naout;
	bool failed = false;
	clock_t t0 = clock();

	if (load_policies(dir, &pol, &n_pol) < 0 || n_pol == 0 || !mkdtemp(tmpdir)) {
		fprintf(stderr, "fault-matrix: %s: no policies (or no temporary directory)\n", dir);
		return 1;
	}
	dout = open_memstream(&details, &details_len);
	naout = open_memstream(&na, &na_len);
	if (!dout || !naout)
		return 1;
	printf("| case | steps | runs | of them undo faults | prior state | desired state | not undone, reported | bad |\n"
	       "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
	for (size_t p = 0; p < n_pol; p++) {
		size_t cases_before = t.cases;
		if (!pol[p].text) {
			fprintf(stderr, "fault-matrix: %s/%s: unreadable\n", dir, pol[p].name);
			failed = true;
			continue;
		}
		for (size_t k = 0; k < ARRAY_SIZE(configs); k++)
			for (int s = 0; s < _START_MAX; s++) {
				struct matrix_case c = { .config = configs[k], .policy_name = pol[p].name,
							 .policy = pol[p].text, .start = s };
				struct matrix_row *rows = NULL;
				size_t n_rows = 0, prior = 0, desired = 0, bad = 0, undo = 0, left = 0;
				char *why = NULL;
				snprintf(c.name, sizeof(c.name), "%s @%s, %s", pol[p].name, configs[k], matrix_start_name(s));
				int r = matrix_run_case(&c, tmpdir, &rows, &n_rows, &why);
				if (r == -EINVAL) {
					fprintf(naout, "| %s | %s |\n", c.name, why ? strtok(why, "\n") : "?");
					t.na++;
				} else if (r < 0) {
					fprintf(stderr, "fault-matrix: %s: %s\n", c.name, strerror(-r));
					failed = true;
				} else {
					t.cases++;
					for (size_t i = 0; i < n_rows; i++) {
						char op[40];
						snprintf(op, sizeof(op), "%s", rows[i].op);
						op[strcspn(op, "#")] = '\0';
						int o = homi_op_from_name(op);
						if (o >= 0)
							t.op_seen[o] = true;
						bad += rows[i].bad;
						undo += rows[i].undo;
						left += strstr(rows[i].result, "not undone") != NULL;
						prior += strstr(rows[i].result, "prior state") != NULL;
						desired += strstr(rows[i].result, "desired state") != NULL;
					}
					t.runs += n_rows;
					t.undo_runs += undo;
					t.bad += bad;
					printf("| %s | %zu | %zu | %zu | %zu | %zu | %zu | %s%zu%s |\n", c.name,
					       (n_rows - undo) / 3, n_rows, undo, prior, desired, left, bad ? "**" : "", bad,
					       bad ? "**" : "");
					print_rows(dout, c.name, rows, n_rows);
				}
				free(why);
				free(rows);
			}
		if (t.cases == cases_before) {
			fprintf(stderr, "fault-matrix: %s applies on no simulated machine: not covered\n", pol[p].name);
			failed = true;
		}
	}
	fclose(dout);
	fclose(naout);
	printf("\n%zu cases, %zu runs (%zu of them with a fault at an undo step%s), %zu bad (%.1f s CPU).\n", t.cases,
	       t.runs, t.undo_runs,
	       matrix_undo_none ? ": none asked" : matrix_undo_all ? ", every one" : ": the first, middle and last of each rollback",
	       t.bad,
	       (double)(clock() - t0) / CLOCKS_PER_SEC);
	for (int o = 0; o < _HOMI_OP_MAX; o++)
		if (!t.op_seen[o]) {
			printf("\nNot covered: plan op %s.\n", homi_op_name(o));
			failed = true;
		}
	printf("\nCases that do not apply (%zu):\n\n| case | why |\n| --- | --- |\n%s", t.na, na ? na : "");
	if (!summary)
		printf("%s", details ? details : "");
	free(details);
	free(na);
	for (size_t p = 0; p < n_pol; p++)
		free(pol[p].text);
	free(pol);
	matrix_rm_rf(tmpdir);
	rmdir(tmpdir);
	return failed || t.bad ? 1 : 0;
}
