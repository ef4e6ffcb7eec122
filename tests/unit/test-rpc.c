/* SPDX-License-Identifier: MIT */
/* homid's socket protocol and server: request decoding (each error code),
 * response lines, authorization decisions, and a real server in a temporary
 * directory: round trips, limits, slow, stuck and vanished clients, stale
 * and live sockets, peer credentials, busy, concurrency, stop. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check-run.h"
#include "macro.h"
#include "rpc.h"
#include "server.h"

/* ---- decoding ------------------------------------------------------------ */

static void expect_ok(const char *line, struct homi_rpc_request *req)
{
	json_t *err = NULL;

	ck_assert_int_eq(homi_rpc_parse_request(line, strlen(line), req, &err), 0);
	ck_assert_ptr_null(err);
}

/* Checks the code, the errno and the id the error response carries (ID NULL:
 * null). */
static void expect_error_n(const char *line, size_t len, int code, int r, json_int_t id)
{
	struct homi_rpc_request req;
	json_t *err = NULL, *jid;

	ck_assert_msg(homi_rpc_parse_request(line, len, &req, &err) == r, "%.80s: not %d", line, r);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(json_integer_value(json_object_get(json_object_get(err, "error"), "code")) == code,
		      "%.80s: code %lld, not %d", line,
		      (long long)json_integer_value(json_object_get(json_object_get(err, "error"), "code")), code);
	ck_assert(json_is_string(json_object_get(json_object_get(err, "error"), "message")));
	ck_assert_str_eq(json_string_value(json_object_get(err, "jsonrpc")), "2.0");
	jid = json_object_get(err, "id");
	if (id < 0)
		ck_assert_msg(json_is_null(jid), "%.80s: id not null", line);
	else
		ck_assert_msg(json_integer_value(jid) == id, "%.80s: id not %lld", line, (long long)id);
	ck_assert_ptr_null(req.id);
	ck_assert_ptr_null(req.params);
	homi_rpc_request_done(&req);
	json_decref(err);
}

static void expect_error(const char *line, int code, int r, json_int_t id)
{
	expect_error_n(line, strlen(line), code, r, id);
}

START_TEST(parse_valid)
{
	struct homi_rpc_request req;

	expect_ok("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"status\",\"params\":{\"a\":1}}", &req);
	ck_assert_str_eq(req.method, "status");
	ck_assert_int_eq(json_integer_value(req.id), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(req.params, "a")), 1);
	homi_rpc_request_done(&req);
	homi_rpc_request_done(&req); /* zeroed: safe twice */

	/* No params: an empty object. String and null ids; members in any order. */
	expect_ok(" {\"method\":\"vf.assign\",\"id\":\"abc\",\"jsonrpc\":\"2.0\"} ", &req);
	ck_assert_str_eq(json_string_value(req.id), "abc");
	ck_assert(json_is_object(req.params) && json_object_size(req.params) == 0);
	homi_rpc_request_done(&req);
	expect_ok("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"status\"}", &req);
	ck_assert(req.id && json_is_null(req.id)); /* null id: a request, not a notification */
	homi_rpc_request_done(&req);
	expect_ok("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"status\"}", &req);
	homi_rpc_request_done(&req);

	/* 63 characters is the longest method. */
	expect_ok("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
		  "\"123456789012345678901234567890123456789012345678901234567890123\"}",
		  &req);
	ck_assert_uint_eq(strlen(req.method), 63);
	homi_rpc_request_done(&req);

	/* RET_ERROR may be NULL. */
	ck_assert_int_eq(homi_rpc_parse_request("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}", 30, &req, NULL), 0);
	homi_rpc_request_done(&req);
	ck_assert_int_eq(homi_rpc_parse_request("{", 1, &req, NULL), -EBADMSG);
}
END_TEST

START_TEST(parse_notification)
{
	struct homi_rpc_request req;

	expect_ok("{\"jsonrpc\":\"2.0\",\"method\":\"reload\"}", &req);
	ck_assert_ptr_null(req.id);
	ck_assert_str_eq(req.method, "reload");
	homi_rpc_request_done(&req);
}
END_TEST

START_TEST(parse_invalid_request)
{
	static const char *const cases[] = {
		/* jsonrpc missing, wrong version, wrong type */
		"{\"id\":1,\"method\":\"status\"}",
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"status\"}",
		"{\"jsonrpc\":2.0,\"id\":1,\"method\":\"status\"}",
		/* params neither object nor array */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"params\":\"x\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"params\":3}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"params\":null}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"params\":true}",
		/* method missing, not a string, empty, 64 characters */
		"{\"jsonrpc\":\"2.0\",\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":3}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
		"\"1234567890123456789012345678901234567890123456789012345678901234\"}",
		/* a member JSON-RPC does not have */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"parmas\":{}}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expect_error(cases[i], HOMI_RPC_INVALID_REQUEST, -EINVAL, 1);
	/* A bad id cannot be echoed: null. */
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"status\"}", HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"status\"}", HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"status\"}", HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
	/* Valid JSON that is no request object. */
	expect_error("42", HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
	expect_error("\"status\"", HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
	expect_error("null", HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
}
END_TEST

START_TEST(parse_params_array)
{
	/* Positional params are valid JSON-RPC; homi takes named ones only. */
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"apply\",\"params\":[1,2]}", HOMI_RPC_INVALID_PARAMS,
		     -EINVAL, 4);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"apply\",\"params\":[]}", HOMI_RPC_INVALID_PARAMS,
		     -EINVAL, 4);
}
END_TEST

START_TEST(parse_batch)
{
	expect_error("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}]", HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
	expect_error("[]", HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
}
END_TEST

START_TEST(parse_duplicate_keys)
{
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"method\":\"apply\"}",
		     HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"apply\",\"params\":{\"a\":1,\"a\":2}}",
		     HOMI_RPC_INVALID_REQUEST, -EINVAL, -1);
}
END_TEST

START_TEST(parse_garbage)
{
	static const char *const cases[] = {
		"{",
		"hello",
		"",
		"   ",
		"{\"jsonrpc\":\"2.0\",}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"} {}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}}",
		"{'jsonrpc':'2.0'}",
		/* \u0000 in a string */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"st\\u0000x\"}",
		/* not UTF-8: a lone continuation byte, an overlong encoding */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"st\x80\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc0\xaf\"}",
		"\xff\xfe{}",
	};
	static const char with_nul[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"st\0x\"}";

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expect_error(cases[i], HOMI_RPC_PARSE_ERROR, -EBADMSG, -1);
	expect_error_n(with_nul, sizeof(with_nul) - 1, HOMI_RPC_PARSE_ERROR, -EBADMSG, -1);
}
END_TEST

