/* SPDX-License-Identifier: MIT */
/*
 * Running the real vfiod binary ($VFIOD_BINARY) in tests, against a fixture
 * tree (sysfs-fixture.h) with a policy file, serving the private socket only.
 * Functions return 0 or a negative errno unless said otherwise.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct VfiodPaths {
	char config[512];  /* <root>/etc/vfiod.conf */
	char socket[512];  /* <root>/broker.sock */
	char address[600]; /* unix:path=<socket> */
	char log[512];	   /* <root>/vfiod.log: the daemon's stdout and stderr */
} VfiodPaths;

/* Fills the paths for fixture root, creates <root>/dev (empty) and writes the policy (root-owned,
 * 0644). */
int vfiod_prepare(const char *root, const char *policy, VfiodPaths *ret);

/*
 * Starts $VFIOD_BINARY --root root --config ... --no-system-bus, then `args`
 * (NULL-terminated, may be NULL), with `env` ("NAME=VALUE", NULL-terminated,
 * may be NULL) added to the environment and its output appended to p->log.
 * Not activated: vfiod binds p->socket itself. Activated: $ACTIVATE_LOOP
 * holds p->socket and starts vfiod on each connection (the returned pid is
 * activate-loop's; its own lines go to p->log too). Waits up to 5 s for the
 * socket: until it accepts a connection, or, activated, until the file exists.
 * Returns the pid (also of a daemon that then fails because another one serves
 * the socket), -ECHILD if it exited first, or another negative errno.
 */
pid_t vfiod_spawn(const char *root, const VfiodPaths *p, char *const args[], char *const env[],
		  bool activated);

/*
 * "--no-seccomp" in sanitized builds ($VFIOD_SANITIZED=1), where the filter
 * refuses the ptrace LeakSanitizer needs at exit; NULL otherwise (so it can end
 * an args list).
 */
char *vfiod_no_seccomp_arg(void);

/* SIGTERM, then waits up to 10 s: the exit status, or -1 when it did not exit normally. */
int vfiod_stop(pid_t pid);

/* Waits up to timeout_ms for pid to exit; -ETIMEDOUT if it has not. */
int vfiod_wait_exit(pid_t pid, unsigned timeout_ms, int *ret_status);

/* True when pid has not exited (and is not reaped by this call). */
bool vfiod_running(pid_t pid);

/* A peer connection to address with fd passing negotiated, or NULL. */
sd_bus *vfiod_connect(const char *address);

/* Reads the Version property over bus: 0 when the daemon answered. */
int vfiod_ping(sd_bus *bus);

/* Counts the lines of file `path` that contain `needle` (0 if unreadable). */
unsigned file_count_lines(const char *path, const char *needle);

/* A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"); negative errno on failure. */
long long proc_status_kib(pid_t pid, const char *field);

/* Milliseconds of CLOCK_MONOTONIC. */
long long now_ms(void);
