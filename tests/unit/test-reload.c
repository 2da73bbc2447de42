/* SPDX-License-Identifier: MIT */
/*
 * Policy reload against the real vfiod binary on a fixture sysfs tree: the
 * D-Bus Reload() method (root may, others may not; a broken policy is an
 * error naming FILE:LINE and the old policy stays) and SIGHUP (the same,
 * without a caller to tell). Which policy is in force shows in how a claim
 * of the fixture's device is refused: granted ones fail later, at the VFIO
 * step the fixture has no kernel for.
 */
#include <fcntl.h>
#include <grp.h>
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
#include "vfiod-spawn.h"

#define DEVICE	   "0000:00:08.0"
#define NOBODY	   65534
#define GRANTED	   "io.vfiod.Error.Failed"	     /* past the policy, at the missing /dev/vfio */
#define DENIED	   "io.vfiod.Error.PermissionDenied" /* by the policy */
#define POLICY_OLD "[Rule edu]\nIds=1234:11e8\nUsers=0\n"
#define POLICY_NEW "[Rule edu]\nIds=1234:11e8\nUsers=4242\n"

static char *root;
static char address[600], config[512], dropins[512], bad[600];

static int write_file(const char *path, const char *contents, mode_t mode)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs(contents, f);
	if (fclose(f) != 0)
		return -errno;
	return chmod(path, mode) < 0 ? -errno : 0;
}

static pid_t start_daemon(void)
{
	VfiodPaths p;

	/* Others must reach the socket, for the non-root caller. */
	if (chmod(root, 0755) < 0 || vfiod_prepare(root, POLICY_OLD, &p) < 0)
		return -1;
	snprintf(address, sizeof(address), "%s", p.address);
	snprintf(config, sizeof(config), "%s", p.config);
	snprintf(dropins, sizeof(dropins), "%s/etc/policy.d", root);
	snprintf(bad, sizeof(bad), "%s/50-bad.conf", dropins);
	if (mkdir(dropins, 0755) < 0)
		return -1;
	return vfiod_spawn(root, &p, (char *[]){vfiod_no_seccomp_arg(), NULL}, NULL, false);
}

static sd_bus *connect_daemon(void)
{
	return vfiod_connect(address);
}

/* Calls Reload(); returns its result, with the error in *e. */
static int reload(sd_bus_error *e)
{
	sd_bus *bus = connect_daemon();
	int r;

	if (!bus)
		return -ECONNREFUSED;
	r = sd_bus_call_method(bus, NULL, "/io/vfiod/Broker1", "io.vfiod.Broker1.Manager", "Reload",
			       e, NULL, "");
	sd_bus_flush_close_unref(bus);
	return r;
}

/* The error name a claim of DEVICE gets now. */
static char *claim_error(void)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *bus = connect_daemon();
	char *name = NULL;

	if (!bus)
		return NULL;
	if (sd_bus_call_method(bus, NULL, "/io/vfiod/Broker1", "io.vfiod.Broker1.Manager", "Claim",
			       &e, NULL, "asa{sv}", 1, DEVICE, 0) < 0 &&
	    e.name)
		name = strdup(e.name);
	sd_bus_error_free(&e);
	sd_bus_flush_close_unref(bus);
	return name;
}

static void expect_claim_at(int line, const char *expected)
{
	_cleanup_free_ char *name = claim_error();

	if (!streq_ptr(name, expected)) {
		fprintf(stderr, "test-reload.c:%d: claim got %s, expected %s\n", line,
			name ?: "(no error)", expected);
		test_failures++;
	}
}
#define EXPECT_CLAIM(name) expect_claim_at(__LINE__, name)

static void expect_message_at(int line, const sd_bus_error *e, const char *part)
{
	if (!e->message || !strstr(e->message, part)) {
		fprintf(stderr, "test-reload.c:%d: message \"%s\" lacks \"%s\"\n", line,
			e->message ?: "(null)", part);
		test_failures++;
	}
}
#define EXPECT_MESSAGE(e, part) expect_message_at(__LINE__, e, part)

/* SIGHUP is asynchronous: waits (at most 2 s) until the claim gets `expected`. */
static void expect_claim_eventually_at(int line, const char *expected)
{
	for (int i = 0; i < 200; i++) {
		_cleanup_free_ char *name = claim_error();
		if (streq_ptr(name, expected))
			return;
		usleep(10000);
	}
	expect_claim_at(line, expected);
}

