/* SPDX-License-Identifier: MIT */
/* homid's socket server (ARCHITECTURE.md 3.4): a listening Unix socket, an
 * accept thread, one joinable thread per connection. Finished connection
 * threads move to a "done" list and wake the accept thread, which joins
 * them; homi_server_stop joins whatever is left. Nothing here prints. */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "macro.h"
#include "rpc-internal.h"
#include "server.h"

#define READ_CHUNK 4096
#define ACCEPT_BACKOFF_MS 100 /* out of fds or memory: let some connections end */

struct conn {
	struct homi_server *server;
	int fd;
	pthread_t thread;
	struct conn *prev, *next;
	char *buf; /* the pending input: buf[0..len), newline searched up to scanned */
	size_t len, cap, scanned;
	struct homi_peer peer;
};

struct homi_server {
	char *path;
	dev_t dev; /* the socket we bound, to unlink only ours */
	ino_t ino;
	bool bound;
	int listen_fd, wake_fd;
	pthread_t accept_thread;
	bool accepting;
	homi_server_handler handler;
	void *userdata;
	int read_timeout_ms, write_timeout_ms; /* atomic */
	bool stopping;                         /* atomic */
	unsigned max_per_uid, reserve;         /* under lock; 0: no per-uid cap, no reserve */
	gid_t privileged_gid;                  /* under lock; with uid 0, above the caps; -1: none */

	pthread_mutex_t lock; /* the lists and n_active */
	pthread_cond_t ended; /* a connection moved to done */
	struct conn *active, *done;
	unsigned n_active;

	unsigned long connections, requests, errors, dropped; /* atomic */
};

#define ATOMIC_INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)

/* Sent from the accept thread (never blocking) when no thread can be had. */
static const char busy_line[] =
	"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32005,\"message\":\"too many connections\"}}\n";
/* Sent when even building the response failed. */
static const char oom_line[] =
	"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"out of memory\"}}\n";

/* ---- authorization ------------------------------------------------------- */

bool homi_peer_is_admin(const struct homi_peer *peer, gid_t admin_gid)
{
	if (!peer)
		return false;
	if (peer->uid == 0)
		return true;
	if (admin_gid == (gid_t)-1)
		return false;
	if (peer->gid == admin_gid)
		return true;
	for (size_t i = 0; i < peer->n_groups && i < ARRAY_SIZE(peer->groups); i++)
		if (peer->groups[i] == admin_gid)
			return true;
	return false;
}

/* ---- lists (under s->lock) ----------------------------------------------- */

static void list_add(struct conn **head, struct conn *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void list_remove(struct conn **head, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void wake(struct homi_server *s)
{
	uint64_t one = 1;

	/* Non-blocking; a full counter already means "wake up". */
	(void)!write(s->wake_fd, &one, sizeof(one));
}

/* ---- peer credentials ---------------------------------------------------- */

static void add_group(struct homi_peer *p, gid_t g)
{
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i] == g)
			return;
	if (p->n_groups < ARRAY_SIZE(p->groups))
		p->groups[p->n_groups++] = g;
	else
		p->groups_truncated = true;
}

/* SO_PEERGROUPS: the groups of the peer's credentials at connect(). On
 * ERANGE the kernel says how much room it needs: one retry suffices, those
 * credentials do not change. Kernels before 4.13 lack it: primary only. */
static int read_groups(int fd, struct homi_peer *p)
{
	gid_t small[64];
	_cleanup_free_ gid_t *big = NULL;
	gid_t *g = small;
	socklen_t len = sizeof(small);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno == ENOPROTOOPT)
			return 0;
		if (errno != ERANGE)
			return -errno;
		big = malloc(len);
		if (!big)
			return -ENOMEM;
		g = big;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0)
			return -errno;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		add_group(p, g[i]);
	return 0;
}

static int read_peer(int fd, struct homi_peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	*p = (struct homi_peer){ .pid = uc.pid, .uid = uc.uid, .gid = uc.gid };
	add_group(p, uc.gid);
	return read_groups(fd, p);
}

/* ---- one connection ------------------------------------------------------ */

/* Makes room to read into: grows the buffer only while the pending line is
 * under the limit, so a peer never makes us allocate more than
 * HOMI_RPC_MAX_LINE. */
