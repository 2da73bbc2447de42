/* SPDX-License-Identifier: MIT */
#include "polkit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-error.h"
#include "client.h"
#include "log.h"

#define POLKIT_SERVICE	 "org.freedesktop.PolicyKit1"
#define POLKIT_PATH	 "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* CheckAuthorizationFlags: AllowUserInteraction. */
#define POLKIT_FLAG_ALLOW_USER_INTERACTION 1u

static unsigned n_pending;
static uint64_t next_cancellation;

unsigned polkit_checks_pending(void)
{
	return n_pending;
}

bool polkit_verdict(const sd_bus_error *call_error, bool authorized, bool challenge,
		    bool interactive, const char *action, char *why_buf, size_t why_size)
{
	if (call_error && sd_bus_error_is_set(call_error)) {
		if (sd_bus_error_has_names(call_error, SD_BUS_ERROR_SERVICE_UNKNOWN,
					   SD_BUS_ERROR_NAME_HAS_NO_OWNER,
					   SD_BUS_ERROR_DISCONNECTED))
			snprintf(why_buf, why_size, "polkit is not available");
		else if (sd_bus_error_has_names(call_error, SD_BUS_ERROR_NO_REPLY,
						SD_BUS_ERROR_TIMEOUT))
			snprintf(why_buf, why_size, "polkit did not answer in time");
		else
			/* The name is polkit's or the bus daemon's, never the client's. */
			snprintf(why_buf, why_size, "polkit failed (%.100s)", call_error->name);
		return false;
	}
	if (authorized)
		return true;
	if (challenge && !interactive)
		snprintf(why_buf, why_size,
			 "authentication required for %s: retry with the option interactive",
			 action);
	else
		snprintf(why_buf, why_size, "polkit denied %s", action);
	return false;
}

static void polkit_send_cancel(PolkitCheck *check)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	sd_bus *bus = check->client->bus;

	/* Only an agent's dialog outlives our dropped callback; tell polkit to close it. */
	if (sd_bus_message_new_method_call(bus, &msg, POLKIT_SERVICE, POLKIT_PATH, POLKIT_INTERFACE,
					   "CancelCheckAuthorization") < 0 ||
	    sd_bus_message_append(msg, "s", check->cancellation_id) < 0 ||
	    sd_bus_message_set_expect_reply(msg, false) < 0 || sd_bus_send(bus, msg, NULL) < 0)
		log_debug("Cannot cancel polkit check %s", check->cancellation_id);
}

PolkitCheck *polkit_check_free(PolkitCheck *check)
{
	if (!check)
		return NULL;
	if (check->slot) {
		if (check->interactive)
			polkit_send_cancel(check);
		check->slot = sd_bus_slot_unref(check->slot);
	}
	LIST_REMOVE(checks, check->client->polkit_checks, check);
	check->client->n_polkit_checks--;
	check->client->manager->n_pending_work--;
	n_pending--;
	sd_bus_message_unref(check->request);
	if (check->free_userdata)
		check->free_userdata(check->userdata);
	free(check->devices);
	free(check->action);
	free(check);
	return NULL;
}

static int polkit_check_ask(PolkitCheck *check);

static void polkit_check_finish(PolkitCheck *check, bool allowed, const char *why)
{
	check->done(check, allowed, why);
	polkit_check_free(check);
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	PolkitCheck *check = userdata;
	const sd_bus_error *call_error = sd_bus_message_get_error(reply);
	int authorized = 0, challenge = 0;
	char why[256];
	int r;

	check->slot = sd_bus_slot_unref(check->slot);
	if (!call_error) {
		/* (bba{ss}): the details are not needed. */
		r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
		if (r > 0)
			r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
		if (r <= 0) {
			polkit_check_finish(check, false, "polkit sent an unreadable answer");
			return 0;
		}
	}
	if (!polkit_verdict(call_error, authorized, challenge, check->interactive, check->action,
			    why, sizeof(why))) {
		polkit_check_finish(check, false, why);
		return 0;
	}
	/* A client that is going away gets nothing, whatever polkit says. */
	if (check->client->free_source) {
		polkit_check_finish(check, false, "the caller went away");
		return 0;
	}
	if (check->n_devices > 0 && ++check->next < check->n_devices) {
		r = polkit_check_ask(check);
		if (r < 0)
			polkit_check_finish(check, false, "cannot ask polkit");
		return 0;
	}
	polkit_check_finish(check, true, NULL);
	return 0;
}

