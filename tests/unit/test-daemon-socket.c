/* SPDX-License-Identifier: MIT */
/*
 * The private socket's life with the real vfiod binary: the path appears only
 * once it accepts connections (a client racing the start never sees
 * ECONNREFUSED), a stale file left by a crash is replaced, a second instance
 * does not steal the socket of a live one, and a clean exit leaves no file.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/param.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"
#include "vfiod-spawn.h"

#define STARTS 20

static const char policy[] = "[Rule edu]\n"
			     "Ids=1234:11e8\n"
			     "Users=0\n";

static struct sockaddr_un address_of(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	/* The fixture root is a short mkdtemp() name. */
	memcpy(sa.sun_path, path, MIN(strlen(path), sizeof(sa.sun_path) - 1));
	return sa;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = address_of(path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return negative_errno();
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? negative_errno() : 0;
}

/*
 * A child that connects in a tight loop until it gets through. It exits 0 if
 * every failure before that was "no such file", 1 on anything else.
 */
static pid_t start_racer(const char *path)
{
	pid_t pid = fork();
	int r;

	if (pid != 0)
		return pid;
	for (long long end = now_ms() + 20000; now_ms() < end;) {
		r = connect_to(path);
		if (r == 0)
			_exit(0);
		if (r != -ENOENT) {
			fprintf(stderr, "connect: %s\n", strerror(-r));
			_exit(1);
		}
	}
	_exit(2);
}

static void test_start_race(const char *root, const VfiodPaths *p)
{
	char *args[] = {vfiod_no_seccomp_arg(), NULL};
	unsigned clean = 0;

	for (int i = 0; i < STARTS; i++) {
		pid_t racer, pid;
		int status = -1;

		(void)unlink(p->socket);
		racer = start_racer(p->socket);
		pid = vfiod_spawn(root, p, args, NULL, false);
		CHECK(pid > 0);
		CHECK(racer > 0 && waitpid(racer, &status, 0) == racer);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			clean++;
		CHECK(vfiod_stop(pid) == 0);
	}
	printf("# %u of %d racing clients got through at their first non-ENOENT try\n", clean,
	       STARTS);
	CHECK(clean == STARTS);
}

/* A crash leaves the file behind; the next start replaces it. */
static void test_stale_file(const char *root, const VfiodPaths *p)
{
	struct sockaddr_un sa = address_of(p->socket);
	char *args[] = {vfiod_no_seccomp_arg(), NULL};
	sd_bus *bus;
	pid_t pid;
	int fd;

	(void)unlink(p->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	CHECK(connect_to(p->socket) == -ECONNREFUSED);

	pid = vfiod_spawn(root, p, args, NULL, false);
	CHECK(pid > 0);
	bus = vfiod_connect(p->address);
	CHECK(bus && vfiod_ping(bus) == 0);
	sd_bus_flush_close_unref(bus);
	CHECK(vfiod_stop(pid) == 0);
}

/* A second instance on the same path fails and the first keeps its socket. */
static void test_second_instance(const char *root, const VfiodPaths *p)
{
	char *args[] = {vfiod_no_seccomp_arg(), NULL};
	int status = 0;
	sd_bus *bus;
	pid_t first, second;

	first = vfiod_spawn(root, p, args, NULL, false);
	CHECK(first > 0);
	second = vfiod_spawn(root, p, args, NULL, false);
	CHECK(second > 0);
	CHECK(vfiod_wait_exit(second, 10000, &status) == 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(file_count_lines(p->log, "Another process already listens on") == 1);

	bus = vfiod_connect(p->address);
	CHECK(bus && vfiod_ping(bus) == 0);
	sd_bus_flush_close_unref(bus);
	CHECK(vfiod_running(first));
	CHECK(vfiod_stop(first) == 0);
}

/* After a clean exit neither the socket nor a temporary name is left. */
static void test_nothing_left(const char *root, const VfiodPaths *p)
{
	struct dirent *de;
	DIR *d;
	unsigned left = 0;

	CHECK(access(p->socket, F_OK) < 0 && errno == ENOENT);
	d = opendir(root);
	CHECK(d);
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, ".new")) {
			fprintf(stderr, "left behind: %s\n", de->d_name);
			left++;
		}
	if (d)
		closedir(d);
	CHECK(left == 0);
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

	test_start_race(root, &p);
	test_nothing_left(root, &p);
	test_stale_file(root, &p);
	test_second_instance(root, &p);
	test_nothing_left(root, &p);

	if (test_failures) {
		_cleanup_fclose_ FILE *f = fopen(p.log, "re");
		char line[4096];

		while (f && fgets(line, sizeof(line), f))
			fputs(line, stderr);
	}
	fixture_free(root);
	return test_exit();
}
