/* SPDX-License-Identifier: MIT */
/* Parsing and validation of one policy document (homi-policy(5)).
 *
 * Syntax is jansson's (duplicate keys rejected): "FILE:LINE:COL: message".
 * Meaning is checked here, every problem reported with the JSON path of the
 * value it concerns: "FILE: $.devices[0].vfs[1].vq: expected an integer >=
 * 2, got 1". Keys are dispatched in document order, so the lines come in the
 * order of the text; checks that need several keys of one object follow that
 * object's keys. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "pci.h"
#include "policy-internal.h"
#include "policy.h"

#define PATH_LEN 320        /* a JSON path; unknown keys are shortened to fit */
#define SHOWN_MAX 48        /* longest value quoted in a message */
#define VF_MAX 65535        /* NVMe VFN and PCI NumVFs are 16 bits */
#define NR_MAX 65535        /* VQ/VI counts (NR) are 16 bits */
#define NSID_MAX 0xfffffffeu /* 0xffffffff is the broadcast NSID */
#define ID_NAME_MAX 256

struct ctx {
	const char *name;
	struct policy_errors *errs;
};

_printf_(3, 4) static void bad(struct ctx *c, const char *path, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		msg = NULL;
		c->errs->oom = true;
		return;
	}
	policy_errors_add(c->errs, "%s: %s: %s", c->name, path, msg);
}

/* ---- rendering values and paths ---------------------------------------- */

/* Cuts S (a JSON rendering) to SHOWN_MAX bytes on a UTF-8 boundary. */
static void shorten(char *s, size_t size)
{
	size_t n = strlen(s), cut = SHOWN_MAX;
	bool quoted = n && s[0] == '"';

	if (n <= SHOWN_MAX || size < SHOWN_MAX + 5)
		return;
	while (cut > 1 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	snprintf(s + cut, size - cut, "...%s", quoted ? "\"" : "");
}

/* The value as a message shows it after "got": scalars as JSON text,
 * containers by their kind. */
static const char *shown(json_t *v, char *buf, size_t size)
{
	_cleanup_free_ char *s = NULL;

	if (json_is_object(v))
		return json_object_size(v) ? "an object" : "{}";
	if (json_is_array(v))
		return json_array_size(v) ? "an array" : "[]";
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(buf, size, "%s", s ? s : "?");
	shorten(buf, size);
	return buf;
}

#define SHOWN(v) shown((v), (char[SHOWN_MAX + 8]){}, SHOWN_MAX + 8)

static bool plain_key(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '-' && *k != '_')
			return false;
	return true;
}

/* Marks a path cut to PATH_LEN by snprintf (returning N) with "...". */
static void path_fit(char *out, int n)
{
	if (n < 0 || n >= PATH_LEN)
		memcpy(out + PATH_LEN - 4, "...", 4);
}

/* PATH.KEY, or PATH["KEY"] for a key that is not a plain word. */
static void path_key(char *out, const char *path, const char *key)
{
	if (plain_key(key)) {
		path_fit(out, snprintf(out, PATH_LEN, "%s.%s", path, key));
	} else {
		json_auto_t *s = json_string(key);
		char q[SHOWN_MAX + 8] = "?";
		_cleanup_free_ char *d = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
		if (d) {
			snprintf(q, sizeof(q), "%s", d);
			shorten(q, sizeof(q));
		}
		path_fit(out, snprintf(out, PATH_LEN, "%s[%s]", path, q));
	}
}

static void path_idx(char *out, const char *path, size_t i)
{
	path_fit(out, snprintf(out, PATH_LEN, "%s[%zu]", path, i));
}

/* ---- scalar readers: each reports its own error and returns false ------ */

static bool get_int(struct ctx *c, const char *path, json_t *v, long long min, long long max, bool range,
		    long long *ret)
{
	long long x = json_is_integer(v) ? json_integer_value(v) : 0;

	if (json_is_integer(v) && x >= min && x <= max) {
		*ret = x;
		return true;
	}
	if (range)
		bad(c, path, "expected an integer from %lld to %lld, got %s", min, max, SHOWN(v));
	else if (json_is_integer(v) && x > max)
		bad(c, path, "expected an integer <= %lld, got %s", max, SHOWN(v));
	else
		bad(c, path, "expected an integer >= %lld, got %s", min, SHOWN(v));
	return false;
}

