/* SPDX-License-Identifier: MIT */
/* The sysfs layer: every read and write below one root directory.
 *
 * The root stands for /sys (it holds bus/, devices/, class/, kernel/). A
 * live context uses /sys and /dev; a context on a captured tree resolves
 * every path, symbolic links included, inside the tree (openat2's
 * RESOLVE_IN_ROOT), so a capture can never lead a reader to the real host.
 * All functions return 0 or a positive count on success and a negative errno
 * on failure; none of them prints. */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct homi_sysfs;

/* Opens ROOT (NULL: the live /sys). Fails with -ENOENT/-ENOTDIR/-EACCES when
 * ROOT is unusable and -EINVAL when it has no bus/pci/devices. */
int homi_sysfs_open(const char *root, struct homi_sysfs **ret);
struct homi_sysfs *homi_sysfs_free(struct homi_sysfs *s);

const char *homi_sysfs_root(const struct homi_sysfs *s);
/* True for the live /sys: device nodes (/dev) and /proc belong to it. */
bool homi_sysfs_is_live(const struct homi_sysfs *s);
/* Path of a device node NAME ("nvme0", "vfio/12") in the live /dev, or
 * -ENODEV for a captured tree. S may be NULL (the simulated host): the name
 * a live machine would use. */
int homi_sysfs_dev_path(const struct homi_sysfs *s, const char *name, char *buf, size_t len);

/* Path NAME below the live /proc ("self/mountinfo"), -ENODEV on a capture. */
int homi_sysfs_proc_path(const struct homi_sysfs *s, const char *name, char *buf, size_t len);

/* Opens directory REL (relative to the root, links followed inside it). */
int homi_sysfs_open_dir(const struct homi_sysfs *s, const char *rel);
/* The same as a stream to readdir() (closedir() it): NULL with errno set
 * when it cannot be opened. */
DIR *homi_sysfs_opendir(const struct homi_sysfs *s, const char *rel);
/* fdopendir() that closes FD when it fails; NULL, errno untouched, for a
 * negative FD (the open, dup or openat that failed set it), so that
 * opening and streaming chain: homi_fdopendir(openat(...)). */
DIR *homi_fdopendir(int fd);

/* Reads attribute NAME (a regular file: anything else is -EINVAL, and a
 * named pipe never blocks) of directory DIRFD into BUF, trailing newline and
 * spaces removed. Returns the length. */
int homi_sysfs_read_at(int dirfd, const char *name, char *buf, size_t len);
/* Parses an attribute as an integer (decimal, or hex with 0x). */
int homi_sysfs_read_long_at(int dirfd, const char *name, long *ret);
/* Reads a binary attribute (config space). Returns the bytes read. */
int homi_sysfs_read_bin_at(int dirfd, const char *name, void *buf, size_t len);
/* Reads the target of link NAME; returns its length. */
int homi_sysfs_readlink_at(int dirfd, const char *name, char *buf, size_t len);
/* Basename of link NAME's target ("../../bus/pci/drivers/nvme" -> "nvme"). */
int homi_sysfs_link_name_at(int dirfd, const char *name, char *buf, size_t len);

/* Writes VALUE to attribute REL below the root. Refused (-EROFS) on a
 * captured tree: homi never writes anywhere but the live /sys. */
int homi_sysfs_write(const struct homi_sysfs *s, const char *rel, const char *value);

/* Reads LEN bytes of FD, fewer only at its end (EINTR retried): how many,
 * or -errno. */
ssize_t homi_read_full(int fd, void *buf, size_t len);
