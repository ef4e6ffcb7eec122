/* SPDX-License-Identifier: MIT */
/* rpc-storm SOCKET [--clients N] [--requests N] [--policy FILE] [--pf PCI]
 *
 * Load on homid's socket (tests/bench/daemon-load runs it against homid
 * --simulate testbed): N clients (default 64), each making N requests
 * (default 1000), one connection per request as homictl does. Of every 100
 * requests of a client: 88 status, 4 topology, 4 plan of POLICY (sent as a
 * file), and 4 changes, each valid whatever the others did before it:
 * vf.assign of VF 3 (vfio-pci with 2 VQ and 1 VI, or driver none: the VF
 * count changes with the first), ns.attach of namespace 2 to VF 1, and two
 * reloads. Beside the clients, for as long as they run, one thread applies
 * POLICY and a variant of it (VF 2 unbound) in turn, so that an apply is
 * nearly always under way, and another makes the changes that undo those
 * of the clients, in an order that keeps each valid: vf.assign then
 * vf.unassign of VF 3, ns.attach then ns.detach of namespace 2.
 *
 * A request fails when it gets no result: an error response, a refused or
 * dropped connection, a timeout (120 s). Prints per method the count,
 * failures and latency (median, p99, max, ms), the total, the throughput,
 * and the first failure messages. Exit 1 when any request failed. */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "rpc.h"

enum { M_STATUS, M_TOPOLOGY, M_PLAN, M_ASSIGN, M_UNASSIGN, M_RELOAD, M_ATTACH, M_DETACH, M_APPLY, M_MAX };
static const char *const names[M_MAX] = { "status", "topology", "plan", "vf.assign", "vf.unassign", "reload",
					  "ns.attach", "ns.detach", "apply" };

struct samples {
	double *ms;
	size_t n, cap, failed;
	size_t busy; /* plan answered busy: it waited over 60 s for the applies beside it (homid(8)) */
};

struct client {
	pthread_t thread;
	unsigned id;
	struct samples s[M_MAX];
};

static const char *sock;
static unsigned n_requests = 1000;
static const char *pf = "0000:01:00.0";
static json_t *policy_files, *variant_files;
static volatile int clients_done;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_errors[5][256];
static unsigned n_errors;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void record(struct samples *s, double ms, bool ok)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->ms = realloc(s->ms, s->cap * sizeof(*s->ms));
		if (!s->ms)
			abort();
	}
	s->ms[s->n++] = ms;
	s->failed += !ok;
}

static void note_error(const char *method, int r, int code, const char *message)
{
	pthread_mutex_lock(&err_lock);
	if (n_errors < ARRAY_SIZE(first_errors))
		snprintf(first_errors[n_errors], sizeof(first_errors[0]), "%s: %s%s (code %d)", method,
			 r == -EREMOTEIO ? "" : strerror(-r), message ? message : "", code);
	n_errors++;
	pthread_mutex_unlock(&err_lock);
}

/* One call of method M; its time goes to S. */
static void call(struct samples *s, int m, json_t *params)
{
	char *message = NULL;
	json_t *result = NULL;
	int code = 0;
	double t0 = now_ms();
	int r = homi_rpc_call(sock, names[m], params, 120000, &result, &code, &message, NULL);
	bool busy = m == M_PLAN && r == -EREMOTEIO && code == HOMI_RPC_BUSY;

	record(s, now_ms() - t0, r == 0 || busy);
	s->busy += busy;
	if (r < 0 && !busy)
		note_error(names[m], r, code, message);
	free(message);
	json_decref(result);
	json_decref(params);
}

static json_t *files(const char *name, const char *text)
{
	return json_pack("[{s:s, s:s}]", "name", name, "content", text);
}

