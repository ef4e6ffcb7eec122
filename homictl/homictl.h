/* SPDX-License-Identifier: MIT */
/* homictl internals: the command context and the helpers every command uses. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "macro.h"
#include "pci.h"
#include "sysfs.h"
#include "host.h"
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

#define CTL_MAX_OPTS 8

struct ctl {
	bool json, direct, verbose;
	bool daemon;            /* talk to homid: its socket exists and no --direct */
	const char *socket;
	const char *sysfs_root; /* NULL: live /sys */
	struct homi_sysfs *sysfs;
	struct homi_pci *pci;
	/* the command's own options: name -> value ("" for a flag) */
	const char *opt_names[CTL_MAX_OPTS], *opt_values[CTL_MAX_OPTS];
	size_t n_opts;
};

struct ctl_command {
	const char *words;  /* "device show": whole words, space separated */
	const char *args;   /* usage after the words */
	int min_args, max_args;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *help;
	const char *options; /* "dry-run force vq=": its own --options; NAME= takes a value */
	bool changes;        /* changes devices: root, --direct or homid */
};

/* Value of the command option NAME, "" for a flag given, NULL when absent. */
const char *ctl_opt(const struct ctl *ctl, const char *name);
/* Parses an option value as an integer in [MIN, MAX]; EXIT_USAGE on error. */
int ctl_opt_int(struct ctl *ctl, const struct ctl_command *cmd, const char *name, long min, long max, long *ret);

/* Reports an error about SUBJECT (a device, a file, a path) as one line on
 * stderr and, with -j, as a homi-error document on stdout. Returns CODE. */
_printf_(4, 5) int ctl_fail(struct ctl *ctl, int code, int err, const char *fmt, ...);
/* Prints a usage error and the command's usage line; returns EXIT_USAGE. */
_printf_(2, 3) int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...);

/* Opens the sysfs root and libpci (once), then loads the topology,
 * printing one warning line per problem found. Returns an exit code. */
int ctl_load_topology(struct ctl *ctl, struct homi_topology **ret);
/* The machine as the one who changes it sees it: homid's topology when it
 * runs (ARCHITECTURE.md 3.1; a simulated homid's machine is not this
 * host's), else ctl_load_topology(). *RET_DOC (may be NULL) gets homid's
 * document, or NULL when read in-process. */
int ctl_read_topology(struct ctl *ctl, struct homi_topology **ret, json_t **ret_doc);
/* Resolves a PCI argument (full or short form) to a device index. */
int ctl_find_device(struct ctl *ctl, const struct homi_topology *t, const char *arg, size_t *ret_idx);

/* Prints a JSON document (steals the reference); returns an exit code. */
int ctl_print_json(struct ctl *ctl, json_t *doc);

/* For commands that change devices (or plan changes): the live host, with
 * the lock held while changing. Returns an exit code. */
int ctl_open_host(struct ctl *ctl, struct homi_host **ret);

struct homi_overlay;
struct homi_desired;
struct homi_plan_opts;
/* The desired state: policies (FILEs, or the policy directory) plus the
 * overlay of imperative changes (OVERLAY, or the saved one when NULL). */
int ctl_desired(struct ctl *ctl, struct homi_host *h, int argc, char **argv, const struct homi_overlay *overlay,
		struct homi_desired **ret);
/* Applies D through H (POPTS->only_pf restricts it), recovering an
 * interrupted apply first; prints the result; exit code. */
int ctl_run_apply(struct ctl *ctl, struct homi_host *h, const struct homi_desired *d,
		  const struct homi_plan_opts *popts);

/* homid: calls METHOD with PARAMS (stolen); 0 with *ret_result, or an
 * exit code after printing the error (EXIT_NO_DAEMON when it is gone). */
int ctl_call(struct ctl *ctl, const char *method, json_t *params, json_t **ret_result);
/* [{"name", "content"}] of FILEs (homid reads nothing on a caller's behalf). */
int ctl_files_param(struct ctl *ctl, int argc, char **argv, json_t **ret);
/* Human output of homi-plan and homi-apply documents. */
void ctl_print_plan_doc(const json_t *plan);
void ctl_print_apply_doc(const json_t *doc);

int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_wait(struct ctl *ctl, int argc, char **argv);
int cmd_reload(struct ctl *ctl, int argc, char **argv);
int cmd_topology(struct ctl *ctl, int argc, char **argv);
int cmd_vf_assign(struct ctl *ctl, int argc, char **argv);
int cmd_vf_unassign(struct ctl *ctl, int argc, char **argv);
int cmd_ns_attach(struct ctl *ctl, int argc, char **argv);
int cmd_ns_detach(struct ctl *ctl, int argc, char **argv);
int cmd_completion(struct ctl *ctl, int argc, char **argv);
int cmd_policy_check(struct ctl *ctl, int argc, char **argv);
int cmd_plan(struct ctl *ctl, int argc, char **argv);
int cmd_apply(struct ctl *ctl, int argc, char **argv);
int cmd_teardown(struct ctl *ctl, int argc, char **argv);
int cmd_release(struct ctl *ctl, int argc, char **argv);
int cmd_device_list(struct ctl *ctl, int argc, char **argv);
int cmd_device_show(struct ctl *ctl, int argc, char **argv);
int cmd_check(struct ctl *ctl, int argc, char **argv);
