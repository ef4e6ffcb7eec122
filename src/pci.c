/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <pci/pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "pci.h"

struct homi_pci {
	struct pci_access *pacc;
	char error[256];
};

/* The guard of the libpci call in progress on this thread. */
static __thread sigjmp_buf *guard_env;
static __thread struct homi_pci *guard_ctx;

static void PCI_NONRET on_pci_error(char *msg, ...)
{
	va_list ap;

	if (guard_ctx) {
		va_start(ap, msg);
		vsnprintf(guard_ctx->error, sizeof(guard_ctx->error), msg, ap);
		va_end(ap);
	}
	if (guard_env)
		siglongjmp(*guard_env, 1);
	/* A libpci call outside a guard is a bug in this file. */
	abort();
}

static void on_pci_warning(char *msg _unused_, ...) {}
static void on_pci_debug(char *msg _unused_, ...) {}

/* Runs STMT with libpci errors turned into R = -EIO. STMT must not leave
 * resources half-acquired when libpci jumps out of it. */
#define PCI_GUARDED(ctx, r, stmt)                                   \
	do {                                                        \
		sigjmp_buf _env;                                    \
		sigjmp_buf *_prev_env = guard_env;                  \
		struct homi_pci *_prev_ctx = guard_ctx;             \
		guard_ctx = (ctx);                                  \
		guard_env = &_env;                                  \
		if (sigsetjmp(_env, 0) == 0) {                      \
			stmt;                                       \
		} else {                                            \
			(r) = -EIO;                                 \
		}                                                   \
		guard_env = _prev_env;                              \
		guard_ctx = _prev_ctx;                              \
	} while (0)

/* The links a device directory of sysfs has; every other entry of a
 * captured one must be a regular file or a directory. */
static bool known_link(const char *name)
{
	static const char *const links[] = { "driver", "iommu_group", "firmware_node", "physfn", "subsystem",
					     "of_node", "port" };

	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (streq(name, links[i]))
			return true;
	return has_prefix(name, "virtfn") || has_prefix(name, "consumer:") || has_prefix(name, "supplier:");
}

static bool inside(const char *root, const char *path)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	size_t n = strlen(root);

	return real && strncmp(real, root, n) == 0 && real[n] == '/';
}

/* libpci opens the files of a tree by path, following links, and blocks on
 * a named pipe: a captured tree is given to it only when that cannot lead
 * it outside the tree or hang it. Every entry of bus/pci/devices must
 * resolve inside ROOT (a realpath), and in its directory every entry but
 * the links sysfs has must be a regular file or a directory (a link named
 * "config" to /dev/watchdog, a fifo named "vendor" are refused). */
