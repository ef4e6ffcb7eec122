/* SPDX-License-Identifier: MIT */
/* rpc-call SOCKET METHOD [PARAMS]: one JSON-RPC call to homid (PARAMS a
 * JSON object, default {}), the result on stdout as compact JSON. Exit 0 on
 * a result; on an error response its code and message on stderr and exit
 * 1; 2 on any other failure. For tests that need what homid itself reports
 * (homictl reads some things in-process). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

int main(int argc, char **argv)
{
	json_t *params = NULL, *result = NULL;
	char *message = NULL;
	int code = 0, r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: rpc-call SOCKET METHOD [PARAMS]\n");
		return 2;
	}
	if (argc == 4 && !(params = json_loads(argv[3], JSON_REJECT_DUPLICATES, NULL))) {
		fprintf(stderr, "rpc-call: PARAMS is not JSON\n");
		return 2;
	}
	r = homi_rpc_call(argv[1], argv[2], params, 60000, &result, &code, &message, NULL);
	json_decref(params);
	if (r == -EREMOTEIO) {
		fprintf(stderr, "error %d: %s\n", code, message ? message : "");
		free(message);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "rpc-call: %s\n", strerror(-r));
		return 2;
	}
	char *s = json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS);
	puts(s ? s : "null");
	free(s);
	json_decref(result);
	return 0;
}
