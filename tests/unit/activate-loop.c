/* SPDX-License-Identifier: MIT */
/*
 * activate-loop [--fdstore MAX [--restart] [--corrupt-records]] SOCKET -- PROGRAM [ARGS...]
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
 *
 * --fdstore MAX also stands in for systemd's fd store (sd_notify(3) FDSTORE=1,
 * FileDescriptorStoreMax=MAX): PROGRAM gets NOTIFY_SOCKET=SOCKET.notify, a
 * datagram socket where, as systemd does, only PROGRAM's own messages count
 * (SCM_CREDENTIALS), FDSTORE=1 keeps the passed fds under FDNAME= (an fd
 * already in the store is dropped, like systemd's same_fd() check), at most
 * MAX of them, and FDSTOREREMOVE=1 closes those named FDNAME=. The next start
 * passes the socket (named "vfiod.socket", as vfiod.socket's default
 * FileDescriptorName= would be) and then the stored fds, from fd 3 up, in
 * LISTEN_FDS/LISTEN_FDNAMES. Prints "stored NAME", "removed NAME" and
 * "refused NAME" lines. systemd 252 keeps the store across a restart and
 * empties it when the unit stops: here it lives as long as activate-loop.
 *
 * --restart starts PROGRAM at once and again whenever it exits (Restart=
 * always), instead of on the next connection. --corrupt-records overwrites
 * the start of every stored fd named *-record before each start, to test
 * that a damaged record is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STARTS 20
/* The listening socket's name in LISTEN_FDNAMES. */
#define SOCKET_NAME "vfiod.socket"
/* The largest store accepted on the command line; systemd's FDNAME= limit. */
#define FDSTORE_LIMIT 16384
#define FDNAME_MAX    255

typedef struct StoredFd {
	char name[FDNAME_MAX + 1];
	int fd;
} StoredFd;

static StoredFd *store;
static size_t n_stored, store_max;

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

/*
 * In the child: the listening socket as fd 3 and the stored fds from fd 4 up,
 * without FD_CLOEXEC, named in LISTEN_FDNAMES. Every fd is first moved above
 * the target range (close-on-exec), so that no dup2() overwrites a source.
 */
static int pass_fds(int listen_fd, const char *notify_path)
{
	size_t n = 1 + n_stored, len = strlen(SOCKET_NAME) + 1;
	char count[32], *names;
	int fd;

	for (size_t i = 0; i < n_stored; i++)
		len += strlen(store[i].name) + 1;
	names = malloc(len);
	if (!names)
		return -1;
	strcpy(names, SOCKET_NAME);
	for (size_t i = 0; i < n_stored; i++) {
		strcat(names, ":");
		strcat(names, store[i].name);
	}
	for (size_t i = 0; i < n; i++) {
		fd = fcntl(i == 0 ? listen_fd : store[i - 1].fd, F_DUPFD_CLOEXEC, (int)(3 + n));
		if (fd < 0)
			return -1;
		if (i == 0)
			listen_fd = fd;
		else
			store[i - 1].fd = fd;
	}
	for (size_t i = 0; i < n; i++)
		if (dup2(i == 0 ? listen_fd : store[i - 1].fd, (int)(3 + i)) < 0)
			return -1;
	snprintf(count, sizeof(count), "%zu", n);
	if (setenv("LISTEN_FDS", count, 1) < 0 || setenv("LISTEN_FDNAMES", names, 1) < 0)
		return -1;
	if (notify_path && setenv("NOTIFY_SOCKET", notify_path, 1) < 0)
		return -1;
	return 0;
}

static pid_t start(int listen_fd, const char *notify_path, char **argv)
{
	char pid_str[32];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* The child: the fds, and the environment sd_listen_fds() reads. */
	if (pass_fds(listen_fd, notify_path) < 0)
		_exit(127);
	snprintf(pid_str, sizeof(pid_str), "%d", (int)getpid());
	if (setenv("LISTEN_PID", pid_str, 1) < 0)
		_exit(127);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	execvp(argv[0], argv);
	_exit(127);
}

