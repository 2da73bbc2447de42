/* SPDX-License-Identifier: MIT */
/*
 * libvfioc events against the fake broker: Revoked, the end of a claim and the
 * removal of a device arrive only through vfioc_client_dispatch(), never from
 * inside another call; the event function may call back into the library;
 * floods are capped; losing the broker ends every claim.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fake-broker.h"
#include "tap.h"
#include "util.h"
#include "vfioc.h"

#define MAX_SEEN	    128
#define FLOOD_CLAIMS	    (VFIOC_MAX_QUEUED_EVENTS + 6)
#define DEVICE_IFACE	    "io.vfiod.Broker1.Device"
#define CLAIM_IFACE	    "io.vfiod.Broker1.Claim"
#define DEVICE_PATH(suffix) "/io/vfiod/Broker1/device/pci_" suffix

static struct fake_broker broker;

/* What the event function saw, copied out of the events. */
struct seen {
	enum vfioc_event_type type;
	struct vfioc_claim *claim;
	char device[64];
	char reason[128];
	bool connection_lost;
	unsigned n_lost;
};

static struct seen seen[MAX_SEEN];
static size_t n_seen;

/* What the event function does besides recording, per test. */
static enum {
	REACT_NOTHING,
	REACT_RELEASE,	       /* on REVOKED: dispatch (must fail), then release the claim */
	REACT_FREE_EVERYTHING, /* on CLAIM_ENDED: free the claim and the client */
} react;
static int reentrant_dispatch = 1;
static int release_result = 1;

static void record(struct vfioc_client *client, const struct vfioc_event *e, void *userdata)
{
	CHECK(userdata == &seen);
	if (n_seen < MAX_SEEN) {
		struct seen *s = &seen[n_seen++];
		*s = (struct seen){.type = e->type,
				   .claim = e->claim,
				   .connection_lost = e->connection_lost,
				   .n_lost = e->n_lost};
		snprintf(s->device, sizeof(s->device), "%s", e->device ? e->device : "");
		snprintf(s->reason, sizeof(s->reason), "%s", e->reason ? e->reason : "");
	}

	if (react == REACT_RELEASE && e->type == VFIOC_EVENT_REVOKED) {
		reentrant_dispatch = vfioc_client_dispatch(client, 0);
		release_result = vfioc_claim_release(e->claim);
	} else if (react == REACT_FREE_EVERYTHING && e->type == VFIOC_EVENT_CLAIM_ENDED) {
		vfioc_claim_free(e->claim);
		vfioc_client_free(client);
	}
}

static void reset_seen(void)
{
	n_seen = 0;
	react = REACT_NOTHING;
}

static uint32_t claim_number(const struct vfioc_claim *claim)
{
	const char *p = strrchr(vfioc_claim_path(claim), '/');
	return p ? (uint32_t)strtoul(p + 1, NULL, 10) : 0;
}

