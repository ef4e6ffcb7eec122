/* SPDX-License-Identifier: MIT */
/* A small NVMe controller in a thread, for the driver's unit tests: its
 * "BAR0" is ordinary memory the driver maps as registers, and its DMA
 * addresses are host pointers (the identity IOVA of emu_dma_ops). It
 * implements CC/CSTS, the admin commands the driver sends (Identify CNS 0
 * and 1, Set Features Number of Queues, Create/Delete I/O CQ and SQ),
 * Read/Write/Flush with PRP1/PRP2/PRP lists on one namespace in memory, and
 * faults: commands of one opcode never complete, completions of a batch
 * posted in reverse, a command ID rewritten, the registers reading a given
 * CSTS (all ones, CFS) from some moment on, Ready never set. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "nvme-driver.h"

#define EMU_BAR_SIZE 0x4000
#define EMU_QUEUES 8

struct emu_sq {
	bool valid;
	uint64_t addr;
	uint16_t depth, head, cqid;
};

struct emu_cq {
	bool valid;
	uint64_t addr;
	uint16_t depth, tail, phase;
};

struct emu {
	uint8_t bar[EMU_BAR_SIZE] __attribute__((aligned(4096)));
	pthread_t thread;
	volatile bool stop;
	/* configuration, set before emu_start */
	uint16_t mqes;            /* CAP.MQES (0's based) */
	uint8_t cap_to;           /* CAP.TO in 500 ms units */
	uint8_t mdts;
	uint16_t io_queues;       /* what Set Features grants */
	bool never_ready;
	uint8_t *ns;              /* namespace 1 */
	uint64_t nsze;
	uint32_t lba_size;
	/* faults, changeable while running */
	volatile int drop_opc;        /* admin opcode that never completes (-1: none) */
	volatile bool reverse;        /* post each scan's completions in reverse */
	volatile bool bad_cid;        /* the next completion carries a command ID nobody sent */
	volatile uint32_t dead_csts;  /* nonzero: CSTS reads this, nothing is processed */
	/* state */
	bool enabled;
	struct emu_sq sq[EMU_QUEUES];
	struct emu_cq cq[EMU_QUEUES];
	uint64_t commands;            /* processed, all queues */
};

/* Defaults (MQES 1023, TO 1, MDTS 5, 4 I/O queues, 1 MiB namespace of 512 B
 * blocks), allocation; then emu_start. */
void emu_init(struct emu *e);
void emu_start(struct emu *e);
void emu_stop(struct emu *e);

/* DMA memory where the IOVA is the host address (aligned_alloc). */
extern const struct homi_dma_ops emu_dma_ops;
