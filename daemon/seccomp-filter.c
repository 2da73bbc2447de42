/* SPDX-License-Identifier: MIT */
#include "seccomp-filter.h"

#include <grp.h>
#include <linux/vfio.h>
#include <pwd.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/*
 * Allowed without conditions, grouped by who needs them. Strace the daemon
 * through the VM suite before adding one, and say why it is needed here.
 * Left out on purpose, among others: execve/execveat, clone/clone3/fork/vfork,
 * ptrace, process_vm_readv/writev, pidfd_getfd (taking a client's fds), kill
 * (signals go through pidfds), bind/listen (the sockets exist already), mount
 * and namespace calls, iopl/ioperm, bpf, perf_event_open, keyctl, personality,
 * chmod/chown/mknod/unlink/rename, setuid and capability calls.
 */
static const int allowed_syscalls[] = {
    /* glibc's runtime: malloc, stdio, locks, abort(), time, identity. */
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(futex),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(getuid),
    SCMP_SYS(geteuid),
    SCMP_SYS(getgid),
    SCMP_SYS(getegid),
    SCMP_SYS(getresuid),
    SCMP_SYS(getresgid),
    SCMP_SYS(getgroups),
    SCMP_SYS(getrandom), /* sd-bus and hashmap seeds */
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    SCMP_SYS(sysinfo),		 /* qsort() asks for the physical memory size */
    SCMP_SYS(sched_getaffinity), /* sysconf(_SC_NPROCESSORS_*) */
    SCMP_SYS(sched_yield),

    /* sd-event: epoll, timers (the idle exit), signals (SIGTERM, SIGHUP). */
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_pwait2),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(timerfd_create),
    SCMP_SYS(timerfd_settime),
    SCMP_SYS(timerfd_gettime),
    SCMP_SYS(signalfd4),
    SCMP_SYS(ppoll), /* sd_bus_flush() and synchronous sd-bus calls */
    SCMP_SYS(poll),

    /*
     * Files: policy files, sysfs (reads at any time, writes to
     * driver_override/bind/unbind), /sys/firmware/fdt, /proc/PID of clients
     * (sd-bus credentials), /dev/vfio nodes opened for claims and metadata,
     * fstat/F_GET_SEALS checks of client memfds.
     */
    SCMP_SYS(openat),
    SCMP_SYS(openat2), /* sysfs paths resolved in one call, no symlinks */
    SCMP_SYS(close),
    SCMP_SYS(read),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64), /* claim records in the fd store are rewritten in place */
    SCMP_SYS(readv),
    SCMP_SYS(write),
    SCMP_SYS(writev), /* sd_journal_send() memfds, glibc's assert messages */
    SCMP_SYS(lseek),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(statx),
    SCMP_SYS(fstatfs), /* libsystemd checks file system types (sysfs, cgroup2) */
    SCMP_SYS(statfs),
    SCMP_SYS(access),
    SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2),
    SCMP_SYS(readlink),
    SCMP_SYS(readlinkat),
    SCMP_SYS(getdents64),
    SCMP_SYS(fcntl), /* CLOEXEC/NONBLOCK, F_DUPFD_CLOEXEC, memfd seals */
    /* Removing the socket file vfiod bound itself, on exit (manager_free()). */
    SCMP_SYS(unlink),
    SCMP_SYS(unlinkat),

    /*
     * Sockets that exist already (system bus, the listening socket, peers,
     * the udev monitor's netlink socket) and new AF_UNIX ones (socket() is
     * restricted below) for sd_notify(), sd_journal_send() and NSS modules
     * that ask a daemon (nss-systemd, sssd). Peer credentials come from
     * getsockopt(SO_PEERCRED, SO_PEERGROUPS, SO_PEERPIDFD).
     */
    SCMP_SYS(connect),
    SCMP_SYS(accept4),
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendmsg),
    SCMP_SYS(recvfrom),
    SCMP_SYS(sendto),
    SCMP_SYS(getsockopt),
    SCMP_SYS(setsockopt),
    SCMP_SYS(getsockname),
    SCMP_SYS(getpeername),

    /* Claims: IRQ eventfds; sd_journal_send() passes large entries in a memfd. */
    SCMP_SYS(eventfd2),
    SCMP_SYS(memfd_create),

    /* Revocation: a pidfd names the holder exactly, without pid reuse. */
    SCMP_SYS(pidfd_open),
    SCMP_SYS(pidfd_send_signal),
};

/*
 * The VFIO ioctls: all are _IO(VFIO_TYPE, VFIO_BASE + n), no size or
 * direction bits, and Documentation/userspace-api/ioctl/ioctl-number.rst
 * reserves ';' 0x64-0x7F for them (0x80-0xFF is iommufd's). The whole range
 * is allowed rather than the few commands the daemon calls today:
 *   - a VFIO ioctl only means something on a VFIO fd, and the daemon already
 *     holds every such fd with full power over the device: a command it does
 *     not call yet (hot reset, device features, IOEVENTFD) gives a
 *     compromised daemon nothing the fd does not already give;
 *   - on any other fd the driver rejects the number (ENOTTY): the dangerous
 *     non-VFIO ioctls (TIOCSTI, block, network, DRM) stay refused;
 *   - metadata reads (region info with capability chains, IRQ info) and the
 *     claim path grow in parallel; a list per command would break each new
 *     use with EPERM at run time, in the VM only.
 * The iommufd back end will add 0x80-0xFF when it lands.
 */
