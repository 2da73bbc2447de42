/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "vfioc-private.h"

static vfioc_log_fn log_fn;
static void *log_userdata;

VFIOC_EXPORT void vfioc_set_log_fn(vfioc_log_fn fn, void *userdata)
{
	log_fn = fn;
	log_userdata = userdata;
}

bool vfioc_log_enabled(void)
{
	return log_fn != NULL;
}

void vfioc_log(int priority, const char *format, ...)
{
	char buf[1024];
	va_list ap;

	if (!log_fn)
		return;

	int saved = errno;
	va_start(ap, format);
	vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);
	log_fn(priority, buf, log_userdata);
	errno = saved;
}
