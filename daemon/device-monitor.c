/* SPDX-License-Identifier: MIT */
#include "device-monitor.h"

#include <stdlib.h>
#include <systemd/sd-device.h>

#include "bus-notify.h"
#include "claim.h"
#include "device.h"
#include "log.h"

static size_t devices_in_group(Manager *m, int group)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_devices; i++)
		n += device_iommu_group(m->devices[i]) == group;
	return n;
}

void device_monitor_refresh(Manager *m, const char *name)
{
	Device *d = NULL, *removed = NULL;
	Claim *holder;
	int old_group = -1, r;

	d = device_find(m, name);
	if (d)
		old_group = device_iommu_group(d);
	r = device_registry_update(m, name, &d, &removed);
	if (r < 0) {
		log_warning_errno(r, "Cannot re-read device %s: %m", name);
		return;
	}
	switch (r) {
	case DEVICE_ADDED:
		log_info("Device %s appeared in IOMMU group %d", name, device_iommu_group(d));
		bus_notify_device_added(m, d, devices_in_group(m, device_iommu_group(d)) == 1);
		break;
	case DEVICE_CHANGED:
		log_info("Device %s changed: driver %s, IOMMU group %d", name,
			 device_driver(d) ?: "(none)", device_iommu_group(d));
		bus_notify_device_changed(m, d);
		bus_notify_group_changed(m, device_iommu_group(d));
		if (old_group != device_iommu_group(d))
			bus_notify_group_changed(m, old_group);
		break;
	case DEVICE_REMOVED:
		log_info("Device %s is gone", name);
		holder = manager_find_group_holder(m, device_iommu_group(removed));
		if (holder && claim_find_device(holder, name))
			claim_revoke(holder, name, "the device was removed");
		bus_notify_device_removed(m, removed,
					  !iommu_group_find(m, device_iommu_group(removed)));
		device_free(removed);
		break;
	}
}

static int on_device_event(sd_device_monitor *monitor, sd_device *device, void *userdata)
{
	Manager *m = userdata;
	sd_device_action_t action;
	const char *name;

	if (sd_device_get_sysname(device, &name) < 0 || sd_device_get_action(device, &action) < 0)
		return 0;
	log_debug("udev: %s %s", name,
		  action == SD_DEVICE_ADD      ? "add"
		  : action == SD_DEVICE_REMOVE ? "remove"
		  : action == SD_DEVICE_BIND   ? "bind"
		  : action == SD_DEVICE_UNBIND ? "unbind"
					       : "change");
	device_monitor_refresh(m, name);
	return 0;
}

int device_monitor_start(Manager *m)
{
	int r;

	r = sd_device_monitor_new(&m->device_monitor);
	if (r >= 0)
		r = sd_device_monitor_filter_add_match_subsystem_devtype(m->device_monitor, "pci",
									 NULL);
	if (r >= 0)
		r = sd_device_monitor_filter_add_match_subsystem_devtype(m->device_monitor,
									 "platform", NULL);
	if (r >= 0)
		r = sd_device_monitor_attach_event(m->device_monitor, m->event);
	if (r >= 0)
		r = sd_device_monitor_set_description(m->device_monitor, "device-monitor");
	if (r >= 0)
		r = sd_device_monitor_start(m->device_monitor, on_device_event, m);
	if (r < 0) {
		m->device_monitor = sd_device_monitor_unref(m->device_monitor);
		return log_error_errno(r, "Cannot listen for udev events: %m");
	}
	return 0;
}

void device_monitor_stop(Manager *m)
{
	m->device_monitor = sd_device_monitor_unref(m->device_monitor);
}

int device_monitor_rescan(Manager *m)
{
	PciDeviceInfo *pci = NULL;
	PlatformDeviceInfo *platform = NULL;
	char **names = NULL;
	size_t n_pci = 0, n_platform = 0, n_names = 0;
	int r;

	r = sysfs_enumerate_pci(m->root_fd, &pci, &n_pci);
	if (r < 0)
		return log_warning_errno(r, "Cannot enumerate PCI devices: %m");
	r = sysfs_enumerate_platform(m->root_fd, &platform, &n_platform);
	if (r < 0) {
		log_warning_errno(r, "Cannot enumerate platform devices: %m");
		goto finish;
	}
	/* The names first: refreshing changes m->devices under our feet. */
	names = calloc(m->n_devices + n_pci + n_platform + 1, sizeof(char *));
	if (!names) {
		r = log_oom();
		goto finish;
	}
	for (size_t i = 0; i < m->n_devices + n_pci + n_platform; i++) {
		const char *name = i < m->n_devices ? device_name(m->devices[i])
				   : i < m->n_devices + n_pci
				       ? pci[i - m->n_devices].address
				       : platform[i - m->n_devices - n_pci].name;

		if (i >= m->n_devices && device_find(m, name))
			continue;
		names[n_names] = strdup(name);
		if (!names[n_names++]) {
			r = log_oom();
			goto finish;
		}
	}
	for (size_t i = 0; i < n_names; i++)
		device_monitor_refresh(m, names[i]);
	r = 0;
finish:
	strv_free(names);
	pci_device_info_array_free(pci, n_pci);
	platform_device_info_array_free(platform, n_platform);
	return r;
}
