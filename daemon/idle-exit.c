/* SPDX-License-Identifier: MIT */
#include "idle-exit.h"

#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "bus-error.h"
#include "bus-objects.h"
#include "client.h"
#include "log.h"

struct IdleExit {
	Manager *manager;
	uint64_t timeout_usec;
	sd_event_source *timer; /* fires timeout_usec after the last event seen while idle */
	sd_event_source *check; /* post source: runs after every loop iteration that did work */
	sd_bus_slot *release_slot;
	sd_bus_slot *refuse_slot;
	bool exiting; /* the timer fired: no new connections, the bus name is being released */
	bool drained; /* the bus will route nothing more to us */
};

static bool manager_is_busy(Manager *m)
{
	Client *c;

	if (m->n_claims > 0 || m->n_pending_work > 0)
		return true;
	/* A connected peer may call again at any moment; system bus clients reconnect by name. */
	LIST_FOREACH (clients, c, m->clients)
		if (c->transport == CLIENT_PEER)
			return true;
	return false;
}

static int timer_restart(IdleExit *ie)
{
	uint64_t now;
	int r;

	r = sd_event_now(ie->manager->event, CLOCK_MONOTONIC, &now);
	if (r >= 0)
		r = sd_event_source_set_time(ie->timer, now + ie->timeout_usec);
	if (r >= 0)
		r = sd_event_source_set_enabled(ie->timer, SD_EVENT_ONESHOT);
	return r;
}

/* After every iteration that dispatched something: was it activity, and may we go now? */
static int on_check(sd_event_source *s, void *userdata)
{
	IdleExit *ie = userdata;
	Manager *m = ie->manager;
	bool busy = manager_is_busy(m);

	if (ie->exiting) {
		if (!ie->drained || busy)
			return 0;
		log_info("Idle: exiting");
		return sd_event_exit(m->event, 0);
	}
	if (busy)
		return sd_event_source_set_enabled(ie->timer, SD_EVENT_OFF);
	return timer_restart(ie);
}

/* While draining, a new claim would outlive the exit: the caller should ask the next instance. */
static int refuse_claims(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
	int r;

	if (!sd_bus_message_is_method_call(msg, BROKER_MANAGER_INTERFACE, "Claim"))
		return 0;
	log_notice("Refusing a claim that arrived while exiting");
	r = sd_bus_reply_method_errorf(msg, VFIOD_ERROR_BUSY,
				       "vfiod is exiting after being idle; call again to reach its "
				       "next instance");
	return r < 0 ? r : 1;
}

static int on_name_released(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	IdleExit *ie = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(reply);

	/*
	 * The bus answers in order: every call it routed to the name before the
	 * release came in before this reply and has been served.
	 */
	if (e)
		log_warning("Cannot release %s: %s", BROKER_BUS_NAME, e->message ?: e->name);
	ie->drained = true;
	return 0;
}

static int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	IdleExit *ie = userdata;
	Manager *m = ie->manager;
	int r;

	if (manager_is_busy(m))
		return 0;
	log_info("Idle for %" PRIu64 " s: releasing %s and exiting", ie->timeout_usec / 1000000,
		 BROKER_BUS_NAME);
	ie->exiting = true;

	/*
	 * First tell systemd: a socket or bus activation from now on is queued
	 * until this instance has gone, rather than taken as satisfied by it.
	 */
	(void)sd_notify(false, "STOPPING=1\nSTATUS=Idle, exiting");

	/* Connections from now on wait in the listening socket's backlog for the next instance. */
	if (m->listen_source) {
		r = sd_event_source_set_enabled(m->listen_source, SD_EVENT_OFF);
		if (r < 0)
			return r;
	}

	if (!m->system_bus) {
		ie->drained = true;
		return 0;
	}
	/* Release the name, then drain (on_name_released); new calls start the next instance. */
	r = sd_bus_add_filter(m->system_bus, &ie->refuse_slot, refuse_claims, ie);
	if (r >= 0)
		r = sd_bus_release_name_async(m->system_bus, &ie->release_slot, BROKER_BUS_NAME,
					      on_name_released, ie);
	if (r < 0) {
		log_warning_errno(r, "Cannot release %s, exiting anyway: %m", BROKER_BUS_NAME);
		ie->drained = true;
	}
	return 0;
}

IdleExit *idle_exit_free(IdleExit *ie)
{
	if (!ie)
		return NULL;
	sd_event_source_disable_unref(ie->timer);
	sd_event_source_disable_unref(ie->check);
	sd_bus_slot_unref(ie->release_slot);
	sd_bus_slot_unref(ie->refuse_slot);
	free(ie);
	return NULL;
}

int idle_exit_new(Manager *m, uint64_t timeout_usec, IdleExit **ret)
{
	IdleExit *ie;
	int r;

	if (timeout_usec == 0)
		return -EINVAL;
	ie = calloc(1, sizeof(*ie));
	if (!ie)
		return -ENOMEM;
	ie->manager = m;
	ie->timeout_usec = timeout_usec;

	/* A second of slack lets sd-event coalesce the wakeup with others. */
	r = sd_event_add_time_relative(m->event, &ie->timer, CLOCK_MONOTONIC, timeout_usec, 1000000,
				       on_idle_timeout, ie);
	if (r >= 0)
		r = sd_event_add_post(m->event, &ie->check, on_check, ie);
	if (r < 0) {
		idle_exit_free(ie);
		return log_error_errno(r, "Cannot set up the idle exit: %m");
	}
	*ret = ie;
	return 0;
}
