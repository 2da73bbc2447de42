/* SPDX-License-Identifier: MIT */
/*
 * What list, show and holders share: names from the system's hwdb, flag and
 * size formatting for humans, and the JSON objects of vfioctl(1) (field names
 * there are a stable interface: only ever add).
 */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <systemd/sd-hwdb.h>

#include "vfioc.h"

/* "" for NULL: properties an older vfiod did not send. */
static inline const char *strempty(const char *s)
{
	return s ? s : "";
}

/* The vendor and model names of a PCI device from the hwdb (NULL hwdb or unknown id: NULL).
 * The strings belong to the hwdb. */
const char *pci_vendor_name(sd_hwdb *hwdb, uint16_t vendor);
const char *pci_model_name(sd_hwdb *hwdb, uint16_t vendor, uint16_t device);
/* "Vendor Model", with "Vendor 1234"/"Device 11e8" for unknown ids; "" for non-PCI. Caller frees;
 * NULL only without memory. */
char *device_display_name(sd_hwdb *hwdb, const struct vfioc_device_info *d);

/* "uid=1001 pid=345 unit=app.service", or "-" when free. Caller frees. */
char *holder_to_string(const struct vfioc_holder *h);
/* Comma-separated names of flag bits ("read,write,mmap"), "-" for none; unknown bits as 0x...
 * Caller frees. */
char *region_flags_to_string(uint32_t flags);
char *irq_flags_to_string(uint32_t flags);
char *device_flags_to_string(uint32_t flags);
/* 1048576 -> "1M", 4096 -> "4K", 32 -> "32"; not a multiple -> plain bytes. */
void size_to_string(uint64_t size, char *buf, size_t len);

/* JSON of vfioctl(1). NULL only without memory. with_metadata adds what only show has. */
json_object *holder_to_json(const struct vfioc_holder *h);
json_object *device_to_json(const struct vfioc_device_info *d, sd_hwdb *hwdb, bool with_metadata);
json_object *group_to_json(const struct vfioc_group_info *g);
/* Prints a JSON value, pretty, with a newline. 0 or -EIO. */
int json_print(json_object *o);
