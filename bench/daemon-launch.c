/* SPDX-License-Identifier: MIT */
#include "daemon-launch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "samples.h"
#include "util.h"
#include "vfiod-spawn.h"

pid_t daemon_launch(char *const argv[], char *const env[], const char *log, uint64_t nofile)
{
	pid_t pid = fork();

	if (pid < 0)
		return negative_errno();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		struct rlimit rl;

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		if (nofile > 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = nofile < rl.rlim_max ? nofile : rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				_exit(127);
		}
		for (size_t i = 0; env && env[i]; i++)
			if (putenv(env[i]) < 0)
				_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int daemon_wait_ready(const char *address, pid_t pid, double t0_usec, unsigned timeout_ms,
		      double *ret_usec)
{
	double end = now_usec() + timeout_ms * 1000.0;

	while (now_usec() < end) {
		sd_bus *bus = vfiod_connect(address);
		char *version = NULL;
		int r = -ENOTCONN;

		if (bus) {
			r = sd_bus_get_property_string(bus, NULL, "/io/vfiod/Broker1",
						       "io.vfiod.Broker1.Manager", "Version", NULL,
						       &version);
			free(version);
			sd_bus_flush_close_unref(bus);
		}
		if (r >= 0) {
			*ret_usec = now_usec() - t0_usec;
			return 0;
		}
		if (!vfiod_running(pid))
			return -ECHILD;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

int socket_wait(const char *path, pid_t pid, unsigned timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	double end = now_usec() + timeout_ms * 1000.0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	while (now_usec() < end) {
		_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return negative_errno();
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		if (!vfiod_running(pid))
			return -ECHILD;
		usleep(2000);
	}
	return -ETIMEDOUT;
}
