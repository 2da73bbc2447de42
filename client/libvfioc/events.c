/* SPDX-License-Identifier: MIT */
/*
 * Events of claims: the broker's Revoked and InterfacesRemoved signals and
 * the loss of the connection, turned into vfioc_events. The sd-bus match
 * handlers only queue them (capped); vfioc_client_dispatch() delivers them
 * after sd-bus has finished processing, so the caller's function never runs
 * inside another library call and may call back into the library.
 */
#include "vfioc-private.h"

#define OBJECT_MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"
/* A reason longer than this is cut: it is for humans. */
#define MAX_REASON 512
/* Interfaces named in one InterfacesRemoved that are looked at. */
#define MAX_REMOVED_INTERFACES 64

struct client_event {
	struct vfioc_event public;
	char *device;
	char *reason;
	struct client_event *next;
};

static struct client_event *client_event_free(struct client_event *e)
{
	if (e) {
		free(e->device);
		free(e->reason);
		free(e);
	}
	return NULL;
}

/* Takes the oldest event off the queue. */
static struct client_event *queue_pop(struct vfioc_client *client)
{
	struct client_event *e = client->events_head;

	if (!e)
		return NULL;
	client->events_head = e->next;
	if (!client->events_head)
		client->events_tail = NULL;
	client->n_events--;
	e->next = NULL;
	return e;
}

static void queue_event(struct vfioc_client *client, enum vfioc_event_type type,
			struct vfioc_claim *claim, const char *device, const char *reason,
			bool connection_lost)
{
	struct client_event *e;

	if (!client->event_fn)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto lost;
	if (device) {
		e->device = strdup(device);
		if (!e->device)
			goto lost;
	}
	if (reason) {
		e->reason = strndup(reason, MAX_REASON);
		if (!e->reason)
			goto lost;
	}
	e->public = (struct vfioc_event){
	    .type = type,
	    .claim = claim,
	    .device = e->device,
	    .reason = e->reason,
	    .connection_lost = connection_lost,
	};

	/* Full: the oldest goes; the LOST event says how many did. */
	if (client->n_events >= VFIOC_MAX_QUEUED_EVENTS) {
		client_event_free(queue_pop(client));
		client->n_lost++;
	}
	if (client->events_tail)
		client->events_tail->next = e;
	else
		client->events_head = e;
	client->events_tail = e;
	client->n_events++;
	log_debug("queued event %s for %s", vfioc_event_type_to_string(type),
		  claim ? claim->path : "the client");
	return;

lost:
	client_event_free(e);
	client->n_lost++;
}

bool events_pending(const struct vfioc_client *client)
{
	return client->events_head || client->n_lost > 0;
}

void events_drop_all(struct vfioc_client *client)
{
	while (client->events_head)
		client_event_free(queue_pop(client));
	client->n_lost = 0;
}

void events_claim_added(struct vfioc_claim *claim)
{
	struct vfioc_client *client = claim->client;

	claim->prev = NULL;
	claim->next = client->claims;
	if (client->claims)
		client->claims->prev = claim;
	client->claims = claim;
}

void events_claim_removed(struct vfioc_claim *claim)
{
	struct vfioc_client *client = claim->client;
	struct client_event **p = &client->events_head;

	if (claim->prev)
		claim->prev->next = claim->next;
	else if (client->claims == claim)
		client->claims = claim->next;
	if (claim->next)
		claim->next->prev = claim->prev;
	claim->next = claim->prev = NULL;

	/* Its queued events would point at freed memory. */
	client->events_tail = NULL;
	while (*p) {
		struct client_event *e = *p;
		if (e->public.claim == claim) {
			*p = e->next;
			client_event_free(e);
			client->n_events--;
		} else {
			client->events_tail = e;
			p = &e->next;
		}
	}
}

void events_deliver(struct vfioc_client *client)
{
	struct client_event *e;

	client->delivering = true;
	for (;;) {
		/* Read fn each time: an event function may replace or clear it. */
		if (!client->event_fn) {
			events_drop_all(client);
			break;
		}
		if (client->n_lost > 0) {
			struct vfioc_event lost = {.type = VFIOC_EVENT_LOST,
						   .n_lost = client->n_lost};
			client->n_lost = 0;
			client->event_fn(client, &lost, client->event_userdata);
			continue;
		}
		e = queue_pop(client);
		if (!e)
			break;
		client->event_fn(client, &e->public, client->event_userdata);
		client_event_free(e);
	}
	client->delivering = false;
}

