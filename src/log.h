/* SPDX-License-Identifier: MIT */
/* Logging for homid (library code never logs): one line per message on
 * standard error with its syslog priority as a "<N>" prefix, which journald
 * reads; messages above the configured level are dropped. A sink can see
 * every message kept (homid's recent events). Thread-safe. */
#pragma once

#include <stdarg.h>

#include "macro.h"

enum homi_log_level {
	HOMI_LOG_ERR = 3,
	HOMI_LOG_WARNING = 4,
	HOMI_LOG_NOTICE = 5,
	HOMI_LOG_INFO = 6,
	HOMI_LOG_DEBUG = 7,
};

typedef void (*homi_log_sink)(void *userdata, enum homi_log_level level, const char *message);

void homi_log_set_level(enum homi_log_level level);
void homi_log_set_sink(homi_log_sink sink, void *userdata);
/* "err", "warning", "notice", "info", "debug" -> level; -EINVAL otherwise. */
int homi_log_level_from_name(const char *name);
const char *homi_log_level_name(enum homi_log_level level);

_printf_(2, 3) void homi_log(enum homi_log_level level, const char *fmt, ...);
/* Logs and returns R (a negative errno), errno-safe: log_error_errno style. */
_printf_(3, 4) int homi_log_errno(enum homi_log_level level, int r, const char *fmt, ...);
