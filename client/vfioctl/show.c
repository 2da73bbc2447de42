/* SPDX-License-Identifier: MIT */
/*
 * vfioctl show: everything vfiod knows about devices, like lspci -vv: its
 * Properties.GetAll() (which makes vfiod read the VFIO metadata) and the
 * IOMMU group's members and viability.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "describe.h"
#include "table.h"
#include "vfioctl.h"

static const char usage[] =
    "Usage: vfioctl [--address ADDRESS | --system] show [--json] DEVICE...\n"
    "\n"
    "Shows everything vfiod knows about each DEVICE (a PCI address or a platform\n"
    "device name): identity, driver, holder, IOMMU group and its members, the\n"
    "VFIO regions with flags, sparse areas and capabilities, the IRQs, reset\n"
    "support and, for platform devices, the device-tree placement.\n"
    "\n"
    "  -j, --json  print a JSON array instead (fields in vfioctl(1))\n"
    "  -h, --help  show this help\n";

static void add_list(char *buf, size_t size, const char *item)
{
	size_t len = strlen(buf);
	snprintf(buf + len, size - len, "%s%s", len ? "; " : "", item);
}

static char *region_details(const struct vfioc_device_region *g)
{
	char buf[1024] = "", item[256];

	if (g->absent)
		add_list(buf, sizeof(buf), "absent");
	if (g->sparse_mmap || g->n_sparse > 0) {
		size_t len = snprintf(item, sizeof(item), "sparse");
		for (size_t i = 0; i < g->n_sparse && len < sizeof(item); i++)
			len += snprintf(item + len, sizeof(item) - len, " 0x%" PRIx64 "+0x%" PRIx64,
					g->sparse[i]->offset, g->sparse[i]->size);
		if (g->n_sparse == 0)
			snprintf(item + len, sizeof(item) - len, " (none mappable)");
		add_list(buf, sizeof(buf), item);
	}
	if (g->has_type) {
		snprintf(item, sizeof(item), "type 0x%" PRIx32 "/%" PRIu32 "%s%s%s%s%s", g->type,
			 g->subtype, g->type_name || g->subtype_name ? " (" : "",
			 strempty(g->type_name), g->type_name && g->subtype_name ? " " : "",
			 strempty(g->subtype_name), g->type_name || g->subtype_name ? ")" : "");
		add_list(buf, sizeof(buf), item);
	}
	if (g->msix_mappable)
		add_list(buf, sizeof(buf), "msix-mappable");
	if (g->n_caps > 0) {
		size_t len = snprintf(item, sizeof(item), "caps");
		for (size_t i = 0; i < g->n_caps && len < sizeof(item); i++)
			len += snprintf(item + len, sizeof(item) - len, "%s%u", i ? "," : " ",
					g->caps[i]);
		add_list(buf, sizeof(buf), item);
	}
	if (g->dt) {
		snprintf(item, sizeof(item), "dt %s %s[%" PRIu32 "]%s%s", strempty(g->dt->node),
			 strempty(g->dt->property), g->dt->entry,
			 g->dt->name && *g->dt->name ? " " : "", strempty(g->dt->name));
		add_list(buf, sizeof(buf), item);
	}
	return strdup(buf);
}

static char *irq_details(const struct vfioc_device_irq *q)
{
	char buf[512] = "", item[256];

	if (q->absent)
		add_list(buf, sizeof(buf), "absent");
	if (q->dt) {
		snprintf(item, sizeof(item), "dt %s %s[%" PRIu32 "]%s%s", strempty(q->dt->node),
			 strempty(q->dt->property), q->dt->entry,
			 q->dt->name && *q->dt->name ? " " : "", strempty(q->dt->name));
		add_list(buf, sizeof(buf), item);
	}
	return strdup(buf);
}

static void print_regions(const struct vfioc_device_info *d)
{
	_cleanup_(table_freep) struct table *t = table_new(6);
	char size[32];

	printf("  Regions:\n");
	table_add(t, "INDEX");
	table_add(t, "NAME");
	table_add(t, "SIZE");
	table_add(t, "OFFSET");
	table_add(t, "FLAGS");
	table_add(t, "DETAILS");
	for (size_t i = 0; i < d->n_regions; i++) {
		const struct vfioc_device_region *g = d->regions[i];
		char *flags = region_flags_to_string(g->flags), *details = region_details(g);

		size_to_string(g->size, size, sizeof(size));
		table_addf(t, "%" PRIu32, g->index);
		table_add(t, strempty(g->name));
		table_add(t, size);
		table_addf(t, "0x%" PRIx64, g->offset);
		table_add(t, flags);
		table_add(t, details);
		free(flags);
		free(details);
	}
	table_print(t, stdout, "    ");
}

static void print_irqs(const struct vfioc_device_info *d)
{
	_cleanup_(table_freep) struct table *t = table_new(5);

	printf("  IRQs:\n");
	table_add(t, "INDEX");
	table_add(t, "NAME");
	table_add(t, "COUNT");
	table_add(t, "FLAGS");
	table_add(t, "DETAILS");
	for (size_t i = 0; i < d->n_irqs; i++) {
		const struct vfioc_device_irq *q = d->irqs[i];
		char *flags = irq_flags_to_string(q->flags), *details = irq_details(q);

		table_addf(t, "%" PRIu32, q->index);
		table_add(t, strempty(q->name));
		table_addf(t, "%" PRIu32, q->count);
		table_add(t, flags);
		table_add(t, details);
		free(flags);
		free(details);
	}
	table_print(t, stdout, "    ");
}

static void print_device_tree(const struct vfioc_device_info *d)
{
	_cleanup_(table_freep) struct table *res = table_new(6), *irqs = table_new(4);
	char size[32];

	printf("  Device-tree resources:\n");
	table_add(res, "NODE");
	table_add(res, "ENTRY");
	table_add(res, "NAME");
	table_add(res, "ADDRESS");
	table_add(res, "SIZE");
	table_add(res, "TRANSLATED");
	for (size_t i = 0; i < d->n_dt_resources; i++) {
		const struct vfioc_dt_resource *e = d->dt_resources[i];
		size_to_string(e->size, size, sizeof(size));
		table_add(res, strempty(e->node));
		table_addf(res, "%s[%" PRIu32 "]", strempty(e->property), e->entry);
		table_add(res, e->name && *e->name ? e->name : "-");
		table_addf(res, "0x%" PRIx64, e->address);
		table_add(res, size);
		table_add(res, e->translated ? "yes" : "no");
	}
	table_print(res, stdout, "    ");

	printf("  Device-tree interrupts:\n");
	table_add(irqs, "NODE");
	table_add(irqs, "ENTRY");
	table_add(irqs, "NAME");
	table_add(irqs, "CONTROLLER");
	for (size_t i = 0; i < d->n_dt_interrupts; i++) {
		const struct vfioc_dt_interrupt *e = d->dt_interrupts[i];
		table_add(irqs, strempty(e->node));
		table_addf(irqs, "%s[%" PRIu32 "]", strempty(e->property), e->entry);
		table_add(irqs, e->name && *e->name ? e->name : "-");
		table_add(irqs, strempty(e->controller));
	}
	table_print(irqs, stdout, "    ");
}

static void print_device(const struct vfioc_device_info *d, const struct vfioc_group_info *g,
			 sd_hwdb *hwdb)
{
	_cleanup_(table_freep) struct table *t = table_new(2);
	_cleanup_free_ char *name = device_display_name(hwdb, d);
	_cleanup_free_ char *holder = holder_to_string(d->holder);
	_cleanup_free_ char *flags = device_flags_to_string(d->device_flags);
	bool pci = streq(strempty(d->kind), "pci");
	bool read = streq(strempty(d->metadata_state), "read");

	printf("%s%s%s\n", strempty(d->name), name && *name ? "  " : "", strempty(name));
	table_add(t, "Path:");
	table_add(t, d->path);
	table_add(t, "Kind:");
	table_add(t, strempty(d->kind));
	if (pci) {
		table_add(t, "ID:");
		table_addf(t, "%04x:%04x, subsystem %04x:%04x, class %06x", d->vendor_id,
			   d->device_id, d->subsystem_vendor_id, d->subsystem_device_id,
			   d->class_code);
	}
	table_add(t, "Driver:");
	table_add(t, d->driver && *d->driver ? d->driver : "(none)");
	table_add(t, "NUMA node:");
	table_addf(t, "%d", d->numa_node);
	table_add(t, "Managed:");
	table_add(t, d->managed ? "yes" : "no");
	table_add(t, "Claim state:");
	table_add(t, strempty(d->claim_state));
	table_add(t, "Holder:");
	table_addf(t, "%s%s%s", holder, d->holder ? " claim=" : "",
		   d->holder ? strempty(d->holder->claim) : "");
	table_add(t, "IOMMU group:");
	if (g)
		table_addf(t, "%d, %s%s%s", d->iommu_group, g->viable ? "viable" : "not viable",
			   g->viable ? "" : ": ", g->viable ? "" : strempty(g->not_viable_reason));
	else
		table_addf(t, "%d", d->iommu_group);
	for (size_t i = 0; g && i < g->n_members; i++) {
		table_add(t, i == 0 ? "Group members:" : "");
		table_addf(t, "%s (%s)", strempty(g->members[i]->name),
			   g->members[i]->driver && *g->members[i]->driver ? g->members[i]->driver
									   : "no driver");
	}
	if (d->dt_node && *d->dt_node) {
		table_add(t, "Device-tree node:");
		table_add(t, d->dt_node);
		for (size_t i = 0; i < d->n_compatible; i++) {
			table_add(t, i == 0 ? "Compatible:" : "");
			table_add(t, d->compatible[i]);
		}
	}
	if (d->dt_error && *d->dt_error) {
		table_add(t, "Device-tree error:");
		table_add(t, d->dt_error);
	}
	table_add(t, "Metadata:");
	table_addf(t, "%s%s%s", strempty(d->metadata_state),
		   d->metadata_error && *d->metadata_error ? ": " : "",
		   strempty(d->metadata_error));
	if (read) {
		table_add(t, "Device flags:");
		table_add(t, flags);
		table_add(t, "Reset:");
		table_add(t, d->reset_supported ? "supported" : "not supported");
		table_add(t, "Capabilities:");
		if (d->n_capabilities == 0)
			table_add(t, "-");
		else {
			char buf[256] = "";
			size_t len = 0;
			for (size_t i = 0; i < d->n_capabilities && len < sizeof(buf); i++)
				len += snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? "," : "",
						d->capabilities[i]);
			table_add(t, buf);
		}
	}
	table_print(t, stdout, "  ");
	if (read) {
		print_regions(d);
		print_irqs(d);
	}
	if (d->n_dt_resources > 0 || d->n_dt_interrupts > 0)
		print_device_tree(d);
}

/* Fetches one device and its group; prints the failure. */
static int fetch(struct vfioc_client *client, const char *arg, struct vfioc_device_info **ret_d,
		 struct vfioc_group_info **ret_g)
{
	_cleanup_free_ char *name = canonical_device(arg);
	char what[128];
	int r;

