/* SPDX-License-Identifier: MIT */
/* io.vfiod.Broker1.Manager on /io/vfiod/Broker1. */
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "bus-error.h"
#include "bus-objects.h"
#include "claim.h"
#include "client.h"
#include "config.h"
#include "device.h"
#include "log.h"
#include "polkit.h"
#include "rebind.h"

static int read_claim_options(sd_bus_message *msg, DmaMode *ret_mode, bool *ret_interactive,
			      sd_bus_error *error)
{
	DmaMode mode = 0;
	int interactive = 0;
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
		} else if (streq(key, "interactive")) {
			r = sd_bus_message_read(msg, "v", "b", &interactive);
			if (r < 0)
				return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
							 "Option interactive takes a boolean.");
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
	*ret_interactive = interactive;
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

/* Answers the Claim call msg with c; on failure frees c, since nothing reached the client. */
static int claim_reply(sd_bus_message *msg, Claim *c)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(msg, &reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "o", c->path);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(sh)");
	for (size_t i = 0; r >= 0 && i < c->n_devices; i++)
		r = sd_bus_message_append(reply, "(sh)", c->devices[i].address, c->devices[i].fd);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = append_dma_context(reply, c);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	if (r < 0) {
		claim_free(c);
		return log_error_errno(r, "Cannot complete claim: %m");
	}
	return 1;
}

/* What a Claim waiting for polkit must remember to run again. */
typedef struct PendingClaim {
	char **devices;
	DmaMode mode;
} PendingClaim;

static void pending_claim_free(void *p)
{
	PendingClaim *pc = p;

	if (!pc)
		return;
	strv_free(pc->devices);
	free(pc);
}

static void on_claim_polkit_done(PolkitCheck *check, bool allowed, const char *why)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_strv_free_ char **granted = NULL;
	PendingClaim *pc = check->userdata;
	ClaimAuth auth = {0};
	Claim *c;
	int r;

	if (!allowed) {
		for (size_t i = 0; i < check->n_devices; i++)
			audit_log(AUDIT_DENIED, check->client, check->devices[i].address, 0,
				  "polkit: no", why);
		(void)sd_bus_reply_method_errorf(check->request, VFIOD_ERROR_PERMISSION_DENIED,
						 "No rule in the vfiod policy grants the device, "
						 "and %s.",
						 why);
		return;
	}
	granted = calloc(check->n_devices + 1, sizeof(char *));
	for (size_t i = 0; granted && i < check->n_devices; i++)
		if (!(granted[i] = strdup(check->devices[i].address))) {
			(void)sd_bus_reply_method_errno(check->request, ENOMEM, NULL);
			return;
		}
	if (!granted) {
		(void)sd_bus_reply_method_errno(check->request, ENOMEM, NULL);
		return;
	}

	/* The world may have changed while polkit thought: decide everything again. */
	auth.polkit_granted = granted;
	r = claim_new_full(check->client, pc->devices, pc->mode, &auth, &c, &error);
	if (r < 0) {
		(void)sd_bus_reply_method_error(check->request, &error);
		return;
	}
	(void)claim_reply(check->request, c);
}

static int method_claim(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Manager *m = userdata;
	_cleanup_strv_free_ char **devices = NULL;
	_cleanup_free_ ClaimAuth *auth = NULL;
	PendingClaim *pc;
	Client *client;
	Claim *c;
	DmaMode mode = 0;
	bool interactive = false;
	int r;

	r = sd_bus_message_read_strv(msg, &devices);
	if (r < 0)
		return r;
	r = read_claim_options(msg, &mode, &interactive, error);
	if (r < 0)
		return r;
	r = client_from_message(m, msg, &client, error);
	if (r < 0)
		return r;

	/* Socket callers: the static policy alone (no polkit with pidfd subjects in Debian 12). */
	auth = calloc(1, sizeof(*auth));
	if (!auth)
		return -ENOMEM;
	auth->may_ask_polkit = client->transport == CLIENT_SYSTEM_BUS;
	r = claim_new_full(client, devices, mode, auth, &c, error);
	if (r >= 0)
		return claim_reply(msg, c);
	if (auth->n_need == 0)
		return r;

	/* No rule grants some devices: ask polkit, and answer later. */
	sd_bus_error_free(error);
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->devices = TAKE_PTR(devices);
	pc->mode = mode;
	r = polkit_check_start(client, msg, POLKIT_ACTION_CLAIM, auth->need, auth->n_need,
			       interactive, on_claim_polkit_done, pc, pending_claim_free, error);
	if (r < 0)
		return r;
	return 1;
}

