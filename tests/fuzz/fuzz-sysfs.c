/* SPDX-License-Identifier: MIT */
/* Harness: a sysfs tree built from the input (a hostile or broken capture),
 * read as `homictl --sysfs-root` reads one: homi_topology_load, the
 * topology, device list, device and device show documents, and the example
 * policies resolved against what was read. The input is lines of commands
 * (tree.c); the tree lives in a tmpfs directory and is rebuilt per input. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "fuzz-tree.h"
#include "fuzz.h"
#include "macro.h"
#include "model-json.h"
#include "policy.h"
#include "sysfs.h"

const char fuzz_target_name[] = "sysfs";

static const char *const policies[] = {
	"{\"homi-policy\": 1, \"devices\": [{\"match\": {\"pci\": \"*\"}, \"vfs\": [{\"vf\": 1, \"driver\": "
	"\"vfio-pci\", \"vq\": 2, \"vi\": 1, \"gpu\": \"nearest\"}, {\"vf\": 2, \"driver\": \"nvme\", \"vq\": 2, "
	"\"vi\": 1, \"namespaces\": [1]}]}]}",
	"{\"homi-policy\": 1, \"protect\": [\"0000:00:17.0\"], \"per-gpu\": {\"driver\": \"vfio-pci\", \"vq\": 2, "
	"\"vi\": 1}}",
};

static void documents(const struct homi_sysfs *s, const struct homi_topology *t)
{
	json_t *docs[] = { homi_json_topology(t), homi_json_device_list(t) };

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		free(json_dumps(docs[i], JSON_COMPACT));
		json_decref(docs[i]);
	}
	for (size_t i = 0; i < t->n_devices; i++) {
		struct homi_device_report *rep = NULL;
		json_t *d = homi_json_device(t, i);
		free(json_dumps(d, JSON_COMPACT));
		json_decref(d);
		if (t->devices[i].kind == HOMI_KIND_NVME_PF && homi_device_report_load(s, t, i, &rep) == 0) {
			d = homi_json_device_show(t, rep);
			free(json_dumps(d, JSON_COMPACT));
			json_decref(d);
			homi_device_report_free(rep);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
		struct homi_policy *p = homi_policy_new();
		struct homi_desired *want = NULL;
		char *err = NULL;
		if (homi_policy_add_buffer(p, "p.json", policies[i], strlen(policies[i]), &err) < 0)
			abort();
		homi_policy_resolve(p, t, &want, &err);
		free(err);
		homi_desired_free(want);
		homi_policy_free(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *root = fuzz_tree_build(data, size);
	struct homi_sysfs *s = NULL;
	struct homi_topology *t = NULL;

	if (!root || homi_sysfs_open(root, &s) < 0)
		return 0;
	if (homi_topology_load(s, NULL, &t) == 0) {
		documents(s, t);
		homi_topology_free(t);
	}
	homi_sysfs_free(s);
	return 0;
}
