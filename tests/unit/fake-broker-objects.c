/* SPDX-License-Identifier: MIT */
/*
 * The fake broker's device, group and claim objects (see fake-broker.h):
 * GetManagedObjects() at the root and Properties.GetAll() on device and group
 * objects, written by hand so that tests can also get replies of the wrong
 * shape or size, which a vtable would never send.
 */
#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "fake-broker.h"
#include "util.h"

#define MANAGER_PATH  "/io/vfiod/Broker1"
#define DEVICE_PREFIX MANAGER_PATH "/device"
#define GROUP_PREFIX  MANAGER_PATH "/group"
#define DEVICE_IFACE  "io.vfiod.Broker1.Device"
#define GROUP_IFACE   "io.vfiod.Broker1.IommuGroup"
#define CLAIM_IFACE   "io.vfiod.Broker1.Claim"

/* Must exceed libvfioc's caps (VFIOC_MAX_OBJECTS, VFIOC_MAX_ENTRIES, VFIOC_MAX_SUBITEMS). */
#define TOO_MANY_OBJECTS 4097
#define TOO_MANY_ENTRIES 513
#define TOO_MANY_AREAS	 65

static const char *listing_mode = "normal";

static const struct fake_device {
	const char *name, *path, *kind, *driver;
	uint16_t vendor, device;
	uint32_t class_code;
	int32_t group;
	bool managed, claimed;
} devices[] = {
    {"0000:00:02.0", DEVICE_PREFIX "/pci_0000_00_02_0", "pci", "vfio-pci", 0x1234, 0x11e8, 0x00ff00,
     1, true, false},
    {"0000:00:05.0", DEVICE_PREFIX "/pci_0000_00_05_0", "pci", "vfio-pci", 0x1b36, 0x0010, 0x010802,
     4, true, true},
    {"ffe220000.sata", DEVICE_PREFIX "/platform_ffe220000_2esata", "platform", "vfio-platform", 0,
     0, 0, 9, true, false},
};

static int append_holder(sd_bus_message *m, bool claimed)
{
	int r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0 && claimed)
		r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}{sv}", "uid", "u", 1001, "pid", "u",
					  345, "claim", "o", MANAGER_PATH "/claim/1", "unit", "s",
					  "app.service", "x-future", "i", 7);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

/* The Regions of the fake devices: a PCI layout plus, on the edu, a device-specific region
 * with a type capability and sparse areas; on the platform device, DT placement. */
