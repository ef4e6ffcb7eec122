/* SPDX-License-Identifier: MIT */
/* Policies: the object, reading files and directories, the error list and
 * the desired state's accessors. Parsing is in policy-parse.c, resolution
 * against the topology in policy-resolve.c. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "policy-internal.h"
#include "policy.h"

#define POLICY_FILE_MAX (16u << 20) /* far above any policy; keeps a stray device file out */

/* ---- errors ---------------------------------------------------------- */

void policy_errors_add(struct policy_errors *e, const char *fmt, ...)
{
	_cleanup_free_ char *line = NULL;
	va_list ap;
	int n;
	char *b;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0) {
		line = NULL;
		e->oom = true;
		return;
	}
	b = realloc(e->buf, e->len + (size_t)n + 2);
	if (!b) {
		e->oom = true;
		return;
	}
	e->buf = b;
	if (e->len)
		e->buf[e->len++] = '\n';
	memcpy(e->buf + e->len, line, (size_t)n + 1);
	e->len += (size_t)n;
	e->n++;
}

int policy_errors_finish(struct policy_errors *e, char **ret)
{
	int r = e->oom ? -ENOMEM : e->n ? -EINVAL : 0;

	if (ret && e->n && !e->oom)
		*ret = TAKE_PTR(e->buf);
	policy_errors_done(e);
	return r;
}

void policy_errors_done(struct policy_errors *e)
{
	free(e->buf);
	*e = (struct policy_errors){};
}

/* ---- wanted VFs ------------------------------------------------------ */

void want_vf_done(struct homi_want_vf *w)
{
	free(w->ns);
	free(w->owner);
	free(w->group);
	free(w->origin);
	w->ns = NULL;
	w->owner = w->group = w->origin = NULL;
	w->n_ns = 0;
}

static int strdup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int want_vf_copy(struct homi_want_vf *dst, const struct homi_want_vf *src)
{
	*dst = *src;
	dst->ns = NULL;
	dst->owner = dst->group = dst->origin = NULL;
	if (src->n_ns) {
		dst->ns = malloc(src->n_ns * sizeof(*dst->ns));
		if (!dst->ns)
			goto fail;
		memcpy(dst->ns, src->ns, src->n_ns * sizeof(*dst->ns));
	}
	if (strdup_opt(src->owner, &dst->owner) < 0 || strdup_opt(src->group, &dst->group) < 0 ||
	    strdup_opt(src->origin, &dst->origin) < 0)
		goto fail;
	return 0;
fail:
	want_vf_done(dst);
	return -ENOMEM;
}

bool want_vf_same(const struct homi_want_vf *a, const struct homi_want_vf *b)
{
	if (a->driver != b->driver || a->vq != b->vq || a->vi != b->vi || a->mode != b->mode ||
	    a->gpu != b->gpu || a->n_ns != b->n_ns)
		return false;
	if (a->gpu == HOMI_GPU_ADDR && !streq(a->gpu_addr, b->gpu_addr))
		return false;
	if (!streq_ptr(a->owner, b->owner) || !streq_ptr(a->group, b->group))
		return false;
	for (size_t i = 0; i < a->n_ns; i++)
		if (a->ns[i].nsid != b->ns[i].nsid || a->ns[i].read_only != b->ns[i].read_only ||
		    a->ns[i].allow_mounted_rw != b->ns[i].allow_mounted_rw)
			return false;
	return true;
}

bool homi_want_vf_online(const struct homi_want_vf *w)
{
	return w->vq >= 0 && w->vi >= 0;
}

const char *homi_vf_driver_name(enum homi_vf_driver drv)
{
	switch (drv) {
	case HOMI_VF_DRIVER_NONE:
		return "none";
	case HOMI_VF_DRIVER_NVME:
		return "nvme";
	case HOMI_VF_DRIVER_VFIO:
		return "vfio-pci";
	}
	return NULL;
}

int homi_vf_driver_from_name(const char *s, enum homi_vf_driver *ret)
{
	static const enum homi_vf_driver all[] = { HOMI_VF_DRIVER_NONE, HOMI_VF_DRIVER_NVME, HOMI_VF_DRIVER_VFIO };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (streq(s, homi_vf_driver_name(all[i]))) {
			*ret = all[i];
			return 0;
		}
	return -EINVAL;
}

