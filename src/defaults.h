/* SPDX-License-Identifier: MIT */
/* Where homi keeps things. The environment may move the run and state
 * directories (tests, the VM testbed); the daemon's configuration moves
 * them for real. */
#pragma once

#define HOMI_POLICY_DIR "/etc/homi/policies.d"
#define HOMI_CONFIG_FILE "/etc/homi/homid.conf"
#define HOMI_RUN_DIR "/run/homi"
#define HOMI_STATE_DIR "/var/lib/homi"
#define HOMI_SOCKET_PATH HOMI_RUN_DIR "/homid.sock"
#define HOMI_LOCK_NAME "lock"

/* $HOMI_RUN_DIR or HOMI_RUN_DIR; likewise the state and policy directories. */
const char *homi_run_dir(void);
const char *homi_state_dir(void);
const char *homi_policy_dir(void);

/* 0 when PATH is a directory of this process's user that nobody else may
 * write (not group- or world-writable), -EPERM otherwise: what is in the
 * run and state directories (the journal, ownership records) is acted on
 * as root. */
int homi_dir_private(const char *path);

/* Takes RUN_DIR/lock (exclusive, non-blocking): -EBUSY when another homi
 * process holds it. Returns the descriptor that holds it. */
int homi_lock_take(const char *run_dir);
