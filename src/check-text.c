/* SPDX-License-Identifier: MIT */
/* homi_check_report_text() (checks.h): the human view of a check report,
 * one formatter for homictl's in-process run and for the report homid sent. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "macro.h"

#define WRAP 100
#define INDENT "           "

/* Writes PREFIX and TEXT from column 11, wrapped at WRAP columns. */
static void put_wrapped(FILE *f, const char *prefix, const char *text)
{
	size_t col = strlen(INDENT) + strlen(prefix);
	bool first = true;

	fprintf(f, "%s%s", INDENT, prefix);
	for (const char *w = text; *w;) {
		size_t len = strcspn(w, " ");
		if (!first && col + 1 + len > WRAP) {
			fprintf(f, "\n%s", INDENT);
			col = strlen(INDENT);
		} else if (!first) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", (int)len, w);
		col += len;
		first = false;
		for (w += len; *w == ' '; w++)
			;
	}
	fputc('\n', f);
}

char *homi_check_report_text(const struct homi_check_report *r)
{
	char *buf = NULL;
	size_t len = 0, pairs = 0;
	const char *group = NULL;
	char modes[8];
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct homi_verdict *v = &r->v[i];
		pairs += v->pair[0] != '\0';
		if (!group || !streq(group, v->pair)) {
			if (!v->pair[0])
				fprintf(f, "%shost\n", group ? "\n" : "");
			else if (streq(v->pair, v->gpu))
				fprintf(f, "%sGPU %s\n", group ? "\n" : "", v->gpu);
			else
				fprintf(f, "%s%s <-> GPU %s\n", group ? "\n" : "", v->pair,
					v->gpu[0] ? v->gpu : "(none)");
			group = v->pair;
		}
		fprintf(f, "  %-7s  %-15s  %-5s  %s\n", homi_check_status_name(v->status), v->check,
			homi_check_modes_str(v->modes, modes, sizeof(modes)), v->subject);
		put_wrapped(f, "", v->why);
		if (v->fix)
			put_wrapped(f, "fix: ", v->fix);
	}
	if (!pairs)
		fprintf(f, "\nNo VF is delegated to vfio-pci by a policy: only the host was checked.\n");
	fprintf(f, "\n%zu PASS, %zu WARN, %zu FAIL, %zu UNKNOWN (modes %s)\n", homi_check_count(r, HOMI_CHECK_PASS),
		homi_check_count(r, HOMI_CHECK_WARN), homi_check_count(r, HOMI_CHECK_FAIL),
		homi_check_count(r, HOMI_CHECK_UNKNOWN), homi_check_modes_str(r->modes, modes, sizeof(modes)));
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
