/* SPDX-License-Identifier: MIT */
/* io.vfiod.Broker1.Device on /io/vfiod/Broker1/device/<label>. */
#include <errno.h>
#include <stdlib.h>

#include "bus-objects.h"
#include "claim.h"
#include "device.h"
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
	return sd_bus_message_append(reply, "s", device_kind_to_string(d->kind));
}

static int property_get_driver(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	Device *d = userdata;
	return sd_bus_message_append(reply, "s", d->pci.driver ?: "");
}

static int property_get_group(sd_bus *bus, const char *path, const char *interface,
			      const char *property, sd_bus_message *reply, void *userdata,
			      sd_bus_error *error)
{
	Device *d = userdata;
	_cleanup_free_ char *group_path = NULL;
	int r;

	r = bus_group_path(d->pci.iommu_group, &group_path);
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

static int property_get_holder(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	return bus_append_holder(reply, device_holder(userdata));
}

/*
 * Identity properties change only on driver bind/unbind and hot-plug, which
 * emit PropertiesChanged; the holder changes on every claim and release.
 */
const sd_bus_vtable bus_device_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Kind", "s", property_get_kind, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("VendorId", "q", NULL, offsetof(Device, pci.vendor_id),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("DeviceId", "q", NULL, offsetof(Device, pci.device_id),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("SubsystemVendorId", "q", NULL, offsetof(Device, pci.subsystem_vendor_id),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("SubsystemDeviceId", "q", NULL, offsetof(Device, pci.subsystem_device_id),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Class", "u", NULL, offsetof(Device, pci.class_code),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Driver", "s", property_get_driver, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("IommuGroup", "i", NULL, offsetof(Device, pci.iommu_group),
		    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Group", "o", property_get_group, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("NumaNode", "i", NULL, offsetof(Device, pci.numa_node),
		    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("ClaimState", "s", property_get_claim_state, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Claim", "o", property_get_claim, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Holder", "a{sv}", property_get_holder, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
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
