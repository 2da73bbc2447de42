/* SPDX-License-Identifier: MIT */
#include "group.h"

#include <errno.h>
#include <stdio.h>
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

int iommu_group_check_viable(int root_fd, int group, char **ret_reason)
{
	_cleanup_strv_free_ char **members = NULL;
	int r;

	r = sysfs_iommu_group_members(root_fd, group, &members);
	if (r < 0)
		return r;

	for (char **m = members; *m; m++) {
		_cleanup_free_ char *driver = NULL;
		bool pci = pci_address_is_valid(*m);

		r = sysfs_iommu_group_member_driver(root_fd, group, *m, &driver);
		if (r == -ENODEV)
			continue; /* unplugged since we listed the group: no longer a member */
		if (r < 0)
			return r;
		if (driver_keeps_group_viable(driver))
			continue;

		if (ret_reason) {
			char *reason;

			if (asprintf(&reason,
				     "device %s in IOMMU group %d is bound to host driver %s "
				     "(bind it to %s or unbind it)",
				     *m, group, driver, pci ? "vfio-pci" : "a vfio driver") < 0)
				return -ENOMEM;
			*ret_reason = reason;
		}
		return -EBUSY;
	}
	return 0;
}
