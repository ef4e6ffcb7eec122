/* SPDX-License-Identifier: MIT */
/* Policies (homi-policy(5), ARCHITECTURE.md 3.3): JSON files parsed and
 * validated into rules, then resolved against the observed topology into the
 * desired state of each physical function.
 *
 * Errors are one line each: "FILE:LINE:COL: message" for syntax (duplicate
 * keys included) and "FILE: $.devices[0].vfs[1].vq: expected an integer >= 2,
 * got 1" for meaning. Functions return 0 or a negative errno (-EINVAL for a
 * policy error, with the lines in *ret_errors, newline separated, caller
 * frees); nothing is printed.
 *
 * ret_errors may be NULL. It is set to NULL first and holds the lines (no
 * trailing newline) whenever there are any: after -EINVAL, and after the
 * errno of an unreadable file from homi_policy_add_path ("PATH: strerror").
 * -ENOMEM comes without lines. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology.h"

enum homi_vf_driver {
	HOMI_VF_DRIVER_NONE,     /* "none": left unbound */
	HOMI_VF_DRIVER_NVME,     /* "nvme" */
	HOMI_VF_DRIVER_VFIO,     /* "vfio-pci" */
};

enum homi_gpu_pairing {
	HOMI_GPU_UNSET,          /* key absent */
	HOMI_GPU_NEAREST,        /* "nearest" */
	HOMI_GPU_NONE,           /* "none" */
	HOMI_GPU_ADDR,           /* a GPU's PCI address (canonical in .gpu) */
};

struct homi_want_ns {
	uint32_t nsid;
	bool read_only;          /* "access": "ro" (default "rw") */
	bool allow_mounted_rw;   /* "allow-mounted-rw": true */
};

struct homi_want_vf {
	unsigned vf;             /* 1-based VF number (NVMe VFN) */
	enum homi_vf_driver driver;
	int vq, vi;              /* -1 when absent: the VF stays offline (or resources are fixed) */
	struct homi_want_ns *ns; /* sorted by nsid, unique */
	size_t n_ns;
	enum homi_gpu_pairing gpu;
	char gpu_addr[HOMI_ADDR_LEN]; /* HOMI_GPU_ADDR: the GPU; HOMI_GPU_NEAREST after resolution: the
				       * GPU nearest to the PF ("" when there is none); else "" */
	char *owner, *group;     /* NULL when absent; names or numeric ids as written */
	int mode;                /* -1 when absent; else 0..07777 */
	char *origin;            /* "FILE: $.devices[0].vfs[1]" or "FILE: $.per-gpu for GPU 0000:3b:00.0" */
};

struct homi_want_pf {
	char pci[HOMI_ADDR_LEN];
	bool allow_pf_reset;
	unsigned num_vfs;        /* the highest VF number listed */
	struct homi_want_vf *vfs;/* sorted by vf; only the VFs listed (others: enabled, offline, unbound) */
	size_t n_vfs;
	char *origin;            /* "FILE: $.devices[0]" of the first entry that matched */
};

struct homi_desired {
	struct homi_want_pf *pfs;/* sorted by address */
	size_t n_pfs;
	char (*protect)[HOMI_ADDR_LEN]; /* canonical addresses, sorted, unique */
	size_t n_protect;
	char **notes;            /* what the match passed over, for the plan: a protected PF a glob selected */
	size_t n_notes;
};

struct homi_policy;

struct homi_policy *homi_policy_new(void);
struct homi_policy *homi_policy_free(struct homi_policy *p);

/* Adds one policy document NAME (a file name used in messages) from memory.
 * The daemon receives files as contents; homictl reads them and calls this.
 * On error the policy is unchanged. */
int homi_policy_add_buffer(struct homi_policy *p, const char *name, const char *data, size_t len, char **ret_errors);
/* Adds PATH: a file, or a directory whose *.json files (names not starting
 * with '.') are added in lexical (strcmp) order. All or nothing: when one
 * file of a directory is bad, every problem of every file is reported and
 * none is added. Returns the first problem's code: the errno of an
 * unreadable file, or -EINVAL. */
int homi_policy_add_path(struct homi_policy *p, const char *path, char **ret_errors);
/* The paths of the files homi_policy_add_path() adds from directory DIR,
 * in its order; free with homi_policy_files_free(). Returns 0 or -errno. */
int homi_policy_dir_files(const char *dir, char ***ret, size_t *ret_n);
void homi_policy_files_free(char **v, size_t n);
/* Number of documents added. */
size_t homi_policy_count(const struct homi_policy *p);
/* Name of document I (as given to add_buffer, or the file's path), in the
 * order added; NULL past the end. */
const char *homi_policy_name(const struct homi_policy *p, size_t i);

/* Resolves the rules against the topology: which PFs each `match` selects
 * (PFs only: a match that selects a VF is an error), the merge of entries
 * that give one PF (conflicting settings of one VF name both origins), the
 * `per-gpu` placement, `gpu` addresses that are not GPUs, `protect`. */
int homi_policy_resolve(const struct homi_policy *p, const struct homi_topology *t, struct homi_desired **ret,
			char **ret_errors);

struct homi_desired *homi_desired_free(struct homi_desired *d);

/* The desired state of PF ADDR, or NULL when no policy matches it. */
const struct homi_want_pf *homi_desired_find(const struct homi_desired *d, const char *addr);
bool homi_desired_protected(const struct homi_desired *d, const char *addr);

/* The VF of PF numbered VF, or NULL when the policy does not list it (it is
 * then enabled, offline and unbound when below num_vfs). */
const struct homi_want_vf *homi_want_pf_find_vf(const struct homi_want_pf *pf, unsigned vf);
/* A VF is online exactly when the policy gives it both vq and vi. */
bool homi_want_vf_online(const struct homi_want_vf *w);

const char *homi_vf_driver_name(enum homi_vf_driver drv);
/* "vfio-pci", "nvme", "none" -> enum; -EINVAL for anything else. */
int homi_vf_driver_from_name(const char *s, enum homi_vf_driver *ret);
/* "nearest", "none", "address"; NULL for HOMI_GPU_UNSET. */
const char *homi_gpu_pairing_name(enum homi_gpu_pairing g);

/* Deep copy (DST uninitialised) and release of one VF's desired state. */
int homi_want_vf_copy(struct homi_want_vf *dst, const struct homi_want_vf *src);
void homi_want_vf_done(struct homi_want_vf *w);

/* Removes PF ADDR from D (homid's torn-down or released PFs); -ENOENT when
 * D does not name it. */
int homi_desired_drop(struct homi_desired *d, const char *addr);
