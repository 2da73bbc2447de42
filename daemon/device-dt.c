/* SPDX-License-Identifier: MIT */
#include "device-dt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int manager_load_devtree(Manager *m)
{
	_cleanup_free_ char *error = NULL;
	int r;

	if (m->devtree)
		return 0;
	if (m->devtree_error)
		return -ENOENT;
	r = devtree_load(m->root_fd, DEVTREE_DEFAULT_PATH, &m->devtree, &error);
	if (r < 0) {
		m->devtree_error = error ? TAKE_PTR(error) : strdup(strerror(-r));
		log_warning("Cannot read the flattened device tree: %s",
			    m->devtree_error ?: strerror(-r));
		return r;
	}
	return 0;
}

int device_load_devtree(Device *d)
{
	Manager *m = d->manager;
	_cleanup_free_ char *error = NULL;
	DtDeviceInfo *info;
	int r;

	if (d->dt)
		return 0;
	if (d->id.kind != DEVICE_PLATFORM || !d->id.platform.of_node)
		return -ENOENT;
	if (d->dt_error)
		return -EBADMSG;
	r = manager_load_devtree(m);
	if (r < 0) {
		d->dt_error =
		    strdup(m->devtree_error ?: "the flattened device tree cannot be read");
		return r;
	}
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	r = devtree_describe(m->devtree, d->id.platform.of_node, info, &error);
	if (r < 0) {
		free(info);
		d->dt_error = error ? TAKE_PTR(error) : strdup(strerror(-r));
		log_warning("%s: %s", device_name(d), d->dt_error ?: strerror(-r));
		return r;
	}
	d->dt = info;
	return 0;
}

/*
 * vfiod does not learn the physical address of a VFIO region from the kernel,
 * so regions are matched in the kernel's order: region i is `reg` entry i of
 * the device's node (what vfio-platform builds them from).
 */
const DtResource *device_dt_region_source(const Device *d, unsigned i)
{
	return d->dt ? devtree_region_source(d->dt, i, NULL) : NULL;
}

const DtInterrupt *device_dt_irq_source(const Device *d, unsigned i)
{
	return d->dt ? devtree_irq_source(d->dt, i) : NULL;
}