static bool get_bool(struct ctx *c, const char *path, json_t *v, bool *ret)
{
	if (!json_is_boolean(v)) {
		bad(c, path, "expected true or false, got %s", SHOWN(v));
		return false;
	}
	*ret = json_is_true(v);
	return true;
}

static bool get_string(struct ctx *c, const char *path, json_t *v, const char *what, const char **ret)
{
	if (!json_is_string(v) || !json_string_length(v)) {
		bad(c, path, "expected %s, got %s", what, SHOWN(v));
		return false;
	}
	*ret = json_string_value(v);
	return true;
}

static bool get_strdup(struct ctx *c, const char *path, json_t *v, const char *what, char **ret)
{
	const char *s;

	if (!get_string(c, path, v, what, &s))
		return false;
	free(*ret);
	*ret = strdup(s);
	if (!*ret)
		c->errs->oom = true;
	return *ret != NULL;
}

#define ADDR_WHAT "a PCI address (DDDD:BB:DD.F or BB:DD.F)"

static bool get_addr(struct ctx *c, const char *path, json_t *v, const char *what, char out[HOMI_ADDR_LEN])
{
	if (!json_is_string(v) || homi_pci_parse_addr(json_string_value(v), out) < 0) {
		bad(c, path, "expected %s, got %s", what, SHOWN(v));
		return false;
	}
	return true;
}

/* "0x144d": four hex digits, as sysfs shows vendor and device IDs. */
static bool get_hex_id(struct ctx *c, const char *path, json_t *v, char out[8])
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	bool ok = strlen(s) == 6 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	for (size_t i = 2; ok && i < 6; i++)
		ok = isxdigit((unsigned char)s[i]);
	if (!ok) {
		bad(c, path, "expected a hex ID such as \"0x144d\", got %s", SHOWN(v));
		return false;
	}
	memcpy(out, s, 7);
	return true;
}

/* ---- the pieces of a VF ------------------------------------------------ */

static int vf_number(json_t *vf)
{
	json_t *n = json_is_object(vf) ? json_object_get(vf, "vf") : NULL;
	long long x = json_is_integer(n) ? json_integer_value(n) : 0;
	return x >= 1 && x <= VF_MAX ? (int)x : -1;
}

static long long ns_number(json_t *ns)
{
	json_t *n = json_is_object(ns) ? json_object_get(ns, "nsid") : ns;
	long long x = json_is_integer(n) ? json_integer_value(n) : 0;
	return x >= 1 && x <= NSID_MAX ? x : -1;
}

static void parse_driver(struct ctx *c, const char *path, json_t *v, struct homi_want_vf *w)
{
	if (!json_is_string(v) || homi_vf_driver_from_name(json_string_value(v), &w->driver) < 0)
		bad(c, path, "expected \"vfio-pci\", \"nvme\" or \"none\", got %s", SHOWN(v));
}

static void parse_gpu(struct ctx *c, const char *path, json_t *v, struct homi_want_vf *w)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	if (s && streq(s, "nearest"))
		w->gpu = HOMI_GPU_NEAREST;
	else if (s && streq(s, "none"))
		w->gpu = HOMI_GPU_NONE;
	else if (s && homi_pci_parse_addr(s, w->gpu_addr) == 0)
		w->gpu = HOMI_GPU_ADDR;
	else
		bad(c, path, "expected \"nearest\", \"none\" or a GPU's PCI address, got %s", SHOWN(v));
}

/* A user or group as written: a name or a numeric id; resolved when it is
 * applied, not here. */
static void parse_id(struct ctx *c, const char *path, json_t *v, const char *what, char **ret)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	bool ok = *s && *s != '-' && strlen(s) <= ID_NAME_MAX;

	for (const char *p = s; ok && *p; p++)
		ok = !isspace((unsigned char)*p) && !iscntrl((unsigned char)*p) && *p != ':' && *p != '/';
	if (!ok) {
		bad(c, path, "expected %s, got %s", what, SHOWN(v));
		return;
	}
	free(*ret);
	*ret = strdup(s);
	if (!*ret)
		c->errs->oom = true;
}