static int conn_room(struct conn *c)
{
	size_t ncap;
	char *b;

	if (c->len < c->cap)
		return 0;
	if (c->cap >= HOMI_RPC_MAX_LINE)
		return -EMSGSIZE;
	ncap = c->cap ? c->cap * 2 : READ_CHUNK;
	if (ncap > HOMI_RPC_MAX_LINE)
		ncap = HOMI_RPC_MAX_LINE;
	b = realloc(c->buf, ncap);
	if (!b)
		return -ENOMEM;
	c->buf = b;
	c->cap = ncap;
	return 0;
}

/* Returns 1 with the next line in c->buf[0..*ret_len) (its newline at
 * *ret_len), 0 at the client's end of stream, -EMSGSIZE for a line over
 * HOMI_RPC_MAX_LINE, -ETIMEDOUT when no line completed before DEADLINE. */
static int conn_next_line(struct conn *c, int64_t deadline, size_t *ret_len)
{
	for (;;) {
		/* no buffer yet (NULL) before the first read: nothing to search */
		char *nl = c->len > c->scanned ? memchr(c->buf + c->scanned, '\n', c->len - c->scanned) : NULL;
		ssize_t n;
		int r;

		if (nl) {
			*ret_len = (size_t)(nl - c->buf);
			return 1;
		}
		c->scanned = c->len;
		r = conn_room(c);
		if (r < 0)
			return r;
		r = homi_fd_wait(c->fd, POLLIN, deadline);
		if (r < 0)
			return r;
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		c->len += (size_t)n;
	}
}

/* Drops the line just handled (and its newline); gives a grown buffer back
 * once nothing is pending, so idle connections hold little memory. */
static void conn_consume(struct conn *c, size_t line_len)
{
	size_t used = line_len + 1;

	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	c->scanned = 0;
	if (c->len == 0 && c->cap > READ_CHUNK) {
		free(c->buf);
		c->buf = NULL;
		c->cap = 0;
	}
}

/* Sends RESP (stolen). Counts errors; a response too large for clients to
 * read becomes INTERNAL_ERROR. */
static int conn_send(struct conn *c, json_t *resp)
{
	struct homi_server *s = c->server;
	int64_t deadline = homi_deadline_ms(ATOMIC_GET(s->write_timeout_ms));
	_cleanup_free_ char *line = NULL;

	if (resp)
		line = homi_rpc_line(resp);
	if (line && strlen(line) > HOMI_RPC_MAX_RESPONSE) {
		json_t *e = homi_rpc_error(json_object_get(resp, "id"), HOMI_RPC_INTERNAL_ERROR,
					   "response over 16 MiB", NULL);

		free(line);
		line = e ? homi_rpc_line(e) : NULL;
		json_decref(resp);
		resp = e;
	}
	if (!resp || json_object_get(resp, "error"))
		ATOMIC_INC(s->errors);
	json_decref(resp);
	if (!line)
		return homi_send_all(c->fd, oom_line, sizeof(oom_line) - 1, deadline);
	return homi_send_all(c->fd, line, strlen(line), deadline);
}

static json_t *conn_call(struct conn *c, const struct homi_rpc_request *req)
{
	struct homi_server *s = c->server;
	json_t *resp = s->handler(s->userdata, &c->peer, req);

	if (!req->id) { /* a notification is never answered */
		json_decref(resp);
		return NULL;
	}
	if (!resp)
		resp = homi_rpc_error(req->id, HOMI_RPC_INTERNAL_ERROR, "no response", NULL);
	return resp;
}

/* Handles the line c->buf[0..len): one response sent, or none for a
 * notification or an empty line. */
static int conn_answer(struct conn *c, size_t len)
{
	struct homi_rpc_request req;
	json_t *resp = NULL;
	int r;

	if (len > 0 && c->buf[len - 1] == '\r')
		len--;
	if (len == 0)
		return 0;
	ATOMIC_INC(c->server->requests);
	r = homi_rpc_parse_request(c->buf, len, &req, &resp);
	if (r >= 0) {
		resp = conn_call(c, &req);
		homi_rpc_request_done(&req);
		if (!resp)
			return 0;
	}
	return conn_send(c, resp);
}

/* Serves requests until the client ends (0) or must be dropped (< 0). */
static int conn_serve(struct conn *c)
{
	struct homi_server *s = c->server;
	int r;

	for (;;) {
		int64_t deadline = homi_deadline_ms(ATOMIC_GET(s->read_timeout_ms));
		size_t len = 0;

		r = conn_next_line(c, deadline, &len);
		if (r == -EMSGSIZE) {
			/* The rest of the line cannot be told from the next
			 * request: answer, then close. */
			ATOMIC_INC(s->requests);
			conn_send(c, homi_rpc_error(NULL, HOMI_RPC_INVALID_REQUEST, "request over 64 KiB", NULL));
			return r;
		}
		if (r <= 0)
			return r;
		r = conn_answer(c, len);
		if (r < 0)
			return r;
		conn_consume(c, len);
	}
}

