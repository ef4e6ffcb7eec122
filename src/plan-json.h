/* SPDX-License-Identifier: MIT */
/* Steps, plans and apply results as the JSON of ARCHITECTURE.md 3.2 (also
 * the journal's encoding of steps). */
#pragma once

#include <jansson.h>

#include "plan.h"

/* {"op": ..., "pf": ..., op-specific keys}. */
json_t *homi_step_to_json(const struct homi_step *s);
/* Inverse of homi_step_to_json (extra keys ignored); -EINVAL when malformed. */
int homi_step_from_json(const json_t *j, struct homi_step *ret);
/* {"homi-plan": 1, "steps": [...], "notes": [...]} */
json_t *homi_plan_to_json(const struct homi_plan *p);
