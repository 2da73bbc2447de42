/* SPDX-License-Identifier: MIT */
/*
 * vfioctl holders: which process holds what. One line per claim (its
 * object, uid, pid, unit, DMA mode and use, groups and devices), from the
 * claim objects and the Holder of the claimed devices (which carries the
 * unit), both from GetManagedObjects().
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "describe.h"
#include "table.h"
#include "vfioctl.h"

static const char usage[] =
    "Usage: vfioctl [--address ADDRESS | --system] holders [--json]\n"
    "\n"
    "Lists the claims vfiod holds for clients: which process (uid, pid, systemd\n"
    "unit) holds which devices and IOMMU groups, with its DMA mode and use.\n"
    "\n"
    "  -j, --json  print a JSON array instead (fields in vfioctl(1))\n"
    "  -h, --help  show this help\n";

/* The Holder of a device of this claim, which knows the unit and cgroup; NULL if none. */
static const struct vfioc_holder *claim_holder(const struct vfioc_claim_info *c,
					       const struct vfioc_device_list *devices)
{
	for (size_t i = 0; i < devices->n_devices; i++) {
		const struct vfioc_holder *h = devices->devices[i]->holder;
		if (h && streq_ptr(h->claim, c->path))
			return h;
	}
	return NULL;
}

static char *joined(const struct vfioc_claim_info *c, bool groups)
{
	char buf[1024] = "";
	size_t len = 0, n = groups ? c->n_groups : c->n_devices;

	for (size_t i = 0; i < n && len < sizeof(buf); i++) {
		if (groups)
			len += snprintf(buf + len, sizeof(buf) - len, "%s%" PRIu32, i ? "," : "",
					c->groups[i]);
		else
			len += snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "",
					c->devices[i]);
	}
	return strdup(n ? buf : "-");
}

static int print_table(const struct vfioc_claim_list *claims,
		       const struct vfioc_device_list *devices)
{
	_cleanup_(table_freep) struct table *t = table_new(8);
	char quota[32], mapped[32];

	if (!t)
		return -ENOMEM;
	table_add(t, "CLAIM");
	table_add(t, "UID");
	table_add(t, "PID");
	table_add(t, "UNIT");
	table_add(t, "DMA");
	table_add(t, "MAPPED/QUOTA");
	table_add(t, "GROUPS");
	table_add(t, "DEVICES");
	for (size_t i = 0; i < claims->n_claims; i++) {
		const struct vfioc_claim_info *c = claims->claims[i];
		const struct vfioc_holder *h = claim_holder(c, devices);
		const char *id = strrchr(c->path, '/');
		char *groups = joined(c, true), *devs = joined(c, false);

		size_to_string(c->dma_quota, quota, sizeof(quota));
		size_to_string(c->dma_mapped, mapped, sizeof(mapped));
		table_add(t, id ? id + 1 : c->path);
		table_addf(t, "%" PRIu32, c->holder_uid);
		table_addf(t, "%" PRIu32, c->holder_pid);
		table_add(t, h && h->unit && *h->unit ? h->unit : "-");
		table_add(t, strempty(c->dma_mode));
		table_addf(t, "%s/%s", mapped, quota);
		table_add(t, groups);
		table_add(t, devs);
		free(groups);
		free(devs);
	}
	return table_print(t, stdout, "");
}

static json_object *claim_to_json(const struct vfioc_claim_info *c, const struct vfioc_holder *h)
{
	json_object *o = json_object_new_object(), *devs = json_object_new_array(),
		    *groups = json_object_new_array();

	if (!o || !devs || !groups) {
		json_object_put(o);
		json_object_put(devs);
		json_object_put(groups);
		return NULL;
	}
	for (size_t i = 0; i < c->n_devices; i++)
		json_object_array_add(devs, json_object_new_string(c->devices[i]));
	for (size_t i = 0; i < c->n_groups; i++)
		json_object_array_add(groups, json_object_new_int64(c->groups[i]));
	json_object_object_add(o, "claim", json_object_new_string(c->path));
	json_object_object_add(o, "uid", json_object_new_int64(c->holder_uid));
	json_object_object_add(o, "pid", json_object_new_int64(c->holder_pid));
	json_object_object_add(o, "unit", h && h->unit ? json_object_new_string(h->unit) : NULL);
	json_object_object_add(o, "cgroup",
			       h && h->cgroup ? json_object_new_string(h->cgroup) : NULL);
	json_object_object_add(o, "dma_mode",
			       c->dma_mode ? json_object_new_string(c->dma_mode) : NULL);
	json_object_object_add(o, "dma_quota", json_object_new_uint64(c->dma_quota));
	json_object_object_add(o, "dma_mapped", json_object_new_uint64(c->dma_mapped));
	json_object_object_add(o, "iommu_groups", groups);
	json_object_object_add(o, "devices", devs);
	return o;
}

static int print_json(const struct vfioc_claim_list *claims,
		      const struct vfioc_device_list *devices)
{
	json_object *a = json_object_new_array();
	int r;

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < claims->n_claims; i++)
		json_object_array_add(
		    a, claim_to_json(claims->claims[i], claim_holder(claims->claims[i], devices)));
	r = json_print(a);
	json_object_put(a);
	return r;
}

int cmd_holders(const struct vfioctl *ctx, int argc, char **argv)
{
	struct vfioc_client *client = NULL;
	struct vfioc_claim_list *claims = NULL;
	struct vfioc_device_list *devices = NULL;
	bool json;
	int r;

	r = read_command_options(argc, argv, usage, &json);
	if (r >= 0)
		return r;
	if (optind < argc) {
		fprintf(stderr,
			"vfioctl: holders takes no arguments. Try 'vfioctl holders --help'.\n");
		return EXIT_USAGE;
	}
	if (vfioctl_connect(ctx, &client) < 0)
		return EXIT_READ_FAILED;
	r = vfioc_list_claims(client, &claims);
	if (r < 0)
		r = vfioctl_call_failed(client, r, "listing the claims");
	else {
		r = vfioc_list_devices(client, &devices);
		if (r < 0)
			r = vfioctl_call_failed(client, r, "listing the devices");
	}
	vfioc_client_free(client);
	if (r > 0)
		goto out;

	r = json ? print_json(claims, devices) : print_table(claims, devices);
	if (r < 0) {
		fprintf(stderr, "vfioctl: cannot print the holders: %s\n", strerror(-r));
		r = EXIT_READ_FAILED;
	}
out:
	vfioc_claim_list_free(claims);
	vfioc_device_list_free(devices);
	return r;
}