static void *conn_main(void *userdata)
{
	struct conn *c = userdata;
	struct homi_server *s = c->server;

	int r = conn_serve(c);

	/* A reset or a broken pipe is the client leaving, not a drop. */
	if (r < 0 && r != -ECONNRESET && r != -EPIPE)
		ATOMIC_INC(s->dropped);
	free(c->buf);
	c->buf = NULL;
	pthread_mutex_lock(&s->lock);
	list_remove(&s->active, c);
	close(c->fd); /* under the lock: stop may be shutting it down */
	c->fd = -EBADF;
	list_add(&s->done, c);
	s->n_active--;
	pthread_cond_broadcast(&s->ended);
	pthread_mutex_unlock(&s->lock);
	wake(s);
	return NULL;
}

/* ---- accepting ----------------------------------------------------------- */

/* Joins the connection threads that have ended. */
static void reap(struct homi_server *s)
{
	struct conn *c;

	pthread_mutex_lock(&s->lock);
	c = TAKE_PTR(s->done);
	pthread_mutex_unlock(&s->lock);
	while (c) {
		struct conn *next = c->next;

		pthread_join(c->thread, NULL);
		free(c);
		c = next;
	}
}

static void refuse_busy(struct homi_server *s, int fd)
{
	ATOMIC_INC(s->errors);
	ATOMIC_INC(s->dropped);
	/* A fresh socket's buffer takes this line whole, or the client loses it. */
	(void)!send(fd, busy_line, sizeof(busy_line) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* Whether connection C may take a slot now (under s->lock): the total cap
 * for everyone; for others than root and the privileged group, at most
 * max_per_uid of their own uid and none of the reserve's last slots. */
static bool slot_free(struct homi_server *s, const struct homi_peer *peer)
{
	unsigned mine = 0;

	if (s->n_active >= HOMI_SERVER_MAX_CONN)
		return false;
	if (homi_peer_is_admin(peer, s->privileged_gid))
		return true;
	if (s->n_active + s->reserve >= HOMI_SERVER_MAX_CONN)
		return false;
	if (s->max_per_uid == 0)
		return true;
	for (struct conn *c = s->active; c && mine < s->max_per_uid; c = c->next)
		mine += c->peer.uid == peer->uid;
	return mine < s->max_per_uid;
}

static void start_conn(struct homi_server *s, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		refuse_busy(s, fd);
		return;
	}
	c->server = s;
	c->fd = fd;
	/* the credentials of connect(): known now, so that the caps can count by uid */
	r = read_peer(fd, &c->peer);
	if (r < 0) {
		ATOMIC_INC(s->dropped);
		free(c);
		close(fd);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (!slot_free(s, &c->peer)) {
		pthread_mutex_unlock(&s->lock);
		free(c);
		refuse_busy(s, fd);
		return;
	}
	list_add(&s->active, c);
	s->n_active++;
	pthread_mutex_unlock(&s->lock);
	/* Only this thread reaps, so c->thread is set before anyone joins it. */
	r = pthread_create(&c->thread, NULL, conn_main, c);
	if (r != 0) {
		pthread_mutex_lock(&s->lock);
		list_remove(&s->active, c);
		s->n_active--;
		pthread_mutex_unlock(&s->lock);
		free(c);
		refuse_busy(s, fd);
	}
}

/* Accepts what is pending. Returns 0, or -EMFILE & co. to back off. */
static int accept_pending(struct homi_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			return -errno;
		}
		ATOMIC_INC(s->connections);
		start_conn(s, fd);
	}
}

static void *accept_main(void *userdata)
{
	struct homi_server *s = userdata;
	bool backoff = false;

	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = s->wake_fd, .events = POLLIN },
			{ .fd = s->listen_fd, .events = POLLIN },
		};
		uint64_t n;
		int r;

		/* While backing off, only a wake-up or the delay ends the wait. */
		r = poll(fds, backoff ? 1 : 2, backoff ? ACCEPT_BACKOFF_MS : -1);
		backoff = r < 0 && errno != EINTR;
		if (r > 0 && (fds[0].revents & POLLIN))
			(void)!read(s->wake_fd, &n, sizeof(n));
		if (ATOMIC_GET(s->stopping))
			return NULL;
		reap(s);
		if (!backoff && accept_pending(s) < 0)
			backoff = true;
	}
}

