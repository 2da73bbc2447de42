/* SPDX-License-Identifier: MIT */
/*
 * The PCI and IOMMU-group view of sysfs. Everything is read with openat()
 * under a root directory fd ("/" in production, a fixture tree in tests), and
 * nothing here ever opens a device node.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "pci-address.h"

typedef struct PciDeviceInfo {
	char address[PCI_ADDRESS_MAX];
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_device_id;
	uint32_t class_code; /* 24 bits: base class, sub class, programming interface */
	char *driver;        /* bound driver's name, NULL when unbound */
	int iommu_group;     /* -1 when the device is in no IOMMU group */
	int numa_node;       /* -1 when unknown */
} PciDeviceInfo;

/* Frees what info owns and resets it; the struct itself is the caller's. */
void pci_device_info_done(PciDeviceInfo *info);

/* Frees an array returned by sysfs_enumerate_pci(); returns NULL. */
PciDeviceInfo *pci_device_info_array_free(PciDeviceInfo *a, size_t n);

/*
 * Reads <root>/sys/bus/pci/devices/<address>. Returns 0, -EINVAL for an
 * address that is not canonical, -ENODEV when there is no such device, or
 * another negative errno when sysfs cannot be read. *ret is written only on
 * success.
 */
int sysfs_read_pci_device(int root_fd, const char *address, PciDeviceInfo *ret);

/* Every PCI device, sorted by address. Returns 0 or a negative errno. */
int sysfs_enumerate_pci(int root_fd, PciDeviceInfo **ret, size_t *ret_n);

/*
 * Addresses of all members of IOMMU group `group`
 * (<root>/sys/kernel/iommu_groups/<group>/devices), sorted, as a
 * NULL-terminated array the caller frees with strv_free(). Returns 0,
 * -ENOENT when the group does not exist, or another negative errno.
 */
int sysfs_iommu_group_members(int root_fd, int group, char ***ret);