static void parse_mode(struct ctx *c, const char *path, json_t *v, struct homi_want_vf *w)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	size_t n = strspn(s, "01234567");
	unsigned long m = n ? strtoul(s, NULL, 8) : 0;

	if (!n || s[n] || n > 5 || m > 07777) {
		bad(c, path, "expected a mode of octal digits such as \"0660\" (at most 7777), got %s", SHOWN(v));
		return;
	}
	w->mode = (int)m;
}

static void parse_ns_object(struct ctx *c, const char *path, json_t *o, struct homi_want_ns *ns)
{
	char kp[PATH_LEN];
	const char *key;
	json_t *v;
	long long x;

	json_object_foreach(o, key, v) {
		path_key(kp, path, key);
		if (streq(key, "nsid")) {
			if (get_int(c, kp, v, 1, NSID_MAX, false, &x))
				ns->nsid = (uint32_t)x;
		} else if (streq(key, "access")) {
			const char *s = json_is_string(v) ? json_string_value(v) : "";
			if (streq(s, "ro") || streq(s, "rw"))
				ns->read_only = streq(s, "ro");
			else
				bad(c, kp, "expected \"ro\" or \"rw\", got %s", SHOWN(v));
		} else if (streq(key, "allow-mounted-rw")) {
			get_bool(c, kp, v, &ns->allow_mounted_rw);
		} else if (streq(key, "comment")) {
			const char *s;
			get_string(c, kp, v, "a string", &s);
		} else {
			bad(c, kp, "unknown key");
		}
	}
	if (!json_object_get(o, "nsid")) {
		path_key(kp, path, "nsid");
		bad(c, kp, "required key is missing");
	}
	if (ns->read_only && ns->allow_mounted_rw) {
		path_key(kp, path, "allow-mounted-rw");
		bad(c, kp, "only with \"access\": \"rw\"");
	}
}

static int cmp_ns(const void *a, const void *b)
{
	uint32_t x = ((const struct homi_want_ns *)a)->nsid, y = ((const struct homi_want_ns *)b)->nsid;
	return x < y ? -1 : x > y;
}

static void parse_namespaces(struct ctx *c, const char *path, json_t *v, struct homi_want_vf *w)
{
	char ip[PATH_LEN], first[PATH_LEN];
	size_t i, n = json_is_array(v) ? json_array_size(v) : 0;
	json_t *e;

	if (!json_is_array(v)) {
		bad(c, path, "expected an array of NSIDs or {\"nsid\", \"access\"} objects, got %s", SHOWN(v));
		return;
	}
	free(w->ns);
	w->n_ns = 0;
	w->ns = n ? calloc(n, sizeof(*w->ns)) : NULL;
	if (n && !w->ns) {
		c->errs->oom = true;
		return;
	}
	json_array_foreach(v, i, e) {
		struct homi_want_ns ns = {};
		long long x;
		size_t before = c->errs->n;

		path_idx(ip, path, i);
		if (json_is_object(e))
			parse_ns_object(c, ip, e, &ns);
		else if (json_is_integer(e) && get_int(c, ip, e, 1, NSID_MAX, false, &x))
			ns.nsid = (uint32_t)x;
		else if (!json_is_integer(e))
			bad(c, ip, "expected an NSID (integer >= 1) or an object, got %s", SHOWN(e));
		if (c->errs->n != before || !ns.nsid)
			continue;
		for (size_t j = 0; j < i; j++)
			if (ns_number(json_array_get(v, j)) == ns.nsid) {
				path_idx(first, path, j);
				bad(c, ip, "duplicate namespace %u (first at %s)", ns.nsid, first);
				break;
			}
		w->ns[w->n_ns++] = ns;
	}
	qsort_safe(w->ns, w->n_ns, sizeof(*w->ns), cmp_ns);
}

