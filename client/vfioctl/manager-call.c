/* SPDX-License-Identifier: MIT */
/*
 * The connection of the admin commands (reload, bind, unbind): a plain
 * peer-to-peer sd-bus connection to vfiod, as libvfioc makes, where vfiod
 * takes the caller's identity from SO_PEERCRED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfioc.h"
#include "vfioctl.h"

int vfioctl_connect_manager(const struct vfioctl *ctx, sd_bus **ret)
{
	sd_bus *bus = NULL;
	const char *address = ctx->address;
	int r;

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
