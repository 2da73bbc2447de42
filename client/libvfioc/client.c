/* SPDX-License-Identifier: MIT */
/*
 * The client: one peer-to-peer D-Bus connection to the broker, the timeout of
 * its calls and the record of its last failure.
 */
#include <stdarg.h>
#include <stdio.h>

#include "vfioc-private.h"

struct vfioc_client *client_ref(struct vfioc_client *client)
{
	if (client)
		client->n_ref++;
	return client;
}

struct vfioc_client *client_unref(struct vfioc_client *client)
{
	if (!client || --client->n_ref > 0)
		return NULL;

	sd_bus_flush_close_unref(client->bus);
	free(client->destination);
	free(client->server_version);
	free(client->error_name);
	free(client->error_message);
	free(client->error_text);
	free(client);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vfioc_client *, client_unref)

VFIOC_EXPORT struct vfioc_client *vfioc_client_free(struct vfioc_client *client)
{
	return client_unref(client);
}

/* Replaces the record of the last failure; keeps the old one if memory runs out. */
static void client_set_error(struct vfioc_client *client, const char *name, const char *message)
{
	char *n = NULL, *m = NULL, *t = NULL;

	n = strdup(name);
	m = strdup(message ? message : "");
	if (!n || !m || asprintf(&t, "%s: %s", n, m) < 0) {
		free(n);
		free(m);
		return;
	}
	free(client->error_name);
	free(client->error_message);
	free(client->error_text);
	client->error_name = n;
	client->error_message = m;
	client->error_text = t;
}

static void system_error_name(int r, char *buf, size_t size)
{
	const char *e = strerrorname_np(-r);
	if (e)
		snprintf(buf, size, "System.Error.%s", e);
	else
		snprintf(buf, size, "System.Error.%d", -r);
}

int client_record_bus_error(struct vfioc_client *client, const sd_bus_error *error, int r,
			    const char *what)
{
	char name[64];
	int e;

	if (sd_bus_error_is_set(error)) {
		e = vfioc_error_name_to_errno(error->name);
		if (e == 0)
			e = sd_bus_error_get_errno(error);
		if (e <= 0)
			e = r < 0 ? -r : EIO;
		client_set_error(client, error->name, error->message);
	} else {
		e = r < 0 ? -r : EIO;
		system_error_name(-e, name, sizeof(name));
		char *msg = NULL;
		if (asprintf(&msg, "%s: %s", what, strerror(e)) < 0)
			msg = NULL;
		client_set_error(client, name, msg ? msg : strerror(e));
		free(msg);
	}
	log_error("%s failed: %s", what, client->error_text ? client->error_text : strerror(e));
	return -e;
}

void client_record_errorf(struct vfioc_client *client, int r, const char *name, const char *format,
			  ...)
{
	_cleanup_free_ char *msg = NULL;
	char buf[64];
	va_list ap;
	int saved = errno;

	if (!name) {
		system_error_name(r, buf, sizeof(buf));
		name = buf;
	}
	va_start(ap, format);
	if (vasprintf(&msg, format, ap) < 0)
		msg = NULL;
	va_end(ap);
	client_set_error(client, name, msg ? msg : strerror(-r));
	log_error("%s", client->error_text ? client->error_text : strerror(-r));
	errno = saved;
}

int client_new_method_call(struct vfioc_client *client, const char *path, const char *interface,
			   const char *member, sd_bus_message **ret)
{
	int r;

	r = sd_bus_message_new_method_call(client->bus, ret, client->destination, path, interface,
					   member);
	if (r < 0)
		return client_errno(client, r, member);
	return 0;
}

int client_call(struct vfioc_client *client, sd_bus_message *m, sd_bus_error *error,
		sd_bus_message **ret_reply)
{
	log_debug("calling %s.%s on %s", sd_bus_message_get_interface(m),
		  sd_bus_message_get_member(m), sd_bus_message_get_path(m));
	return sd_bus_call(client->bus, m, client->timeout_usec, error, ret_reply);
}

static int client_read_version(struct vfioc_client *client)
{
	_cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *version;
	int r;

	r = client_new_method_call(client, VFIOC_MANAGER_PATH, "org.freedesktop.DBus.Properties",
				   "Get", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "ss", VFIOC_MANAGER_INTERFACE, "Version");
	if (r < 0)
		return client_errno(client, r, "Get");

	r = client_call(client, m, &error, &reply);
	if (r < 0)
		return client_bus_error(client, &error, r, "reading the broker's Version");

	r = sd_bus_message_read(reply, "v", "s", &version);
	if (r < 0)
		return client_errno(client, r, "reading the broker's Version");

	client->server_version = strdup(version);
	if (!client->server_version)
		return -ENOMEM;
	return 0;
}

