/* SPDX-License-Identifier: MIT */
/* The command line every guest benchmark shares: [--json FILE] [--iterations N] ARG... */
#pragma once

#include <stdio.h>

typedef struct BenchArgs {
	FILE *json;	     /* where the figures go (stdout by default) */
	unsigned iterations; /* 0: the benchmark's default */
	char **rest;	     /* the positional arguments, NULL-terminated */
	int n_rest;
} BenchArgs;

/* Parses argv; prints usage and returns -EINVAL when it does not fit or n_rest != n_positional. */
int bench_args_parse(int argc, char **argv, int n_positional, const char *usage, BenchArgs *ret);