/* Runs vfioctl --address ADDRESS reload; returns its exit status and its stderr in *ret_err. */
static int vfioctl_reload(char **ret_err)
{
	FILE *err = tmpfile();
	int status = -1;
	size_t n;
	pid_t pid;

	if (!err)
		abort();
	pid = fork();
	if (pid == 0) {
		if (dup2(fileno(err), 2) < 0)
			_exit(127);
		execl(getenv("VFIOCTL"), "vfioctl", "--address", address, "reload", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		status = -1;
	else
		status = WEXITSTATUS(status);
	*ret_err = calloc(1, 4096);
	if (!*ret_err)
		abort();
	rewind(err);
	n = fread(*ret_err, 1, 4095, err);
	(*ret_err)[n] = 0;
	fclose(err);
	return status;
}

/* A non-root caller, in a child that drops to nobody: Reload must be refused. */
static void test_reload_as_nobody(void)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		int r;

		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(10);
		r = reload(&e);
		if (r >= 0)
			_exit(11);
		if (!streq_ptr(e.name, "io.vfiod.Error.PermissionDenied"))
			_exit(12);
		if (!e.message || !strstr(e.message, "uid 65534"))
			_exit(13);
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr,
			"non-root Reload: child status 0x%x (10: cannot drop privileges, "
			"11: allowed, 12: wrong error, 13: wrong message)\n",
			status);
		test_failures++;
	}
}

int main(void)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *where = NULL;
	pid_t pid;

	if (geteuid() != 0) {
		/* Policy files must be owned by root, and the test drops to another uid. */
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(fixture_new(&root) == 0);
	CHECK(fixture_add_pci_device(root, DEVICE, 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 8, -1) == 0);
	pid = start_daemon();
	CHECK(pid > 0);

	/* The policy at start grants the device to root. */
	EXPECT_CLAIM(GRANTED);

	/* Root reloads a new policy, which no longer does. */
	CHECK(write_file(config, POLICY_NEW, 0644) == 0);
	CHECK(reload(&e) >= 0);
	sd_bus_error_free(&e);
	EXPECT_CLAIM(DENIED);

	/* A broken drop-in: the error names it and its line, and the previous policy stays,
	 * although the main file would grant the device again. */
	CHECK(write_file(config, POLICY_OLD, 0644) == 0);
	CHECK(write_file(bad, "# bad\n[Rule bad]\nIds=12g4:11e8\nUsers=0\n", 0644) == 0);
	CHECK(reload(&e) < 0);
	CHECK_STREQ(e.name, "io.vfiod.Error.InvalidPolicy");
	CHECK(asprintf(&where, "%s:3: Ids=: \"12g4:11e8\" is not VENDOR:DEVICE", bad) > 0);
	EXPECT_MESSAGE(&e, where);
	EXPECT_MESSAGE(&e, "keeping the previous policy");
	sd_bus_error_free(&e);
	EXPECT_CLAIM(DENIED);

	/* A world-writable drop-in is refused the same way. */
	CHECK(write_file(bad, "[Rule fine]\nIds=*:*\nUsers=99\n", 0666) == 0);
	CHECK(reload(&e) < 0);
	CHECK_STREQ(e.name, "io.vfiod.Error.InvalidPolicy");
	EXPECT_MESSAGE(&e, "50-bad.conf: refusing to read: writable by others");
	sd_bus_error_free(&e);
	EXPECT_CLAIM(DENIED);

	/* Others may not reload, not even a good policy. */
	CHECK(chmod(bad, 0644) == 0);
	test_reload_as_nobody();
	EXPECT_CLAIM(DENIED);

	/* SIGHUP: a broken policy keeps the old one; a good one is taken. */
	CHECK(chmod(bad, 0666) == 0);
	CHECK(kill(pid, SIGHUP) == 0);
	usleep(200000);
	EXPECT_CLAIM(DENIED);
	CHECK(chmod(bad, 0644) == 0);
	CHECK(kill(pid, SIGHUP) == 0);
	expect_claim_eventually_at(__LINE__, GRANTED);

	/* And Reload() as root works again after all that, also through vfioctl reload. */
	CHECK(write_file(config, POLICY_NEW, 0644) == 0);
	CHECK(reload(&e) >= 0);
	sd_bus_error_free(&e);
	EXPECT_CLAIM(DENIED);
	{
		_cleanup_free_ char *err = NULL;

		CHECK(write_file(config, POLICY_OLD, 0644) == 0);
		CHECK(vfioctl_reload(&err) == 0);
		CHECK_STREQ(err, "");
		EXPECT_CLAIM(GRANTED);
		free(err);
		CHECK(write_file(bad, "[Rule bad]\nIds=*:*\nUsers=0\nMaxDevices=0\n", 0644) == 0);
		CHECK(vfioctl_reload(&err) == 1);
		if (!strstr(err, "vfioctl: reload failed: ") || !strstr(err, "50-bad.conf:4: ") ||
		    !strstr(err, "(io.vfiod.Error.InvalidPolicy)")) {
			fprintf(stderr, "vfioctl reload said: %s\n", err);
			test_failures++;
		}
		EXPECT_CLAIM(GRANTED);
	}

	CHECK(vfiod_stop(pid) == 0);
	fixture_free(root);
	return test_exit();
}
