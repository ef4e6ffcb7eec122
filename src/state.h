/* SPDX-License-Identifier: MIT */
/* Ownership records (ARCHITECTURE.md 3.3): before homi first changes a PF,
 * its original state is recorded in the state directory (default
 * /var/lib/homi, one JSON file per PF under owned/); a PF no policy matches
 * any more is torn down to it; `release` forgets it. Files are written with
 * write-temp + fsync + rename. */
#pragma once

#include <stddef.h>

#include "topology.h"

struct homi_owned {
	char pci[HOMI_ADDR_LEN];
	char serial[64];         /* "" when unknown */
	int num_vfs;             /* VFs enabled before homi */
	int autoprobe;           /* sriov_drivers_autoprobe before homi */
	int vq_primary, vi_primary; /* flexible resources the primary held; -1 unknown */
	/* A rollback could not undo a primary-flex: the primary may have an
	 * allocation staged for its next reset that Identify does not show.
	 * The PF's teardown, and any reset homi plans, stage the allocation
	 * wanted (the recorded one, the current one) again first. */
	bool restage_primary;
};

struct homi_owned_set {
	struct homi_owned *items;
	size_t n;
};

/* Loads every record of DIR (a missing directory is an empty set). */
int homi_state_load(const char *dir, struct homi_owned_set **ret);
struct homi_owned_set *homi_owned_set_free(struct homi_owned_set *s);
const struct homi_owned *homi_owned_find(const struct homi_owned_set *s, const char *pci);

/* Writes (or replaces) the record of REC->pci. */
int homi_state_record(const char *dir, const struct homi_owned *rec);
/* Removes the record of PCI (-ENOENT when there is none). */
int homi_state_forget(const char *dir, const char *pci);

/* Write-temp + fsync + rename of DATA into DIR/NAME (mode 0644 or 0600). */
int homi_write_file_atomic(const char *dir, const char *name, const char *data, unsigned mode);
/* mkdir -p with MODE for each created component. */
int homi_mkdir_p(const char *path, unsigned mode);
