/* SPDX-License-Identifier: MIT */
/*
 * Asking polkit (org.freedesktop.PolicyKit1.Authority.CheckAuthorization)
 * about a system-bus caller, asynchronously over the daemon's own sd-bus
 * connection: the event loop never waits for polkit or an agent.
 *
 * A check belongs to its client: freeing the client frees the check and
 * cancels the call, so a completion never sees a client that is gone.
 * Anything but an explicit "yes" from polkit denies.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "list.h"
#include "manager.h"
#include "pci-address.h"

#define POLKIT_ACTION_CLAIM  "io.vfiod.claim-device"
#define POLKIT_ACTION_MANAGE "io.vfiod.manage"

/* Caps on checks waiting for polkit, per client and in all. */
#define POLKIT_CHECKS_PER_CLIENT_MAX 4u
#define POLKIT_CHECKS_MAX	     64u

/* How long polkit may take; with an agent the user types a password. */
#define POLKIT_TIMEOUT_USEC		(UINT64_C(25) * 1000000)
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (UINT64_C(300) * 1000000)

/* One device of a claim, as polkit rules see it (action.lookup("device") ...). */
typedef struct PolkitDevice {
	char address[PCI_ADDRESS_MAX];
	unsigned vendor_id;
	unsigned device_id;
	int iommu_group;
} PolkitDevice;

typedef struct PolkitCheck PolkitCheck;

/*
 * Called once when polkit has answered for every device (or for the action
 * when there are none): allowed true only when every answer was yes;
 * otherwise why says why ("polkit denied ..."). The callback must answer
 * check->request; the check is freed after it returns.
 */
typedef void (*PolkitDone)(PolkitCheck *check, bool allowed, const char *why);

struct PolkitCheck {
	Client *client;
	LIST_FIELDS(PolkitCheck, checks); /* on client->polkit_checks */
	sd_bus_message *request;	  /* the method call to answer */
	char *action;
	PolkitDevice *devices;
	size_t n_devices;
	size_t next; /* the device being asked about */
	bool interactive;
	sd_bus_slot *slot; /* the pending CheckAuthorization */
	char cancellation_id[48];
	PolkitDone done;
	void *userdata;
	void (*free_userdata)(void *userdata);
};

/*
 * Starts asking polkit whether client (a system-bus caller) may do action,
 * once per device (devices may be NULL, n_devices 0). Returns 0 when the
 * check is under way (request is referenced and answered by done later),
 * or a negative errno with a D-Bus error set (the caller answers at once).
 * userdata is the check's from then on, also on failure.
 */
int polkit_check_start(Client *client, sd_bus_message *request, const char *action,
		       const PolkitDevice *devices, size_t n_devices, bool interactive,
		       PolkitDone done, void *userdata, void (*free_userdata)(void *),
		       sd_bus_error *error);

/* Cancels a pending check without calling done; returns NULL. */
PolkitCheck *polkit_check_free(PolkitCheck *check);

/*
 * The pure part of reading an answer: call_error is the D-Bus error of the
 * call (NULL or unset when there is a reply), authorized/challenge its
 * fields. Returns true only for an explicit yes; otherwise writes why into
 * why_buf ("polkit is not available", "authentication required: retry with
 * interactive", ...).
 */
bool polkit_verdict(const sd_bus_error *call_error, bool authorized, bool challenge,
		    bool interactive, const char *action, char *why_buf, size_t why_size);

/* Checks pending in the whole daemon (for tests and the idle logic). */
unsigned polkit_checks_pending(void);
