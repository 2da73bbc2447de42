/* SPDX-License-Identifier: MIT */
/*
 * vfiod --bus-introspect: the interfaces' introspection XML without a
 * running daemon, as sd-bus itself generates it from the vtables. A client
 * and a server connection are joined by a socketpair in this process, the
 * server registers the interface on an example path, and the client asks.
 */
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "bus-objects.h"
#include "util.h"

const char *const bus_interfaces[] = {
    BROKER_MANAGER_INTERFACE,
    BROKER_DEVICE_INTERFACE,
    BROKER_GROUP_INTERFACE,
    BROKER_CLAIM_INTERFACE,
    NULL,
};

static const struct {
	const char *interface;
	const char *example_path;
	const sd_bus_vtable *vtable;
} objects[] = {
    {BROKER_MANAGER_INTERFACE, BROKER_PATH, bus_manager_vtable},
    {BROKER_DEVICE_INTERFACE, BROKER_DEVICE_PREFIX "/pci_0000_00_02_0", bus_device_vtable},
    {BROKER_GROUP_INTERFACE, BROKER_GROUP_PREFIX "/1", bus_group_vtable},
    {BROKER_CLAIM_INTERFACE, BROKER_CLAIM_PREFIX "/1", bus_claim_vtable},
};

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	*(sd_bus_message **)userdata = sd_bus_message_ref(m);
	return 0;
}

int bus_introspect(const char *interface, FILE *out)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *server = NULL, *client = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int fds[2] = {-EBADF, -EBADF};
	const sd_bus_error *e;
	const char *xml;
	sd_id128_t id;
	size_t i;
	int r;

	for (i = 0; i < ELEMENTSOF(objects); i++)
		if (streq(objects[i].interface, interface))
			break;
	if (i == ELEMENTSOF(objects))
		return -ENOENT;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
		return negative_errno();
	r = sd_id128_randomize(&id);
	if (r >= 0)
		r = sd_bus_new(&server);
	if (r >= 0)
		r = sd_bus_set_fd(server, fds[0], fds[0]);
	if (r >= 0)
		fds[0] = -EBADF;
	if (r >= 0)
		r = sd_bus_set_server(server, 1, id);
	if (r >= 0)
		r = sd_bus_add_object_vtable(server, NULL, objects[i].example_path, interface,
					     objects[i].vtable, NULL);
	if (r >= 0)
		r = sd_bus_new(&client);
	if (r >= 0)
		r = sd_bus_set_fd(client, fds[1], fds[1]);
	if (r >= 0)
		fds[1] = -EBADF;
	if (r >= 0)
		r = sd_bus_start(server);
	if (r >= 0)
		r = sd_bus_start(client);
	if (r >= 0)
		r = sd_bus_call_method_async(client, NULL, NULL, objects[i].example_path,
					     "org.freedesktop.DBus.Introspectable", "Introspect",
					     on_reply, &reply, NULL);
	safe_close(fds[0]);
	safe_close(fds[1]);
	if (r < 0)
		return r;

	/* Both ends in this thread: drive them in turn until the answer is there. */
	for (int rounds = 0; !reply; rounds++) {
		int a = sd_bus_process(server, NULL), b = sd_bus_process(client, NULL);

		if (a < 0 || b < 0)
			return a < 0 ? a : b;
		if (a == 0 && b == 0) {
			struct pollfd p[] = {
			    {.fd = sd_bus_get_fd(server), .events = sd_bus_get_events(server)},
			    {.fd = sd_bus_get_fd(client), .events = sd_bus_get_events(client)},
			};
			if (rounds > 1000 || poll(p, ELEMENTSOF(p), 1000) <= 0)
				return -ETIMEDOUT;
		}
	}
	e = sd_bus_message_get_error(reply);
	if (e)
		return -sd_bus_error_get_errno(e);
	r = sd_bus_message_read(reply, "s", &xml);
	if (r < 0)
		return r;
	fputs(xml, out);
	return 0;
}
