/* SPDX-License-Identifier: MIT */
/*
 * vfioctl list: one line per device vfiod publishes, like lspci. It uses
 * GetManagedObjects() only, so it never makes vfiod open a device.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "describe.h"
#include "table.h"
#include "vfioctl.h"

static const char usage[] =
    "Usage: vfioctl [--address ADDRESS | --system] list [--json]\n"
    "\n"
    "Lists every device vfiod publishes: address, vendor:device, driver, IOMMU\n"
    "group, whether vfiod manages it, its holder, and its name from the hwdb.\n"
    "\n"
    "  -j, --json  print a JSON array instead (fields in vfioctl(1))\n"
    "  -h, --help  show this help\n";

static char *device_id(const struct vfioc_device_info *d)
{
	char *s;

	if (!streq(strempty(d->kind), "pci"))
		return strdup("-");
	return asprintf(&s, "%04x:%04x", d->vendor_id, d->device_id) < 0 ? NULL : s;
}

static int print_table(const struct vfioc_device_list *list, sd_hwdb *hwdb)
{
	_cleanup_(table_freep) struct table *t = table_new(7);

	if (!t)
		return -ENOMEM;
	table_add(t, "ADDRESS");
	table_add(t, "ID");
	table_add(t, "DRIVER");
	table_add(t, "GROUP");
	table_add(t, "MANAGED");
	table_add(t, "HOLDER");
	table_add(t, "NAME");
	for (size_t i = 0; i < list->n_devices; i++) {
		const struct vfioc_device_info *d = list->devices[i];
		char *id = device_id(d), *holder = holder_to_string(d->holder);
		char *name =
		    d->n_compatible > 0 ? strdup(d->compatible[0]) : device_display_name(hwdb, d);

		table_add(t, strempty(d->name));
		table_add(t, id);
		table_add(t, d->driver && *d->driver ? d->driver : "-");
		table_addf(t, "%d", d->iommu_group);
		table_add(t, d->managed ? "yes" : "no");
		table_add(t, holder);
		table_add(t, name);
		free(id);
		free(holder);
		free(name);
	}
	return table_print(t, stdout, "");
}

static int print_json(const struct vfioc_device_list *list, sd_hwdb *hwdb)
{
	json_object *a = json_object_new_array();
	int r;

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < list->n_devices; i++)
		json_object_array_add(a, device_to_json(list->devices[i], hwdb, false));
	r = json_print(a);
	json_object_put(a);
	return r;
}

int cmd_list(const struct vfioctl *ctx, int argc, char **argv)
{
	struct vfioc_client *client = NULL;
	struct vfioc_device_list *list = NULL;
	sd_hwdb *hwdb = NULL;
	bool json;
	int r;

	r = read_command_options(argc, argv, usage, &json);
	if (r >= 0)
		return r;
	if (optind < argc) {
		fprintf(stderr, "vfioctl: list takes no arguments. Try 'vfioctl list --help'.\n");
		return EXIT_USAGE;
	}
	if (vfioctl_connect(ctx, &client) < 0)
		return EXIT_READ_FAILED;
	r = vfioc_list_devices(client, &list);
	if (r < 0) {
		r = vfioctl_call_failed(client, r, "listing the devices");
		vfioc_client_free(client);
		return r;
	}
	vfioc_client_free(client);

	/* Without a hwdb, names fall back to the numeric ids. */
	if (sd_hwdb_new(&hwdb) < 0)
		hwdb = NULL;
	r = json ? print_json(list, hwdb) : print_table(list, hwdb);
	sd_hwdb_unref(hwdb);
	vfioc_device_list_free(list);
	if (r < 0) {
		fprintf(stderr, "vfioctl: cannot print the list: %s\n", strerror(-r));
		return EXIT_READ_FAILED;
	}
	return 0;
}
