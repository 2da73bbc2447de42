/* SPDX-License-Identifier: MIT */
#include "vfiod-spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define MAX_ARGS 32

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int write_file(const char *path, const char *contents)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return negative_errno();
	fputs(contents, f);
	return fclose(f) == 0 ? 0 : negative_errno();
}

int vfiod_prepare(const char *root, const char *policy, VfiodPaths *ret)
{
	char etc[512], dev[512];

	snprintf(etc, sizeof(etc), "%s/etc", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	snprintf(ret->config, sizeof(ret->config), "%s/etc/vfiod.conf", root);
	snprintf(ret->socket, sizeof(ret->socket), "%s/broker.sock", root);
	snprintf(ret->address, sizeof(ret->address), "unix:path=%s", ret->socket);
	snprintf(ret->log, sizeof(ret->log), "%s/vfiod.log", root);
	if ((mkdir(etc, 0755) < 0 && errno != EEXIST) || (mkdir(dev, 0755) < 0 && errno != EEXIST))
		return negative_errno();
	/* The daemon refuses a policy that is not root's or is writable by others. */
	if (write_file(ret->config, policy) < 0 || chmod(ret->config, 0644) < 0)
		return negative_errno();
	return 0;
}

/*
 * Whether the daemon serves `path`. A connection would activate a socket-
 * activated one, so there the file appearing is the sign (activate-loop binds
 * under a temporary name, as vfiod does).
 */
static bool socket_ready(const char *path, bool activated)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -EBADF;

	if (activated)
		return access(path, F_OK) == 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

pid_t vfiod_spawn(const char *root, const VfiodPaths *p, char *const args[], char *const env[],
		  bool activated)
{
	const char *binary = getenv("VFIOD_BINARY");
	const char *activator = getenv("ACTIVATE_LOOP");
	const char *argv[MAX_ARGS];
	size_t n = 0;
	pid_t pid;

	if (!binary || (activated && !activator))
		return -ENOENT;
	if (activated) {
		/* Its listening socket starts the daemon, so readiness is the file appearing. */
		(void)unlink(p->socket);
		argv[n++] = activator;
		argv[n++] = p->socket;
		argv[n++] = "--";
	}
	argv[n++] = binary;
	argv[n++] = "--root";
	argv[n++] = root;
	argv[n++] = "--config";
	argv[n++] = p->config;
	argv[n++] = "--no-system-bus";
	if (!activated) {
		argv[n++] = "--socket";
		argv[n++] = p->socket;
	}
	for (size_t i = 0; args && args[i]; i++) {
		if (n >= MAX_ARGS - 1)
			return -E2BIG;
		argv[n++] = args[i];
	}
	argv[n] = NULL;

	pid = fork();
	if (pid < 0)
		return negative_errno();
	if (pid == 0) {
		int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		for (size_t i = 0; env && env[i]; i++)
			if (putenv(env[i]) < 0)
				_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 500 && !socket_ready(p->socket, activated); i++) {
		if (!vfiod_running(pid))
			return -ECHILD;
		usleep(10000);
	}
	if (!socket_ready(p->socket, activated)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -ETIMEDOUT;
	}
	return pid;
}

char *vfiod_no_seccomp_arg(void)
{
	const char *s = getenv("VFIOD_SANITIZED");

	return s && streq(s, "1") ? "--no-seccomp" : NULL;
}

int vfiod_stop(pid_t pid)
{
	int status;

	if (pid <= 0 || kill(pid, SIGTERM) < 0 || vfiod_wait_exit(pid, 10000, &status) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int vfiod_wait_exit(pid_t pid, unsigned timeout_ms, int *ret_status)
{
	long long end = now_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(pid, ret_status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return negative_errno();
		if (now_ms() >= end)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

bool vfiod_running(pid_t pid)
{
	siginfo_t si = {0};

	/* WNOWAIT: look without reaping, so a later vfiod_wait_exit() still sees the status. */
	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return false;
	return si.si_pid == 0;
}

sd_bus *vfiod_connect(const char *address)
{
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_negotiate_fds(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0)
		return sd_bus_flush_close_unref(bus);
	return bus;
}

int vfiod_ping(sd_bus *bus)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *version = NULL;
	int r;

	r = sd_bus_get_property_string(bus, NULL, "/io/vfiod/Broker1", "io.vfiod.Broker1.Manager",
				       "Version", &e, &version);
	if (r < 0)
		fprintf(stderr, "Version: %s\n", e.message ?: strerror(-r));
	sd_bus_error_free(&e);
	free(version);
	return r < 0 ? r : 0;
}

unsigned file_count_lines(const char *path, const char *needle)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[4096];
	unsigned n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	return n;
}

long long proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	size_t len = strlen(field);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			return strtoll(line + len + 1, NULL, 10);
	return -ENOENT;
}
