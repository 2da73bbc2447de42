/* SPDX-License-Identifier: MIT */
/*
 * A minimal test helper: CHECK() records a failure with file and line and
 * carries on, so one run reports every broken expectation; test_exit() turns
 * the count into the exit status meson reads.
 */
#pragma once

#include <stdio.h>

static int test_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define CHECK_STREQ(a, b)                                                                          \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,           \
				_a ? _a : "(null)", _b ? _b : "(null)");                           \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

static inline int test_exit(void)
{
	if (test_failures)
		fprintf(stderr, "%d check(s) failed\n", test_failures);
	return test_failures ? 1 : 0;
}
