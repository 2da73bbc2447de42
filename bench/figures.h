/* SPDX-License-Identifier: MIT */
/*
 * The output of every benchmark program: one JSON object per line, which
 * bench/report.py turns into the table, the JSON report and the plot.
 *
 *   {"kind": "figure", "item": "claim", "name": "claim, median", "unit": "us",
 *    "vfiod": 1234.5, "baseline": 1100.2 | null, "target": "ratio <= 1.10" | null,
 *    "note": "..." | null}
 *   {"kind": "point", "series": "scale", "x": 1000, "y": {"ready_ms": 12.3, ...}}
 *
 * A target reads "ratio OP NUMBER" (vfiod / baseline) or "vfiod OP NUMBER"
 * (in the figure's unit), OP one of < <= > >=. Benchmarks never decide
 * pass/fail themselves: the report says met / not met, the exit status only
 * reflects real errors.
 */
#pragma once

#include <stdio.h>

/* Opens path for appending figures (NULL or "-": stdout). Returns NULL on error (errno set). */
FILE *figures_open(const char *path);

/* baseline: NAN for none; target and note may be NULL. */
void figure_emit(FILE *f, const char *item, const char *name, const char *unit, double vfiod,
		 double baseline, const char *target, const char *note);

/* A point of a series: x and n_values (name, value) pairs. */
void point_emit(FILE *f, const char *series, double x, const char *const *names,
		const double *values, size_t n_values);
