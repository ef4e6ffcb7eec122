/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "strv.h"

int homi_strv_appendf(char ***v, size_t *n, const char *fmt, ...)
{
	char *s = NULL, **grown;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	grown = s ? realloc(*v, (*n + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(s);
		return -ENOMEM;
	}
	*v = grown;
	grown[(*n)++] = s;
	return 0;
}