static void expect_line(json_t *msg, const char *expected)
{
	_cleanup_free_ char *line = homi_rpc_line(msg);

	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, expected);
	json_decref(msg);
}

START_TEST(build_lines)
{
	json_auto_t *id = json_integer(7);

	expect_line(homi_rpc_result(id, json_pack("{s:i}", "a", 1)), "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"a\":1}}\n");
	expect_line(homi_rpc_result(NULL, NULL), "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":null}\n");
	expect_line(homi_rpc_error(id, HOMI_RPC_METHOD_NOT_FOUND, "no \"x\"\nhere", json_pack("{s:i}", "x", 1)),
		    "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,\"message\":\"no \\\"x\\\"\\nhere\","
		    "\"data\":{\"x\":1}}}\n");
	expect_line(homi_rpc_error(NULL, HOMI_RPC_BUSY, "busy", NULL),
		    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32005,\"message\":\"busy\"}}\n");
	/* A message that is not UTF-8 still gives a valid line. */
	expect_line(homi_rpc_error(NULL, HOMI_RPC_INTERNAL_ERROR, "bad \xff", NULL),
		    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"(error message not UTF-8)\"}}\n");
	ck_assert_int_eq(id->refcount, 1);
}
END_TEST

/* ---- authorization ------------------------------------------------------- */

START_TEST(auth_decisions)
{
	struct homi_peer root = { .uid = 0, .gid = 0, .groups = { 0 }, .n_groups = 1 };
	struct homi_peer primary = { .uid = 1000, .gid = 990, .groups = { 990 }, .n_groups = 1 };
	struct homi_peer supp = { .uid = 1000, .gid = 1000, .groups = { 1000, 24, 990 }, .n_groups = 3 };
	struct homi_peer other = { .uid = 1000, .gid = 1000, .groups = { 1000, 24, 27 }, .n_groups = 3 };
	struct homi_peer minus = { .uid = 1000, .gid = (gid_t)-1, .groups = { (gid_t)-1 }, .n_groups = 1 };
	/* Beyond n_groups nothing counts. */
	struct homi_peer stale = { .uid = 1000, .gid = 1000, .groups = { 1000, 990 }, .n_groups = 1 };

	ck_assert(homi_peer_is_admin(&root, 990));
	ck_assert(homi_peer_is_admin(&primary, 990));
	ck_assert(homi_peer_is_admin(&supp, 990));
	ck_assert(!homi_peer_is_admin(&other, 990));
	ck_assert(!homi_peer_is_admin(&stale, 990));
	/* No admin group: root only, whatever groups a peer has. */
	ck_assert(homi_peer_is_admin(&root, (gid_t)-1));
	ck_assert(!homi_peer_is_admin(&primary, (gid_t)-1));
	ck_assert(!homi_peer_is_admin(&supp, (gid_t)-1));
	ck_assert(!homi_peer_is_admin(&minus, (gid_t)-1));
	ck_assert(!homi_peer_is_admin(NULL, 990));
}
END_TEST

/* ---- a real server ------------------------------------------------------- */

static char tmpdir[64], sock[96];
static struct homi_server *srv;

struct handler_state {
	pthread_mutex_t lock;
	struct homi_peer peer; /* of the last whoami */
	int notifications;
	int sleeping;
};
static struct handler_state hs = { .lock = PTHREAD_MUTEX_INITIALIZER };

static json_t *whoami(const struct homi_rpc_request *req, const struct homi_peer *peer)
{
	json_t *groups = json_array();

	pthread_mutex_lock(&hs.lock);
	hs.peer = *peer;
	pthread_mutex_unlock(&hs.lock);
	for (size_t i = 0; i < peer->n_groups; i++)
		json_array_append_new(groups, json_integer(peer->groups[i]));
	return homi_rpc_result(req->id, json_pack("{s:I, s:I, s:I, s:o}", "pid", (json_int_t)peer->pid, "uid",
						  (json_int_t)peer->uid, "gid", (json_int_t)peer->gid, "groups", groups));
}

static json_t *big(const struct homi_rpc_request *req)
{
	size_t n = (size_t)json_integer_value(json_object_get(req->params, "size"));
	_cleanup_free_ char *s = malloc(n);

	memset(s, 'x', n);
	return homi_rpc_result(req->id, json_stringn(s, n));
}

