/* SPDX-License-Identifier: MIT */
/* JSON-RPC 2.0 lines for homid's socket: request decoding, response
 * building, and the client call (ARCHITECTURE.md 3.4). */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>

#include "macro.h"
#include "rpc-internal.h"
#include "rpc.h"

#define CLIENT_ID 1 /* one request per connection: any id will do */

/* ---- deadlines and socket I/O ------------------------------------------ */

int64_t homi_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t homi_deadline_ms(int timeout_ms)
{
	return timeout_ms > 0 ? homi_now_ms() + timeout_ms : -1;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - homi_now_ms();
	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

int homi_fd_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, remaining_ms(deadline));

		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int homi_send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			r = homi_fd_wait(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- building messages --------------------------------------------------- */

json_t *homi_rpc_result(json_t *id, json_t *result)
{
	/* "o?" steals RESULT, even when packing fails; NULL packs as null. */
	return json_pack("{s:s, s:O?, s:o?}", "jsonrpc", "2.0", "id", id, "result", result);
}

json_t *homi_rpc_error(json_t *id, int code, const char *message, json_t *data)
{
	json_t *e = json_pack("{s:i, s:s}", "code", code, "message", message ? message : "");

	if (!e) /* MESSAGE is not UTF-8 */
		e = json_pack("{s:i, s:s}", "code", code, "message", "(error message not UTF-8)");
	if (!e) {
		json_decref(data);
		return NULL;
	}
	if (data && json_object_set_new(e, "data", data) < 0) {
		json_decref(e);
		return NULL;
	}
	return json_pack("{s:s, s:O?, s:o}", "jsonrpc", "2.0", "id", id, "error", e);
}

char *homi_rpc_line(const json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT), *l;
	size_t n;

	if (!s)
		return NULL;
	/* Compact output has no raw newline: strings escape theirs. */
	n = strlen(s);
	l = realloc(s, n + 2);
	if (!l) {
		free(s);
		return NULL;
	}
	l[n] = '\n';
	l[n + 1] = '\0';
	return l;
}

/* ---- decoding requests --------------------------------------------------- */

static int refuse(json_t *id, int code, const char *message, int r, json_t **ret_error)
{
	if (ret_error)
		*ret_error = homi_rpc_error(id, code, message, NULL);
	return r;
}

static bool valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

/* The members of a request object and nothing else (homi is strict, like
 * its policy parser: a misspelt "parmas" is an error, not an empty call). */
static const char *unknown_member(json_t *root)
{
	static const char *const known[] = { "jsonrpc", "method", "params", "id" };
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v) {
		bool found = false;

		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			found = found || streq(key, known[i]);
		if (!found)
			return key;
	}
	return NULL;
}

static int parse_method(json_t *root, json_t *id, char method[static 64], json_t **ret_error)
{
	json_t *m = json_object_get(root, "method");
	size_t n;

	if (!json_is_string(m))
		return refuse(id, HOMI_RPC_INVALID_REQUEST, "\"method\" must be a string", -EINVAL, ret_error);
	n = json_string_length(m);
	if (n == 0 || n > 63)
		return refuse(id, HOMI_RPC_INVALID_REQUEST, "\"method\" must be 1 to 63 characters", -EINVAL,
			      ret_error);
	memcpy(method, json_string_value(m), n + 1);
	return 0;
}

/* Positional (array) params are valid JSON-RPC but homi's methods take
 * named parameters only: INVALID_PARAMS. Any other non-object is not a
 * valid request at all: INVALID_REQUEST. */
static int parse_params(json_t *root, json_t *id, json_t **ret, json_t **ret_error)
{
	json_t *p = json_object_get(root, "params");

	if (json_is_array(p))
		return refuse(id, HOMI_RPC_INVALID_PARAMS, "\"params\" must be an object (named parameters)",
			      -EINVAL, ret_error);
	if (p && !json_is_object(p))
		return refuse(id, HOMI_RPC_INVALID_REQUEST, "\"params\" must be an object", -EINVAL, ret_error);
	*ret = p ? json_incref(p) : json_object();
	return *ret ? 0 : refuse(id, HOMI_RPC_INTERNAL_ERROR, "out of memory", -ENOMEM, ret_error);
}

