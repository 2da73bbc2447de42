/* SPDX-License-Identifier: MIT */
/*
 * The device and IOMMU group objects of the real vfiod binary on a fixture
 * sysfs tree: what GetManagedObjects lists, every identity property, group
 * membership and viability, and that unknown paths are unknown objects.
 * VFIO details and live updates need the kernel: see the VM tests.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"
#include "vfiod-spawn.h"

#define DEVICE_IFACE "io.vfiod.Broker1.Device"
#define GROUP_IFACE  "io.vfiod.Broker1.IommuGroup"
#define EDU_PATH     "/io/vfiod/Broker1/device/pci_0000_00_03_0"

static const char policy[] = "[Rule edu]\n"
			     "Ids=1234:11e8\n"
			     "Users=0\n";

static sd_bus *bus;

static char *get_string(const char *path, const char *iface, const char *property)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *s = NULL;

	if (sd_bus_get_property_string(bus, NULL, path, iface, property, &e, &s) < 0) {
		fprintf(stderr, "%s %s: %s\n", path, property, e.message);
		test_failures++;
	}
	sd_bus_error_free(&e);
	return s;
}

static void check_string(const char *path, const char *iface, const char *property,
			 const char *expected)
{
	_cleanup_free_ char *s = get_string(path, iface, property);
	if (s && !streq(s, expected)) {
		fprintf(stderr, "%s %s: \"%s\", expected \"%s\"\n", path, property, s, expected);
		test_failures++;
	}
}

static void check_path(const char *path, const char *iface, const char *property,
		       const char *expected)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *s = NULL;

	if (sd_bus_get_property(bus, NULL, path, iface, property, &e, &reply, "o") < 0 ||
	    sd_bus_message_read(reply, "o", &s) < 0 || !streq(s, expected)) {
		fprintf(stderr, "%s %s: \"%s\", expected \"%s\" (%s)\n", path, property, s,
			expected, e.message);
		test_failures++;
	}
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
}

/* A trivial property ('q', 'u', 'i', 'b') as a 64-bit value. */
static int64_t get_trivial(const char *path, const char *iface, const char *property, char type)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	union {
		uint16_t q;
		uint32_t u;
		int32_t i;
		int b;
	} v = {0};
	int r;

	r = sd_bus_get_property_trivial(bus, NULL, path, iface, property, &e, type, &v);
	if (r < 0) {
		fprintf(stderr, "%s %s: %s\n", path, property, e.message);
		test_failures++;
	}
	sd_bus_error_free(&e);
	switch (type) {
	case 'q':
		return v.q;
	case 'u':
		return v.u;
	case 'i':
		return v.i;
	default:
		return v.b;
	}
}

/* The object paths GetManagedObjects lists, each with its first interface, as "path iface". */
static char **managed_objects(void)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char **l = calloc(64, sizeof(char *));
	size_t n = 0;
	const char *path, *iface;
	int r;

	r = sd_bus_call_method(bus, NULL, "/io/vfiod/Broker1", "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", &e, &reply, NULL);
	CHECK(r >= 0);
	if (r < 0) {
		fprintf(stderr, "GetManagedObjects: %s\n", e.message);
		sd_bus_error_free(&e);
		return l;
	}
	CHECK(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}") > 0);
	while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
		CHECK(sd_bus_message_read(reply, "o", &path) > 0);
		CHECK(sd_bus_message_enter_container(reply, 'a', "{sa{sv}}") > 0);
		while (sd_bus_message_enter_container(reply, 'e', "sa{sv}") > 0) {
			CHECK(sd_bus_message_read(reply, "s", &iface) > 0);
			if (startswith(iface, "io.vfiod.") && n < 63)
				CHECK(asprintf(&l[n++], "%s %s", path, iface) > 0);
			CHECK(sd_bus_message_skip(reply, "a{sv}") >= 0);
			CHECK(sd_bus_message_exit_container(reply) >= 0);
		}
		CHECK(sd_bus_message_exit_container(reply) >= 0);
		CHECK(sd_bus_message_exit_container(reply) >= 0);
	}
	sd_bus_message_unref(reply);
	return l;
}