static json_t *nap(const struct homi_rpc_request *req)
{
	__atomic_add_fetch(&hs.sleeping, 1, __ATOMIC_SEQ_CST);
	usleep((useconds_t)json_integer_value(json_object_get(req->params, "ms")) * 1000);
	__atomic_sub_fetch(&hs.sleeping, 1, __ATOMIC_SEQ_CST);
	return homi_rpc_result(req->id, json_true());
}

static json_t *handler(void *userdata, const struct homi_peer *peer, const struct homi_rpc_request *req)
{
	ck_assert_ptr_eq(userdata, &hs);
	if (streq(req->method, "status"))
		return homi_rpc_result(req->id, json_pack("{s:b}", "ok", 1));
	if (streq(req->method, "echo"))
		return homi_rpc_result(req->id, json_incref(req->params));
	if (streq(req->method, "whoami"))
		return whoami(req, peer);
	if (streq(req->method, "big"))
		return big(req);
	if (streq(req->method, "sleep"))
		return nap(req);
	if (streq(req->method, "fail"))
		return homi_rpc_error(req->id, HOMI_RPC_POLICY_ERROR, "policy.json:3:7: bad", json_pack("{s:i}", "line", 3));
	if (streq(req->method, "notify")) {
		__atomic_add_fetch(&hs.notifications, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	if (streq(req->method, "noreply"))
		return NULL;
	return homi_rpc_error(req->id, HOMI_RPC_METHOD_NOT_FOUND, "unknown method", NULL);
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/homi-rpc-XXXXXX");
	ck_assert(mkdtemp(tmpdir));
	snprintf(sock, sizeof(sock), "%s/homid.sock", tmpdir);
	srv = NULL;
}

static void teardown(void)
{
	char cmd[128];

	homi_server_stop(TAKE_PTR(srv));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void start(void)
{
	ck_assert_int_eq(homi_server_start(sock, handler, &hs, &srv), 0);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct homi_server_stats stats(void)
{
	struct homi_server_stats st;

	homi_server_get_stats(srv, &st);
	return st;
}

/* Waits up to 60 s (valgrind is slow to start threads) for the server to
 * have ACTIVE connections. */
static void wait_active(unsigned active)
{
	int64_t end = now_ms() + 60000;

	while (stats().active != active && now_ms() < end)
		usleep(2000);
	ck_assert_uint_eq(stats().active, active);
}

static void wait_dropped(unsigned long dropped)
{
	int64_t end = now_ms() + 60000;

	while (stats().dropped < dropped && now_ms() < end)
		usleep(2000);
	ck_assert_uint_eq(stats().dropped, dropped);
}

/* A call that must succeed; returns the result. */
static json_t *call_ok(const char *method, json_t *params)
{
	json_t *result = NULL;
	_cleanup_free_ char *message = NULL;
	int code = 0;
	int r = homi_rpc_call(sock, method, params, 10000, &result, &code, &message, NULL);

	ck_assert_msg(r == 0, "%s: %s (code %d: %s)", method, strerror(-r), code, message ? message : "");
	ck_assert_ptr_nonnull(result);
	return result;
}

static void status_ok(void)
{
	json_auto_t *res = call_ok("status", NULL);

	ck_assert(json_is_true(json_object_get(res, "ok")));
}

/* A call that must fail with an error response of CODE. */
static void call_error(const char *method, json_t *params, int code)
{
	json_t *result = NULL, *data = NULL;
	_cleanup_free_ char *message = NULL;
	int got = 0;

	ck_assert_int_eq(homi_rpc_call(sock, method, params, 10000, &result, &got, &message, &data), -EREMOTEIO);
	ck_assert_int_eq(got, code);
	ck_assert_ptr_nonnull(message);
	ck_assert_ptr_null(result);
	json_decref(data);
}

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void raw_send(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		ck_assert_int_gt(n, 0);
		data += n;
		len -= (size_t)n;
	}
}

static void raw_puts(int fd, const char *s)
{
	raw_send(fd, s, strlen(s));
}

/* Reads one line (one byte at a time: nothing past it is consumed) within
 * TIMEOUT_MS. Returns it, or NULL at end of stream, reset or timeout, with
 * the reason in *ret (0: end of stream). */
static char *raw_line(int fd, int timeout_ms, int *ret)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap);
	int64_t end = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - now_ms());
		ssize_t n;

		if (left < 0 || poll(&p, 1, left) == 0) {
			*ret = -ETIMEDOUT;
			break;
		}
		n = read(fd, buf + len, 1);
		if (n <= 0) {
			*ret = n == 0 ? 0 : -errno;
			break;
		}
		if (buf[len] == '\n') {
			buf[len] = '\0';
			*ret = 1;
			return buf;
		}
		if (++len == cap)
			buf = realloc(buf, cap *= 2);
	}
	free(buf);
	return NULL;
}

/* Reads one response and checks its id (-1: null) and error code (0: a
 * result). Returns it. */
static json_t *raw_response(int fd, json_int_t id, int code)
{
	int r;
	_cleanup_free_ char *line = raw_line(fd, 10000, &r);
	json_t *msg, *jid;

	ck_assert_msg(line, "no response: %d", r);
	msg = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_msg(msg, "not JSON: %s", line);
	jid = json_object_get(msg, "id");
	ck_assert_msg(id < 0 ? json_is_null(jid) : json_integer_value(jid) == id, "%s: id not %lld", line,
		      (long long)id);
	if (code)
		ck_assert_msg(json_integer_value(json_object_get(json_object_get(msg, "error"), "code")) == code,
			      "%s: not %d", line, code);
	else
		ck_assert_msg(json_object_get(msg, "result"), "%s: no result", line);
	return msg;
}

