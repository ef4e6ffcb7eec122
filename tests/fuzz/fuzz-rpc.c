/* SPDX-License-Identifier: MIT */
/* Harness: one request line as homid's server hands it over
 * (homi_rpc_parse_request), then, when it parses, the daemon's own handler
 * (homid_handle) on the simulated testbed for an unprivileged peer (uid
 * 1000): the read-only methods run (status, topology, device.show, plan with
 * policy files as parameters), the changing ones must be refused. Checks:
 * every request with an id gets exactly one JSON-RPC response that
 * serializes to one line; a changing method from this peer is always
 * -32001. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fuzz.h"
#include "host-sim.h"
#include "log.h"
#include "macro.h"
#include "rpc.h"

const char fuzz_target_name[] = "rpc";

static char dir[] = "/tmp/homi-fuzz-rpc-XXXXXX";

static void remove_dir(void)
{
	char cmd[sizeof(dir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

static struct homid *daemon_for_fuzzing(void)
{
	static struct homid *d;
	struct homid_config cfg;
	struct homi_sim_config sc;
	struct homi_host *h = NULL;

	if (d)
		return d;
	homi_log_set_level(HOMI_LOG_ERR);
	if (!mkdtemp(dir) || homid_config_defaults(&cfg) < 0)
		abort();
	atexit(remove_dir);
	free(cfg.run_dir);
	free(cfg.state_dir);
	free(cfg.policy_dir);
	if (asprintf(&cfg.run_dir, "%s/run", dir) < 0 || asprintf(&cfg.state_dir, "%s/state", dir) < 0 ||
	    asprintf(&cfg.policy_dir, "%s/policies", dir) < 0)
		abort();
	homi_sim_config_testbed(&sc);
	if (homi_host_sim(&sc, &h) < 0 || homid_new(&cfg, h, NULL, &d) < 0)
		abort();
	return d; /* lives as long as the process */
}

static bool changes(const char *method)
{
	static const char *const m[] = { "apply", "teardown", "release", "vf.assign", "vf.unassign",
					 "ns.attach", "ns.detach", "reload" };
	for (size_t i = 0; i < ARRAY_SIZE(m); i++)
		if (streq(m[i], method))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct homi_rpc_request req;
	struct homi_peer peer = { .pid = 4242, .uid = 1000, .gid = 1000, .groups = { 1000 }, .n_groups = 1 };
	json_t *resp = NULL;
	char *line = fuzz_memdup(data, size), *out;
	int r;

	if (size > HOMI_RPC_MAX_LINE || memchr(data, '\n', size)) {
		free(line); /* the server never hands such a line over */
		return 0;
	}
	r = homi_rpc_parse_request(line, size, &req, &resp);
	if (r < 0) {
		if (!resp || !json_object_get(resp, "error"))
			abort(); /* every refusal comes with its error response */
	} else {
		resp = homid_handle(daemon_for_fuzzing(), &peer, &req);
		if (req.id && !resp)
			abort();
		if (resp && changes(req.method) &&
		    json_integer_value(json_object_get(json_object_get(resp, "error"), "code")) != HOMI_RPC_NOT_AUTHORIZED)
			abort(); /* an unprivileged peer changed something */
	}
	if (resp) {
		out = homi_rpc_line(resp);
		if (!out || strchr(out, '\n') != out + strlen(out) - 1)
			abort(); /* a response is one line */
		free(out);
	}
	json_decref(resp);
	if (r == 0)
		homi_rpc_request_done(&req);
	free(line);
	return 0;
}
