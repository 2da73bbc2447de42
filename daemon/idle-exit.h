/* SPDX-License-Identifier: MIT */
/*
 * Exiting when idle (--exit-idle-time): when vfiod was started by its socket
 * or by a bus call, it goes away by itself once nothing needs it, and the
 * next connection or bus call starts it again.
 *
 * Idle means: no claim, no peer connection on the private socket, no
 * asynchronous work in flight (Manager.n_pending_work), and no event of any
 * kind for the whole timeout. Then the daemon tells systemd it is stopping,
 * stops accepting connections (they wait in the socket's backlog, which
 * systemd keeps, for the next instance), releases its bus name, serves the
 * calls the bus routed to it before the release, and exits.
 */
#pragma once

#include <stdint.h>

#include "manager.h"

typedef struct IdleExit IdleExit;

/* Starts watching m; the first idle period starts now. Returns 0 or negative errno. */
int idle_exit_new(Manager *m, uint64_t timeout_usec, IdleExit **ret);

/* Accepts NULL; returns NULL. */
IdleExit *idle_exit_free(IdleExit *ie);