static int load_error(const json_error_t *jerr, json_t **ret_error)
{
	char msg[sizeof(jerr->text) + 64];

	if (json_error_code(jerr) == json_error_duplicate_key) {
		snprintf(msg, sizeof(msg), "invalid request: %s", jerr->text);
		return refuse(NULL, HOMI_RPC_INVALID_REQUEST, msg, -EINVAL, ret_error);
	}
	snprintf(msg, sizeof(msg), "parse error at byte %d: %s", jerr->position, jerr->text);
	return refuse(NULL, HOMI_RPC_PARSE_ERROR, msg, -EBADMSG, ret_error);
}

static int parse_object(json_t *root, struct homi_rpc_request *ret, json_t **ret_error)
{
	json_t *id = json_object_get(root, "id");
	const char *extra;
	char msg[128];
	int r;

	if (id && !valid_id(id))
		return refuse(NULL, HOMI_RPC_INVALID_REQUEST, "\"id\" must be a string, a number or null", -EINVAL,
			      ret_error);
	extra = unknown_member(root);
	if (extra) {
		snprintf(msg, sizeof(msg), "unknown member \"%.64s\"", extra);
		return refuse(id, HOMI_RPC_INVALID_REQUEST, msg, -EINVAL, ret_error);
	}
	if (!streq_ptr(json_string_value(json_object_get(root, "jsonrpc")), "2.0"))
		return refuse(id, HOMI_RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"", -EINVAL, ret_error);
	r = parse_method(root, id, ret->method, ret_error);
	if (r < 0)
		return r;
	r = parse_params(root, id, &ret->params, ret_error);
	if (r < 0)
		return r;
	ret->id = json_incref(id);
	return 0;
}

int homi_rpc_parse_request(const char *line, size_t len, struct homi_rpc_request *ret, json_t **ret_error)
{
	struct homi_rpc_request req = { 0 };
	json_error_t jerr;
	json_auto_t *root = NULL;
	int r;

	if (ret_error)
		*ret_error = NULL;
	*ret = (struct homi_rpc_request){ 0 };
	/* DECODE_ANY: a scalar is valid JSON but not a request (INVALID_REQUEST,
	 * not PARSE_ERROR). jansson rejects invalid UTF-8 and NUL bytes itself. */
	root = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return load_error(&jerr, ret_error);
	if (json_is_array(root))
		return refuse(NULL, HOMI_RPC_INVALID_REQUEST, "batch requests are not supported", -EINVAL, ret_error);
	if (!json_is_object(root))
		return refuse(NULL, HOMI_RPC_INVALID_REQUEST, "a request must be a JSON object", -EINVAL, ret_error);
	r = parse_object(root, &req, ret_error);
	if (r < 0) {
		homi_rpc_request_done(&req);
		return r;
	}
	*ret = req;
	return 0;
}

void homi_rpc_request_done(struct homi_rpc_request *r)
{
	if (!r)
		return;
	json_decref(r->id);
	json_decref(r->params);
	*r = (struct homi_rpc_request){ 0 };
}

/* ---- the client ---------------------------------------------------------- */

static int connect_unix(const char *path, int64_t deadline, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;
	size_t n = strlen(path);

	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (deadline >= 0) {
		/* A Unix connect blocks only while the listener's backlog is
		 * full, for at most SO_SNDTIMEO (then EAGAIN). */
		int ms = remaining_ms(deadline);
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

		if (ms == 0)
			return -ETIMEDOUT;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
			return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Reads up to the first newline, growing the buffer up to
 * HOMI_RPC_MAX_RESPONSE (checked before each growth). */
static int recv_line(int fd, int64_t deadline, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		char *nl;
		ssize_t n;
		int r;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *b;

			if (cap >= HOMI_RPC_MAX_RESPONSE)
				return -EMSGSIZE;
			if (ncap > HOMI_RPC_MAX_RESPONSE)
				ncap = HOMI_RPC_MAX_RESPONSE;
			b = realloc(buf, ncap);
			if (!b)
				return -ENOMEM;
			buf = b;
			cap = ncap;
		}
		r = homi_fd_wait(fd, POLLIN, deadline);
		if (r < 0)
			return r;
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		if (n == 0)
			return len > 0 ? -EPROTO : -ECONNRESET;
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*ret_len = (size_t)(nl - buf);
			*ret = TAKE_PTR(buf);
			return 0;
		}
	}
}

