/* SPDX-License-Identifier: MIT */
/*
 * Keeps the device registry in step with the kernel: udev events for PCI and
 * platform devices (add, remove, bind, unbind, change) re-read the device from sysfs,
 * update its object and announce the change. A claimed device that goes
 * away ends its claim (see claim_revoke()).
 */
#pragma once

#include "manager.h"

/* Subscribes to udev events; without udev (a container) devices are static. */
int device_monitor_start(Manager *m);
void device_monitor_stop(Manager *m);

/* Re-reads device `name` and announces what changed. */
void device_monitor_refresh(Manager *m, const char *name);

/* Re-reads every device (after SIGHUP): added, removed and changed ones are announced. */
int device_monitor_rescan(Manager *m);
