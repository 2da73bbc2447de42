/* SPDX-License-Identifier: MIT */
/* The D-Bus objects of io.vfiod.Broker1 and where they are registered. */
#pragma once

#include <stdio.h>
#include <systemd/sd-bus.h>

#include "manager.h"

#define BROKER_BUS_NAME		 "io.vfiod.Broker1"
#define BROKER_PATH		 "/io/vfiod/Broker1"
#define BROKER_CLAIM_PREFIX	 "/io/vfiod/Broker1/claim"
#define BROKER_DEVICE_PREFIX	 "/io/vfiod/Broker1/device"
#define BROKER_GROUP_PREFIX	 "/io/vfiod/Broker1/group"
#define BROKER_MANAGER_INTERFACE "io.vfiod.Broker1.Manager"
#define BROKER_CLAIM_INTERFACE	 "io.vfiod.Broker1.Claim"
#define BROKER_DEVICE_INTERFACE	 "io.vfiod.Broker1.Device"
#define BROKER_GROUP_INTERFACE	 "io.vfiod.Broker1.IommuGroup"

extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_claim_vtable[];
extern const sd_bus_vtable bus_device_vtable[];
extern const sd_bus_vtable bus_group_vtable[];

int bus_manager_add(sd_bus *bus, Manager *m);
int bus_claim_add(sd_bus *bus, Manager *m);
int bus_device_add(sd_bus *bus, Manager *m);
int bus_group_add(sd_bus *bus, Manager *m);

/* The holder of a claim as a{sv} (uid, pid, unit, cgroup, claim); empty for NULL. */
int bus_append_holder(sd_bus_message *reply, Claim *c);

/* The object path of IOMMU group `group`; the caller frees it. */
int bus_group_path(int group, char **ret);
/*
 * Writes the introspection XML of an object implementing `interface` (one of
 * ours), as sd-bus generates it, for vfiod --bus-introspect. -ENOENT for an
 * interface that is not ours.
 */
int bus_introspect(const char *interface, FILE *out);

/* The interfaces bus_introspect() knows, NULL-terminated. */
extern const char *const bus_interfaces[];

/*
 * The names on a peer connection, where vfiod plays the bus: vfiod is
 * BROKER_PEER_DAEMON_NAME and owns BROKER_BUS_NAME, the peer is BROKER_PEER_CLIENT_NAME.
 */
#define BROKER_PEER_DAEMON_NAME ":1.0"
#define BROKER_PEER_CLIENT_NAME ":1.1"

/*
 * On a peer connection: answers the org.freedesktop.DBus calls busctl makes,
 * and keeps the peer's match rules (AddMatch) on c.
 */
int bus_peer_driver_add(sd_bus *bus, Client *c);
