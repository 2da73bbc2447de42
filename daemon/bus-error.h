/* SPDX-License-Identifier: MIT */
/* The D-Bus error names of io.vfiod.Broker1 (see io.vfiod.Broker1(5)). */
#pragma once

#include <systemd/sd-bus.h>

#define VFIOD_ERROR_INVALID_ADDRESS	 "io.vfiod.Error.InvalidAddress"
#define VFIOD_ERROR_NO_SUCH_DEVICE	 "io.vfiod.Error.NoSuchDevice"
#define VFIOD_ERROR_NOT_VFIO_DEVICE	 "io.vfiod.Error.NotVfioDevice"
#define VFIOD_ERROR_NOT_MANAGED		 "io.vfiod.Error.NotManaged"
#define VFIOD_ERROR_PERMISSION_DENIED	 "io.vfiod.Error.PermissionDenied"
#define VFIOD_ERROR_BUSY		 "io.vfiod.Error.Busy"
#define VFIOD_ERROR_GROUP_NOT_VIABLE	 "io.vfiod.Error.GroupNotViable"
#define VFIOD_ERROR_DMA_MODE_NOT_ALLOWED "io.vfiod.Error.DmaModeNotAllowed"
#define VFIOD_ERROR_QUOTA_EXCEEDED	 "io.vfiod.Error.QuotaExceeded"
#define VFIOD_ERROR_BAD_IOVA		 "io.vfiod.Error.BadIova"
#define VFIOD_ERROR_BAD_MEMFD		 "io.vfiod.Error.BadMemfd"
#define VFIOD_ERROR_LIMIT_EXCEEDED	 "io.vfiod.Error.LimitExceeded"
#define VFIOD_ERROR_INVALID_ARGUMENT	 "io.vfiod.Error.InvalidArgument"
#define VFIOD_ERROR_FAILED		 "io.vfiod.Error.Failed"
#define VFIOD_ERROR_RESET_UNSUPPORTED	 "io.vfiod.Error.ResetUnsupported"
#define VFIOD_ERROR_INVALID_POLICY	 "io.vfiod.Error.InvalidPolicy"

/* Registers the errno equivalents of the names above with sd-bus; idempotent. */
int bus_error_register_map(void);
