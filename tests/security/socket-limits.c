/* SPDX-License-Identifier: MIT */
/* socket-limits [SOCKET]: hostile clients against homid's socket server
 * (docs/security.md). With SOCKET (a running homid): a request line of
 * exactly 64 KiB is served, one over it is refused and the connection
 * closed, an endless line is cut off after 64 KiB. Without: the same on a
 * server of its own (homi_server_start with short timeouts), and what needs
 * the timeouts short: a client dripping a line byte by byte, an idle one,
 * one that never reads its answers, and 256 of them at once, while another
 * client's requests keep being answered promptly. Exit 0 when every check
 * holds. */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "rpc-internal.h"
#include "rpc.h"
#include "server.h"

#define TIMEOUT_MS 300
static int failures;

#define CHECK(cond, ...)                                  \
	do {                                              \
		if (cond) {                               \
			printf("ok   ");                  \
		} else {                                  \
			printf("FAIL ");                  \
			failures++;                       \
		}                                         \
		printf(__VA_ARGS__);                      \
		putchar('\n');                            \
	} while (0)

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

/* Sends up to LEN bytes (stops at the first error); returns how many went. */
static size_t send_some(int fd, const char *buf, size_t len)
{
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	return sent;
}

/* Reads one answer line within WAIT_MS; its text, or "" on EOF/timeout.
 * With RET_CLOSED: whether the server closed the connection after it
 * (waiting up to WAIT_MS more for that). */
static char *read_line(int fd, int wait_ms, bool *ret_closed)
{
	static char buf[1 << 16];
	size_t len = 0;
	int64_t deadline = homi_deadline_ms(wait_ms);

	bool closed = false;

	while (len < sizeof(buf) - 1) {
		if (homi_fd_wait(fd, POLLIN, deadline) < 0)
			break;
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0) {
			closed = true;
			break;
		}
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	if (ret_closed && !closed && strchr(buf, '\n')) {
		char c;
		/* closed right after the answer? */
		closed = homi_fd_wait(fd, POLLIN, homi_deadline_ms(wait_ms)) == 0 && recv(fd, &c, 1, 0) <= 0;
	}
	if (ret_closed)
		*ret_closed = closed;
	return buf;
}

/* A status request padded with spaces to TOTAL bytes, newline included. */
static char *padded_request(size_t total)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"status\"}";
	char *s = malloc(total + 1);

	memset(s, ' ', total);
	memcpy(s, req, sizeof(req) - 1);
	s[total - 1] = '\n';
	s[total] = '\0';
	return s;
}

static void limits(const char *path)
{
	bool closed;
	char *line, *req;
	int fd;

	/* exactly 64 KiB: served */
	fd = connect_to(path);
	req = padded_request(HOMI_RPC_MAX_LINE);
	send_some(fd, req, HOMI_RPC_MAX_LINE);
	line = read_line(fd, 5000, NULL);
	CHECK(strstr(line, "\"id\":7") && strstr(line, "\"result\""), "a request of exactly 64 KiB is served");
	close(fd);
	free(req);

	/* one byte more: refused, connection closed */
	fd = connect_to(path);
	req = padded_request(HOMI_RPC_MAX_LINE + 1);
	send_some(fd, req, HOMI_RPC_MAX_LINE + 1);
	line = read_line(fd, 5000, &closed);
	CHECK(strstr(line, "-32600") && strstr(line, "over 64 KiB") && closed,
	      "a request of 64 KiB + 1 is refused (-32600) and the connection closed (got: %.80s%s)", line,
	      closed ? ", closed" : "");
	close(fd);
	free(req);

	/* endless: no newline ever, 16 MiB offered */
	size_t offered = 16u << 20, sent;
	char *junk = malloc(offered);
	memset(junk, 'x', offered);
	fd = connect_to(path);
	sent = send_some(fd, junk, offered);
	line = read_line(fd, 5000, &closed);
	CHECK(sent < offered && strstr(line, "over 64 KiB"),
	      "an endless line is cut off: %zu of %zu bytes taken, then refused", sent, offered);
	close(fd);
	free(junk);
}

/* ---- the hostile clients that need short timeouts ------------------------ */

