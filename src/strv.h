/* SPDX-License-Identifier: MIT */
/* Formatted strings and growing arrays of them (notes, messages). */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

/* A formatted string (free() it), or NULL when out of memory. */
_printf_(1, 2) char *homi_fmt(const char *fmt, ...);

/* Appends a formatted string to *V (*N entries). -ENOMEM leaves both as
 * they were. */
_printf_(3, 4) int homi_strv_appendf(char ***v, size_t *n, const char *fmt, ...);
int homi_strv_appendv(char ***v, size_t *n, const char *fmt, va_list ap);
