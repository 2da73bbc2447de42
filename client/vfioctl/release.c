/* SPDX-License-Identifier: MIT */
/*
 * vfioctl release: asks vfiod to take back the claims holding devices
 * (Manager.Revoke(), one call per device). The holder is told and has its
 * grace period, as when the device is unbound; this returns at once.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vfioctl.h"

static void help(FILE *f)
{
	fprintf(f, "Usage: vfioctl [--address ADDRESS | --system] release DEVICE...\n"
		   "\n"
		   "Asks vfiod to end the claim that holds each DEVICE: the holder receives\n"
		   "Claim.Revoked and has the grace period of its policy rule to let go, after\n"
		   "which vfiod ends the claim (and kills the holder where the rule says\n"
		   "RevokeForce=yes). Anyone may release the claims of their own uid; others'\n"
		   "need root (or, on the system bus, polkit's io.vfiod.manage).\n"
		   "\n"
		   "Prints one line per device: DEVICE: CLAIM asked back, grace period, force.\n"
		   "See vfioctl(1).\n");
}

static int release_one(sd_bus *bus, const char *device, const void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *claim;
	uint64_t grace_usec;
	int force, r;

	r = sd_bus_call_method(bus, vfioctl_destination(bus), "/io/vfiod/Broker1",
			       "io.vfiod.Broker1.Manager", "Revoke", &e, &reply, "s", device);
	if (r >= 0)
		r = sd_bus_message_read(reply, "otb", &claim, &grace_usec, &force);
	if (r < 0) {
		fprintf(stderr, "vfioctl: release %s failed: %s (%s)\n", device,
			e.message ?: strerror(-r), e.name ?: "no error name");
		return r;
	}
	printf("%s: %s asked back; grace period %" PRIu64 " ms, then %s\n", device, claim,
	       grace_usec / 1000, force ? "the holder is killed" : "the claim ends");
	return 0;
}

int cmd_release(const struct vfioctl *ctx, int argc, char **argv)
{
	static const struct option options[] = {
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1)
		switch (c) {
		case 'h':
			help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'vfioctl release --help'.\n");
			return 1;
		}
	if (optind >= argc) {
		fprintf(stderr, "vfioctl: release needs a DEVICE. Try 'vfioctl release --help'.\n");
		return 1;
	}
	return vfioctl_for_each_device(ctx, argc - optind, argv + optind, release_one, NULL);
}
