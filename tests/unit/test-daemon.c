/* SPDX-License-Identifier: MIT */
/*
 * The real vfiod binary against a fixture sysfs tree: every refusal that is
 * decided before the kernel is involved (address, device, driver, policy,
 * group viability) comes back with its D-Bus error name and a message that
 * names what is wrong. The kernel paths are proven in the VM tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"
#include "vfiod-spawn.h"

static char *root;
static VfiodPaths vfiod;

static const char policy[] = "[Rule edu]\n"
			     "Ids=1234:11e8\n"
			     "Users=0\n";

/* Claims `device` and checks the error name and that the message contains `needle`. */
static void expect_refusal(const char *device, const char *name, const char *needle)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	int r;

	bus = vfiod_connect(vfiod.address);
	CHECK(bus);
	if (!bus)
		return;
	r = sd_bus_call_method(bus, NULL, "/io/vfiod/Broker1", "io.vfiod.Broker1.Manager", "Claim",
			       &e, &reply, "asa{sv}", 1, device, 0);
	CHECK(r < 0);
	CHECK_STREQ(e.name, name);
	if (!e.message || !strstr(e.message, needle)) {
		fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", device, e.message, needle);
		test_failures++;
	}
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
}

int main(void)
{
	pid_t pid;

	if (geteuid() != 0) {
		/* The policy file must be owned by root, as in production. */
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(fixture_new(&root) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:03.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 3, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:04.0", 0x8086, 0x10d3, 0x8086, 0, 0x020000,
				     "e1000e", 4, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:05.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 5, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:05.1", 0x8086, 0x100e, 0x8086, 0, 0x020000,
				     "e1000", 5, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:06.0", 0x1af4, 0x1000, 0x1af4, 0, 0x020000,
				     "vfio-pci", 6, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:07.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     NULL, 7, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:08.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 8, -1) == 0);

	CHECK(vfiod_prepare(root, policy, &vfiod) == 0);
	pid = vfiod_spawn(root, &vfiod, (char *[]){vfiod_no_seccomp_arg(), NULL}, NULL, false);
	CHECK(pid > 0);

	expect_refusal("../../etc/passwd", "io.vfiod.Error.InvalidAddress", "DDDD:BB:DD.F");
	expect_refusal("0000:00:0A.0", "io.vfiod.Error.InvalidAddress", "lower-case");
	expect_refusal("0000:00:1f.0", "io.vfiod.Error.NoSuchDevice", "0000:00:1f.0");
	expect_refusal("0000:00:04.0", "io.vfiod.Error.NotVfioDevice", "bound to e1000e");
	expect_refusal("0000:00:07.0", "io.vfiod.Error.NotVfioDevice", "not bound to any driver");
	expect_refusal("0000:00:06.0", "io.vfiod.Error.PermissionDenied", "uid 0");
	expect_refusal("0000:00:05.0", "io.vfiod.Error.GroupNotViable", "0000:00:05.1");
	expect_refusal("0000:00:05.0", "io.vfiod.Error.GroupNotViable", "e1000");
	/* Everything checks out, but the fixture has no /dev/vfio: the kernel step fails. */
	expect_refusal("0000:00:08.0", "io.vfiod.Error.Failed", "VFIO context");

	/* The daemon survived all of that and exits cleanly on SIGTERM. */
	CHECK(vfiod_stop(pid) == 0);
	fixture_free(root);
	return test_exit();
}