static int capture_check(const char *root)
{
	char path[4096];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if ((size_t)snprintf(path, sizeof(path), "%s/bus/pci/devices", root) >= sizeof(path) || !(d = opendir(path)))
		return -errno ? -errno : -ENAMETOOLONG;
	while ((de = readdir(d))) {
		_cleanup_closedir_ DIR *dev = NULL;
		struct dirent *e;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", root, de->d_name) >= sizeof(path) ||
		    !inside(root, path) || !(dev = opendir(path)))
			return -EPERM;
		while ((e = readdir(dev))) {
			struct stat st;
			if (e->d_name[0] == '.' && (!e->d_name[1] || streq(e->d_name, "..")))
				continue;
			if (fstatat(dirfd(dev), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				return -errno;
			if (S_ISLNK(st.st_mode) ? !known_link(e->d_name) : !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
				return -EPERM;
		}
	}
	return 0;
}

int homi_pci_open(const char *sysfs_root, struct homi_pci **ret)
{
	struct homi_pci *p = calloc(1, sizeof(*p));
	char path[4096];
	volatile int r = 0;

	if (!p)
		return -ENOMEM;
	if ((size_t)snprintf(path, sizeof(path), "%s/bus/pci", sysfs_root ? sysfs_root : "/sys") >= sizeof(path)) {
		free(p);
		return -ENAMETOOLONG;
	}
	if (sysfs_root && !streq(sysfs_root, "/sys") && (r = capture_check(sysfs_root)) < 0) {
		free(p);
		return r;
	}
	PCI_GUARDED(p, r, {
		p->pacc = pci_alloc();
		p->pacc->error = on_pci_error;
		p->pacc->warning = on_pci_warning;
		p->pacc->debug = on_pci_debug;
		p->pacc->method = PCI_ACCESS_SYS_BUS_PCI;
		pci_set_param(p->pacc, "sysfs.path", path);
		pci_init(p->pacc);
	});
	if (r < 0) {
		homi_pci_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

struct homi_pci *homi_pci_free(struct homi_pci *p)
{
	volatile int r = 0;

	if (!p)
		return NULL;
	if (p->pacc)
		PCI_GUARDED(p, r, pci_cleanup(p->pacc));
	(void)r;
	free(p);
	return NULL;
}

const char *homi_pci_last_error(const struct homi_pci *p) { return p->error; }

/* Whether S has the shape "xxxx:xx:xx.d" or "xx:xx.d" (x a hex digit, d a
 * digit): sscanf's %x alone also takes a sign, spaces and "0x". */
static bool addr_shape(const char *s)
{
	static const char full[] = "hhhh:hh:hh.d", shrt[] = "hh:hh.d";
	size_t n = strlen(s);
	const char *shape = n == sizeof(full) - 1 ? full : n == sizeof(shrt) - 1 ? shrt : NULL;

	for (size_t i = 0; shape && i < n; i++) {
		bool ok = shape[i] == 'h' ? isxdigit((unsigned char)s[i])
			  : shape[i] == 'd' ? isdigit((unsigned char)s[i])
					    : s[i] == shape[i];
		if (!ok)
			return false;
	}
	return shape != NULL;
}

int homi_pci_parse_addr(const char *s, char out[13])
{
	unsigned dom = 0, bus, dev, fn;

	if (!addr_shape(s))
		return -EINVAL;
	if (strlen(s) == 12 ? sscanf(s, "%4x:%2x:%2x.%1u", &dom, &bus, &dev, &fn) != 4
			    : sscanf(s, "%2x:%2x.%1u", &bus, &dev, &fn) != 3)
		return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, 13, "%04x:%02x:%02x.%u", dom, bus, dev, fn);
	return 0;
}

static int get_dev(struct homi_pci *p, const char *addr, struct pci_dev **ret)
{
	unsigned dom, bus, dev, fn;
	volatile int r = 0;
	struct pci_dev *volatile d = NULL;

	if (sscanf(addr, "%x:%x:%x.%u", &dom, &bus, &dev, &fn) != 4)
		return -EINVAL;
	PCI_GUARDED(p, r, d = pci_get_dev(p->pacc, (int)dom, (int)bus, (int)dev, (int)fn));
	if (r < 0)
		return r;
	if (!d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

static void put_dev(struct homi_pci *p, struct pci_dev *d)
{
	volatile int r = 0;

	PCI_GUARDED(p, r, pci_free_dev(d));
	(void)r;
}

int homi_pci_read_config(struct homi_pci *p, const char *addr, unsigned offset, void *buf, size_t len)
{
	struct pci_dev *d;
	volatile int r = 0, ok = 0;

	r = get_dev(p, addr, &d);
	if (r < 0)
		return r;
	PCI_GUARDED(p, r, ok = pci_read_block(d, (int)offset, buf, (int)len));
	put_dev(p, d);
	if (r < 0)
		return r;
	return ok ? 0 : -EIO;
}

int homi_pci_find_cap(struct homi_pci *p, const char *addr, unsigned id, int extended)
{
	struct pci_dev *d;
	struct pci_cap *volatile cap = NULL;
	volatile int r = 0;

	r = get_dev(p, addr, &d);
	if (r < 0)
		return r;
	PCI_GUARDED(p, r, cap = pci_find_cap(d, id, extended ? PCI_CAP_EXTENDED : PCI_CAP_NORMAL));
	int off = cap ? (int)cap->addr : 0;
	put_dev(p, d);
	return r < 0 ? r : off;
}

int homi_pci_port_type(struct homi_pci *p, const char *addr)
{
	uint8_t caps[2];
	int off = homi_pci_find_cap(p, addr, PCI_CAP_ID_EXP, 0);
	int r;

	if (off < 0)
		return off;
	if (off == 0)
		return -ENODATA;
	r = homi_pci_read_config(p, addr, (unsigned)off + PCI_EXP_FLAGS, caps, sizeof(caps));
	if (r < 0)
		return r;
	return (caps[0] & PCI_EXP_FLAGS_TYPE) >> 4;
}

int homi_pci_name(struct homi_pci *p, unsigned vendor, unsigned device, char *buf, size_t len)
{
	char *volatile name = NULL;
	volatile int r = 0;

	PCI_GUARDED(p, r,
		    name = pci_lookup_name(p->pacc, buf, (int)len, PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS,
					   vendor, device));
	if (r < 0)
		return r;
	return name ? 0 : -ENOENT;
}
