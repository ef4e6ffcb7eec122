/* SPDX-License-Identifier: MIT */
/* The homi-check document of ARCHITECTURE.md 3.2:
 * {"homi-check": 1, "modes": ["H", "D", "G"], "checks": [{"check",
 * "subject", "status", "why", "fix", "modes", "vf", "gpu", "pair"}...],
 * "summary": {"pass", "warn", "fail", "unknown"}}. "pair" is the pair the
 * verdict belongs to as shown ("0000:04:00.1", "VF1 of 0000:04:00.0", the
 * GPU for a GPU's own checks, null host-wide).
 *
 * homi_check_to_json() returns a new reference, or NULL when out of memory. */
#pragma once

#include <jansson.h>

#include "checks.h"

json_t *homi_check_to_json(const struct homi_check_report *r);

/* The inverse, for a document homid sent: a report whose text and JSON are
 * those of the report the document was made from. Validated: -EBADMSG for a
 * document that is not a homi-check 1 document (a missing or mistyped key, an
 * unknown status or mode, a summary that does not count the checks);
 * -ENOMEM. */
int homi_check_report_from_json(const json_t *doc, struct homi_check_report **ret);
