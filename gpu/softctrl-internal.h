/* SPDX-License-Identifier: MIT */
/* Soft controller internals shared by softctrl.c (lifecycle, windows,
 * workers), softctrl-io.c (command checks and execution) and
 * softctrl-admin.c (admin commands). */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "softctrl.h"

enum { SC_Q_FREE = 0, SC_Q_LIVE, SC_Q_DELETING };

struct sc_window {
	uint8_t *va;
	uint64_t iova;
	size_t len;
};

struct sc_cq {
	int live;
	uint16_t qid;
	uint32_t depth;
	struct homi_nvme_cqe *mem;
	uint32_t *head_db;   /* CQ head doorbell in BAR0 */
	uint32_t tail;
	uint16_t phase;
	int nsq;             /* SQs bound to it */
};

struct sc_sq {
	atomic_int state;
	atomic_int ack;      /* worker has seen SC_Q_DELETING */
	uint16_t qid, cqid;
	uint32_t depth;
	struct homi_nvme_sqe *mem;
	struct homi_nvme_sqe *shadow; /* last SQE seen in each slot */
	uint32_t *tail_db;   /* SQ tail doorbell in BAR0 */
	uint32_t head;
	uint32_t bad_db;     /* last invalid doorbell value counted */
};

/* A transfer as the PRPs describe it, split into contiguous pieces. */
struct sc_chunk {
	uint8_t *va;
	uint32_t len;
};

struct sc_worker {
	struct homi_softctrl *sc;
	pthread_t thread;
	unsigned idx;
	int started;
	struct homi_nvme_sqe *batch;
	uint16_t *status;
	uint8_t *drop;
	uint32_t *order;
	struct sc_chunk *chunks;
	uint32_t max_chunks;
	uint32_t rng;
};

struct homi_softctrl {
	struct homi_softctrl_config cfg;
	uint8_t *bar0;
	size_t bar0_len;
	uint8_t *ns;
	size_t ns_len;

	pthread_rwlock_t win_lock;
	struct sc_window *win;  /* sorted by IOVA */
	unsigned nwin, win_cap;
	uint64_t iova_next;

	pthread_mutex_t admin_lock;
	struct sc_cq *cq;       /* indexed by qid, 0 unused */
	struct sc_sq *sq;

	pthread_mutex_t fault_lock;
	struct homi_softctrl_faults faults;

	atomic_int stop;
	struct sc_worker *workers;
	unsigned nworkers;

	/* statistics */
	atomic_uint_fast64_t st_fetched, st_completed, st_bad_status, st_injected, st_dropped, st_window_faults,
		st_cq_full_stalls, st_sqe_repeats, st_doorbell_errors, st_bytes;
};

/* softctrl.c */
/* Translate IOVA..IOVA+LEN to a VA inside one window (caller holds
 * win_lock for reading), NULL if no window covers all of it. */
uint8_t *sc_xlate(struct homi_softctrl *sc, uint64_t iova, size_t len);
uint32_t *sc_doorbell(struct homi_softctrl *sc, uint16_t qid, int cq);

/* softctrl-io.c */
/* Check and execute one I/O command; returns the status field. *DROP is
 * set when the command must never complete. */
uint16_t sc_io_execute(struct sc_worker *w, const struct homi_nvme_sqe *e, const struct homi_softctrl_faults *f,
		       uint8_t *drop);
/* Walk the PRPs of a LEN-byte transfer into W->chunks; returns the status
 * field (0 on success) and the number of chunks in *N. */
uint16_t sc_prp_walk(struct sc_worker *w, uint64_t prp1, uint64_t prp2, uint64_t len, uint32_t *n);
