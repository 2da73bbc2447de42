/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "vfioc.h"

/* Exit codes of commands that run a program, as env(1) and timeout(1) use them. */
#define EXIT_VFIOCTL_FAILED 125 /* vfioctl itself failed: usage, connection, claim */
#define EXIT_CANNOT_EXECUTE 126 /* PROGRAM was found but could not be executed */
#define EXIT_NOT_FOUND	    127 /* PROGRAM was not found */

/* Exit codes of the read commands (list, show, holders). */
#define EXIT_READ_FAILED 1 /* no connection, vfiod refused, a device unknown */
#define EXIT_USAGE	 2 /* bad options or arguments */

/* What the global options say, shared by every command. */
struct vfioctl {
	const char *address; /* NULL: $VFIOD_ADDRESS, else the private socket */
	bool system;	     /* --system: io.vfiod.Broker1 on the system bus */
	bool verbose;
};

/* A command gets its own argv, argv[0] being its name; returns the process's exit code. */
int cmd_claim(const struct vfioctl *ctx, int argc, char **argv);
int cmd_policy(const struct vfioctl *ctx, int argc, char **argv);
int cmd_reload(const struct vfioctl *ctx, int argc, char **argv);
int cmd_list(const struct vfioctl *ctx, int argc, char **argv);
int cmd_show(const struct vfioctl *ctx, int argc, char **argv);
int cmd_holders(const struct vfioctl *ctx, int argc, char **argv);

/* read-command.c. Parses --json and --help: returns -1 to go on (optind at the first
 * argument), else the exit code (0 after printing usage for --help). */
int read_command_options(int argc, char **argv, const char *usage, bool *ret_json);
/* Connects as the global options say; prints why not. 0 or -errno. */
int vfioctl_connect(const struct vfioctl *ctx, struct vfioc_client **ret);
/* Prints "vfioctl: WHAT: <the client's last error>" and returns EXIT_READ_FAILED. */
int vfioctl_call_failed(const struct vfioc_client *client, int r, const char *what);

/* Driver rebinding for admins (bind.c): Manager.Bind() / Manager.Unbind() per DEVICE. */
int cmd_bind(const struct vfioctl *ctx, int argc, char **argv);
int cmd_unbind(const struct vfioctl *ctx, int argc, char **argv);

/* release.c: Manager.Revoke() per DEVICE. */
int cmd_release(const struct vfioctl *ctx, int argc, char **argv);

/* A peer connection to vfiod for the admin commands; prints why it failed. */
int vfioctl_connect_manager(const struct vfioctl *ctx, sd_bus **ret);
/* The destination of calls on that connection: VFIOC_BUS_NAME on the system bus, else NULL. */
const char *vfioctl_destination(sd_bus *bus);

/*
 * Connects like vfioctl_connect_manager() and calls `call` for each of the
 * argc DEVICE arguments, made canonical, even after one failed. Returns the
 * exit code: 0 when every call succeeded, else 1.
 */
int vfioctl_for_each_device(const struct vfioctl *ctx, int argc, char **argv,
			    int (*call)(sd_bus *bus, const char *device, const void *userdata),
			    const void *userdata);

/* "00:03.0" and upper-case hex made canonical; anything else copied as it is. NULL: no memory. */
char *canonical_device(const char *s);

void log_to_stderr(int priority, const char *message, void *userdata);
