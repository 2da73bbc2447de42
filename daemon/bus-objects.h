/* SPDX-License-Identifier: MIT */
/* The D-Bus objects of io.vfiod.Broker1 and where they are registered. */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

#define BROKER_BUS_NAME		 "io.vfiod.Broker1"
#define BROKER_PATH		 "/io/vfiod/Broker1"
#define BROKER_CLAIM_PREFIX	 "/io/vfiod/Broker1/claim"
#define BROKER_MANAGER_INTERFACE "io.vfiod.Broker1.Manager"
#define BROKER_CLAIM_INTERFACE	 "io.vfiod.Broker1.Claim"

int bus_manager_add(sd_bus *bus, Manager *m);
int bus_claim_add(sd_bus *bus, Manager *m);
/* On a peer connection: answers the org.freedesktop.DBus calls busctl makes. */
int bus_peer_driver_add(sd_bus *bus);