static void expect_closed(int fd, int timeout_ms)
{
	int r;
	char *line = raw_line(fd, timeout_ms, &r);

	ck_assert_msg(!line, "unexpected line: %s", line);
	ck_assert_msg(r == 0 || r == -ECONNRESET, "not closed: %d", r);
}

START_TEST(round_trip)
{
	json_auto_t *params = json_pack("{s:s, s:[i,i]}", "policy", "{\"homi-policy\": 1}", "list", 1, 2);
	json_auto_t *echo = NULL, *bigres = NULL, *bigp = json_pack("{s:i}", "size", 3 * 1024 * 1024);
	json_auto_t *list = json_array();
	json_t *result = NULL, *data = NULL;
	char *message = NULL;
	struct stat st;
	int code = 0;

	start();
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0666);

	status_ok();
	echo = call_ok("echo", params);
	ck_assert(json_equal(echo, params));
	/* A large answer (a topology document) grows the client's buffer. */
	bigres = call_ok("big", bigp);
	ck_assert_uint_eq(json_string_length(bigres), 3 * 1024 * 1024);

	/* The handler's error, with its data. */
	ck_assert_int_eq(homi_rpc_call(sock, "fail", NULL, 10000, &result, &code, &message, &data), -EREMOTEIO);
	ck_assert_int_eq(code, HOMI_RPC_POLICY_ERROR);
	ck_assert_str_eq(message, "policy.json:3:7: bad");
	ck_assert_int_eq(json_integer_value(json_object_get(data, "line")), 3);
	ck_assert_ptr_null(result);
	free(message);
	json_decref(data);
	/* Without the optional outputs. */
	ck_assert_int_eq(homi_rpc_call(sock, "fail", NULL, 10000, NULL, NULL, NULL, NULL), -EREMOTEIO);
	ck_assert_int_eq(homi_rpc_call(sock, "status", NULL, 0, NULL, NULL, NULL, NULL), 0);

	/* The handler decides what is unknown. */
	call_error("no.such.method", NULL, HOMI_RPC_METHOD_NOT_FOUND);
	/* A request answered NULL (a handler bug) is still answered. */
	call_error("noreply", NULL, HOMI_RPC_INTERNAL_ERROR);

	/* Refused locally. */
	ck_assert_int_eq(homi_rpc_call(sock, "", NULL, 1000, &result, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(homi_rpc_call(sock, "status", list, 1000, &result, NULL, NULL, NULL), -EINVAL);
	ck_assert_uint_eq(stats().errors, 4);
	ck_assert_uint_eq(stats().dropped, 0);
}
END_TEST

START_TEST(over_long_line)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"";
	_cleanup_free_ char *line = malloc(HOMI_RPC_MAX_LINE + 2);
	json_t *msg;
	int fd, other;

	start();
	other = raw_connect();
	raw_puts(other, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\n");
	json_decref(raw_response(other, 1, 0));

	/* Exactly 64 KiB with its newline: accepted. */
	memset(line, ' ', HOMI_RPC_MAX_LINE + 1);
	memcpy(line, head, strlen(head));
	line[HOMI_RPC_MAX_LINE - 2] = '}';
	line[HOMI_RPC_MAX_LINE - 1] = '\n';
	fd = raw_connect();
	raw_send(fd, line, HOMI_RPC_MAX_LINE);
	json_decref(raw_response(fd, 1, 0));

	/* One byte more: refused, and the connection closed. */
	line[HOMI_RPC_MAX_LINE - 1] = '}';
	line[HOMI_RPC_MAX_LINE] = '\n';
	raw_send(fd, line, HOMI_RPC_MAX_LINE + 1);
	msg = raw_response(fd, -1, HOMI_RPC_INVALID_REQUEST);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(msg, "error"), "message")),
			 "request over 64 KiB");
	json_decref(msg);
	expect_closed(fd, 5000);
	close(fd);

	/* Meanwhile the other client is served, on its open connection. */
	raw_puts(other, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"status\"}\n");
	json_decref(raw_response(other, 2, 0));
	close(other);

	/* A line with no end at all is cut at the limit, not waited for. */
	fd = raw_connect();
	memset(line, 'x', HOMI_RPC_MAX_LINE + 1);
	raw_send(fd, line, HOMI_RPC_MAX_LINE + 1);
	json_decref(raw_response(fd, -1, HOMI_RPC_INVALID_REQUEST));
	expect_closed(fd, 5000);
	close(fd);
	wait_dropped(2);

	/* The client refuses to send one. */
	{
		_cleanup_free_ char *s = calloc(1, HOMI_RPC_MAX_LINE + 1);
		json_auto_t *p = NULL;

		memset(s, 'a', HOMI_RPC_MAX_LINE);
		p = json_pack("{s:s}", "policy", s);
		ck_assert_int_eq(homi_rpc_call(sock, "apply", p, 1000, NULL, NULL, NULL, NULL), -EMSGSIZE);
	}
	status_ok();
}
END_TEST

