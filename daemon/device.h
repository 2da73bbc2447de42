/* SPDX-License-Identifier: MIT */
/*
 * The devices vfiod publishes: every device that sits in an IOMMU group, i.e.
 * every device VFIO could ever hand out, whatever driver it is bound to now.
 * The registry is built from sysfs at start (opening no device) and kept up
 * to date from udev events; it is sorted by name for lookups.
 *
 * Object paths are derived from the device name (see io.vfiod.Broker1(5)):
 * PCI 0000:00:02.0 is /io/vfiod/Broker1/device/pci_0000_00_02_0.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager.h"
#include "sysfs.h"

typedef enum DeviceKind {
	DEVICE_PCI,
	DEVICE_PLATFORM,
} DeviceKind;

/* What sysfs says about a device. */
typedef struct DeviceIdentity {
	DeviceKind kind;
	PciDeviceInfo pci;	     /* DEVICE_PCI */
	PlatformDeviceInfo platform; /* DEVICE_PLATFORM */
} DeviceIdentity;

typedef struct VfioInfo VfioInfo;
typedef struct DtDeviceInfo DtDeviceInfo;

typedef struct Device {
	Manager *manager;
	char *path; /* D-Bus object path */
	DeviceIdentity id;

	/* Device-tree placement (platform devices with an of_node): NULL until read. */
	DtDeviceInfo *dt;
	char *dt_error;

	/* VFIO metadata, see device-vfio.h: NULL until read. */
	VfioInfo *vfio;
	char *vfio_error;		/* why the last read failed */
	const char *vfio_error_name;	/* its io.vfiod.Error.* name */
	uint64_t vfio_error_generation; /* manager_dispatch_generation() of that failure */
} Device;

/* The device's name in sysfs: the PCI address, or the platform device's name. */
static inline const char *device_name(const Device *d)
{
	return d->id.kind == DEVICE_PCI ? d->id.pci.address : d->id.platform.name;
}

/* The bound driver, NULL when unbound. */
static inline const char *device_driver(const Device *d)
{
	return d->id.kind == DEVICE_PCI ? d->id.pci.driver : d->id.platform.driver;
}

static inline int device_iommu_group(const Device *d)
{
	return d->id.kind == DEVICE_PCI ? d->id.pci.iommu_group : d->id.platform.iommu_group;
}

static inline int device_numa_node(const Device *d)
{
	return d->id.kind == DEVICE_PCI ? d->id.pci.numa_node : d->id.platform.numa_node;
}

/* True when the bound driver is the VFIO driver of the device's bus. */
bool device_is_bound_to_vfio(const Device *d);

const char *device_kind_to_string(DeviceKind k);

/*
 * The object path of device `name`: pci_DDDD_BB_DD_F for a PCI address,
 * platform_<name> with every byte but [A-Za-z0-9] written as _XX (hex) for a
 * platform device. The caller frees it.
 */
int device_path_from_name(const char *name, char **ret);

/* Reads every device from sysfs into m->devices (and m->groups), replacing what was there. */
int device_registry_load(Manager *m);
void device_registry_free(Manager *m);

Device *device_find(Manager *m, const char *name);
Device *device_find_by_path(Manager *m, const char *path);

/*
 * Re-reads device `name` from sysfs after a udev event. Returns 1 when it was
 * added, 2 when it changed, 3 when it was removed (gone from sysfs or from its
 * IOMMU group), 0 when nothing changed, or a negative errno; *ret is the device
 * (NULL after removal) and, on removal, the caller frees *ret_removed with
 * device_free() once the objects are announced gone.
 */
enum {
	DEVICE_UNCHANGED,
	DEVICE_ADDED,
	DEVICE_CHANGED,
	DEVICE_REMOVED,
};
int device_registry_update(Manager *m, const char *name, Device **ret, Device **ret_removed);

Device *device_free(Device *d);

/* The device as the policy sees it; borrows d's strings. */
void device_policy_device(const Device *d, PolicyDevice *ret);

/* Whether the policy lets vfiod open this device's IOMMU group ([Manage] in vfiod.conf(5)). */
bool device_is_managed(const Device *d);

/* The claim holding this device's IOMMU group, or NULL. */
Claim *device_holder(const Device *d);

/* "free", "claimed" (in a claim's device list) or "group-claimed" (its group is held). */
const char *device_claim_state(const Device *d);

/* An IOMMU group with at least one registered device; m->groups is sorted by number. */
typedef struct IommuGroup {
	Manager *manager;
	int number;
} IommuGroup;

IommuGroup *iommu_group_find(Manager *m, int number);
