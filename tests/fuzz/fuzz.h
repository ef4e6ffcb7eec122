/* SPDX-License-Identifier: MIT */
/* libFuzzer harnesses (tests/fuzz/README.md). Each harness defines the
 * entry point below; run-fuzz links it with clang's -fsanitize=fuzzer, and
 * make check links it with replay.c, a main() that feeds every file of the
 * harness's corpus to it (gcc, no libFuzzer needed). */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The corpus directory of this harness, for replay.c. */
extern const char fuzz_target_name[];

/* A copy of DATA with a NUL after it (a string for APIs that need one),
 * and an exact-size copy without it (for those that take a length: any
 * read past the end is an ASan error). Caller frees. */
char *fuzz_strndup(const uint8_t *data, size_t size);
void *fuzz_memdup(const uint8_t *data, size_t size);
