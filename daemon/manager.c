/* SPDX-License-Identifier: MIT */
#include "manager.h"

#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "bus-error.h"
#include "bus-objects.h"
#include "claim.h"
#include "client.h"
#include "config.h"
#include "device.h"
#include "devtree.h"
#include "device-monitor.h"
#include "fd-store.h"
#include "group.h"
#include "idle-exit.h"
#include "log.h"
#include "memory-trim.h"
#include "rebind.h"
#include "sysfs.h"

uint64_t manager_dispatch_generation(Manager *m)
{
	uint64_t iteration = 0;

	(void)sd_event_get_iteration(m->event, &iteration);
	return iteration + m->n_peer_dispatches;
}

int manager_new(const char *root, Manager **ret)
{
	_cleanup_free_ Manager *m = NULL;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->root_fd = m->dev_fd = m->listen_fd = -EBADF;
	m->backend = &vfio_legacy_ops;

	m->root_fd = open(root ?: "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->root_fd < 0)
		return log_error_errno(negative_errno(), "Cannot open root directory %s: %m",
				       root ?: "/");
	m->dev_fd = openat(m->root_fd, "dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->dev_fd < 0) {
		r = log_error_errno(negative_errno(), "Cannot open %s/dev: %m", root ?: "");
		safe_close(m->root_fd);
		return r;
	}
	r = sd_event_default(&m->event);
	if (r < 0) {
		safe_close(m->dev_fd);
		safe_close(m->root_fd);
		return r;
	}
	r = bus_error_register_map();
	if (r < 0)
		log_warning_errno(r, "Cannot register D-Bus error map: %m");
	*ret = TAKE_PTR(m);
	return 0;
}

static Claim *manager_find_stored_claim(Manager *m)
{
	Claim *c;

	LIST_FOREACH (claims, c, m->claims)
		if (c->stored)
			return c;
	return NULL;
}

static unsigned manager_count_stored_claims(Manager *m)
{
	unsigned n = 0;
	Claim *c;

	LIST_FOREACH (claims, c, m->claims)
		n += c->stored;
	return n;
}

Manager *manager_free(Manager *m)
{
	Client *c;
	Claim *claim;

	if (!m)
		return NULL;
	/* Claims in the fd store stay as they are, for the next instance. */
	if (m->n_store_fds > 0)
		log_info("Leaving %u claim(s) in the fd store for the next start",
			 manager_count_stored_claims(m));
	while ((claim = manager_find_stored_claim(m)))
		claim_detach(claim);
	/* Releasing every other claim scrubs the devices before the daemon goes. */
	while ((c = m->clients))
		client_free(c);
	fd_store_done(m);
	rebind_registry_free(m);
	m->idle_exit = idle_exit_free(m->idle_exit);
	memory_trim_done(m);
	m->listen_source = sd_event_source_unref(m->listen_source);
	m->accept_resume_source = sd_event_source_unref(m->accept_resume_source);
	safe_close(m->listen_fd);
	/* A stale socket file would look like a live one to the next starter. */
	if (m->bound_socket_path)
		(void)unlink(m->bound_socket_path);
	free(m->bound_socket_path);
	m->system_bus = sd_bus_flush_close_unref(m->system_bus);
	m->event = sd_event_unref(m->event);
	device_monitor_stop(m);
	device_registry_free(m);
	devtree_free(m->devtree);
	free(m->devtree_error);
	policy_free(m->policy);
	free(m->config_path);
	free(m->policy_dir);
	safe_close(m->dev_fd);
	safe_close(m->root_fd);
	free(m);
	return NULL;
}

int manager_load_policy(Manager *m)
{
	return manager_load_policy_full(m, NULL);
}

int manager_load_policy_full(Manager *m, char **ret_error)
{
	_cleanup_free_ char *error = NULL;
	Policy *p = NULL;
	int r;

	r = policy_load(m->config_path, m->policy_dir, &p, &error);
	if (r < 0) {
		log_error_errno(r, "Cannot load policy%s: %s",
				m->policy ? " (keeping the previous one)" : "",
				error ?: strerror(-r));
		if (ret_error)
			*ret_error = TAKE_PTR(error);
		return r;
	}
	policy_free(m->policy);
	m->policy = p;
	log_info("Policy loaded from %s and %s/*.conf: %zu rule(s)", m->config_path, m->policy_dir,
		 p->n_rules);
	return 0;
}

int manager_load_devices(Manager *m)
{
	size_t n_vfio = 0;
	int r;

	r = device_registry_load(m);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_devices; i++) {
		const Device *d = m->devices[i];

		if (!device_is_bound_to_vfio(d))
			continue;
		log_debug("VFIO device %s in IOMMU group %d", device_name(d),
			  device_iommu_group(d));
		n_vfio++;
	}
	log_info("%zu device(s) in %zu IOMMU group(s), %zu bound to a VFIO driver", m->n_devices,
		 m->n_groups, n_vfio);
	return 0;
}

