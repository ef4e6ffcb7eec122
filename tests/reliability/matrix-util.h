/* SPDX-License-Identifier: MIT */
/* Helpers of the fault matrix: directories, rows, differences. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "matrix.h"

/* rm -rf DIR (a missing one is fine), then mkdir DIR. */
int matrix_rm_rf(const char *dir);
/* Every regular file below DIR as "path\ncontent\n", in name order; "" when
 * DIR is missing. Caller frees. */
char *matrix_tree_text(const char *dir);
/* Whether RUN_DIR still holds a journal. */
bool matrix_journal_left(const char *run_dir);
/* The first line where A and B differ ("'old' became 'new'"), from the machine
 * pictures, else from the file pictures. Static storage. */
const char *matrix_first_difference(const char *a, const char *b, const char *fa, const char *fb);

/* A new zeroed row at the end of *ROWS, or NULL. */
struct matrix_row *matrix_row_add(struct matrix_row **rows, size_t *n);
/* Marks ROW bad with a reason. */
void matrix_bad(struct matrix_row *row, const char *fmt, ...) _printf_(2, 3);
