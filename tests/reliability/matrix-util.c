/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "matrix-util.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int matrix_rm_rf(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) == 0 && nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return -errno;
	return mkdir(dir, 0700) < 0 ? -errno : 0;
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void tree_walk(FILE *out, const char *dir, const char *rel)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, cmp_names);

	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char path[PATH_MAX], sub[PATH_MAX];
		struct stat st;

		if (streq(name, ".") || streq(name, "..") ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
		    (size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", name) >= sizeof(sub) ||
		    lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			tree_walk(out, path, sub);
		} else if (S_ISREG(st.st_mode)) {
			FILE *f = fopen(path, "re");
			char buf[4096];
			size_t k;
			fprintf(out, "%s %04o\n", sub, (unsigned)(st.st_mode & 07777));
			while (f && (k = fread(buf, 1, sizeof(buf), f)) > 0)
				fwrite(buf, 1, k, out);
			fputc('\n', out);
			if (f)
				fclose(f);
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

char *matrix_tree_text(const char *dir)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return NULL;
	tree_walk(out, dir, "");
	fclose(out);
	return buf;
}

bool matrix_journal_left(const char *run_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/journal.json", run_dir);
	return access(path, F_OK) == 0;
}

/* The first differing line of A and B into OUT. */
static bool line_difference(const char *a, const char *b, char *out, size_t len)
{
	while (a && b && *a && *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		if (la != lb || memcmp(a, b, la)) {
			snprintf(out, len, "'%.*s' became '%.*s'", (int)(la > 90 ? 90 : la), a, (int)(lb > 90 ? 90 : lb), b);
			return true;
		}
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	if (a && b && (*a || *b)) {
		snprintf(out, len, "'%.90s' became '%.90s'", *a ? a : "(end)", *b ? b : "(end)");
		return true;
	}
	return false;
}

const char *matrix_first_difference(const char *a, const char *b, const char *fa, const char *fb)
{
	static char out[224];

	if (line_difference(a, b, out, sizeof(out)) || line_difference(fa, fb, out, sizeof(out)))
		return out;
	return "(no difference?)";
}

struct matrix_row *matrix_row_add(struct matrix_row **rows, size_t *n)
{
	struct matrix_row *r = realloc(*rows, (*n + 1) * sizeof(**rows));

	if (!r)
		return NULL;
	*rows = r;
	r[*n] = (struct matrix_row){ 0 };
	return &r[(*n)++];
}

void matrix_bad(struct matrix_row *row, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(row->result, sizeof(row->result), "BAD: ");

	va_start(ap, fmt);
	vsnprintf(row->result + n, sizeof(row->result) - (size_t)n, fmt, ap);
	va_end(ap);
	for (char *p = row->result; *p; p++)
		if (*p == '\n' || *p == '|')
			*p = *p == '|' ? '/' : ' ';
	row->bad = true;
}