static int append_regions(sd_bus_message *m, const struct fake_device *d)
{
	static const char *const names[] = {"BAR0", "BAR1", "BAR2",   "BAR3", "BAR4",
					    "BAR5", "ROM",  "CONFIG", "VGA"};
	int r;

	r = sd_bus_message_open_container(m, 'a', "(usttua(tt)a{sv})");
	if (r < 0)
		return r;
	if (streq(d->kind, "platform")) {
		r = sd_bus_message_append(m, "(usttua(tt)a{sv})", 0, "region 0", (uint64_t)0x1000,
					  (uint64_t)0, 7, 0, 4, "dt-node", "s",
					  "/soc@ffe000000/sata@220000", "dt-property", "s", "reg",
					  "dt-entry", "u", 0, "dt-name", "s", "ahci");
		return r < 0 ? r : sd_bus_message_close_container(m);
	}
	for (uint32_t i = 0; r >= 0 && i < ELEMENTSOF(names); i++) {
		uint64_t size = i == 0 ? 0x100000 : i == 7 ? (d->device == 0x0010 ? 4096 : 256) : 0;
		uint32_t flags = i == 0 ? 7 : i == 7 ? 3 : 0;
		uint64_t offset = (uint64_t)i << 40;

		if (i == 0 && d->device == 0x0010) {
			/* nvme: BAR0 16 KiB with the MSI-X table, mappable. */
			r = sd_bus_message_append(m, "(usttua(tt)a{sv})", i, names[i],
						  (uint64_t)0x4000, offset, 15, 0, 2,
						  "msix-mappable", "b", 1, "caps", "aq", 1, 3);
		} else if (i == 8) {
			r = sd_bus_message_append(m, "(usttua(tt)a{sv})", i, names[i], (uint64_t)0,
						  (uint64_t)0, 0, 0, 1, "absent", "b", 1);
		} else
			r = sd_bus_message_append(m, "(usttua(tt)a{sv})", i, names[i], size, offset,
						  flags, 0, 0);
	}
	if (r >= 0 && d->device == 0x11e8)
		r = sd_bus_message_append(
		    m, "(usttua(tt)a{sv})", 9, "IGD OpRegion", (uint64_t)0x2000, (uint64_t)9 << 40,
		    15, 2, (uint64_t)0, (uint64_t)0x1000, (uint64_t)0x1000, (uint64_t)0x800, 8,
		    "sparse-mmap", "b", 1, "type", "u", 0x80008086, "subtype", "u", 3, "type-name",
		    "s", "Intel", "subtype-name", "s", "IGD OpRegion", "caps", "aq", 2, 1, 2,
		    "x-future", "as", 0, "msix-mappable", "b", 0);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_irqs(sd_bus_message *m, const struct fake_device *d)
{
	int r = sd_bus_message_open_container(m, 'a', "(usuua{sv})");
	if (r < 0)
		return r;
	if (streq(d->kind, "platform"))
		r = sd_bus_message_append(m, "(usuua{sv})", 0, "IRQ 0", 1, 7, 4, "dt-node", "s",
					  "/soc@ffe000000/sata@220000", "dt-property", "s",
					  "interrupts", "dt-entry", "u", 0, "dt-name", "s", "");
	else
		r = sd_bus_message_append(m, "(usuua{sv})(usuua{sv})(usuua{sv})(usuua{sv})", 0,
					  "INTx", 1, 7, 0, 1, "MSI", 1, 9, 0, 3, "ERR", 0, 0, 1,
					  "absent", "b", 1, 4, "REQ", 1, 1, 0);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

/* A device's properties; the VFIO metadata only when read "directly" (GetAll), as vfiod does. */
static int append_device(sd_bus_message *m, const struct fake_device *d, bool metadata)
{
	bool pci = streq(d->kind, "pci");
	char group[64];
	int r;

	snprintf(group, sizeof(group), GROUP_PREFIX "/%" PRIi32, d->group);
	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(
		    m, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "Name", "s", d->name,
		    "Kind", "s", d->kind, "VendorId", "q", d->vendor, "DeviceId", "q", d->device,
		    "SubsystemVendorId", "q", (uint16_t)(pci ? 0x1af4 : 0), "SubsystemDeviceId",
		    "q", (uint16_t)(pci ? 0x1100 : 0), "Class", "u", d->class_code, "Driver", "s",
		    d->driver, "IommuGroup", "i", d->group, "Group", "o", group, "NumaNode", "i",
		    -1, "ClaimState", "s", d->claimed ? "claimed" : "free", "Claim", "o",
		    d->claimed ? MANAGER_PATH "/claim/1" : "/");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "Holder");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "a{sv}");
	if (r >= 0)
		r = append_holder(m, d->claimed);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0 && pci)
		r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}{sv}", "DeviceTreeNode", "s", "",
					  "Compatible", "as", 0, "DeviceTreeResources",
					  "a(ssusbtt)", 0, "DeviceTreeInterrupts", "a(ssuss)", 0,
					  "DeviceTreeError", "s", "");
	else if (r >= 0)
		r = sd_bus_message_append(
		    m, "{sv}{sv}{sv}{sv}{sv}", "DeviceTreeNode", "s", "/soc@ffe000000/sata@220000",
		    "Compatible", "as", 2, "fsl,pq-sata-v2", "fsl,pq-sata", "DeviceTreeResources",
		    "a(ssusbtt)", 1, "/soc@ffe000000/sata@220000", "reg", 0, "ahci", 1,
		    (uint64_t)0xffe220000, (uint64_t)0x1000, "DeviceTreeInterrupts", "a(ssuss)", 1,
		    "/soc@ffe000000/sata@220000", "interrupts", 0, "", "/soc@ffe000000/pic@40000",
		    "DeviceTreeError", "s", "");
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}", "Managed", "b", d->managed,
					  "MetadataState", "s", metadata ? "read" : "unread",
					  "MetadataError", "s", "", "x-future", "(ii)", 1, 2);
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}{sv}{sv}", "DeviceFlags", "u",
					  metadata ? (d->device == 0x0010 ? 3
						      : pci		  ? 2
									  : 4)
						   : 0,
					  "ResetSupported", "b", metadata && d->device == 0x0010,
					  "DeviceCapabilities", "aq", 0);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "Regions");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "a(usttua(tt)a{sv})");
	if (r >= 0)
		r = metadata ? append_regions(m, d)
			     : sd_bus_message_append(m, "a(usttua(tt)a{sv})", 0);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "Irqs");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "a(usuua{sv})");
	if (r >= 0)
		r = metadata ? append_irqs(m, d) : sd_bus_message_append(m, "a(usuua{sv})", 0);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