static struct vfioc_claim *claim_by_path(struct vfioc_client *client, const char *path)
{
	if (!path)
		return NULL;
	for (struct vfioc_claim *c = client->claims; c; c = c->next)
		if (streq(c->path, path))
			return c;
	return NULL;
}

/* On the system bus anyone may send us a signal; only the broker's count. Peer-to-peer, the
 * only peer is the broker. */
static bool from_broker(struct vfioc_client *client, sd_bus_message *m)
{
	if (!client->destination)
		return true;
	return client->broker_unique_name &&
	       streq_ptr(sd_bus_message_get_sender(m), client->broker_unique_name);
}

static void claim_ended(struct vfioc_claim *claim, const char *reason, bool connection_lost)
{
	if (claim->ended)
		return;
	claim->ended = true;
	queue_event(claim->client, VFIOC_EVENT_CLAIM_ENDED, claim, NULL, reason, connection_lost);
}

static void all_claims_ended(struct vfioc_client *client, const char *reason)
{
	for (struct vfioc_claim *c = client->claims; c; c = c->next)
		claim_ended(c, reason, true);
}

static int on_revoked(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct vfioc_client *client = userdata;
	struct vfioc_claim *claim;
	const char *device, *reason;

	if (!from_broker(client, m))
		return 0;
	claim = claim_by_path(client, sd_bus_message_get_path(m));
	if (!claim || claim->revoked || claim->ended)
		return 0;
	if (sd_bus_message_read(m, "ss", &device, &reason) < 0) {
		log_debug("ignoring a malformed Revoked signal for %s", claim->path);
		return 0;
	}
	claim->revoked = true;
	log_info("the broker revokes %s (%s): %s", claim->path, device, reason);
	queue_event(client, VFIOC_EVENT_REVOKED, claim, device, reason, false);
	return 0;
}

/* A device object went away: every claim holding it hears of it. */
static void device_removed(struct vfioc_client *client, const char *path)
{
	for (struct vfioc_claim *c = client->claims; c; c = c->next) {
		if (c->ended)
			continue;
		for (size_t i = 0; i < c->n_devices; i++) {
			_cleanup_free_ char *p = NULL;

			if (device_path_from_name(c->devices[i].address, &p) < 0 || !streq(p, path))
				continue;
			queue_event(client, VFIOC_EVENT_DEVICE_GONE, c, c->devices[i].address, NULL,
				    false);
		}
	}
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct vfioc_client *client = userdata;
	bool claim_gone = false, device_gone = false;
	const char *path, *interface;
	unsigned n = 0;
	int r;

	if (!from_broker(client, m))
		return 0;
	r = sd_bus_message_read(m, "o", &path);
	if (r >= 0)
		r = sd_bus_message_enter_container(m, 'a', "s");
	while (r >= 0 && n++ < MAX_REMOVED_INTERFACES &&
	       (r = sd_bus_message_read_basic(m, 's', &interface)) > 0) {
		claim_gone = claim_gone || streq(interface, VFIOC_CLAIM_INTERFACE);
		device_gone = device_gone || streq(interface, VFIOC_DEVICE_INTERFACE);
	}
	if (r < 0) {
		log_debug("ignoring a malformed InterfacesRemoved signal");
		return 0;
	}

	if (device_gone)
		device_removed(client, path);
	if (claim_gone) {
		struct vfioc_claim *claim = claim_by_path(client, path);
		if (claim) {
			log_info("the broker ended %s", claim->path);
			claim_ended(claim, "the broker ended the claim", false);
		}
	}
	return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct vfioc_client *client = userdata;

	/* sd-bus synthesises this once it has closed the connection; nothing else can. */
	if (sd_bus_is_open(client->bus) > 0)
		return 0;
	log_info("the connection to the broker is lost");
	all_claims_ended(client, "the connection to the broker was lost");
	return 0;
}

