/* SPDX-License-Identifier: MIT */
/*
 * A device's VFIO metadata (regions, IRQs, capabilities), read the first
 * time someone asks or at claim time, and cached until the device or its
 * driver changes. Reading never disturbs a holder: a claimed device is read
 * through the claim's own fd or context, and a device vfiod does not manage
 * is never opened, so no other VFIO user on the host loses its group.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "device.h"

/*
 * Makes d->vfio available: 0 when it is (read now or before), or a negative
 * errno with `error` set to an io.vfiod.Error.* saying why it cannot be read
 * (not bound to vfio-pci, not managed, group open elsewhere, ...). A failure is
 * remembered for the rest of the event loop iteration, so one GetAll() tries
 * once.
 */
int device_load_vfio_info(Device *d, sd_bus_error *error);

/* Caches what a claim read from its own device fd; the device may be unknown. */
void device_cache_vfio_info(Manager *m, const char *name, int device_fd);

/* Drops the cache after a change of the device or its driver. */
void device_forget_vfio_info(Device *d);