static bool our_id(const json_t *id)
{
	return json_is_integer(id) && json_integer_value(id) == CLIENT_ID;
}

static int parse_error_object(json_t *error, int *ret_code, char **ret_message, json_t **ret_data)
{
	json_t *code = json_object_get(error, "code"), *message = json_object_get(error, "message");
	json_int_t c = json_integer_value(code);

	if (!json_is_integer(code) || c < INT_MIN || c > INT_MAX || !json_is_string(message))
		return -EPROTO;
	if (ret_message) {
		*ret_message = strdup(json_string_value(message));
		if (!*ret_message)
			return -ENOMEM;
	}
	if (ret_code)
		*ret_code = (int)c;
	if (ret_data)
		*ret_data = json_incref(json_object_get(error, "data"));
	return -EREMOTEIO;
}

static int parse_response(const char *line, size_t len, json_t **ret_result, int *ret_code, char **ret_message,
			  json_t **ret_data)
{
	json_auto_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *id, *result, *error;

	if (!json_is_object(root) || !streq_ptr(json_string_value(json_object_get(root, "jsonrpc")), "2.0"))
		return -EPROTO;
	id = json_object_get(root, "id");
	result = json_object_get(root, "result");
	error = json_object_get(root, "error");
	if (result && !error && our_id(id)) {
		if (ret_result)
			*ret_result = json_incref(result);
		return 0;
	}
	/* An error may come with id null: the request was never read (busy,
	 * over-long line). */
	if (error && !result && json_is_object(error) && (our_id(id) || json_is_null(id)))
		return parse_error_object(error, ret_code, ret_message, ret_data);
	return -EPROTO;
}

static char *request_line(const char *method, json_t *params)
{
	json_auto_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", CLIENT_ID, "method", method,
				     "params", params ? json_incref(params) : json_object());

	return req ? homi_rpc_line(req) : NULL;
}

int homi_rpc_call(const char *path, const char *method, json_t *params, int timeout_ms, json_t **ret_result,
		  int *ret_code, char **ret_message, json_t **ret_data)
{
	int64_t deadline = homi_deadline_ms(timeout_ms);
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *line = NULL, *answer = NULL;
	size_t answer_len = 0;
	int r, sent;

	if (ret_result)
		*ret_result = NULL;
	if (ret_code)
		*ret_code = 0;
	if (ret_message)
		*ret_message = NULL;
	if (ret_data)
		*ret_data = NULL;
	if (!path || !method || strlen(method) == 0 || strlen(method) > 63 || (params && !json_is_object(params)))
		return -EINVAL;
	line = request_line(method, params);
	if (!line)
		return -ENOMEM;
	if (strlen(line) > HOMI_RPC_MAX_LINE)
		return -EMSGSIZE;
	r = connect_unix(path, deadline, &fd);
	if (r < 0)
		return r;
	/* A server that refuses the request may close before taking all of
	 * it (EPIPE): its answer can still be waiting to be read. */
	sent = homi_send_all(fd, line, strlen(line), deadline);
	if (sent < 0 && sent != -EPIPE && sent != -ECONNRESET)
		return sent;
	r = recv_line(fd, deadline, &answer, &answer_len);
	if (r < 0)
		return sent < 0 ? sent : r;
	return parse_response(answer, answer_len, ret_result, ret_code, ret_message, ret_data);
}
