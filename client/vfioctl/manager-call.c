/* SPDX-License-Identifier: MIT */
/*
 * The connection of the admin commands (reload, bind, unbind, release): a
 * plain peer-to-peer sd-bus connection to vfiod, as libvfioc makes, where
 * vfiod takes the caller's identity from SO_PEERCRED, or with --system the
 * system bus, where vfiod asks polkit; and their loop over DEVICE arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vfioc.h"
#include "vfioctl.h"

int vfioctl_connect_manager(const struct vfioctl *ctx, sd_bus **ret)
{
	sd_bus *bus = NULL;
	const char *address = ctx->address;
	int r;

	if (ctx->system) {
		r = sd_bus_open_system_with_description(&bus, "vfiod");
		if (r < 0) {
			fprintf(stderr, "vfioctl: cannot connect to the system bus: %s\n",
				strerror(-r));
			return r;
		}
		*ret = bus;
		return 0;
	}
	if (!address) {
		address = secure_getenv("VFIOD_ADDRESS");
		if (!address || !*address)
			address = VFIOC_DEFAULT_ADDRESS;
	}
	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		fprintf(stderr, "vfioctl: cannot connect to vfiod at %s: %s\n", address,
			strerror(-r));
		sd_bus_flush_close_unref(bus);
		return r;
	}
	*ret = bus;
	return 0;
}

const char *vfioctl_destination(sd_bus *bus)
{
	return sd_bus_is_bus_client(bus) > 0 ? VFIOC_BUS_NAME : NULL;
}

int vfioctl_for_each_device(const struct vfioctl *ctx, int argc, char **argv,
			    int (*call)(sd_bus *bus, const char *device, const void *userdata),
			    const void *userdata)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int failed = 0;

	if (vfioctl_connect_manager(ctx, &bus) < 0)
		return 1;
	for (int i = 0; i < argc; i++) {
		_cleanup_free_ char *device = canonical_device(argv[i]);

		if (!device) {
			fprintf(stderr, "vfioctl: out of memory\n");
			return 1;
		}
		failed |= call(bus, device, userdata) < 0;
	}
	return failed;
}
