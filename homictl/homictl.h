/* SPDX-License-Identifier: MIT */
/* homictl internals: the command context and the helpers every command uses. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "macro.h"
#include "pci.h"
#include "sysfs.h"
#include "topology.h"

/* Exit codes of ARCHITECTURE.md 3.1. */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_PENDING = 3,
	EXIT_CHECK_FAIL = 4,
	EXIT_NO_DAEMON = 5,
};

struct ctl {
	bool json, direct, verbose;
	const char *socket;
	const char *sysfs_root; /* NULL: live /sys */
	struct homi_sysfs *sysfs;
	struct homi_pci *pci;
};

struct ctl_command {
	const char *words;  /* "device show": whole words, space separated */
	const char *args;   /* usage after the words */
	int min_args, max_args;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *help;
};

/* Reports an error about SUBJECT (a device, a file, a path) as one line on
 * stderr and, with -j, as a homi-error document on stdout. Returns CODE. */
_printf_(4, 5) int ctl_fail(struct ctl *ctl, int code, int err, const char *fmt, ...);
/* Prints a usage error and the command's usage line; returns EXIT_USAGE. */
_printf_(2, 3) int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...);

/* Opens the sysfs root and libpci (once), then loads the topology,
 * printing one warning line per problem found. Returns an exit code. */
int ctl_load_topology(struct ctl *ctl, struct homi_topology **ret);
/* Resolves a PCI argument (full or short form) to a device index. */
int ctl_find_device(struct ctl *ctl, const struct homi_topology *t, const char *arg, size_t *ret_idx);

/* Prints a JSON document (steals the reference); returns an exit code. */
int ctl_print_json(struct ctl *ctl, json_t *doc);

int cmd_topology(struct ctl *ctl, int argc, char **argv);
int cmd_device_list(struct ctl *ctl, int argc, char **argv);
int cmd_device_show(struct ctl *ctl, int argc, char **argv);