/* A datagram socket at path that receives credentials, as systemd's notify socket. */
static int notify_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, one = 1;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether fd is the same open file as one in the store (kcmp, as systemd's same_fd()). */
static bool store_has(int fd)
{
	pid_t self = getpid();

	for (size_t i = 0; i < n_stored; i++)
		if (syscall(SYS_kcmp, self, self, KCMP_FILE, fd, store[i].fd) == 0)
			return true;
	return false;
}

static void store_add(const char *name, int fd)
{
	if (store_has(fd)) {
		close(fd);
		return;
	}
	if (n_stored >= store_max) {
		printf("refused %s\n", name);
		close(fd);
		return;
	}
	snprintf(store[n_stored].name, sizeof(store[n_stored].name), "%s", name);
	store[n_stored++].fd = fd;
	printf("stored %s\n", name);
}

static void store_remove(const char *name)
{
	for (size_t i = 0; i < n_stored;) {
		if (strcmp(store[i].name, name) != 0) {
			i++;
			continue;
		}
		close(store[i].fd);
		store[i] = store[--n_stored];
		printf("removed %s\n", name);
	}
}

/* One sd_notify() datagram: only the child's count; its fds are stored or closed. */
static void notify_receive(int notify_fd, pid_t child)
{
	static char buf[4096];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(253 * sizeof(int))];
	} control;
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = &control,
			    .msg_controllen = sizeof(control)};
	struct ucred *cred = NULL;
	int *fds = NULL;
	size_t n_fds = 0;
	char name[FDNAME_MAX + 1] = "stored";
	bool fdstore = false, remove = false;
	ssize_t n;

	n = recvmsg(notify_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return;
	buf[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS) {
			fds = (int *)CMSG_DATA(c);
			n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		} else if (c->cmsg_type == SCM_CREDENTIALS)
			cred = (struct ucred *)CMSG_DATA(c);
	}
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strcmp(line, "FDSTORE=1"))
			fdstore = true;
		else if (!strcmp(line, "FDSTOREREMOVE=1"))
			remove = true;
		else if (!strncmp(line, "FDNAME=", 7))
			snprintf(name, sizeof(name), "%s", line + 7);
	}
	/* NotifyAccess=main: messages from other processes are ignored. */
	if (!cred || cred->pid != child)
		fdstore = remove = false;
	for (size_t i = 0; i < n_fds; i++) {
		if (fdstore)
			store_add(name, fds[i]);
		else
			close(fds[i]);
	}
	if (remove)
		store_remove(name);
}

static void corrupt_records(void)
{
	static const char garbage[] = "corrupted by activate-loop\n";

	for (size_t i = 0; i < n_stored; i++) {
		size_t len = strlen(store[i].name);

		if (len > 7 && !strcmp(store[i].name + len - 7, "-record") &&
		    pwrite(store[i].fd, garbage, sizeof(garbage) - 1, 0) > 0)
			printf("corrupted %s\n", store[i].name);
	}
}

int main(int argc, char *argv[])
{
	struct sigaction sa = {.sa_handler = on_stop};
	bool restart = false, corrupt = false;
	char notify_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, notify_fd = -1, status;
	unsigned starts = 0;
	pid_t child;
	int a = 1;

	for (; a < argc && !strncmp(argv[a], "--", 2) && strcmp(argv[a], "--"); a++) {
		if (!strcmp(argv[a], "--fdstore") && a + 1 < argc) {
			store_max = strtoul(argv[++a], NULL, 10);
			if (store_max == 0 || store_max > FDSTORE_LIMIT)
				break;
		} else if (!strcmp(argv[a], "--restart"))
			restart = true;
		else if (!strcmp(argv[a], "--corrupt-records"))
			corrupt = true;
		else
			break;
	}
	if (argc - a < 3 || strcmp(argv[a + 1], "--") != 0 || (restart && !store_max)) {
		fprintf(stderr, "Usage: activate-loop [--fdstore MAX [--restart] "
				"[--corrupt-records]] SOCKET -- PROGRAM [ARGS...]\n");
		return 2;
	}
	argv += a - 1;
	/* No SA_RESTART: poll() and waitpid() return EINTR on a stop request. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listen_fd = listen_on(argv[1]);
	if (listen_fd < 0) {
		fprintf(stderr, "activate-loop: cannot listen on %s: %m\n", argv[1]);
		return 1;
	}
	if (store_max) {
		snprintf(notify_path, sizeof(notify_path), "%s.notify", argv[1]);
		store = calloc(store_max, sizeof(*store));
		notify_fd = store ? notify_listen(notify_path) : -1;
		if (notify_fd < 0) {
			fprintf(stderr, "activate-loop: cannot listen on %s: %m\n", notify_path);
			return 1;
		}
	}
	while (!stop) {
		struct pollfd p = {.fd = listen_fd, .events = POLLIN};

		/* A timeout, so that a stop request between the check and poll() is seen. */
		int n = restart ? 1 : poll(&p, 1, 200);

		if (n < 0 && errno != EINTR)
			return 1;
		if (n <= 0)
			continue;
		if (++starts > MAX_STARTS) {
			fprintf(stderr, "activate-loop: %d starts, giving up\n", MAX_STARTS);
			return 1;
		}
		if (corrupt)
			corrupt_records();
		child = start(listen_fd, store_max ? notify_path : NULL, argv + 3);
		if (child < 0)
			return 1;
		printf("started %d\n", (int)child);
		for (;;) {
			struct pollfd np = {.fd = notify_fd, .events = POLLIN};
			siginfo_t si = {0};

			/* WNOWAIT: a zombie's datagrams still carry its pid; a reaped one's, 0. */
			if (waitid(P_PID, child, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
			    errno != EINTR)
				return 1;
			if (si.si_pid == child)
				break;
			if (stop)
				kill(child, SIGTERM);
			/* The notify socket, or without one a short sleep, until the child exits.
			 */
			if (poll(&np, notify_fd >= 0, 50) > 0)
				notify_receive(notify_fd, child);
		}
		/* What the child sent before it exited still counts. */
		while (notify_fd >= 0 && recv(notify_fd, NULL, 0, MSG_PEEK | MSG_DONTWAIT) >= 0)
			notify_receive(notify_fd, child);
		if (waitpid(child, &status, 0) != child)
			return 1;
		printf("exited %d %d\n", (int)child,
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	return 0;
}
