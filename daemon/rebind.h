/* SPDX-License-Identifier: MIT */
/*
 * Driver rebinding as policy: which devices vfiod moves between their host
 * driver and vfio-pci, when, and what it remembers (driver-bind.h does the
 * sysfs part).
 *
 * Claims. When the rule that grants a device says MayRebind=yes,
 * claim_new() calls rebind_for_claim() before it checks the IOMMU groups. For
 * every group of the claim that is not held, the members that must move are
 * the claimed devices not on vfio-pci and every other member bound to a
 * driver that makes the group not viable (group.h: pcieport, pci-stub and
 * unbound members stay as they are). vfiod moves them only when it may move
 * all of them: each must be a managed PCI device with a rule that grants it to
 * the same client with MayRebind=yes; otherwise the claim fails with
 * GroupNotViable naming the members it may not touch, before anything is
 * written. A group with nothing vfiod may move is left to the usual viability
 * check. When moving one member fails, the members moved so far go back and
 * the claim fails.
 *
 * Release. claim_free() calls rebind_restore_claim() after the scrub, once
 * its own group and device fds are closed: every device rebound for the claim
 * goes back to the driver it had (drivers_probe, checked). vfio-pci's unbind
 * blocks until every fd of the device is closed, so vfiod first opens the
 * group's chardev itself: it can only do that when nobody holds a device fd
 * of the group (device fds keep the group file open), and while it has it
 * open nobody else can get one. When the previous holder still has its fds
 * (it released without closing them, or its exit is not finished yet), the
 * restore is retried every REBIND_RETRY_USEC until it can run; until then no
 * one can claim that group (Busy).
 *
 * Admins. Bind() and Unbind() (rebind_bind(), rebind_unbind()) move one
 * managed, unheld device, whatever the rules say; Bind() remembers the
 * driver the device had, Unbind() restores it (or, when vfiod did not bind
 * the device, lets the kernel choose with drivers_probe). Only the named
 * device moves: binding the rest of its group is the admin's call.
 *
 * Restarts. The devices moved for a claim are part of the claim's record in
 * the fd store (claim-record.h): a claim restored after a restart still moves
 * them back at its end. What Bind() remembers lives in memory only: after a
 * restart, devices it bound stay on vfio-pci and Unbind() lets the kernel
 * choose their driver.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "claim-record.h"
#include "manager.h"
#include "sysfs.h"

#define REBIND_RETRY_USEC (UINT64_C(250) * 1000)
/* Most devices vfiod remembers a driver for (rebound for claims or by Bind()). */
#define REBIND_MAX 4096u

/*
 * Moves what the claim's groups need onto vfio-pci (see above). infos are the
 * claim's n devices as claim_new() read them. Returns 0 (also when nothing
 * needed moving) or a negative errno with a D-Bus error set; on failure
 * nothing has moved.
 */
int rebind_for_claim(Claim *c, Client *client, const PciDeviceInfo *infos, size_t n,
		     sd_bus_error *error);

/* Restores the devices rebound for claim c; call when its fds are closed. */
void rebind_restore_claim(Claim *c);

/*
 * The devices moved to vfio-pci for claim c, for its record: fills up to max
 * entries of ret and returns how many there are (possibly more than max).
 */
size_t rebind_claim_moves(Manager *m, const Claim *c, ClaimRecordMove *ret, size_t max);

/*
 * After a restart: remembers a move recorded for the restored claim c, so
 * that its end moves the device back. Only if the device is still on vfio-pci
 * in that IOMMU group (it may have been moved meanwhile). Returns 1 when
 * remembered, 0 when not, or a negative errno.
 */
int rebind_restore_move(Manager *m, const Claim *c, const ClaimRecordMove *move);

/*
 * Bind(): moves managed device `address` to vfio-pci for client (an admin,
 * already authorized). *ret_previous is the driver it had ("" when unbound,
 * "vfio-pci" when it was there already), the caller's. Returns 0 or a
 * negative errno with a D-Bus error set.
 */
int rebind_bind(Manager *m, Client *client, const char *address, char **ret_previous,
		sd_bus_error *error);

/*
 * Unbind(): moves managed device `address` off vfio-pci, back to the driver
 * vfiod remembered for it, or to the kernel's choice. *ret_now is the driver
 * bound afterwards ("" when none), the caller's.
 */
int rebind_unbind(Manager *m, Client *client, const char *address, char **ret_now,
		  sd_bus_error *error);

/* Forgets everything (at exit); logs the devices left on vfio-pci. */
void rebind_registry_free(Manager *m);