static void test_managed_objects(void)
{
	_cleanup_strv_free_ char **l = managed_objects();
	static const char *const expected[] = {
	    "/io/vfiod/Broker1/device/pci_0000_00_03_0 " DEVICE_IFACE,
	    "/io/vfiod/Broker1/device/pci_0000_00_05_0 " DEVICE_IFACE,
	    "/io/vfiod/Broker1/device/pci_0000_00_05_1 " DEVICE_IFACE,
	    "/io/vfiod/Broker1/device/pci_0001_1a_1f_7 " DEVICE_IFACE,
	    "/io/vfiod/Broker1/group/3 " GROUP_IFACE,
	    "/io/vfiod/Broker1/group/5 " GROUP_IFACE,
	    "/io/vfiod/Broker1/group/12 " GROUP_IFACE,
	};

	for (size_t i = 0; i < ELEMENTSOF(expected); i++)
		if (!strv_contains(l, expected[i])) {
			fprintf(stderr, "GetManagedObjects lacks %s\n", expected[i]);
			test_failures++;
		}
	/* The device without an IOMMU group can never be a VFIO device: no object. */
	for (char **s = l; *s; s++)
		if (strstr(*s, "pci_0000_00_09_0")) {
			fprintf(stderr, "GetManagedObjects lists %s\n", *s);
			test_failures++;
		}
	CHECK(strv_length(l) == ELEMENTSOF(expected));
}

static void test_device_properties(void)
{
	check_string(EDU_PATH, DEVICE_IFACE, "Name", "0000:00:03.0");
	check_string(EDU_PATH, DEVICE_IFACE, "Kind", "pci");
	CHECK(get_trivial(EDU_PATH, DEVICE_IFACE, "VendorId", 'q') == 0x1234);
	CHECK(get_trivial(EDU_PATH, DEVICE_IFACE, "DeviceId", 'q') == 0x11e8);
	CHECK(get_trivial(EDU_PATH, DEVICE_IFACE, "SubsystemVendorId", 'q') == 0x1af4);
	CHECK(get_trivial(EDU_PATH, DEVICE_IFACE, "SubsystemDeviceId", 'q') == 0x1100);
	CHECK(get_trivial(EDU_PATH, DEVICE_IFACE, "Class", 'u') == 0x00ff00);
	check_string(EDU_PATH, DEVICE_IFACE, "Driver", "vfio-pci");
	CHECK(get_trivial(EDU_PATH, DEVICE_IFACE, "IommuGroup", 'i') == 3);
	CHECK(get_trivial(EDU_PATH, DEVICE_IFACE, "NumaNode", 'i') == -1);
	check_path(EDU_PATH, DEVICE_IFACE, "Group", "/io/vfiod/Broker1/group/3");
	check_string(EDU_PATH, DEVICE_IFACE, "ClaimState", "free");
	check_path(EDU_PATH, DEVICE_IFACE, "Claim", "/");

	/* An unbound device, a NUMA node, and a domain and bus beyond 0. */
	check_string("/io/vfiod/Broker1/device/pci_0001_1a_1f_7", DEVICE_IFACE, "Driver", "");
	CHECK(get_trivial("/io/vfiod/Broker1/device/pci_0001_1a_1f_7", DEVICE_IFACE, "NumaNode",
			  'i') == 1);
	check_string("/io/vfiod/Broker1/device/pci_0000_00_05_1", DEVICE_IFACE, "Driver", "e1000");
}

static void test_holder_is_empty(void)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;

	CHECK(sd_bus_get_property(bus, NULL, EDU_PATH, DEVICE_IFACE, "Holder", &e, &reply,
				  "a{sv}") >= 0);
	if (reply) {
		CHECK(sd_bus_message_enter_container(reply, 'a', "{sv}") > 0);
		CHECK(sd_bus_message_at_end(reply, false) > 0);
	}
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
}

