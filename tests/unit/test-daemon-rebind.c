/* SPDX-License-Identifier: MIT */
/*
 * Driver rebinding in the real vfiod binary against a fixture sysfs tree:
 * the refusals of Claim() with MayRebind=, Bind() and Unbind(), and the
 * rollback. Fixture files are plain files: a write lands in them, but no
 * driver ever moves, so every move fails its check and must be rolled back
 * with driver_override as it was. The moves that work are proven in the VM
 * (tests/vm/guest/rebind.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>
#include <grp.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"
#include "vfiod-spawn.h"

#define NOBODY 65534

static char *root;
static VfiodPaths vfiod;

static const char policy[] = "[Rule nic]\n"
			     "Ids=8086:10d3\n"
			     "Users=0\n"
			     "MayRebind=yes\n"
			     "\n"
			     "[Rule edu]\n"
			     "Ids=1234:11e8\n"
			     "Users=0\n"
			     "\n"
			     "[Rule e1000-without-rebind]\n"
			     "Ids=8086:100e\n"
			     "Users=0\n";

/*
 * Calls Manager.METHOD(s device) (Bind, Unbind) or Claim([device]); returns
 * the call's result, the error in *e and a string reply in *ret_driver.
 */
static int call(const char *method, const char *device, sd_bus_error *e, char **ret_driver)
{
	sd_bus_message *reply = NULL;
	const char *driver;
	sd_bus *bus;
	int r;

	bus = vfiod_connect(vfiod.address);
	if (!bus)
		return -ECONNREFUSED;
	if (streq(method, "Claim"))
		r = sd_bus_call_method(bus, NULL, "/io/vfiod/Broker1", "io.vfiod.Broker1.Manager",
				       method, e, &reply, "asa{sv}", 1, device, 0);
	else
		r = sd_bus_call_method(bus, NULL, "/io/vfiod/Broker1", "io.vfiod.Broker1.Manager",
				       method, e, &reply, "s", device);
	if (r >= 0 && ret_driver) {
		r = sd_bus_message_read(reply, "s", &driver);
		*ret_driver = r >= 0 ? strdup(driver) : NULL;
	}
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return r;
}

/* METHOD(device) fails with error `name` and a message containing each needle. */
static void expect_error(const char *method, const char *device, const char *name,
			 const char *needle1, const char *needle2)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = call(method, device, &e, NULL);
	CHECK(r < 0);
	CHECK_STREQ(e.name, name);
	for (const char *n = needle1; n; n = n == needle1 ? needle2 : NULL)
		if (!e.message || !strstr(e.message, n)) {
			fprintf(stderr, "%s %s: message \"%s\" lacks \"%s\"\n", method, device,
				e.message, n);
			test_failures++;
		}
	sd_bus_error_free(&e);
}

/* The contents of a fixture file, "" when unreadable. */
static const char *fixture_read(const char *path)
{
	static char buf[256];
	char full[1024];
	FILE *f;
	size_t n;

	snprintf(full, sizeof(full), "%s/%s", root, path);
	f = fopen(full, "re");
	if (!f)
		return "";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *override_of(const char *address)
{
	char path[128];

	snprintf(path, sizeof(path), "sys/devices/pci0000:00/%s/driver_override", address);
	return fixture_read(path);
}

/* Bind and Unbind from uid 65534 on the socket: refused before anything else. */
static void test_as_nobody(void)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		const char *methods[] = {"Bind", "Unbind"};

		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(10);
		for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
			sd_bus_error e = SD_BUS_ERROR_NULL;

			if (call(methods[i], "0000:00:04.0", &e, NULL) >= 0)
				_exit(11);
			if (!streq_ptr(e.name, "io.vfiod.Error.PermissionDenied") || !e.message ||
			    !strstr(e.message, "uid 65534"))
				_exit(12);
			sd_bus_error_free(&e);
		}
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr,
			"Bind/Unbind as nobody: child status 0x%x (10: cannot drop privileges, "
			"11: allowed, 12: wrong error)\n",
			status);
		test_failures++;
	}
}

