/* SPDX-License-Identifier: MIT */
/*
 * vfioctl claim against the fake broker: the fds PROGRAM inherits and the
 * environment that describes them, exit codes, signal forwarding, release.
 * This binary is also the PROGRAM: with --child it reports what it got.
 * Plus fd_layout_apply() with fds sitting on the target numbers.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "fake-broker.h"
#include "fd-layout.h"
#include "tap.h"
#include "util.h"

static struct fake_broker broker;
static const char *vfioctl;
static bool ignore_sigchld; /* run vfioctl with SIGCHLD ignored, as some parents leave it */

/* ---- PROGRAM side ---- */

static void report_env(const char *name)
{
	const char *v = getenv(name);
	if (v)
		printf("%s=%s\n", name, v);
}

/* Prints the VFIOD_* variables and every fd above 2 with what it is and whether it survives
 * exec. Then: "exit N" exits with N, "kill" dies of SIGTERM, "wait" announces "ready" and exits
 * 42 when SIGTERM arrives, "stubborn" announces "ready" and ignores SIGTERM. */
static int child(int argc, char **argv)
{
	static const char *const vars[] = {
	    "VFIOD_FDS",	  "VFIOD_DMA_MODE",  "VFIOD_DEVICE_FDS",
	    "VFIOD_CONTAINER_FD", "VFIOD_IRQ_FDS",   "VFIOD_IOVA_RANGES",
	    "VFIOD_IOVA_PGSIZES", "VFIOD_DMA_QUOTA", "LISTEN_FDS",
	};
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fds[64], n = 0;

	for (size_t i = 0; i < ELEMENTSOF(vars); i++)
		report_env(vars[i]);
	printf("VFIOD_CLAIM=%s\n",
	       getenv("VFIOD_CLAIM") &&
		       strncmp(getenv("VFIOD_CLAIM"), "/io/vfiod/Broker1/claim/", 24) == 0
		   ? "ok"
		   : "missing");
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) > 2 && atoi(de->d_name) != dirfd(d) &&
		    n < 64)
			fds[n++] = atoi(de->d_name);
	if (d)
		closedir(d);
	for (int i = 0; i < n; i++) {
		char link[64], target[256];
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		len = readlink(link, target, sizeof(target) - 1);
		target[len < 0 ? 0 : len] = 0;
		printf("fd %d %s%s\n", fds[i], target,
		       fcntl(fds[i], F_GETFD) & FD_CLOEXEC ? " cloexec" : "");
	}
	fflush(stdout);

	if (argc > 1 && streq(argv[0], "exit"))
		return atoi(argv[1]);
	if (argc > 0 && streq(argv[0], "kill")) {
		raise(SIGTERM);
		return 99;
	}
	if (argc > 0 && streq(argv[0], "wait")) {
		sigset_t mask;
		int sig;

		sigemptyset(&mask);
		sigaddset(&mask, SIGTERM);
		sigprocmask(SIG_BLOCK, &mask, NULL);
		alarm(10); /* no forwarded SIGTERM: dies of SIGALRM, vfioctl exits 142 */
		printf("ready\n");
		fflush(stdout);
		sigwait(&mask, &sig);
		return 42;
	}
	if (argc > 0 && streq(argv[0], "stubborn")) {
		signal(SIGTERM, SIG_IGN);
		alarm(10); /* no SIGKILL: dies of SIGALRM, vfioctl exits 142 */
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	return 0;
}

/* ---- test side ---- */

struct run {
	int status; /* vfioctl's exit code */
	char out[4096];
	char err[4096];
};

static void read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
}

static void sigterm_vfioctl(pid_t pid)
{
	kill(pid, SIGTERM);
}

/* Runs vfioctl with args (NULL-terminated); if when_ready is set, calls it with vfioctl's pid
 * once PROGRAM printed "ready". */
