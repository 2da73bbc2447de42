/* SPDX-License-Identifier: MIT */
/*
 * The system call filter of the real vfiod binary. An LD_PRELOAD shim
 * (seccomp-probe.c) tries calls inside the daemon once the filter is on:
 * execve, socket(AF_INET), ptrace, non-VFIO ioctls and the rest of the
 * forbidden list fail with EPERM, while the calls the daemon needs work (a
 * VFIO ioctl reaches the driver). The same probes under --no-seccomp do not
 * fail with EPERM, so they can tell a missing filter. The filtered daemon
 * still serves a claim up to the kernel step and reloads its policy (name
 * lookups through NSS) on SIGHUP.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"
#include "vfiod-spawn.h"

/* "Users=root": loading the policy resolves a name, before and after the filter. */
static const char policy[] = "[Rule edu]\n"
			     "Ids=1234:11e8\n"
			     "Users=root\n";

static const char *const forbidden[] = {
    "execve",	      "socket-inet",   "socket-netlink",
    "ptrace",	      "ioctl-fionbio", "ioctl-tiocgwinsz",
    "x32-getpid",     "mmap-exec",     "mprotect-exec",
    "fork",	      "kill",	       "pidfd_getfd",
    "prlimit-nofile",
};

static const struct {
	const char *name, *result;
} needed[] = {
    {"socket-unix", "ok"},	 {"open", "ok"},
    {"ioctl-vfio", "ENOTTY"},	 {"ioctl-tcgets", "ENOTTY"},
    {"eventfd", "ok"},		 {"memfd", "ok"},
    {"memfd-seals", "ok"},	 {"mmap-rw", "ok"},
    {"prlimit-memlock", "ok"},	 {"pidfd_open", "ok"},
    {"pidfd_send_signal", "ok"}, {"getpwnam", "ok"},
};

/* The result the probe recorded for `name` (static buffer), or NULL. */
static const char *probe_result(const char *path, const char *name)
{
	static char result[64];
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[256];
	size_t n = strlen(name);

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, n) != 0 || line[n] != ' ')
			continue;
		snprintf(result, sizeof(result), "%s", line + n + 1);
		result[strcspn(result, "\n")] = '\0';
		return result;
	}
	return NULL;
}

static void print_file(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[4096];

	fprintf(stderr, "--- %s\n", path);
	while (f && fgets(line, sizeof(line), f))
		fputs(line, stderr);
}

static void expect_claim_reaches_kernel(const char *address)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = vfiod_connect(address);
	int r;

	CHECK(bus);
	if (!bus)
		return;
	/* Authorized; the fixture has no /dev/vfio, so the VFIO step fails. */
	r = sd_bus_call_method(bus, NULL, "/io/vfiod/Broker1", "io.vfiod.Broker1.Manager", "Claim",
			       &e, &reply, "asa{sv}", 1, "0000:00:03.0", 0);
	CHECK(r < 0);
	CHECK_STREQ(e.name, "io.vfiod.Error.Failed");
	CHECK(e.message && strstr(e.message, "VFIO context"));
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
}

static void run(const char *root, bool filter)
{
	char output[600], probe_env[700], preload[700], asan[1024];
	const char *asan_options = getenv("ASAN_OPTIONS");
	char *env[] = {probe_env, preload, asan, NULL};
	char *args[] = {filter ? NULL : "--no-seccomp", NULL};
	VfiodPaths p;
	const char *result;
	int status;
	pid_t pid;

	printf("# %s\n", filter ? "with the filter" : "with --no-seccomp");
	CHECK(vfiod_prepare(root, policy, &p) == 0);
	snprintf(output, sizeof(output), "%s/probe-%s.txt", root, filter ? "filter" : "none");
	snprintf(probe_env, sizeof(probe_env), "SECCOMP_PROBE_OUTPUT=%s", output);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", getenv("SECCOMP_PROBE"));
	/*
	 * Under AddressSanitizer: the shim comes before the ASan runtime, and
	 * LeakSanitizer's exit check needs ptrace, which the filter refuses.
	 */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0%s",
		 asan_options ?: "", asan_options ? ":" : "", filter ? ":detect_leaks=0" : "");

	pid = vfiod_spawn(root, &p, args, env, false);
	CHECK(pid > 0);
	if (pid <= 0) {
		fprintf(stderr, "Cannot start vfiod: %s\n", strerror((int)-pid));
		print_file(p.log);
		return;
	}
	for (int i = 0; i < 500 && file_count_lines(output, "done") == 0; i++)
		usleep(10000);
	CHECK(file_count_lines(output, "done") == 1);

	for (size_t i = 0; i < ELEMENTSOF(forbidden); i++) {
		result = probe_result(output, forbidden[i]);
		printf("#   %-18s %s\n", forbidden[i], result ?: "(missing)");
		CHECK(result);
		if (result && filter)
			CHECK_STREQ(result, "EPERM");
		else if (result && streq(result, "EPERM")) {
			fprintf(stderr, "%s fails with EPERM without the filter\n", forbidden[i]);
			test_failures++;
		}
	}
	for (size_t i = 0; i < ELEMENTSOF(needed); i++) {
		result = probe_result(output, needed[i].name);
		printf("#   %-18s %s\n", needed[i].name, result ?: "(missing)");
		CHECK_STREQ(result, needed[i].result);
	}

	if (filter) {
		expect_claim_reaches_kernel(p.address);
		CHECK(kill(pid, SIGHUP) == 0);
		for (int i = 0; i < 500 && file_count_lines(p.log, "Policy loaded") < 2; i++)
			usleep(10000);
		CHECK(file_count_lines(p.log, "Policy loaded") == 2);
	}
	CHECK(kill(pid, SIGTERM) == 0);
	CHECK(vfiod_wait_exit(pid, 10000, &status) == 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (test_failures)
		print_file(p.log);
}

int main(void)
{
	char *root = NULL;

	if (geteuid() != 0) {
		/* The policy file must be owned by root, as in production. */
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(fixture_new(&root) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:03.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 3, -1) == 0);
	run(root, true);
	run(root, false);
	fixture_free(root);
	return test_exit();
}
