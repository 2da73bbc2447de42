/* SPDX-License-Identifier: MIT */
/*
 * The client: one peer-to-peer D-Bus connection to the broker, the timeout of
 * its calls and the record of its last failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

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

	events_drop_all(client);
	sd_bus_flush_close_unref(client->bus);
	safe_close(client->poll_fd);
	safe_close(client->wakeup_fd);
	free(client->destination);
	free(client->broker_unique_name);
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

void client_error_prefix(struct vfioc_client *client, const char *format, ...)
{
	_cleanup_free_ char *prefix = NULL, *message = NULL;
	va_list ap;
	int r;

	if (!client->error_name)
		return;
	va_start(ap, format);
	r = vasprintf(&prefix, format, ap);
	va_end(ap);
	if (r < 0 || asprintf(&message, "%s%s", prefix, client->error_message) < 0)
		return;
	client_set_error(client, client->error_name, message);
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
	int r;

	log_debug("calling %s.%s on %s", sd_bus_message_get_interface(m),
		  sd_bus_message_get_member(m), sd_bus_message_get_path(m));
	/* sd-bus queues (without dispatching) whatever else arrives while it waits for the
	 * reply: signals read here become events in the next vfioc_client_dispatch(). */
	r = sd_bus_call(client->bus, m, client->timeout_usec, error, ret_reply);
	client_update_wakeup(client);
	return r;
}

void client_update_wakeup(struct vfioc_client *client)
{
	uint64_t usec = UINT64_MAX;
	int r;

	if (client->wakeup_fd < 0 || client->wakeup_pending)
		return;
	/* A zero timeout means sd-bus has messages queued already (or is closing). */
	r = sd_bus_get_timeout(client->bus, &usec);
	if (!events_pending(client) && (r <= 0 || usec != 0))
		return;
	if (eventfd_write(client->wakeup_fd, 1) < 0)
		log_debug("cannot wake the caller's poll: %s", strerror(errno));
	else
		client->wakeup_pending = true;
}

static void client_clear_wakeup(struct vfioc_client *client)
{
	eventfd_t v;

	if (client->wakeup_pending && eventfd_read(client->wakeup_fd, &v) < 0)
		log_debug("cannot read the wakeup eventfd: %s", strerror(errno));
	client->wakeup_pending = false;
}

/* The fd callers poll: the bus socket and the wakeup eventfd behind one epoll fd. */
static int client_setup_poll(struct vfioc_client *client)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int fd;

	fd = sd_bus_get_fd(client->bus);
	if (fd < 0)
		return fd;
	client->poll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (client->poll_fd < 0)
		return negative_errno();
	client->wakeup_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (client->wakeup_fd < 0)
		return negative_errno();
	if (epoll_ctl(client->poll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ||
	    epoll_ctl(client->poll_fd, EPOLL_CTL_ADD, client->wakeup_fd, &ev) < 0)
		return negative_errno();
	return 0;
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

	/* On the system bus, the unique name behind VFIOC_BUS_NAME: the only sender of signals
	 * the events take. */
	if (client->destination) {
		const char *sender = sd_bus_message_get_sender(reply);
		if (!sender || sender[0] != ':')
			return client_errorf(client, -EBADMSG, NULL,
					     "the broker's reply has no unique sender name");
		client->broker_unique_name = strdup(sender);
		if (!client->broker_unique_name)
			return -ENOMEM;
	}

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
	client->poll_fd = client->wakeup_fd = -EBADF;
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
	r = client_setup_poll(client);
	if (r < 0) {
		log_error("cannot set up the fd to poll: %s", strerror(-r));
		return r;
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
	if (client->poll_fd < 0)
		return -ENOTCONN;
	return client->poll_fd;
}

/* Processes every message sd-bus has or can read without waiting. Returns how many, or the
 * negative errno that ended processing (-ECONNRESET/-ENOTCONN once the connection is gone). */
static int client_process_all(struct vfioc_client *client, int *ret_error)
{
	int n = 0, r;

	*ret_error = 0;
	for (;;) {
		r = sd_bus_process(client->bus, NULL);
		if (r < 0) {
			*ret_error = r;
			return n;
		}
		if (r == 0)
			return n;
		n++;
	}
}

VFIOC_EXPORT int vfioc_client_dispatch(struct vfioc_client *client, int timeout_ms)
{
	_cleanup_(client_unrefp) struct vfioc_client *ref = NULL;
	int n, error, r;

	if (!client)
		return -EINVAL;
	if (client->delivering)
		return client_errorf(client, -EBUSY, NULL,
				     "vfioc_client_dispatch() called from the event function");
	/* An event function may drop the caller's last reference. */
	ref = client_ref(client);

	client_clear_wakeup(client);
	n = client_process_all(client, &error);
	if (n == 0 && !error && !events_pending(client) && timeout_ms != 0) {
		r = sd_bus_wait(client->bus,
				timeout_ms < 0 ? UINT64_MAX : (uint64_t)timeout_ms * 1000);
		if (r < 0 && r != -EINTR)
			error = r;
		else
			n = client_process_all(client, &error);
	}

	/* sd-bus is done: the event function may call anything but dispatch. */
	events_deliver(client);
	client_update_wakeup(client);

	if (error < 0 && error != -ENOTCONN && error != -ECONNRESET)
		return client_errno(client, error, "processing the broker's messages");
	if (sd_bus_is_open(client->bus) <= 0)
		return client_errorf(client, error < 0 ? error : -ENOTCONN, NULL,
				     "the broker closed the connection");
	return n;
}
