/* SPDX-License-Identifier: MIT */
/*
 * activate-loop SOCKET -- PROGRAM [ARGS...]
 *
 * What a systemd socket unit with Accept=no does, for tests where systemd is
 * not PID 1: binds and listens on the UNIX stream socket SOCKET (mode 0666),
 * and whenever a connection is pending and PROGRAM is not running, starts
 * PROGRAM with the listening socket as fd 3 (LISTEN_FDS=1, LISTEN_PID).
 * Connections that arrive while PROGRAM exits wait in the backlog for the
 * next start. systemd-socket-activate cannot do this: it execs PROGRAM in
 * place and so starts it once.
 *
 * Prints "started PID" and "exited PID STATUS" lines on stdout. Gives up
 * after 20 starts (a program that exits without accepting would loop). On
 * SIGTERM or SIGINT: sends SIGTERM to PROGRAM, waits for it, exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STARTS 20

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	stop = 1;
}

/* Like vfiod itself, and systemd: the path appears only once it listens. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.new", path) >= (int)sizeof(sa.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	(void)unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0666) < 0 ||
	    listen(fd, SOMAXCONN) < 0 || rename(sa.sun_path, path) < 0) {
		(void)unlink(sa.sun_path);
		close(fd);
		return -1;
	}
	return fd;
}

static pid_t start(int listen_fd, char **argv)
{
	char pid_str[32];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* The child: fd 3 without FD_CLOEXEC, and the environment sd_listen_fds() reads. */
	if (listen_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(listen_fd, 3) < 0)
		_exit(127);
	snprintf(pid_str, sizeof(pid_str), "%d", (int)getpid());
	if (setenv("LISTEN_FDS", "1", 1) < 0 || setenv("LISTEN_PID", pid_str, 1) < 0)
		_exit(127);
	unsetenv("LISTEN_FDNAMES");
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	execvp(argv[0], argv);
	_exit(127);
}

int main(int argc, char *argv[])
{
	struct sigaction sa = {.sa_handler = on_stop};
	int listen_fd, status;
	unsigned starts = 0;
	pid_t child;

	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "Usage: activate-loop SOCKET -- PROGRAM [ARGS...]\n");
		return 2;
	}
	/* No SA_RESTART: poll() and waitpid() return EINTR on a stop request. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listen_fd = listen_on(argv[1]);
	if (listen_fd < 0) {
		fprintf(stderr, "activate-loop: cannot listen on %s: %m\n", argv[1]);
		return 1;
	}
	while (!stop) {
		struct pollfd p = {.fd = listen_fd, .events = POLLIN};

		/* A timeout, so that a stop request between the check and poll() is seen. */
		int n = poll(&p, 1, 200);

		if (n < 0 && errno != EINTR)
			return 1;
		if (n <= 0)
			continue;
		if (++starts > MAX_STARTS) {
			fprintf(stderr, "activate-loop: %d starts, giving up\n", MAX_STARTS);
			return 1;
		}
		child = start(listen_fd, argv + 3);
		if (child < 0)
			return 1;
		printf("started %d\n", (int)child);
		while (waitpid(child, &status, 0) < 0) {
			if (errno != EINTR)
				return 1;
			if (stop)
				kill(child, SIGTERM);
		}
		printf("exited %d %d\n", (int)child,
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	return 0;
}
