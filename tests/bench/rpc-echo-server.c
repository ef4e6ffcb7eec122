/* SPDX-License-Identifier: MIT */
/* rpc-echo-server SOCKET: a stand-in for homid in tests/bench/daemon. It
 * serves SOCKET with homi_server_start and answers `status` with a status
 * document of about 2 KiB, built afresh for each request as homid would;
 * any other method is METHOD_NOT_FOUND. Runs until SIGTERM or SIGINT, then
 * stops the server and prints its counters on stderr. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "macro.h"
#include "rpc.h"
#include "server.h"

/* Shaped like homid's status: the daemon, the policies, one PF with four
 * delegated VFs and their stable names, recent events. */
static const char status_template[] =
	"{\"homi-status\": 1, \"version\": \"" PACKAGE_VERSION "\", \"ready\": true, \"uptime_s\": 0,"
	" \"pid\": 0, \"host\": \"simulated\", \"lock\": \"/run/homi/lock\", \"journal\": null,"
	" \"policies\": [{\"file\": \"/etc/homi/policies.d/10-testbed.json\", \"status\": \"applied\","
	"   \"sha256\": \"9f2c1e0d6b7a4c3e8f5a2b1d0c9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e\"}],"
	" \"overlay\": [{\"op\": \"vf.assign\", \"pf\": \"0000:01:00.0\", \"vf\": 4, \"runtime\": true}],"
	" \"devices\": [{\"pf\": \"0000:01:00.0\", \"serial\": \"HOMI0000000000000001\", \"model\": \"QEMU NVMe Ctrl\","
	"   \"numa_node\": 0, \"sriov\": {\"total_vfs\": 4, \"num_vfs\": 4}, \"state\": \"converged\","
	"   \"vfs\": ["
	"     {\"vf\": 1, \"address\": \"0000:01:00.1\", \"driver\": \"vfio-pci\", \"iommu_group\": 12,"
	"      \"vfio\": \"/dev/vfio/12\", \"stable\": \"HOMI0000000000000001-vf1\", \"vq\": 2, \"vi\": 1,"
	"      \"online\": true, \"namespaces\": [{\"nsid\": 1, \"access\": \"ro\"}], \"origin\": \"policy\"},"
	"     {\"vf\": 2, \"address\": \"0000:01:00.2\", \"driver\": \"nvme\", \"iommu_group\": 13,"
	"      \"vfio\": null, \"stable\": \"HOMI0000000000000001-vf2\", \"vq\": 2, \"vi\": 1,"
	"      \"online\": true, \"namespaces\": [{\"nsid\": 1, \"access\": \"rw\"}], \"origin\": \"policy\"},"
	"     {\"vf\": 3, \"address\": \"0000:01:00.3\", \"driver\": \"vfio-pci\", \"iommu_group\": 14,"
	"      \"vfio\": \"/dev/vfio/14\", \"stable\": \"HOMI0000000000000001-vf3\", \"vq\": 2, \"vi\": 1,"
	"      \"online\": true, \"namespaces\": [], \"origin\": \"policy\"},"
	"     {\"vf\": 4, \"address\": \"0000:01:00.4\", \"driver\": \"vfio-pci\", \"iommu_group\": 15,"
	"      \"vfio\": \"/dev/vfio/15\", \"stable\": \"HOMI0000000000000001-vf4\", \"vq\": 2, \"vi\": 1,"
	"      \"online\": true, \"namespaces\": [], \"origin\": \"overlay\"}]}],"
	" \"events\": ["
	"   {\"time\": \"2024-01-01T00:00:00Z\", \"level\": \"info\", \"message\": \"applied 10-testbed.json: 13 steps\"},"
	"   {\"time\": \"2024-01-01T00:00:05Z\", \"level\": \"warning\", \"message\": \"0000:01:00.1: unbound by someone else; repaired\"},"
	"   {\"time\": \"2024-01-01T00:00:06Z\", \"level\": \"info\", \"message\": \"0000:01:00.4: vf.assign (runtime overlay)\"}]}";

struct echo {
	json_t *status;
	time_t started;
};

static json_t *handler(void *userdata, const struct homi_peer *peer, const struct homi_rpc_request *req)
{
	struct echo *e = userdata;
	json_t *doc;

	if (!streq(req->method, "status"))
		return homi_rpc_error(req->id, HOMI_RPC_METHOD_NOT_FOUND, "unknown method", NULL);
	/* A fresh document per request: handlers run on several threads, and
	 * homid builds its answer from live state. */
	doc = json_deep_copy(e->status);
	if (!doc)
		return homi_rpc_error(req->id, HOMI_RPC_INTERNAL_ERROR, "out of memory", NULL);
	json_object_set_new(doc, "uptime_s", json_integer(time(NULL) - e->started));
	json_object_set_new(doc, "pid", json_integer(getpid()));
	json_object_set_new(doc, "peer_uid", json_integer(peer->uid));
	return homi_rpc_result(req->id, doc);
}

int main(int argc, char **argv)
{
	struct echo e = { .started = time(NULL) };
	struct homi_server *s = NULL;
	struct homi_server_stats st;
	json_error_t jerr;
	sigset_t set;
	int r, sig;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	e.status = json_loads(status_template, JSON_REJECT_DUPLICATES, &jerr);
	if (!e.status) {
		fprintf(stderr, "rpc-echo-server: status template: %s\n", jerr.text);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	r = homi_server_start(argv[1], handler, &e, &s);
	if (r < 0) {
		fprintf(stderr, "rpc-echo-server: %s: %s\n", argv[1], strerror(-r));
		json_decref(e.status);
		return 1;
	}
	sigwait(&set, &sig);
	homi_server_get_stats(s, &st);
	homi_server_stop(s);
	fprintf(stderr, "rpc-echo-server: connections=%lu requests=%lu errors=%lu dropped=%lu\n", st.connections,
		st.requests, st.errors, st.dropped);
	json_decref(e.status);
	return 0;
}