int manager_add_bus_objects(Manager *m, sd_bus *bus, Client *peer)
{
	int r;

	r = bus_manager_add(bus, m);
	if (r < 0)
		return r;
	r = bus_claim_add(bus, m);
	if (r < 0)
		return r;
	r = bus_device_add(bus, m);
	if (r < 0)
		return r;
	r = bus_group_add(bus, m);
	if (r < 0)
		return r;
	r = sd_bus_add_object_manager(bus, NULL, BROKER_PATH);
	if (r < 0)
		return r;
	r = memory_trim_add(bus, m);
	if (r < 0)
		return r;
	return peer ? bus_peer_driver_add(bus, peer) : 0;
}

static int on_accept_resume(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	m->accept_resume_source = sd_event_source_unref(m->accept_resume_source);
	return sd_event_source_set_enabled(m->listen_source, SD_EVENT_ON);
}

/*
 * Out of fds or memory, the pending connection stays queued and the socket
 * stays readable: stop listening for a while instead of spinning on it.
 */
static void manager_pause_accepting(Manager *m, int error)
{
	int r;

	if (m->accept_resume_source)
		return;
	r = sd_event_add_time_relative(m->event, &m->accept_resume_source, CLOCK_MONOTONIC,
				       MANAGER_ACCEPT_PAUSE_USEC, 0, on_accept_resume, m);
	if (r < 0)
		return; /* the spin is better than never accepting again */
	(void)sd_event_source_set_enabled(m->listen_source, SD_EVENT_OFF);
	log_warning_errno(error, "accept() failed: %m; not accepting for %u ms (%u clients)",
			  (unsigned)(MANAGER_ACCEPT_PAUSE_USEC / 1000), m->n_clients);
}

static int on_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Manager *m = userdata;
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			manager_pause_accepting(m, errno);
		else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warning_errno(errno, "accept() failed: %m");
		return 0;
	}
	/* client_new_peer() owns cfd from here, on failure too. */
	(void)client_new_peer(m, cfd, NULL);
	return 0;
}

/* Whether something accepts connections at `sa` (a full backlog counts as alive). */
static bool socket_is_live(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return false;
	return connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
}

/*
 * Refuses a path that another live instance serves; a stale file left by a
 * crash is replaced. Binds under a temporary name and renames the socket into
 * place only once it listens with its final mode, so a client never finds a
 * path that refuses it (ECONNREFUSED between bind and listen, EACCES before
 * the chmod).
 */
