/* SPDX-License-Identifier: MIT */
/*
 * Moving one PCI device between a host driver and vfio-pci through sysfs
 * (driver_override, drivers/<driver>/unbind, drivers_probe), under the
 * daemon's root fd like every sysfs access (sysfs.h). Every move reads the
 * driver back to check the kernel did what was asked; a move that fails at any
 * step is rolled back to the driver and driver_override the device had, and
 * the reason names the step that failed and where the device is now.
 *
 * These functions are synchronous: the kernel runs the old driver's remove()
 * and the new driver's probe() inside write(2), which takes milliseconds for a
 * NIC and longer for a device that resets itself. vfiod calls them from its
 * event loop on purpose (a claim or an admin asked for exactly this) and does
 * nothing else in the meantime.
 *
 * Neither function looks at IOMMU groups, policy or claims: that is rebind.c.
 */
#pragma once

#include <stdbool.h>

#define VFIO_PCI_DRIVER "vfio-pci"

/*
 * Binds PCI device `address` to vfio-pci: driver_override=vfio-pci, unbind
 * from its driver (if any), drivers_probe, and check that vfio-pci has it.
 * *ret_previous is the driver it left, NULL when it was unbound; ret_previous
 * may be NULL. A device already on vfio-pci is left alone (0, its driver).
 *
 * Returns 0; -EBUSY when driver_override names another driver (someone else's
 * setting: nothing is written); -EINVAL, -ENODEV or -EIO when the device
 * cannot be read; or the errno of the step that failed (-ENXIO when the
 * driver read back is not the one expected) after the rollback. On failure
 * *ret_reason is a sentence for the caller, or NULL on -ENOMEM.
 */
int driver_bind_vfio(int root_fd, const char *address, char **ret_previous, char **ret_reason);

/*
 * Moves PCI device `address` off vfio-pci: clears driver_override, unbinds it
 * from vfio-pci and, unless `driver` is NULL, runs drivers_probe and checks
 * that `driver` came back. With `any_driver`, drivers_probe runs and whatever
 * the kernel binds (or nothing) is accepted but vfio-pci (its ids= or new_id
 * can take the device back); `driver` is ignored then.
 * *ret_now (may be NULL) is the driver bound afterwards, NULL when none.
 * A device not on vfio-pci is left alone (0, its driver).
 *
 * vfio-pci's unbind waits until every fd of the device is closed: the caller
 * makes sure none is open (see rebind.c). Errors as for driver_bind_vfio().
 */
int driver_bind_restore(int root_fd, const char *address, const char *driver, bool any_driver,
			char **ret_now, char **ret_reason);
