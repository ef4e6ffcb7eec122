/* SPDX-License-Identifier: MIT */
/* homid's socket server: a listening Unix socket (mode 0666: anyone may ask;
 * authorization is per method), one thread per connection (at most
 * HOMI_SERVER_MAX_CONN), each reading request lines and answering them in
 * order. Requests over 64 KiB, malformed JSON, unknown methods get an error;
 * a client idle or stuck in the middle of a line for longer than the read
 * timeout, or one that stops reading its answers, is dropped; no client can
 * delay another. The peer's uid, gid and supplementary groups are read once
 * per connection (SO_PEERCRED, SO_PEERGROUPS). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "rpc.h"

#define HOMI_SERVER_MAX_CONN 256
#define HOMI_SERVER_READ_TIMEOUT_MS 30000  /* a request line must arrive within this */
#define HOMI_SERVER_WRITE_TIMEOUT_MS 5000  /* an answer must be taken within this */

struct homi_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[64];      /* supplementary groups (SO_PEERGROUPS), primary included */
	size_t n_groups;
};

/* Whether PEER may call changing methods: uid 0, or a member (primary or
 * supplementary) of ADMIN_GID ((gid_t)-1: no admin group). */
bool homi_peer_is_admin(const struct homi_peer *peer, gid_t admin_gid);

/* Answers one request: returns the response object (a result or an error
 * built with homi_rpc_result/homi_rpc_error; the server steals it), or NULL
 * for a notification. Called on the connection's thread; may block (an
 * apply), other connections are served meanwhile. */
typedef json_t *(*homi_server_handler)(void *userdata, const struct homi_peer *peer,
				       const struct homi_rpc_request *req);

struct homi_server;

/* Binds PATH (a stale socket there is replaced; a live one, answering, is
 * -EADDRINUSE), mode 0666, and starts accepting on a thread of its own. */
int homi_server_start(const char *path, homi_server_handler handler, void *userdata, struct homi_server **ret);
/* Stops accepting, closes every connection (waiting for handlers running
 * now), unlinks the socket. */
void homi_server_stop(struct homi_server *s);

/* Counters for status and tests. */
struct homi_server_stats {
	unsigned long connections, requests, errors, dropped;
	unsigned active;
};
void homi_server_get_stats(struct homi_server *s, struct homi_server_stats *ret);