/* One key of a VF object, or of the per-gpu template (PER_GPU). */
static void parse_vf_key(struct ctx *c, const char *path, const char *key, json_t *v, struct homi_want_vf *w,
			 bool per_gpu)
{
	long long x;

	if (streq(key, "vf") && !per_gpu) {
		if (get_int(c, path, v, 1, VF_MAX, true, &x))
			w->vf = (unsigned)x;
	} else if (streq(key, "driver")) {
		parse_driver(c, path, v, w);
	} else if (streq(key, "vq")) {
		if (get_int(c, path, v, 2, NR_MAX, false, &x))
			w->vq = (int)x;
	} else if (streq(key, "vi")) {
		if (get_int(c, path, v, 1, NR_MAX, false, &x))
			w->vi = (int)x;
	} else if (streq(key, "namespaces")) {
		parse_namespaces(c, path, v, w);
	} else if (streq(key, "gpu") && !per_gpu) {
		parse_gpu(c, path, v, w);
	} else if (streq(key, "owner")) {
		parse_id(c, path, v, "a user name or numeric id (a string)", &w->owner);
	} else if (streq(key, "group")) {
		parse_id(c, path, v, "a group name or numeric id (a string)", &w->group);
	} else if (streq(key, "mode")) {
		parse_mode(c, path, v, w);
	} else if (streq(key, "comment")) {
		const char *s;
		get_string(c, path, v, "a string", &s);
	} else if (streq(key, "vf")) {
		bad(c, path, "not allowed in per-gpu (each GPU's VF takes the lowest free number)");
	} else if (streq(key, "gpu")) {
		bad(c, path, "not allowed in per-gpu (each VF is paired with its GPU)");
	} else {
		bad(c, path, "unknown key");
	}
}

/* Rules between the keys of one VF object O at PATH. */
static void check_vf(struct ctx *c, const char *path, json_t *o, const struct homi_want_vf *w)
{
	static const char *const vfio_only[] = { "owner", "group", "mode" };
	bool has_vq = json_object_get(o, "vq"), has_vi = json_object_get(o, "vi");
	char kp[PATH_LEN];

	if (has_vq != has_vi) {
		path_key(kp, path, has_vq ? "vi" : "vq");
		bad(c, kp, "required with \"%s\" (a VF is online exactly when it has both \"vq\" and \"vi\")",
		    has_vq ? "vq" : "vi");
	}
	if (w->driver == HOMI_VF_DRIVER_VFIO)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(vfio_only); i++)
		if (json_object_get(o, vfio_only[i])) {
			path_key(kp, path, vfio_only[i]);
			bad(c, kp, "only for a \"vfio-pci\" VF (this one's driver is \"%s\")",
			    homi_vf_driver_name(w->driver));
		}
}

static void want_vf_init(struct homi_want_vf *w)
{
	*w = (struct homi_want_vf){ .driver = HOMI_VF_DRIVER_NONE, .vq = -1, .vi = -1, .mode = -1,
				    .gpu = HOMI_GPU_UNSET };
}

/* A VF object (or the per-gpu template) at PATH into W; origin "NAME: PATH". */
static void parse_vf(struct ctx *c, const char *path, json_t *o, struct homi_want_vf *w, bool per_gpu)
{
	char kp[PATH_LEN];
	const char *key;
	json_t *v;

	want_vf_init(w);
	if (asprintf(&w->origin, "%s: %s", c->name, path) < 0) {
		w->origin = NULL;
		c->errs->oom = true;
	}
	if (!json_is_object(o)) {
		bad(c, path, "expected an object, got %s", SHOWN(o));
		return;
	}
	json_object_foreach(o, key, v) {
		path_key(kp, path, key);
		parse_vf_key(c, kp, key, v, w, per_gpu);
	}
	if (!per_gpu && !json_object_get(o, "vf")) {
		path_key(kp, path, "vf");
		bad(c, kp, "required key is missing");
	}
	check_vf(c, path, o, w);
}

/* ---- devices[] --------------------------------------------------------- */

static bool glob_chars_only(const char *s)
{
	return strspn(s, "0123456789abcdefABCDEF:.*?[]!^-") == strlen(s);
}

static void parse_match_pci(struct ctx *c, const char *path, json_t *v, struct policy_match *m)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	char addr[HOMI_ADDR_LEN];

	free(m->pci);
	m->pci = NULL;
	if (s && homi_pci_parse_addr(s, addr) == 0) {
		m->pci = strdup(addr);
		m->pci_glob = false;
	} else if (s && *s && strpbrk(s, "*?[") && glob_chars_only(s)) {
		m->pci = strdup(s);
		m->pci_glob = true;
	} else {
		bad(c, path, "expected a PCI address (DDDD:BB:DD.F or BB:DD.F) or a glob such as \"0000:3b:*\", got %s",
		    SHOWN(v));
		return;
	}
	if (!m->pci)
		c->errs->oom = true;
}

