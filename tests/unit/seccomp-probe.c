/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim for test-seccomp: interposes sd_event_loop(), which vfiod
 * calls once, after installing its system call filter. There it tries the
 * calls below, writes one line "NAME RESULT" each (RESULT: "ok" or the errno
 * name) to $SECCOMP_PROBE_OUTPUT, then "done", and runs the real event loop.
 * The shim decides nothing: the test compares the results with what it
 * expects with and without the filter. No code in vfiod knows about it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

static FILE *out;

/* Records the outcome of a call that returned `r` (negative: failed with errno). */
static void report(const char *name, long r)
{
	fprintf(out, "%s %s\n", name, r >= 0 ? "ok" : strerrorname_np(errno) ?: "?");
}

static void probe_forbidden(void)
{
	char *const argv[] = {"true", NULL};
	struct rlimit rl;
	void *p;
	long r;
	int fd;

	/* A path that does not exist: without a filter this fails with ENOENT, harmlessly. */
	report("execve", execve("/nonexistent/vfiod-probe", argv, environ));

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	report("socket-inet", fd);
	if (fd >= 0)
		close(fd);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
	report("socket-netlink", fd);
	if (fd >= 0)
		close(fd);

	/* Not traced by us: ESRCH without a filter, and no side effect either way. */
	report("ptrace", ptrace(PTRACE_PEEKDATA, getpid(), NULL, NULL));

	/* Non-VFIO ioctls the daemon never makes: FIONBIO would succeed without a filter. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		int one = 1;
		report("ioctl-fionbio", ioctl(fd, FIONBIO, &one));
		close(fd);
	} else
		report("ioctl-fionbio", -1);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct winsize ws;
		report("ioctl-tiocgwinsz", ioctl(fd, TIOCGWINSZ, &ws));
		close(fd);
	} else
		report("ioctl-tiocgwinsz", -1);

	/* The x32 ABI on x86_64: ENOSYS without a filter on kernels without x32. */
	report("x32-getpid", syscall(__X32_SYSCALL_BIT | SYS_getpid));

	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	report("mmap-exec", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		report("mprotect-exec", mprotect(p, 4096, PROT_READ | PROT_EXEC));
		munmap(p, 4096);
	} else
		report("mprotect-exec", -1);

	r = fork();
	if (r == 0)
		_exit(0);
	report("fork", r);

	report("kill", kill(getpid(), 0));
	report("pidfd_getfd", syscall(SYS_pidfd_getfd, -1, 0, 0));

	/* Setting a limit other than RLIMIT_MEMLOCK (to its current value: harmless). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		report("prlimit-nofile", prlimit(0, RLIMIT_NOFILE, &rl, NULL));
	else
		report("prlimit-nofile", -1);
}

static void probe_needed(void)
{
	struct passwd *pw;
	struct rlimit rl;
	void *p;
	int fd, api;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	report("socket-unix", fd);
	if (fd >= 0)
		close(fd);

	/* A VFIO ioctl passes the filter; /dev/null's driver then refuses it: ENOTTY. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	report("open", fd);
	if (fd >= 0) {
		struct termios t;

		api = ioctl(fd, VFIO_GET_API_VERSION);
		report("ioctl-vfio", api);
		/* isatty(): TCGETS passes, and /dev/null is no terminal. */
		report("ioctl-tcgets", ioctl(fd, TCGETS, &t));
		close(fd);
	}

	fd = eventfd(0, EFD_CLOEXEC);
	report("eventfd", fd);
	if (fd >= 0)
		close(fd);
	fd = memfd_create("vfiod-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	report("memfd", fd);
	if (fd >= 0) {
		report("memfd-seals", fcntl(fd, F_GET_SEALS));
		close(fd);
	}

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	report("mmap-rw", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		report("prlimit-memlock", prlimit(getpid(), RLIMIT_MEMLOCK, &rl, NULL));
	else
		report("prlimit-memlock", -1);

	fd = syscall(SYS_pidfd_open, getpid(), 0);
	report("pidfd_open", fd);
	if (fd >= 0) {
		report("pidfd_send_signal", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0));
		close(fd);
	}

	/* NSS after the filter (a policy reload resolves names). */
	errno = ENOENT;
	pw = getpwnam("root");
	report("getpwnam", pw ? 0 : -1);
}

int sd_event_loop(sd_event *e)
{
	int (*real)(sd_event *) = (int (*)(sd_event *))dlsym(RTLD_NEXT, "sd_event_loop");
	const char *path = getenv("SECCOMP_PROBE_OUTPUT");

	if (path && (out = fopen(path, "we"))) {
		probe_forbidden();
		probe_needed();
		fputs("done\n", out);
		fclose(out);
		out = NULL;
	}
	return real ? real(e) : -ENOSYS;
}
