/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "pci.h"
#include "state.h"

int homi_mkdir_p(const char *path, unsigned mode)
{
	char buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int homi_write_file_atomic(const char *dir, const char *name, const char *data, unsigned mode)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	_cleanup_close_ int dfd = -EBADF;
	size_t len = strlen(data), off = 0;
	int fd, r = 0;

	if ((size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >= sizeof(final) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, final) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	/* The rename itself must survive a power cut. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
}

static int owned_dir(const char *dir, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%s/owned", dir) >= len ? -ENAMETOOLONG : 0;
}

int homi_state_record(const char *dir, const struct homi_owned *rec)
{
	char odir[PATH_MAX], name[64];
	json_t *o = json_pack("{s:i, s:s, s:s, s:i, s:i, s:i, s:i}", "homi-owned", 1, "pci", rec->pci, "serial",
			      rec->serial, "num-vfs", rec->num_vfs, "drivers-autoprobe", rec->autoprobe,
			      "vq-primary", rec->vq_primary, "vi-primary", rec->vi_primary);
	int r;

	if (o && rec->restage_primary)
		json_object_set_new(o, "restage-primary", json_true());
	_cleanup_free_ char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!text)
		return -ENOMEM;
	r = owned_dir(dir, odir, sizeof(odir));
	if (r < 0)
		return r;
	r = homi_mkdir_p(odir, 0755);
	if (r < 0)
		return r;
	snprintf(name, sizeof(name), "%s.json", rec->pci);
	return homi_write_file_atomic(odir, name, text, 0644);
}

int homi_state_forget(const char *dir, const char *pci)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/owned/%s.json", dir, pci) >= sizeof(path))
		return -ENAMETOOLONG;
	return unlink(path) < 0 ? -errno : 0;
}

static int load_one(int dirfd, const char *name, struct homi_owned *rec)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	json_error_t err;
	const char *pci = NULL, *serial = "";
	json_t *o;
	int v = 0, r;

	if (fd < 0)
		return -errno;
	o = json_loadfd(fd, JSON_REJECT_DUPLICATES, &err);
	if (!o)
		return -EBADMSG;
	*rec = (struct homi_owned){ .vq_primary = -1, .vi_primary = -1 };
	r = json_unpack(o, "{s:i, s:s, s?s, s:i, s:i, s:i, s:i}", "homi-owned", &v, "pci", &pci, "serial", &serial,
			"num-vfs", &rec->num_vfs, "drivers-autoprobe", &rec->autoprobe, "vq-primary",
			&rec->vq_primary, "vi-primary", &rec->vi_primary);
	if (r == 0 && (v != 1 || homi_pci_parse_addr(pci, rec->pci) < 0))
		r = -1;
	if (r == 0)
		snprintf(rec->serial, sizeof(rec->serial), "%s", serial);
	rec->restage_primary = json_is_true(json_object_get(o, "restage-primary"));
	json_decref(o);
	return r < 0 ? -EBADMSG : 0;
}

int homi_state_load(const char *dir, struct homi_owned_set **ret)
{
	char odir[PATH_MAX];
	struct homi_owned_set *s = calloc(1, sizeof(*s));
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	if (!s)
		return -ENOMEM;
	*ret = s;
	r = owned_dir(dir, odir, sizeof(odir));
	if (r < 0)
		return r;
	d = opendir(odir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct homi_owned rec;

		if (de->d_name[0] == '.' || l < 6 || !streq(de->d_name + l - 5, ".json"))
			continue;
		if (load_one(dirfd(d), de->d_name, &rec) < 0)
			continue; /* a damaged record is ignored, not fatal */
		struct homi_owned *n = realloc(s->items, (s->n + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->items = n;
		s->items[s->n++] = rec;
	}
	return 0;
}

struct homi_owned_set *homi_owned_set_free(struct homi_owned_set *s)
{
	if (s) {
		free(s->items);
		free(s);
	}
	return NULL;
}

const struct homi_owned *homi_owned_find(const struct homi_owned_set *s, const char *pci)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (streq(s->items[i].pci, pci))
			return &s->items[i];
	return NULL;
}
