/* SPDX-License-Identifier: MIT */
/*
 * Revocation: VFIO has no revoke ioctl, so vfiod asks the holder (the Revoked
 * signal), waits the claim's grace period, and then ends the claim, killing
 * the holder first where the policy says RevokeForce=yes.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include "audit.h"
#include "bus-objects.h"
#include "claim.h"
#include "client.h"
#include "log.h"
#include "peer-io.h"

static int claim_send_revoked(Claim *c, const char *device, const char *reason)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	Client *holder = c->client;
	int r;

	/* A claim restored after a restart has no connection to tell. */
	if (!holder->bus)
		return -ENOTCONN;
	r = sd_bus_message_new_signal(holder->bus, &msg, c->path, BROKER_CLAIM_INTERFACE,
				      "Revoked");
	if (r < 0)
		return r;
	/*
	 * A unicast signal: only the holder is told, whatever its match rules, as
	 * a bus daemon delivers a signal with a destination. On the system bus the
	 * destination names it; a peer's own connection reaches only the peer.
	 */
	if (holder->bus_name) {
		r = sd_bus_message_set_destination(msg, holder->bus_name);
		if (r < 0)
			return r;
	}
	r = sd_bus_message_append(msg, "ss", device, reason);
	if (r < 0)
		return r;
	r = sd_bus_send(holder->bus, msg, NULL);
	peer_io_sent(holder);
	return r;
}

static int on_grace_over(sd_event_source *s, uint64_t usec, void *userdata)
{
	Claim *c = userdata;
	const char *device = c->devices[0].address;
	char detail[128];
	int r;

	if (!c->revoke_force) {
		audit_log(AUDIT_REVOKE, c->client, device, c->id, "RevokeForce=no",
			  "grace period over: the claim ends, the holder keeps its own fds");
		claim_free(c);
		return 0;
	}
	r = client_kill(c->client, SIGKILL);
	if (r < 0)
		snprintf(detail, sizeof(detail), "grace period over: cannot kill the holder: %s",
			 r == -EOPNOTSUPP ? "no pidfd for it" : strerror(-r));
	else
		snprintf(detail, sizeof(detail), "grace period over: holder killed (SIGKILL)");
	audit_log(AUDIT_KILL, c->client, device, c->id, "RevokeForce=yes", detail);
	/* The kernel closes the holder's fds as it dies; vfiod's go now. */
	claim_free(c);
	return 0;
}

void claim_revoke(Claim *c, const char *device, const char *reason)
{
	char detail[320];
	int r;

	/* vfio-pci repeats its request every 10 s while it waits. */
	if (c->revoke_timer)
		return;
	snprintf(detail, sizeof(detail), "%s; release within %" PRIu64 " ms%s", reason,
		 c->revoke_grace_usec / 1000, c->revoke_force ? " or be killed" : "");
	audit_log(AUDIT_REVOKE, c->client, device, c->id, "asked to release", detail);
	r = claim_send_revoked(c, device, reason);
	if (r < 0)
		log_warning_errno(r, "Cannot tell %s that claim %" PRIu64 " is revoked: %m",
				  c->client->label, c->id);
	r = sd_event_add_time_relative(c->manager->event, &c->revoke_timer, CLOCK_MONOTONIC,
				       c->revoke_grace_usec, 0, on_grace_over, c);
	if (r < 0) {
		/* Without a timer the claim ends now rather than never. */
		log_warning_errno(r, "Cannot time the grace period of claim %" PRIu64 ": %m",
				  c->id);
		on_grace_over(NULL, 0, c);
	}
}
