/* SPDX-License-Identifier: MIT */
/*
 * The bus driver calls a peer connection needs. Tools built as bus clients
 * (busctl) send org.freedesktop.DBus.Hello first and ask for names before
 * introspecting; with no bus daemon on the private socket, vfiod answers those
 * itself: the peer is ":1.1", vfiod is ":1.0" and owns io.vfiod.Broker1.
 * AddMatch and RemoveMatch keep the peer's match rules, by which bus-notify.c
 * routes broadcast signals, as a bus daemon would.
 */
#include "bus-objects.h"
#include "client.h"
#include "util.h"

#define DAEMON_UNIQUE_NAME BROKER_PEER_DAEMON_NAME
#define PEER_UNIQUE_NAME   BROKER_PEER_CLIENT_NAME

static bool name_is_ours(const char *name)
{
	return streq(name, BROKER_BUS_NAME) || streq(name, DAEMON_UNIQUE_NAME) ||
	       streq(name, "org.freedesktop.DBus");
}

static int method_hello(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return sd_bus_reply_method_return(msg, "s", PEER_UNIQUE_NAME);
}

static int method_list_names(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return sd_bus_reply_method_return(msg, "as", 3, BROKER_BUS_NAME, DAEMON_UNIQUE_NAME,
					  PEER_UNIQUE_NAME);
}

static int method_list_activatable_names(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return sd_bus_reply_method_return(msg, "as", 0);
}

static int method_get_name_owner(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	const char *name;
	int r;

	r = sd_bus_message_read(msg, "s", &name);
	if (r < 0)
		return r;
	if (streq(name, PEER_UNIQUE_NAME))
		return sd_bus_reply_method_return(msg, "s", PEER_UNIQUE_NAME);
	if (!name_is_ours(name))
		return sd_bus_error_setf(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
					 "Only %s is served on this connection.", BROKER_BUS_NAME);
	return sd_bus_reply_method_return(msg, "s", DAEMON_UNIQUE_NAME);
}

static int method_name_has_owner(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	const char *name;
	int r;

	r = sd_bus_message_read(msg, "s", &name);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(msg, "b",
					  name_is_ours(name) || streq(name, PEER_UNIQUE_NAME));
}

typedef int (*MatchChange)(BusMatchSet *set, const char *rule, sd_bus_error *error);

static int change_match_rules(sd_bus_message *msg, Client *c, MatchChange change,
			      sd_bus_error *error)
{
	const char *rule;
	int r;

	r = sd_bus_message_read(msg, "s", &rule);
	if (r < 0)
		return r;
	r = change(&c->match_rules, rule, error);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(msg, NULL);
}

static int method_add_match(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return change_match_rules(msg, userdata, bus_match_set_add, error);
}

static int method_remove_match(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return change_match_rules(msg, userdata, bus_match_set_remove, error);
}

static const sd_bus_vtable peer_driver_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Hello", NULL, "s", method_hello, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("ListNames", NULL, "as", method_list_names, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("ListActivatableNames", NULL, "as", method_list_activatable_names,
		  SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetNameOwner", "s", "s", method_get_name_owner, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("NameHasOwner", "s", "b", method_name_has_owner, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("AddMatch", "s", NULL, method_add_match, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("RemoveMatch", "s", NULL, method_remove_match, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

int bus_peer_driver_add(sd_bus *bus, Client *c)
{
	return sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
					peer_driver_vtable, c);
}
