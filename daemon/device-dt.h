/* SPDX-License-Identifier: MIT */
/*
 * Where a platform device sits in the device tree: its node, compatible list,
 * and the `reg`/`ranges`/`interrupts` entries its VFIO regions and IRQs come
 * from (devtree.h). The flattened tree (<root>/sys/firmware/fdt) is read once,
 * the first time a device needs it; a device's placement is worked out on
 * first use and cached with the device.
 */
#pragma once

#include "device.h"
#include "devtree.h"

/*
 * d->dt for a device with an of_node: 0 when available, -ENOENT for a device
 * without one (not an error), or a negative errno with d->dt_error saying why
 * (no flattened tree, the node is not in it, a malformed property).
 */
int device_load_devtree(Device *d);

/* The DT source of VFIO region / IRQ index i of d, or NULL (d->dt must be loaded). */
const DtResource *device_dt_region_source(const Device *d, unsigned i);
const DtInterrupt *device_dt_irq_source(const Device *d, unsigned i);
