/* SPDX-License-Identifier: MIT */
#include "figures.h"

#include <math.h>
#include <string.h>

FILE *figures_open(const char *path)
{
	if (!path || strcmp(path, "-") == 0)
		return stdout;
	return fopen(path, "ae");
}

/* Our names and notes are plain text, but quote what JSON requires anyway. */
static void put_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_number(FILE *f, double x)
{
	if (isfinite(x))
		fprintf(f, "%.6g", x);
	else
		fputs("null", f);
}

void figure_emit(FILE *f, const char *item, const char *name, const char *unit, double vfiod,
		 double baseline, const char *target, const char *note)
{
	fputs("{\"kind\": \"figure\", \"item\": ", f);
	put_string(f, item);
	fputs(", \"name\": ", f);
	put_string(f, name);
	fputs(", \"unit\": ", f);
	put_string(f, unit);
	fputs(", \"vfiod\": ", f);
	put_number(f, vfiod);
	fputs(", \"baseline\": ", f);
	put_number(f, baseline);
	fputs(", \"target\": ", f);
	put_string(f, target);
	fputs(", \"note\": ", f);
	put_string(f, note);
	fputs("}\n", f);
	fflush(f);
}

void point_emit(FILE *f, const char *series, double x, const char *const *names,
		const double *values, size_t n_values)
{
	fputs("{\"kind\": \"point\", \"series\": ", f);
	put_string(f, series);
	fputs(", \"x\": ", f);
	put_number(f, x);
	fputs(", \"y\": {", f);
	for (size_t i = 0; i < n_values; i++) {
		if (i > 0)
			fputs(", ", f);
		put_string(f, names[i]);
		fputs(": ", f);
		put_number(f, values[i]);
	}
	fputs("}}\n", f);
	fflush(f);
}