static void check_members(const char *group_path, const char *expected)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *name, *driver;
	char got[512] = "";

	CHECK(sd_bus_get_property(bus, NULL, group_path, GROUP_IFACE, "Members", &e, &reply,
				  "a(ss)") >= 0);
	if (reply) {
		CHECK(sd_bus_message_enter_container(reply, 'a', "(ss)") > 0);
		while (sd_bus_message_read(reply, "(ss)", &name, &driver) > 0)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s=%s",
				 got[0] ? " " : "", name, driver);
	}
	if (!streq(got, expected)) {
		fprintf(stderr, "%s Members: \"%s\", expected \"%s\"\n", group_path, got, expected);
		test_failures++;
	}
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
}

static void test_groups(void)
{
	_cleanup_free_ char *reason = NULL;

	CHECK(get_trivial("/io/vfiod/Broker1/group/3", GROUP_IFACE, "Number", 'u') == 3);
	CHECK(get_trivial("/io/vfiod/Broker1/group/3", GROUP_IFACE, "Viable", 'b') == 1);
	check_string("/io/vfiod/Broker1/group/3", GROUP_IFACE, "NotViableReason", "");
	check_members("/io/vfiod/Broker1/group/3", "0000:00:03.0=vfio-pci");

	check_members("/io/vfiod/Broker1/group/5", "0000:00:05.0=vfio-pci 0000:00:05.1=e1000");
	CHECK(get_trivial("/io/vfiod/Broker1/group/5", GROUP_IFACE, "Viable", 'b') == 0);
	reason = get_string("/io/vfiod/Broker1/group/5", GROUP_IFACE, "NotViableReason");
	CHECK(reason && strstr(reason, "0000:00:05.1") && strstr(reason, "e1000"));
	check_path("/io/vfiod/Broker1/group/5", GROUP_IFACE, "Claim", "/");
}

static void expect_unknown(const char *path, const char *iface, const char *property)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *s = NULL;

	CHECK(sd_bus_get_property_string(bus, NULL, path, iface, property, &e, &s) < 0);
	if (!sd_bus_error_has_names(&e, SD_BUS_ERROR_UNKNOWN_OBJECT,
				    SD_BUS_ERROR_UNKNOWN_INTERFACE)) {
		fprintf(stderr, "%s: got %s\n", path, e.name ?: "success");
		test_failures++;
	}
	free(s);
	sd_bus_error_free(&e);
}

static void test_unknown_paths(void)
{
	expect_unknown("/io/vfiod/Broker1/device/pci_0000_00_1f_0", DEVICE_IFACE, "Name");
	expect_unknown("/io/vfiod/Broker1/device/pci_0000_00_09_0", DEVICE_IFACE, "Name");
	expect_unknown("/io/vfiod/Broker1/device/pci_0000_00_03", DEVICE_IFACE, "Name");
	expect_unknown("/io/vfiod/Broker1/device/pci_0000_00_03_0_", DEVICE_IFACE, "Name");
	expect_unknown("/io/vfiod/Broker1/device/pci_0000_00_0A_0", DEVICE_IFACE, "Name");
	expect_unknown("/io/vfiod/Broker1/group/4", GROUP_IFACE, "Members");
	expect_unknown("/io/vfiod/Broker1/group/03", GROUP_IFACE, "Members");
	expect_unknown("/io/vfiod/Broker1/group/99999999999", GROUP_IFACE, "Members");
}

/* Signals seen since the match was added, as "Member path [detail]". */
static char *signals[64];
static size_t n_signals;

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *member = sd_bus_message_get_member(m), *path = NULL, *iface = NULL;

	if (streq(member, "PropertiesChanged"))
		(void)sd_bus_message_read(m, "s", &iface);
	else
		(void)sd_bus_message_read(m, "o", &path);
	if (n_signals < ELEMENTSOF(signals) &&
	    asprintf(&signals[n_signals], "%s %s", member, path ?: sd_bus_message_get_path(m)) > 0)
		n_signals++;
	return 0;
}

static bool saw_signal(const char *expected)
{
	for (size_t i = 0; i < n_signals; i++)
		if (streq(signals[i], expected))
			return true;
	return false;
}

