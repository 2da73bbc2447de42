/* SPDX-License-Identifier: MIT */
/*
 * The real vfiod binary and its fd limit: it raises the soft RLIMIT_NOFILE
 * that services start with, and when it runs out of fds anyway it pauses
 * accepting connections (one warning a pause) instead of spinning on the
 * readable listening socket, and accepts again once fds are free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"
#include "vfiod-spawn.h"

#define N_CONNECTIONS 64

static const char policy[] = "[Rule edu]\n"
			     "Ids=1234:11e8\n"
			     "Users=0\n";

/* The soft limit of "Max open files" in /proc/PID/limits, or 0. */
static unsigned long long soft_nofile(pid_t pid)
{
	char path[64], line[256];
	unsigned long long soft = 0;
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Max open files %llu", &soft) == 1)
			break;
	return soft;
}

static int connect_raw(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path)) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(void)
{
	char *args[] = {vfiod_no_seccomp_arg(), NULL};
	struct rlimit own, service = {1024, 1024}, tiny = {24, 24}; /* hard limits set below */
	int fds[N_CONNECTIONS];
	char *root = NULL;
	unsigned long long want;
	unsigned pauses, failures;
	VfiodPaths p;
	sd_bus *bus;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(fixture_new(&root) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:03.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 3, -1) == 0);
	CHECK(vfiod_prepare(root, policy, &p) == 0);

	/* Started with a service's soft limit of 1024: raised within the hard limit. */
	CHECK(getrlimit(RLIMIT_NOFILE, &own) == 0);
	/* Soft limits only: raising a hard limit again would need CAP_SYS_RESOURCE. */
	service.rlim_max = tiny.rlim_max = own.rlim_max;
	CHECK(setrlimit(RLIMIT_NOFILE, &service) == 0);
	pid = vfiod_spawn(root, &p, args, NULL, false);
	CHECK(setrlimit(RLIMIT_NOFILE, &own) == 0);
	CHECK(pid > 0);
	if (pid <= 0)
		return test_exit();
	want = own.rlim_max < 65536 ? own.rlim_max : 65536;
	printf("# soft fd limit %llu (hard %llu)\n", soft_nofile(pid),
	       (unsigned long long)own.rlim_max);
	CHECK(soft_nofile(pid) == want);

	/* Out of fds: a few pauses in a second, not a spin on accept(). */
	CHECK(prlimit(pid, RLIMIT_NOFILE, &tiny, NULL) == 0);
	for (size_t i = 0; i < N_CONNECTIONS; i++)
		fds[i] = connect_raw(p.socket);
	usleep(1000 * 1000);
	pauses = file_count_lines(p.log, "not accepting for");
	failures = file_count_lines(p.log, "accept() failed");
	printf("# 1 s out of fds: %u pause(s), %u accept() failure line(s)\n", pauses, failures);
	CHECK(pauses >= 1);
	CHECK(failures == pauses);
	CHECK(pauses <= 8);
	CHECK(vfiod_running(pid));

	/* Fds free again: the next connection is served. */
	for (size_t i = 0; i < N_CONNECTIONS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	CHECK(prlimit(pid, RLIMIT_NOFILE, &own, NULL) == 0);
	usleep(500 * 1000);
	bus = vfiod_connect(p.address);
	CHECK(bus && vfiod_ping(bus) == 0);
	sd_bus_flush_close_unref(bus);

	CHECK(vfiod_stop(pid) == 0);
	if (test_failures) {
		_cleanup_fclose_ FILE *f = fopen(p.log, "re");
		char line[4096];

		while (f && fgets(line, sizeof(line), f))
			fputs(line, stderr);
	}
	fixture_free(root);
	return test_exit();
}