/* Group 6 is the shared, not viable group; any other holds the fake device of that number. */
static const struct fake_device *group_device(uint32_t number)
{
	for (size_t i = 0; i < ELEMENTSOF(devices); i++)
		if ((uint32_t)devices[i].group == number)
			return &devices[i];
	return NULL;
}

static int append_group(sd_bus_message *m, uint32_t number)
{
	const struct fake_device *d = group_device(number);
	bool shared = number == 6;
	int r = sd_bus_message_open_container(m, 'a', "{sv}");

	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}", "Number", "u", number);
	if (r >= 0 && shared)
		r = sd_bus_message_append(m, "{sv}{sv}", "Members", "a(ss)", 3, "0000:00:07.0", "",
					  "0000:01:01.0", "vfio-pci", "0000:01:02.0", "e1000",
					  "Devices", "ao", 1, DEVICE_PREFIX "/pci_0000_01_01_0");
	else if (r >= 0 && d)
		r = sd_bus_message_append(m, "{sv}{sv}", "Members", "a(ss)", 1, d->name, d->driver,
					  "Devices", "ao", 1, d->path);
	if (r >= 0)
		r = sd_bus_message_append(
		    m, "{sv}{sv}{sv}", "Viable", "b", !shared, "NotViableReason", "s",
		    shared ? "device 0000:01:02.0 in IOMMU group 6 is bound to e1000" : "", "Claim",
		    "o", d && d->claimed ? MANAGER_PATH "/claim/1" : "/");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "Holder");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "a{sv}");
	if (r >= 0)
		r = append_holder(m, d && d->claimed);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_object(sd_bus_message *m, const char *path, const char *iface,
			 int (*append)(sd_bus_message *m, const void *arg), const void *arg)
{
	int r = sd_bus_message_open_container(m, 'e', "oa{sa{sv}}");
	if (r >= 0)
		r = sd_bus_message_append(m, "o", path);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{sa{sv}}");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'e', "sa{sv}");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", iface);
	if (r >= 0)
		r = append(m, arg);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	/* Interfaces the client does not ask for come along, as in the real tree. */
	if (r >= 0)
		r = sd_bus_message_append(m, "{sa{sv}}", "org.freedesktop.DBus.Peer", 0);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_listed_device(sd_bus_message *m, const void *arg)
{
	return append_device(m, arg, false);
}

static int append_listed_group(sd_bus_message *m, const void *arg)
{
	return append_group(m, *(const uint32_t *)arg);
}

static int append_listed_claim(sd_bus_message *m, const void *arg)
{
	return sd_bus_message_append(m, "a{sv}", 7, "Devices", "as", 1, "0000:00:05.0",
				     "IommuGroups", "au", 1, 4, "HolderUid", "u", 1001, "HolderPid",
				     "u", 345, "DmaMode", "s", "brokered", "DmaQuota", "t",
				     (uint64_t)1 << 20, "DmaMapped", "t", (uint64_t)8192);
}

/* An a{sv} with one property of the wrong type. */
static int append_malformed(sd_bus_message *m, const void *arg)
{
	return sd_bus_message_append(m, "a{sv}", 2, "Name", "s", "0000:00:1a.0", "Regions", "as", 1,
				     "BAR0");
}

static int reply_managed_objects(sd_bus_message *call)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	static const uint32_t groups[] = {1, 6};
	int r;

	r = sd_bus_message_new_method_return(call, &m);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{oa{sa{sv}}}");
	if (streq(listing_mode, "huge")) {
		for (unsigned i = 0; r >= 0 && i < TOO_MANY_OBJECTS; i++) {
			char path[64];
			snprintf(path, sizeof(path), DEVICE_PREFIX "/pci_%u", i);
			r = append_object(m, path, DEVICE_IFACE, append_listed_device, &devices[0]);
		}
	} else if (streq(listing_mode, "malformed")) {
		r = append_object(m, DEVICE_PREFIX "/pci_0000_00_1a_0", DEVICE_IFACE,
				  append_malformed, NULL);
	} else {
		/* Out of order: the library sorts. */
		for (size_t i = ELEMENTSOF(devices); r >= 0 && i > 0; i--)
			r = append_object(m, devices[i - 1].path, DEVICE_IFACE,
					  append_listed_device, &devices[i - 1]);
		for (size_t i = ELEMENTSOF(groups); r >= 0 && i > 0; i--) {
			char path[64];
			snprintf(path, sizeof(path), GROUP_PREFIX "/%" PRIu32, groups[i - 1]);
			r = append_object(m, path, GROUP_IFACE, append_listed_group,
					  &groups[i - 1]);
		}
		if (r >= 0)
			r = append_object(m, MANAGER_PATH "/claim/1", CLAIM_IFACE,
					  append_listed_claim, NULL);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, m, NULL);
}

