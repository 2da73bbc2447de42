/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "bus-objects.h"
#include "config.h"
#include "device-monitor.h"
#include "fd-store.h"
#include "idle-exit.h"
#include "log.h"
#include "manager.h"
#include "seccomp-filter.h"

/* A year: longer is a typo, and keeps the product with 1e6 far from overflow. */
#define EXIT_IDLE_TIME_MAX (365u * 24 * 3600)

typedef struct Options {
	const char *config_path;
	const char *socket_path;
	const char *root;
	bool system_bus;
	bool seccomp;
	uint64_t exit_idle_usec; /* 0: never */
} Options;

static void help(void)
{
	printf(
	    "Usage: vfiod [OPTIONS]\n\n"
	    "Brokers VFIO devices to unprivileged clients.\n\n"
	    "  -h --help              Show this help\n"
	    "     --version           Show the version\n"
	    "     --config PATH       Policy file (default %s; drop-ins in policy.d/ beside it)\n"
	    "     --socket PATH       Bind this socket when not socket-activated\n"
	    "                         (default %s)\n"
	    "     --no-system-bus     Serve the private socket only\n"
	    "     --root DIR          Read sysfs and /dev below DIR (for tests)\n"
	    "     --exit-idle-time SECONDS\n"
	    "                         Exit after SECONDS without claims, peers or\n"
	    "                         requests (default 0: never)\n"
	    "     --no-seccomp        Do not install the system call filter (debugging)\n"
	    "     --log-level LEVEL   debug, info, notice, warning or err (default info)\n"
	    "     --bus-introspect=INTERFACE\n"
	    "                         Print the introspection XML of one D-Bus interface\n"
	    "                         (\"list\" lists them) and exit\n",
	    VFIOD_CONFIG_PATH, VFIOD_SOCKET_PATH);
}

static int parse_log_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
	    {"debug", LOG_DEBUG},     {"info", LOG_INFO}, {"notice", LOG_NOTICE},
	    {"warning", LOG_WARNING}, {"err", LOG_ERR},
	};
	for (size_t i = 0; i < ELEMENTSOF(levels); i++)
		if (streq(s, levels[i].name))
			return levels[i].level;
	return -EINVAL;
}

static int print_introspection(const char *interface)
{
	int r;

	if (streq(interface, "list")) {
		for (const char *const *i = bus_interfaces; *i; i++)
			puts(*i);
		return 0;
	}
	r = bus_introspect(interface, stdout);
	if (r == -ENOENT)
		return log_error_errno(r, "Unknown interface %s; --bus-introspect=list lists them",
				       interface);
	if (r < 0)
		return log_error_errno(r, "Cannot introspect %s: %m", interface);
	return 0;
}

static int parse_seconds(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* Returns 1 to go on, 0 to exit successfully, negative errno on bad usage. */
static int parse_argv(int argc, char *argv[], Options *o)
{
	enum {
		ARG_VERSION = 0x100,
		ARG_CONFIG,
		ARG_SOCKET,
		ARG_NO_SYSTEM_BUS,
		ARG_ROOT,
		ARG_EXIT_IDLE_TIME,
		ARG_NO_SECCOMP,
		ARG_LOG,
		ARG_BUS_INTROSPECT,
	};
	static const struct option options[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, ARG_VERSION},
	    {"config", required_argument, NULL, ARG_CONFIG},
	    {"socket", required_argument, NULL, ARG_SOCKET},
	    {"no-system-bus", no_argument, NULL, ARG_NO_SYSTEM_BUS},
	    {"root", required_argument, NULL, ARG_ROOT},
	    {"exit-idle-time", required_argument, NULL, ARG_EXIT_IDLE_TIME},
	    {"no-seccomp", no_argument, NULL, ARG_NO_SECCOMP},
	    {"log-level", required_argument, NULL, ARG_LOG},
	    {"bus-introspect", required_argument, NULL, ARG_BUS_INTROSPECT},
	    {},
	};
	uint64_t seconds;
	int c, level;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("vfiod %s\n", VFIOD_VERSION);
			return 0;
		case ARG_CONFIG:
			o->config_path = optarg;
			break;
		case ARG_SOCKET:
			o->socket_path = optarg;
			break;
		case ARG_NO_SYSTEM_BUS:
			o->system_bus = false;
			break;
		case ARG_ROOT:
			o->root = optarg;
			break;
		case ARG_EXIT_IDLE_TIME:
			if (parse_seconds(optarg, EXIT_IDLE_TIME_MAX, &seconds) < 0)
				return log_error_errno(
				    EINVAL, "--exit-idle-time takes seconds, 0 to %u: %s",
				    EXIT_IDLE_TIME_MAX, optarg);
			o->exit_idle_usec = seconds * 1000000;
			break;
		case ARG_NO_SECCOMP:
			o->seccomp = false;
			break;
		case ARG_LOG:
			level = parse_log_level(optarg);
			if (level < 0)
				return log_error_errno(EINVAL, "Unknown log level: %s", optarg);
			log_set_max_level(level);
			break;
		case ARG_BUS_INTROSPECT:
			return print_introspection(optarg);
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(EINVAL, "vfiod takes no arguments; see --help");
	return 1;
}