/* System bus: the broker's name lost its owner (vfiod stopped or crashed). */
static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct vfioc_client *client = userdata;
	const char *name, *old_owner, *new_owner;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	if (!streq(name, VFIOC_BUS_NAME) || !client->broker_unique_name ||
	    !streq(old_owner, client->broker_unique_name) || streq(new_owner, old_owner))
		return 0;
	log_info("%s left the system bus", VFIOC_BUS_NAME);
	all_claims_ended(client, "the broker left the system bus");
	return 0;
}

/*
 * Peer-to-peer, sd-bus keeps match rules to itself: vfiod, which routes
 * broadcast signals by the rules of each peer as a bus daemon would, is told
 * here (on the system bus sd-bus tells dbus-daemon). Revoked needs no rule: it
 * is sent to the holder alone. A vfiod that predates the routing answers
 * AddMatch without keeping the rule, or not at all, and sends every signal.
 */
static int ask_broker_for_removals(struct vfioc_client *client)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_message_new_method_call(client->bus, &m, NULL, "/org/freedesktop/DBus",
					   "org.freedesktop.DBus", "AddMatch");
	if (r >= 0)
		r = sd_bus_message_append(m, "s",
					  "type='signal',path='" VFIOC_MANAGER_PATH "',"
					  "interface='" OBJECT_MANAGER_INTERFACE "',"
					  "member='InterfacesRemoved'");
	if (r < 0)
		return client_errno(client, r, "AddMatch");
	r = client_call(client, m, &error, NULL);
	if (r < 0 &&
	    !sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT,
				    SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_UNKNOWN_METHOD))
		return client_bus_error(client, &error, r, "asking the broker for its signals");
	return 0;
}

static int add_local_matches(struct vfioc_client *client)
{
	const char *sender = client->broker_unique_name;
	int r;

	/* Floating slots: they live as long as the bus, which lives as long as the client. */
	r = sd_bus_match_signal(client->bus, NULL, sender, NULL, VFIOC_CLAIM_INTERFACE, "Revoked",
				on_revoked, client);
	if (r < 0)
		return r;
	r = sd_bus_match_signal(client->bus, NULL, sender, NULL, OBJECT_MANAGER_INTERFACE,
				"InterfacesRemoved", on_interfaces_removed, client);
	if (r < 0)
		return r;
	r = sd_bus_match_signal(client->bus, NULL, NULL, "/org/freedesktop/DBus/Local",
				"org.freedesktop.DBus.Local", "Disconnected", on_disconnected,
				client);
	if (r < 0)
		return r;
	if (client->destination) {
		r = sd_bus_add_match(
		    client->bus, NULL,
		    "type='signal',sender='org.freedesktop.DBus',"
		    "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
		    "member='NameOwnerChanged',arg0='" VFIOC_BUS_NAME "'",
		    on_name_owner_changed, client);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_matches(struct vfioc_client *client)
{
	int r;

	if (!client->destination) {
		r = ask_broker_for_removals(client);
		if (r < 0)
			return r;
	}
	r = add_local_matches(client);
	if (r < 0)
		return client_errno(client, r, "adding the match rules for events");
	return 0;
}

VFIOC_EXPORT int vfioc_client_set_event_fn(struct vfioc_client *client, vfioc_event_fn fn,
					   void *userdata)
{
	int r;

	if (!client)
		return -EINVAL;
	if (fn && !client->matches_added) {
		if (sd_bus_is_open(client->bus) <= 0)
			return client_errorf(client, -ENOTCONN, NULL,
					     "the connection to the broker is closed");
		r = add_matches(client);
		/* AddMatch is a call: it may have read signals ahead. */
		client_update_wakeup(client);
		if (r < 0)
			return r;
		client->matches_added = true;
	}
	client->event_fn = fn;
	client->event_userdata = userdata;
	if (!fn)
		events_drop_all(client);
	return 0;
}

VFIOC_EXPORT const char *vfioc_event_type_to_string(enum vfioc_event_type type)
{
	switch (type) {
	case VFIOC_EVENT_REVOKED:
		return "revoked";
	case VFIOC_EVENT_CLAIM_ENDED:
		return "claim-ended";
	case VFIOC_EVENT_DEVICE_GONE:
		return "device-gone";
	case VFIOC_EVENT_LOST:
		return "lost";
	}
	return NULL;
}
