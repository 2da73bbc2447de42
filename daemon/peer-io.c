/* SPDX-License-Identifier: MIT */
#include "peer-io.h"

#include <poll.h>
#include <sys/epoll.h>

#include "log.h"

/* Messages processed per wakeup: a busy peer cannot starve the others. */
#define PEER_IO_BURST 32u

static int on_peer_timer(sd_event_source *s, uint64_t usec, void *userdata);

/*
 * The poll events and the timer c's connection needs now. sd-bus reports a
 * timeout of "now" while messages it has read wait to be dispatched (also
 * after a burst was cut short), so the timer picks those up.
 */
static int peer_io_update(Client *c)
{
	uint32_t want = EPOLLIN;
	uint64_t until;
	int events, r;

	events = sd_bus_get_events(c->bus);
	if (events < 0)
		return events;
	if (events & POLLOUT)
		want |= EPOLLOUT;
	if (want != c->io_events) {
		r = sd_event_source_set_io_events(c->io_source, want);
		if (r < 0)
			return r;
		c->io_events = want;
	}

	r = sd_bus_get_timeout(c->bus, &until);
	if (r < 0)
		return r;
	if (r == 0 || until == UINT64_MAX)
		return c->io_timer ? sd_event_source_set_enabled(c->io_timer, SD_EVENT_OFF) : 0;
	if (!c->io_timer)
		return sd_event_add_time(c->manager->event, &c->io_timer, CLOCK_MONOTONIC, until, 0,
					 on_peer_timer, c);
	r = sd_event_source_set_time(c->io_timer, until);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->io_timer, SD_EVENT_ONESHOT);
	return r;
}

static void peer_io_stop(Client *c)
{
	(void)sd_event_source_set_enabled(c->io_source, SD_EVENT_OFF);
	(void)sd_event_source_set_enabled(c->io_timer, SD_EVENT_OFF);
}

static int peer_io_process(Client *c)
{
	/* The connection outlives the callbacks sd_bus_process() runs. */
	_cleanup_(sd_bus_unrefp) sd_bus *bus = sd_bus_ref(c->bus);
	int r = 0;

	/*
	 * While output waits for the socket, one step per wakeup, as sd-bus
	 * itself does: more steps would write ever smaller pieces of a large
	 * reply as the peer drains it, and wake it for each.
	 */
	for (unsigned i = 0; i < PEER_IO_BURST; i++) {
		c->manager->n_peer_dispatches++;
		r = sd_bus_process(bus, NULL);
		if (r <= 0 || sd_bus_is_open(bus) <= 0 || (sd_bus_get_events(bus) & POLLOUT))
			break;
	}
	if (r < 0 && sd_bus_is_open(bus) > 0)
		log_debug_errno(r, "Connection of %s failed: %m", c->label);
	else if (r >= 0 && sd_bus_is_open(bus) > 0) {
		r = peer_io_update(c);
		if (r >= 0)
			return 0;
		log_debug_errno(r, "Cannot watch the connection of %s: %m", c->label);
	}
	/*
	 * Closed: the Disconnected callback has scheduled the client's end
	 * (client_free_later()); it is freed here if that could not be done.
	 */
	peer_io_stop(c);
	if (client_free_later(c) < 0)
		client_free(c);
	return 0;
}

static int on_peer_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	return peer_io_process(userdata);
}

static int on_peer_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	return peer_io_process(userdata);
}

int peer_io_attach(Client *c)
{
	int fd, r;

	fd = sd_bus_get_fd(c->bus);
	if (fd < 0)
		return fd;
	r = sd_event_add_io(c->manager->event, &c->io_source, fd, EPOLLIN, on_peer_io, c);
	if (r < 0)
		return r;
	c->io_events = EPOLLIN;
	(void)sd_event_source_set_description(c->io_source, "peer-io");
	return peer_io_update(c);
}

void peer_io_detach(Client *c)
{
	c->io_source = sd_event_source_disable_unref(c->io_source);
	c->io_timer = sd_event_source_disable_unref(c->io_timer);
}

void peer_io_sent(Client *c)
{
	if (c->transport != CLIENT_PEER || !c->io_source || c->free_source)
		return;
	if (peer_io_update(c) < 0) {
		peer_io_stop(c);
		(void)client_free_later(c);
	}
}