static json_t *handler(void *userdata, const struct homi_peer *peer, const struct homi_rpc_request *req)
{
	if (streq(req->method, "big")) /* an answer larger than the socket buffers */
		return homi_rpc_result(req->id, json_pack("{s:s%}", "pad", (const char *)userdata, (size_t)(4u << 20)));
	return homi_rpc_result(req->id, json_pack("{s:i}", "uid", (int)peer->uid));
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Time until the server closes FD, in ms (waits at most 5 s). */
static double until_closed(int fd, double t0)
{
	char buf[4096];
	bool closed = false;

	while (!closed && now_ms() - t0 < 5000) {
		if (homi_fd_wait(fd, POLLIN, homi_deadline_ms(100)) == 0)
			closed = recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == 0;
	}
	return closed ? now_ms() - t0 : -1;
}

/* Round trip of one status request on a fresh connection, in ms. */
static double round_trip(const char *path)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\n";
	double t0 = now_ms();
	int fd = connect_to(path);

	send_some(fd, req, sizeof(req) - 1);
	char *line = read_line(fd, 2000, NULL);
	close(fd);
	return strstr(line, "\"result\"") ? now_ms() - t0 : 1e9;
}

struct dripper {
	const char *path;
	double closed_after;
};

static void *drip(void *arg)
{
	struct dripper *d = arg;
	int fd = connect_to(d->path);
	double t0 = now_ms();

	/* one byte every 50 ms, never a newline: each byte arrives well within
	 * the timeout, the line never does */
	while (now_ms() - t0 < 3000 && send(fd, "x", 1, MSG_NOSIGNAL) == 1) {
		char c;
		if (recv(fd, &c, 1, MSG_DONTWAIT) == 0)
			break;
		usleep(50000);
	}
	d->closed_after = until_closed(fd, t0);
	close(fd);
	return NULL;
}

static void slow_clients(const char *path, struct homi_server *srv)
{
	struct homi_server_stats st0, st;
	struct dripper d = { .path = path };
	pthread_t t;
	double worst = 0;
	int fd;

	homi_server_get_stats(srv, &st0);
	pthread_create(&t, NULL, drip, &d);
	/* meanwhile another client is served promptly */
	for (int i = 0; i < 20; i++) {
		double rt = round_trip(path);
		worst = rt > worst ? rt : worst;
		usleep(20000);
	}
	pthread_join(t, NULL);
	CHECK(d.closed_after > 0 && d.closed_after < TIMEOUT_MS + 1000,
	      "a line dripped byte by byte is dropped %.0f ms in (read timeout %d ms)", d.closed_after, TIMEOUT_MS);
	CHECK(worst < 200, "meanwhile another client's status round trip stays at most %.1f ms", worst);

	fd = connect_to(path);
	double idle = until_closed(fd, now_ms());
	CHECK(idle > 0 && idle < TIMEOUT_MS + 1000, "an idle connection is dropped after %.0f ms", idle);
	close(fd);

	/* a client that asks for big answers and never reads them */
	static const char big[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"big\"}\n";
	fd = connect_to(path);
	for (int i = 0; i < 4; i++)
		send_some(fd, big, sizeof(big) - 1);
	double t0 = now_ms(), rt = round_trip(path);
	usleep(2 * TIMEOUT_MS * 1000);
	homi_server_get_stats(srv, &st);
	CHECK(rt < 500 && st.dropped > st0.dropped + 1,
	      "a client that never reads its answers is dropped (write timeout), others served in %.1f ms", rt);
	(void)t0;
	close(fd);

	/* 256 connections held open: the next one is told busy, then served once some go */
	int fds[HOMI_SERVER_MAX_CONN];
	for (int i = 0; i < HOMI_SERVER_MAX_CONN; i++)
		fds[i] = connect_to(path);
	usleep(100000);
	bool closed;
	int extra = connect_to(path);
	char *line = read_line(extra, 2000, &closed);
	CHECK(strstr(line, "-32005") != NULL && closed, "connection %d is refused busy (-32005)",
	      HOMI_SERVER_MAX_CONN + 1);
	close(extra);
	for (int i = 0; i < 16; i++)
		close(fds[i]);
	usleep(200000);
	CHECK(round_trip(path) < 1000, "and once some close, new clients are served");
	for (int i = 16; i < HOMI_SERVER_MAX_CONN; i++)
		close(fds[i]);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		limits(argv[1]);
		return failures ? 1 : 0;
	}
	char dir[] = "/tmp/homi-limits-XXXXXX", path[64];
	struct homi_server *srv = NULL;
	static char pad[(4u << 20) + 1];

	memset(pad, 'p', sizeof(pad) - 1);
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	if (homi_server_start(path, handler, pad, &srv) < 0 || homi_server_set_timeouts(srv, TIMEOUT_MS, TIMEOUT_MS) < 0)
		return 1;
	limits(path);
	slow_clients(path, srv);
	homi_server_stop(srv);
	rmdir(dir);
	return failures ? 1 : 0;
}