static int client_new(struct vfioc_client **ret)
{
	struct vfioc_client *client = calloc(1, sizeof(*client));

	if (!client)
		return -ENOMEM;
	client->n_ref = 1;
	client->timeout_usec = VFIOC_DEFAULT_TIMEOUT_USEC;
	*ret = client;
	return 0;
}

/* Waits for the handshake and proves that a vfiod answers, and that fds can pass. */
static int client_check_broker(struct vfioc_client *client, const char *where)
{
	int r;

	r = client_read_version(client);
	if (r < 0) {
		log_error("no vfiod broker answers at %s: %s", where,
			  client->error_text ? client->error_text : strerror(-r));
		return r;
	}
	if (!sd_bus_can_send(client->bus, 'h')) {
		log_error("the connection to %s cannot pass file descriptors", where);
		return -EPROTONOSUPPORT;
	}
	log_debug("connected to vfiod %s at %s", client->server_version, where);
	return 0;
}

VFIOC_EXPORT int vfioc_connect(const char *address, struct vfioc_client **ret)
{
	_cleanup_(client_unrefp) struct vfioc_client *client = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	if (!address) {
		address = secure_getenv("VFIOD_ADDRESS");
		if (!address || !*address)
			address = VFIOC_DEFAULT_ADDRESS;
	}

	r = client_new(&client);
	if (r < 0)
		return r;

	log_debug("connecting to %s", address);

	r = sd_bus_new(&client->bus);
	if (r < 0)
		return r;
	r = sd_bus_set_address(client->bus, address);
	if (r < 0)
		return r;
	/* Peer-to-peer: no Hello, no bus name; every fd arrives with MSG_CMSG_CLOEXEC. */
	r = sd_bus_set_bus_client(client->bus, false);
	if (r < 0)
		return r;
	r = sd_bus_negotiate_fds(client->bus, true);
	if (r < 0)
		return r;
	r = sd_bus_set_description(client->bus, "vfiod");
	if (r < 0)
		return r;
	r = sd_bus_start(client->bus);
	if (r < 0) {
		log_error("cannot connect to %s: %s", address, strerror(-r));
		return r;
	}

	r = client_check_broker(client, address);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(client);
	return 0;
}

VFIOC_EXPORT int vfioc_connect_system(struct vfioc_client **ret)
{
	_cleanup_(client_unrefp) struct vfioc_client *client = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = client_new(&client);
	if (r < 0)
		return r;
	client->destination = strdup(VFIOC_BUS_NAME);
	if (!client->destination)
		return -ENOMEM;

	log_debug("connecting to %s on the system bus", VFIOC_BUS_NAME);
	/* Honours $DBUS_SYSTEM_BUS_ADDRESS unless set-id; negotiates fd passing. */
	r = sd_bus_open_system_with_description(&client->bus, "vfiod");
	if (r < 0) {
		log_error("cannot connect to the system bus: %s", strerror(-r));
		return r;
	}
	r = client_check_broker(client, "the system bus");
	if (r < 0)
		return r;
	*ret = TAKE_PTR(client);
	return 0;
}

VFIOC_EXPORT int vfioc_set_timeout(struct vfioc_client *client, uint64_t usec)
{
	if (!client)
		return -EINVAL;
	client->timeout_usec = usec ? usec : VFIOC_DEFAULT_TIMEOUT_USEC;
	return 0;
}

VFIOC_EXPORT const char *vfioc_client_last_error(const struct vfioc_client *client)
{
	return client ? client->error_text : NULL;
}

VFIOC_EXPORT const char *vfioc_client_last_error_name(const struct vfioc_client *client)
{
	return client ? client->error_name : NULL;
}

VFIOC_EXPORT const char *vfioc_client_server_version(const struct vfioc_client *client)
{
	return client && client->server_version ? client->server_version : "";
}

VFIOC_EXPORT int vfioc_client_get_fd(struct vfioc_client *client)
{
	if (!client)
		return -EINVAL;
	return sd_bus_get_fd(client->bus);
}

static int client_process_all(struct vfioc_client *client)
{
	int n = 0, r;

	for (;;) {
		r = sd_bus_process(client->bus, NULL);
		if (r < 0)
			return client_errno(client, r, "processing the broker's messages");
		if (r == 0)
			return n;
		n++;
	}
}

VFIOC_EXPORT int vfioc_client_dispatch(struct vfioc_client *client, int timeout_ms)
{
	int n, r;

	if (!client)
		return -EINVAL;

	n = client_process_all(client);
	if (n == 0 && timeout_ms != 0) {
		r = sd_bus_wait(client->bus,
				timeout_ms < 0 ? UINT64_MAX : (uint64_t)timeout_ms * 1000);
		if (r < 0 && r != -EINTR)
			return client_errno(client, r, "waiting for the broker");
		n = client_process_all(client);
	}
	if (n < 0)
		return n;
	if (sd_bus_is_open(client->bus) <= 0)
		return client_errorf(client, -ENOTCONN, NULL, "the broker closed the connection");
	return n;
}
