/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "util.h"

static const char *hwdb_get(sd_hwdb *hwdb, const char *modalias, const char *key)
{
	const char *v = NULL;

	if (!hwdb || sd_hwdb_get(hwdb, modalias, key, &v) < 0 || !v || !*v)
		return NULL;
	return v;
}

const char *pci_vendor_name(sd_hwdb *hwdb, uint16_t vendor)
{
	char modalias[32];

	snprintf(modalias, sizeof(modalias), "pci:v%08X", vendor);
	return hwdb_get(hwdb, modalias, "ID_VENDOR_FROM_DATABASE");
}

const char *pci_model_name(sd_hwdb *hwdb, uint16_t vendor, uint16_t device)
{
	char modalias[32];

	snprintf(modalias, sizeof(modalias), "pci:v%08Xd%08X", vendor, device);
	return hwdb_get(hwdb, modalias, "ID_MODEL_FROM_DATABASE");
}

char *device_display_name(sd_hwdb *hwdb, const struct vfioc_device_info *d)
{
	const char *vendor, *model;
	char vbuf[16], mbuf[16], *s;

	if (!streq(strempty(d->kind), "pci"))
		return strdup("");
	vendor = pci_vendor_name(hwdb, d->vendor_id);
	model = pci_model_name(hwdb, d->vendor_id, d->device_id);
	if (!vendor) {
		snprintf(vbuf, sizeof(vbuf), "Vendor %04x", d->vendor_id);
		vendor = vbuf;
	}
	if (!model) {
		snprintf(mbuf, sizeof(mbuf), "Device %04x", d->device_id);
		model = mbuf;
	}
	return asprintf(&s, "%s %s", vendor, model) < 0 ? NULL : s;
}

char *holder_to_string(const struct vfioc_holder *h)
{
	char *s;

	if (!h)
		return strdup("-");
	if (h->unit && *h->unit)
		return asprintf(&s, "uid=%" PRIu32 " pid=%" PRIu32 " unit=%s", h->uid, h->pid,
				h->unit) < 0
			   ? NULL
			   : s;
	return asprintf(&s, "uid=%" PRIu32 " pid=%" PRIu32, h->uid, h->pid) < 0 ? NULL : s;
}

static char *flags_to_string(uint32_t flags, const char *const *names, size_t n)
{
	char buf[256] = "";
	size_t len = 0;

	for (size_t i = 0; i < 32; i++) {
		if (!(flags & (1u << i)))
			continue;
		if (i < n && names[i])
			len += snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
					names[i]);
		else
			len += snprintf(buf + len, sizeof(buf) - len, "%s0x%x", len ? "," : "",
					1u << i);
		if (len >= sizeof(buf))
			break;
	}
	return strdup(len ? buf : "-");
}

static const char *const region_flag_names[] = {"read", "write", "mmap", "caps"};
static const char *const irq_flag_names[] = {"eventfd", "maskable", "automasked", "noresize"};
static const char *const device_flag_names[] = {"reset", "pci",	   "platform", "amba", "ccw",
						"ap",	 "fsl-mc", "caps",     "cdx"};

char *region_flags_to_string(uint32_t flags)
{
	return flags_to_string(flags, region_flag_names, ELEMENTSOF(region_flag_names));
}

char *irq_flags_to_string(uint32_t flags)
{
	return flags_to_string(flags, irq_flag_names, ELEMENTSOF(irq_flag_names));
}

char *device_flags_to_string(uint32_t flags)
{
	return flags_to_string(flags, device_flag_names, ELEMENTSOF(device_flag_names));
}

void size_to_string(uint64_t size, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	unsigned u = 0;

	if (size < 1024 || size % 1024) {
		snprintf(buf, len, "%" PRIu64, size);
		return;
	}
	size /= 1024;
	while (size >= 1024 && size % 1024 == 0 && u + 1 < sizeof(units) - 1) {
		size /= 1024;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%c", size, units[u]);
}

/* ---- JSON ---- */

static json_object *json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *json_flag_names(uint32_t flags, const char *const *names, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < 32; i++)
		if ((flags & (1u << i)) && i < n && names[i])
			json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

static json_object *json_u16_array(const uint16_t *v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_int(v[i]));
	return a;
}