/*
 * Whether the sender of msg may manage vfiod (Reload, Bind, Unbind): 0 when it may, 1 when
 * polkit was asked (then run() is called with msg once it said yes, and msg
 * is answered), else a D-Bus error. The identity is the kernel's
 * (SO_PEERCRED, or the bus daemon's credentials): uid 0 may; on the system
 * bus polkit's io.vfiod.manage decides for others; on the socket nobody else.
 */
typedef int (*ManageAction)(sd_bus_message *msg, Manager *m, sd_bus_error *error);

static void on_manage_polkit_done(PolkitCheck *check, bool allowed, const char *why)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	ManageAction run = (ManageAction)(uintptr_t)check->userdata;
	int r;

	if (!allowed) {
		audit_log(AUDIT_MANAGE_DENIED, check->client, NULL, 0, "polkit: no", why);
		(void)sd_bus_reply_method_errorf(check->request, VFIOD_ERROR_PERMISSION_DENIED,
						 "Not allowed to manage vfiod: %s.", why);
		return;
	}
	r = run(check->request, check->client->manager, &error);
	if (r < 0)
		(void)sd_bus_reply_method_errno(check->request, r, &error);
}

static int authorize_manage(Manager *m, sd_bus_message *msg, const char *action, ManageAction run,
			    sd_bus_error *error)
{
	Client *client;
	int r;

	r = client_from_message(m, msg, &client, error);
	if (r < 0)
		return r;
	if (client->uid == 0)
		return 0;
	if (client->transport == CLIENT_SYSTEM_BUS) {
		r = polkit_check_start(client, msg, POLKIT_ACTION_MANAGE, NULL, 0, false,
				       on_manage_polkit_done, (void *)(uintptr_t)run, NULL, error);
		return r < 0 ? r : 1;
	}
	audit_log(AUDIT_MANAGE_DENIED, client, NULL, 0, "only root may manage vfiod", action);
	return sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED,
				 "Only root may manage vfiod (%s asked by uid %u).", action,
				 (unsigned)client->uid);
}

static int reload(sd_bus_message *msg, Manager *m, sd_bus_error *error)
{
	_cleanup_free_ char *why = NULL;
	int r;

	/* Existing claims keep what they were granted; only new claims see the new policy. */
	r = manager_load_policy_full(m, &why);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_POLICY,
					 "%s; keeping the previous policy.", why ?: strerror(-r));
	return sd_bus_reply_method_return(msg, NULL);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Manager *m = userdata;
	int r;

	r = authorize_manage(m, msg, "policy reload", reload, error);
	if (r != 0)
		return r;
	return reload(msg, m, error);
}

/* Bind() and Unbind(): authorized already; the argument is read here, also after polkit. */
typedef int (*RebindFunction)(Manager *m, Client *client, const char *address, char **ret_driver,
			      sd_bus_error *error);

static int rebind_reply(sd_bus_message *msg, Manager *m, RebindFunction move, sd_bus_error *error)
{
	_cleanup_free_ char *driver = NULL;
	const char *address;
	Client *client;
	int r;

	r = sd_bus_message_rewind(msg, true);
	if (r >= 0)
		r = sd_bus_message_read(msg, "s", &address);
	if (r < 0)
		return r;
	r = client_from_message(m, msg, &client, error);
	if (r < 0)
		return r;
	r = move(m, client, address, &driver, error);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(msg, "s", driver);
}

