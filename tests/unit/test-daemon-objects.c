/* SPDX-License-Identifier: MIT */
/*
 * The device and IOMMU group objects of the real vfiod binary on a fixture
 * sysfs tree: what GetManagedObjects lists, every identity property, group
 * membership and viability, and that unknown paths are unknown objects; the
 * signals a rescan sends, routed to each peer by its match rules as on a bus
 * (a peer without rules gets none), and AddMatch's refusals and caps; and
 * that one answer lists a group's members once, not once per property.
 * VFIO details, claims and live updates need the kernel: see the VM tests.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
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

static int call_group_getall(sd_bus_error *e, sd_bus_message **reply)
{
	return sd_bus_call_method(bus, "io.vfiod.Broker1", "/io/vfiod/Broker1/group/5",
				  "org.freedesktop.DBus.Properties", "GetAll", e, reply, "s",
				  GROUP_IFACE);
}

static int call_managed_objects(sd_bus_error *e, sd_bus_message **reply)
{
	return sd_bus_call_method(bus, "io.vfiod.Broker1", "/io/vfiod/Broker1",
				  "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", e,
				  reply, NULL);
}

static int call_group_get_members(sd_bus_error *e, sd_bus_message **reply)
{
	return sd_bus_call_method(bus, "io.vfiod.Broker1", "/io/vfiod/Broker1/group/5",
				  "org.freedesktop.DBus.Properties", "Get", e, reply, "ss",
				  GROUP_IFACE, "Members");
}

/* How often vfiod opened group 5's devices directory while answering call(); -1 on error. */
static int group_listings_during(const char *root,
				 int (*call)(sd_bus_error *e, sd_bus_message **reply))
{
	_cleanup_close_ int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char dir[512], buf[4096];
	int n = 0, r;
	ssize_t len;

	snprintf(dir, sizeof(dir), "%s/sys/kernel/iommu_groups/5/devices", root);
	/* With the closes too, no two successive events are equal, which inotify would merge. */
	if (fd < 0 || inotify_add_watch(fd, dir, IN_OPEN | IN_CLOSE_NOWRITE) < 0)
		return -1;
	r = call(&e, &reply);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	if (r < 0)
		return -1;
	/* The opens happened before the answer was sent: their events are queued. */
	while ((len = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			n += ev->len == 0 && (ev->mask & IN_OPEN); /* the directory itself */
			p += sizeof(*ev) + ev->len;
		}
	return n;
}

/*
 * The four group properties of one answer share one listing of the group
 * (bus-group.c): a GetAll of the group, and GetManagedObjects, read it once;
 * separate calls read it again (nothing is kept across answers).
 */
static void test_group_read_once(const char *root)
{
	CHECK(group_listings_during(root, call_group_getall) == 1);
	CHECK(group_listings_during(root, call_managed_objects) == 1);
	CHECK(group_listings_during(root, call_group_get_members) == 1);
	CHECK(group_listings_during(root, call_group_get_members) == 1);
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

#define MAX_SEEN 64

/* One peer and the signals it received, as "Member path" (path: arg0 of the ObjectManager's). */
typedef struct Peer {
	const char *name;
	sd_bus *bus;
	char *seen[MAX_SEEN];
	size_t n_seen;
} Peer;

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Peer *p = userdata;
	const char *member = sd_bus_message_get_member(m), *path = sd_bus_message_get_path(m);

	if (streq(member, "InterfacesAdded") || streq(member, "InterfacesRemoved"))
		(void)sd_bus_message_read(m, "o", &path);
	if (p->n_seen < MAX_SEEN && asprintf(&p->seen[p->n_seen], "%s %s", member, path) > 0)
		p->n_seen++;
	return 0;
}

static bool peer_saw(const Peer *p, const char *signal)
{
	for (size_t i = 0; i < p->n_seen; i++)
		if (streq(p->seen[i], signal))
			return true;
	return false;
}

static void peer_open(Peer *p, const char *name, const char *address)
{
	*p = (Peer){.name = name, .bus = vfiod_connect(address)};
	CHECK(p->bus);
	if (p->bus)
		CHECK(sd_bus_match_signal(p->bus, NULL, NULL, NULL, NULL, NULL, on_signal, p) >= 0);
}

static void peer_close(Peer *p)
{
	for (size_t i = 0; i < p->n_seen; i++)
		free(p->seen[i]);
	p->bus = sd_bus_flush_close_unref(p->bus);
}

/* Calls AddMatch or RemoveMatch: 0, or the error's name ("?" when it has none). */
static const char *call_match(Peer *p, const char *method, const char *rule)
{
	static char name[128];
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	if (!p->bus)
		return "?";
	r = sd_bus_call_method(p->bus, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       method, &e, NULL, "s", rule);
	snprintf(name, sizeof(name), "%s", r >= 0 ? "" : e.name ?: "?");
	if (r < 0 && e.message && !*e.message) {
		fprintf(stderr, "%s: %s has no message\n", method, e.name);
		test_failures++;
	}
	sd_bus_error_free(&e);
	return name;
}

static void add_match(Peer *p, const char *rule)
{
	const char *error = call_match(p, "AddMatch", rule);

	if (*error) {
		fprintf(stderr, "%s: AddMatch(\"%s\"): %s\n", p->name, rule, error);
		test_failures++;
	}
}

/* Processes what arrived, then makes one call: every signal sent before it has arrived. */
static void peer_sync(Peer *p)
{
	if (!p->bus)
		return;
	CHECK(vfiod_ping(p->bus) == 0);
	while (sd_bus_process(p->bus, NULL) > 0)
		;
}

static void wait_for(Peer *p, const char *signal)
{
	for (int i = 0; i < 250 && p->bus && !peer_saw(p, signal); i++) {
		while (sd_bus_process(p->bus, NULL) > 0)
			;
		if (!peer_saw(p, signal))
			(void)sd_bus_wait(p->bus, 20000);
	}
	if (!peer_saw(p, signal)) {
		fprintf(stderr, "%s: no signal \"%s\"\n", p->name, signal);
		test_failures++;
	}
}

/* The peer saw exactly these signals, in any order. */
static void expect_seen(const Peer *p, const char *const *expected)
{
	size_t n = 0;

	for (; expected[n]; n++)
		if (!peer_saw(p, expected[n])) {
			fprintf(stderr, "%s: no signal \"%s\"\n", p->name, expected[n]);
			test_failures++;
		}
	if (p->n_seen != n) {
		fprintf(stderr, "%s: %zu signal(s), expected %zu:\n", p->name, p->n_seen, n);
		for (size_t i = 0; i < p->n_seen; i++)
			fprintf(stderr, "  %s\n", p->seen[i]);
		test_failures++;
	}
}

static void expect_refused(Peer *p, const char *method, const char *rule, const char *error)
{
	const char *got = call_match(p, method, rule);

	if (!streq(got, error)) {
		fprintf(stderr, "%s(\"%.60s\"): got \"%s\", expected %s\n", method, rule, got,
			error);
		test_failures++;
	}
}

/* AddMatch and RemoveMatch refuse bad rules and cap their length and number. */
static void test_match_errors(const char *address)
{
	char rule[64], *long_rule;
	Peer p;

	peer_open(&p, "caps", address);
	expect_refused(&p, "AddMatch", "type='signal',bogus='1'",
		       "org.freedesktop.DBus.Error.MatchRuleInvalid");
	expect_refused(&p, "AddMatch", "member='A',member='B'",
		       "org.freedesktop.DBus.Error.MatchRuleInvalid");
	expect_refused(&p, "AddMatch", "eavesdrop='true'",
		       "org.freedesktop.DBus.Error.MatchRuleInvalid");
	expect_refused(&p, "AddMatch", "path='/a/'", "org.freedesktop.DBus.Error.MatchRuleInvalid");
	expect_refused(&p, "RemoveMatch", "member='Never'",
		       "org.freedesktop.DBus.Error.MatchRuleNotFound");

	long_rule = malloc(1100);
	if (long_rule) {
		memset(long_rule, 0, 1100);
		strcpy(long_rule, "arg0='");
		memset(long_rule + strlen(long_rule), 'x', 1100 - 8);
		strcat(long_rule, "'");
		expect_refused(&p, "AddMatch", long_rule,
			       "org.freedesktop.DBus.Error.LimitsExceeded");
		free(long_rule);
	}

	for (int i = 0; i < 32; i++) {
		snprintf(rule, sizeof(rule), "type='signal',arg0='%d'", i);
		add_match(&p, rule);
	}
	expect_refused(&p, "AddMatch", "type='signal'",
		       "org.freedesktop.DBus.Error.LimitsExceeded");
	/* The same rule, written otherwise: removed, which makes room for one more. */
	CHECK_STREQ(call_match(&p, "RemoveMatch", "arg0=7,type=signal"), "");
	expect_refused(&p, "RemoveMatch", "type='signal',arg0='7'",
		       "org.freedesktop.DBus.Error.MatchRuleNotFound");
	CHECK_STREQ(call_match(&p, "AddMatch", "type='signal'"), "");
	peer_close(&p);
}

/*
 * A rescan (SIGHUP) announces every change udev would have announced, to
 * each peer what its match rules ask for: vfiod plays the bus.
 */
static void test_rescan(pid_t vfiod, const char *root, const char *address)
{
	Peer all = {.name = "all", .bus = bus}, quiet, devices, groups, removed;

	CHECK(sd_bus_match_signal(bus, NULL, NULL, NULL, NULL, NULL, on_signal, &all) >= 0);
	peer_open(&quiet, "quiet", address);
	peer_open(&devices, "devices", address);
	peer_open(&groups, "groups", address);
	peer_open(&removed, "removed", address);
	add_match(&all, "type='signal',sender='io.vfiod.Broker1'");
	add_match(&devices, "type='signal',interface='org.freedesktop.DBus.ObjectManager',"
			    "member='InterfacesAdded',arg0path='/io/vfiod/Broker1/device/'");
	add_match(&groups, "member='PropertiesChanged',arg0='io.vfiod.Broker1.IommuGroup',"
			   "path_namespace='/io/vfiod/Broker1/group'");
	/* Two rules, one taken back: the other still holds. */
	add_match(&removed, "member='InterfacesRemoved'");
	add_match(&removed, "member='InterfacesRemoved',path='/io/vfiod/Broker1'");
	CHECK_STREQ(call_match(&removed, "RemoveMatch", "member='InterfacesRemoved'"), "");
	/* A rule for another sender or a unicast is no broadcast's. */
	add_match(&quiet, "sender='org.example.Other'");
	add_match(&quiet, "destination=':1.1'");

	/* A new device in a new group, an unbind that makes group 5 viable, an unplug. */
	CHECK(fixture_add_pci_device(root, "0000:00:0b.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 20, -1) == 0);
	CHECK(fixture_set_driver(root, "0000:00:05.1", NULL) == 0);
	CHECK(fixture_remove_pci_device(root, "0001:1a:1f.7") == 0);
	CHECK(kill(vfiod, SIGHUP) == 0);

	static const char *const everything[] = {
	    "InterfacesAdded /io/vfiod/Broker1/group/20",
	    "InterfacesAdded /io/vfiod/Broker1/device/pci_0000_00_0b_0",
	    "PropertiesChanged /io/vfiod/Broker1/device/pci_0000_00_05_1",
	    "PropertiesChanged /io/vfiod/Broker1/group/5",
	    "InterfacesRemoved /io/vfiod/Broker1/device/pci_0001_1a_1f_7",
	    "InterfacesRemoved /io/vfiod/Broker1/group/12",
	    NULL,
	};
	for (size_t i = 0; everything[i]; i++)
		wait_for(&all, everything[i]);
	peer_sync(&quiet);
	peer_sync(&devices);
	peer_sync(&groups);
	peer_sync(&removed);
	/* Nothing else changed (device 03.0, group 3), so nothing else was announced. */
	expect_seen(&all, everything);
	expect_seen(&quiet, (const char *[]){NULL});
	expect_seen(
	    &devices,
	    (const char *[]){"InterfacesAdded /io/vfiod/Broker1/device/pci_0000_00_0b_0", NULL});
	expect_seen(&groups, (const char *[]){"PropertiesChanged /io/vfiod/Broker1/group/5", NULL});
	expect_seen(&removed,
		    (const char *[]){"InterfacesRemoved /io/vfiod/Broker1/device/pci_0001_1a_1f_7",
				     "InterfacesRemoved /io/vfiod/Broker1/group/12", NULL});

	check_string("/io/vfiod/Broker1/device/pci_0000_00_05_1", DEVICE_IFACE, "Driver", "");
	CHECK(get_trivial("/io/vfiod/Broker1/group/5", GROUP_IFACE, "Viable", 'b') == 1);
	expect_unknown("/io/vfiod/Broker1/device/pci_0001_1a_1f_7", DEVICE_IFACE, "Name");
	check_string("/io/vfiod/Broker1/device/pci_0000_00_0b_0", DEVICE_IFACE, "Name",
		     "0000:00:0b.0");

	all.bus = NULL; /* borrowed */
	peer_close(&all);
	peer_close(&quiet);
	peer_close(&devices);
	peer_close(&groups);
	peer_close(&removed);
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
		test_group_read_once(root);
		test_unknown_paths();
		test_match_errors(paths.address);
		test_rescan(vfiod, root, paths.address);
	}
	bus = sd_bus_flush_close_unref(bus);
	CHECK(vfiod_stop(vfiod) == 0);
	fixture_free(root);
	return test_exit();
}
