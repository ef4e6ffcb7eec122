/* SPDX-License-Identifier: MIT */
/* rpc-load: load generator for homid's socket (tests/bench/daemon).
 *
 *   rpc-load --socket PATH [--clients N] [--requests N] [--rate R]
 *            [--method M] [--persistent] [--timeout-ms T] [--warmup N]
 *
 * N client threads (default 1) each send --requests requests (default 1000)
 * of METHOD (default status).
 *   - Without --rate ("max"): each client sends its next request as soon as
 *     the previous one is answered: a closed loop per client, as fast as
 *     the server answers.
 *   - With --rate R ("rate"): the clients together send R requests per
 *     second on a fixed schedule, client i at t0 + (k * N + i) / R, whether
 *     or not earlier answers came; a request's latency counts from its
 *     scheduled time, so a server that falls behind shows its queueing
 *     (no coordinated omission).
 * Each request uses its own connection through homi_rpc_call, as homictl
 * does; --persistent keeps one connection per client and sends its
 * requests on it one after the other. Before the measured requests each
 * client sends --warmup requests (default 1) that are not counted, then
 * waits for the others: the load generator's own start (threads, stacks,
 * allocator arenas) stays out of the figures, and t0 is when all are ready.
 *
 * Prints one line: mode= clients= requests= ok= failed= wall_s= rps=
 * p50_us= p90_us= p99_us= max_us= (and first_error= when one failed).
 * Exit status: 0 all answered, 1 some failed, 2 usage.
 */
#include "config.h"

#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "macro.h"
#include "rpc.h"

struct opts {
	const char *socket, *method;
	int clients, requests, timeout_ms, warmup;
	double rate;
	bool persistent;
};

struct client {
	const struct opts *o;
	int idx;
	pthread_barrier_t *ready; /* then the main thread sets *t0 */
	const int64_t *t0;  /* ns, the schedule's origin */
	int64_t *lat;       /* ns per request */
	int ok, failed;
	int first_error;    /* negative errno, or an RPC error code */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000, .tv_nsec = t % 1000000000 };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* ---- one connection per request ----------------------------------------- */

static int call_once(const struct opts *o)
{
	json_t *result = NULL;
	int code = 0;
	int r = homi_rpc_call(o->socket, o->method, NULL, o->timeout_ms, &result, &code, NULL, NULL);

	json_decref(result);
	return r == -EREMOTEIO ? code : r;
}

/* ---- a persistent connection -------------------------------------------- */

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
};

static int conn_open(const char *path, struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	*c = (struct conn){ .fd = -1 };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	*c = (struct conn){ .fd = -1 };
}

/* Reads up to a newline into c->buf; returns the line's length. */
static ssize_t conn_read_line(struct conn *c, int timeout_ms)
{
	c->len = 0;
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		char *nl;
		ssize_t n;

		if (c->len == c->cap) {
			if (c->cap >= HOMI_RPC_MAX_RESPONSE)
				return -EMSGSIZE;
			c->cap = c->cap ? c->cap * 2 : 8192;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				return -ENOMEM;
		}
		n = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
		if (n == 0)
			return -ETIMEDOUT;
		if (n > 0)
			n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		nl = memchr(c->buf + c->len, '\n', (size_t)n);
		c->len += (size_t)n;
		if (nl) /* one request in flight: nothing follows the newline */
			return nl - c->buf;
	}
}

