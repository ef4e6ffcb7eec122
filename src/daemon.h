/* SPDX-License-Identifier: MIT */
/* homid's state and behaviour, apart from the process around it (homid.c):
 * the policies and the overlay, changes serialized under one lock, the
 * status snapshot that answers while a change runs, drift detection and
 * repair, stable names, and the socket methods of ARCHITECTURE.md 3.4. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "daemon-config.h"
#include "host.h"
#include "server.h"

struct homid;

/* HOST is owned by the daemon from here on; SYSFS stays the caller's. */
int homid_new(const struct homid_config *cfg, struct homi_host *host, struct homi_sysfs *sysfs, struct homid **ret);
void homid_free(struct homid *d);

/* Boot: roll back an apply a crash interrupted, load policies and overlay,
 * apply (a policy error is logged and leaves devices untouched), mark
 * ready. Returns 0 even when the policies are in error. */
int homid_boot(struct homid *d);
/* The admin group's gid ((gid_t)-1 when it does not exist). */
gid_t homid_admin_gid(const struct homid *d);
bool homid_ready(struct homid *d);

/* The socket handler (server.h); runs on several threads at once. */
json_t *homid_handle(void *userdata, const struct homi_peer *peer, const struct homi_rpc_request *req);

/* Reload policies (SIGHUP, the reload method) and apply. */
int homid_reload(struct homid *d, const char *cause);
/* Periodic verification: one Identify (the Secondary Controller List) per
 * owned PF; a difference from the desired state starts a repair. */
void homid_verify(struct homid *d);
/* Full re-plan and repair when the state differs (a uevent on a managed
 * function, after the debounce). CAUSE goes to the log and status. */
void homid_repair(struct homid *d, const char *cause);
/* Whether PCI is a PF homid manages or one of its VFs (uevent filter). */
bool homid_manages(struct homid *d, const char *pci);

/* SIGTERM: the change under way finishes its step and rolls back. */
void homid_request_stop(struct homid *d);
