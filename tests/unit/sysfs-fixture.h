/* SPDX-License-Identifier: MIT */
/*
 * A fake sysfs tree under a temporary directory, laid out as Linux 6.12 lays
 * out the real one, for unit tests and benchmarks:
 *
 *   sys/devices/pciDDDD:BB/<address>/{vendor,device,subsystem_vendor,
 *       subsystem_device,class,numa_node,driver_override}
 *   sys/devices/pciDDDD:BB/<address>/driver -> ../../../bus/pci/drivers/<drv>
 *   sys/devices/pciDDDD:BB/<address>/iommu_group -> ../../../kernel/iommu_groups/<n>
 *   sys/devices/pciDDDD:BB/<address>/subsystem -> ../../../bus/pci
 *   sys/bus/pci/devices/<address> -> ../../../devices/pciDDDD:BB/<address>
 *   sys/bus/pci/drivers/<drv>/<address> -> ../../../../devices/pciDDDD:BB/<address>
 *   sys/kernel/iommu_groups/<n>/type ("DMA")
 *   sys/kernel/iommu_groups/<n>/devices/<address> -> ../../../../devices/pciDDDD:BB/<address>
 *
 * and likewise sys/devices/platform/<name> for platform devices, with
 *
 *   sys/devices/platform/<name>/of_node -> ../../../firmware/devicetree/base/<node path>
 *   sys/firmware/fdt (the flattened tree), sys/firmware/devicetree/base/<node path>/<property>
 *
 * for those that come from a device tree. Every device
 * sits directly under its root bus directory (the real tree nests devices
 * behind their bridges); the links have the same shape and number of "../" as
 * the kernel's, which is what readers resolve.
 *
 * `root` is the directory fixture_new() returned; tests open it and pass the fd
 * as the sysfs root. Functions return 0 or a negative errno; a failure may
 * leave a partly built device behind (fixture_free() removes everything).
 * Each call costs a handful of syscalls and no directory scans, so building
 * tens of thousands of devices takes well under a second on tmpfs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Creates an empty tree (sys/devices, sys/bus/{pci,platform}, sys/kernel/iommu_groups) in $TMPDIR.
 */
int fixture_new(char **ret_root);

/* Removes the tree (never following a symlink out of it) and frees root. Returns NULL. */
char *fixture_free(char *root);

/*
 * Adds PCI device `address` (canonical, -EINVAL otherwise; -EEXIST if present).
 * driver NULL: unbound; iommu_group < 0: no IOMMU group; numa_node is written
 * as is (-1: unknown).
 */
int fixture_add_pci_device(const char *root, const char *address, uint16_t vendor, uint16_t device,
			   uint16_t subsystem_vendor, uint16_t subsystem_device,
			   uint32_t class_code, const char *driver, int iommu_group, int numa_node);

/* Rebinds PCI device `address` to `driver` (NULL: unbinds), keeping the driver's back links. */
int fixture_set_driver(const char *root, const char *address, const char *driver);

/* Removes PCI device `address` entirely (hot-unplug): bus, driver and group links and its
 * directory. */
int fixture_remove_pci_device(const char *root, const char *address);

/* Adds platform device `name` (e.g. "ff100000.dma") bound to driver (or NULL) in iommu_group (or <
 * 0). */
int fixture_add_platform_device(const char *root, const char *name, const char *driver,
				int iommu_group);

/*
 * Points platform device `name`'s of_node at the device-tree node dt_path
 * (absolute, e.g. "/soc@ffe000000/sata@220000"; "/" for the root), creating
 * the node's directory under sys/firmware/devicetree/base if there is none.
 */
int fixture_set_of_node(const char *root, const char *name, const char *dt_path);

/*
 * Installs a compiled device tree as the kernel shows the one it booted with:
 * sys/firmware/fdt holds the blob, and sys/firmware/devicetree/base has a
 * directory per node and a file per property (plus `name`, as the kernel adds).
 * -EINVAL for a blob libfdt refuses or names that are not plain path components.
 */
int fixture_add_devicetree(const char *root, const void *dtb, size_t size);

/*
 * Raw edits for malformed trees, `path` relative to root (no leading slash,
 * no ".." component): (over)writes a file, creates a symlink (replacing an
 * existing one), unlinks a file or symlink.
 */
int fixture_write_file(const char *root, const char *path, const char *contents);
int fixture_write_data(const char *root, const char *path, const void *data, size_t size);
int fixture_symlink(const char *root, const char *path, const char *target);
int fixture_unlink(const char *root, const char *path);