static json_object *json_strv(const char *const *v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* Sets key; a NULL value (no memory, or a deliberate null) is written as null. */
static void set(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

json_object *holder_to_json(const struct vfioc_holder *h)
{
	json_object *o;

	if (!h)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	set(o, "uid", json_object_new_int64(h->uid));
	set(o, "pid", json_object_new_int64(h->pid));
	set(o, "claim", json_string_or_null(h->claim));
	set(o, "unit", json_string_or_null(h->unit));
	set(o, "cgroup", json_string_or_null(h->cgroup));
	return o;
}

static json_object *dt_source_to_json(const struct vfioc_dt_source *s)
{
	json_object *o;

	if (!s)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	set(o, "node", json_string_or_null(s->node));
	set(o, "property", json_string_or_null(s->property));
	set(o, "entry", json_object_new_int64(s->entry));
	set(o, "name", json_string_or_null(s->name));
	return o;
}

static json_object *region_to_json(const struct vfioc_device_region *g)
{
	json_object *o = json_object_new_object(), *sparse = json_object_new_array();

	if (!o || !sparse) {
		json_object_put(o);
		json_object_put(sparse);
		return NULL;
	}
	for (size_t i = 0; i < g->n_sparse; i++) {
		json_object *a = json_object_new_array();
		if (!a)
			continue;
		json_object_array_add(a, json_object_new_uint64(g->sparse[i]->offset));
		json_object_array_add(a, json_object_new_uint64(g->sparse[i]->size));
		json_object_array_add(sparse, a);
	}
	set(o, "index", json_object_new_int64(g->index));
	set(o, "name", json_string_or_null(g->name));
	set(o, "size", json_object_new_uint64(g->size));
	set(o, "offset", json_object_new_uint64(g->offset));
	set(o, "flags", json_object_new_int64(g->flags));
	set(o, "flag_names",
	    json_flag_names(g->flags, region_flag_names, ELEMENTSOF(region_flag_names)));
	set(o, "absent", json_object_new_boolean(g->absent));
	set(o, "sparse_mmap", json_object_new_boolean(g->sparse_mmap));
	set(o, "sparse", sparse);
	set(o, "type", g->has_type ? json_object_new_int64(g->type) : NULL);
	set(o, "subtype", g->has_type ? json_object_new_int64(g->subtype) : NULL);
	set(o, "type_name", json_string_or_null(g->type_name));
	set(o, "subtype_name", json_string_or_null(g->subtype_name));
	set(o, "msix_mappable", json_object_new_boolean(g->msix_mappable));
	set(o, "caps", json_u16_array(g->caps, g->n_caps));
	set(o, "device_tree", dt_source_to_json(g->dt));
	return o;
}

static json_object *irq_to_json(const struct vfioc_device_irq *q)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	set(o, "index", json_object_new_int64(q->index));
	set(o, "name", json_string_or_null(q->name));
	set(o, "count", json_object_new_int64(q->count));
	set(o, "flags", json_object_new_int64(q->flags));
	set(o, "flag_names", json_flag_names(q->flags, irq_flag_names, ELEMENTSOF(irq_flag_names)));
	set(o, "absent", json_object_new_boolean(q->absent));
	set(o, "device_tree", dt_source_to_json(q->dt));
	return o;
}

static json_object *device_tree_to_json(const struct vfioc_device_info *d)
{
	json_object *o, *res, *irqs;

	if (!d->dt_node || !*d->dt_node)
		return NULL;
	o = json_object_new_object();
	res = json_object_new_array();
	irqs = json_object_new_array();
	if (!o || !res || !irqs) {
		json_object_put(o);
		json_object_put(res);
		json_object_put(irqs);
		return NULL;
	}
	for (size_t i = 0; i < d->n_dt_resources; i++) {
		const struct vfioc_dt_resource *e = d->dt_resources[i];
		json_object *r = json_object_new_object();
		if (!r)
			continue;
		set(r, "node", json_string_or_null(e->node));
		set(r, "property", json_string_or_null(e->property));
		set(r, "entry", json_object_new_int64(e->entry));
		set(r, "name", json_string_or_null(e->name));
		set(r, "translated", json_object_new_boolean(e->translated));
		set(r, "address", json_object_new_uint64(e->address));
		set(r, "size", json_object_new_uint64(e->size));
		json_object_array_add(res, r);
	}
	for (size_t i = 0; i < d->n_dt_interrupts; i++) {
		const struct vfioc_dt_interrupt *e = d->dt_interrupts[i];
		json_object *r = json_object_new_object();
		if (!r)
			continue;
		set(r, "node", json_string_or_null(e->node));
		set(r, "property", json_string_or_null(e->property));
		set(r, "entry", json_object_new_int64(e->entry));
		set(r, "name", json_string_or_null(e->name));
		set(r, "controller", json_string_or_null(e->controller));
		json_object_array_add(irqs, r);
	}
	set(o, "node", json_string_or_null(d->dt_node));
	set(o, "compatible", json_strv(d->compatible, d->n_compatible));
	set(o, "resources", res);
	set(o, "interrupts", irqs);
	set(o, "error", json_string_or_null(d->dt_error));
	return o;
}

json_object *device_to_json(const struct vfioc_device_info *d, sd_hwdb *hwdb, bool with_metadata)
{
	json_object *o = json_object_new_object(), *regions, *irqs;
	bool pci = streq(strempty(d->kind), "pci");

	if (!o)
		return NULL;
	set(o, "name", json_string_or_null(d->name));
	set(o, "path", json_string_or_null(d->path));
	set(o, "kind", json_string_or_null(d->kind));
	set(o, "vendor_id", json_object_new_int(d->vendor_id));
	set(o, "device_id", json_object_new_int(d->device_id));
	set(o, "subsystem_vendor_id", json_object_new_int(d->subsystem_vendor_id));
	set(o, "subsystem_device_id", json_object_new_int(d->subsystem_device_id));
	set(o, "class", json_object_new_int64(d->class_code));
	set(o, "vendor_name",
	    json_string_or_null(pci ? pci_vendor_name(hwdb, d->vendor_id) : NULL));
	set(o, "device_name",
	    json_string_or_null(pci ? pci_model_name(hwdb, d->vendor_id, d->device_id) : NULL));
	set(o, "driver", json_string_or_null(d->driver));
	set(o, "iommu_group", json_object_new_int(d->iommu_group));
	set(o, "numa_node", json_object_new_int(d->numa_node));
	set(o, "managed", json_object_new_boolean(d->managed));
	set(o, "claim_state", json_string_or_null(d->claim_state));
	set(o, "claim",
	    d->claim && !streq(d->claim, "/") ? json_object_new_string(d->claim) : NULL);
	set(o, "holder", holder_to_json(d->holder));
	set(o, "metadata_state", json_string_or_null(d->metadata_state));
	if (!with_metadata)
		return o;

	set(o, "metadata_error", json_string_or_null(d->metadata_error));
	set(o, "device_flags", json_object_new_int64(d->device_flags));
	set(o, "device_flag_names",
	    json_flag_names(d->device_flags, device_flag_names, ELEMENTSOF(device_flag_names)));
	set(o, "reset_supported", json_object_new_boolean(d->reset_supported));
	set(o, "capabilities", json_u16_array(d->capabilities, d->n_capabilities));
	regions = json_object_new_array();
	for (size_t i = 0; regions && i < d->n_regions; i++)
		json_object_array_add(regions, region_to_json(d->regions[i]));
	set(o, "regions", regions);
	irqs = json_object_new_array();
	for (size_t i = 0; irqs && i < d->n_irqs; i++)
		json_object_array_add(irqs, irq_to_json(d->irqs[i]));
	set(o, "irqs", irqs);
	set(o, "device_tree", device_tree_to_json(d));
	return o;
}

json_object *group_to_json(const struct vfioc_group_info *g)
{
	json_object *o = json_object_new_object(), *members = json_object_new_array();

	if (!o || !members) {
		json_object_put(o);
		json_object_put(members);
		return NULL;
	}
	for (size_t i = 0; i < g->n_members; i++) {
		json_object *m = json_object_new_object();
		if (!m)
			continue;
		set(m, "name", json_string_or_null(g->members[i]->name));
		set(m, "driver", json_string_or_null(g->members[i]->driver));
		json_object_array_add(members, m);
	}
	set(o, "number", json_object_new_int64(g->number));
	set(o, "members", members);
	set(o, "viable", json_object_new_boolean(g->viable));
	set(o, "not_viable_reason", json_string_or_null(g->not_viable_reason));
	set(o, "claim",
	    g->claim && !streq(g->claim, "/") ? json_object_new_string(g->claim) : NULL);
	set(o, "holder", holder_to_json(g->holder));
	return o;
}

int json_print(json_object *o)
{
	const char *s = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || puts(s) < 0)
		return -EIO;
	return 0;
}