START_TEST(malformed_keeps_connection)
{
	int fd;

	start();
	fd = raw_connect();
	raw_puts(fd, "garbage\n");
	json_decref(raw_response(fd, -1, HOMI_RPC_PARSE_ERROR));
	raw_puts(fd, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"status\",\"params\":[]}\n");
	json_decref(raw_response(fd, 3, HOMI_RPC_INVALID_PARAMS));
	raw_puts(fd, "[{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"status\"}]\n");
	json_decref(raw_response(fd, -1, HOMI_RPC_INVALID_REQUEST));
	raw_puts(fd, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"nope\"}\n");
	json_decref(raw_response(fd, 5, HOMI_RPC_METHOD_NOT_FOUND));
	raw_puts(fd, "\xff\xfe\n");
	json_decref(raw_response(fd, -1, HOMI_RPC_PARSE_ERROR));
	/* Still served, in order, several lines in one write, CRLF too. */
	raw_puts(fd, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"status\"}\r\n"
		     "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"status\"}\n");
	json_decref(raw_response(fd, 6, 0));
	json_decref(raw_response(fd, 7, 0));
	close(fd);
	ck_assert_uint_eq(stats().requests, 7);
	ck_assert_uint_eq(stats().errors, 5);
	ck_assert_uint_eq(stats().dropped, 0);
}
END_TEST

/* A request of nested arrays: "params": {"a": [[...]]} DEPTH deep. */
static char *nested_request(int depth)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"echo\",\"params\":{\"a\":";
	size_t n = strlen(head);
	char *s = malloc(n + 2 * (size_t)depth + 4);

	memcpy(s, head, n);
	memset(s + n, '[', (size_t)depth);
	memset(s + n + depth, ']', (size_t)depth);
	strcpy(s + n + 2 * depth, "}}\n");
	return s;
}

START_TEST(deep_nesting)
{
	_cleanup_free_ char *ok = nested_request(1500), *deep = nested_request(20000);
	json_t *msg;
	int fd;

	start();
	fd = raw_connect();
	/* Echoed whole (parsed, copied, dumped, freed on a server thread). */
	raw_puts(fd, ok);
	msg = raw_response(fd, 9, 0);
	json_decref(msg);
	/* jansson stops at its depth limit: a parse error, the connection kept. */
	raw_puts(fd, deep);
	json_decref(raw_response(fd, -1, HOMI_RPC_PARSE_ERROR));
	raw_puts(fd, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"status\"}\n");
	json_decref(raw_response(fd, 10, 0));
	close(fd);
}
END_TEST

START_TEST(notifications)
{
	int fd;

	start();
	fd = raw_connect();
	/* Empty lines are skipped; notifications get no answer, not even an
	 * error from the handler. */
	raw_puts(fd, "\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"notify\"}\n"
		     "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}\n"
		     "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"status\"}\n");
	json_decref(raw_response(fd, 8, 0));
	ck_assert_int_eq(__atomic_load_n(&hs.notifications, __ATOMIC_SEQ_CST), 1);
	ck_assert_uint_eq(stats().requests, 3);
	close(fd);
	__atomic_store_n(&hs.notifications, 0, __ATOMIC_SEQ_CST);
}
END_TEST

START_TEST(slow_and_idle_clients)
{
	int64_t t0;
	int half, idle;

	start();
	ck_assert_int_eq(homi_server_set_timeouts(srv, 300, 300), 0);
	ck_assert_int_eq(homi_server_set_timeouts(srv, -1, 300), -EINVAL);
	half = raw_connect();
	raw_puts(half, "{\"jsonrpc\":\"2.0\",");
	idle = raw_connect();

	/* Another client is not held up. */
	t0 = now_ms();
	status_ok();
	ck_assert_int_lt(now_ms() - t0, 250);

	/* Both are dropped after the read timeout, not before. */
	expect_closed(half, 5000);
	ck_assert_int_ge(now_ms() - t0, 250);
	expect_closed(idle, 5000);
	close(half);
	close(idle);
	wait_dropped(2);
	wait_active(0);
	status_ok();
}
END_TEST

START_TEST(client_that_does_not_read)
{
	char req[128];
	int fd;

	start();
	ck_assert_int_eq(homi_server_set_timeouts(srv, 30000, 200), 0);
	fd = raw_connect();
	/* Answers of 1 MiB each, never read: the socket buffer fills up. */
	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"big\",\"params\":{\"size\":%d}}\n",
		 1024 * 1024);
	for (int i = 0; i < 4; i++)
		raw_puts(fd, req);
	status_ok();
	wait_dropped(1);
	wait_active(0);
	close(fd);
	status_ok();
}
END_TEST

START_TEST(vanished_clients)
{
	int fd;

	start();
	/* Half a line, then gone. */
	fd = raw_connect();
	raw_puts(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth");
	close(fd);
	/* A whole request, gone before its answer is written. */
	fd = raw_connect();
	raw_puts(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sleep\",\"params\":{\"ms\":100}}\n");
	close(fd);
	/* Gone with a reset (unread data in its receive queue). */
	fd = raw_connect();
	raw_puts(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"meth");
	usleep(50000);
	close(fd);
	wait_active(0);
	status_ok();
	ck_assert_uint_eq(stats().connections, 4);
	ck_assert_uint_eq(stats().dropped, 0);
}
END_TEST

START_TEST(stale_socket_replaced)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *path2 = NULL;
	int fd;

	/* A socket file left by a dead daemon. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(access(sock, F_OK), 0);
	ck_assert_int_eq(homi_rpc_call(sock, "status", NULL, 1000, NULL, NULL, NULL, NULL), -ECONNREFUSED);
	start();
	status_ok();
	homi_server_stop(TAKE_PTR(srv));
	/* Gone with the server. */
	ck_assert_int_eq(access(sock, F_OK), -1);
	ck_assert_int_eq(homi_rpc_call(sock, "status", NULL, 1000, NULL, NULL, NULL, NULL), -ENOENT);

	/* Anything but a socket is left alone. */
	ck_assert_int_eq(asprintf(&path2, "%s/file", tmpdir), (int)strlen(tmpdir) + 5);
	fd = open(path2, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	ck_assert_int_eq(homi_server_start(path2, handler, &hs, &srv), -EEXIST);
	ck_assert_ptr_null(srv);
	ck_assert_int_eq(access(path2, F_OK), 0);
	/* Bad paths. */
	ck_assert_int_eq(homi_server_start("/nonexistent-dir/x.sock", handler, &hs, &srv), -ENOENT);
	ck_assert_int_eq(homi_server_start("", handler, &hs, &srv), -EINVAL);
	ck_assert_int_eq(homi_server_start(sock, NULL, &hs, &srv), -EINVAL);
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		ck_assert_int_eq(homi_server_start(longp, handler, &hs, &srv), -ENAMETOOLONG);
		ck_assert_int_eq(homi_rpc_call(longp, "status", NULL, 1000, NULL, NULL, NULL, NULL), -ENAMETOOLONG);
	}
}
END_TEST

