/* SPDX-License-Identifier: MIT */
/* io.vfiod.Broker1.Device on /io/vfiod/Broker1/device/<label>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-objects.h"
#include "claim.h"
#include "device.h"
#include "device-dt.h"
#include "device-vfio.h"
#include "vfio-device.h"
#include "vfio-info.h"
#include "log.h"
#include "util.h"

static int device_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
			      void **ret_found, sd_bus_error *error)
{
	Device *d = device_find_by_path(userdata, path);

	if (!d)
		return 0;
	*ret_found = d;
	return 1;
}

static int device_node_enumerator(sd_bus *bus, const char *prefix, void *userdata, char ***ret,
				  sd_bus_error *error)
{
	Manager *m = userdata;
	_cleanup_strv_free_ char **l = NULL;

	l = calloc(m->n_devices + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_devices; i++) {
		l[i] = strdup(m->devices[i]->path);
		if (!l[i])
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

static int property_get_name(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", device_name(userdata));
}

static int property_get_kind(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	Device *d = userdata;
	return sd_bus_message_append(reply, "s", device_kind_to_string(d->id.kind));
}

static int property_get_driver(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	Device *d = userdata;
	return sd_bus_message_append(reply, "s", device_driver(d) ?: "");
}

static int property_get_int(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	Device *d = userdata;
	return sd_bus_message_append(
	    reply, "i", streq(property, "NumaNode") ? device_numa_node(d) : device_iommu_group(d));
}

static int property_get_dt_node(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	Device *d = userdata;
	const char *node = d->id.kind == DEVICE_PLATFORM ? d->id.platform.of_node : NULL;
	return sd_bus_message_append(reply, "s", node ?: "");
}

static int property_get_compatible(sd_bus *bus, const char *path, const char *interface,
				   const char *property, sd_bus_message *reply, void *userdata,
				   sd_bus_error *error)
{
	Device *d = userdata;
	return sd_bus_message_append_strv(
	    reply, d->id.kind == DEVICE_PLATFORM ? d->id.platform.compatible : NULL);
}

/* Every candidate resource and interrupt of the node, as devtree_describe() found them. */
static int property_get_dt_entries(sd_bus *bus, const char *path, const char *interface,
				   const char *property, sd_bus_message *reply, void *userdata,
				   sd_bus_error *error)
{
	Device *d = userdata;
	bool resources = streq(property, "DeviceTreeResources");
	int r;

	(void)device_load_devtree(d);
	r = sd_bus_message_open_container(reply, 'a', resources ? "(ssusbtt)" : "(ssuss)");
	for (size_t i = 0; r >= 0 && d->dt && resources && i < d->dt->n_resources; i++) {
		const DtResource *e = d->dt->resources + i;
		r = sd_bus_message_append(reply, "(ssusbtt)", e->node,
					  dt_property_to_string(e->property), e->index,
					  e->name ?: "", e->translated, e->address, e->size);
	}
	for (size_t i = 0; r >= 0 && d->dt && !resources && i < d->dt->n_interrupts; i++) {
		const DtInterrupt *e = d->dt->interrupts + i;
		r = sd_bus_message_append(reply, "(ssuss)", e->node,
					  dt_property_to_string(e->property), e->index,
					  e->name ?: "", e->controller);
	}
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_dt_error(sd_bus *bus, const char *path, const char *interface,
				 const char *property, sd_bus_message *reply, void *userdata,
				 sd_bus_error *error)
{
	Device *d = userdata;

	(void)device_load_devtree(d);
	return sd_bus_message_append(reply, "s", d->dt_error ?: "");
}

static int property_get_group(sd_bus *bus, const char *path, const char *interface,
			      const char *property, sd_bus_message *reply, void *userdata,
			      sd_bus_error *error)
{
	Device *d = userdata;
	_cleanup_free_ char *group_path = NULL;
	int r;

	r = bus_group_path(device_iommu_group(d), &group_path);
	if (r < 0)
		return r;
	return sd_bus_message_append(reply, "o", group_path);
}

static int property_get_claim_state(sd_bus *bus, const char *path, const char *interface,
				    const char *property, sd_bus_message *reply, void *userdata,
				    sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", device_claim_state(userdata));
}

static int property_get_claim(sd_bus *bus, const char *path, const char *interface,
			      const char *property, sd_bus_message *reply, void *userdata,
			      sd_bus_error *error)
{
	Claim *c = device_holder(userdata);
	return sd_bus_message_append(reply, "o", c ? c->path : "/");
}

static int property_get_managed(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	return sd_bus_message_append(reply, "b", device_is_managed(userdata));
}

static int property_get_holder(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	return bus_append_holder(reply, device_holder(userdata));
}

/*
 * The VFIO metadata is read lazily, only when someone asks about this very
 * object (Get, GetAll): a GetManagedObjects() of the whole tree, or the
 * properties carried by a signal, show what is cached and open nothing.
 */
static bool asked_directly(sd_bus *bus)
{
	sd_bus_message *m = sd_bus_get_current_message(bus);

	return m && streq_ptr(sd_bus_message_get_interface(m), "org.freedesktop.DBus.Properties") &&
	       (streq_ptr(sd_bus_message_get_member(m), "Get") ||
		streq_ptr(sd_bus_message_get_member(m), "GetAll"));
}

/*
 * The cached metadata, read first when asked directly. A failed read is an
 * error for a Get() of the property itself and an empty value otherwise (the
 * reason is in MetadataError), so that GetAll() always works.
 */
static int device_vfio(Device *d, sd_bus *bus, const char *property, sd_bus_error *error,
		       VfioInfo **ret)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = sd_bus_get_current_message(bus);
	int r;

	*ret = d->vfio;
	if (d->vfio || !asked_directly(bus))
		return 0;
	r = device_load_vfio_info(d, &e);
	if (r < 0 && streq_ptr(sd_bus_message_get_member(m), "Get")) {
		sd_bus_error_move(error, &e);
		return r;
	}
	sd_bus_error_free(&e);
	*ret = d->vfio;
	return 0;
}

