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
/* homid's defaults for homi_server_set_conn_limits (homid.conf(5)) */
#define HOMI_SERVER_MAX_CONN_PER_UID 16
#define HOMI_SERVER_RESERVE 16 /* for root and the admin group */

struct homi_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[64];      /* supplementary groups (SO_PEERGROUPS), primary included */
	size_t n_groups;
	bool groups_truncated; /* the peer had more than 64: the rest are not here
				* (homi_peer_is_admin then fails closed) */
};

/* Whether PEER may call changing methods: uid 0, or a member (primary or
 * supplementary) of ADMIN_GID ((gid_t)-1: no admin group). */
bool homi_peer_is_admin(const struct homi_peer *peer, gid_t admin_gid);

/* Answers one request: returns the response object (a result or an error
 * built with homi_rpc_result/homi_rpc_error; the server steals it), or NULL
 * for a notification. Called on the connection's thread; may block (an
 * apply), other connections are served meanwhile. Handlers therefore run
 * concurrently on several threads (one per connection): shared state needs
 * a lock. A response to a notification is discarded (JSON-RPC never answers
 * one); NULL for a request with an id is answered INTERNAL_ERROR. Server
 * threads have every signal blocked. */
typedef json_t *(*homi_server_handler)(void *userdata, const struct homi_peer *peer,
				       const struct homi_rpc_request *req);

struct homi_server;

/* Binds PATH (a stale socket there is replaced; a live one, answering, is
 * -EADDRINUSE), mode 0666, and starts accepting on a thread of its own.
 * Anything but a socket at PATH is left alone: -EEXIST. PATH's directory
 * must not be writable by others (/run/homi). Returns 0 or a negative errno. */
int homi_server_start(const char *path, homi_server_handler handler, void *userdata, struct homi_server **ret);
/* Addition for tests and homid.conf: the read and write timeouts in ms
 * (defaults HOMI_SERVER_READ/WRITE_TIMEOUT_MS; 0: none), for lines waited
 * for and answers sent from now on. -EINVAL for a negative value. */
int homi_server_set_timeouts(struct homi_server *s, int read_ms, int write_ms);
/* Addition for homid.conf: connection caps by the peer's credentials
 * (SO_PEERCRED, SO_PEERGROUPS, read when the connection is accepted), so
 * that local users cannot take every slot from those who may change
 * devices. A connection of anyone but uid 0 and members of PRIVILEGED_GID
 * ((gid_t)-1: none) is refused with the busy line when its uid already
 * holds MAX_PER_UID (0: no such cap) or when only RESERVE slots of
 * HOMI_SERVER_MAX_CONN are left; root and the privileged group are held to
 * HOMI_SERVER_MAX_CONN only. Default: neither (0, 0, -1). Applies to
 * connections accepted from now on. -EINVAL when RESERVE is
 * HOMI_SERVER_MAX_CONN or more. */
int homi_server_set_conn_limits(struct homi_server *s, unsigned max_per_uid, unsigned reserve, gid_t privileged_gid);
/* Stops accepting, closes every connection (waiting for handlers running
 * now), unlinks the socket. Not from a handler (it would wait for itself);
 * NULL is a no-op. */
void homi_server_stop(struct homi_server *s);

/* Counters for status and tests. connections: accepted since start (busy
 * refusals included); requests: request lines read (parsed or not, empty
 * lines not counted); errors: error responses sent (the handler's included);
 * dropped: connections the server closed on its side (line over 64 KiB,
 * read or write timeout, busy, an I/O error), not those the client ended;
 * active: connections open now. */
struct homi_server_stats {
	unsigned long connections, requests, errors, dropped;
	unsigned active;
};
void homi_server_get_stats(struct homi_server *s, struct homi_server_stats *ret);
