/* SPDX-License-Identifier: MIT */
/*
 * vfioctl claim: claims devices, runs PROGRAM with the fds at 3, 4, ... and
 * their meaning in the environment, forwards signals to it, and releases the
 * claim when it exits. The fd/environment convention is documented in
 * vfioctl(1); keep the two in step.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "fd-layout.h"
#include "pci-address.h"
#include "util.h"
#include "vfioc.h"
#include "vfioctl.h"

#define FIRST_FD      3
#define MAX_IRQ_SPECS 64

struct irq_spec {
	const char *device; /* canonical address, points into the argument or devices[] */
	unsigned index;
	unsigned count;
};

struct claim_args {
	const char *dma_mode;
	bool quiet;
	char **devices; /* canonical forms, allocated */
	size_t n_devices;
	struct irq_spec irqs[MAX_IRQ_SPECS];
	size_t n_irqs;
	char **program;
};

static void claim_args_done(struct claim_args *a)
{
	for (size_t i = 0; i < a->n_devices; i++)
		free(a->devices[i]);
	free(a->devices);
}

static void help(FILE *f)
{
	fprintf(
	    f, "Usage: vfioctl [--address ADDRESS | --system] claim [OPTIONS] DEVICE... -- PROGRAM "
	       "[ARG...]\n"
	       "\n"
	       "Claims the devices from vfiod and runs PROGRAM with the device fds, the DMA\n"
	       "container fd (container mode) and the IRQ eventfds asked for, from fd 3 up;\n"
	       "VFIOD_* environment variables say which is which. The claim ends when PROGRAM\n"
	       "exits; vfioctl exits with PROGRAM's status. When vfiod revokes the claim,\n"
	       "PROGRAM gets SIGTERM; when vfiod ends it, SIGKILL.\n"
	       "\n"
	       "Options:\n"
	       "  -d, --dma MODE                 container or brokered (default: the policy's)\n"
	       "  -i, --irq DEVICE:INDEX:COUNT   ask for COUNT eventfds of IRQ INDEX (0-4 or\n"
	       "                                 intx, msi, msix, err, req); repeatable\n"
	       "  -q, --quiet                    no notes on stderr\n"
	       "  -h, --help                     show this help\n"
	       "\n"
	       "DEVICE is a PCI address, 0000:00:03.0 (00:03.0 means domain 0).\n"
	       "See vfioctl(1).\n");
}

