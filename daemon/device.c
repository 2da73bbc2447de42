/* SPDX-License-Identifier: MIT */
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-objects.h"
#include "claim.h"
#include "device-vfio.h"
#include "vfio-info.h"
#include "log.h"

const char *device_kind_to_string(DeviceKind k)
{
	switch (k) {
	case DEVICE_PCI:
		return "pci";
	}
	return NULL;
}

int device_path_from_name(const char *name, char **ret)
{
	char label[PCI_ADDRESS_MAX];

	if (!pci_address_is_valid(name))
		return -EINVAL;
	/* DDDD:BB:DD.F -> DDDD_BB_DD_F: readable, and reversible since the form is fixed. */
	strcpy(label, name);
	for (char *p = label; *p; p++)
		if (*p == ':' || *p == '.')
			*p = '_';
	return asprintf(ret, "%s/pci_%s", BROKER_DEVICE_PREFIX, label) < 0 ? -ENOMEM : 0;
}

static int device_name_from_path(const char *path, char ret[static PCI_ADDRESS_MAX])
{
	const char *label = startswith(path, BROKER_DEVICE_PREFIX "/pci_");

	/* The inverse of device_path_from_name(): only '_' at the separator positions. */
	if (!label || strlen(label) != PCI_ADDRESS_MAX - 1 || label[4] != '_' || label[7] != '_' ||
	    label[10] != '_')
		return -EINVAL;
	strcpy(ret, label);
	ret[4] = ':';
	ret[7] = ':';
	ret[10] = '.';
	return pci_address_is_valid(ret) ? 0 : -EINVAL;
}

Device *device_free(Device *d)
{
	if (!d)
		return NULL;
	pci_device_info_done(&d->pci);
	vfio_info_free(d->vfio);
	free(d->vfio_error);
	free(d->path);
	free(d);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Device *, device_free)

/* Takes over *info (leaving it empty) on success. */
static int device_new(Manager *m, PciDeviceInfo *info, Device **ret)
{
	_cleanup_(device_freep) Device *d = NULL;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->manager = m;
	d->kind = DEVICE_PCI;
	r = device_path_from_name(info->address, &d->path);
	if (r < 0)
		return r;
	d->pci = *info;
	*info = (PciDeviceInfo){0};
	*ret = TAKE_PTR(d);
	return 0;
}

/* A device VFIO could ever hand out: one in an IOMMU group. */
static bool device_info_is_vfio_capable(const PciDeviceInfo *info)
{
	return info->iommu_group >= 0;
}

static void iommu_groups_free(IommuGroup **groups, size_t n);
static int device_registry_index_groups(Manager *m);

void device_registry_free(Manager *m)
{
	for (size_t i = 0; i < m->n_devices; i++)
		device_free(m->devices[i]);
	m->devices = mfree(m->devices);
	m->n_devices = 0;
	iommu_groups_free(m->groups, m->n_groups);
	m->groups = NULL;
	m->n_groups = 0;
}

int device_registry_load(Manager *m)
{
	PciDeviceInfo *infos = NULL;
	Device **devices = NULL;
	size_t n = 0, n_devices = 0;
	int r;

	/* sysfs only: enumeration never opens a device. */
	r = sysfs_enumerate_pci(m->root_fd, &infos, &n);
	if (r < 0)
		return log_error_errno(r, "Cannot enumerate PCI devices: %m");
	devices = calloc(n ? n : 1, sizeof(Device *));
	if (!devices) {
		r = -ENOMEM;
		goto finish;
	}
	/* sysfs_enumerate_pci() sorts by address, so the registry is sorted too. */
	for (size_t i = 0; i < n; i++) {
		if (!device_info_is_vfio_capable(infos + i))
			continue;
		r = device_new(m, infos + i, devices + n_devices);
		if (r < 0)
			goto finish;
		n_devices++;
	}
	device_registry_free(m);
	m->devices = TAKE_PTR(devices);
	m->n_devices = n_devices;
	r = device_registry_index_groups(m);
finish:
	for (size_t i = 0; devices && i < n_devices; i++)
		device_free(devices[i]);
	free(devices);
	pci_device_info_array_free(infos, n);
	return r;
}

