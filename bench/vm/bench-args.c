/* SPDX-License-Identifier: MIT */
#include "bench-args.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "figures.h"

#define ITERATIONS_MAX 100000u

int bench_args_parse(int argc, char **argv, int n_positional, const char *usage, BenchArgs *ret)
{
	static const struct option options[] = {
	    {"json", required_argument, NULL, 'j'},
	    {"iterations", required_argument, NULL, 'n'},
	    {},
	};
	BenchArgs a = {.json = stdout};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 'j':
			a.json = figures_open(optarg);
			if (!a.json) {
				perror(optarg);
				return -errno;
			}
			break;
		case 'n':
			errno = 0;
			a.iterations = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end || a.iterations == 0 || a.iterations > ITERATIONS_MAX)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != n_positional)
		goto usage;
	a.rest = argv + optind;
	a.n_rest = argc - optind;
	*ret = a;
	return 0;
usage:
	fprintf(stderr, "usage: %s [--json FILE] [--iterations N] %s\n", argv[0], usage);
	return -EINVAL;
}
