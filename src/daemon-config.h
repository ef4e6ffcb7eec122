/* SPDX-License-Identifier: MIT */
/* homid.conf (homid.conf(5)): one JSON object, every key optional, unknown
 * keys and wrong types refused with "FILE: $.key: message" (syntax:
 * "FILE:LINE:COL: message"). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct homid_config {
	char *socket;           /* "socket": default /run/homi/homid.sock */
	char *admin_group;      /* "admin-group": default homi-admin */
	char *policy_dir;       /* "policy-dir": default /etc/homi/policies.d */
	char *state_dir;        /* "state-dir": default /var/lib/homi */
	char *run_dir;          /* "run-dir": default /run/homi */
	unsigned verify_interval; /* "verify-interval" seconds: default 10; 0 disables */
	unsigned max_conn_per_user; /* "max-connections-per-user" (uid 0 excepted): default 16; 0: no cap */
	int log_level;          /* "log-level": err|warning|notice|info|debug, default info */
	char *failpoints;       /* "failpoints": HOMI_FAILPOINTS syntax (tests) */
};

/* Defaults, with $HOMI_RUN_DIR / $HOMI_STATE_DIR / $HOMI_POLICY_DIR honoured. */
int homid_config_defaults(struct homid_config *c);
/* Reads PATH over the defaults; a missing file is fine when !REQUIRED. */
int homid_config_load(struct homid_config *c, const char *path, bool required, char **ret_error);
void homid_config_done(struct homid_config *c);
