/* SPDX-License-Identifier: MIT */
/* Internal to rpc.c and server.c: monotonic deadlines and the I/O on
 * non-blocking sockets that both sides of the protocol use. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t homi_now_ms(void);
/* now + TIMEOUT_MS; TIMEOUT_MS <= 0: -1, no deadline. */
int64_t homi_deadline_ms(int timeout_ms);
/* Waits for EVENTS (POLLIN, POLLOUT) on FD until DEADLINE (-1: forever).
 * Returns 0 when ready (or in error/hang-up: the next call says which),
 * -ETIMEDOUT, or another negative errno. */
int homi_fd_wait(int fd, short events, int64_t deadline);
/* Sends all of BUF on a non-blocking socket before DEADLINE, without
 * SIGPIPE. Returns 0, -ETIMEDOUT, or -errno (-EPIPE: the peer left). */
int homi_send_all(int fd, const char *buf, size_t len, int64_t deadline);
