/* SPDX-License-Identifier: MIT */
/*
 * The PCI, platform and IOMMU-group view of sysfs. Everything is read with
 * openat() under a root directory fd ("/" in production, a fixture tree in
 * tests), and nothing here ever opens a device node.
 *
 * Symlinks are never followed by the kernel on our behalf: the links sysfs
 * uses for devices (sys/bus/pci/devices/<address>,
 * sys/kernel/iommu_groups/<n>/devices/<name>) are read with readlinkat() and
 * resolved lexically. A link target must be relative, must not climb above the
 * root, must lie under sys/devices/ and must end in the entry's own name, or
 * the device is refused (-EXDEV when it leaves the root, -EIO when it does
 * not look like sysfs). The resolved path is then opened one component at a
 * time with O_NOFOLLOW, so a symlink anywhere along it is refused too
 * (-ENOTDIR; an attribute file that is a symlink gives -ELOOP). The
 * `driver` and `iommu_group` links are only readlink()ed: their basename is
 * the driver name or the group number.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pci-address.h"

/* Most entries taken from one sysfs directory (PCI devices, group members). */
#define SYSFS_ENTRIES_MAX 65536

/* Where sysfs shows the live device tree, relative to the root. */
#define SYSFS_DEVICETREE_PATH "sys/firmware/devicetree/base"

typedef struct PciDeviceInfo {
	char address[PCI_ADDRESS_MAX];
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_device_id;
	uint32_t class_code; /* 24 bits: base class, sub class, programming interface */
	char *driver;	     /* bound driver's name, NULL when unbound */
	int iommu_group;     /* -1 when the device is in no IOMMU group */
	int numa_node;	     /* -1 when unknown */
} PciDeviceInfo;

/* Frees what info owns and resets it; the struct itself is the caller's. */
void pci_device_info_done(PciDeviceInfo *info);

/* Frees an array returned by sysfs_enumerate_pci(); returns NULL. */
PciDeviceInfo *pci_device_info_array_free(PciDeviceInfo *a, size_t n);

/*
 * True when s can be used as one path component of a sysfs device name:
 * 1..NAME_MAX bytes of printable ASCII other than space and '/', and neither
 * "." nor "..".
 */
bool sysfs_name_is_valid(const char *s);

/*
 * Reads <root>/sys/bus/pci/devices/<address>. Returns 0, -EINVAL for an
 * address that is not canonical, -ENODEV when there is no such device, or
 * another negative errno when sysfs cannot be read. *ret is written only on
 * success.
 *
 * The attribute files are parsed strictly: vendor, device, subsystem_vendor
 * and subsystem_device must be "0x" and 4 hex digits, class "0x" and 6 hex
 * digits, each optionally followed by one newline; numa_node is decimal
 * (-1 or 0..INT_MAX, no sign or leading zeros otherwise) and its absence
 * (kernels without CONFIG_NUMA) means -1. A missing or malformed attribute, a
 * driver name that is not sysfs_name_is_valid(), or an iommu_group link whose
 * basename is not a decimal group number gives -EIO. A device link that leaves
 * the root gives -EXDEV (see above).
 */
int sysfs_read_pci_device(int root_fd, const char *address, PciDeviceInfo *ret);

/*
 * Every PCI device, sorted by address. Returns 0 or a negative errno; *ret and
 * *ret_n are written only on success, and *ret may be NULL when *ret_n is 0.
 * Free with pci_device_info_array_free().
 *
 * Entries of sys/bus/pci/devices that are not canonical addresses are
 * ignored. More than SYSFS_ENTRIES_MAX addresses give -E2BIG. A device that
 * cannot be read because of its own data (it vanished, a link leaves the root
 * or does not look like sysfs, an attribute is missing or malformed: -ENODEV,
 * -ENOENT, -EXDEV, -ELOOP, -ENOTDIR, -ENAMETOOLONG, -EIO) is left out and the
 * enumeration goes on, so one broken device does not hide the others; any
 * other error (-ENOMEM, -EMFILE, -EACCES, ...) fails the whole enumeration.
 * A tree without sys/bus/pci/devices (a kernel without PCI) has no devices.
 */
int sysfs_enumerate_pci(int root_fd, PciDeviceInfo **ret, size_t *ret_n);

/*
 * Addresses of all members of IOMMU group `group`
 * (<root>/sys/kernel/iommu_groups/<group>/devices), sorted, as a
 * NULL-terminated array the caller frees with strv_free(). Returns 0,
 * -ENOENT when the group does not exist, or another negative errno.
 *
 * Members are names rather than PCI addresses: a group can also hold
 * platform, AMBA or fsl-mc devices, and every member is returned. A member
 * name that is not sysfs_name_is_valid() fails the call with -EIO rather than
 * being skipped, since a caller deciding on the whole group must see every
 * member. More than SYSFS_ENTRIES_MAX members give -E2BIG; a negative group
 * gives -EINVAL.
 */
int sysfs_iommu_group_members(int root_fd, int group, char ***ret);

