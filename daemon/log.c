/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
		/* %m in format refers to `error`, as in systemd. */
		errno = error;
		fprintf(stderr, "<%d>", level);
		va_start(ap, format);
		vfprintf(stderr, format, ap);
		va_end(ap);
		if (max_level >= LOG_DEBUG)
			fprintf(stderr, " (%s:%d)", file, line);
		fputc('\n', stderr);
	}
	errno = saved_errno;
	return -error;
}
