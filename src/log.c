/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static enum homi_log_level max_level = HOMI_LOG_INFO;
static homi_log_sink sink;
static void *sink_data;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const names[] = {
	[HOMI_LOG_ERR] = "err",   [HOMI_LOG_WARNING] = "warning", [HOMI_LOG_NOTICE] = "notice",
	[HOMI_LOG_INFO] = "info", [HOMI_LOG_DEBUG] = "debug",
};

void homi_log_set_level(enum homi_log_level level) { max_level = level; }

void homi_log_set_sink(homi_log_sink s, void *userdata)
{
	pthread_mutex_lock(&lock);
	sink = s;
	sink_data = userdata;
	pthread_mutex_unlock(&lock);
}

int homi_log_level_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i] && streq(names[i], name))
			return (int)i;
	return -EINVAL;
}

const char *homi_log_level_name(enum homi_log_level level)
{
	return (unsigned)level < ARRAY_SIZE(names) && names[level] ? names[level] : "info";
}

static void emit(enum homi_log_level level, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (level > max_level)
		return;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	pthread_mutex_lock(&lock);
	/* one line per message: a newline inside would split it for journald */
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
	fprintf(stderr, "<%d>%s\n", (int)level, msg);
	if (sink)
		sink(sink_data, level, msg);
	pthread_mutex_unlock(&lock);
	free(msg);
}

void homi_log(enum homi_log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	emit(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

int homi_log_errno(enum homi_log_level level, int r, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	emit(level, fmt, ap);
	va_end(ap);
	errno = saved;
	return r < 0 ? r : -r;
}
