/* SPDX-License-Identifier: MIT */
#include "group.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci-address.h"
#include "sysfs.h"
#include "util.h"

static bool endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && streq(s + n - k, suffix);
}

/*
 * The kernel decides with the driver's driver_managed_dma flag; from sysfs we
 * only have the name, so we recognise the drivers that set it:
 * - vfio-pci itself, and the VFIO bus drivers for other buses, whose names
 *   start with "vfio-" (vfio-platform, vfio-amba, vfio-fsl-mc);
 * - the vfio-pci variant drivers, whose driver name is their KBUILD_MODNAME
 *   and so ends in "_vfio_pci" (mlx5_vfio_pci, hisi_acc_vfio_pci,
 *   pds_vfio_pci, virtio_vfio_pci, nvgrace_gpu_vfio_pci, qat_vfio_pci, ...);
 *   the hyphenated spelling "-vfio-pci" and a "vfio_" prefix are accepted as
 *   well in case a driver registers its module name unmangled;
 * - pci-stub and pcieport, which never do DMA on the device's behalf.
 * Being generous costs nothing in safety: the kernel still refuses to attach a
 * group that is not viable (EBUSY), this check only lets us say why earlier.
 */
bool driver_is_vfio_pci(const char *driver)
{
	return driver && (streq(driver, "vfio-pci") || endswith(driver, "_vfio_pci") ||
			  endswith(driver, "-vfio-pci"));
}

bool driver_keeps_group_viable(const char *driver)
{
	if (!driver || driver_is_vfio_pci(driver))
		return true;
	if (streq(driver, "pci-stub") || streq(driver, "pcieport"))
		return true;
	return startswith(driver, "vfio-") || startswith(driver, "vfio_");
}

void group_members_free(GroupMember *members, size_t n)
{
	for (size_t i = 0; members && i < n; i++) {
		free(members[i].name);
		free(members[i].driver);
	}
	free(members);
}

int iommu_group_read_members(int root_fd, int group, GroupMember **ret, size_t *ret_n)
{
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_free_ char **drivers = NULL;
	_cleanup_free_ int *errors = NULL;
	GroupMember *members;
	size_t n;
	int r;

	r = sysfs_iommu_group_members(root_fd, group, &names);
	if (r < 0)
		return r;
	n = strv_length(names);
	drivers = calloc(n ? n : 1, sizeof(char *));
	errors = calloc(n ? n : 1, sizeof(int));
	if (!drivers || !errors)
		return -ENOMEM;
	r = sysfs_iommu_group_member_drivers(root_fd, group, names, n, drivers, errors);
	if (r < 0)
		return r;
	members = calloc(n ? n : 1, sizeof(GroupMember));
	if (!members) {
		for (size_t i = 0; i < n; i++)
			free(drivers[i]);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		members[i] = (GroupMember){
		    .name = TAKE_PTR(names[i]), .driver = drivers[i], .error = errors[i]};
	*ret = members;
	*ret_n = n;
	return 0;
}

int iommu_group_members_viable(int group, const GroupMember *members, size_t n, char **ret_reason)
{
	for (size_t i = 0; i < n; i++) {
		const GroupMember *m = members + i;

		if (m->error == -ENODEV)
			continue; /* unplugged since we listed the group: no longer a member */
		if (m->error < 0)
			return m->error;
		if (driver_keeps_group_viable(m->driver))
			continue;

		if (ret_reason) {
			char *reason;

			if (asprintf(&reason,
				     "device %s in IOMMU group %d is bound to host driver %s "
				     "(bind it to %s or unbind it)",
				     m->name, group, m->driver,
				     pci_address_is_valid(m->name) ? "vfio-pci" : "a vfio driver") <
			    0)
				return -ENOMEM;
			*ret_reason = reason;
		}
		return -EBUSY;
	}
	return 0;
}

int iommu_group_check_viable(int root_fd, int group, char **ret_reason)
{
	GroupMember *members;
	size_t n;
	int r;

	r = iommu_group_read_members(root_fd, group, &members, &n);
	if (r < 0)
		return r;
	r = iommu_group_members_viable(group, members, n, ret_reason);
	group_members_free(members, n);
	return r;
}
