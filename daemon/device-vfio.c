/* SPDX-License-Identifier: MIT */
#include "device-vfio.h"

#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "claim.h"
#include "group.h"
#include "log.h"
#include "vfio-info.h"

void device_forget_vfio_info(Device *d)
{
	d->vfio = vfio_info_free(d->vfio);
	d->vfio_error = mfree(d->vfio_error);
	d->vfio_error_name = NULL;
}

static int remember_failure(Device *d, sd_bus_error *error, const char *name, const char *format,
			    ...) _printf_(4, 5);

static int remember_failure(Device *d, sd_bus_error *error, const char *name, const char *format,
			    ...)
{
	va_list ap;
	char *message = NULL;

	va_start(ap, format);
	if (vasprintf(&message, format, ap) < 0)
		message = NULL;
	va_end(ap);
	if (!message)
		return -ENOMEM;
	free(d->vfio_error);
	d->vfio_error = message;
	d->vfio_error_name = name;
	d->vfio_error_generation = manager_dispatch_generation(d->manager);
	return sd_bus_error_set(error, name, message);
}

/*
 * A device fd to read from: the claim's own when the device is claimed, else
 * a new one through the holder's context, else through a context of our own
 * that lives only for this read (*ret_context).
 */
static int device_open_for_reading(Device *d, VfioContext **ret_context, int *ret_fd,
				   bool *ret_borrowed, sd_bus_error *error)
{
	Manager *m = d->manager;
	Claim *holder = device_holder(d);
	int group = device_iommu_group(d), r;

	*ret_context = NULL;
	*ret_borrowed = false;
	if (holder) {
		ClaimDevice *cd = claim_find_device(holder, device_name(d));
		if (cd && cd->fd >= 0) {
			*ret_fd = cd->fd;
			*ret_borrowed = true;
			return 0;
		}
		r = m->backend->open_device(holder->context, group, device_name(d), ret_fd);
		if (r < 0)
			return remember_failure(d, error, VFIOD_ERROR_FAILED,
						"Cannot open %s through its holder's context: %s",
						device_name(d), strerror(-r));
		return 0;
	}

	r = m->backend->context_new(m->dev_fd, ret_context);
	if (r < 0)
		return remember_failure(d, error, VFIOD_ERROR_FAILED,
					"Cannot create a VFIO context (%s back end): %s",
					m->backend->name, strerror(-r));
	r = m->backend->attach_group(*ret_context, group);
	if (r == -EBUSY)
		return remember_failure(
		    d, error, VFIOD_ERROR_BUSY,
		    "IOMMU group %d is open elsewhere (another VFIO user on this "
		    "host), so vfiod cannot read %s now.",
		    group, device_name(d));
	if (r == -EXDEV)
		return remember_failure(d, error, VFIOD_ERROR_GROUP_NOT_VIABLE,
					"IOMMU group %d is not viable, so VFIO cannot open %s.",
					group, device_name(d));
	if (r >= 0)
		r = m->backend->open_device(*ret_context, group, device_name(d), ret_fd);
	if (r < 0)
		return remember_failure(d, error, VFIOD_ERROR_FAILED, "Cannot open %s: %s",
					device_name(d), strerror(-r));
	return 0;
}

int device_load_vfio_info(Device *d, sd_bus_error *error)
{
	Manager *m = d->manager;
	VfioContext *context = NULL;
	_cleanup_free_ char *reason = NULL;
	bool borrowed;
	int fd = -EBADF, r;

	if (d->vfio)
		return 0;
	if (d->vfio_error && d->vfio_error_generation == manager_dispatch_generation(m))
		return sd_bus_error_set(error, d->vfio_error_name, d->vfio_error);

	if (!device_is_bound_to_vfio(d))
		return remember_failure(d, error, VFIOD_ERROR_NOT_VFIO_DEVICE,
					"%s is %s%s, not to a VFIO driver: only VFIO can tell its "
					"regions and IRQs.",
					device_name(d),
					device_driver(d) ? "bound to " : "not bound",
					device_driver(d) ?: "");
	if (!device_is_managed(d))
		return remember_failure(d, error, VFIOD_ERROR_NOT_MANAGED,
					"vfiod does not manage %s (see [Manage] in vfiod.conf(5)), "
					"so it never opens its IOMMU group.",
					device_name(d));
	/* Checked before opening, so that the kernel is not asked for a group it refuses. */
	r = iommu_group_check_viable(m->root_fd, device_iommu_group(d), &reason);
	if (r == -EBUSY)
		return remember_failure(d, error, VFIOD_ERROR_GROUP_NOT_VIABLE,
					"IOMMU group %d is not viable: %s.", device_iommu_group(d),
					reason);

	r = device_open_for_reading(d, &context, &fd, &borrowed, error);
	if (r >= 0) {
		r = vfio_info_read(fd, &d->vfio);
		if (r < 0)
			r = remember_failure(d, error, VFIOD_ERROR_FAILED,
					     "Cannot read the VFIO information of %s: %s",
					     device_name(d), strerror(-r));
	}
	if (!borrowed)
		safe_close(fd);
	m->backend->context_free(context);
	if (r < 0)
		return r;
	d->vfio_error = mfree(d->vfio_error);
	log_debug("Read the VFIO information of %s: %zu region(s), %zu IRQ index(es)",
		  device_name(d), d->vfio->n_regions, d->vfio->n_irqs);
	return 0;
}

void device_cache_vfio_info(Manager *m, const char *name, int device_fd)
{
	Device *d = device_find(m, name);
	int r;

	if (!d || d->vfio)
		return;
	r = vfio_info_read(device_fd, &d->vfio);
	if (r < 0)
		log_warning_errno(r, "Cannot read the VFIO information of %s: %m", name);
}
