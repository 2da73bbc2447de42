/* SPDX-License-Identifier: MIT */
/*
 * Daemon logging. Lines go to stderr with a syslog priority prefix ("<3>")
 * that journald understands; the log_*_errno() forms log and return the
 * (negative) error so handlers can "return log_error_errno(r, ...)".
 */
#pragma once

#include <syslog.h>

#include "util.h"

void log_set_max_level(int level);
int log_get_max_level(void);

/* Logs at `level`; returns -|error| when error != 0, else 0. */
int log_internal(int level, int error, const char *file, int line, const char *format, ...)
    _printf_(5, 6);

#define log_full_errno(level, error, ...)                                                          \
	log_internal(level, error, __FILE__, __LINE__, __VA_ARGS__)

#define log_debug(...)	 log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)	 log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)	 log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)	 log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...)	  log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)	  log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* For allocation failures: logs and returns -ENOMEM. */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
