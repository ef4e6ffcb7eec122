/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check-json.h"
#include "macro.h"

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }

static json_t *modes_json(unsigned modes)
{
	static const char *const names[] = { "H", "D", "G" };
	json_t *a = json_array();

	for (unsigned i = 0; a && i < 3; i++)
		if (modes & (1u << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

static json_t *verdict_json(const struct homi_verdict *v)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "check", json_string(v->check));
	json_object_set_new(o, "subject", json_string(v->subject));
	json_object_set_new(o, "status", json_string(homi_check_status_name(v->status)));
	json_object_set_new(o, "why", json_string(v->why));
	json_object_set_new(o, "fix", str_or_null(v->fix));
	json_object_set_new(o, "modes", modes_json(v->modes));
	json_object_set_new(o, "vf", str_or_null(v->vf));
	json_object_set_new(o, "gpu", str_or_null(v->gpu));
	json_object_set_new(o, "pair", str_or_null(v->pair));
	return o;
}

json_t *homi_check_to_json(const struct homi_check_report *r)
{
	json_t *doc = json_object(), *checks = json_array(), *sum = json_object();

	if (!doc || !checks || !sum) {
		json_decref(doc);
		json_decref(checks);
		json_decref(sum);
		return NULL;
	}
	json_object_set_new(doc, "homi-check", json_integer(1));
	json_object_set_new(doc, "modes", modes_json(r->modes));
	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(checks, verdict_json(&r->v[i]));
	json_object_set_new(doc, "checks", checks);
	json_object_set_new(sum, "pass", json_integer((json_int_t)homi_check_count(r, HOMI_CHECK_PASS)));
	json_object_set_new(sum, "warn", json_integer((json_int_t)homi_check_count(r, HOMI_CHECK_WARN)));
	json_object_set_new(sum, "fail", json_integer((json_int_t)homi_check_count(r, HOMI_CHECK_FAIL)));
	json_object_set_new(sum, "unknown", json_integer((json_int_t)homi_check_count(r, HOMI_CHECK_UNKNOWN)));
	json_object_set_new(doc, "summary", sum);
	return doc;
}

/* ---- the inverse ----------------------------------------------------------- */

/* ["H", "D", "G"] (some, none twice) -> bits; -EBADMSG for anything else. */
static int modes_from_json(const json_t *a, unsigned *ret)
{
	static const char *const names[] = { "H", "D", "G" };
	unsigned m = 0, bit;
	size_t i;
	json_t *e;

	if (!json_is_array(a) || !json_array_size(a))
		return -EBADMSG;
	json_array_foreach(a, i, e) {
		const char *s = json_string_value(e);
		for (bit = 0; s && bit < ARRAY_SIZE(names) && !streq(s, names[bit]); bit++)
			;
		if (!s || bit == ARRAY_SIZE(names) || (m & (1u << bit)))
			return -EBADMSG;
		m |= 1u << bit;
	}
	*ret = m;
	return 0;
}

/* A string or null that fits LEN bytes with its NUL ("" for null). */
static int copy_opt(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, key);

	buf[0] = '\0';
	if (json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= len || strlen(json_string_value(v)) != json_string_length(v))
		return -EBADMSG;
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* A string without NUL inside, duplicated into *RET; NULL_OK: null gives NULL. */
static int dup_str(const json_t *o, const char *key, bool null_ok, char **ret)
{
	const json_t *v = json_object_get(o, key);

	*ret = NULL;
	if (null_ok && json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return -EBADMSG;
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : -ENOMEM;
}

static int verdict_from_json(const json_t *o, struct homi_verdict *v)
{
	const char *status = json_string_value(json_object_get(o, "status"));
	int r;

	if (!json_is_object(o) || !status || homi_check_status_parse(status, &v->status) < 0)
		return -EBADMSG;
	if ((r = modes_from_json(json_object_get(o, "modes"), &v->modes)) < 0 ||
	    (r = copy_opt(o, "vf", v->vf, sizeof(v->vf))) < 0 ||
	    (r = copy_opt(o, "gpu", v->gpu, sizeof(v->gpu))) < 0 ||
	    (r = copy_opt(o, "pair", v->pair, sizeof(v->pair))) < 0 ||
	    (r = dup_str(o, "check", false, &v->check)) < 0 || (r = dup_str(o, "subject", false, &v->subject)) < 0 ||
	    (r = dup_str(o, "why", false, &v->why)) < 0 || (r = dup_str(o, "fix", true, &v->fix)) < 0)
		return r;
	if (!v->check[0] || !v->subject[0])
		return -EBADMSG;
	return 0;
}

static bool count_is(const json_t *sum, const char *key, size_t n)
{
	const json_t *c = json_object_get(sum, key);
	return json_is_integer(c) && json_integer_value(c) >= 0 && (size_t)json_integer_value(c) == n;
}

int homi_check_report_from_json(const json_t *doc, struct homi_check_report **ret)
{
	const json_t *checks = json_object_get(doc, "checks"), *sum = json_object_get(doc, "summary");
	const json_t *version = json_object_get(doc, "homi-check");
	struct homi_check_report *r;
	size_t i;
	json_t *item;
	int err;

	*ret = NULL;
	if (!json_is_object(doc) || !json_is_integer(version) || json_integer_value(version) != 1 ||
	    !json_is_array(checks) || !json_is_object(sum))
		return -EBADMSG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	err = modes_from_json(json_object_get(doc, "modes"), &r->modes);
	if (err >= 0 && json_array_size(checks)) {
		r->v = calloc(json_array_size(checks), sizeof(*r->v));
		if (!r->v)
			err = -ENOMEM;
		else
			r->cap = json_array_size(checks);
	}
	json_array_foreach(checks, i, item) {
		if (err < 0)
			break;
		/* counted before it is complete so that the free sees its strings */
		err = verdict_from_json(item, &r->v[r->n++]);
		if (err >= 0 && (r->v[i].modes & ~r->modes))
			err = -EBADMSG; /* a verdict about a mode not evaluated */
	}
	if (err >= 0 && (!count_is(sum, "pass", homi_check_count(r, HOMI_CHECK_PASS)) ||
			!count_is(sum, "warn", homi_check_count(r, HOMI_CHECK_WARN)) ||
			!count_is(sum, "fail", homi_check_count(r, HOMI_CHECK_FAIL)) ||
			!count_is(sum, "unknown", homi_check_count(r, HOMI_CHECK_UNKNOWN))))
		err = -EBADMSG;
	if (err < 0) {
		homi_check_report_free(r);
		return err;
	}
	*ret = r;
	return 0;
}
