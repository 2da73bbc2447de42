/* SPDX-License-Identifier: MIT */
/*
 * Device objects: vfioc_list_devices() from GetManagedObjects(), and
 * vfioc_get_device() from Properties.GetAll(), which makes the broker read
 * the device's VFIO metadata (regions, IRQs, flags) if it has not yet.
 */
#include "pci-address.h"
#include "vfioc-private.h"

#define DEVICE_PREFIX VFIOC_MANAGER_PATH "/device/"

typedef struct vfioc_device_info DeviceInfo;
typedef struct vfioc_device_region Region;
typedef struct vfioc_device_irq Irq;

static void *dt_source_free(void *p)
{
	struct vfioc_dt_source *s = p;

	if (s) {
		free((char *)s->node);
		free((char *)s->property);
		free((char *)s->name);
		free(s);
	}
	return NULL;
}

static void *region_free(void *p)
{
	Region *g = p;

	if (!g)
		return NULL;
	free((char *)g->name);
	ptr_array_free((void *)g->sparse, g->n_sparse, mfree);
	free((char *)g->type_name);
	free((char *)g->subtype_name);
	free((void *)g->caps);
	dt_source_free((void *)g->dt);
	free(g);
	return NULL;
}

static void *irq_free(void *p)
{
	Irq *q = p;

	if (q) {
		free((char *)q->name);
		dt_source_free((void *)q->dt);
		free(q);
	}
	return NULL;
}

static void *dt_resource_free(void *p)
{
	struct vfioc_dt_resource *e = p;

	if (e) {
		free((char *)e->node);
		free((char *)e->property);
		free((char *)e->name);
		free(e);
	}
	return NULL;
}

static void *dt_interrupt_free(void *p)
{
	struct vfioc_dt_interrupt *e = p;

	if (e) {
		free((char *)e->node);
		free((char *)e->property);
		free((char *)e->name);
		free((char *)e->controller);
		free(e);
	}
	return NULL;
}

static void device_info_clear_metadata(DeviceInfo *d)
{
	ptr_array_free((void *)d->regions, d->n_regions, region_free);
	ptr_array_free((void *)d->irqs, d->n_irqs, irq_free);
	free((void *)d->capabilities);
	d->regions = NULL;
	d->irqs = NULL;
	d->capabilities = NULL;
	d->n_regions = d->n_irqs = d->n_capabilities = 0;
}

