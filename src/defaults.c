/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defaults.h"
#include "macro.h"
#include "state.h"

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = secure_getenv(name);
	return v && *v ? v : dflt;
}

const char *homi_run_dir(void) { return env_or("HOMI_RUN_DIR", HOMI_RUN_DIR); }
const char *homi_state_dir(void) { return env_or("HOMI_STATE_DIR", HOMI_STATE_DIR); }
const char *homi_policy_dir(void) { return env_or("HOMI_POLICY_DIR", HOMI_POLICY_DIR); }

int homi_lock_take(const char *run_dir)
{
	char path[PATH_MAX];
	int fd, r;

	r = homi_mkdir_p(run_dir, 0755);
	if (r < 0)
		return r;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", run_dir, HOMI_LOCK_NAME) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return r;
	}
	return fd;
}

int homi_dir_private(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return st.st_uid == geteuid() && !(st.st_mode & 022) ? 0 : -EPERM;
}
