/* SPDX-License-Identifier: MIT */
/*
 * vfioctl bind / unbind: moves devices to vfio-pci and back through vfiod
 * (Manager.Bind() and Manager.Unbind(), the io.vfiod.manage action), one call
 * per device, so that each device is reported and the others still move when
 * one fails.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vfioctl.h"

/* One of the two commands. */
typedef struct Rebind {
	const char *name;   /* "bind" */
	const char *method; /* "Bind" */
	const char *help;
} Rebind;

static const Rebind bind_command = {
    "bind",
    "Bind",
    "Moves each DEVICE from its driver to vfio-pci, so that vfiod can hand it out\n"
    "to clients whose rule does not say MayRebind=yes. vfiod remembers the driver\n"
    "and 'vfioctl unbind' gives the device back to it. Only root (or, on the\n"
    "system bus, whom polkit's io.vfiod.manage allows) may, and only for devices\n"
    "vfiod manages and nobody holds.\n",
};

static const Rebind unbind_command = {
    "unbind",
    "Unbind",
    "Moves each DEVICE off vfio-pci, back to the driver it had before vfiod bound\n"
    "it, or to the driver the kernel picks when vfiod did not bind it. Refused\n"
    "while anyone holds the device or has a device fd of its group open.\n",
};

static void help(FILE *f, const Rebind *cmd)
{
	fprintf(f,
		"Usage: vfioctl [--address ADDRESS | --system] %s DEVICE...\n"
		"\n"
		"%s\n"
		"Prints one line per device: DEVICE: OLD-DRIVER -> NEW-DRIVER.\n"
		"See vfioctl(1).\n",
		cmd->name, cmd->help);
}

static const char *driver_name(const char *driver)
{
	return driver && *driver ? driver : "(no driver)";
}

static int rebind_one(sd_bus *bus, const char *device, const void *userdata)
{
	const Rebind *cmd = userdata;
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *driver;
	int r;

	r = sd_bus_call_method(bus, vfioctl_destination(bus), "/io/vfiod/Broker1",
			       "io.vfiod.Broker1.Manager", cmd->method, &e, &reply, "s", device);
	if (r >= 0)
		r = sd_bus_message_read(reply, "s", &driver);
	if (r < 0) {
		fprintf(stderr, "vfioctl: %s %s failed: %s (%s)\n", cmd->name, device,
			e.message ?: strerror(-r), e.name ?: "no error name");
		return r;
	}
	/* Bind answers with the driver before, Unbind with the driver after. */
	if (cmd == &bind_command)
		printf("%s: %s -> vfio-pci\n", device, driver_name(driver));
	else
		printf("%s: vfio-pci -> %s\n", device, driver_name(driver));
	return 0;
}

static int run(const struct vfioctl *ctx, const Rebind *cmd, int argc, char **argv)
{
	static const struct option options[] = {
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1)
		switch (c) {
		case 'h':
			help(stdout, cmd);
			return 0;
		default:
			fprintf(stderr, "Try 'vfioctl %s --help'.\n", cmd->name);
			return 1;
		}
	if (optind >= argc) {
		fprintf(stderr, "vfioctl: %s needs a DEVICE. Try 'vfioctl %s --help'.\n", cmd->name,
			cmd->name);
		return 1;
	}
	return vfioctl_for_each_device(ctx, argc - optind, argv + optind, rebind_one, cmd);
}

int cmd_bind(const struct vfioctl *ctx, int argc, char **argv)
{
	return run(ctx, &bind_command, argc, argv);
}

int cmd_unbind(const struct vfioctl *ctx, int argc, char **argv)
{
	return run(ctx, &unbind_command, argc, argv);
}
