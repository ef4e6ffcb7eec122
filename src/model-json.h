/* SPDX-License-Identifier: MIT */
/* The JSON documents of ARCHITECTURE.md 3.2 built from the model. Each
 * returns a new reference, or NULL when out of memory. Keys are the stable
 * interface: extend, never rename. */
#pragma once

#include <jansson.h>

#include "device.h"
#include "topology.h"

json_t *homi_json_device(const struct homi_topology *t, size_t idx);
/* {"homi-topology": 1, "devices": [...], "affinity": [...], "warnings": [...]} */
json_t *homi_json_topology(const struct homi_topology *t);
/* {"homi-devices": 1, "devices": [...]}: NVMe and GPU functions only. */
json_t *homi_json_device_list(const struct homi_topology *t);
/* {"homi-device": 1, "device": ..., "primary": ..., "secondaries": [...]} */
json_t *homi_json_device_show(const struct homi_topology *t, const struct homi_device_report *rep);
/* The primary and secondaries of a homi-device document (homid's answer)
 * as a report on device IDX of the caller's own topology. */
int homi_device_report_from_json(const json_t *doc, size_t idx, struct homi_device_report **ret);

/* The model of a homi-topology document (homid's answer): what homictl
 * draws when it talks to homid. The affinity table is computed again (the
 * same rules give the same table); the warnings are the document's.
 * -EBADMSG for a document that is not one. */
int homi_topology_from_json(const json_t *doc, struct homi_topology **ret);

/* {"homi-error": 1, "message": ..., "errno": N} */
json_t *homi_json_error(const char *message, int err);

/* True for the functions `device list` shows. */
bool homi_device_listed(const struct homi_device *d);
