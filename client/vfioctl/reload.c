/* SPDX-License-Identifier: MIT */
/*
 * vfioctl reload: asks vfiod to reload its policy (Reload() on the Manager).
 * vfiod keeps the policy in force when the new one is broken and says why;
 * claims already made are not touched either way.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "util.h"
#include "vfioc.h"
#include "vfioctl.h"

static void help(FILE *f)
{
	fprintf(f, "Usage: vfioctl [--address ADDRESS | --system] reload\n"
		   "\n"
		   "Asks vfiod to reload its policy files; only root may. On an error in the\n"
		   "new policy vfiod keeps the old one and the error names the file and line.\n"
		   "See vfioctl(1).\n");
}

int cmd_reload(const struct vfioctl *ctx, int argc, char **argv)
{
	static const struct option options[] = {
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1)
		switch (c) {
		case 'h':
			help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'vfioctl reload --help'.\n");
			return 1;
		}
	if (optind < argc) {
		fprintf(stderr,
			"vfioctl: reload takes no arguments. Try 'vfioctl reload --help'.\n");
		return 1;
	}
	r = vfioctl_connect_manager(ctx, &bus);
	if (r < 0)
		return 1;
	r = sd_bus_call_method(bus, vfioctl_destination(bus), "/io/vfiod/Broker1",
			       "io.vfiod.Broker1.Manager", "Reload", &e, NULL, "");
	if (r < 0) {
		fprintf(stderr, "vfioctl: reload failed: %s (%s)\n", e.message ?: strerror(-r),
			e.name ?: "no error name");
		return 1;
	}
	if (ctx->verbose)
		fprintf(stderr, "vfioctl: vfiod reloaded its policy\n");
	return 0;
}
