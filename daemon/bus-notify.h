/* SPDX-License-Identifier: MIT */
/* Signals announcing state changes, routed by peers' match rules; see bus-notify.c. */
#pragma once

#include <stdbool.h>

#include "manager.h"

/* group_added/group_removed: the device's IOMMU group object appeared or went with it. */
void bus_notify_device_added(Manager *m, const Device *d, bool group_added);
void bus_notify_device_removed(Manager *m, const Device *d, bool group_removed);
/* Driver, group or NUMA node changed (udev bind/unbind/change). */
void bus_notify_device_changed(Manager *m, const Device *d);
/* Members, viability or holder of a group changed; nothing when it is not published. */
void bus_notify_group_changed(Manager *m, int group);

void bus_notify_claim_added(Manager *m, const Claim *c);
void bus_notify_claim_removed(Manager *m, const Claim *c);
/* Holder properties of every device and group in the claim's groups; call after (un)listing it. */
void bus_notify_holder_changed(Manager *m, const Claim *c);
