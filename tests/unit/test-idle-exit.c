/* SPDX-License-Identifier: MIT */
/*
 * --exit-idle-time with the real vfiod binary against a fixture tree: the
 * daemon exits by itself (status 0) once idle for the given time, not while
 * a peer is connected, and not before the time. Socket-activated (by
 * activate-loop, as systemd would), the next connection starts it again.
 * Without the option it stays. Claims need the real kernel: see tests/vm/guest/
 * idle-exit.sh.
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

static const char policy[] = "[Rule edu]\n"
			     "Ids=1234:11e8\n"
			     "Users=0\n";

static bool exited_cleanly(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Exits about `idle` seconds after start when nobody connects (timer slack: 1 s). */
static void test_exits_when_idle(const char *root, const VfiodPaths *p)
{
	char *args[] = {"--exit-idle-time=1", vfiod_no_seccomp_arg(), NULL};
	long long start = now_ms(), took;
	int status = 0;
	pid_t pid;

	pid = vfiod_spawn(root, p, args, NULL, false);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK(vfiod_wait_exit(pid, 5000, &status) == 0);
	took = now_ms() - start;
	printf("# idle exit after %lld ms\n", took);
	CHECK(exited_cleanly(status));
	CHECK(took >= 1000);
	CHECK(file_count_lines(p->log, "Idle: exiting") == 1);
}

/* A peer connection keeps it; the idle period starts when the peer goes. */
static void test_peer_keeps_it(const char *root, const VfiodPaths *p)
{
	char *args[] = {"--exit-idle-time=1", vfiod_no_seccomp_arg(), NULL};
	sd_bus *bus = NULL;
	long long closed;
	int status = 0;
	pid_t pid;

	pid = vfiod_spawn(root, p, args, NULL, false);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	bus = vfiod_connect(p->address);
	CHECK(bus);
	CHECK(vfiod_ping(bus) == 0);
	/* Twice the idle time plus the timer's slack. */
	usleep(3000 * 1000);
	CHECK(vfiod_running(pid));
	CHECK(vfiod_ping(bus) == 0);
	bus = sd_bus_flush_close_unref(bus);
	closed = now_ms();
	CHECK(vfiod_wait_exit(pid, 5000, &status) == 0);
	printf("# exit %lld ms after the peer left\n", now_ms() - closed);
	CHECK(now_ms() - closed >= 1000);
	CHECK(exited_cleanly(status));
}

/* Without --exit-idle-time it stays. */
static void test_stays_by_default(const char *root, const VfiodPaths *p)
{
	char *args[] = {vfiod_no_seccomp_arg(), NULL};
	int status = 0;
	pid_t pid;

	pid = vfiod_spawn(root, p, args, NULL, false);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	usleep(2500 * 1000);
	CHECK(vfiod_running(pid));
	CHECK(kill(pid, SIGTERM) == 0);
	CHECK(vfiod_wait_exit(pid, 5000, &status) == 0);
	CHECK(exited_cleanly(status));
}

/* Counts activate-loop's "exited PID 0" lines. */
static unsigned clean_exits(const char *log)
{
	_cleanup_fclose_ FILE *f = fopen(log, "re");
	char line[4096];
	unsigned n = 0;
	int pid, status;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "exited %d %d", &pid, &status) == 2 && status == 0)
			n++;
	return n;
}

/* Waits until activate-loop's log has `n` lines with `needle`. */
static bool wait_lines(const char *log, const char *needle, unsigned n, unsigned timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	while (file_count_lines(log, needle) < n)
		if (now_ms() > end)
			return false;
		else
			usleep(20000);
	return true;
}

/* Socket-activated: exits when idle; the next connection starts the next instance. */
static void test_activation(const char *root, const VfiodPaths *p)
{
	char *args[] = {"--exit-idle-time=1", vfiod_no_seccomp_arg(), NULL};
	sd_bus *bus;
	int status = 0;
	pid_t loop;

	loop = vfiod_spawn(root, p, args, NULL, true);
	CHECK(loop > 0);
	if (loop <= 0)
		return;
	/* Nothing runs until someone connects. */
	usleep(300 * 1000);
	CHECK(file_count_lines(p->log, "started ") == 0);

	bus = vfiod_connect(p->address);
	CHECK(bus && vfiod_ping(bus) == 0);
	CHECK(wait_lines(p->log, "started ", 1, 1000));
	sd_bus_flush_close_unref(bus);
	CHECK(wait_lines(p->log, "exited ", 1, 5000));
	CHECK(clean_exits(p->log) == 1);

	/* The socket stays with the activator: the next connection starts vfiod again. */
	bus = vfiod_connect(p->address);
	CHECK(bus && vfiod_ping(bus) == 0);
	CHECK(wait_lines(p->log, "started ", 2, 1000));
	sd_bus_flush_close_unref(bus);
	CHECK(wait_lines(p->log, "exited ", 2, 5000));
	CHECK(clean_exits(p->log) == 2);
	CHECK(file_count_lines(p->log, "started ") == 2);

	CHECK(kill(loop, SIGTERM) == 0);
	CHECK(vfiod_wait_exit(loop, 5000, &status) == 0);
	CHECK(exited_cleanly(status));
}

int main(void)
{
	char *root = NULL;
	VfiodPaths p;

	if (geteuid() != 0) {
		/* The policy file must be owned by root, as in production. */
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(fixture_new(&root) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:03.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 3, -1) == 0);
	CHECK(vfiod_prepare(root, policy, &p) == 0);

	test_exits_when_idle(root, &p);
	test_peer_keeps_it(root, &p);
	test_stays_by_default(root, &p);
	unlink(p.log);
	test_activation(root, &p);

	if (test_failures) {
		_cleanup_fclose_ FILE *f = fopen(p.log, "re");
		char line[4096];

		while (f && fgets(line, sizeof(line), f))
			fputs(line, stderr);
	}
	fixture_free(root);
	return test_exit();
}
