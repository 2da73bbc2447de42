/* SPDX-License-Identifier: MIT */
/*
 * The event loop's side of one peer connection on the private socket.
 *
 * sd_bus_attach_event() gives every connection a prepare callback that sd-event
 * runs on every loop iteration, for every connection (to recompute the poll
 * events and the timeout): with a thousand peers, each message anyone sends
 * costs a thousand of them. A peer connection needs less: vfiod never calls a
 * method on a peer, so its only timeout is the authentication's, and its
 * output waits only when the peer's socket is full. So each connection gets an
 * io source that runs sd_bus_process() when the socket is readable (or
 * writable while output waits), and its events and timer are recomputed only
 * after something happened on that connection: a message processed there, or
 * a message sent to it from elsewhere (peer_io_sent()).
 */
#pragma once

#include "client.h"

/* Serves c's connection (c->bus, a started server-side peer bus) from the manager's loop. */
int peer_io_attach(Client *c);

/* Stops serving it; freeing the client calls this. */
void peer_io_detach(Client *c);

/*
 * After a message was queued on c's connection outside its own callbacks (a
 * signal, Revoked): watches for the socket to be writable if the message could
 * not be written at once. A broken connection is freed later.
 */
void peer_io_sent(Client *c);
