/* SPDX-License-Identifier: MIT */
/* The homi-check document of ARCHITECTURE.md 3.2:
 * {"homi-check": 1, "modes": ["H", "D", "G"], "checks": [{"check",
 * "subject", "status", "why", "fix", "modes", "vf", "gpu"}...],
 * "summary": {"pass", "warn", "fail", "unknown"}}. Returns a new reference,
 * or NULL when out of memory. */
#pragma once

#include <jansson.h>

#include "checks.h"

json_t *homi_check_to_json(const struct homi_check_report *r);
