/* SPDX-License-Identifier: MIT */
#include "driver-bind.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysfs.h"
#include "util.h"

/* One move: what to write and what to expect afterwards. */
typedef struct DriverMove {
	const char *override; /* driver_override to write; NULL clears it */
	bool probe;	      /* write drivers_probe after the unbind */
	bool any_driver;      /* accept whatever the probe binds but override's driver */
	const char *target;   /* else the driver expected afterwards; NULL: unbound */
} DriverMove;

static void set_reason(char **ret, const char *format, ...) _printf_(2, 3);
static void set_reason(char **ret, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	if (vasprintf(ret, format, ap) < 0)
		*ret = NULL;
	va_end(ap);
}

static const char *driver_or_none(const char *driver)
{
	return driver ?: "no driver";
}

static int unbind_from(int root_fd, const char *address, const char *driver)
{
	char path[NAME_MAX + 32];

	if (snprintf(path, sizeof(path), "drivers/%s/unbind", driver) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return sysfs_pci_bus_write(root_fd, path, address);
}

/*
 * Puts the device back where it was: driver_override `override` and driver
 * `driver` (NULL: unbound). Returns 0 when the driver read back is `driver`;
 * else a negative errno and *ret_reason says what went wrong.
 */
static int roll_back(int root_fd, const char *address, const char *driver, const char *override,
		     char **ret_reason)
{
	_cleanup_free_ char *now = NULL, *now_override = NULL;
	int r;

	r = sysfs_pci_write_attr(root_fd, address, "driver_override", override ?: "\n");
	if (r < 0) {
		set_reason(ret_reason, "cannot reset driver_override: %s", strerror(-r));
		return r;
	}
	r = sysfs_pci_read_binding(root_fd, address, &now, &now_override);
	if (r >= 0 && !streq_ptr(now, driver)) {
		if (now)
			r = unbind_from(root_fd, address, now);
		if (r >= 0 && driver)
			r = sysfs_pci_bus_write(root_fd, "drivers_probe", address);
		now = mfree(now);
		now_override = mfree(now_override);
		if (r >= 0)
			r = sysfs_pci_read_binding(root_fd, address, &now, &now_override);
	}
	if (r < 0) {
		set_reason(ret_reason, "%s", strerror(-r));
		return r;
	}
	if (!streq_ptr(now, driver)) {
		set_reason(ret_reason, "it is on %s", driver_or_none(now));
		return -ENXIO;
	}
	return 0;
}

static int driver_move(int root_fd, const char *address, const DriverMove *move, char **ret_from,
		       char **ret_now, char **ret_reason)
{
	_cleanup_free_ char *from = NULL, *override = NULL, *now = NULL, *now_override = NULL,
			    *rollback_reason = NULL, *step = NULL;
	int r;

	r = sysfs_pci_read_binding(root_fd, address, &from, &override);
	if (r < 0) {
		set_reason(ret_reason, "cannot read the driver of %s: %s", address, strerror(-r));
		return r;
	}
	/* An override vfiod did not write is an admin's decision: leave it to them. */
	if (override && !streq(override, VFIO_PCI_DRIVER)) {
		set_reason(ret_reason,
			   "%s has driver_override=%s, which vfiod did not set; clear it first",
			   address, override);
		return -EBUSY;
	}

	r = sysfs_pci_write_attr(root_fd, address, "driver_override", move->override ?: "\n");
	if (r < 0) {
		/* A failed store changes nothing: there is nothing to roll back. */
		set_reason(ret_reason, "cannot write driver_override of %s: %s", address,
			   strerror(-r));
		return r;
	}
	if (from) {
		r = unbind_from(root_fd, address, from);
		if (r < 0) {
			set_reason(&step, "unbinding it from %s failed: %s", from, strerror(-r));
			goto rollback;
		}
	}
	if (move->probe) {
		r = sysfs_pci_bus_write(root_fd, "drivers_probe", address);
		if (r < 0) {
			set_reason(&step, "drivers_probe failed: %s", strerror(-r));
			goto rollback;
		}
	}
	r = sysfs_pci_read_binding(root_fd, address, &now, &now_override);
	if (r < 0) {
		set_reason(&step, "reading the driver back failed: %s", strerror(-r));
		goto rollback;
	}
	if (move->any_driver ? streq_ptr(now, VFIO_PCI_DRIVER) : !streq_ptr(now, move->target)) {
		r = -ENXIO;
		set_reason(&step, "the kernel left it on %s instead of %s%s", driver_or_none(now),
			   move->any_driver ? "another driver" : driver_or_none(move->target),
			   streq_ptr(move->target, VFIO_PCI_DRIVER)
			       ? " (is the vfio-pci module loaded, and does it accept the device?)"
			       : "");
		goto rollback;
	}

	if (ret_from)
		*ret_from = TAKE_PTR(from);
	if (ret_now)
		*ret_now = TAKE_PTR(now);
	return 0;

rollback:
	if (roll_back(root_fd, address, from, override, &rollback_reason) >= 0)
		set_reason(ret_reason, "%s; rolled back, it is on %s again", step ?: strerror(-r),
			   driver_or_none(from));
	else
		set_reason(ret_reason, "%s; the rollback to %s failed too: %s",
			   step ?: strerror(-r), driver_or_none(from),
			   rollback_reason ?: "out of memory");
	return r;
}

/* The device's driver when it is already where it should be: 1, else 0. */
static int already(int root_fd, const char *address, bool on_vfio, char **ret_driver,
		   char **ret_reason)
{
	_cleanup_free_ char *driver = NULL, *override = NULL;
	int r;

	r = sysfs_pci_read_binding(root_fd, address, &driver, &override);
	if (r < 0) {
		set_reason(ret_reason, "cannot read the driver of %s: %s", address, strerror(-r));
		return r;
	}
	if (streq_ptr(driver, VFIO_PCI_DRIVER) != on_vfio)
		return 0;
	if (ret_driver)
		*ret_driver = TAKE_PTR(driver);
	return 1;
}

int driver_bind_vfio(int root_fd, const char *address, char **ret_previous, char **ret_reason)
{
	static const DriverMove to_vfio = {
	    .override = VFIO_PCI_DRIVER,
	    .probe = true,
	    .target = VFIO_PCI_DRIVER,
	};
	int r;

	r = already(root_fd, address, true, ret_previous, ret_reason);
	if (r != 0)
		return r < 0 ? r : 0;
	return driver_move(root_fd, address, &to_vfio, ret_previous, NULL, ret_reason);
}

int driver_bind_restore(int root_fd, const char *address, const char *driver, bool any_driver,
			char **ret_now, char **ret_reason)
{
	DriverMove to_host = {
	    .probe = any_driver || driver,
	    .any_driver = any_driver,
	    .target = any_driver ? NULL : driver,
	};
	int r;

	r = already(root_fd, address, false, ret_now, ret_reason);
	if (r != 0)
		return r < 0 ? r : 0;
	return driver_move(root_fd, address, &to_host, NULL, ret_now, ret_reason);
}