#define VFIO_IOCTL_FIRST _IO(VFIO_TYPE, VFIO_BASE)
#define VFIO_IOCTL_LAST	 _IO(VFIO_TYPE, 0x7F)

/* Allows ioctl(fd, cmd) for cmd in [first, last]: one masked compare per aligned block. */
static int allow_ioctl_range(scmp_filter_ctx ctx, uint64_t first, uint64_t last)
{
	while (first <= last) {
		/* The largest power-of-two block that starts at `first` and ends by `last`. */
		uint64_t size = first & -first;
		int r;

		while (first + size - 1 > last)
			size >>= 1;
		/* The compare covers all 64 bits: a command with high bits set is refused. */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, ~(size - 1), first));
		if (r < 0)
			return r;
		first += size;
	}
	return 0;
}

static int add_conditional_rules(scmp_filter_ctx ctx)
{
	int r;

	/* Memory may be mapped (malloc, brokered-DMA memfds, journal memfds), never executable. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r < 0)
		return r;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r < 0)
		return r;

	/* New sockets: AF_UNIX only (sd_notify, journal, NSS); no network, no new netlink. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (r < 0)
		return r;

	/*
	 * prlimit64: reading any limit (glibc, libsystemd), but setting only
	 * RLIMIT_MEMLOCK, which container-mode claims raise for the client.
	 */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0));
	if (r < 0)
		return r;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
			     SCMP_A1(SCMP_CMP_EQ, RLIMIT_MEMLOCK));
	if (r < 0)
		return r;

	/* abort() and raise() signal the daemon itself, and nothing else. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
			     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (r < 0)
		return r;

	/*
	 * TCGETS, which only reads terminal attributes: libsystemd's line reader
	 * asks isatty() of /proc/PID/cgroup when it resolves a client's unit
	 * (found under systemd, where the cgroup file system is mounted).
	 */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, ~(scmp_datum_t)0, TCGETS));
	if (r < 0)
		return r;

	return allow_ioctl_range(ctx, VFIO_IOCTL_FIRST, VFIO_IOCTL_LAST);
}

/*
 * glibc dlopen()s NSS modules (libnss_systemd, libnss_sss ...) when a lookup
 * first reaches them, which maps code executable: the filter refuses that. A
 * policy reload after the filter resolves user and group names, so go through
 * every module of the passwd and group databases now, with a name nobody has
 * (a name that exists stops at the first module that knows it). Modules stay
 * loaded for the life of the process. Modules that need the network (nss-ldap)
 * cannot work after the filter; numeric ids always do.
 */
static void nss_preload(void)
{
	static const char nobody[] = "vfiod-nss-preload.invalid";
	struct passwd pw, *pwr;
	struct group gr, *grr;
	char buf[4096];

	(void)getpwnam_r(nobody, &pw, buf, sizeof(buf), &pwr);
	(void)getgrnam_r(nobody, &gr, buf, sizeof(buf), &grr);
}

int seccomp_filter_install(void)
{
	scmp_filter_ctx ctx;
	int r;

	nss_preload();

	/* Everything not allowed fails with EPERM. seccomp_init() adds the native arch only. */
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return log_error_errno(ENOMEM, "Cannot create the seccomp filter");

	/*
	 * System calls of another ABI (i386 through int 0x80 on x86_64) fail
	 * the same way; libseccomp refuses x32 numbers on x86_64 itself.
	 */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
	if (r < 0)
		goto finish;

	/* SECCOMP_FILTER_FLAG_LOG: the kernel logs every refused call (Linux >= 4.14). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (r < 0)
		log_warning_errno(r, "The kernel cannot log refused system calls: %m");

	for (size_t i = 0; i < ELEMENTSOF(allowed_syscalls); i++) {
		/* Negative: a pseudo number for a call this architecture does not have. */
		if (allowed_syscalls[i] < 0)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_syscalls[i], 0);
		if (r < 0) {
			_cleanup_free_ char *name =
			    seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, allowed_syscalls[i]);
			log_error_errno(r, "Cannot allow system call %s: %m", name ?: "?");
			goto finish;
		}
	}
	r = add_conditional_rules(ctx);
	if (r < 0)
		goto finish;

	/* Sets no_new_privs first (SCMP_FLTATR_CTL_NNP is on by default). */
	r = seccomp_load(ctx);
	if (r < 0)
		goto finish;
	log_debug("System call filter installed: %zu unconditional entries",
		  ELEMENTSOF(allowed_syscalls));
finish:
	seccomp_release(ctx);
	if (r < 0)
		return log_error_errno(r, "Cannot install the system call filter: %m");
	return 0;
}