static int append_detail(sd_bus_message *msg, const char *key, const char *value)
{
	return sd_bus_message_append(msg, "{ss}", key, value);
}

static int polkit_check_ask(PolkitCheck *check)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	sd_bus *bus = check->client->bus;
	char buf[16];
	int r;

	r = sd_bus_message_new_method_call(bus, &msg, POLKIT_SERVICE, POLKIT_PATH, POLKIT_INTERFACE,
					   "CheckAuthorization");
	if (r < 0)
		return r;
	/* The bus name, not a pid: polkit asks the bus daemon, which cannot be raced. */
	r = sd_bus_message_append(msg, "(sa{sv})", "system-bus-name", 1, "name", "s",
				  check->client->bus_name);
	if (r < 0)
		return r;
	r = sd_bus_message_append(msg, "s", check->action);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(msg, 'a', "{ss}");
	if (r >= 0 && check->n_devices > 0) {
		const PolkitDevice *d = check->devices + check->next;

		r = append_detail(msg, "device", d->address);
		snprintf(buf, sizeof(buf), "%04x", d->vendor_id);
		if (r >= 0)
			r = append_detail(msg, "vendor", buf);
		snprintf(buf, sizeof(buf), "%04x", d->device_id);
		if (r >= 0)
			r = append_detail(msg, "device-id", buf);
		snprintf(buf, sizeof(buf), "%d", d->iommu_group);
		if (r >= 0)
			r = append_detail(msg, "iommu-group", buf);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(msg);
	if (r >= 0)
		r = sd_bus_message_append(
		    msg, "us", check->interactive ? POLKIT_FLAG_ALLOW_USER_INTERACTION : 0u,
		    check->cancellation_id);
	if (r < 0)
		return r;
	return sd_bus_call_async(bus, &check->slot, msg, on_check_reply, check,
				 check->interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC
						    : POLKIT_TIMEOUT_USEC);
}

int polkit_check_start(Client *client, sd_bus_message *request, const char *action,
		       const PolkitDevice *devices, size_t n_devices, bool interactive,
		       PolkitDone done, void *userdata, void (*free_userdata)(void *),
		       sd_bus_error *error)
{
	PolkitCheck *check;
	int r;

	if (client->transport != CLIENT_SYSTEM_BUS || !client->bus_name) {
		if (free_userdata)
			free_userdata(userdata);
		return sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED,
					 "polkit decides only for system-bus callers.");
	}
	if (client->n_polkit_checks >= POLKIT_CHECKS_PER_CLIENT_MAX ||
	    n_pending >= POLKIT_CHECKS_MAX) {
		if (free_userdata)
			free_userdata(userdata);
		return sd_bus_error_setf(error, VFIOD_ERROR_LIMIT_EXCEEDED,
					 "Too many authorization checks are pending (at most %u "
					 "per client, %u in all).",
					 POLKIT_CHECKS_PER_CLIENT_MAX, POLKIT_CHECKS_MAX);
	}

	check = calloc(1, sizeof(*check));
	if (!check) {
		if (free_userdata)
			free_userdata(userdata);
		return -ENOMEM;
	}
	check->client = client;
	check->userdata = userdata;
	check->free_userdata = free_userdata;
	check->done = done;
	check->interactive = interactive;
	check->request = sd_bus_message_ref(request);
	snprintf(check->cancellation_id, sizeof(check->cancellation_id), "vfiod-%" PRIu64,
		 ++next_cancellation);
	LIST_PREPEND(checks, client->polkit_checks, check);
	client->n_polkit_checks++;
	/* No idle exit while polkit has not answered. */
	client->manager->n_pending_work++;
	n_pending++;

	check->action = strdup(action);
	if (!check->action) {
		polkit_check_free(check);
		return -ENOMEM;
	}
	if (n_devices > 0) {
		check->devices = calloc(n_devices, sizeof(*devices));
		if (!check->devices) {
			polkit_check_free(check);
			return -ENOMEM;
		}
		memcpy(check->devices, devices, n_devices * sizeof(*devices));
		check->n_devices = n_devices;
	}
	r = polkit_check_ask(check);
	if (r < 0) {
		polkit_check_free(check);
		return sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED,
					 "Cannot ask polkit: %s", strerror(-r));
	}
	log_debug("Asking polkit whether %s may %s (%zu device(s))", client->label, action,
		  n_devices);
	return 0;
}