static void run_vfioctl(struct run *r, void (*when_ready)(pid_t), ...)
{
	const char *argv[64] = {vfioctl};
	int out[2], err[2], status, n = 1;
	va_list ap;
	pid_t pid;

	va_start(ap, when_ready);
	while (n < 63 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;

	memset(r, 0, sizeof(*r));
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		test_failures++;
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (ignore_sigchld)
			signal(SIGCHLD, SIG_IGN);
		alarm(20); /* a hung vfioctl dies of SIGALRM (status 142) instead of hanging the
			      test */
		execv(vfioctl, (char **)argv);
		_exit(111);
	}
	close(out[1]);
	close(err[1]);

	if (when_ready) {
		char line[256];
		size_t len = 0;
		char c;

		/* The report comes first; then "ready" once PROGRAM waits for the signal. */
		while (read(out[0], &c, 1) == 1) {
			if (c != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = c;
				continue;
			}
			line[len] = 0;
			len = 0;
			if (streq(line, "ready"))
				break;
		}
		when_ready(pid);
	}
	read_all(out[0], r->out, sizeof(r->out));
	read_all(err[0], r->err, sizeof(r->err));
	close(out[0]);
	close(err[0]);
	waitpid(pid, &status, 0);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define CHECK_CONTAINS(haystack, needle)                                                           \
	do {                                                                                       \
		if (!strstr((haystack), (needle))) {                                               \
			fprintf(stderr, "%s:%d: \"%s\" not in:\n%s\n", __FILE__, __LINE__,         \
				(needle), (haystack));                                             \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

static void expect_calls(const char *const *want)
{
	_cleanup_strv_free_ char **calls = NULL;
	size_t i;

	CHECK(fake_broker_calls(&broker, &calls) == 0);
	for (i = 0; want[i]; i++)
		if (!calls || !calls[i] || strncmp(calls[i], want[i], strlen(want[i])) != 0) {
			fprintf(stderr, "call %zu: \"%s\", expected \"%s...\"\n", i,
				calls && calls[i] ? calls[i] : "(none)", want[i]);
			test_failures++;
		}
	if (calls && strv_length(calls) != i) {
		fprintf(stderr, "%zu calls, expected %zu\n", strv_length(calls), i);
		test_failures++;
	}
}

static void test_container(const char *self)
{
	struct run r;

	run_vfioctl(&r, NULL, "--address", broker.address, "claim", "--irq", "0000:00:03.0:msi:1",
		    "-i", "00:04.0:0:1", "00:03.0", "0000:00:04.0", "--", self, "--child", "exit",
		    "0", NULL);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "VFIOD_FDS=5\n"
			   "VFIOD_DMA_MODE=container\n"
			   "VFIOD_DEVICE_FDS=0000:00:03.0=3,0000:00:04.0=4\n"
			   "VFIOD_CONTAINER_FD=5\n"
			   "VFIOD_IRQ_FDS=0000:00:03.0/1/0=6,0000:00:04.0/0/0=7\n"
			   "VFIOD_IOVA_RANGES=0x0-0xfedfffff,0xfef00000-0xffffffffff\n"
			   "VFIOD_IOVA_PGSIZES=0x40201000\n"
			   "VFIOD_DMA_QUOTA=67108864\n"
			   "VFIOD_CLAIM=ok\n"
			   "fd 3 /memfd:fake-device-0000:00:03.0 (deleted)\n"
			   "fd 4 /memfd:fake-device-0000:00:04.0 (deleted)\n"
			   "fd 5 /memfd:fake-container (deleted)\n"
			   "fd 6 anon_inode:[eventfd]\n"
			   "fd 7 anon_inode:[eventfd]\n");
	CHECK_STREQ(r.err, "");
	expect_calls((const char *[]){"Claim 0000:00:03.0,0000:00:04.0",
				      "SetIrqs 1 0000:00:03.0 1 1", "SetIrqs 1 0000:00:04.0 0 1",
				      "Release 1", NULL});
}

static void test_brokered(const char *self)
{
	struct run r;

	setenv("LISTEN_FDS", "2", 1); /* must not reach PROGRAM */
	run_vfioctl(&r, NULL, "-a", broker.address, "claim", "--dma", "brokered", "0000:00:03.0",
		    "--", self, "--child", "exit", "7", NULL);
	unsetenv("LISTEN_FDS");
	CHECK(r.status == 7);
	CHECK_STREQ(r.out, "VFIOD_FDS=1\n"
			   "VFIOD_DMA_MODE=brokered\n"
			   "VFIOD_DEVICE_FDS=0000:00:03.0=3\n"
			   "VFIOD_IOVA_RANGES=0x0-0xfedfffff,0xfef00000-0xffffffffff\n"
			   "VFIOD_IOVA_PGSIZES=0x40201000\n"
			   "VFIOD_DMA_QUOTA=1048576\n"
			   "VFIOD_CLAIM=ok\n"
			   "fd 3 /memfd:fake-device-0000:00:03.0 (deleted)\n");
	CHECK_CONTAINS(r.err, "note: brokered DMA mode");
	expect_calls((const char *[]){"Claim 0000:00:03.0 dma-mode=brokered", "Release", NULL});

	run_vfioctl(&r, NULL, "-a", broker.address, "claim", "-q", "--dma=brokered", "0000:00:03.0",
		    "--", self, "--child", NULL);
	CHECK(r.status == 0);
	CHECK_STREQ(r.err, "");
	expect_calls((const char *[]){"Claim", "Release", NULL});
}

static void test_exit_codes(const char *self)
{
	struct run r;

	/* Killed by a signal: 128 + signal. */
	run_vfioctl(&r, NULL, "-a", broker.address, "claim", "0000:00:03.0", "--", self, "--child",
		    "kill", NULL);
	CHECK(r.status == 128 + SIGTERM);
	expect_calls((const char *[]){"Claim", "Release", NULL});

	/* Inherited SIG_IGN for SIGCHLD: vfioctl still sees PROGRAM exit. */
	ignore_sigchld = true;
	run_vfioctl(&r, NULL, "-a", broker.address, "claim", "0000:00:03.0", "--", self, "--child",
		    "exit", "5", NULL);
	ignore_sigchld = false;
	CHECK(r.status == 5);
	expect_calls((const char *[]){"Claim", "Release", NULL});

	/* SIGTERM to vfioctl reaches PROGRAM, which exits 42; then the claim is released. */
	run_vfioctl(&r, sigterm_vfioctl, "-a", broker.address, "claim", "0000:00:03.0", "--", self,
		    "--child", "wait", NULL);
	CHECK(r.status == 42);
	expect_calls((const char *[]){"Claim", "Release", NULL});

	/* PROGRAM missing or not executable. */
	run_vfioctl(&r, NULL, "-a", broker.address, "claim", "0000:00:03.0", "--",
		    "/nonexistent/program", NULL);
	CHECK(r.status == 127);
	CHECK_CONTAINS(r.err, "cannot run /nonexistent/program: No such file or directory");
	expect_calls((const char *[]){"Claim", "Release", NULL});
	run_vfioctl(&r, NULL, "-a", broker.address, "claim", "0000:00:03.0", "--", "/dev/null",
		    NULL);
	CHECK(r.status == 126);
	expect_calls((const char *[]){"Claim", "Release", NULL});

	/* The broker refuses: its message, and 125. */
	run_vfioctl(&r, NULL, "-a", broker.address, "claim", "0000:00:0b.0", "--", self, NULL);
	CHECK(r.status == 125);
	CHECK_CONTAINS(r.err, "vfioctl: cannot claim 0000:00:0b.0: io.vfiod.Error.Busy: "
			      "0000:00:0b.0 is held by uid 1001 pid 345");
	CHECK_STREQ(r.out, "");
	expect_calls((const char *[]){"Claim 0000:00:0b.0", NULL});

	/* IRQ setup fails after the claim: released, 125. */
	run_vfioctl(&r, NULL, "-a", broker.address, "claim", "-i", "0000:00:03.0:1:65",
		    "0000:00:03.0", "--", self, NULL);
	CHECK(r.status == 125);
	CHECK_CONTAINS(r.err, "io.vfiod.Error.LimitExceeded");
	expect_calls((const char *[]){"Claim", "SetIrqs", "Release", NULL});

	/* No broker there. */
	run_vfioctl(&r, NULL, "-a", "unix:path=/nonexistent/sock", "claim", "0000:00:03.0", "--",
		    self, NULL);
	CHECK(r.status == 125);
	CHECK_CONTAINS(r.err, "cannot connect to vfiod at unix:path=/nonexistent/sock");
}

/* The fake's newest claim (0) is vfioctl's. */
static void revoke_claim(pid_t pid)
{
	CHECK(fake_broker_test_call(&broker, "Revoke", "ussu", 0, "0000:00:03.0",
				    "driver unbind requested", 1) == 0);
}

static void revoke_and_end_claim(pid_t pid)
{
	revoke_claim(pid);
	CHECK(fake_broker_test_call(&broker, "EndClaim", "u", 0) == 0);
}

/* A revocation reaches PROGRAM as SIGTERM; a claim vfiod ended, as SIGKILL. */
static void test_revocation(const char *self)
{
	char line[4096 + 128];
	struct run r;

	run_vfioctl(&r, revoke_claim, "-a", broker.address, "claim", "0000:00:03.0", "--", self,
		    "--child", "wait", NULL);
	CHECK(r.status == 42);
	snprintf(line, sizeof(line),
		 "vfioctl: 0000:00:03.0 revoked (driver unbind requested): sending SIGTERM to %s "
		 "pid ",
		 self);
	CHECK_CONTAINS(r.err, line);
	CHECK(!strstr(r.err, "SIGKILL"));
	expect_calls((const char *[]){"Claim", "Release", NULL});

	run_vfioctl(&r, revoke_and_end_claim, "-a", broker.address, "claim", "0000:00:03.0", "--",
		    self, "--child", "stubborn", NULL);
	CHECK(r.status == 128 + SIGKILL);
	CHECK_CONTAINS(r.err, "sending SIGTERM to");
	snprintf(line, sizeof(line),
		 "vfioctl: vfiod ended the claim (the broker ended the claim): sending SIGKILL to "
		 "%s pid ",
		 self);
	CHECK_CONTAINS(r.err, line);
	/* The claim is gone: no Release for it. */
	expect_calls((const char *[]){"Claim", "Ended", NULL});
}

static void test_usage(const char *self)
{
	static const char *const bad[][8] = {
	    {"claim", "0000:00:03.0", NULL},	   /* no -- */
	    {"claim", "0000:00:03.0", "--", NULL}, /* no PROGRAM */
	    {"claim", "--", "true", NULL},	   /* no DEVICE */
	    {"claim", "--dma", "fast", "0000:00:03.0", "--", "true", NULL},
	    {"claim", "--irq", "0000:00:03.0:1", "0000:00:03.0", "--", "true", NULL},
	    {"claim", "--irq", "0000:00:03.0:nmi:1", "0000:00:03.0", "--", "true", NULL},
	    {"claim", "--irq", "0000:00:04.0:0:1", "0000:00:03.0", "--", "true", NULL},
	    {"claim", "-i", "00:03.0:intx:1", "-i", "00:03.0:msi:1", "00:03.0", "--", "true"},
	};
	struct run r;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		run_vfioctl(&r, NULL, "-a", broker.address, bad[i][0], bad[i][1], bad[i][2],
			    bad[i][3], bad[i][4], bad[i][5], bad[i][6], bad[i][7], NULL);
		if (r.status != 125 || !strstr(r.err, "vfioctl: ")) {
			fprintf(stderr, "usage case %zu: status %d, stderr \"%s\"\n", i, r.status,
				r.err);
			test_failures++;
		}
	}
	run_vfioctl(&r, NULL, "frobnicate", NULL);
	CHECK(r.status == 1);
	run_vfioctl(&r, NULL, "--help", NULL);
	CHECK(r.status == 0);
	CHECK_CONTAINS(r.out, "claim");
	run_vfioctl(&r, NULL, "claim", "--help", NULL);
	CHECK(r.status == 0);
	CHECK_CONTAINS(r.out, "VFIOD_");
	expect_calls((const char *[]){NULL}); /* nothing reached the broker */
	(void)self;
}

/* fd_layout_apply() in a child, since it takes over fds 3..6. */
static void test_fd_layout(void)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		static const char *const names[] = {"a", "b", "c", "d"};
		int fds[4], want_cloexec_above = 7;

		/* a at 4, b at 3, c at 6 (all inside the target range 3..6), d far above. */
		static const int where[] = {4, 3, 6, 100};
		for (int i = 0; i < 4; i++) {
			int fd = memfd_create(names[i], MFD_CLOEXEC);
			if (fd < 0 || (fd != where[i] && dup3(fd, where[i], O_CLOEXEC) < 0))
				_exit(2);
			if (fd != where[i])
				close(fd);
			fds[i] = where[i];
		}
		CHECK(fd_layout_apply(fds, 4, 3) == 0);
		for (int i = 0; i < 4; i++) {
			char link[64], target[64], want[64];
			ssize_t n;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", 3 + i);
			n = readlink(link, target, sizeof(target) - 1);
			target[n < 0 ? 0 : n] = 0;
			snprintf(want, sizeof(want), "/memfd:%s (deleted)", names[i]);
			CHECK_STREQ(target, want);
			CHECK((fcntl(3 + i, F_GETFD) & FD_CLOEXEC) == 0);
			CHECK(fds[i] >= want_cloexec_above &&
			      (fcntl(fds[i], F_GETFD) & FD_CLOEXEC));
		}
		CHECK((fcntl(100, F_GETFD) & FD_CLOEXEC) != 0); /* untouched original */
		int bad[] = {-1};
		CHECK(fd_layout_apply(bad, 1, 3) == -EBADF);
		_exit(test_failures ? 1 : 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
	char self[4096];
	ssize_t n;

	if (argc > 1 && streq(argv[1], "--child"))
		return child(argc - 2, argv + 2);

	/* Whatever this process inherited is not vfioctl's to pass on: keep it out of the
	 * reports of PROGRAM. */
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *de; d && (de = readdir(d));)
		if (atoi(de->d_name) > 2 && atoi(de->d_name) != dirfd(d))
			fcntl(atoi(de->d_name), F_SETFD, FD_CLOEXEC);
	if (d)
		closedir(d);

	test_fd_layout();

	vfioctl = getenv("VFIOCTL");
	if (!vfioctl) {
		fprintf(stderr, "VFIOCTL is not set: skipping the vfioctl runs\n");
		return test_failures ? 1 : 77;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return 1;
	self[n] = 0;

	CHECK(fake_broker_start(&broker) == 0);
	test_container(self);
	test_brokered(self);
	test_exit_codes(self);
	test_revocation(self);
	test_usage(self);
	CHECK(fake_broker_stop(&broker) == 0);
	return test_exit();
}
