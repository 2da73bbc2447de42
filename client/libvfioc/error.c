/* SPDX-License-Identifier: MIT */
/*
 * The broker's D-Bus error names and the errno values the library reports for
 * them. Keep this table, the comment in vfioc.h and libvfioc(3) in step.
 */
#include "vfioc-private.h"

static const struct {
	const char *name;
	int errnum;
} error_map[] = {
    {VFIOC_ERROR_INVALID_ADDRESS, EINVAL},
    {VFIOC_ERROR_NO_SUCH_DEVICE, ENODEV},
    {VFIOC_ERROR_NOT_VFIO_DEVICE, ENXIO},
    {VFIOC_ERROR_PERMISSION_DENIED, EACCES},
    {VFIOC_ERROR_BUSY, EBUSY},
    {VFIOC_ERROR_GROUP_NOT_VIABLE, EXDEV},
    {VFIOC_ERROR_DMA_MODE_NOT_ALLOWED, EPERM},
    {VFIOC_ERROR_QUOTA_EXCEEDED, EDQUOT},
    {VFIOC_ERROR_BAD_IOVA, ERANGE},
    {VFIOC_ERROR_BAD_MEMFD, EBADFD},
    {VFIOC_ERROR_LIMIT_EXCEEDED, E2BIG},
    {VFIOC_ERROR_INVALID_ARGUMENT, EINVAL},
    {VFIOC_ERROR_FAILED, EIO},
};

int vfioc_error_name_to_errno(const char *name)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(error_map); i++)
		if (streq(error_map[i].name, name))
			return error_map[i].errnum;
	return 0;
}
