/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint.h"
#include "macro.h"

struct fp_entry {
	char op[32];
	unsigned nth;       /* 1-based */
	bool undo;          /* "undo:op...": counts undo steps, not forward ones */
	struct homi_fp_hit hit;
};

struct fp_count {
	char op[32];
	bool undo;
	unsigned n;
};

struct homi_failpoints {
	struct fp_entry *entries;
	size_t n_entries;
	struct fp_count counts[64];
	size_t n_counts;
	struct fp_count *log;  /* every execution counted, in order (op, undo, its n) */
	size_t n_log;
};

static const struct { const char *name; int value; } errnos[] = {
	{ "EIO", EIO },       { "EBUSY", EBUSY },       { "ENOMEM", ENOMEM }, { "ENODEV", ENODEV },
	{ "EINVAL", EINVAL }, { "EPERM", EPERM },       { "ENOENT", ENOENT }, { "ERANGE", ERANGE },
	{ "EAGAIN", EAGAIN }, { "EACCES", EACCES },     { "ENOSPC", ENOSPC }, { "ETIMEDOUT", ETIMEDOUT },
	{ "EINTR", EINTR },   { "ENXIO", ENXIO },       { "EEXIST", EEXIST }, { "ENOTSUP", ENOTSUP },
};

static int parse_action(const char *s, struct homi_fp_hit *hit)
{
	char *end;
	long v;

	if (streq(s, "crash")) {
		*hit = (struct homi_fp_hit){ HOMI_FP_CRASH, 0 };
		return 0;
	}
	if (has_prefix(s, "errno:")) {
		s += 6;
		for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
			if (streq(s, errnos[i].name)) {
				*hit = (struct homi_fp_hit){ HOMI_FP_ERRNO, errnos[i].value };
				return 0;
			}
		v = strtol(s, &end, 10);
		if (*s && !*end && v > 0 && v < 4096) {
			*hit = (struct homi_fp_hit){ HOMI_FP_ERRNO, (int)v };
			return 0;
		}
		return -EINVAL;
	}
	if (has_prefix(s, "sleep:")) {
		s += 6;
		v = strtol(s, &end, 10);
		if (*s && !*end && v > 0 && v <= 60000) {
			*hit = (struct homi_fp_hit){ HOMI_FP_SLEEP, (int)v };
			return 0;
		}
		return -EINVAL;
	}
	if (has_prefix(s, "nvme:")) {
		s += 5;
		v = strtol(s, &end, 0);
		if (*s && !*end && v > 0 && v <= 0x7fff) {
			*hit = (struct homi_fp_hit){ HOMI_FP_NVME, (int)v };
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_entry(char *item, struct fp_entry *e)
{
	char *eq = strchr(item, '='), *hash, *end;

	if (!eq)
		return -EINVAL;
	*eq = '\0';
	e->undo = has_prefix(item, "undo:");
	if (e->undo)
		item += 5;
	hash = strchr(item, '#');
	e->nth = 1;
	if (hash) {
		*hash = '\0';
		long n = strtol(hash + 1, &end, 10);
		if (!hash[1] || *end || n < 1 || n > 1000000)
			return -EINVAL;
		e->nth = (unsigned)n;
	}
	if (!*item || strlen(item) >= sizeof(e->op))
		return -EINVAL;
	memcpy(e->op, item, strlen(item) + 1);
	return parse_action(eq + 1, &e->hit);
}

int homi_failpoints_parse(const char *spec, struct homi_failpoints **ret, char **ret_error)
{
	_cleanup_free_ char *copy = strdup(spec ? spec : "");
	struct homi_failpoints *fp = calloc(1, sizeof(*fp));
	char *save = NULL;

	if (!copy || !fp) {
		free(fp);
		return -ENOMEM;
	}
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char shown[128];
		snprintf(shown, sizeof(shown), "%s", item);
		struct fp_entry *n = realloc(fp->entries, (fp->n_entries + 1) * sizeof(*n));
		if (!n) {
			homi_failpoints_free(fp);
			return -ENOMEM;
		}
		fp->entries = n;
		if (parse_entry(item, &fp->entries[fp->n_entries]) < 0) {
			if (ret_error && asprintf(ret_error,
						  "HOMI_FAILPOINTS: '%s': expected [undo:]op[#n]=errno:NAME|nvme:STATUS|crash|sleep:MS",
						  shown) < 0)
				*ret_error = NULL;
			homi_failpoints_free(fp);
			return -EINVAL;
		}
		fp->n_entries++;
	}
	*ret = fp;
	return 0;
}

struct homi_failpoints *homi_failpoints_free(struct homi_failpoints *fp)
{
	if (fp) {
		free(fp->entries);
		free(fp->log);
		free(fp);
	}
	return NULL;
}

static struct homi_fp_hit hit(struct homi_failpoints *fp, const char *op, bool undo)
{
	struct homi_fp_hit none = { HOMI_FP_NONE, 0 };
	struct fp_count *c = NULL, *l;

	if (!fp || !fp->n_entries)
		return none;
	for (size_t i = 0; i < fp->n_counts; i++)
		if (fp->counts[i].undo == undo && streq(fp->counts[i].op, op))
			c = &fp->counts[i];
	if (!c) {
		if (fp->n_counts == ARRAY_SIZE(fp->counts))
			return none;
		c = &fp->counts[fp->n_counts++];
		snprintf(c->op, sizeof(c->op), "%s", op);
		c->undo = undo;
		c->n = 0;
	}
	c->n++;
	l = realloc(fp->log, (fp->n_log + 1) * sizeof(*l));
	if (l) {
		fp->log = l;
		fp->log[fp->n_log++] = *c;
	}
	for (size_t i = 0; i < fp->n_entries; i++)
		if (fp->entries[i].undo == undo && streq(fp->entries[i].op, op) && fp->entries[i].nth == c->n)
			return fp->entries[i].hit;
	return none;
}

struct homi_fp_hit homi_failpoints_hit(struct homi_failpoints *fp, const char *op)
{
	return hit(fp, op, false);
}

struct homi_fp_hit homi_failpoints_hit_undo(struct homi_failpoints *fp, const char *op)
{
	return hit(fp, op, true);
}

const char *homi_failpoints_executed(const struct homi_failpoints *fp, size_t i, bool *ret_undo, unsigned *ret_nth)
{
	if (!fp || i >= fp->n_log)
		return NULL;
	*ret_undo = fp->log[i].undo;
	*ret_nth = fp->log[i].n;
	return fp->log[i].op;
}
