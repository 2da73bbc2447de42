/* SPDX-License-Identifier: MIT */
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-objects.h"
#include "claim.h"
#include "device-vfio.h"
#include "devtree.h"
#include "group.h"
#include "vfio-info.h"
#include "log.h"

const char *device_kind_to_string(DeviceKind k)
{
	switch (k) {
	case DEVICE_PCI:
		return "pci";
	case DEVICE_PLATFORM:
		return "platform";
	}
	return NULL;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int device_path_from_name(const char *name, char **ret)
{
	char label[PCI_ADDRESS_MAX], *escaped, *p;
	int r;

	if (pci_address_is_valid(name)) {
		/* DDDD:BB:DD.F -> DDDD_BB_DD_F: readable, and reversible since the form is fixed.
		 */
		strcpy(label, name);
		for (p = label; *p; p++)
			if (*p == ':' || *p == '.')
				*p = '_';
		return asprintf(ret, "%s/pci_%s", BROKER_DEVICE_PREFIX, label) < 0 ? -ENOMEM : 0;
	}
	if (!sysfs_name_is_valid(name))
		return -EINVAL;
	escaped = p = malloc(strlen(name) * 3 + 1);
	if (!escaped)
		return -ENOMEM;
	for (const char *c = name; *c; c++)
		if (is_alnum(*c))
			*p++ = *c;
		else
			p += sprintf(p, "_%02x", (unsigned char)*c);
	*p = 0;
	r = asprintf(ret, "%s/platform_%s", BROKER_DEVICE_PREFIX, escaped) < 0 ? -ENOMEM : 0;
	free(escaped);
	return r;
}

/* Like unhexchar(), but only the lower-case digits the encoder writes, so each name has one path.
 */
static int lower_hexchar(char c)
{
	return (c >= 'A' && c <= 'F') ? -1 : unhexchar(c);
}

/* The inverse of device_path_from_name(); *ret is the caller's. */
static int device_name_from_path(const char *path, char **ret)
{
	const char *label;
	char *name, *p;

	label = startswith(path, BROKER_DEVICE_PREFIX "/pci_");
	if (label) {
		/* Only '_' at the separator positions. */
		if (strlen(label) != PCI_ADDRESS_MAX - 1 || label[4] != '_' || label[7] != '_' ||
		    label[10] != '_')
			return -EINVAL;
		name = strdup(label);
		if (!name)
			return -ENOMEM;
		name[4] = name[7] = ':';
		name[10] = '.';
		if (!pci_address_is_valid(name)) {
			free(name);
			return -EINVAL;
		}
		*ret = name;
		return 0;
	}
	label = startswith(path, BROKER_DEVICE_PREFIX "/platform_");
	if (!label || !*label)
		return -EINVAL;
	name = p = malloc(strlen(label) + 1);
	if (!name)
		return -ENOMEM;
	for (const char *c = label; *c; c++) {
		int hi, lo;

		if (is_alnum(*c)) {
			*p++ = *c;
			continue;
		}
		hi = *c == '_' ? lower_hexchar(c[1]) : -1;
		lo = hi >= 0 ? lower_hexchar(c[2]) : -1;
		/* Only what the encoder writes: an escape for every byte that is not alphanumeric.
		 */
		if (lo < 0 || is_alnum((char)(hi << 4 | lo)) || (hi << 4 | lo) == 0) {
			free(name);
			return -EINVAL;
		}
		*p++ = (char)(hi << 4 | lo);
		c += 2;
	}
	*p = 0;
	*ret = name;
	return 0;
}

static void device_identity_done(DeviceIdentity *id)
{
	pci_device_info_done(&id->pci);
	platform_device_info_done(&id->platform);
}

/* Reads device `name` from sysfs: a PCI device when it is a PCI address, else a platform one. */
static int device_identity_read(int root_fd, const char *name, DeviceIdentity *ret)
{
	*ret = (DeviceIdentity){.kind = pci_address_is_valid(name) ? DEVICE_PCI : DEVICE_PLATFORM};
	if (ret->kind == DEVICE_PCI)
		return sysfs_read_pci_device(root_fd, name, &ret->pci);
	if (!sysfs_name_is_valid(name))
		return -EINVAL;
	return sysfs_read_platform_device(root_fd, name, &ret->platform);
}

static bool device_identity_equal(const DeviceIdentity *a, const DeviceIdentity *b)
{
	const PciDeviceInfo *p = &a->pci, *q = &b->pci;
	const PlatformDeviceInfo *x = &a->platform, *y = &b->platform;

	if (a->kind != b->kind)
		return false;
	if (a->kind == DEVICE_PCI)
		return p->vendor_id == q->vendor_id && p->device_id == q->device_id &&
		       p->subsystem_vendor_id == q->subsystem_vendor_id &&
		       p->subsystem_device_id == q->subsystem_device_id &&
		       p->class_code == q->class_code && streq_ptr(p->driver, q->driver) &&
		       p->iommu_group == q->iommu_group && p->numa_node == q->numa_node;
	if (strv_length(x->compatible) != strv_length(y->compatible))
		return false;
	for (size_t i = 0; x->compatible && x->compatible[i]; i++)
		if (!streq(x->compatible[i], y->compatible[i]))
			return false;
	return streq_ptr(x->driver, y->driver) && streq_ptr(x->of_node, y->of_node) &&
	       x->iommu_group == y->iommu_group && x->numa_node == y->numa_node;
}

/* A device VFIO could ever hand out: one in an IOMMU group. */
static bool device_identity_is_vfio_capable(const DeviceIdentity *id)
{
	return (id->kind == DEVICE_PCI ? id->pci.iommu_group : id->platform.iommu_group) >= 0;
}

bool device_is_bound_to_vfio(const Device *d)
{
	const char *driver = device_driver(d);

	if (d->id.kind == DEVICE_PCI)
		return driver_is_vfio_pci(driver);
	return streq_ptr(driver, "vfio-platform") || streq_ptr(driver, "vfio-amba");
}

/* Drops what was derived from the identity: VFIO metadata and device-tree placement. */
static void device_forget_derived(Device *d)
{
	device_forget_vfio_info(d);
	if (d->dt) {
		dt_device_info_done(d->dt);
		d->dt = mfree(d->dt);
	}
	d->dt_error = mfree(d->dt_error);
}

Device *device_free(Device *d)
{
	if (!d)
		return NULL;
	device_forget_derived(d);
	device_identity_done(&d->id);
	free(d->path);
	free(d);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Device *, device_free)

/* Takes over *id (leaving it empty) on success. */
static int device_new(Manager *m, DeviceIdentity *id, Device **ret)
{
	_cleanup_(device_freep) Device *d = NULL;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->manager = m;
	d->id = *id;
	*id = (DeviceIdentity){0};
	r = device_path_from_name(device_name(d), &d->path);
	if (r < 0) {
		/* Give the identity back, so that the caller's cleanup frees it once. */
		*id = d->id;
		d->id = (DeviceIdentity){0};
		return r;
	}
	*ret = TAKE_PTR(d);
	return 0;
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

static int compare_devices(const void *a, const void *b)
{
	return strcmp(device_name(*(Device *const *)a), device_name(*(Device *const *)b));
}

int device_registry_load(Manager *m)
{
	PciDeviceInfo *pci = NULL;
	PlatformDeviceInfo *platform = NULL;
	Device **devices = NULL;
	size_t n_pci = 0, n_platform = 0, n = 0;
	DeviceIdentity id;
	int r;

	/* sysfs only: enumeration never opens a device. */
	r = sysfs_enumerate_pci(m->root_fd, &pci, &n_pci);
	if (r < 0)
		return log_error_errno(r, "Cannot enumerate PCI devices: %m");
	r = sysfs_enumerate_platform(m->root_fd, &platform, &n_platform);
	if (r < 0) {
		log_error_errno(r, "Cannot enumerate platform devices: %m");
		goto finish;
	}
	devices = calloc(n_pci + n_platform + 1, sizeof(Device *));
	if (!devices) {
		r = -ENOMEM;
		goto finish;
	}
	for (size_t i = 0; i < n_pci + n_platform; i++) {
		id = (DeviceIdentity){.kind = i < n_pci ? DEVICE_PCI : DEVICE_PLATFORM};
		if (i < n_pci)
			id.pci = pci[i], pci[i] = (PciDeviceInfo){0};
		else
			id.platform = platform[i - n_pci],
			platform[i - n_pci] = (PlatformDeviceInfo){0};
		if (!device_identity_is_vfio_capable(&id)) {
			device_identity_done(&id);
			continue;
		}
		r = device_new(m, &id, devices + n);
		device_identity_done(&id);
		if (r < 0)
			goto finish;
		n++;
	}
	qsort(devices, n, sizeof(Device *), compare_devices);
	device_registry_free(m);
	m->devices = TAKE_PTR(devices);
	m->n_devices = n;
	r = device_registry_index_groups(m);
finish:
	for (size_t i = 0; devices && i < n; i++)
		device_free(devices[i]);
	free(devices);
	pci_device_info_array_free(pci, n_pci);
	platform_device_info_array_free(platform, n_platform);
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
	_cleanup_free_ char *name = NULL;

	if (device_name_from_path(path, &name) < 0)
		return NULL;
	return device_find(m, name);
}

int device_registry_update(Manager *m, const char *name, Device **ret, Device **ret_removed)
{
	DeviceIdentity id;
	Device *d, **grown;
	bool found;
	size_t i;
	int r;

	*ret = *ret_removed = NULL;
	i = device_registry_position(m, name, &found);

	r = device_identity_read(m->root_fd, name, &id);
	if (r == -ENODEV || (r >= 0 && !device_identity_is_vfio_capable(&id))) {
		device_identity_done(&id);
		if (!found)
			return DEVICE_UNCHANGED;
		*ret_removed = m->devices[i];
		memmove(m->devices + i, m->devices + i + 1,
			(m->n_devices - i - 1) * sizeof(Device *));
		m->n_devices--;
		r = device_registry_index_groups(m);
		return r < 0 ? r : DEVICE_REMOVED;
	}
	if (r < 0) {
		device_identity_done(&id);
		return r;
	}

	if (found) {
		d = m->devices[i];
		*ret = d;
		if (device_identity_equal(&d->id, &id)) {
			device_identity_done(&id);
			return DEVICE_UNCHANGED;
		}
		device_identity_done(&d->id);
		d->id = id;
		device_forget_derived(d);
		r = device_registry_index_groups(m);
		return r < 0 ? r : DEVICE_CHANGED;
	}

	grown = reallocarray(m->devices, m->n_devices + 1, sizeof(Device *));
	if (!grown) {
		device_identity_done(&id);
		return -ENOMEM;
	}
	m->devices = grown;
	r = device_new(m, &id, &d);
	device_identity_done(&id);
	if (r < 0)
		return r;
	memmove(m->devices + i + 1, m->devices + i, (m->n_devices - i) * sizeof(Device *));
	m->devices[i] = d;
	m->n_devices++;
	*ret = d;
	r = device_registry_index_groups(m);
	return r < 0 ? r : DEVICE_ADDED;
}

void device_policy_device(const Device *d, PolicyDevice *ret)
{
	*ret = (PolicyDevice){
	    .address = device_name(d),
	    .iommu_group = device_iommu_group(d),
	};
	if (d->id.kind == DEVICE_PCI) {
		ret->type = POLICY_DEVICE_PCI;
		ret->vendor_id = d->id.pci.vendor_id;
		ret->device_id = d->id.pci.device_id;
		ret->class_code = d->id.pci.class_code;
	} else {
		ret->type = POLICY_DEVICE_PLATFORM;
		ret->compatible = d->id.platform.compatible;
	}
}

bool device_is_managed(const Device *d)
{
	PolicyDevice pd;

	device_policy_device(d, &pd);
	return d->manager->policy && policy_manages_device(d->manager->policy, &pd);
}

Claim *device_holder(const Device *d)
{
	return manager_find_group_holder(d->manager, device_iommu_group(d));
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
		numbers[i] = device_iommu_group(m->devices[i]);
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