/* GetAll replies of the wrong shape or size, for the scripted devices of fake-broker.h. */
static int reply_bad_device(sd_bus_message *call, const char *name)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	if (streq(name, "pci_0000_00_1f_7"))
		return 1; /* never answer */
	r = sd_bus_message_new_method_return(call, &m);
	if (r < 0)
		return r;
	if (streq(name, "pci_0000_00_1a_0"))
		r = append_malformed(m, NULL);
	else if (streq(name, "pci_0000_00_1d_0"))
		r = sd_bus_message_append(m, "s", "not a dictionary");
	else if (streq(name, "pci_0000_00_1b_0") || streq(name, "pci_0000_00_1c_0")) {
		bool areas = streq(name, "pci_0000_00_1c_0");
		unsigned n = areas ? 1 : TOO_MANY_ENTRIES;

		r = sd_bus_message_open_container(m, 'a', "{sv}");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append(m, "s", "Regions");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'v', "a(usttua(tt)a{sv})");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'a', "(usttua(tt)a{sv})");
		for (unsigned i = 0; r >= 0 && i < n; i++) {
			r = sd_bus_message_open_container(m, 'r', "usttua(tt)a{sv}");
			if (r >= 0)
				r = sd_bus_message_append(m, "usttu", i, "BAR0", (uint64_t)0x1000,
							  (uint64_t)0, 7);
			if (r >= 0)
				r = sd_bus_message_open_container(m, 'a', "(tt)");
			for (unsigned a = 0; r >= 0 && areas && a < TOO_MANY_AREAS; a++)
				r = sd_bus_message_append(m, "(tt)", (uint64_t)a * 64,
							  (uint64_t)64);
			if (r >= 0)
				r = sd_bus_message_close_container(m);
			if (r >= 0)
				r = sd_bus_message_append(m, "a{sv}", 0);
			if (r >= 0)
				r = sd_bus_message_close_container(m);
		}
		for (int i = 0; r >= 0 && i < 4; i++)
			r = sd_bus_message_close_container(m);
	} else
		return 0;
	if (r < 0)
		return r;
	return sd_bus_send(NULL, m, NULL);
}

static bool is_get_all(sd_bus_message *m, const char *iface)
{
	const char *asked = NULL;

	if (!sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "GetAll"))
		return false;
	if (sd_bus_message_read(m, "s", &asked) < 0 || !streq_ptr(asked, iface))
		return false;
	return true;
}

static int on_device_object(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *name = startswith(sd_bus_message_get_path(m), DEVICE_PREFIX "/");
	int r;

	if (!name || !is_get_all(m, DEVICE_IFACE))
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(devices); i++) {
		if (!streq(sd_bus_message_get_path(m), devices[i].path))
			continue;
		r = sd_bus_message_new_method_return(m, &reply);
		if (r >= 0)
			r = append_device(reply, &devices[i], true);
		if (r < 0)
			return r;
		return sd_bus_send(NULL, reply, NULL);
	}
	r = reply_bad_device(m, name);
	if (r != 0)
		return r;
	return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT, "Unknown object '%s'.",
				 sd_bus_message_get_path(m));
}

static int on_group_object(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *number = startswith(sd_bus_message_get_path(m), GROUP_PREFIX "/");
	int r;

	unsigned n;
	char end;

	if (!number || !is_get_all(m, GROUP_IFACE))
		return 0;
	if (sscanf(number, "%u%c", &n, &end) != 1 || (n != 6 && !group_device(n)))
		return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT, "Unknown object '%s'.",
					 sd_bus_message_get_path(m));
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = append_group(reply, n);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int on_manager_object(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *mode;
	int r;

	if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.ObjectManager",
					  "GetManagedObjects"))
		return reply_managed_objects(m);
	if (sd_bus_message_is_method_call(m, "io.vfiod.Test", "SetListing")) {
		r = sd_bus_message_read(m, "s", &mode);
		if (r < 0)
			return r;
		listing_mode = streq(mode, "huge")	  ? "huge"
			       : streq(mode, "malformed") ? "malformed"
							  : "normal";
		return sd_bus_reply_method_return(m, NULL);
	}
	return 0;
}

int fake_objects_attach(sd_bus *bus)
{
	int r;

	r = sd_bus_add_object(bus, NULL, MANAGER_PATH, on_manager_object, NULL);
	if (r >= 0)
		r = sd_bus_add_fallback(bus, NULL, DEVICE_PREFIX, on_device_object, NULL);
	if (r >= 0)
		r = sd_bus_add_fallback(bus, NULL, GROUP_PREFIX, on_group_object, NULL);
	return r;
}
