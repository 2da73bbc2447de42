/* SPDX-License-Identifier: MIT */
/*
 * Starting vfiod (or a dbus-daemon) for the host benchmarks, and watching
 * it: time from exec to the first answer, resident memory. The policy and
 * paths come from tests/unit/vfiod-spawn.h (vfiod_prepare).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/*
 * Forks and execs argv[0] with env ("NAME=VALUE", NULL-terminated, may be
 * NULL) added, stdout and stderr appended to log, and RLIMIT_NOFILE's soft
 * limit set to nofile (0: inherited). Returns the pid or a negative errno.
 */
pid_t daemon_launch(char *const argv[], char *const env[], const char *log, uint64_t nofile);

/*
 * Connects to address and reads vfiod's Version every millisecond until it
 * answers or timeout_ms pass; -ECHILD if pid exits first. On success stores the
 * microseconds since t0_usec (now_usec() before the launch) in *ret_usec.
 */
int daemon_wait_ready(const char *address, pid_t pid, double t0_usec, unsigned timeout_ms,
		      double *ret_usec);

/* Waits up to timeout_ms for the UNIX socket at path to accept a connection. */
int socket_wait(const char *path, pid_t pid, unsigned timeout_ms);