static void parse_match(struct ctx *c, const char *path, json_t *o, struct policy_match *m)
{
	char kp[PATH_LEN];
	const char *key;
	json_t *v;
	long long x;

	if (!json_is_object(o) || !json_object_size(o)) {
		bad(c, path, "expected a non-empty object, got %s", SHOWN(o));
		return;
	}
	json_object_foreach(o, key, v) {
		path_key(kp, path, key);
		if (streq(key, "pci"))
			parse_match_pci(c, kp, v, m);
		else if (streq(key, "serial"))
			get_strdup(c, kp, v, "a serial number (a string)", &m->serial);
		else if (streq(key, "model"))
			get_strdup(c, kp, v, "a model name or glob (a string)", &m->model);
		else if (streq(key, "vendor"))
			get_hex_id(c, kp, v, m->vendor);
		else if (streq(key, "device"))
			get_hex_id(c, kp, v, m->device);
		else if (!streq(key, "numa-node"))
			bad(c, kp, "unknown key");
		else if (get_int(c, kp, v, 0, 65535, false, &x))
			m->numa_node = (int)x;
	}
}

static void parse_vfs(struct ctx *c, const char *path, json_t *a, struct policy_entry *e)
{
	char ip[PATH_LEN], kp[PATH_LEN], first[PATH_LEN];
	size_t i, n = json_is_array(a) ? json_array_size(a) : 0;
	json_t *o;

	if (!json_is_array(a)) {
		bad(c, path, "expected an array of VF objects, got %s", SHOWN(a));
		return;
	}
	e->vfs = n ? calloc(n, sizeof(*e->vfs)) : NULL;
	if (n && !e->vfs) {
		c->errs->oom = true;
		return;
	}
	json_array_foreach(a, i, o) {
		struct homi_want_vf *w = &e->vfs[e->n_vfs++];
		int num;

		path_idx(ip, path, i);
		parse_vf(c, ip, o, w, false);
		num = vf_number(o);
		for (size_t j = 0; num > 0 && j < i; j++)
			if (vf_number(json_array_get(a, j)) == num) {
				path_idx(first, path, j);
				path_key(kp, ip, "vf");
				bad(c, kp, "duplicate VF %d (first at %s)", num, first);
				break;
			}
	}
}