/* Index of `name` in the registry, or of where it would be inserted (then *found is false). */
static size_t device_registry_position(Manager *m, const char *name, bool *found)
{
	size_t lo = 0, hi = m->n_devices;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(device_name(m->devices[mid]), name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

Device *device_find(Manager *m, const char *name)
{
	bool found;
	size_t i = device_registry_position(m, name, &found);

	return found ? m->devices[i] : NULL;
}

Device *device_find_by_path(Manager *m, const char *path)
{
	char name[PCI_ADDRESS_MAX];

	if (device_name_from_path(path, name) < 0)
		return NULL;
	return device_find(m, name);
}

static bool pci_device_info_equal(const PciDeviceInfo *a, const PciDeviceInfo *b)
{
	return a->vendor_id == b->vendor_id && a->device_id == b->device_id &&
	       a->subsystem_vendor_id == b->subsystem_vendor_id &&
	       a->subsystem_device_id == b->subsystem_device_id && a->class_code == b->class_code &&
	       streq_ptr(a->driver, b->driver) && a->iommu_group == b->iommu_group &&
	       a->numa_node == b->numa_node;
}

int device_registry_update(Manager *m, const char *name, Device **ret, Device **ret_removed)
{
	PciDeviceInfo info = {0};
	Device *d, **grown;
	bool found;
	size_t i;
	int r;

	*ret = *ret_removed = NULL;
	if (!pci_address_is_valid(name))
		return -EINVAL;
	i = device_registry_position(m, name, &found);

	r = sysfs_read_pci_device(m->root_fd, name, &info);
	if (r == -ENODEV || (r >= 0 && !device_info_is_vfio_capable(&info))) {
		pci_device_info_done(&info);
		if (!found)
			return DEVICE_UNCHANGED;
		*ret_removed = m->devices[i];
		memmove(m->devices + i, m->devices + i + 1,
			(m->n_devices - i - 1) * sizeof(Device *));
		m->n_devices--;
		r = device_registry_index_groups(m);
		return r < 0 ? r : DEVICE_REMOVED;
	}
	if (r < 0)
		return r;

	if (found) {
		d = m->devices[i];
		*ret = d;
		if (pci_device_info_equal(&d->pci, &info)) {
			pci_device_info_done(&info);
			return DEVICE_UNCHANGED;
		}
		pci_device_info_done(&d->pci);
		d->pci = info;
		device_forget_vfio_info(d);
		r = device_registry_index_groups(m);
		return r < 0 ? r : DEVICE_CHANGED;
	}

	grown = reallocarray(m->devices, m->n_devices + 1, sizeof(Device *));
	if (!grown) {
		pci_device_info_done(&info);
		return -ENOMEM;
	}
	m->devices = grown;
	r = device_new(m, &info, &d);
	pci_device_info_done(&info);
	if (r < 0)
		return r;
	memmove(m->devices + i + 1, m->devices + i, (m->n_devices - i) * sizeof(Device *));
	m->devices[i] = d;
	m->n_devices++;
	*ret = d;
	r = device_registry_index_groups(m);
	return r < 0 ? r : DEVICE_ADDED;
}

bool device_is_managed(const Device *d)
{
	PolicyDevice pd = {
	    .type = POLICY_DEVICE_PCI,
	    .address = device_name(d),
	    .vendor_id = d->pci.vendor_id,
	    .device_id = d->pci.device_id,
	    .class_code = d->pci.class_code,
	    .iommu_group = d->pci.iommu_group,
	};
	return d->manager->policy && policy_manages_device(d->manager->policy, &pd);
}

Claim *device_holder(const Device *d)
{
	return manager_find_group_holder(d->manager, d->pci.iommu_group);
}

const char *device_claim_state(const Device *d)
{
	Claim *c = device_holder(d);

	if (!c)
		return "free";
	return claim_find_device(c, device_name(d)) ? "claimed" : "group-claimed";
}

static int compare_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void iommu_groups_free(IommuGroup **groups, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(groups[i]);
	free(groups);
}

/* Rebuilds m->groups from the devices; on -ENOMEM the old index stays. */
static int device_registry_index_groups(Manager *m)
{
	_cleanup_free_ int *numbers = NULL;
	IommuGroup **groups;
	size_t n = 0;

	numbers = calloc(m->n_devices ? m->n_devices : 1, sizeof(int));
	if (!numbers)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_devices; i++)
		numbers[i] = m->devices[i]->pci.iommu_group;
	qsort(numbers, m->n_devices, sizeof(int), compare_int);
	for (size_t i = 0; i < m->n_devices; i++)
		if (n == 0 || numbers[n - 1] != numbers[i])
			numbers[n++] = numbers[i];

	groups = calloc(n ? n : 1, sizeof(IommuGroup *));
	if (!groups)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		groups[i] = malloc(sizeof(IommuGroup));
		if (!groups[i]) {
			iommu_groups_free(groups, i);
			return -ENOMEM;
		}
		*groups[i] = (IommuGroup){.manager = m, .number = numbers[i]};
	}
	iommu_groups_free(m->groups, m->n_groups);
	m->groups = groups;
	m->n_groups = n;
	return 0;
}

IommuGroup *iommu_group_find(Manager *m, int number)
{
	size_t lo = 0, hi = m->n_groups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->groups[mid]->number == number)
			return m->groups[mid];
		if (m->groups[mid]->number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