static void print_error(const char *format, ...) _printf_(1, 2);
static void print_error(const char *format, ...)
{
	va_list ap;

	fputs("vfioctl: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints "vfioctl: MESSAGE" and evaluates to vfioctl's failure exit code. */
#define fail(...) (print_error(__VA_ARGS__), EXIT_VFIOCTL_FAILED)

/* "00:03.0" gains the domain 0000, hex digits are lower-cased; anything that does not then
 * look like a PCI address is passed on unchanged for vfiod to judge. */
char *canonical_device(const char *s)
{
	char buf[PCI_ADDRESS_MAX + 8];
	size_t colons = 0;

	for (const char *p = s; *p; p++)
		colons += *p == ':';
	if (strlen(s) < sizeof(buf) - 5) {
		snprintf(buf, sizeof(buf), "%s%s", colons == 1 ? "0000:" : "", s);
		for (char *p = buf; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (pci_address_is_valid(buf))
			return strdup(buf);
	}
	return strdup(s);
}

static int parse_unsigned(const char *s, unsigned *ret)
{
	char *end;
	unsigned long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static int parse_irq_index(const char *s, unsigned *ret)
{
	static const char *const names[] = {"intx", "msi", "msix", "err", "req"};

	for (unsigned i = 0; i < ELEMENTSOF(names); i++)
		if (strcasecmp(s, names[i]) == 0) {
			*ret = i;
			return 0;
		}
	if (strcasecmp(s, "msi-x") == 0) {
		*ret = 2;
		return 0;
	}
	return parse_unsigned(s, ret);
}

/* DEVICE:INDEX:COUNT, split at the last two colons (the address has colons of its own). */
static int parse_irq(struct claim_args *a, char *arg)
{
	char *count = strrchr(arg, ':');
	char *index;
	struct irq_spec s;

	if (a->n_irqs >= MAX_IRQ_SPECS)
		return fail("at most %d --irq options", MAX_IRQ_SPECS);
	if (!count)
		return fail("--irq %s: expected DEVICE:INDEX:COUNT", arg);
	*count++ = 0;
	index = strrchr(arg, ':');
	if (!index)
		return fail("--irq: expected DEVICE:INDEX:COUNT");
	*index++ = 0;
	if (parse_irq_index(index, &s.index) < 0)
		return fail("--irq %s: '%s' is not an IRQ index (0-4, intx, msi, msix, err, req)",
			    arg, index);
	if (parse_unsigned(count, &s.count) < 0 || s.count == 0)
		return fail("--irq %s: '%s' is not a positive count", arg, count);
	s.device = arg; /* canonicalised against the device list later */
	a->irqs[a->n_irqs++] = s;
	return 0;
}

static bool is_intx_msi_msix(unsigned index)
{
	return index <= 2;
}

/* Every --irq names a claimed device, once per index, and one of INTx/MSI/MSI-X at most: vfiod
 * disables one when another is enabled, which would leave silent eventfds behind. */
static int check_irqs(struct claim_args *a)
{
	for (size_t i = 0; i < a->n_irqs; i++) {
		_cleanup_free_ char *dev = canonical_device(a->irqs[i].device);
		size_t d;

		if (!dev)
			return fail("out of memory");
		for (d = 0; d < a->n_devices; d++)
			if (streq(a->devices[d], dev))
				break;
		if (d == a->n_devices)
			return fail("--irq names %s, which is not among the devices to claim", dev);
		a->irqs[i].device = a->devices[d];

		for (size_t j = 0; j < i; j++) {
			if (a->irqs[j].device != a->irqs[i].device)
				continue;
			if (a->irqs[j].index == a->irqs[i].index)
				return fail("--irq asks for index %u of %s twice", a->irqs[i].index,
					    dev);
			if (is_intx_msi_msix(a->irqs[j].index) &&
			    is_intx_msi_msix(a->irqs[i].index))
				return fail("--irq: %s can use only one of INTx, MSI and MSI-X at "
					    "a time (indexes 0, 1, 2)",
					    dev);
		}
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct claim_args *a, bool *ret_help)
{
	static const struct option options[] = {
	    {"dma", required_argument, NULL, 'd'},
	    {"irq", required_argument, NULL, 'i'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int end, c, r;

	*ret_help = false;
	/* PROGRAM starts after the first "--"; options are looked for only before it. */
	for (end = 1; end < argc; end++)
		if (streq(argv[end], "--"))
			break;

	while ((c = getopt_long(end, argv, "d:i:qh", options, NULL)) != -1)
		switch (c) {
		case 'd':
			if (!streq(optarg, "container") && !streq(optarg, "brokered"))
				return fail("--dma: '%s' is neither container nor brokered",
					    optarg);
			a->dma_mode = optarg;
			break;
		case 'i':
			r = parse_irq(a, optarg);
			if (r != 0)
				return r;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			*ret_help = true;
			return 0;
		default:
			fprintf(stderr, "Try 'vfioctl claim --help'.\n");
			return EXIT_VFIOCTL_FAILED;
		}

	if (optind >= end)
		return fail("no DEVICE to claim. Try 'vfioctl claim --help'.");
	if (end >= argc || end + 1 >= argc)
		return fail("no PROGRAM to run: put it after '--'. Try 'vfioctl claim --help'.");

	a->devices = calloc((size_t)(end - optind), sizeof(char *));
	if (!a->devices)
		return fail("out of memory");
	for (int i = optind; i < end; i++) {
		char *dev = canonical_device(argv[i]);
		if (!dev)
			return fail("out of memory");
		for (size_t j = 0; j < a->n_devices; j++)
			if (streq(a->devices[j], dev)) {
				print_error("%s is listed twice", dev);
				free(dev);
				return EXIT_VFIOCTL_FAILED;
			}
		a->devices[a->n_devices++] = dev;
	}
	a->program = argv + end + 1;
	return check_irqs(a);
}

/* The fds PROGRAM gets, in order, and the environment that describes them. */
struct layout {
	int fds[256];
	size_t n;
};

static int layout_add(struct layout *l, int fd)
{
	if (l->n >= ELEMENTSOF(l->fds))
		return -E2BIG;
	l->fds[l->n++] = fd;
	return (int)(FIRST_FD + l->n - 1);
}

/* Appends "item" to a comma-separated list. */
static int list_append(char **list, const char *format, ...) _printf_(2, 3);
static int list_append(char **list, const char *format, ...)
{
	_cleanup_free_ char *item = NULL;
	char *n = NULL;
	va_list ap;
	int r;

	va_start(ap, format);
	r = vasprintf(&item, format, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (asprintf(&n, "%s%s%s", *list ? *list : "", *list ? "," : "", item) < 0)
		return -ENOMEM;
	free(*list);
	*list = n;
	return 0;
}

static int set_env(const char *name, const char *value)
{
	if (value ? setenv(name, value, 1) : unsetenv(name))
		return negative_errno();
	return 0;
}

static int set_env_u64(const char *name, uint64_t v, bool hex)
{
	char buf[32];

	if (hex)
		snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	else
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return set_env(name, buf);
}

static int build_layout(const struct claim_args *a, struct vfioc_claim *claim, bool verbose,
			struct layout *l)
{
	_cleanup_free_ char *devices = NULL, *irqs = NULL, *ranges_list = NULL;
	const struct vfioc_iova_range *ranges;
	size_t n_ranges;
	int n, fd, r = 0;

	for (size_t i = 0; i < a->n_devices; i++) {
		n = layout_add(l, vfioc_claim_device_fd(claim, a->devices[i]));
		if (n < 0)
			return n;
		r = list_append(&devices, "%s=%d", a->devices[i], n);
		if (r < 0)
			return r;
		if (verbose)
			fprintf(stderr, "vfioctl: fd %d: device %s\n", n, a->devices[i]);
	}

	fd = vfioc_claim_container_fd(claim);
	if (fd >= 0) {
		n = layout_add(l, fd);
		if (n < 0)
			return n;
		if (verbose)
			fprintf(stderr, "vfioctl: fd %d: VFIO container\n", n);
		r = set_env_u64("VFIOD_CONTAINER_FD", (uint64_t)n, false);
	} else
		r = set_env("VFIOD_CONTAINER_FD", NULL);
	if (r < 0)
		return r;

	for (size_t i = 0; i < a->n_irqs; i++)
		for (unsigned v = 0; v < a->irqs[i].count; v++) {
			n = layout_add(
			    l, vfioc_claim_irq_fd(claim, a->irqs[i].device, a->irqs[i].index, v));
			if (n < 0)
				return n;
			r = list_append(&irqs, "%s/%u/%u=%d", a->irqs[i].device, a->irqs[i].index,
					v, n);
			if (r < 0)
				return r;
			if (verbose)
				fprintf(stderr, "vfioctl: fd %d: %s IRQ index %u vector %u\n", n,
					a->irqs[i].device, a->irqs[i].index, v);
		}

	n_ranges = vfioc_claim_iova_ranges(claim, &ranges);
	for (size_t i = 0; i < n_ranges; i++) {
		r = list_append(&ranges_list, "0x%" PRIx64 "-0x%" PRIx64, ranges[i].start,
				ranges[i].last);
		if (r < 0)
			return r;
	}

	/* The fds below 3 + n are ours now: a socket-activation protocol would misread them. */
	if ((r = set_env("LISTEN_FDS", NULL)) < 0 || (r = set_env("LISTEN_PID", NULL)) < 0 ||
	    (r = set_env("LISTEN_FDNAMES", NULL)) < 0 ||
	    (r = set_env_u64("VFIOD_FDS", l->n, false)) < 0 ||
	    (r = set_env("VFIOD_CLAIM", vfioc_claim_path(claim))) < 0 ||
	    (r = set_env("VFIOD_DMA_MODE", vfioc_claim_dma_mode(claim))) < 0 ||
	    (r = set_env("VFIOD_DEVICE_FDS", devices)) < 0 ||
	    (r = set_env("VFIOD_IRQ_FDS", irqs)) < 0 ||
	    (r = set_env("VFIOD_IOVA_RANGES", ranges_list)) < 0 ||
	    (r = set_env_u64("VFIOD_IOVA_PGSIZES", vfioc_claim_iova_pgsizes(claim), true)) < 0 ||
	    (r = set_env_u64("VFIOD_DMA_QUOTA", vfioc_claim_dma_quota(claim), false)) < 0)
		return r;
	return 0;
}

/* In the child: fds into place, signals back to normal, then PROGRAM. Never returns. */
static _Noreturn void run_program(char **program, struct layout *l, const sigset_t *saved_mask,
				  const struct sigaction *saved_chld, pid_t parent)
{
	int r;

	/* vfioctl gone means the claim is gone: PROGRAM must not carry on with a device vfiod
	 * is scrubbing. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(EXIT_VFIOCTL_FAILED);

	r = fd_layout_apply(l->fds, l->n, FIRST_FD);
	if (r < 0) {
		fprintf(stderr, "vfioctl: cannot place the fds for %s: %s\n", program[0],
			strerror(-r));
		_exit(EXIT_VFIOCTL_FAILED);
	}
	signal(SIGPIPE, SIG_DFL);
	sigaction(SIGCHLD, saved_chld, NULL);
	sigprocmask(SIG_SETMASK, saved_mask, NULL);

	execvp(program[0], program);
	r = errno;
	fprintf(stderr, "vfioctl: cannot run %s: %s\n", program[0], strerror(r));
	_exit(r == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_VFIOCTL_FAILED;
}

/* PROGRAM, while vfioctl waits for it; signals go through a pidfd, so a recycled pid is never
 * hit. */
struct child {
	const char *name;
	pid_t pid;
	int pidfd;
	bool sent_term; /* for a revocation */
	bool claim_ended;
};

static void child_signal(struct child *c, int sig)
{
	if (pidfd_send_signal(c->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		print_error("cannot send %s to %s pid %d: %m", sigabbrev_np(sig), c->name,
			    (int)c->pid);
}

/*
 * What vfiod says about the claim, delivered by vfioc_client_dispatch(). A revocation is
 * passed on as SIGTERM, once: PROGRAM should close the device and exit within the grace
 * period. A claim vfiod ended (the grace is over) leaves PROGRAM with fds nobody vouches
 * for any more, and the unbind waits for them: SIGKILL. A lost connection is reported by
 * dispatch itself.
 */
static void on_claim_event(struct vfioc_client *client, const struct vfioc_event *e, void *userdata)
{
	struct child *c = userdata;

	switch (e->type) {
	case VFIOC_EVENT_REVOKED:
		if (c->sent_term || c->claim_ended)
			break;
		fprintf(stderr, "vfioctl: %s revoked (%s): sending SIGTERM to %s pid %d\n",
			e->device, e->reason, c->name, (int)c->pid);
		c->sent_term = true;
		child_signal(c, SIGTERM);
		break;
	case VFIOC_EVENT_CLAIM_ENDED:
		if (e->connection_lost)
			break;
		c->claim_ended = true;
		fprintf(stderr,
			"vfioctl: vfiod ended the claim (%s): sending SIGKILL to %s pid %d\n",
			e->reason, c->name, (int)c->pid);
		child_signal(c, SIGKILL);
		break;
	case VFIOC_EVENT_DEVICE_GONE:
		fprintf(stderr, "vfioctl: %s is gone from vfiod\n", e->device);
		break;
	case VFIOC_EVENT_LOST:
		break;
	}
}

/*
 * Waits for PROGRAM, forwarding SIGINT, SIGTERM and SIGHUP that someone sent to vfioctl (a
 * terminal's own signals reach PROGRAM directly, so those are not sent twice), and keeps the
 * connection to vfiod drained, acting on its events (on_claim_event). Returns PROGRAM's exit
 * code.
 */
static int supervise(struct child *child, int sfd, struct vfioc_client *client, bool *ret_connected)
{
	pid_t pid = child->pid;
	struct pollfd p[2] = {
	    {.fd = sfd, .events = POLLIN},
	    {.fd = vfioc_client_get_fd(client), .events = POLLIN},
	};
	int status;

	for (;;) {
		if (poll(p, p[1].fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			print_error("poll: %m; waiting for the program without forwarding signals");
			return waitpid(pid, &status, 0) == pid ? exit_code(status)
							       : EXIT_VFIOCTL_FAILED;
		}

		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD &&
			    si.ssi_code != SI_KERNEL)
				child_signal(child, (int)si.ssi_signo);
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				return exit_code(status);
			if (w < 0 && errno != EINTR) {
				print_error("lost track of the program: waitpid: %m");
				return EXIT_VFIOCTL_FAILED;
			}
		}

		if (p[1].fd >= 0 && p[1].revents) {
			int r = vfioc_client_dispatch(client, 0);
			if (r < 0) {
				fprintf(stderr,
					"vfioctl: lost the connection to vfiod (%s): the claim has "
					"ended and vfiod scrubs the devices; the program keeps "
					"running\n",
					strerror(-r));
				*ret_connected = false;
				p[1].fd = -1;
			}
		}
	}
}

int cmd_claim(const struct vfioctl *ctx, int argc, char **argv)
{
	struct vfioc_client *client = NULL;
	struct vfioc_claim *claim = NULL;
	struct claim_args a = {};
	struct layout l = {};
	sigset_t mask, saved;
	struct sigaction saved_chld;
	_cleanup_close_ int sfd = -EBADF;
	struct child child = {.pidfd = -EBADF};
	bool want_help, connected = true;
	int r, ret = EXIT_VFIOCTL_FAILED;
	pid_t pid;

	r = parse_args(argc, argv, &a, &want_help);
	if (r != 0 || want_help) {
		if (want_help)
			help(stdout);
		claim_args_done(&a);
		return r;
	}

	r = ctx->system ? vfioc_connect_system(&client) : vfioc_connect(ctx->address, &client);
	if (r < 0) {
		print_error("cannot connect to vfiod %s%s: %s",
			    ctx->system ? "on the system bus" : "at ",
			    ctx->system		      ? ""
			    : ctx->address	      ? ctx->address
			    : getenv("VFIOD_ADDRESS") ? getenv("VFIOD_ADDRESS")
						      : VFIOC_DEFAULT_ADDRESS,
			    strerror(-r));
		goto out;
	}

	/* Before the claim: a revocation may come at any time. */
	child.name = a.program[0];
	r = vfioc_client_set_event_fn(client, on_claim_event, &child);
	if (r < 0) {
		print_error("cannot follow the claim's events: %s", strerror(-r));
		goto out;
	}

	struct vfioc_claim_options opts = {.size = sizeof(opts), .dma_mode = a.dma_mode};
	r = vfioc_claim(client, (const char *const *)a.devices, a.n_devices, &opts, &claim);
	if (r < 0) {
		print_error("cannot claim %s%s: %s", a.devices[0],
			    a.n_devices > 1 ? " and the others" : "",
			    vfioc_client_last_error(client) ? vfioc_client_last_error(client)
							    : strerror(-r));
		goto out;
	}
	if (ctx->verbose)
		fprintf(stderr, "vfioctl: claimed %zu device(s) in %s mode as %s\n", a.n_devices,
			vfioc_claim_dma_mode(claim), vfioc_claim_path(claim));

	for (size_t i = 0; i < a.n_irqs; i++) {
		r = vfioc_claim_set_irqs(claim, a.irqs[i].device, a.irqs[i].index, a.irqs[i].count);
		if (r < 0) {
			print_error("cannot set up %u eventfd(s) for IRQ index %u of %s: %s",
				    a.irqs[i].count, a.irqs[i].index, a.irqs[i].device,
				    vfioc_client_last_error(client)
					? vfioc_client_last_error(client)
					: strerror(-r));
			goto out;
		}
	}

	r = build_layout(&a, claim, ctx->verbose, &l);
	if (r < 0) {
		print_error("cannot describe the fds: %s", strerror(-r));
		goto out;
	}

	if (!a.quiet && streq(vfioc_claim_dma_mode(claim), "brokered"))
		fprintf(stderr,
			"vfioctl: note: brokered DMA mode: %s gets the device fds but cannot map "
			"memory for DMA (mappings go through vfioctl's connection to vfiod). Use "
			"--dma container if the policy allows it.\n",
			a.program[0]);

	/* An inherited SIG_IGN would make the kernel reap PROGRAM behind our back and never
	 * send SIGCHLD. The child gets the inherited disposition back. */
	if (sigaction(SIGCHLD, &(struct sigaction){.sa_handler = SIG_DFL}, &saved_chld) < 0) {
		print_error("sigaction: %m");
		goto out;
	}

	/* Signals go through a signalfd from here on; the child restores the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, &saved) < 0) {
		print_error("sigprocmask: %m");
		goto out;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		print_error("signalfd: %m");
		goto out;
	}

	pid_t parent = getpid();
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		print_error("fork: %m");
		goto out;
	}
	if (pid == 0)
		run_program(a.program, &l, &saved, &saved_chld, parent);

	child.pid = pid;
	child.pidfd = pidfd_open(pid, 0);
	if (child.pidfd < 0) {
		/* Not reaped yet, so the pid is still PROGRAM's. */
		print_error("pidfd_open: %m; stopping %s", a.program[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	ret = supervise(&child, sfd, client, &connected);
	if (ctx->verbose)
		fprintf(stderr, "vfioctl: %s exited with %d; releasing the claim\n", a.program[0],
			ret);

out:
	safe_close(child.pidfd);
	/* A claim vfiod ended has no object left to call Release() on. */
	if (claim && connected && !child.claim_ended) {
		r = vfioc_claim_release(claim);
		if (r < 0)
			fprintf(stderr, "vfioctl: releasing the claim: %s\n",
				vfioc_client_last_error(client) ? vfioc_client_last_error(client)
								: strerror(-r));
	} else
		vfioc_claim_free(claim);
	vfioc_client_free(client);
	claim_args_done(&a);
	return ret;
}