const char *homi_gpu_pairing_name(enum homi_gpu_pairing g)
{
	switch (g) {
	case HOMI_GPU_UNSET:
		return NULL;
	case HOMI_GPU_NEAREST:
		return "nearest";
	case HOMI_GPU_NONE:
		return "none";
	case HOMI_GPU_ADDR:
		return "address";
	}
	return NULL;
}

/* ---- the policy object ----------------------------------------------- */

struct homi_policy *homi_policy_new(void)
{
	return calloc(1, sizeof(struct homi_policy));
}

struct homi_policy *homi_policy_free(struct homi_policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_docs; i++)
		policy_doc_free(p->docs[i]);
	free(p->docs);
	free(p);
	return NULL;
}

size_t homi_policy_count(const struct homi_policy *p)
{
	return p->n_docs;
}

const char *homi_policy_name(const struct homi_policy *p, size_t i)
{
	return i < p->n_docs ? p->docs[i]->name : NULL;
}

/* Documents parsed but not yet added: a file or a whole directory is added
 * only when every document in it is valid. */
struct pending {
	struct policy_doc **docs;
	size_t n;
};

static void pending_done(struct pending *pd)
{
	for (size_t i = 0; i < pd->n; i++)
		policy_doc_free(pd->docs[i]);
	free(pd->docs);
	*pd = (struct pending){};
}

static int pending_push(struct pending *pd, struct policy_doc *d)
{
	struct policy_doc **n = realloc(pd->docs, (pd->n + 1) * sizeof(*n));

	if (!n) {
		policy_doc_free(d);
		return -ENOMEM;
	}
	pd->docs = n;
	pd->docs[pd->n++] = d;
	return 0;
}

