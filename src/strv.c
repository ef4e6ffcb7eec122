/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "strv.h"

char *homi_fmt(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int homi_strv_appendv(char ***v, size_t *n, const char *fmt, va_list ap)
{
	char *s = NULL, **grown;

	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	grown = s ? realloc(*v, (*n + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(s);
		return -ENOMEM;
	}
	*v = grown;
	grown[(*n)++] = s;
	return 0;
}

int homi_strv_appendf(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = homi_strv_appendv(v, n, fmt, ap);
	va_end(ap);
	return r;
}
