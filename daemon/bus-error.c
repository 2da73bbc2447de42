/* SPDX-License-Identifier: MIT */
#include "bus-error.h"

#include <errno.h>

/* sd_bus_error_setf() returns the errno mapped here, so handlers can log and return it. */
static const sd_bus_error_map vfiod_error_map[] = {
    SD_BUS_ERROR_MAP(VFIOD_ERROR_INVALID_ADDRESS, EINVAL),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_NO_SUCH_DEVICE, ENODEV),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_NOT_VFIO_DEVICE, ENXIO),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_PERMISSION_DENIED, EACCES),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_BUSY, EBUSY),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_GROUP_NOT_VIABLE, EXDEV),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_DMA_MODE_NOT_ALLOWED, EOPNOTSUPP),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_QUOTA_EXCEEDED, EDQUOT),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_BAD_IOVA, ERANGE),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_BAD_MEMFD, EBADF),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_LIMIT_EXCEEDED, E2BIG),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_INVALID_ARGUMENT, EINVAL),
    SD_BUS_ERROR_MAP(VFIOD_ERROR_FAILED, EIO),
    SD_BUS_ERROR_MAP_END,
};

int bus_error_register_map(void)
{
	/* Returns 0 when the map was already registered. */
	int r = sd_bus_error_add_map(vfiod_error_map);
	return r < 0 ? r : 0;
}
