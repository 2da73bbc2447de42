/* SPDX-License-Identifier: MIT */
#include "samples.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

int samples_add(Samples *s, double x)
{
	if (s->n == s->allocated) {
		size_t want = s->allocated ? s->allocated * 2 : 256;
		double *v;

		if (want > SAMPLES_MAX)
			return -ENOMEM;
		v = realloc(s->values, want * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->values = v;
		s->allocated = want;
	}
	s->values[s->n++] = x;
	s->sorted = 0;
	return 0;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double samples_quantile(Samples *s, double q)
{
	size_t rank;

	if (s->n == 0)
		return NAN;
	if (!s->sorted) {
		qsort(s->values, s->n, sizeof(*s->values), compare_doubles);
		s->sorted = 1;
	}
	/* Nearest rank: the smallest value with at least q of the samples at or below it. */
	rank = (size_t)ceil(q * (double)s->n);
	if (rank > 0)
		rank--;
	if (rank >= s->n)
		rank = s->n - 1;
	return s->values[rank];
}

double samples_max(Samples *s)
{
	return samples_quantile(s, 1.0);
}

void samples_clear(Samples *s)
{
	free(s->values);
	*s = (Samples){0};
}

double now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}