START_TEST(live_socket_refused)
{
	struct homi_server *second = NULL;

	start();
	ck_assert_int_eq(homi_server_start(sock, handler, &hs, &second), -EADDRINUSE);
	ck_assert_ptr_null(second);
	/* The first one keeps its socket and serves. */
	status_ok();
	wait_active(0);
}
END_TEST

static void check_own_peer(void)
{
	json_auto_t *res = call_ok("whoami", NULL);
	json_t *groups = json_object_get(res, "groups");
	gid_t list[256];
	int n = getgroups((int)ARRAY_SIZE(list), list);

	ck_assert_int_eq(json_integer_value(json_object_get(res, "uid")), getuid());
	ck_assert_int_eq(json_integer_value(json_object_get(res, "gid")), getgid());
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pid")), getpid());
	ck_assert_int_eq(json_integer_value(json_array_get(groups, 0)), getgid());
	for (int i = 0; i < n && i < 63; i++) {
		bool found = false;

		for (size_t j = 0; j < json_array_size(groups); j++)
			found = found || json_integer_value(json_array_get(groups, j)) == list[i];
		ck_assert_msg(found, "group %u missing", (unsigned)list[i]);
	}
}

/* A child with uid and gid 1234 and supplementary GROUPS calls whoami over a
 * raw socket (no allocation after fork) and passes the answer up a pipe. */
static void child_whoami(int out, const gid_t *groups, size_t n_groups)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"whoami\"}\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	ssize_t n;
	int fd;

	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if (setgroups(n_groups, groups) < 0 || setgid(1234) < 0 || setuid(1234) < 0)
		_exit(2);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		_exit(3);
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		_exit(4);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			_exit(5);
		if (memchr(buf, '\n', (size_t)n))
			break;
	}
	_exit(0);
}

/* The peer the server saw for a child with GROUPS. */
static struct homi_peer peer_of_child(const gid_t *groups, size_t n_groups)
{
	struct homi_peer peer;
	int p[2], status, r;
	pid_t pid;
	char *line;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child_whoami(p[1], groups, n_groups);
	close(p[1]);
	line = raw_line(p[0], 10000, &r);
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	/* Its answer is the verdict (under valgrind its exit code is valgrind's). */
	ck_assert_msg(line, "child: no answer, status %d", status);
	free(line);
	pthread_mutex_lock(&hs.lock);
	peer = hs.peer;
	pthread_mutex_unlock(&hs.lock);
	ck_assert_int_eq(peer.pid, pid);
	ck_assert_int_eq(peer.uid, 1234);
	ck_assert_int_eq(peer.gid, 1234);
	ck_assert_int_eq(peer.groups[0], 1234); /* primary first, then SO_PEERGROUPS */
	return peer;
}

START_TEST(peer_credentials)
{
	static const gid_t two[] = { 4242, 4343 };
	gid_t many[70];
	struct homi_peer peer;

	start();
	check_own_peer();
	if (getuid() != 0)
		return; /* changing credentials needs root */
	ck_assert_int_eq(chmod(tmpdir, 0755), 0); /* for the child to reach the socket */

	peer = peer_of_child(two, ARRAY_SIZE(two));
	ck_assert_uint_eq(peer.n_groups, 3);
	ck_assert_int_eq(peer.groups[1], 4242);
	ck_assert_int_eq(peer.groups[2], 4343);
	ck_assert(!peer.groups_truncated);
	ck_assert(homi_peer_is_admin(&peer, 4343));
	ck_assert(homi_peer_is_admin(&peer, 1234));
	ck_assert(!homi_peer_is_admin(&peer, 990));
	ck_assert(!homi_peer_is_admin(&peer, (gid_t)-1));

	/* More than fit (SO_PEERGROUPS says ERANGE first): the first 63 kept,
	 * the rest do not count (fail closed). */
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = 5000 + (gid_t)i;
	peer = peer_of_child(many, ARRAY_SIZE(many));
	ck_assert_uint_eq(peer.n_groups, 64);
	ck_assert(peer.groups_truncated);
	ck_assert_int_eq(peer.groups[63], 5062);
	ck_assert(homi_peer_is_admin(&peer, 5000));
	ck_assert(homi_peer_is_admin(&peer, 5062));
	ck_assert(!homi_peer_is_admin(&peer, 5069));
}
END_TEST

/* A child with uid and gid UID opens N connections one after the other,
 * asking status on each, and reports up OUT one byte per connection: 'o'
 * answered, 'b' refused busy (-32005, then closed), 'x' anything else. It
 * then keeps its connections open until HOLD reaches end of stream. Raw
 * system calls only: the parent has threads. */
