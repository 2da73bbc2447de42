/* SPDX-License-Identifier: MIT */
/*
 * Aligned columns for human output: cells are added left to right, a row ends
 * after n_columns cells; table_print() pads every column but the last to its
 * widest cell. Allocation failures are remembered and reported by
 * table_print(), so callers add cells without checking each.
 */
#pragma once

#include <stdio.h>

#include "util.h"

struct table;

struct table *table_new(size_t n_columns);
struct table *table_free(struct table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct table *, table_free)

void table_add(struct table *t, const char *cell);
void table_addf(struct table *t, const char *format, ...) _printf_(2, 3);
/* Prints every row, each line starting with indent. 0, or -ENOMEM if a cell was lost. */
int table_print(const struct table *t, FILE *f, const char *indent);