/*
 * The driver bound to member `name` of IOMMU group `group`: *ret is its name,
 * or NULL when the member is unbound. A member whose name is a PCI address is
 * read through sys/bus/pci/devices/<name>, any other through
 * sys/kernel/iommu_groups/<group>/devices/<name>. Returns 0, -EINVAL for a
 * negative group or a name that is not sysfs_name_is_valid(), -ENODEV when the
 * member is gone (hot-unplug), -EIO for a malformed link, or another negative
 * errno. *ret is written only on success.
 */
int sysfs_iommu_group_member_driver(int root_fd, int group, const char *name, char **ret);

/*
 * sysfs_iommu_group_member_driver() for n members of one group at once, opening
 * the directories they are read through once: ret_drivers[i] (NULL: unbound or
 * failed) and ret_errors[i] (0 or what that call would return) for names[i].
 * Returns 0, or a negative errno (-EINVAL for a negative group, -ENOMEM) with
 * nothing allocated.
 */
int sysfs_iommu_group_member_drivers(int root_fd, int group, char *const *names, size_t n,
				     char **ret_drivers, int *ret_errors);

typedef struct PlatformDeviceInfo {
	char *name;	       /* e.g. "ffe220000.sata" */
	char *driver;	       /* bound driver's name, NULL when unbound */
	char *driver_override; /* NULL when none is set */
	char *of_node;	       /* device-tree node path, e.g. "/soc@ffe000000/sata@220000";
				  NULL for a device that does not come from the device tree */
	char **compatible;     /* the of_node's compatible strings, NULL when it has none */
	int iommu_group;       /* -1 when the device is in no IOMMU group */
	int numa_node;	       /* -1 when unknown */
} PlatformDeviceInfo;

/* Frees what info owns and resets it; the struct itself is the caller's. */
void platform_device_info_done(PlatformDeviceInfo *info);

/* Frees an array returned by sysfs_enumerate_platform(); returns NULL. */
PlatformDeviceInfo *platform_device_info_array_free(PlatformDeviceInfo *a, size_t n);

/*
 * Reads <root>/sys/bus/platform/devices/<name>. Returns 0, -EINVAL for a
 * name that is not sysfs_name_is_valid(), -ENODEV when there is no such
 * device, or another negative errno when sysfs cannot be read. *ret is written
 * only on success.
 *
 * The device link, driver, iommu_group and numa_node are read as for PCI
 * devices (see sysfs_read_pci_device(); numa_node is usually absent for
 * platform devices, -1). driver_override "(null)", empty or absent is NULL, otherwise
 * it must be a valid name (-EIO).
 *
 * of_node is a symlink like the device link: read with readlinkat() and
 * resolved lexically from the device's directory. A target that is absolute or
 * climbs above the root gives -EXDEV; one that is not SYSFS_DEVICETREE_PATH or
 * below it, or that has a component that is not sysfs_name_is_valid(), gives
 * -EIO. The node path is the part after SYSFS_DEVICETREE_PATH ("/" for the
 * directory itself). The node's directory is then opened one component at a
 * time without following symlinks (-ENOTDIR otherwise, -EIO when it does not
 * exist) and its `compatible` file, if any, read: at most 4096 bytes of
 * non-empty, NUL-terminated printable ASCII strings, -EIO otherwise.
 */
int sysfs_read_platform_device(int root_fd, const char *name, PlatformDeviceInfo *ret);

/*
 * The platform devices that are in an IOMMU group (no other can ever be a VFIO
 * device), sorted by name. Returns 0 or a negative errno; *ret and *ret_n are
 * written only on success, and *ret is NULL when *ret_n is 0. Free with
 * platform_device_info_array_free().
 *
 * Entries of sys/bus/platform/devices whose names are not
 * sysfs_name_is_valid() are ignored; more than SYSFS_ENTRIES_MAX give -E2BIG.
 * A device that cannot be read because of its own data is left out, any other
 * error fails the enumeration, as for sysfs_enumerate_pci(). A tree without
 * sys/bus/platform/devices has no devices.
 */
int sysfs_enumerate_platform(int root_fd, PlatformDeviceInfo **ret, size_t *ret_n);

/*
 * Writing the driver-binding files of a PCI device, all under root_fd with the
 * same rules as the readers above (device links resolved lexically, nothing
 * followed out of the root). Each write is one write(2) of the whole value,
 * which is how sysfs wants it; a short write is -EIO. These writes are
 * synchronous: unbinding and probing run the drivers' remove and probe in the
 * kernel before write(2) returns.
 */

/*
 * The driver bound to PCI device `address` (*ret_driver NULL when unbound)
 * and its driver_override (*ret_override NULL when unset or absent). Returns 0,
 * -EINVAL for an address that is not canonical, -ENODEV when there is no such
 * device, -EIO for a malformed link or value; both are written only on success.
 */
int sysfs_pci_read_binding(int root_fd, const char *address, char **ret_driver,
			   char **ret_override);

/* Writes value to attribute `attr` (driver_override, ...) of PCI device `address`. */
int sysfs_pci_write_attr(int root_fd, const char *address, const char *attr, const char *value);

/*
 * Writes value to `path` under sys/bus/pci (e.g. "drivers_probe",
 * "drivers/e1000e/unbind"): plain components only, no symlink followed.
 */
int sysfs_pci_bus_write(int root_fd, const char *path, const char *value);