static void child_hold(int out, int hold, uid_t uid, int n)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[512], c;

	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 || setuid(uid) < 0)
		_exit(2);
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ssize_t got = 0, k;

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(3);
		(void)!send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL); /* a refused one may be closed already */
		while (got < (ssize_t)sizeof(buf) - 1 && (k = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
			got += k;
			if (memchr(buf, '\n', (size_t)got))
				break;
		}
		buf[got] = '\0';
		c = strstr(buf, "-32005") ? 'b' : strstr(buf, "\"ok\":true") ? 'o' : 'x';
		if (write(out, &c, 1) != 1)
			_exit(4);
	}
	while (read(hold, &c, 1) > 0)
		;
	_exit(0);
}

/* Starts child_hold; returns its report (N bytes) in REPORT. */
static pid_t start_holder(uid_t uid, int n, int *ret_hold, char *report)
{
	int p[2], h[2], r;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(h, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(h[1]);
		child_hold(p[1], h[0], uid, n);
	}
	close(p[1]);
	close(h[0]);
	for (int got = 0; got < n; got += r) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ck_assert_msg(poll(&pf, 1, 60000) == 1, "uid %u: no report", (unsigned)uid);
		r = (int)read(p[0], report + got, (size_t)(n - got));
		ck_assert_msg(r > 0, "uid %u: report cut short after %d", (unsigned)uid, got);
	}
	report[n] = '\0';
	close(p[0]);
	*ret_hold = h[1];
	return pid;
}

static void stop_holder(pid_t pid, int hold)
{
	int status;

	close(hold);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

/* docs/security.md: one local user cannot take every connection. */
START_TEST(per_uid_connection_cap)
{
	char a[8], b[8];
	int hold_a, hold_b;
	pid_t pa, pb;

	start();
	ck_assert_int_eq(homi_server_set_conn_limits(srv, 0, HOMI_SERVER_MAX_CONN, (gid_t)-1), -EINVAL);
	ck_assert_int_eq(homi_server_set_conn_limits(NULL, 4, 0, (gid_t)-1), -EINVAL);
	if (getuid() != 0)
		return; /* connecting as other uids needs root */
	ck_assert_int_eq(chmod(tmpdir, 0755), 0); /* for the children to reach the socket */
	ck_assert_int_eq(homi_server_set_conn_limits(srv, 4, 0, (gid_t)-1), 0);

	/* uid 1234 holds its 4; its 5th is refused busy */
	pa = start_holder(1234, 5, &hold_a, a);
	ck_assert_str_eq(a, "oooob");
	wait_active(4);
	/* another uid, and root, are still served */
	pb = start_holder(1235, 2, &hold_b, b);
	ck_assert_str_eq(b, "oo");
	status_ok();
	stop_holder(pb, hold_b);
	wait_active(4);

	/* a reserve for root and the privileged group: with 5 slots of 256
	 * left to others, uid 1235 gets one (4 + 1 held), the next is
	 * refused; root gets past it */
	ck_assert_int_eq(homi_server_set_conn_limits(srv, 4, HOMI_SERVER_MAX_CONN - 5, 1236), 0);
	pb = start_holder(1235, 2, &hold_b, b);
	ck_assert_str_eq(b, "ob");
	status_ok();
	/* a member of the privileged (admin) group gets past the reserve and
	 * its uid's cap, as root does (the holders' gid is their uid) */
	int hold_c;
	char c6[8];
	pid_t pc = start_holder(1236, 6, &hold_c, c6);
	ck_assert_str_eq(c6, "oooooo");
	stop_holder(pc, hold_c);
	wait_active(5);
	int fds[4];
	for (int i = 0; i < 4; i++)
		fds[i] = raw_connect();
	status_ok(); /* uid 0: only the total cap */
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	stop_holder(pb, hold_b);
	stop_holder(pa, hold_a);
	wait_active(0);

	/* the uid's slots come back as its connections end */
	pa = start_holder(1234, 4, &hold_a, a);
	ck_assert_str_eq(a, "oooo");
	stop_holder(pa, hold_a);
	wait_active(0);
}
END_TEST

#define N_CLIENTS 64

/* 100 requests per client; HOMI_TEST_RPC_REQUESTS=N changes that (valgrind
 * hands its one lock between 128 threads slowly: about 4 minutes for 100). */
static int n_requests(void)
{
	const char *e = getenv("HOMI_TEST_RPC_REQUESTS");

	return e && atoi(e) > 0 ? atoi(e) : 100;
}

static void *client_main(void *userdata)
{
	int *failed = userdata;

	for (int i = 0, n = n_requests(); i < n; i++) {
		json_t *res = NULL;

		if (homi_rpc_call(sock, "status", NULL, 60000, &res, NULL, NULL, NULL) < 0 ||
		    !json_is_true(json_object_get(res, "ok")))
			__atomic_add_fetch(failed, 1, __ATOMIC_SEQ_CST);
		json_decref(res);
	}
	return NULL;
}

START_TEST(concurrent_clients)
{
	pthread_t t[N_CLIENTS];
	int failed = 0;

	start();
	for (int i = 0; i < N_CLIENTS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, client_main, &failed), 0);
	for (int i = 0; i < N_CLIENTS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(failed, 0);
	ck_assert_uint_eq(stats().requests, N_CLIENTS * n_requests());
	ck_assert_uint_eq(stats().connections, N_CLIENTS * n_requests());
	ck_assert_uint_eq(stats().errors, 0);
	wait_active(0);
}
END_TEST

START_TEST(busy_beyond_max_connections)
{
	int fds[HOMI_SERVER_MAX_CONN];

	start();
	for (int i = 0; i < HOMI_SERVER_MAX_CONN; i++)
		fds[i] = raw_connect();
	wait_active(HOMI_SERVER_MAX_CONN);
	call_error("status", NULL, HOMI_RPC_BUSY);
	ck_assert_uint_eq(stats().dropped, 1);
	for (int i = 0; i < HOMI_SERVER_MAX_CONN; i++)
		close(fds[i]);
	wait_active(0);
	status_ok();
}
END_TEST

static void *sleeper_main(void *userdata)
{
	json_auto_t *p = json_pack("{s:i}", "ms", (int)(intptr_t)userdata);
	int *r = malloc(sizeof(int));

	*r = homi_rpc_call(sock, "sleep", p, 10000, NULL, NULL, NULL, NULL);
	return r;
}

static void wait_sleeping(void)
{
	int64_t end = now_ms() + 10000;

	while (__atomic_load_n(&hs.sleeping, __ATOMIC_SEQ_CST) == 0 && now_ms() < end)
		usleep(1000);
	ck_assert_int_eq(__atomic_load_n(&hs.sleeping, __ATOMIC_SEQ_CST), 1);
}

START_TEST(status_during_long_handler)
{
	pthread_t t;
	int64_t t0;
	int *r;

	start();
	ck_assert_int_eq(pthread_create(&t, NULL, sleeper_main, (void *)(intptr_t)1000), 0);
	wait_sleeping();
	t0 = now_ms();
	status_ok();
	ck_assert_int_lt(now_ms() - t0, 500);
	ck_assert_int_eq(__atomic_load_n(&hs.sleeping, __ATOMIC_SEQ_CST), 1);
	pthread_join(t, (void **)&r);
	ck_assert_int_eq(*r, 0);
	free(r);
}
END_TEST

START_TEST(stop_with_clients)
{
	pthread_t t;
	int idle, *r;

	start();
	idle = raw_connect();
	ck_assert_int_eq(pthread_create(&t, NULL, sleeper_main, (void *)(intptr_t)300), 0);
	wait_sleeping();
	wait_active(2);
	/* Waits for the running handler, closes both, removes the socket. */
	homi_server_stop(TAKE_PTR(srv));
	ck_assert_int_eq(__atomic_load_n(&hs.sleeping, __ATOMIC_SEQ_CST), 0);
	expect_closed(idle, 1000);
	close(idle);
	pthread_join(t, (void **)&r);
	ck_assert_int_lt(*r, 0);
	free(r);
	ck_assert_int_eq(access(sock, F_OK), -1);
	homi_server_stop(NULL);
}
END_TEST

/* A fake daemon that answers whatever it is given. */
struct fake {
	int fd;
	const char *answer;
};

static void *fake_main(void *userdata)
{
	struct fake *f = userdata;
	int c = accept4(f->fd, NULL, NULL, SOCK_CLOEXEC);
	char buf[512];

	if (c >= 0) {
		(void)!read(c, buf, sizeof(buf));
		if (f->answer)
			(void)!write(c, f->answer, strlen(f->answer));
		else
			usleep(300000);
		close(c);
	}
	return NULL;
}

static int fake_call(const char *answer, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fake f = { .answer = answer };
	pthread_t t;
	int r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	unlink(sock);
	f.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(f.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f.fd, 1), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, fake_main, &f), 0);
	r = homi_rpc_call(sock, "status", NULL, timeout_ms, NULL, NULL, NULL, NULL);
	pthread_join(t, NULL);
	close(f.fd);
	return r;
}

