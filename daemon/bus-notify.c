/* SPDX-License-Identifier: MIT */
/*
 * State changes announced on the connections the objects are served on (the
 * system bus, and each peer of the private socket whose match rules ask for
 * them): InterfacesAdded/Removed from the ObjectManager at /io/vfiod/Broker1
 * and PropertiesChanged.
 * A signal that cannot be sent is logged and dropped: the state itself is
 * right, and a client that missed a signal can always re-read it.
 */
#include "bus-notify.h"

#include <stdlib.h>

#include "bus-objects.h"
#include "claim.h"
#include "client.h"
#include "device.h"
#include "log.h"
#include "peer-io.h"

#define OBJECT_MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"
#define PROPERTIES_INTERFACE	 "org.freedesktop.DBus.Properties"

typedef int (*EmitFunction)(sd_bus *bus, const void *userdata);

/* One kind of signal: how to send it, and what a peer's match rules see of it. */
typedef struct Notification {
	EmitFunction emit;
	const char *interface;
	const char *member;
	/* PropertiesChanged: the interface whose properties changed, its arg0 (sent by the
	 * object itself); NULL: InterfacesAdded/Removed, sent by the ObjectManager with the
	 * object's path as arg0. */
	const char *properties_of;
} Notification;

static const char *const broker_names[] = {BROKER_BUS_NAME, BROKER_PEER_DAEMON_NAME, NULL};

/*
 * Sends the signal for the object at path on the system bus (its daemon
 * routes it by the match rules there) and to every peer with a match rule
 * for it: a peer that asked for nothing gets nothing, as on a bus.
 */
static void notify(Manager *m, const Notification *n, const char *path)
{
	const BusMatchArg arg0 =
	    n->properties_of ? (BusMatchArg){'s', n->properties_of} : (BusMatchArg){'o', path};
	const BusSignal signal = {
	    .senders = broker_names,
	    .path = n->properties_of ? path : BROKER_PATH,
	    .interface = n->interface,
	    .member = n->member,
	    .args = &arg0,
	    .n_args = 1,
	};
	Client *c;
	int r;

	if (m->system_bus) {
		r = n->emit(m->system_bus, path);
		if (r < 0)
			log_debug_errno(r, "Cannot emit a signal on the system bus: %m");
	}
	LIST_FOREACH (clients, c, m->clients) {
		if (c->transport != CLIENT_PEER || !c->bus || c->free_source ||
		    !bus_match_set_matches(&c->match_rules, &signal))
			continue;
		r = n->emit(c->bus, path);
		if (r < 0)
			log_debug_errno(r, "Cannot emit a signal to %s: %m", c->label);
		peer_io_sent(c);
	}
}

static int emit_object_added(sd_bus *bus, const void *path)
{
	return sd_bus_emit_object_added(bus, path);
}

/* Removals name the interface themselves: the object may already be gone when they are sent. */
static int emit_device_removed(sd_bus *bus, const void *path)
{
	return sd_bus_emit_interfaces_removed(bus, path, BROKER_DEVICE_INTERFACE, NULL);
}

static int emit_group_removed(sd_bus *bus, const void *path)
{
	return sd_bus_emit_interfaces_removed(bus, path, BROKER_GROUP_INTERFACE, NULL);
}

static int emit_claim_removed(sd_bus *bus, const void *path)
{
	return sd_bus_emit_interfaces_removed(bus, path, BROKER_CLAIM_INTERFACE, NULL);
}

static const Notification object_added = {emit_object_added, OBJECT_MANAGER_INTERFACE,
					  "InterfacesAdded", NULL};
static const Notification device_removed = {emit_device_removed, OBJECT_MANAGER_INTERFACE,
					    "InterfacesRemoved", NULL};
static const Notification group_object_removed = {emit_group_removed, OBJECT_MANAGER_INTERFACE,
						  "InterfacesRemoved", NULL};
static const Notification claim_removed = {emit_claim_removed, OBJECT_MANAGER_INTERFACE,
					   "InterfacesRemoved", NULL};