/* The DT source of a region or IRQ as details: dt-node, dt-property, dt-entry, dt-name. */
static int append_dt_source(sd_bus_message *reply, const char *node, DtProperty property,
			    unsigned index, const char *name)
{
	int r;

	r = sd_bus_message_append(reply, "{sv}{sv}{sv}", "dt-node", "s", node, "dt-property", "s",
				  dt_property_to_string(property), "dt-entry", "u", index);
	if (r >= 0 && name)
		r = sd_bus_message_append(reply, "{sv}", "dt-name", "s", name);
	return r;
}

static int append_region(sd_bus_message *reply, const Device *d, const VfioRegion *region)
{
	const DtResource *source = device_dt_region_source(d, region->index);
	char buf[VFIO_REGION_NAME_MAX];
	const VfioRegionCaps *caps = &region->caps;
	const char *name;
	int r;

	r = sd_bus_message_open_container(reply, 'r', "usttua(tt)a{sv}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "usttu", region->index,
					  vfio_region_name(region, d->id.kind == DEVICE_PCI, buf),
					  region->size, region->offset, region->flags);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(tt)");
	for (size_t i = 0; r >= 0 && i < caps->n_sparse; i++)
		r = sd_bus_message_append(reply, "(tt)", caps->sparse[i].offset,
					  caps->sparse[i].size);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r >= 0 && region->absent)
		r = sd_bus_message_append(reply, "{sv}", "absent", "b", 1);
	if (r >= 0 && caps->has_sparse)
		r = sd_bus_message_append(reply, "{sv}", "sparse-mmap", "b", 1);
	if (r >= 0 && caps->has_type) {
		r = sd_bus_message_append(reply, "{sv}{sv}", "type", "u", caps->type, "subtype",
					  "u", caps->subtype);
		name = vfio_region_type_name(caps->type);
		if (r >= 0 && name)
			r = sd_bus_message_append(reply, "{sv}", "type-name", "s", name);
		name = vfio_region_subtype_name(caps->type, caps->subtype);
		if (r >= 0 && name)
			r = sd_bus_message_append(reply, "{sv}", "subtype-name", "s", name);
	}
	if (r >= 0 && caps->msix_mappable)
		r = sd_bus_message_append(reply, "{sv}", "msix-mappable", "b", 1);
	if (r >= 0 && source)
		r = append_dt_source(reply, source->node, source->property, source->index,
				     source->name);
	if (r >= 0 && caps->n_ids > 0) {
		r = sd_bus_message_open_container(reply, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append(reply, "s", "caps");
		if (r >= 0)
			r = sd_bus_message_open_container(reply, 'v', "aq");
		if (r >= 0)
			r = sd_bus_message_append_array(reply, 'q', caps->ids,
							caps->n_ids * sizeof(uint16_t));
		for (int i = 0; r >= 0 && i < 2; i++)
			r = sd_bus_message_close_container(reply);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int append_irq(sd_bus_message *reply, const Device *d, const VfioIrq *irq)
{
	const DtInterrupt *source = device_dt_irq_source(d, irq->index);
	const char *name = d->id.kind == DEVICE_PCI ? vfio_pci_irq_name(irq->index) : NULL;
	char buf[16];
	int r;

	if (!name) {
		snprintf(buf, sizeof(buf), "IRQ %u", irq->index);
		name = buf;
	}
	r = sd_bus_message_open_container(reply, 'r', "usuua{sv}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "usuu", irq->index, name, irq->count, irq->flags);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r >= 0 && irq->absent)
		r = sd_bus_message_append(reply, "{sv}", "absent", "b", 1);
	if (r >= 0 && source)
		r = append_dt_source(reply, source->node, source->property, source->index,
				     source->name);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* Regions or Irqs: one entry per index the kernel reports. */
static int property_get_vfio_entries(sd_bus *bus, const char *path, const char *interface,
				     const char *property, sd_bus_message *reply, void *userdata,
				     sd_bus_error *error)
{
	Device *d = userdata;
	bool regions = streq(property, "Regions");
	VfioInfo *info;
	size_t n;
	int r;

	r = device_vfio(d, bus, property, error, &info);
	if (r < 0)
		return r;
	(void)device_load_devtree(d);
	n = !info ? 0 : regions ? info->n_regions : info->n_irqs;
	r = sd_bus_message_open_container(reply, 'a',
					  regions ? "(usttua(tt)a{sv})" : "(usuua{sv})");
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = regions ? append_region(reply, d, info->regions + i)
			    : append_irq(reply, d, info->irqs + i);
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_device_flags(sd_bus *bus, const char *path, const char *interface,
				     const char *property, sd_bus_message *reply, void *userdata,
				     sd_bus_error *error)
{
	VfioInfo *info;
	int r;

	r = device_vfio(userdata, bus, property, error, &info);
	if (r < 0)
		return r;
	if (streq(property, "ResetSupported"))
		return sd_bus_message_append(reply, "b",
					     info && (info->flags & VFIO_DEVICE_FLAGS_RESET));
	if (streq(property, "DeviceFlags"))
		return sd_bus_message_append(reply, "u", info ? info->flags : 0);
	return sd_bus_message_append_array(reply, 'q', info ? info->cap_ids : NULL,
					   info ? info->n_cap_ids * sizeof(uint16_t) : 0);
}

static int property_get_metadata(sd_bus *bus, const char *path, const char *interface,
				 const char *property, sd_bus_message *reply, void *userdata,
				 sd_bus_error *error)
{
	Device *d = userdata;

	/* Reports the state and reads nothing; GetAll() has read (or tried) by now. */
	if (streq(property, "MetadataError"))
		return sd_bus_message_append(reply, "s", d->vfio ? "" : d->vfio_error ?: "");
	if (d->vfio)
		return sd_bus_message_append(reply, "s", "read");
	return sd_bus_message_append(reply, "s", d->vfio_error ? "unavailable" : "unread");
}

/*
 * Identity properties change only on driver bind/unbind and hot-plug, which
 * emit PropertiesChanged; the holder changes on every claim and release.
 */
const sd_bus_vtable bus_device_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Kind", "s", property_get_kind, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("VendorId", "q", NULL, offsetof(Device, id.pci.vendor_id),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("DeviceId", "q", NULL, offsetof(Device, id.pci.device_id),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("SubsystemVendorId", "q", NULL, offsetof(Device, id.pci.subsystem_vendor_id),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("SubsystemDeviceId", "q", NULL, offsetof(Device, id.pci.subsystem_device_id),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Class", "u", NULL, offsetof(Device, id.pci.class_code),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Driver", "s", property_get_driver, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("IommuGroup", "i", property_get_int, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Group", "o", property_get_group, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("NumaNode", "i", property_get_int, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("ClaimState", "s", property_get_claim_state, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Claim", "o", property_get_claim, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Holder", "a{sv}", property_get_holder, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("DeviceTreeNode", "s", property_get_dt_node, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Compatible", "as", property_get_compatible, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("DeviceTreeResources", "a(ssusbtt)", property_get_dt_entries, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("DeviceTreeInterrupts", "a(ssuss)", property_get_dt_entries, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("DeviceTreeError", "s", property_get_dt_error, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("Managed", "b", property_get_managed, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("DeviceFlags", "u", property_get_device_flags, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("ResetSupported", "b", property_get_device_flags, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("DeviceCapabilities", "aq", property_get_device_flags, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("Regions", "a(usttua(tt)a{sv})", property_get_vfio_entries, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("Irqs", "a(usuua{sv})", property_get_vfio_entries, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("MetadataState", "s", property_get_metadata, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("MetadataError", "s", property_get_metadata, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_VTABLE_END,
};

int bus_device_add(sd_bus *bus, Manager *m)
{
	int r;

	r = sd_bus_add_fallback_vtable(bus, NULL, BROKER_DEVICE_PREFIX, BROKER_DEVICE_INTERFACE,
				       bus_device_vtable, device_object_find, m);
	if (r < 0)
		return r;
	return sd_bus_add_node_enumerator(bus, NULL, BROKER_DEVICE_PREFIX, device_node_enumerator,
					  m);
}