static json_t *assign_params(unsigned i)
{
	return i % 2 ? json_pack("{s:s, s:i, s:s}", "pf", pf, "vf", 3, "driver", "none")
		     : json_pack("{s:s, s:i, s:s, s:i, s:i}", "pf", pf, "vf", 3, "driver", "vfio-pci", "vq", 2, "vi", 1);
}

static json_t *ns_params(bool attach)
{
	return attach ? json_pack("{s:s, s:i, s:i, s:s}", "pf", pf, "nsid", 2, "vf", 1, "access", "ro")
		      : json_pack("{s:s, s:i, s:i}", "pf", pf, "nsid", 2, "vf", 1);
}

static void *client_main(void *arg)
{
	struct client *c = arg;

	for (unsigned i = 0; i < n_requests; i++) {
		unsigned k = (i * 7 + c->id * 13) % 100; /* spread the kinds over clients and time */
		if (k < 88)
			call(&c->s[M_STATUS], M_STATUS, NULL);
		else if (k < 92)
			call(&c->s[M_TOPOLOGY], M_TOPOLOGY, NULL);
		else if (k < 96)
			call(&c->s[M_PLAN], M_PLAN, json_pack("{s:O}", "files", policy_files));
		else if (k == 96)
			call(&c->s[M_ASSIGN], M_ASSIGN, assign_params(i / 100));
		else if (k == 97)
			call(&c->s[M_ATTACH], M_ATTACH, ns_params(true));
		else
			call(&c->s[M_RELOAD], M_RELOAD, NULL);
	}
	return NULL;
}

/* The changes that undo the clients', each preceded by what makes it valid. */
static void *changer_main(void *arg)
{
	struct samples *s = arg;

	for (unsigned i = 0; !__atomic_load_n(&clients_done, __ATOMIC_RELAXED); i++) {
		call(&s[M_ASSIGN], M_ASSIGN, assign_params(i));
		call(&s[M_UNASSIGN], M_UNASSIGN, json_pack("{s:s, s:i}", "pf", pf, "vf", 3));
		call(&s[M_ATTACH], M_ATTACH, ns_params(true));
		call(&s[M_DETACH], M_DETACH, ns_params(false));
	}
	return NULL;
}

/* Applies the policy and its variant in turn until the clients are done. */
static void *applier_main(void *arg)
{
	struct samples *s = arg;

	for (unsigned i = 0; !__atomic_load_n(&clients_done, __ATOMIC_RELAXED); i++)
		call(s, M_APPLY, json_pack("{s:O}", "files", i % 2 ? variant_files : policy_files));
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const struct samples *s, double p)
{
	if (!s->n)
		return 0;
	size_t i = (size_t)(p * (double)(s->n - 1) + 0.5);
	return s->ms[i];
}