VFIOC_EXPORT DeviceInfo *vfioc_device_info_free(DeviceInfo *d)
{
	if (!d)
		return NULL;
	free((char *)d->path);
	free((char *)d->name);
	free((char *)d->kind);
	free((char *)d->driver);
	free((char *)d->claim_state);
	free((char *)d->claim);
	holder_free((void *)d->holder);
	free((char *)d->dt_node);
	strv_free((char **)d->compatible);
	ptr_array_free((void *)d->dt_resources, d->n_dt_resources, dt_resource_free);
	ptr_array_free((void *)d->dt_interrupts, d->n_dt_interrupts, dt_interrupt_free);
	free((char *)d->dt_error);
	free((char *)d->metadata_state);
	free((char *)d->metadata_error);
	device_info_clear_metadata(d);
	free(d);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(DeviceInfo *, vfioc_device_info_free)

/* The details a{sv} of a region or IRQ, before they are copied into it. */
struct details {
	bool absent, sparse_mmap, has_type, msix_mappable;
	uint32_t type, subtype, dt_entry;
	const char *type_name, *subtype_name;
	const char *dt_node, *dt_property, *dt_name;
	uint16_t *caps;
	size_t n_caps;
};

static int details_entry(sd_bus_message *m, const char *key, void *userdata)
{
	static const struct {
		const char *key;
		char type;
		size_t offset;
	} basic[] = {
	    {"absent", 'b', offsetof(struct details, absent)},
	    {"sparse-mmap", 'b', offsetof(struct details, sparse_mmap)},
	    {"msix-mappable", 'b', offsetof(struct details, msix_mappable)},
	    {"type", 'u', offsetof(struct details, type)},
	    {"subtype", 'u', offsetof(struct details, subtype)},
	    {"dt-entry", 'u', offsetof(struct details, dt_entry)},
	    {"type-name", 's', offsetof(struct details, type_name)},
	    {"subtype-name", 's', offsetof(struct details, subtype_name)},
	    {"dt-node", 's', offsetof(struct details, dt_node)},
	    {"dt-property", 's', offsetof(struct details, dt_property)},
	    {"dt-name", 's', offsetof(struct details, dt_name)},
	};
	struct details *d = userdata;
	int r;

	if (streq(key, "caps")) {
		r = variant_enter(m, "aq");
		if (r >= 0)
			r = read_number_array(m, 'q', &d->caps, &d->n_caps, VFIOC_MAX_SUBITEMS);
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
		return r < 0 ? r : 1;
	}
	for (size_t i = 0; i < ELEMENTSOF(basic); i++) {
		void *field = (uint8_t *)d + basic[i].offset;
		char sig[2] = {basic[i].type, 0};
		int b;

		if (!streq(key, basic[i].key))
			continue;
		r = variant_enter(m, sig);
		if (r < 0)
			return r;
		if (basic[i].type == 's')
			r = read_strdup(m, 's', field);
		else if (basic[i].type == 'b') {
			r = sd_bus_message_read_basic(m, 'b', &b);
			*(bool *)field = b;
		} else
			r = sd_bus_message_read_basic(m, 'u', field);
		if (r >= 0 && streq(key, "type"))
			d->has_type = true;
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
		return r < 0 ? r : 1;
	}
	return 0;
}

static void details_done(struct details *d)
{
	free((char *)d->type_name);
	free((char *)d->subtype_name);
	free((char *)d->dt_node);
	free((char *)d->dt_property);
	free((char *)d->dt_name);
	free(d->caps);
}

/* Moves the device-tree source out of the details, if there is one. */
static int details_take_dt(struct details *d, const struct vfioc_dt_source **ret)
{
	struct vfioc_dt_source *s;

	if (!d->dt_node)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->node = TAKE_PTR(d->dt_node);
	s->property = TAKE_PTR(d->dt_property);
	s->name = TAKE_PTR(d->dt_name);
	s->entry = d->dt_entry;
	*ret = s;
	return 0;
}

static int read_sparse(sd_bus_message *m, Region *g)
{
	uint64_t offset, size;
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(tt)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(tt)", &offset, &size)) > 0) {
		struct vfioc_sparse_area *a = malloc(sizeof(*a));
		if (!a)
			return -ENOMEM;
		*a = (struct vfioc_sparse_area){.offset = offset, .size = size};
		r = ptr_array_append(&g->sparse, &g->n_sparse, a, VFIOC_MAX_SUBITEMS);
		if (r < 0) {
			free(a);
			return r;
		}
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int read_region(sd_bus_message *m, void *item)
{
	Region *g = item;
	struct details d = {};
	int r;

	r = sd_bus_message_read(m, "u", &g->index);
	if (r >= 0)
		r = read_strdup(m, 's', &g->name);
	if (r >= 0)
		r = sd_bus_message_read(m, "ttu", &g->size, &g->offset, &g->flags);
	if (r >= 0)
		r = read_sparse(m, g);
	if (r >= 0)
		r = dict_foreach(m, details_entry, &d);
	if (r >= 0)
		r = details_take_dt(&d, &g->dt);
	if (r >= 0) {
		g->absent = d.absent;
		g->sparse_mmap = d.sparse_mmap;
		g->has_type = d.has_type;
		g->type = d.type;
		g->subtype = d.subtype;
		g->type_name = TAKE_PTR(d.type_name);
		g->subtype_name = TAKE_PTR(d.subtype_name);
		g->msix_mappable = d.msix_mappable;
		g->caps = TAKE_PTR(d.caps);
		g->n_caps = d.n_caps;
	}
	details_done(&d);
	return r;
}

static int read_irq(sd_bus_message *m, void *item)
{
	Irq *q = item;
	struct details d = {};
	int r;

	r = sd_bus_message_read(m, "u", &q->index);
	if (r >= 0)
		r = read_strdup(m, 's', &q->name);
	if (r >= 0)
		r = sd_bus_message_read(m, "uu", &q->count, &q->flags);
	if (r >= 0)
		r = dict_foreach(m, details_entry, &d);
	if (r >= 0)
		r = details_take_dt(&d, &q->dt);
	if (r >= 0)
		q->absent = d.absent;
	details_done(&d);
	return r;
}

/* Reads an array of structs (signature "(...)"), one item at a time, capped. */
static int read_struct_array(sd_bus_message *m, const char *signature, size_t item_size,
			     int (*read_item)(sd_bus_message *m, void *item),
			     void *(*free_item)(void *), void *array, size_t *n)
{
	char contents[64];
	size_t len = strlen(signature);
	int r;

	if (len < 3 || len - 2 >= sizeof(contents))
		return -EINVAL;
	memcpy(contents, signature + 1, len - 2);
	contents[len - 2] = 0;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, signature);
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, contents)) > 0) {
		void *item = calloc(1, item_size);
		if (!item)
			return -ENOMEM;
		r = read_item(m, item);
		if (r >= 0)
			r = ptr_array_append(array, n, item, VFIOC_MAX_ENTRIES);
		if (r < 0) {
			free_item(item);
			return r;
		}
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int read_regions(sd_bus_message *m, void *obj)
{
	DeviceInfo *d = obj;
	return read_struct_array(m, "(usttua(tt)a{sv})", sizeof(Region), read_region, region_free,
				 &d->regions, &d->n_regions);
}

static int read_irqs(sd_bus_message *m, void *obj)
{
	DeviceInfo *d = obj;
	return read_struct_array(m, "(usuua{sv})", sizeof(Irq), read_irq, irq_free, &d->irqs,
				 &d->n_irqs);
}

static int read_dt_resource(sd_bus_message *m, void *item)
{
	struct vfioc_dt_resource *e = item;
	int translated, r;

	r = read_strdup(m, 's', &e->node);
	if (r >= 0)
		r = read_strdup(m, 's', &e->property);
	if (r >= 0)
		r = sd_bus_message_read(m, "u", &e->entry);
	if (r >= 0)
		r = read_strdup(m, 's', &e->name);
	if (r >= 0)
		r = sd_bus_message_read(m, "btt", &translated, &e->address, &e->size);
	if (r >= 0)
		e->translated = translated;
	return r;
}

static int read_dt_interrupt(sd_bus_message *m, void *item)
{
	struct vfioc_dt_interrupt *e = item;
	int r;

	r = read_strdup(m, 's', &e->node);
	if (r >= 0)
		r = read_strdup(m, 's', &e->property);
	if (r >= 0)
		r = sd_bus_message_read(m, "u", &e->entry);
	if (r >= 0)
		r = read_strdup(m, 's', &e->name);
	if (r >= 0)
		r = read_strdup(m, 's', &e->controller);
	return r;
}

static int read_dt_resources(sd_bus_message *m, void *obj)
{
	DeviceInfo *d = obj;
	return read_struct_array(m, "(ssusbtt)", sizeof(struct vfioc_dt_resource), read_dt_resource,
				 dt_resource_free, &d->dt_resources, &d->n_dt_resources);
}

static int read_dt_interrupts(sd_bus_message *m, void *obj)
{
	DeviceInfo *d = obj;
	return read_struct_array(m, "(ssuss)", sizeof(struct vfioc_dt_interrupt), read_dt_interrupt,
				 dt_interrupt_free, &d->dt_interrupts, &d->n_dt_interrupts);
}

static int read_compatible(sd_bus_message *m, void *obj)
{
	DeviceInfo *d = obj;
	return read_strv(m, 's', &d->compatible, &d->n_compatible, VFIOC_MAX_ENTRIES);
}

static int read_capabilities(sd_bus_message *m, void *obj)
{
	DeviceInfo *d = obj;
	return read_number_array(m, 'q', &d->capabilities, &d->n_capabilities, VFIOC_MAX_SUBITEMS);
}

static int read_device_holder(sd_bus_message *m, void *obj)
{
	DeviceInfo *d = obj;
	return read_holder(m, &d->holder);
}

static const struct prop_spec device_props[] = {
    PROP("Name", "s", DeviceInfo, name),
    PROP("Kind", "s", DeviceInfo, kind),
    PROP("VendorId", "q", DeviceInfo, vendor_id),
    PROP("DeviceId", "q", DeviceInfo, device_id),
    PROP("SubsystemVendorId", "q", DeviceInfo, subsystem_vendor_id),
    PROP("SubsystemDeviceId", "q", DeviceInfo, subsystem_device_id),
    PROP("Class", "u", DeviceInfo, class_code),
    PROP("Driver", "s", DeviceInfo, driver),
    PROP("IommuGroup", "i", DeviceInfo, iommu_group),
    PROP("NumaNode", "i", DeviceInfo, numa_node),
    PROP("Managed", "b", DeviceInfo, managed),
    PROP("ClaimState", "s", DeviceInfo, claim_state),
    PROP("Claim", "o", DeviceInfo, claim),
    PROP_FN("Holder", "a{sv}", read_device_holder),
    PROP("DeviceTreeNode", "s", DeviceInfo, dt_node),
    PROP_FN("Compatible", "as", read_compatible),
    PROP_FN("DeviceTreeResources", "a(ssusbtt)", read_dt_resources),
    PROP_FN("DeviceTreeInterrupts", "a(ssuss)", read_dt_interrupts),
    PROP("DeviceTreeError", "s", DeviceInfo, dt_error),
    PROP("MetadataState", "s", DeviceInfo, metadata_state),
    PROP("MetadataError", "s", DeviceInfo, metadata_error),
    PROP("DeviceFlags", "u", DeviceInfo, device_flags),
    PROP("ResetSupported", "b", DeviceInfo, reset_supported),
    PROP_FN("DeviceCapabilities", "aq", read_capabilities),
    PROP_FN("Regions", "a(usttua(tt)a{sv})", read_regions),
    PROP_FN("Irqs", "a(usuua{sv})", read_irqs),
};

static int device_info_new(const char *path, DeviceInfo **ret)
{
	DeviceInfo *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->path = strdup(path);
	if (!d->path) {
		free(d);
		return -ENOMEM;
	}
	d->iommu_group = -1;
	d->numa_node = -1;
	*ret = d;
	return 0;
}

static int on_device(sd_bus_message *m, const char *path, void *userdata)
{
	struct vfioc_device_list *list = userdata;
	_cleanup_(vfioc_device_info_freep) DeviceInfo *d = NULL;
	int r;

	r = device_info_new(path, &d);
	if (r < 0)
		return r;
	r = props_read(m, device_props, ELEMENTSOF(device_props), d);
	if (r < 0)
		return r;
	r = ptr_array_append(&list->devices, &list->n_devices, d, VFIOC_MAX_OBJECTS);
	if (r < 0)
		return r;
	TAKE_PTR(d);
	return 0;
}

VFIOC_EXPORT struct vfioc_device_list *vfioc_device_list_free(struct vfioc_device_list *list)
{
	if (list) {
		ptr_array_free((void *)list->devices, list->n_devices,
			       (void *(*)(void *))vfioc_device_info_free);
		free(list);
	}
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vfioc_device_list *, vfioc_device_list_free)

static int device_compare(const void *a, const void *b)
{
	const DeviceInfo *x = *(const DeviceInfo *const *)a, *y = *(const DeviceInfo *const *)b;
	return strcmp(x->name ?: x->path, y->name ?: y->path);
}

VFIOC_EXPORT int vfioc_list_devices(struct vfioc_client *client, struct vfioc_device_list **ret)
{
	_cleanup_(vfioc_device_list_freep) struct vfioc_device_list *list = NULL;
	int r;

	if (!client || !ret)
		return -EINVAL;
	list = calloc(1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	r = managed_objects_read(client, VFIOC_DEVICE_INTERFACE, on_device, list);
	if (r < 0)
		return r;
	if (list->n_devices > 0)
		qsort((void *)list->devices, list->n_devices, sizeof(void *), device_compare);
	*ret = TAKE_PTR(list);
	return 0;
}

/* The object path of a device, as io.vfiod.Broker1(5) derives it from the name. */
int device_path_from_name(const char *name, char **ret)
{
	size_t len = strlen(name);
	char *path, *p;

	if (len == 0 || len > 255 || strchr(name, '/'))
		return -EINVAL;
	path = malloc(strlen(DEVICE_PREFIX "platform_") + len * 3 + 1);
	if (!path)
		return -ENOMEM;
	if (pci_address_is_valid(name)) {
		p = stpcpy(stpcpy(path, DEVICE_PREFIX "pci_"), name);
		for (p = path + strlen(DEVICE_PREFIX "pci_"); *p; p++)
			if (*p == ':' || *p == '.')
				*p = '_';
	} else {
		p = stpcpy(path, DEVICE_PREFIX "platform_");
		for (const char *c = name; *c; c++)
			if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9'))
				*p++ = *c;
			else
				p += sprintf(p, "_%02x", (unsigned char)*c);
		*p = 0;
	}
	*ret = path;
	return 0;
}

VFIOC_EXPORT int vfioc_get_device(struct vfioc_client *client, const char *name, DeviceInfo **ret)
{
	_cleanup_(vfioc_device_info_freep) DeviceInfo *d = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	if (!client || !name || !ret)
		return -EINVAL;
	r = device_path_from_name(name, &path);
	if (r < 0)
		return client_errorf(client, r, VFIOC_ERROR_INVALID_ADDRESS,
				     "'%s' is not a device name", name);
	r = device_info_new(path, &d);
	if (r < 0)
		return r;
	r = object_get_all(client, path, VFIOC_DEVICE_INTERFACE, device_props,
			   ELEMENTSOF(device_props), d);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(d);
	return 0;
}