int main(void)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *driver = NULL;
	pid_t pid;

	if (geteuid() != 0) {
		/* The policy file must be owned by root, and a child drops to nobody. */
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(fixture_new(&root) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:03.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 3, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:04.0", 0x8086, 0x10d3, 0x8086, 0, 0x020000,
				     "e1000e", 4, -1) == 0);
	/* A group with a member the rules let nobody rebind. */
	CHECK(fixture_add_pci_device(root, "0000:00:05.0", 0x8086, 0x10d3, 0x8086, 0, 0x020000,
				     "e1000e", 5, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:05.1", 0x8086, 0x100e, 0x8086, 0, 0x020000,
				     "e1000", 5, -1) == 0);
	/* No rule matches it: vfiod does not manage it. */
	CHECK(fixture_add_pci_device(root, "0000:00:06.0", 0x1af4, 0x1000, 0x1af4, 0, 0x020000,
				     "virtio-pci", 6, -1) == 0);

	CHECK(vfiod_prepare(root, policy, &vfiod) == 0);
	/* The socket is in the fixture; the child that drops to nobody must reach it. */
	CHECK(chmod(root, 0755) == 0);
	pid = vfiod_spawn(root, &vfiod, (char *[]){vfiod_no_seccomp_arg(), NULL}, NULL, false);
	CHECK(pid > 0);

	test_as_nobody();
	expect_error("Bind", "../../sys", "io.vfiod.Error.InvalidAddress", "DDDD:BB:DD.F", NULL);
	expect_error("Unbind", "0000:00:1f.0", "io.vfiod.Error.NoSuchDevice", "0000:00:1f.0", NULL);
	expect_error("Bind", "0000:00:06.0", "io.vfiod.Error.NotManaged", "0000:00:06.0", NULL);
	expect_error("Unbind", "0000:00:06.0", "io.vfiod.Error.NotManaged", "never rebinds", NULL);
	CHECK_STREQ(override_of("0000:00:06.0"), "(null)\n");

	/* Without MayRebind= a host-bound device stays refused, as before. */
	expect_error("Claim", "0000:00:05.1", "io.vfiod.Error.NotVfioDevice", "bound to e1000",
		     "MayRebind=");
	/* MayRebind= for the device, not for the other member of its group: nothing is written. */
	expect_error("Claim", "0000:00:05.0", "io.vfiod.Error.GroupNotViable",
		     "0000:00:05.1 (e1000)", "MayRebind=yes");
	CHECK_STREQ(override_of("0000:00:05.0"), "(null)\n");
	CHECK_STREQ(override_of("0000:00:05.1"), "(null)\n");

	/* The fixture has no drivers/e1000e/unbind: that step fails, driver_override goes back. */
	expect_error("Claim", "0000:00:04.0", "io.vfiod.Error.Failed", "unbinding it from e1000e",
		     "rolled back, it is on e1000e again");
	CHECK_STREQ(override_of("0000:00:04.0"), "\n");

	/* Now every write lands, but the driver never moves: the check fails, and rolls back. */
	CHECK(fixture_write_file(root, "sys/bus/pci/drivers/e1000e/unbind", "") == 0);
	CHECK(fixture_write_file(root, "sys/bus/pci/drivers/vfio-pci/unbind", "") == 0);
	CHECK(fixture_write_file(root, "sys/bus/pci/drivers_probe", "") == 0);
	expect_error("Bind", "0000:00:04.0", "io.vfiod.Error.Failed",
		     "left it on e1000e instead of vfio-pci", "rolled back");
	CHECK_STREQ(fixture_read("sys/bus/pci/drivers/e1000e/unbind"), "0000:00:04.0");
	CHECK_STREQ(fixture_read("sys/bus/pci/drivers_probe"), "0000:00:04.0");
	CHECK_STREQ(override_of("0000:00:04.0"), "\n");

	/* Already on vfio-pci: nothing to do, and the answer says so. */
	CHECK(call("Bind", "0000:00:03.0", &e, &driver) >= 0);
	CHECK_STREQ(driver, "vfio-pci");
	driver = mfree(driver);
	CHECK_STREQ(override_of("0000:00:03.0"), "(null)\n");
	/* vfiod did not bind it: Unbind lets the kernel choose, which here leaves vfio-pci. */
	expect_error("Unbind", "0000:00:03.0", "io.vfiod.Error.Failed",
		     "left it on vfio-pci instead of another driver", "rolled back");
	CHECK_STREQ(fixture_read("sys/bus/pci/drivers/vfio-pci/unbind"), "0000:00:03.0");
	/* Not on vfio-pci: nothing to do either. */
	CHECK(call("Unbind", "0000:00:04.0", &e, &driver) >= 0);
	CHECK_STREQ(driver, "e1000e");
	driver = mfree(driver);

	/* Every failed move is in the audit trail. */
	CHECK(file_count_lines(vfiod.log, "Failed to rebind 0000:00:04.0 for uid=0") == 2);
	CHECK(file_count_lines(vfiod.log, "Failed to rebind 0000:00:03.0 for uid=0") == 1);

	CHECK(vfiod_stop(pid) == 0);
	sd_bus_error_free(&e);
	fixture_free(root);
	return test_exit();
}
