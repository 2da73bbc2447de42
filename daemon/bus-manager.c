/* SPDX-License-Identifier: MIT */
/* io.vfiod.Broker1.Manager on /io/vfiod/Broker1. */
#include <stdlib.h>

#include "bus-error.h"
#include "bus-objects.h"
#include "claim.h"
#include "client.h"
#include "config.h"
#include "log.h"

static int read_claim_options(sd_bus_message *msg, DmaMode *ret_mode, sd_bus_error *error)
{
	DmaMode mode = 0;
	const char *key;
	int r;

	r = sd_bus_message_enter_container(msg, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
		r = sd_bus_message_read(msg, "s", &key);
		if (r < 0)
			return r;
		if (streq(key, "dma-mode")) {
			const char *s;
			r = sd_bus_message_read(msg, "v", "s", &s);
			if (r < 0)
				return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
							 "Option dma-mode takes a string.");
			mode = dma_mode_from_string(s);
			if (!mode)
				return sd_bus_error_setf(
				    error, VFIOD_ERROR_INVALID_ARGUMENT,
				    "dma-mode \"%.32s\" is neither \"container\" "
				    "nor \"brokered\".",
				    s);
		} else
			return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
						 "Unknown claim option \"%.64s\".", key);
		r = sd_bus_message_exit_container(msg);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(msg);
	if (r < 0)
		return r;
	*ret_mode = mode;
	return 0;
}

static int append_dma_context(sd_bus_message *reply, Claim *c)
{
	int r;

	r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "{sv}", "mode", "s", dma_mode_to_string(c->dma_mode));
	if (r < 0)
		return r;
	if (c->dma_mode == DMA_MODE_CONTAINER) {
		/* Appending an 'h' duplicates the fd into the message. */
		r = sd_bus_message_append(reply, "{sv}", "container", "h",
					  c->manager->backend->client_fd(c->context));
		if (r < 0)
			return r;
	}
	r = sd_bus_message_append(reply, "{sv}", "quota", "t", c->dma_quota);
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "{sv}", "iova-pgsizes", "t", c->dma.pgsizes);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(reply, "s", "iova-ranges");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'v', "a(tt)");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(tt)");
	for (size_t i = 0; r >= 0 && i < c->dma.n_ranges; i++)
		r = sd_bus_message_append(reply, "(tt)", c->dma.ranges[i].start,
					  c->dma.ranges[i].last);
	for (int i = 0; r >= 0 && i < 3; i++)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_message_close_container(reply);
}

static int method_claim(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Manager *m = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_strv_free_ char **devices = NULL;
	Client *client;
	Claim *c;
	DmaMode mode = 0;
	int r;

	r = sd_bus_message_read_strv(msg, &devices);
	if (r < 0)
		return r;
	r = read_claim_options(msg, &mode, error);
	if (r < 0)
		return r;
	r = client_from_message(m, msg, &client, error);
	if (r < 0)
		return r;

	r = claim_new(client, devices, mode, &c, error);
	if (r < 0)
		return r;

	r = sd_bus_message_new_method_return(msg, &reply);
	if (r < 0)
		goto fail;
	r = sd_bus_message_append(reply, "o", c->path);
	if (r < 0)
		goto fail;
	r = sd_bus_message_open_container(reply, 'a', "(sh)");
	for (size_t i = 0; r >= 0 && i < c->n_devices; i++)
		r = sd_bus_message_append(reply, "(sh)", c->devices[i].address, c->devices[i].fd);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = append_dma_context(reply, c);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	if (r < 0)
		goto fail;
	return 1;
fail:
	/* Nothing reached the client, so nothing may stay claimed. */
	claim_free(c);
	return log_error_errno(r, "Cannot complete claim: %m");
}

/*
 * Whether the sender of msg may manage vfiod (Reload): 0 when it may, else a
 * D-Bus error. The identity is the kernel's (SO_PEERCRED, or the bus
 * daemon's credentials), via client_from_message(). Today only uid 0 may;
 * polkit's io.vfiod.manage for system-bus callers belongs here.
 */
static int authorize_manage(Manager *m, sd_bus_message *msg, const char *action,
			    sd_bus_error *error)
{
	Client *client;
	int r;

	r = client_from_message(m, msg, &client, error);
	if (r < 0)
		return r;
	if (client->uid != 0) {
		log_notice("Refused %s to %s: only root may manage vfiod", action, client->label);
		return sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED,
					 "Only root may manage vfiod (%s asked by uid %u).", action,
					 (unsigned)client->uid);
	}
	return 0;
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	_cleanup_free_ char *why = NULL;
	Manager *m = userdata;
	int r;

	r = authorize_manage(m, msg, "policy reload", error);
	if (r < 0)
		return r;

	/* Existing claims keep what they were granted; only new claims see the new policy. */
	r = manager_load_policy_full(m, &why);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_POLICY,
					 "%s; keeping the previous policy.", why ?: strerror(-r));
	return sd_bus_reply_method_return(msg, NULL);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", VFIOD_VERSION);
}

/* Claim and Reload authorize themselves (claim_new(), authorize_manage()), hence UNPRIVILEGED. */
const sd_bus_vtable bus_manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_METHOD_WITH_ARGS("Claim", SD_BUS_ARGS("as", devices, "a{sv}", options),
			    SD_BUS_RESULT("o", claim, "a(sh)", device_fds, "a{sv}", dma),
			    method_claim, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Reload", "", "", method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

int bus_manager_add(sd_bus *bus, Manager *m)
{
	return sd_bus_add_object_vtable(bus, NULL, BROKER_PATH, BROKER_MANAGER_INTERFACE,
					bus_manager_vtable, m);
}
