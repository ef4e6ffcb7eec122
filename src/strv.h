/* SPDX-License-Identifier: MIT */
/* Growing arrays of strings (notes, messages). */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

/* Appends a formatted string to *V (*N entries). -ENOMEM leaves both as
 * they were. */
_printf_(3, 4) int homi_strv_appendf(char ***v, size_t *n, const char *fmt, ...);
int homi_strv_appendv(char ***v, size_t *n, const char *fmt, va_list ap);
