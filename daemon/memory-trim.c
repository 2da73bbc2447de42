/* SPDX-License-Identifier: MIT */
#include "memory-trim.h"

#include <malloc.h>

#include "bus-objects.h"
#include "client.h"
#include "log.h"

/*
 * A trim runs this long after the answer that asked for it, and waits as long
 * again while any connection still has output queued (a slow reader is still
 * reading the answer), at most MEMORY_TRIM_WAITS_MAX times.
 */
#define MEMORY_TRIM_DELAY_USEC (UINT64_C(1000) * 1000)
#define MEMORY_TRIM_WAITS_MAX  60u

static bool output_queued(sd_bus *bus)
{
	uint64_t n = 0;
	return bus && sd_bus_get_n_queued_write(bus, &n) >= 0 && n > 0;
}

static bool any_output_queued(Manager *m)
{
	Client *c;

	if (output_queued(m->system_bus))
		return true;
	LIST_FOREACH (clients, c, m->clients)
		if (c->transport == CLIENT_PEER && output_queued(c->bus))
			return true;
	return false;
}

static int on_trim_time(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;
	int r;

	if (any_output_queued(m) && ++m->trim_waits < MEMORY_TRIM_WAITS_MAX) {
		r = sd_event_source_set_time_relative(s, MEMORY_TRIM_DELAY_USEC);
		if (r >= 0)
			r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
		if (r >= 0)
			return 0;
		log_debug_errno(r, "Cannot wait for queued output before trimming: %m");
	}
	m->trim_waits = 0;
	(void)malloc_trim(0);
	return 0;
}

/* Schedules a trim unless one is already due: a client calling in a loop gets one a second. */
static int memory_trim_schedule(Manager *m)
{
	int enabled = SD_EVENT_OFF;
	int r;

	if (!m->trim_source) {
		r = sd_event_add_time_relative(m->event, &m->trim_source, CLOCK_MONOTONIC,
					       MEMORY_TRIM_DELAY_USEC, 0, on_trim_time, m);
		if (r < 0)
			return r;
		(void)sd_event_source_set_description(m->trim_source, "memory-trim");
		return sd_event_source_set_enabled(m->trim_source, SD_EVENT_ONESHOT);
	}
	r = sd_event_source_get_enabled(m->trim_source, &enabled);
	if (r < 0 || enabled != SD_EVENT_OFF)
		return r;
	m->trim_waits = 0;
	r = sd_event_source_set_time_relative(m->trim_source, MEMORY_TRIM_DELAY_USEC);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(m->trim_source, SD_EVENT_ONESHOT);
}

/* Runs before sd-bus's object manager for every call on the broker's path; answers none. */
static int on_broker_call(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	int r;

	if (!sd_bus_message_is_method_call(message, "org.freedesktop.DBus.ObjectManager",
					   "GetManagedObjects"))
		return 0;
	r = memory_trim_schedule(userdata);
	if (r < 0)
		log_debug_errno(r, "Cannot schedule a memory trim: %m");
	return 0;
}

int memory_trim_add(sd_bus *bus, Manager *m)
{
	return sd_bus_add_object(bus, NULL, BROKER_PATH, on_broker_call, m);
}

void memory_trim_done(Manager *m)
{
	m->trim_source = sd_event_source_disable_unref(m->trim_source);
}