START_TEST(client_errors)
{
	ck_assert_int_eq(homi_rpc_call(sock, "status", NULL, 1000, NULL, NULL, NULL, NULL), -ENOENT);
	ck_assert_int_eq(fake_call("hello\n", 5000), -EPROTO);
	ck_assert_int_eq(fake_call("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":1}\n", 5000), -EPROTO); /* not our id */
	ck_assert_int_eq(fake_call("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}\n", 5000), -EPROTO);
	ck_assert_int_eq(fake_call("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}\n", 5000),
			 -EPROTO);
	ck_assert_int_eq(fake_call("{\"jsonrpc\":\"2.0\",\"id\":1,\"res", 5000), -EPROTO); /* cut short */
	ck_assert_int_eq(fake_call("", 5000), -ECONNRESET);
	ck_assert_int_eq(fake_call("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}\n", 5000), 0);
	ck_assert_int_eq(fake_call(NULL, 100), -ETIMEDOUT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("rpc");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parse_valid);
	tcase_add_test(tc, parse_notification);
	tcase_add_test(tc, parse_invalid_request);
	tcase_add_test(tc, parse_params_array);
	tcase_add_test(tc, parse_batch);
	tcase_add_test(tc, parse_duplicate_keys);
	tcase_add_test(tc, parse_garbage);
	tcase_add_test(tc, build_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("auth");
	tcase_add_test(tc, auth_decisions);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, over_long_line);
	tcase_add_test(tc, malformed_keeps_connection);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, notifications);
	tcase_add_test(tc, slow_and_idle_clients);
	tcase_add_test(tc, client_that_does_not_read);
	tcase_add_test(tc, vanished_clients);
	tcase_add_test(tc, stale_socket_replaced);
	tcase_add_test(tc, live_socket_refused);
	tcase_add_test(tc, peer_credentials);
	tcase_add_test(tc, concurrent_clients);
	tcase_add_test(tc, busy_beyond_max_connections);
	tcase_add_test(tc, per_uid_connection_cap);
	tcase_add_test(tc, status_during_long_handler);
	tcase_add_test(tc, stop_with_clients);
	tcase_add_test(tc, client_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite(), CK_NORMAL);
}
