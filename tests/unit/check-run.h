/* SPDX-License-Identifier: MIT */
/* The main() of every Check suite: run it, exit as make check expects. */
#pragma once

#include <check.h>
#include <stdlib.h>

/* Runs S (freed with the runner), printing as PRINT; EXIT_FAILURE when a
 * test failed. */
static inline int check_run(Suite *s, enum print_output print)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, print);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
