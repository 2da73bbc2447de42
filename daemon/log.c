/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *format, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (error < 0)
		error = -error;
	if (level <= max_level) {
		_cleanup_free_ char *message = NULL;

		/* %m in format refers to `error`, as in systemd. */
		errno = error;
		va_start(ap, format);
		if (vasprintf(&message, format, ap) < 0)
			message = NULL;
		va_end(ap);
		/*
		 * One fprintf, so one write(2) on the unbuffered stderr: a line
		 * is not interleaved with others and costs one system call.
		 */
		if (max_level >= LOG_DEBUG)
			fprintf(stderr, "<%d>%s (%s:%d)\n", level, message ?: format, file, line);
		else
			fprintf(stderr, "<%d>%s\n", level, message ?: format);
	}
	errno = saved_errno;
	return -error;
}