static void notify_group_object(Manager *m, int group, const Notification *n)
{
	_cleanup_free_ char *path = NULL;

	if (bus_group_path(group, &path) < 0)
		return (void)log_oom();
	notify(m, n, path);
}

void bus_notify_device_added(Manager *m, const Device *d, bool group_added)
{
	if (group_added)
		notify_group_object(m, device_iommu_group(d), &object_added);
	notify(m, &object_added, d->path);
	if (!group_added)
		bus_notify_group_changed(m, device_iommu_group(d));
}

void bus_notify_device_removed(Manager *m, const Device *d, bool group_removed)
{
	notify(m, &device_removed, d->path);
	if (group_removed)
		notify_group_object(m, device_iommu_group(d), &group_object_removed);
	else
		bus_notify_group_changed(m, device_iommu_group(d));
}

static int emit_device_changed(sd_bus *bus, const void *path)
{
	return sd_bus_emit_properties_changed(
	    bus, path, BROKER_DEVICE_INTERFACE, "Driver", "IommuGroup", "Group", "NumaNode",
	    "ClaimState", "Claim", "Holder", "DeviceTreeNode", "Compatible", "DeviceTreeResources",
	    "DeviceTreeInterrupts", "DeviceTreeError", "Managed", "DeviceFlags", "ResetSupported",
	    "DeviceCapabilities", "Regions", "Irqs", "MetadataState", "MetadataError", NULL);
}

static const Notification device_changed = {emit_device_changed, PROPERTIES_INTERFACE,
					    "PropertiesChanged", BROKER_DEVICE_INTERFACE};

void bus_notify_device_changed(Manager *m, const Device *d)
{
	notify(m, &device_changed, d->path);
}

static int emit_group_changed(sd_bus *bus, const void *path)
{
	return sd_bus_emit_properties_changed(bus, path, BROKER_GROUP_INTERFACE, "Members",
					      "Devices", "Viable", "NotViableReason", "Claim",
					      "Holder", NULL);
}

static const Notification group_changed = {emit_group_changed, PROPERTIES_INTERFACE,
					   "PropertiesChanged", BROKER_GROUP_INTERFACE};

void bus_notify_group_changed(Manager *m, int group)
{
	if (!iommu_group_find(m, group))
		return;
	notify_group_object(m, group, &group_changed);
}

static int emit_holder_changed(sd_bus *bus, const void *path)
{
	return sd_bus_emit_properties_changed(bus, path, BROKER_DEVICE_INTERFACE, "ClaimState",
					      "Claim", "Holder", NULL);
}

/*
 * Only the holder: a claim or release changes neither a group's members nor
 * their drivers (a rebind for the claim is announced by its uevent). The
 * sysfs-derived properties are read afresh for every emission on every
 * connection, so emitting them here cost four group listings per
 * connection per claim and per release.
 */
static int emit_group_holder_changed(sd_bus *bus, const void *path)
{
	return sd_bus_emit_properties_changed(bus, path, BROKER_GROUP_INTERFACE, "Claim", "Holder",
					      NULL);
}

static const Notification holder_changed = {emit_holder_changed, PROPERTIES_INTERFACE,
					    "PropertiesChanged", BROKER_DEVICE_INTERFACE};
static const Notification group_holder_changed = {emit_group_holder_changed, PROPERTIES_INTERFACE,
						  "PropertiesChanged", BROKER_GROUP_INTERFACE};

void bus_notify_holder_changed(Manager *m, const Claim *c)
{
	for (size_t i = 0; i < m->n_devices; i++)
		if (claim_holds_group(c, device_iommu_group(m->devices[i])))
			notify(m, &holder_changed, m->devices[i]->path);
	for (size_t i = 0; i < c->n_groups; i++)
		if (iommu_group_find(m, c->groups[i]))
			notify_group_object(m, c->groups[i], &group_holder_changed);
}

void bus_notify_claim_added(Manager *m, const Claim *c)
{
	notify(m, &object_added, c->path);
}

void bus_notify_claim_removed(Manager *m, const Claim *c)
{
	notify(m, &claim_removed, c->path);
}
