/* SPDX-License-Identifier: MIT */
/*
 * What the read commands (list, show, holders) share: their options, the
 * connection (the private socket or --address, or the system bus with
 * --system) and how they report a failed call.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vfioctl.h"

int vfioctl_connect(const struct vfioctl *ctx, struct vfioc_client **ret)
{
	int r;

	if (ctx->system)
		r = vfioc_connect_system(ret);
	else
		r = vfioc_connect(ctx->address, ret);
	if (r < 0)
		fprintf(stderr, "vfioctl: cannot connect to vfiod %s: %s\n",
			ctx->system    ? "on the system bus"
			: ctx->address ? ctx->address
				       : "(the private socket or $VFIOD_ADDRESS)",
			strerror(-r));
	return r;
}

int vfioctl_call_failed(const struct vfioc_client *client, int r, const char *what)
{
	const char *e = vfioc_client_last_error(client);

	fprintf(stderr, "vfioctl: %s: %s\n", what, e ? e : strerror(-r));
	return EXIT_READ_FAILED;
}

int read_command_options(int argc, char **argv, const char *usage, bool *ret_json)
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	*ret_json = false;
	while ((c = getopt_long(argc, argv, "jh", options, NULL)) != -1)
		switch (c) {
		case 'j':
			*ret_json = true;
			break;
		case 'h':
			printf("%s", usage);
			return 0;
		default:
			fprintf(stderr, "Try 'vfioctl %s --help'.\n", argv[0]);
			return EXIT_USAGE;
		}
	return -1;
}
