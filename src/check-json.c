/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "check-json.h"

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