/* Moves every pending document into P, or nothing. */
static int pending_commit(struct homi_policy *p, struct pending *pd)
{
	struct policy_doc **n;

	if (!pd->n)
		return 0;
	n = realloc(p->docs, (p->n_docs + pd->n) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->docs = n;
	memcpy(p->docs + p->n_docs, pd->docs, pd->n * sizeof(*n));
	p->n_docs += pd->n;
	free(pd->docs);
	*pd = (struct pending){};
	return 0;
}

static int parse_into(struct pending *pd, const char *name, const char *data, size_t len, struct policy_errors *errs)
{
	struct policy_doc *d = NULL;
	int r = policy_doc_parse(name, data, len, errs, &d);

	if (r < 0)
		return r;
	return pending_push(pd, d);
}

int homi_policy_add_buffer(struct homi_policy *p, const char *name, const char *data, size_t len, char **ret_errors)
{
	struct policy_errors errs = {};
	struct pending pd = {};
	int r;

	if (ret_errors)
		*ret_errors = NULL;
	r = parse_into(&pd, name, data, len, &errs);
	if (r == 0)
		r = pending_commit(p, &pd);
	pending_done(&pd);
	if (errs.n || errs.oom)
		return policy_errors_finish(&errs, ret_errors);
	policy_errors_done(&errs);
	return r;
}

/* Reads all of FD. */
static int read_all(int fd, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;
		if (len == cap) {
			char *b;
			if (cap >= POLICY_FILE_MAX)
				return -EFBIG;
			cap = cap ? cap * 2 : 4096;
			b = realloc(buf, cap + 1);
			if (!b)
				return -ENOMEM;
			buf = b;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* Reads and parses the file PATH; an unreadable one is "PATH: strerror". */
static int add_file(struct pending *pd, const char *path, struct policy_errors *errs)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = -EISDIR;
	else
		r = read_all(fd, &data, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		policy_errors_add(errs, "%s: %s", path, strerror(-r));
		return r;
	}
	return parse_into(pd, path, data, len, errs);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_policy_name(const char *n)
{
	size_t l = strlen(n);
	return n[0] != '.' && l > 5 && streq(n + l - 5, ".json");
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Paths of DIR's *.json entries (hidden ones left out), in strcmp order. */
static int list_dir(const char *dir, char ***ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	const char *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		char **nv;
		if (!is_policy_name(de->d_name))
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			goto oom;
		v = nv;
		if (asprintf(&v[n], "%s%s%s", dir, sep, de->d_name) < 0)
			goto oom;
		n++;
	}
	if (errno) {
		int r = -errno;
		strv_free(v, n);
		return r;
	}
	if (n)
		qsort_safe(v, n, sizeof(*v), cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
oom:
	strv_free(v, n);
	return -ENOMEM;
}

static int add_dir(struct pending *pd, const char *dir, struct policy_errors *errs)
{
	char **files = NULL;
	size_t n = 0;
	int r = list_dir(dir, &files, &n), first = 0;

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		policy_errors_add(errs, "%s: %s", dir, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = add_file(pd, files[i], errs);
		if (r == -ENOMEM) {
			first = r;
			break;
		}
		if (r < 0 && !first)
			first = r;
	}
	strv_free(files, n);
	return first;
}

int homi_policy_dir_files(const char *dir, char ***ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	return list_dir(dir, ret, ret_n);
}

void homi_policy_files_free(char **v, size_t n) { strv_free(v, n); }

int homi_policy_add_path(struct homi_policy *p, const char *path, char **ret_errors)
{
	struct policy_errors errs = {};
	struct pending pd = {};
	struct stat st;
	int r;

	if (ret_errors)
		*ret_errors = NULL;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		r = add_dir(&pd, path, &errs);
	else
		r = add_file(&pd, path, &errs);
	if (r == 0 && !errs.n && !errs.oom)
		r = pending_commit(p, &pd);
	pending_done(&pd);
	if (r == -ENOMEM || errs.oom) {
		policy_errors_done(&errs);
		return -ENOMEM;
	}
	if (errs.n) {
		/* The first problem's code: the errno of an unreadable file,
		 * -EINVAL for a policy error. */
		int e = policy_errors_finish(&errs, ret_errors);
		return r < 0 ? r : e;
	}
	policy_errors_done(&errs);
	return r;
}

/* ---- the desired state ---------------------------------------------- */

struct homi_desired *homi_desired_free(struct homi_desired *d)
{
	if (!d)
		return NULL;
	for (size_t i = 0; i < d->n_pfs; i++) {
		struct homi_want_pf *pf = &d->pfs[i];
		for (size_t j = 0; j < pf->n_vfs; j++)
			want_vf_done(&pf->vfs[j]);
		free(pf->vfs);
		free(pf->origin);
	}
	free(d->pfs);
	free(d->protect);
	for (size_t i = 0; i < d->n_notes; i++)
		free(d->notes[i]);
	free(d->notes);
	free(d);
	return NULL;
}

static int cmp_want_pf(const void *a, const void *b)
{
	return strcmp(((const struct homi_want_pf *)a)->pci, ((const struct homi_want_pf *)b)->pci);
}

const struct homi_want_pf *homi_desired_find(const struct homi_desired *d, const char *addr)
{
	struct homi_want_pf key = {};

	if (!d || strlen(addr) >= sizeof(key.pci))
		return NULL;
	memcpy(key.pci, addr, strlen(addr) + 1);
	return bsearch_safe(&key, d->pfs, d->n_pfs, sizeof(key), cmp_want_pf);
}

static int cmp_addr(const void *a, const void *b)
{
	return strcmp(a, b);
}

bool homi_desired_protected(const struct homi_desired *d, const char *addr)
{
	char key[HOMI_ADDR_LEN];

	if (!d || !d->n_protect || strlen(addr) >= sizeof(key))
		return false; /* bsearch wants an array, even of none */
	memcpy(key, addr, strlen(addr) + 1);
	return bsearch_safe(key, d->protect, d->n_protect, sizeof(*d->protect), cmp_addr) != NULL;
}

const struct homi_want_vf *homi_want_pf_find_vf(const struct homi_want_pf *pf, unsigned vf)
{
	for (size_t i = 0; i < pf->n_vfs; i++)
		if (pf->vfs[i].vf == vf)
			return &pf->vfs[i];
	return NULL;
}

int homi_want_vf_copy(struct homi_want_vf *dst, const struct homi_want_vf *src) { return want_vf_copy(dst, src); }
void homi_want_vf_done(struct homi_want_vf *w) { want_vf_done(w); }

int homi_desired_drop(struct homi_desired *d, const char *addr)
{
	for (size_t i = 0; i < d->n_pfs; i++) {
		struct homi_want_pf *pf = &d->pfs[i];
		if (!streq(pf->pci, addr))
			continue;
		for (size_t j = 0; j < pf->n_vfs; j++)
			want_vf_done(&pf->vfs[j]);
		free(pf->vfs);
		free(pf->origin);
		memmove(pf, pf + 1, (d->n_pfs - i - 1) * sizeof(*pf));
		d->n_pfs--;
		return 0;
	}
	return -ENOENT;
}