static void wait_for_signal(const char *expected)
{
	for (int i = 0; i < 100 && !saw_signal(expected); i++) {
		while (sd_bus_process(bus, NULL) > 0)
			;
		if (!saw_signal(expected))
			(void)sd_bus_wait(bus, 20000);
	}
	if (!saw_signal(expected)) {
		fprintf(stderr, "no signal \"%s\"; saw:\n", expected);
		for (size_t i = 0; i < n_signals; i++)
			fprintf(stderr, "  %s\n", signals[i]);
		test_failures++;
	}
}

/* A rescan (SIGHUP) announces every change udev would have announced. */
static void test_rescan(pid_t vfiod, const char *root)
{
	CHECK(sd_bus_match_signal(bus, NULL, NULL, NULL, NULL, NULL, on_signal, NULL) >= 0);
	/* A new device in a new group, an unbind that makes group 5 viable, an unplug. */
	CHECK(fixture_add_pci_device(root, "0000:00:0b.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 20, -1) == 0);
	CHECK(fixture_set_driver(root, "0000:00:05.1", NULL) == 0);
	CHECK(fixture_remove_pci_device(root, "0001:1a:1f.7") == 0);
	CHECK(kill(vfiod, SIGHUP) == 0);

	wait_for_signal("InterfacesAdded /io/vfiod/Broker1/group/20");
	wait_for_signal("InterfacesAdded /io/vfiod/Broker1/device/pci_0000_00_0b_0");
	wait_for_signal("PropertiesChanged /io/vfiod/Broker1/device/pci_0000_00_05_1");
	wait_for_signal("PropertiesChanged /io/vfiod/Broker1/group/5");
	wait_for_signal("InterfacesRemoved /io/vfiod/Broker1/device/pci_0001_1a_1f_7");
	wait_for_signal("InterfacesRemoved /io/vfiod/Broker1/group/12");

	check_string("/io/vfiod/Broker1/device/pci_0000_00_05_1", DEVICE_IFACE, "Driver", "");
	CHECK(get_trivial("/io/vfiod/Broker1/group/5", GROUP_IFACE, "Viable", 'b') == 1);
	expect_unknown("/io/vfiod/Broker1/device/pci_0001_1a_1f_7", DEVICE_IFACE, "Name");
	check_string("/io/vfiod/Broker1/device/pci_0000_00_0b_0", DEVICE_IFACE, "Name",
		     "0000:00:0b.0");
	/* Nothing else changed, so nothing else was announced. */
	for (size_t i = 0; i < n_signals; i++)
		if (strstr(signals[i], "pci_0000_00_03_0") || strstr(signals[i], "group/3")) {
			fprintf(stderr, "unexpected signal: %s\n", signals[i]);
			test_failures++;
		}
	for (size_t i = 0; i < n_signals; i++)
		free(signals[i]);
}

int main(void)
{
	VfiodPaths paths;
	char *root = NULL;
	pid_t vfiod;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(fixture_new(&root) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:03.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 3, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:05.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 5, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:05.1", 0x8086, 0x100e, 0x8086, 0, 0x020000,
				     "e1000", 5, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:09.0", 0x8086, 0x2918, 0x8086, 0, 0x060100,
				     "lpc_ich", -1, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0001:1a:1f.7", 0x15b3, 0x101e, 0x15b3, 0x0001, 0x020000,
				     NULL, 12, 1) == 0);

	CHECK(vfiod_prepare(root, policy, &paths) == 0);
	vfiod = vfiod_spawn(root, &paths, (char *[]){vfiod_no_seccomp_arg(), NULL}, NULL, false);
	CHECK(vfiod > 0);
	bus = vfiod > 0 ? vfiod_connect(paths.address) : NULL;
	CHECK(bus);
	if (bus) {
		test_managed_objects();
		test_device_properties();
		test_holder_is_empty();
		test_groups();
		test_unknown_paths();
		test_rescan(vfiod, root);
	}
	bus = sd_bus_flush_close_unref(bus);
	CHECK(vfiod_stop(vfiod) == 0);
	fixture_free(root);
	return test_exit();
}
