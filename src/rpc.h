/* SPDX-License-Identifier: MIT */
/* homid's socket protocol (ARCHITECTURE.md 3.4): JSON-RPC 2.0, one object per
 * line each way, requests of at most 64 KiB, over a Unix stream socket.
 * This module is the wire format (both sides) and the client call; the
 * server loop is server.h. Nothing here prints. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define HOMI_RPC_MAX_LINE (64 * 1024) /* a request line, newline included */
/* A response line, newline included, as homi_rpc_call reads it (a status or
 * topology document); the server answers INTERNAL_ERROR rather than send a
 * longer one. */
#define HOMI_RPC_MAX_RESPONSE (16 * 1024 * 1024)

/* Error codes: JSON-RPC's own and homi's. */
enum {
	HOMI_RPC_PARSE_ERROR = -32700,
	HOMI_RPC_INVALID_REQUEST = -32600,
	HOMI_RPC_METHOD_NOT_FOUND = -32601,
	HOMI_RPC_INVALID_PARAMS = -32602,
	HOMI_RPC_INTERNAL_ERROR = -32603,
	HOMI_RPC_NOT_AUTHORIZED = -32001,
	HOMI_RPC_POLICY_ERROR = -32002,
	HOMI_RPC_PLAN_INFEASIBLE = -32003,
	HOMI_RPC_APPLY_FAILED = -32004,
	HOMI_RPC_BUSY = -32005,
};

struct homi_rpc_request {
	json_t *id;          /* string, number or null (a notification has none: id == NULL) */
	char method[64];
	json_t *params;      /* object (absent: an empty object) */
};

/* Parses one request line (without its newline). On failure returns a
 * negative errno and, in *ret_error, the error response to send (id null
 * when none could be read), with the code of JSON-RPC 2.0 section 5.1:
 *   not JSON, not UTF-8, a NUL byte             PARSE_ERROR     -EBADMSG
 *   duplicate keys (anywhere), a scalar, a batch
 *   (array), "jsonrpc" not "2.0", "method" not a
 *   string of 1..63 characters, "id" not a string,
 *   number or null, "params" not an object or an
 *   array, a member other than these four        INVALID_REQUEST -EINVAL
 *   "params" an array (positional: homi's
 *   methods take named parameters only)         INVALID_PARAMS  -EINVAL
 * The error carries the request's id once that was read. RET_ERROR may be
 * NULL; *RET is zeroed on failure (homi_rpc_request_done is safe on it). */
int homi_rpc_parse_request(const char *line, size_t len, struct homi_rpc_request *ret, json_t **ret_error);
void homi_rpc_request_done(struct homi_rpc_request *r);

/* {"jsonrpc": "2.0", "id": ID, "result": RESULT} (steals RESULT). */
json_t *homi_rpc_result(json_t *id, json_t *result);
/* {"jsonrpc": "2.0", "id": ID, "error": {"code", "message", "data"?}} (steals DATA). */
json_t *homi_rpc_error(json_t *id, int code, const char *message, json_t *data);

/* One compact line with its newline, for the wire. Caller frees. */
char *homi_rpc_line(const json_t *msg);

/* Client: connects to PATH, sends METHOD with PARAMS (borrowed; NULL: {}),
 * waits TIMEOUT_MS at most (0: forever) for the response. Returns 0 with
 * *ret_result (new reference), or -EREMOTEIO with the server's error code,
 * message and data (*ret_data may be NULL), or another negative errno
 * (-ENOENT/-ECONNREFUSED: no daemon, -ETIMEDOUT, -EPROTO: bad answer).
 * Also -EINVAL (no method, over 63 characters, PARAMS not an object),
 * -EMSGSIZE (the request line is over HOMI_RPC_MAX_LINE, or the answer over
 * HOMI_RPC_MAX_RESPONSE), -ECONNRESET (closed without an answer). Every
 * ret_ pointer may be NULL; *ret_message is the caller's to free. */
int homi_rpc_call(const char *path, const char *method, json_t *params, int timeout_ms, json_t **ret_result,
		  int *ret_code, char **ret_message, json_t **ret_data);