static int bind_socket(const char *path)
{
	struct sockaddr_un final = {.sun_family = AF_UNIX}, sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *dir = NULL;
	int r;

	if (snprintf(final.sun_path, sizeof(final.sun_path), "%s", path) >=
		(int)sizeof(final.sun_path) ||
	    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d.new", path, (int)getpid()) >=
		(int)sizeof(sa.sun_path))
		return log_error_errno(ENAMETOOLONG, "Socket path too long: %s", path);

	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		return log_error_errno(errno, "Cannot create the directory of %s: %m", path);
	if (socket_is_live(&final))
		return log_error_errno(EADDRINUSE, "Another process already listens on %s", path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	(void)unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_error_errno(errno, "Cannot bind %s: %m", sa.sun_path);
	/* Anyone may connect; every call is authorized on its own. */
	if (chmod(sa.sun_path, 0666) < 0)
		r = log_error_errno(errno, "Cannot chmod %s: %m", sa.sun_path);
	else if (listen(fd, SOMAXCONN) < 0)
		r = log_error_errno(errno, "Cannot listen on %s: %m", sa.sun_path);
	else if (rename(sa.sun_path, path) < 0)
		r = log_error_errno(errno, "Cannot move the socket to %s: %m", path);
	else
		return TAKE_FD(fd);
	(void)unlink(sa.sun_path);
	return r;
}

int manager_listen(Manager *m, const char *socket_path)
{
	int activated_fd, r;

	/* The socket of vfiod.socket, and the fd store's claims for fd_store_restore(). */
	r = fd_store_collect(m, &activated_fd);
	if (r < 0)
		return r;
	if (activated_fd >= 0 && !socket_path) {
		if (sd_is_socket_unix(activated_fd, SOCK_STREAM, 1, NULL, 0) <= 0)
			return log_error_errno(EINVAL, "The activation fd is not a listening "
						       "UNIX stream socket");
		m->listen_fd = activated_fd;
		r = fcntl(m->listen_fd, F_SETFL, O_NONBLOCK);
		if (r < 0)
			return negative_errno();
		log_debug("Using the socket-activated listening socket");
	} else {
		safe_close(activated_fd);
		m->listen_fd = bind_socket(socket_path ?: VFIOD_SOCKET_PATH);
		if (m->listen_fd < 0)
			return m->listen_fd;
		m->bound_socket_path = strdup(socket_path ?: VFIOD_SOCKET_PATH);
		if (!m->bound_socket_path)
			return log_oom();
	}
	return sd_event_add_io(m->event, &m->listen_source, m->listen_fd, EPOLLIN, on_connection,
			       m);
}

int manager_connect_system_bus(Manager *m)
{
	int r;

	/* sd_bus_open_system() starts the connection with fd passing already negotiated. */
	r = sd_bus_open_system(&m->system_bus);
	if (r >= 0)
		r = manager_add_bus_objects(m, m->system_bus, NULL);
	if (r >= 0)
		r = sd_bus_attach_event(m->system_bus, m->event, SD_EVENT_PRIORITY_NORMAL);
	if (r >= 0)
		r = sd_bus_request_name(m->system_bus, BROKER_BUS_NAME, 0);
	if (r < 0) {
		log_warning_errno(r, "No system bus (%m): serving the private socket only");
		m->system_bus = sd_bus_flush_close_unref(m->system_bus);
		return 0;
	}
	log_info("Serving %s on the system bus", BROKER_BUS_NAME);
	return 0;
}

Claim *manager_find_group_holder(Manager *m, int group)
{
	Claim *c;

	LIST_FOREACH (claims, c, m->claims)
		if (claim_holds_group(c, group))
			return c;
	return NULL;
}

void manager_notify_status(Manager *m)
{
	(void)sd_notifyf(false, "STATUS=%u claim(s), %u client(s)", m->n_claims, m->n_clients);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Manager *m = userdata;

	(void)sd_notify(false, "RELOADING=1");
	(void)manager_load_policy(m);
	(void)device_monitor_rescan(m);
	(void)sd_notify(false, "READY=1");
	manager_notify_status(m);
	return 0;
}

int manager_block_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return negative_errno();
	/* SIGPIPE from a vanished peer must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int manager_run(Manager *m)
{
	int r;

	r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
	if (r < 0)
		return r;

	(void)sd_notify(false, "READY=1");
	manager_notify_status(m);
	log_info("vfiod %s ready", VFIOD_VERSION);
	r = sd_event_loop(m->event);
	(void)sd_notify(false, "STOPPING=1");
	return r;
}
