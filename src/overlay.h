/* SPDX-License-Identifier: MIT */
/* Imperative changes (`vf assign`, `ns attach`, ...) kept as an overlay on
 * the policies: one entry per (PF, VF) that replaces whatever the policies
 * say of that VF. Persistent entries live in STATE_DIR/overlay.json, entries
 * made with --runtime in RUN_DIR/overlay.json (gone at reboot). */
#pragma once

#include <jansson.h>

#include "policy.h"

struct homi_overlay_entry {
	char pf[HOMI_ADDR_LEN];
	struct homi_want_vf vf;      /* .origin: who set it and when */
	bool runtime;
};

struct homi_overlay {
	struct homi_overlay_entry *entries;
	size_t n;
};

/* Loads both files (missing files are empty). */
int homi_overlay_load(const char *state_dir, const char *run_dir, struct homi_overlay **ret);
struct homi_overlay *homi_overlay_free(struct homi_overlay *o);
/* Writes both files (write-temp + fsync + rename). */
int homi_overlay_save(const struct homi_overlay *o, const char *state_dir, const char *run_dir);

const struct homi_overlay_entry *homi_overlay_find(const struct homi_overlay *o, const char *pf, unsigned vf);
/* Sets (replaces) the entry of VF->vf of PF with a copy of VF. */
int homi_overlay_set(struct homi_overlay *o, const char *pf, const struct homi_want_vf *vf, bool runtime);
/* -ENOENT when there is none. */
int homi_overlay_remove(struct homi_overlay *o, const char *pf, unsigned vf);

/* Merges the overlay into D (resolved against T): each entry replaces the
 * VF it names; a PF no policy matched gets a desired state of its own. An
 * entry for a function that is not an SR-IOV NVMe PF here, or beyond its
 * sriov_totalvfs, is an error line. */
int homi_overlay_merge(const struct homi_overlay *o, const struct homi_topology *t, struct homi_desired *d,
		       char **ret_errors);

json_t *homi_overlay_to_json(const struct homi_overlay *o);