	if (!name)
		return -ENOMEM;
	r = vfioc_get_device(client, name, ret_d);
	if (r == -ENODEV) {
		fprintf(stderr, "vfioctl: vfiod publishes no device %s\n", name);
		return r;
	}
	if (r < 0) {
		snprintf(what, sizeof(what), "%s", name);
		vfioctl_call_failed(client, r, what);
		return r;
	}
	*ret_g = NULL;
	if ((*ret_d)->iommu_group >= 0) {
		r = vfioc_get_group(client, (uint32_t)(*ret_d)->iommu_group, ret_g);
		if (r < 0) {
			snprintf(what, sizeof(what), "IOMMU group %d of %s", (*ret_d)->iommu_group,
				 name);
			vfioctl_call_failed(client, r, what);
			*ret_d = vfioc_device_info_free(*ret_d);
			return r;
		}
	}
	return 0;
}

int cmd_show(const struct vfioctl *ctx, int argc, char **argv)
{
	struct vfioc_client *client = NULL;
	json_object *array = NULL;
	sd_hwdb *hwdb = NULL;
	bool json, failed = false;
	int r;

	r = read_command_options(argc, argv, usage, &json);
	if (r >= 0)
		return r;
	if (optind >= argc) {
		fprintf(stderr, "vfioctl: show needs a DEVICE. Try 'vfioctl show --help'.\n");
		return EXIT_USAGE;
	}
	if (vfioctl_connect(ctx, &client) < 0)
		return EXIT_READ_FAILED;
	if (sd_hwdb_new(&hwdb) < 0)
		hwdb = NULL;
	if (json) {
		array = json_object_new_array();
		if (!array)
			failed = true;
	}

	for (int i = optind; i < argc && !(json && !array); i++) {
		struct vfioc_device_info *d = NULL;
		struct vfioc_group_info *g = NULL;

		if (fetch(client, argv[i], &d, &g) < 0) {
			failed = true;
			continue;
		}
		if (json) {
			json_object *o = device_to_json(d, hwdb, true);
			if (o)
				json_object_object_add(o, "group", g ? group_to_json(g) : NULL);
			if (!o || json_object_array_add(array, o) < 0)
				failed = true;
		} else {
			if (i > optind)
				printf("\n");
			print_device(d, g, hwdb);
		}
		vfioc_group_info_free(g);
		vfioc_device_info_free(d);
	}
	if (array && json_print(array) < 0)
		failed = true;
	json_object_put(array);
	sd_hwdb_unref(hwdb);
	vfioc_client_free(client);
	return failed ? EXIT_READ_FAILED : 0;
}
