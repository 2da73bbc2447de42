/* SPDX-License-Identifier: MIT */
/*
 * IOMMU group viability, decided from sysfs as the kernel will decide it when
 * the group is attached to a container: every member must be unbound or bound
 * to a driver that manages DMA itself (vfio-pci and its variants, pci-stub,
 * pcieport).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True for vfio-pci and its variant drivers (mlx5_vfio_pci, ...): a device VFIO can hand out. */
bool driver_is_vfio_pci(const char *driver);

/*
 * True when a member bound to `driver` (NULL: unbound) keeps its group viable:
 * vfio-pci, pci-stub, pcieport, names starting with "vfio-" or "vfio_" (the
 * VFIO bus drivers: vfio-platform, vfio-amba, vfio-fsl-mc) and names ending in
 * "_vfio_pci" or "-vfio-pci" (vfio-pci variant drivers such as mlx5_vfio_pci,
 * hisi_acc_vfio_pci). Everything else is a host driver.
 */
bool driver_keeps_group_viable(const char *driver);

/*
 * Returns 0 when group `group` is viable, -EBUSY when it is not, with
 * *ret_reason naming the first offending member and its driver in a sentence a
 * person can act on, e.g. "device 0000:01:02.0 in IOMMU group 7 is bound to
 * host driver e1000 (bind it to vfio-pci or unbind it)". Other negative errno
 * when sysfs cannot be read. *ret_reason is written only for -EBUSY.
 *
 * Members are checked in sorted order and the first offending one is named.
 * A member that is not a PCI device is told to bind "a vfio driver" instead of
 * vfio-pci. A member that vanished between listing the group and reading its
 * driver (hot-unplug) is skipped. ret_reason may be NULL. -ENOENT when the
 * group does not exist, -EINVAL when group is negative.
 */
int iommu_group_check_viable(int root_fd, int group, char **ret_reason);

/* One member of an IOMMU group as sysfs showed it. */
typedef struct GroupMember {
	char *name;
	char *driver; /* NULL: unbound */
	int error;    /* reading the driver failed (-ENODEV: unplugged since the listing) */
} GroupMember;

/*
 * Lists group `group`'s members in sorted order, each with its driver, so that
 * several answers about one group (members, viability) cost one sysfs read.
 * -ENOENT when the group does not exist; the caller frees with
 * group_members_free().
 */
int iommu_group_read_members(int root_fd, int group, GroupMember **ret, size_t *ret_n);
void group_members_free(GroupMember *members, size_t n);

/* iommu_group_check_viable() on members read by iommu_group_read_members(). */
int iommu_group_members_viable(int group, const GroupMember *members, size_t n, char **ret_reason);