static void merge(struct samples *dst, const struct samples *src)
{
	for (size_t i = 0; i < src->n; i++)
		record(dst, src->ms[i], true);
	dst->failed += src->failed;
	dst->busy += src->busy;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;

	if (!f || getdelim(&text, &len, '\0', f) < 0) {
		fprintf(stderr, "rpc-storm: %s: cannot read\n", path);
		exit(2);
	}
	fclose(f);
	return text;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "clients", required_argument, NULL, 'c' }, { "requests", required_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'p' },  { "pf", required_argument, NULL, 'f' },
		{},
	};
	unsigned n_clients = 64;
	const char *policy = "policies/qemu-testbed.json";
	int o;

	while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (o) {
		case 'c': n_clients = (unsigned)atoi(optarg); break;
		case 'n': n_requests = (unsigned)atoi(optarg); break;
		case 'p': policy = optarg; break;
		case 'f': pf = optarg; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !n_clients) {
		fprintf(stderr, "usage: rpc-storm SOCKET [--clients N] [--requests N] [--policy FILE] [--pf PCI]\n");
		return 2;
	}
	sock = argv[optind];
	char *text = read_file(policy), *variant = strdup(text), *at;
	/* the variant: VF 2 (the nvme one of the testbed policy) unbound */
	if ((at = strstr(variant, "\"driver\": \"nvme\"")))
		memcpy(at, "\"driver\": \"none\"", 16);
	policy_files = files("storm.json", text);
	variant_files = files("storm.json", variant);

	struct client *cs = calloc(n_clients, sizeof(*cs));
	struct samples applies = { 0 }, changes[M_MAX] = { 0 }, all[M_MAX] = { 0 }, total = { 0 };
	pthread_t applier, changer;
	double t0 = now_ms();

	pthread_create(&applier, NULL, applier_main, &applies);
	pthread_create(&changer, NULL, changer_main, changes);
	for (unsigned i = 0; i < n_clients; i++) {
		cs[i].id = i;
		pthread_create(&cs[i].thread, NULL, client_main, &cs[i]);
	}
	for (unsigned i = 0; i < n_clients; i++)
		pthread_join(cs[i].thread, NULL);
	double wall = now_ms() - t0;
	__atomic_store_n(&clients_done, 1, __ATOMIC_RELAXED);
	pthread_join(applier, NULL);
	pthread_join(changer, NULL);

	for (unsigned i = 0; i < n_clients; i++)
		for (int m = 0; m < M_MAX; m++)
			merge(&all[m], &cs[i].s[m]);
	printf("| method | requests | failed | median ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- | --- |\n");
	for (int m = 0; m < M_MAX; m++) {
		struct samples *s = &all[m];
		if (!s->n)
			continue;
		qsort_safe(s->ms, s->n, sizeof(*s->ms), cmp_double);
		printf("| %s | %zu | %zu | %.2f | %.2f | %.2f |\n", names[m], s->n, s->failed, pct(s, 0.5), pct(s, 0.99),
		       s->ms[s->n - 1]);
		merge(&total, s);
	}
	qsort_safe(total.ms, total.n, sizeof(*total.ms), cmp_double);
	if (all[M_PLAN].n)
		printf("| (plan answered busy, after 60 s behind applies: %zu of %zu) | | | | | |\n", all[M_PLAN].busy,
		       all[M_PLAN].n);
	printf("| all clients | %zu | %zu | %.2f | %.2f | %.2f |\n\n", total.n, total.failed, pct(&total, 0.5),
	       pct(&total, 0.99), total.n ? total.ms[total.n - 1] : 0);
	size_t n_changes = 0, changes_failed = 0;
	for (int m = 0; m < M_MAX; m++) {
		qsort_safe(changes[m].ms, changes[m].n, sizeof(double), cmp_double);
		n_changes += changes[m].n;
		changes_failed += changes[m].failed;
	}
	qsort_safe(applies.ms, applies.n, sizeof(double), cmp_double);
	printf("Beside them: %zu applies (%zu failed, median %.1f ms, max %.1f ms), %zu undoing changes (%zu failed).\n",
	       applies.n, applies.failed, pct(&applies, 0.5), applies.n ? applies.ms[applies.n - 1] : 0, n_changes,
	       changes_failed);
	printf("%u clients x %u requests in %.1f s: %.0f requests/s.\n", n_clients, n_requests, wall / 1e3,
	       (double)total.n / (wall / 1e3));
	for (unsigned i = 0; i < n_errors && i < ARRAY_SIZE(first_errors); i++)
		printf("failure: %s\n", first_errors[i]);
	for (unsigned i = 0; i < n_clients; i++)
		for (int m = 0; m < M_MAX; m++)
			free(cs[i].s[m].ms);
	for (int m = 0; m < M_MAX; m++)
		free(all[m].ms);
	free(total.ms);
	free(applies.ms);
	for (int m = 0; m < M_MAX; m++)
		free(changes[m].ms);
	free(cs);
	free(text);
	free(variant);
	json_decref(policy_files);
	json_decref(variant_files);
	return total.failed || applies.failed || changes_failed ? 1 : 0;
}