static int call_on(struct conn *c, const struct opts *o, const char *line, size_t len)
{
	json_auto_t *msg = NULL;
	ssize_t n;

	if (send(c->fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -errno;
	n = conn_read_line(c, o->timeout_ms);
	if (n < 0)
		return (int)n;
	msg = json_loadb(c->buf, (size_t)n, 0, NULL);
	if (json_object_get(msg, "result"))
		return 0;
	if (json_object_get(msg, "error"))
		return (int)json_integer_value(json_object_get(json_object_get(msg, "error"), "code"));
	return -EPROTO;
}

/* ---- clients ------------------------------------------------------------- */

static void record(struct client *c, int i, int64_t start, int r)
{
	c->lat[i] = now_ns() - start;
	if (r == 0) {
		c->ok++;
		return;
	}
	c->failed++;
	if (!c->first_error)
		c->first_error = r;
}

static void *client_main(void *userdata)
{
	struct client *c = userdata;
	const struct opts *o = c->o;
	int64_t period = o->rate > 0 ? (int64_t)(1e9 / o->rate) : 0;
	_cleanup_free_ char *line = NULL;
	struct conn conn = { .fd = -1 };
	int r = 0;

	if (o->persistent) {
		if (asprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"}\n", c->idx, o->method) < 0)
			return NULL;
		r = conn_open(o->socket, &conn);
	}
	for (int i = 0; i < o->warmup && r == 0; i++)
		r = o->persistent ? call_on(&conn, o, line, strlen(line)) : call_once(o);
	if (r != 0)
		c->first_error = r;
	pthread_barrier_wait(c->ready); /* ours */
	pthread_barrier_wait(c->ready); /* the main thread has set t0 */
	for (int i = 0; i < o->requests; i++) {
		int64_t start = now_ns();

		if (period) {
			start = *c->t0 + ((int64_t)i * o->clients + c->idx) * period;
			sleep_until(start);
		}
		if (!o->persistent)
			r = call_once(o);
		else if (r == 0)
			r = call_on(&conn, o, line, strlen(line));
		record(c, i, start, r);
	}
	conn_close(&conn);
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank. */
static double pct_us(const int64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)(p * (double)n);

	if (n == 0)
		return 0;
	if ((double)rank < p * (double)n)
		rank++;
	if (rank < 1)
		rank = 1;
	return (double)sorted[rank - 1] / 1000.0;
}

static void report(const struct opts *o, struct client *cl, int64_t wall)
{
	size_t n = (size_t)o->clients * (size_t)o->requests, k = 0;
	_cleanup_free_ int64_t *all = malloc(n * sizeof(*all));
	int ok = 0, failed = 0, first = 0;

	if (!all)
		return;
	for (int i = 0; i < o->clients; i++) {
		memcpy(all + k, cl[i].lat, (size_t)o->requests * sizeof(*all));
		k += (size_t)o->requests;
		ok += cl[i].ok;
		failed += cl[i].failed;
		if (!first)
			first = cl[i].first_error;
	}
	qsort(all, n, sizeof(*all), cmp_i64);
	printf("mode=%s%s clients=%d requests=%zu ok=%d failed=%d wall_s=%.3f rps=%.0f p50_us=%.0f p90_us=%.0f "
	       "p99_us=%.0f max_us=%.0f",
	       o->rate > 0 ? "rate" : "max", o->persistent ? "-persistent" : "", o->clients, n, ok, failed,
	       (double)wall / 1e9, (double)n / ((double)wall / 1e9), pct_us(all, n, 0.50), pct_us(all, n, 0.90),
	       pct_us(all, n, 0.99), pct_us(all, n, 1.0));
	if (first)
		printf(" first_error=%d", first);
	printf("\n");
}

static int run(const struct opts *o)
{
	_cleanup_free_ struct client *cl = calloc((size_t)o->clients, sizeof(*cl));
	_cleanup_free_ pthread_t *t = calloc((size_t)o->clients, sizeof(*t));
	pthread_barrier_t ready;
	int64_t t0 = 0, wall;
	int failed = 0;

	if (!cl || !t || pthread_barrier_init(&ready, NULL, (unsigned)o->clients + 1) != 0)
		return 1;
	for (int i = 0; i < o->clients; i++) {
		cl[i] = (struct client){ .o = o, .idx = i, .ready = &ready, .t0 = &t0 };
		cl[i].lat = calloc((size_t)o->requests, sizeof(int64_t));
		if (!cl[i].lat || pthread_create(&t[i], NULL, client_main, &cl[i]) != 0) {
			fprintf(stderr, "rpc-load: could not start %d client threads\n", o->clients);
			exit(1);
		}
	}
	pthread_barrier_wait(&ready);
	t0 = now_ns() + (o->rate > 0 ? 1000000 : 0); /* 1 ms for the clients to wake up */
	pthread_barrier_wait(&ready);
	for (int i = 0; i < o->clients; i++)
		pthread_join(t[i], NULL);
	wall = now_ns() - t0;
	pthread_barrier_destroy(&ready);
	report(o, cl, wall);
	for (int i = 0; i < o->clients; i++) {
		failed += cl[i].failed;
		free(cl[i].lat);
	}
	return failed == 0 ? 0 : 1;
}

static _noreturn_ void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: rpc-load --socket PATH [--clients N] [--requests N] [--rate R]\n"
		"                [--method M] [--persistent] [--timeout-ms T] [--warmup N]\n");
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },   { "clients", required_argument, NULL, 'c' },
		{ "requests", required_argument, NULL, 'n' }, { "rate", required_argument, NULL, 'r' },
		{ "method", required_argument, NULL, 'm' },   { "persistent", no_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 't' }, { "warmup", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct opts o = { .method = "status", .clients = 1, .requests = 1000, .timeout_ms = 10000,
			   .warmup = 1 };
	int c;

	while ((c = getopt_long(argc, argv, "s:c:n:r:m:pt:w:h", options, NULL)) >= 0) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'c': o.clients = atoi(optarg); break;
		case 'n': o.requests = atoi(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'm': o.method = optarg; break;
		case 'p': o.persistent = true; break;
		case 't': o.timeout_ms = atoi(optarg); break;
		case 'w': o.warmup = atoi(optarg); break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc || !o.socket || o.clients < 1 || o.clients > 4096 || o.requests < 1 || o.warmup < 0 || o.rate < 0 ||
	    strlen(o.method) == 0 || strlen(o.method) > 63 || strpbrk(o.method, "\"\\"))
		usage(2);
	return run(&o);
}
