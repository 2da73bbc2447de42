/* SPDX-License-Identifier: MIT */
/*
 * The real vfiod binary ($VFIOD_BINARY) run against a fixture tree: started
 * with --root, a private socket and a policy file inside the tree, and no
 * system bus. Needs root, since the policy must be owned by root.
 */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct DaemonFixture {
	char root[256];
	char socket[300];
	char address[320]; /* "unix:path=<socket>" */
	pid_t pid;
} DaemonFixture;

/*
 * Writes `policy` to <root>/etc/vfiod.conf and starts vfiod on the tree, with
 * extra arguments (NULL-terminated, may be NULL). Returns 0 once the socket
 * is there, or a negative errno.
 */
int daemon_fixture_start(DaemonFixture *f, const char *root, const char *policy,
			 const char *const *extra_args);

/* A new peer connection to the daemon's socket. */
int daemon_fixture_connect(const DaemonFixture *f, sd_bus **ret);

/* SIGTERM, then waits: returns the exit status, or -1 when it did not exit normally. */
int daemon_fixture_stop(DaemonFixture *f);