static void parse_entry(struct ctx *c, const char *path, json_t *o, struct policy_entry *e)
{
	static const char *const required[] = { "match", "vfs" };
	char kp[PATH_LEN];
	const char *key;
	json_t *v;

	e->match.numa_node = -1;
	e->allow_pf_reset = -1;
	if (asprintf(&e->origin, "%s: %s", c->name, path) < 0) {
		e->origin = NULL;
		c->errs->oom = true;
	}
	if (!json_is_object(o)) {
		bad(c, path, "expected an object, got %s", SHOWN(o));
		return;
	}
	json_object_foreach(o, key, v) {
		bool b;
		path_key(kp, path, key);
		if (streq(key, "match")) {
			parse_match(c, kp, v, &e->match);
		} else if (streq(key, "allow-pf-reset")) {
			if (get_bool(c, kp, v, &b))
				e->allow_pf_reset = b;
		} else if (streq(key, "vfs")) {
			parse_vfs(c, kp, v, e);
		} else if (streq(key, "comment")) {
			const char *s;
			get_string(c, kp, v, "a string", &s);
		} else {
			bad(c, kp, "unknown key");
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(required); i++)
		if (!json_object_get(o, required[i])) {
			path_key(kp, path, required[i]);
			bad(c, kp, "required key is missing");
		}
}

static void parse_devices(struct ctx *c, const char *path, json_t *a, struct policy_doc *d)
{
	char ip[PATH_LEN];
	size_t i, n = json_is_array(a) ? json_array_size(a) : 0;
	json_t *o;

	if (!json_is_array(a)) {
		bad(c, path, "expected an array of device entries, got %s", SHOWN(a));
		return;
	}
	d->entries = n ? calloc(n, sizeof(*d->entries)) : NULL;
	if (n && !d->entries) {
		c->errs->oom = true;
		return;
	}
	json_array_foreach(a, i, o) {
		path_idx(ip, path, i);
		parse_entry(c, ip, o, &d->entries[d->n_entries++]);
	}
}

static void parse_protect(struct ctx *c, const char *path, json_t *a, struct policy_doc *d)
{
	char ip[PATH_LEN];
	size_t i, n = json_is_array(a) ? json_array_size(a) : 0;
	json_t *v;

	if (!json_is_array(a)) {
		bad(c, path, "expected an array of PCI addresses, got %s", SHOWN(a));
		return;
	}
	d->protect = n ? calloc(n, sizeof(*d->protect)) : NULL;
	if (n && !d->protect) {
		c->errs->oom = true;
		return;
	}
	json_array_foreach(a, i, v) {
		path_idx(ip, path, i);
		if (get_addr(c, ip, v, ADDR_WHAT, d->protect[d->n_protect]))
			d->n_protect++;
	}
}

static void parse_per_gpu(struct ctx *c, const char *path, json_t *o, struct policy_doc *d)
{
	if (!json_is_object(o)) {
		bad(c, path, "expected an object (the settings of each GPU's VF), got %s", SHOWN(o));
		return;
	}
	d->per_gpu = calloc(1, sizeof(*d->per_gpu));
	if (!d->per_gpu) {
		c->errs->oom = true;
		return;
	}
	parse_vf(c, path, o, d->per_gpu, true);
}

/* "homi-policy": 1. Any other version stops the reading: its keys would
 * mean something else. */
static bool parse_version(struct ctx *c, json_t *root)
{
	json_t *v = json_object_get(root, "homi-policy");

	if (!v) {
		bad(c, "$.homi-policy", "required key is missing");
		return true;
	}
	if (json_is_integer(v) && json_integer_value(v) == 1)
		return true;
	bad(c, "$.homi-policy", "expected 1, got %s", SHOWN(v));
	return false;
}

static void parse_root(struct ctx *c, json_t *root, struct policy_doc *d)
{
	char kp[PATH_LEN];
	const char *key;
	json_t *v;

	if (!parse_version(c, root))
		return;
	json_object_foreach(root, key, v) {
		path_key(kp, "$", key);
		if (streq(key, "homi-policy")) {
			continue;
		} else if (streq(key, "protect")) {
			parse_protect(c, kp, v, d);
		} else if (streq(key, "devices")) {
			parse_devices(c, kp, v, d);
		} else if (streq(key, "per-gpu")) {
			parse_per_gpu(c, kp, v, d);
		} else if (streq(key, "comment")) {
			const char *s;
			get_string(c, kp, v, "a string", &s);
		} else {
			bad(c, kp, "unknown key");
		}
	}
}

static void entry_done(struct policy_entry *e)
{
	free(e->match.pci);
	free(e->match.serial);
	free(e->match.model);
	for (size_t i = 0; i < e->n_vfs; i++)
		want_vf_done(&e->vfs[i]);
	free(e->vfs);
	free(e->origin);
}

struct policy_doc *policy_doc_free(struct policy_doc *d)
{
	if (!d)
		return NULL;
	for (size_t i = 0; i < d->n_entries; i++)
		entry_done(&d->entries[i]);
	free(d->entries);
	free(d->protect);
	if (d->per_gpu)
		want_vf_done(d->per_gpu);
	free(d->per_gpu);
	free(d->name);
	free(d);
	return NULL;
}

static inline void policy_doc_freep(struct policy_doc **d) { policy_doc_free(*d); }

int policy_doc_parse(const char *name, const char *data, size_t len, struct policy_errors *errs,
		     struct policy_doc **ret)
{
	_cleanup_(policy_doc_freep) struct policy_doc *d = NULL;
	struct ctx c = { .name = name, .errs = errs };
	size_t before = errs->n;
	json_error_t jerr;
	json_auto_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!root) {
		for (char *p = jerr.text; *p; p++)
			if (*p == '\n')
				*p = ' '; /* one line per error, whatever the token */
		policy_errors_add(errs, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
		return errs->oom ? -ENOMEM : -EINVAL;
	}
	if (!json_is_object(root)) {
		bad(&c, "$", "expected an object, got %s", SHOWN(root));
		return errs->oom ? -ENOMEM : -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->name = strdup(name)))
		return -ENOMEM;
	parse_root(&c, root, d);
	if (errs->oom)
		return -ENOMEM;
	if (errs->n != before)
		return -EINVAL;
	*ret = TAKE_PTR(d);
	return 0;
}