/* ---- the listening socket ------------------------------------------------ */

static int sockaddr_for(const char *path, struct sockaddr_un *sa)
{
	size_t n = strlen(path);

	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/* A socket file nobody listens on (connect: ECONNREFUSED) is removed; one
 * that answers is -EADDRINUSE; anything but a socket is -EEXIST. */
static int remove_stale(const char *path, const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return -EADDRINUSE;
	if (errno == EAGAIN) /* alive, its backlog full */
		return -EADDRINUSE;
	if (errno != ECONNREFUSED)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* bind(2) creates the file with 0777 & ~umask; fchmod on the socket would
 * change the socket's own inode, not the file. umask is per process (other
 * threads create files), so the file is chmod-ed between bind and listen:
 * nobody can connect before listen anyway. */
static int listen_on(struct homi_server *s)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	r = sockaddr_for(s->path, &sa);
	if (r < 0)
		return r;
	r = remove_stale(s->path, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (lstat(s->path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode)) /* replaced under us: not ours to touch */
		return -EEXIST;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->bound = true;
	if (chmod(s->path, 0666) < 0 || listen(fd, SOMAXCONN) < 0)
		return -errno;
	s->listen_fd = TAKE_FD(fd);
	return 0;
}

/* Server threads take no signals: the daemon's main thread handles them
 * (or reads them from a signalfd, which needs them blocked everywhere). */
static int start_accepting(struct homi_server *s)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&s->accept_thread, NULL, accept_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	s->accepting = true;
	return 0;
}

static void unlink_ours(struct homi_server *s)
{
	struct stat st;

	if (s->bound && lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	s->bound = false;
}

/* Closes every connection and waits for their threads (a handler running
 * now finishes first; its answer then fails to send). */
static void close_connections(struct homi_server *s)
{
	pthread_mutex_lock(&s->lock);
	for (struct conn *c = s->active; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (s->n_active > 0)
		pthread_cond_wait(&s->ended, &s->lock);
	pthread_mutex_unlock(&s->lock);
	reap(s);
}

void homi_server_stop(struct homi_server *s)
{
	if (!s)
		return;
	if (s->accepting) {
		ATOMIC_SET(s->stopping, true);
		wake(s);
		pthread_join(s->accept_thread, NULL);
	}
	unlink_ours(s);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	close_connections(s);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_cond_destroy(&s->ended);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

static inline void homi_server_stopp(struct homi_server **s) { homi_server_stop(*s); }

int homi_server_start(const char *path, homi_server_handler handler, void *userdata, struct homi_server **ret)
{
	_cleanup_(homi_server_stopp) struct homi_server *s = NULL;
	int r;

	if (!path || !handler || !ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->listen_fd = s->wake_fd = -EBADF;
	s->privileged_gid = (gid_t)-1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->ended, NULL);
	s->handler = handler;
	s->userdata = userdata;
	s->read_timeout_ms = HOMI_SERVER_READ_TIMEOUT_MS;
	s->write_timeout_ms = HOMI_SERVER_WRITE_TIMEOUT_MS;
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0)
		return -errno;
	r = listen_on(s);
	if (r < 0)
		return r;
	r = start_accepting(s);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int homi_server_set_timeouts(struct homi_server *s, int read_ms, int write_ms)
{
	if (!s || read_ms < 0 || write_ms < 0)
		return -EINVAL;
	ATOMIC_SET(s->read_timeout_ms, read_ms);
	ATOMIC_SET(s->write_timeout_ms, write_ms);
	return 0;
}

int homi_server_set_conn_limits(struct homi_server *s, unsigned max_per_uid, unsigned reserve, gid_t privileged_gid)
{
	if (!s || reserve >= HOMI_SERVER_MAX_CONN)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->max_per_uid = max_per_uid;
	s->reserve = reserve;
	s->privileged_gid = privileged_gid;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void homi_server_get_stats(struct homi_server *s, struct homi_server_stats *ret)
{
	if (!s) {
		*ret = (struct homi_server_stats){ 0 };
		return;
	}
	*ret = (struct homi_server_stats){
		.connections = ATOMIC_GET(s->connections),
		.requests = ATOMIC_GET(s->requests),
		.errors = ATOMIC_GET(s->errors),
		.dropped = ATOMIC_GET(s->dropped),
	};
	pthread_mutex_lock(&s->lock);
	ret->active = s->n_active;
	pthread_mutex_unlock(&s->lock);
}
