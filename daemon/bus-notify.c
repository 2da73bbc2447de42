/* SPDX-License-Identifier: MIT */
/*
 * State changes announced on every connection the objects are served on (the
 * system bus and each peer of the private socket): InterfacesAdded/Removed
 * from the ObjectManager at /io/vfiod/Broker1 and PropertiesChanged.
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

typedef int (*EmitFunction)(sd_bus *bus, const void *userdata);

static void emit_everywhere(Manager *m, EmitFunction emit, const void *userdata)
{
	Client *c;
	int r;

	if (m->system_bus) {
		r = emit(m->system_bus, userdata);
		if (r < 0)
			log_debug_errno(r, "Cannot emit a signal on the system bus: %m");
	}
	LIST_FOREACH (clients, c, m->clients) {
		if (c->transport != CLIENT_PEER || !c->bus || c->free_source)
			continue;
		r = emit(c->bus, userdata);
		if (r < 0)
			log_debug_errno(r, "Cannot emit a signal to %s: %m", c->label);
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

static void notify_group_object(Manager *m, int group, EmitFunction emit)
{
	_cleanup_free_ char *path = NULL;

	if (bus_group_path(group, &path) < 0)
		return (void)log_oom();
	emit_everywhere(m, emit, path);
}

void bus_notify_device_added(Manager *m, const Device *d, bool group_added)
{
	if (group_added)
		notify_group_object(m, device_iommu_group(d), emit_object_added);
	emit_everywhere(m, emit_object_added, d->path);
	if (!group_added)
		bus_notify_group_changed(m, device_iommu_group(d));
}

void bus_notify_device_removed(Manager *m, const Device *d, bool group_removed)
{
	emit_everywhere(m, emit_device_removed, d->path);
	if (group_removed)
		notify_group_object(m, device_iommu_group(d), emit_group_removed);
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

void bus_notify_device_changed(Manager *m, const Device *d)
{
	emit_everywhere(m, emit_device_changed, d->path);
}

static int emit_group_changed(sd_bus *bus, const void *path)
{
	return sd_bus_emit_properties_changed(bus, path, BROKER_GROUP_INTERFACE, "Members",
					      "Devices", "Viable", "NotViableReason", "Claim",
					      "Holder", NULL);
}

void bus_notify_group_changed(Manager *m, int group)
{
	if (!iommu_group_find(m, group))
		return;
	notify_group_object(m, group, emit_group_changed);
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

void bus_notify_holder_changed(Manager *m, const Claim *c)
{
	for (size_t i = 0; i < m->n_devices; i++)
		if (claim_holds_group(c, device_iommu_group(m->devices[i])))
			emit_everywhere(m, emit_holder_changed, m->devices[i]->path);
	for (size_t i = 0; i < c->n_groups; i++)
		if (iommu_group_find(m, c->groups[i]))
			notify_group_object(m, c->groups[i], emit_group_holder_changed);
}

void bus_notify_claim_added(Manager *m, const Claim *c)
{
	emit_everywhere(m, emit_object_added, c->path);
}

void bus_notify_claim_removed(Manager *m, const Claim *c)
{
	emit_everywhere(m, emit_claim_removed, c->path);
}