static int bind_device(sd_bus_message *msg, Manager *m, sd_bus_error *error)
{
	return rebind_reply(msg, m, rebind_bind, error);
}

static int unbind_device(sd_bus_message *msg, Manager *m, sd_bus_error *error)
{
	return rebind_reply(msg, m, rebind_unbind, error);
}

static int method_bind(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	int r;

	r = authorize_manage(userdata, msg, "driver bind", bind_device, error);
	if (r != 0)
		return r;
	return bind_device(msg, userdata, error);
}

static int method_unbind(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	int r;

	r = authorize_manage(userdata, msg, "driver unbind", unbind_device, error);
	if (r != 0)
		return r;
	return unbind_device(msg, userdata, error);
}

/*
 * Revoke(): the claim holding the device, asked back as a revocation. Read
 * again after polkit: the claim may have ended or changed hands meanwhile.
 */
static int revoke_claim(sd_bus_message *msg, Manager *m, bool own_only, sd_bus_error *error)
{
	char reason[96];
	const char *address;
	Client *client;
	Device *d;
	Claim *c;
	int r;

	r = sd_bus_message_rewind(msg, true);
	if (r >= 0)
		r = sd_bus_message_read(msg, "s", &address);
	if (r < 0)
		return r;
	r = client_from_message(m, msg, &client, error);
	if (r < 0)
		return r;
	d = device_find(m, address);
	if (!d)
		return sd_bus_error_setf(error, VFIOD_ERROR_NO_SUCH_DEVICE,
					 "vfiod publishes no device %.32s.", address);
	c = device_holder(d);
	if (!c)
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT, "Nobody holds %s.",
					 device_name(d));
	if (own_only && c->client->uid != client->uid)
		return 1;
	snprintf(reason, sizeof(reason), "uid %u asked vfiod to revoke the claim",
		 (unsigned)client->uid);
	/* Reply first: when no timer can be armed, claim_revoke() frees the claim at once. */
	r = sd_bus_reply_method_return(msg, "otb", c->path, c->revoke_grace_usec, c->revoke_force);
	if (r < 0)
		return r;
	claim_revoke(c, device_name(d), reason);
	return 0;
}

static int revoke_any(sd_bus_message *msg, Manager *m, sd_bus_error *error)
{
	return revoke_claim(msg, m, false, error);
}

static int method_revoke(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	int r;

	/* A uid may take back its own claims; anyone else's needs the manage action. */
	r = revoke_claim(msg, userdata, true, error);
	if (r <= 0)
		return r;
	r = authorize_manage(userdata, msg, "claim revocation", revoke_any, error);
	if (r != 0)
		return r;
	return revoke_any(msg, userdata, error);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", VFIOD_VERSION);
}

/*
 * Claim, Reload, Bind and Unbind authorize themselves (claim_new(), authorize_manage()), hence
 * UNPRIVILEGED.
 */
const sd_bus_vtable bus_manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_METHOD_WITH_ARGS("Claim", SD_BUS_ARGS("as", devices, "a{sv}", options),
			    SD_BUS_RESULT("o", claim, "a(sh)", device_fds, "a{sv}", dma),
			    method_claim, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Reload", "", "", method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Bind", SD_BUS_ARGS("s", device), SD_BUS_RESULT("s", previous_driver),
			    method_bind, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Revoke", SD_BUS_ARGS("s", device),
			    SD_BUS_RESULT("o", claim, "t", grace_usec, "b", force), method_revoke,
			    SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Unbind", SD_BUS_ARGS("s", device), SD_BUS_RESULT("s", driver),
			    method_unbind, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

int bus_manager_add(sd_bus *bus, Manager *m)
{
	return sd_bus_add_object_vtable(bus, NULL, BROKER_PATH, BROKER_MANAGER_INTERFACE,
					bus_manager_vtable, m);
}