static bool readable(struct vfioc_client *c)
{
	struct pollfd p = {.fd = vfioc_client_get_fd(c), .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Dispatches until the fd stays quiet for 200 ms: whatever the fake sent has arrived. */
static void dispatch_all(struct vfioc_client *c)
{
	struct pollfd p = {.fd = vfioc_client_get_fd(c), .events = POLLIN};

	for (int i = 0; i < 100 && poll(&p, 1, 200) == 1; i++)
		if (vfioc_client_dispatch(c, 0) < 0)
			break;
}

static struct vfioc_client *connect_with_events(void)
{
	struct vfioc_client *c = NULL;

	CHECK(vfioc_connect(broker.address, &c) == 0);
	if (c)
		CHECK(vfioc_client_set_event_fn(c, record, &seen) == 0);
	return c;
}

static struct vfioc_claim *claim_one(struct vfioc_client *c, const char *device)
{
	struct vfioc_claim *claim = NULL;

	CHECK(vfioc_claim(c, (const char *[]){device}, 1, NULL, &claim) == 0);
	return claim;
}

static void drop_calls(void)
{
	_cleanup_strv_free_ char **calls = NULL;
	CHECK(fake_broker_calls(&broker, &calls) == 0);
}

/* Revoked is queued while a synchronous call reads it, and delivered once by dispatch. */
static void test_revoked(void)
{
	struct vfioc_client *c = connect_with_events();
	struct vfioc_claim *claim = c ? claim_one(c, "0000:00:09.0") : NULL;

	if (!claim)
		return;
	reset_seen();
	CHECK(fake_broker_test_call(&broker, "Revoke", "ussu", claim_number(claim), "0000:00:09.0",
				    "driver unbind requested", 1) == 0);
	/* The signal was sent before the reply to this call: the call reads it, and must not
	 * deliver it. */
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:09.0", 0, 1) == 0);
	CHECK(n_seen == 0);
	/* ... but the caller's poll must not sleep on it. */
	CHECK(readable(c));

	CHECK(vfioc_client_dispatch(c, 0) >= 0);
	CHECK(n_seen == 1);
	CHECK(seen[0].type == VFIOC_EVENT_REVOKED);
	CHECK(seen[0].claim == claim);
	CHECK_STREQ(seen[0].device, "0000:00:09.0");
	CHECK_STREQ(seen[0].reason, "driver unbind requested");
	CHECK(!seen[0].connection_lost);
	CHECK(!readable(c));

	/* Once per claim, however often the broker repeats it. */
	CHECK(fake_broker_test_call(&broker, "Revoke", "ussu", claim_number(claim), "0000:00:09.0",
				    "again", 500) == 0);
	dispatch_all(c);
	CHECK(n_seen == 1);

	CHECK(vfioc_claim_release(claim) == 0);
	vfioc_client_free(c);
	drop_calls();
}

/* The broker ends the claim: CLAIM_ENDED, not a lost connection; the client keeps working. */
static void test_claim_ended(void)
{
	struct vfioc_client *c = connect_with_events();
	struct vfioc_claim *claim = c ? claim_one(c, "0000:00:0a.0") : NULL;
	struct vfioc_device_list *list = NULL;

	if (!claim)
		return;
	reset_seen();
	CHECK(fake_broker_test_call(&broker, "EndClaim", "u", claim_number(claim)) == 0);
	/* Another synchronous call: still nothing delivered. */
	CHECK(vfioc_list_devices(c, &list) == 0);
	vfioc_device_list_free(list);
	CHECK(n_seen == 0);
	dispatch_all(c);
	CHECK(n_seen == 1);
	CHECK(seen[0].type == VFIOC_EVENT_CLAIM_ENDED);
	CHECK(seen[0].claim == claim);
	CHECK(!seen[0].connection_lost);
	CHECK(seen[0].reason[0] != 0);
	CHECK_STREQ(vfioc_event_type_to_string(seen[0].type), "claim-ended");

	/* A removal of some other claim or device is none of this client's business. */
	CHECK(fake_broker_test_call(&broker, "RemoveObject", "os", "/io/vfiod/Broker1/claim/999",
				    CLAIM_IFACE) == 0);
	CHECK(fake_broker_test_call(&broker, "RemoveObject", "os", DEVICE_PATH("0000_00_1f_0"),
				    DEVICE_IFACE) == 0);
	dispatch_all(c);
	CHECK(n_seen == 1);

	vfioc_claim_free(claim);
	vfioc_client_free(c);
	drop_calls();
}

/* A hot-unplugged device: DEVICE_GONE for the claim that holds it. */
static void test_device_gone(void)
{
	struct vfioc_client *c = connect_with_events();
	struct vfioc_claim *claim = NULL;

	if (!c)
		return;
	CHECK(vfioc_claim(c, (const char *[]){"0000:00:10.0", "0000:00:11.0"}, 2, NULL, &claim) ==
	      0);
	if (!claim)
		return;
	reset_seen();
	CHECK(fake_broker_test_call(&broker, "RemoveObject", "os", DEVICE_PATH("0000_00_11_0"),
				    DEVICE_IFACE) == 0);
	dispatch_all(c);
	CHECK(n_seen == 1);
	CHECK(seen[0].type == VFIOC_EVENT_DEVICE_GONE);
	CHECK(seen[0].claim == claim);
	CHECK_STREQ(seen[0].device, "0000:00:11.0");

	CHECK(vfioc_claim_release(claim) == 0);
	vfioc_client_free(c);
	drop_calls();
}

/* Inside the event function: dispatch is refused, releasing the event's claim works and drops
 * its other queued events; freeing the claim and the client works too. */
static void test_reentrancy(void)
{
	struct vfioc_client *c = connect_with_events();
	struct vfioc_claim *claim = c ? claim_one(c, "0000:00:12.0") : NULL;
	char line[64];

	if (!claim)
		return;
	reset_seen();
	react = REACT_RELEASE;
	CHECK(fake_broker_test_call(&broker, "Revoke", "ussu", claim_number(claim), "0000:00:12.0",
				    "device removal", 1) == 0);
	CHECK(fake_broker_test_call(&broker, "RemoveObject", "os", DEVICE_PATH("0000_00_12_0"),
				    DEVICE_IFACE) == 0);
	/* Both signals queued before anything is delivered. */
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:12.0", 1, 1) == 0);
	snprintf(line, sizeof(line), "Release %" PRIu32, claim_number(claim));
	CHECK(vfioc_client_dispatch(c, 0) >= 0);
	CHECK(n_seen == 1); /* DEVICE_GONE went with the claim */
	CHECK(seen[0].type == VFIOC_EVENT_REVOKED);
	CHECK(reentrant_dispatch == -EBUSY);
	CHECK(release_result == 0);
	CHECK(fake_broker_wait_for(&broker, line) == 1);
	CHECK(vfioc_client_dispatch(c, 0) >= 0); /* usable again after the callback */

	/* Freeing everything from inside: the client lives until dispatch returns. */
	claim = claim_one(c, "0000:00:13.0");
	if (!claim)
		return;
	reset_seen();
	react = REACT_FREE_EVERYTHING;
	CHECK(fake_broker_test_call(&broker, "EndClaim", "u", claim_number(claim)) == 0);
	struct pollfd p = {.fd = vfioc_client_get_fd(c), .events = POLLIN};
	CHECK(poll(&p, 1, 2000) == 1);
	CHECK(vfioc_client_dispatch(c, 0) >= 0);
	CHECK(n_seen == 1);
	drop_calls();
}

/*
 * The broker routes InterfacesRemoved by match rules: libvfioc asks for it
 * once an event function is set, and never without one. A broker that
 * ignores AddMatch or lacks it (it sends every signal) is fine too.
 */
static void test_match_rules(void)
{
	static const char *const modes[] = {"route", "ignore", "unknown"};
	struct vfioc_client *c = NULL;
	struct vfioc_claim *claim;

	CHECK(fake_broker_count_matches(&broker) >= 0);
	CHECK(vfioc_connect(broker.address, &c) == 0);
	claim = c ? claim_one(c, "0000:00:15.0") : NULL;
	CHECK(fake_broker_count_matches(&broker) == 0);
	if (claim)
		CHECK(vfioc_claim_release(claim) == 0);
	if (c) {
		CHECK(vfioc_client_set_event_fn(c, record, &seen) == 0);
		CHECK(vfioc_client_set_event_fn(c, NULL, NULL) == 0);
		CHECK(vfioc_client_set_event_fn(c, record, &seen) == 0);
		/* Once per client, however often the function changes. */
		CHECK(fake_broker_count_matches(&broker) == 1);
	}
	vfioc_client_free(c);

	for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
		CHECK(fake_broker_test_call(&broker, "SetMatchMode", "s", modes[i]) == 0);
		c = connect_with_events();
		claim = c ? claim_one(c, "0000:00:16.0") : NULL;
		if (!claim)
			continue;
		reset_seen();
		CHECK(fake_broker_test_call(&broker, "RemoveObject", "os",
					    DEVICE_PATH("0000_00_16_0"), DEVICE_IFACE) == 0);
		dispatch_all(c);
		if (n_seen != 1 || seen[0].type != VFIOC_EVENT_DEVICE_GONE)
			fprintf(stderr, "AddMatch answered as '%s': no DEVICE_GONE\n", modes[i]);
		CHECK(n_seen == 1 && seen[0].type == VFIOC_EVENT_DEVICE_GONE);
		CHECK(vfioc_claim_release(claim) == 0);
		vfioc_client_free(c);
	}
	CHECK(fake_broker_test_call(&broker, "SetMatchMode", "s", "route") == 0);
	drop_calls();
}

/* No function, no events: clearing it drops what waited. */
static void test_unset(void)
{
	struct vfioc_client *c = connect_with_events();
	struct vfioc_claim *claim = c ? claim_one(c, "0000:00:14.0") : NULL;

	if (!claim)
		return;
	reset_seen();
	CHECK(fake_broker_test_call(&broker, "Revoke", "ussu", claim_number(claim), "0000:00:14.0",
				    "x", 1) == 0);
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:14.0", 0, 1) == 0);
	CHECK(vfioc_client_set_event_fn(c, NULL, NULL) == 0);
	dispatch_all(c);
	CHECK(n_seen == 0);
	CHECK(vfioc_claim_release(claim) == 0);
	vfioc_client_free(c);
	drop_calls();
}

/* More events than the queue holds: the oldest go, one LOST event counts them. */
static void test_flood(void)
{
	struct vfioc_client *c = connect_with_events();
	struct vfioc_claim *claims[FLOOD_CLAIMS] = {};
	char device[32];

	if (!c)
		return;
	for (size_t i = 0; i < FLOOD_CLAIMS; i++) {
		snprintf(device, sizeof(device), "0000:%02zx:00.0", i + 0x20);
		claims[i] = claim_one(c, device);
		if (!claims[i])
			goto out;
	}
	reset_seen();
	for (size_t i = 0; i < FLOOD_CLAIMS; i++) {
		snprintf(device, sizeof(device), "0000:%02zx:00.0", i + 0x20);
		CHECK(fake_broker_test_call(&broker, "Revoke", "ussu", claim_number(claims[i]),
					    device, "flood", 1) == 0);
	}
	/* All of them read (and queued) by one synchronous call, then one dispatch. */
	CHECK(vfioc_claim_set_irqs(claims[0], "0000:20:00.0", 0, 1) == 0);
	CHECK(n_seen == 0);
	CHECK(vfioc_client_dispatch(c, 0) >= 0);
	CHECK(n_seen == VFIOC_MAX_QUEUED_EVENTS + 1);
	CHECK(seen[0].type == VFIOC_EVENT_LOST);
	CHECK(seen[0].n_lost == FLOOD_CLAIMS - VFIOC_MAX_QUEUED_EVENTS);
	CHECK(seen[0].claim == NULL);
	CHECK(seen[1].type == VFIOC_EVENT_REVOKED);
	CHECK(seen[1].claim == claims[FLOOD_CLAIMS - VFIOC_MAX_QUEUED_EVENTS]);
	CHECK(seen[n_seen - 1].claim == claims[FLOOD_CLAIMS - 1]);
out:
	for (size_t i = 0; i < FLOOD_CLAIMS; i++)
		vfioc_claim_free(claims[i]);
	vfioc_client_free(c);
	drop_calls();
}

/* The broker goes away: every claim ends, before dispatch reports the lost connection. */
static void test_broker_gone(void)
{
	struct vfioc_client *c = connect_with_events();
	struct vfioc_claim *a = c ? claim_one(c, "0000:00:15.0") : NULL;
	struct vfioc_claim *b = c ? claim_one(c, "0000:00:16.0") : NULL;
	int r = 0;

	if (!a || !b)
		return;
	reset_seen();
	CHECK(fake_broker_stop(&broker) == 0);
	for (int i = 0; i < 10 && r >= 0; i++)
		r = vfioc_client_dispatch(c, 500);
	CHECK(r == -ECONNRESET || r == -ENOTCONN);
	CHECK(n_seen == 2);
	for (size_t i = 0; i < n_seen; i++) {
		CHECK(seen[i].type == VFIOC_EVENT_CLAIM_ENDED);
		CHECK(seen[i].connection_lost);
		CHECK(seen[i].claim == a || seen[i].claim == b);
	}
	CHECK(n_seen < 2 || seen[0].claim != seen[1].claim);
	/* Nothing more, however often one asks. */
	CHECK(vfioc_client_dispatch(c, 0) < 0);
	CHECK(n_seen == 2);
	CHECK(vfioc_client_set_event_fn(c, NULL, NULL) == 0);
	vfioc_claim_free(a);
	vfioc_claim_free(b);
	vfioc_client_free(c);
}

int main(void)
{
	CHECK(vfioc_event_type_to_string(VFIOC_EVENT_REVOKED) != NULL);
	CHECK(vfioc_event_type_to_string((enum vfioc_event_type)0) == NULL);
	CHECK(vfioc_client_set_event_fn(NULL, record, NULL) == -EINVAL);

	CHECK(fake_broker_start(&broker) == 0);
	test_revoked();
	test_claim_ended();
	test_device_gone();
	test_match_rules();
	test_reentrancy();
	test_unset();
	test_flood();
	test_broker_gone();
	return test_exit();
}
