/* SPDX-License-Identifier: MIT */
/*
 * The real vfiod binary against a fixture sysfs tree: every refusal that is
 * decided before the kernel is involved (address, device, driver, policy,
 * group viability) comes back with its D-Bus error name and a message that
 * names what is wrong. The kernel paths are proven in the VM tests.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"

static char *root;
static char address[300];

static const char policy[] = "[Rule edu]\n"
			     "Ids=1234:11e8\n"
			     "Users=0\n";

static int write_file(const char *path, const char *contents)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs(contents, f);
	return fclose(f) == 0 ? 0 : -errno;
}

static pid_t start_daemon(void)
{
	char sock[256], config[256], etc[256], dev[256];
	const char *binary = getenv("VFIOD_BINARY"), *sanitized;
	pid_t pid;

	snprintf(etc, sizeof(etc), "%s/etc", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	snprintf(config, sizeof(config), "%s/etc/vfiod.conf", root);
	snprintf(sock, sizeof(sock), "%s/broker.sock", root);
	snprintf(address, sizeof(address), "unix:path=%s", sock);
	if (mkdir(etc, 0755) < 0 || mkdir(dev, 0755) < 0 || write_file(config, policy) < 0 ||
	    chmod(config, 0644) < 0)
		return -1;

	/* LeakSanitizer needs ptrace at exit, which the system call filter refuses. */
	sanitized = getenv("VFIOD_SANITIZED");
	pid = fork();
	if (pid == 0) {
		execl(binary, "vfiod", "--root", root, "--socket", sock, "--config", config,
		      "--no-system-bus", sanitized && streq(sanitized, "1") ? "--no-seccomp" : NULL,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(sock, F_OK) < 0; i++)
		usleep(10000);
	return pid;
}

/* Claims `device` and checks the error name and that the message contains `needle`. */
static void expect_refusal(const char *device, const char *name, const char *needle)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_negotiate_fds(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	CHECK(r >= 0);
	if (r < 0)
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
	int status;

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

	pid = start_daemon();
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
	CHECK(kill(pid, SIGTERM) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fixture_free(root);
	return test_exit();
}
