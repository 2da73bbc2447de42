/* SPDX-License-Identifier: MIT */
#include "daemon-fixture.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

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

int daemon_fixture_start(DaemonFixture *f, const char *root, const char *policy,
			 const char *const *extra_args)
{
	const char *binary = getenv("VFIOD_BINARY");
	char etc[300], dev[300], config[320];
	const char *argv[32];
	size_t n = 0;
	int r;

	if (!binary)
		return -ENOENT;
	snprintf(f->root, sizeof(f->root), "%s", root);
	snprintf(etc, sizeof(etc), "%s/etc", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	snprintf(config, sizeof(config), "%s/etc/vfiod.conf", root);
	snprintf(f->socket, sizeof(f->socket), "%s/broker.sock", root);
	snprintf(f->address, sizeof(f->address), "unix:path=%s", f->socket);
	if ((mkdir(etc, 0755) < 0 && errno != EEXIST) || (mkdir(dev, 0755) < 0 && errno != EEXIST))
		return -errno;
	r = write_file(config, policy, 0644);
	if (r < 0)
		return r;

	argv[n++] = "vfiod";
	argv[n++] = "--root";
	argv[n++] = root;
	argv[n++] = "--socket";
	argv[n++] = f->socket;
	argv[n++] = "--config";
	argv[n++] = config;
	argv[n++] = "--no-system-bus";
	/* LeakSanitizer needs ptrace at exit, which the system call filter refuses. */
	if (streq_ptr(getenv("VFIOD_SANITIZED"), "1"))
		argv[n++] = "--no-seccomp";
	for (size_t i = 0; extra_args && extra_args[i] && n < 31; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;

	(void)unlink(f->socket);
	f->pid = fork();
	if (f->pid < 0)
		return -errno;
	if (f->pid == 0) {
		execv(binary, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (access(f->socket, F_OK) == 0)
			return 0;
		if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
			f->pid = 0;
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int daemon_fixture_connect(const DaemonFixture *f, sd_bus **ret)
{
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, f->address);
	if (r >= 0)
		r = sd_bus_negotiate_fds(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		sd_bus_unref(bus);
		return r;
	}
	*ret = bus;
	return 0;
}

int daemon_fixture_stop(DaemonFixture *f)
{
	int status;

	if (f->pid <= 0)
		return -1;
	if (kill(f->pid, SIGTERM) < 0 || waitpid(f->pid, &status, 0) != f->pid)
		return -1;
	f->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
