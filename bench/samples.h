/* SPDX-License-Identifier: MIT */
/*
 * Timing samples of a benchmark: a growing array of doubles, its quantiles,
 * and the clock they are taken with.
 */
#pragma once

#include <stddef.h>

typedef struct Samples {
	double *values;
	size_t n;
	size_t allocated;
	int sorted;
} Samples;

/* Appends x; -ENOMEM (the sample is dropped) or 0. At most SAMPLES_MAX values. */
#define SAMPLES_MAX (16u * 1024 * 1024)
int samples_add(Samples *s, double x);

/* The q-quantile (0 <= q <= 1, nearest rank) of the values; NAN when there are none. Sorts. */
double samples_quantile(Samples *s, double q);

/* The largest value; NAN when there are none. */
double samples_max(Samples *s);

void samples_clear(Samples *s);

/* CLOCK_MONOTONIC in microseconds, with nanosecond resolution. */
double now_usec(void);
