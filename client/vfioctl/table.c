/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

struct table {
	size_t n_columns;
	char **cells;
	size_t n_cells;
	bool failed;
};

struct table *table_new(size_t n_columns)
{
	struct table *t = calloc(1, sizeof(*t));

	if (t)
		t->n_columns = n_columns ? n_columns : 1;
	return t;
}

struct table *table_free(struct table *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
	return NULL;
}

static void table_take(struct table *t, char *cell)
{
	char **a;

	if (!t || !cell) {
		if (t)
			t->failed = true;
		free(cell);
		return;
	}
	a = reallocarray(t->cells, t->n_cells + 1, sizeof(char *));
	if (!a) {
		t->failed = true;
		free(cell);
		return;
	}
	t->cells = a;
	t->cells[t->n_cells++] = cell;
}

void table_add(struct table *t, const char *cell)
{
	table_take(t, strdup(cell ? cell : ""));
}

void table_addf(struct table *t, const char *format, ...)
{
	char *cell = NULL;
	va_list ap;

	va_start(ap, format);
	if (vasprintf(&cell, format, ap) < 0)
		cell = NULL;
	va_end(ap);
	table_take(t, cell);
}

int table_print(const struct table *t, FILE *f, const char *indent)
{
	size_t widths[16] = {};
	size_t n = t->n_columns < ELEMENTSOF(widths) ? t->n_columns : ELEMENTSOF(widths);

	for (size_t i = 0; i < t->n_cells; i++) {
		size_t c = i % t->n_columns, len = strlen(t->cells[i]);
		if (c < n && len > widths[c])
			widths[c] = len;
	}
	for (size_t i = 0; i < t->n_cells; i++) {
		size_t c = i % t->n_columns;
		bool last = true;

		/* No padding after the last non-empty cell of a row: no trailing blanks. */
		for (size_t j = i + 1; j < t->n_cells && j % t->n_columns != 0; j++)
			if (t->cells[j][0])
				last = false;

		if (c == 0)
			fputs(indent ? indent : "", f);
		if (last) {
			fprintf(f, "%s\n", t->cells[i]);
			i += t->n_columns - 1 - c; /* the empty rest of the row */
		} else
			fprintf(f, "%-*s  ", (int)(c < n ? widths[c] : 0), t->cells[i]);
	}
	return t->failed ? -ENOMEM : 0;
}