/*
 * Services start with a soft RLIMIT_NOFILE of 1024, too few for
 * MANAGER_MAX_CLIENTS clients; vfiod uses epoll, so no FD_SETSIZE applies.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= MANAGER_NOFILE_WANTED)
		return;
	rl.rlim_cur = rl.rlim_max < MANAGER_NOFILE_WANTED ? rl.rlim_max : MANAGER_NOFILE_WANTED;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warning_errno(errno, "Cannot raise the fd limit to %llu: %m",
				  (unsigned long long)rl.rlim_cur);
}

/*
 * A GetManagedObjects answer at 10,000 devices is one 13 MB message. glibc
 * raises its mmap threshold to the size of every large block freed, so from
 * the second such answer on the buffer would come from the heap and stay
 * resident after it is sent (22 MiB instead of 8 at that scale). A fixed
 * threshold (which also fixes the trim threshold) keeps large buffers in
 * their own mappings, returned to the kernel when freed.
 */
static void return_large_buffers_when_freed(void)
{
	if (mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1)
		log_warning(
		    "Cannot fix the malloc mmap threshold; large answers may stay resident");
}

int main(int argc, char *argv[])
{
	Options o = {.system_bus = true, .seccomp = true};
	Manager *m = NULL;
	int r;

	r = parse_argv(argc, argv, &o);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	r = manager_block_signals();
	if (r < 0) {
		log_error_errno(r, "Cannot block signals: %m");
		return 1;
	}

	raise_fd_limit();
	return_large_buffers_when_freed();
	r = manager_new(o.root, &m);
	if (r < 0)
		goto finish;
	m->config_path = strdup(o.config_path ?: VFIOD_CONFIG_PATH);
	if (!m->config_path) {
		r = log_oom();
		goto finish;
	}
	if (o.config_path)
		r = policy_dropin_dir_for(o.config_path, &m->policy_dir);
	else
		r = (m->policy_dir = strdup(VFIOD_POLICY_DIR)) ? 0 : -ENOMEM;
	if (r < 0)
		goto finish;

	/* Without a policy nothing could be granted: refuse to start rather than deny silently. */
	r = manager_load_policy(m);
	if (r < 0)
		goto finish;
	/* Subscribe before enumerating, so that no change falls between the two. */
	if (!o.root) {
		r = device_monitor_start(m);
		if (r < 0)
			goto finish;
	}
	r = manager_load_devices(m);
	if (r < 0)
		goto finish;
	r = manager_listen(m, o.socket_path);
	if (r < 0)
		goto finish;
	/* Claims a previous instance left in the fd store, before anyone is served. */
	r = fd_store_restore(m);
	if (r < 0)
		goto finish;
	if (o.system_bus) {
		r = manager_connect_system_bus(m);
		if (r < 0)
			goto finish;
	}
	if (o.exit_idle_usec > 0) {
		r = idle_exit_new(m, o.exit_idle_usec, &m->idle_exit);
		if (r < 0)
			goto finish;
	}

	/*
	 * Initialised: from here on the daemon only serves. Whatever needs a
	 * call outside the allow-list (bind, listen, non-AF_UNIX sockets,
	 * loading code) belongs above this line.
	 */
	if (o.seccomp) {
		r = seccomp_filter_install();
		if (r < 0)
			goto finish;
	} else
		log_warning("Running without the system call filter (--no-seccomp)");
	r = manager_run(m);
finish:
	if (r < 0)
		log_error_errno(r, "vfiod failed: %m");
	manager_free(m);
	return r < 0 ? 1 : 0;
}
