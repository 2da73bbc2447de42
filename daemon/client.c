/* SPDX-License-Identifier: MIT */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <systemd/sd-login.h>

#include "bus-error.h"
#include "claim.h"
#include "log.h"
#include "peer-io.h"
#include "polkit.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Supplementary groups the daemon records per client; more are ignored (deny-safe). */
#define CLIENT_MAX_GROUPS 256

Client *client_free(Client *c)
{
	Claim *claim;

	if (!c)
		return NULL;
	if (c->polkit_checks)
		log_info("Client %s went away with %u polkit check(s) pending: nothing granted",
			 c->label, c->n_polkit_checks);
	while (c->polkit_checks)
		polkit_check_free(c->polkit_checks);
	while ((claim = c->claims))
		claim_free(claim);

	if (c->manager) {
		LIST_REMOVE(clients, c->manager->clients, c);
		c->manager->n_clients--;
		manager_notify_status(c->manager);
	}
	if (c->label[0])
		log_debug("Client %s gone", c->label);

	c->free_source = sd_event_source_unref(c->free_source);
	peer_io_detach(c);
	c->exit_source = sd_event_source_disable_unref(c->exit_source);
	c->track = sd_bus_track_unref(c->track);
	if (c->transport == CLIENT_PEER)
		c->bus = sd_bus_flush_close_unref(c->bus);
	bus_match_set_clear(&c->match_rules);
	free(c->bus_name);
	free(c->unit);
	free(c->cgroup);
	free(c->supplementary_gids);
	safe_close(c->pidfd);
	free(c);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Client *, client_free)

void client_policy_subject(const Client *c, PolicySubject *ret)
{
	*ret = (PolicySubject){
	    .uid = c->uid,
	    .gid = c->gid,
	    .supplementary_gids = c->supplementary_gids,
	    .n_supplementary_gids = c->n_supplementary_gids,
	};
}

static int client_alloc(Manager *m, ClientTransport transport, Client **ret)
{
	Client *c;

	if (m->n_clients >= MANAGER_MAX_CLIENTS)
		return log_warning_errno(EMFILE, "Refusing client: %u clients connected",
					 m->n_clients);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->transport = transport;
	c->pidfd = -EBADF;
	c->gid = (gid_t)-1;
	c->manager = m;
	LIST_PREPEND(clients, m->clients, c);
	m->n_clients++;
	*ret = c;
	return 0;
}

static void client_set_label(Client *c)
{
	snprintf(c->label, sizeof(c->label), "uid=%u pid=%d", (unsigned)c->uid, (int)c->pid);
}

/*
 * The unit and cgroup of the client's process, shown to admins as the holder.
 * Read from /proc by pid, so they are dropped again when a pidfd says the
 * process is gone (the pid may already name another process).
 */
static void client_read_placement(Client *c)
{
	if (sd_pid_get_cgroup(c->pid, &c->cgroup) < 0)
		c->cgroup = NULL;
	if (sd_pid_get_unit(c->pid, &c->unit) < 0 && sd_pid_get_user_unit(c->pid, &c->unit) < 0)
		c->unit = NULL;
	if (c->pidfd >= 0 && syscall(SYS_pidfd_send_signal, c->pidfd, 0, NULL, 0) < 0) {
		c->cgroup = mfree(c->cgroup);
		c->unit = mfree(c->unit);
	}
}

int client_kill(Client *c, int sig)
{
	/* Never by pid: it may name another process by now. */
	if (c->pidfd < 0)
		return -EOPNOTSUPP;
	if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0)
		return negative_errno();
	return 0;
}

static int on_free_deferred(sd_event_source *s, void *userdata)
{
	client_free(userdata);
	return 0;
}

int client_free_later(Client *c)
{
	if (c->free_source)
		return 0;
	return sd_event_add_defer(c->manager->event, &c->free_source, on_free_deferred, c);
}

static int on_peer_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Client *c = userdata;

	log_debug("Peer %s disconnected", c->label);
	/* If this fails, peer-io.c frees the client once sd_bus_process() returns. */
	(void)client_free_later(c);
	return 0;
}

static int peer_read_credentials(Client *c, int fd)
{
	struct ucred ucred;
	socklen_t len = sizeof(ucred);
	gid_t groups[CLIENT_MAX_GROUPS];
	int pidfd;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &ucred, &len) < 0)
		return negative_errno();
	if (len != sizeof(ucred) || ucred.pid <= 0)
		return -EPERM;
	c->uid = ucred.uid;
	c->gid = ucred.gid;
	c->pid = ucred.pid;

	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) >= 0) {
		size_t n = len / sizeof(gid_t);
		c->supplementary_gids = calloc(n ? n : 1, sizeof(gid_t));
		if (!c->supplementary_gids)
			return -ENOMEM;
		memcpy(c->supplementary_gids, groups, n * sizeof(gid_t));
		c->n_supplementary_gids = n;
	} else if (errno != ERANGE)
		return negative_errno();
	/* ERANGE: more groups than we record; matching on fewer only denies more. */

	/*
	 * A pidfd names the process exactly (no pid reuse). Kernels before 6.5
	 * lack SO_PEERPIDFD: pin the pid now, at first contact, as for bus clients.
	 */
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) >= 0)
		c->pidfd = pidfd;
	else {
		pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
		c->pidfd = pidfd >= 0 ? pidfd : -EBADF;
	}
	return 0;
}

int client_new_peer(Manager *m, int fd, Client **ret)
{
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_close_ int owned_fd = fd;
	sd_id128_t server_id;
	int r;

	r = client_alloc(m, CLIENT_PEER, &c);
	if (r < 0)
		return r;
	r = peer_read_credentials(c, fd);
	if (r < 0)
		return log_warning_errno(r, "Refusing connection without peer credentials: %m");
	client_set_label(c);
	client_read_placement(c);

	r = sd_id128_randomize(&server_id);
	if (r < 0)
		return r;
	r = sd_bus_new(&c->bus);
	if (r < 0)
		return r;
	r = sd_bus_set_fd(c->bus, fd, fd);
	if (r < 0)
		return r;
	TAKE_FD(owned_fd);
	(void)sd_bus_set_description(c->bus, c->label);
	r = sd_bus_set_server(c->bus, 1, server_id);
	if (r < 0)
		return r;
	r = sd_bus_negotiate_fds(c->bus, 1);
	if (r < 0)
		return r;
	r = sd_bus_match_signal(c->bus, NULL, NULL, "/org/freedesktop/DBus/Local",
				"org.freedesktop.DBus.Local", "Disconnected", on_peer_disconnected,
				c);
	if (r < 0)
		return r;
	r = manager_add_bus_objects(m, c->bus, c);
	if (r < 0)
		return r;
	r = sd_bus_start(c->bus);
	if (r < 0)
		/* A peer that hangs up at once (a liveness probe) is no reason to warn. */
		return log_full_errno(r == -ECONNRESET || r == -EPIPE ? LOG_DEBUG : LOG_WARNING, r,
				      "Cannot start connection of %s: %m", c->label);
	r = peer_io_attach(c);
	if (r < 0)
		return r;

	log_debug("Peer connected: %s", c->label);
	manager_notify_status(m);
	if (ret)
		*ret = c;
	TAKE_PTR(c);
	return 0;
}

static int on_holder_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Client *c = userdata;

	log_info("Holder %s of a restored claim exited", c->label);
	(void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
	if (client_free_later(c) < 0)
		client_free(c);
	return 0;
}

int client_new_restored(Manager *m, uid_t uid, gid_t gid, pid_t pid, int pidfd, Client **ret)
{
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_close_ int owned_pidfd = pidfd;
	int r;

	r = client_alloc(m, CLIENT_RESTORED, &c);
	if (r < 0)
		return r;
	c->uid = uid;
	c->gid = gid;
	c->pid = pid;
	c->pidfd = TAKE_FD(owned_pidfd);
	client_set_label(c);
	client_read_placement(c);
	r = sd_event_add_io(m->event, &c->exit_source, c->pidfd, EPOLLIN, on_holder_exit, c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

static int on_bus_name_gone(sd_bus_track *t, void *userdata)
{
	Client *c = userdata;

	log_debug("Bus client %s (%s) vanished", c->bus_name, c->label);
	if (client_free_later(c) < 0)
		client_free(c);
	return 0;
}

static int system_bus_client_new(Manager *m, sd_bus_message *msg, Client **ret, sd_bus_error *error)
{
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	/* dbus-daemon's UnixUserID (the uid that authenticated) arrives as the EUID. */
	const uint64_t needed = SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID;
	const gid_t *gids = NULL;
	uint64_t augmented;
	int r, n;

	/* Only what the bus daemon took from the kernel counts; /proc lookups are racy. */
	r = sd_bus_query_sender_creds(msg, needed | SD_BUS_CREDS_SUPPLEMENTARY_GIDS, &creds);
	if (r < 0)
		goto deny;
	augmented = sd_bus_creds_get_augmented_mask(creds);
	if (augmented & needed) {
		r = -EPERM;
		goto deny;
	}

	r = client_alloc(m, CLIENT_SYSTEM_BUS, &c);
	if (r < 0)
		return sd_bus_error_setf(error, VFIOD_ERROR_LIMIT_EXCEEDED,
					 "Too many clients are connected.");
	c->bus = m->system_bus;
	r = sd_bus_creds_get_euid(creds, &c->uid);
	if (r >= 0)
		r = sd_bus_creds_get_pid(creds, &c->pid);
	if (r < 0)
		goto deny;
	if (!(augmented & SD_BUS_CREDS_SUPPLEMENTARY_GIDS)) {
		n = sd_bus_creds_get_supplementary_gids(creds, &gids);
		if (n > 0) {
			n = n > CLIENT_MAX_GROUPS ? CLIENT_MAX_GROUPS : n;
			c->supplementary_gids = calloc(n, sizeof(gid_t));
			if (!c->supplementary_gids)
				return -ENOMEM;
			memcpy(c->supplementary_gids, gids, n * sizeof(gid_t));
			c->n_supplementary_gids = n;
		}
	}
	/*
	 * The bus daemon gives a pid, not a pidfd (dbus 1.14): pin the process
	 * now, while its connection is known to be alive, for revocation.
	 */
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0)
		c->pidfd = -EBADF;
	client_set_label(c);
	client_read_placement(c);

	c->bus_name = strdup(sd_bus_message_get_sender(msg));
	if (!c->bus_name)
		return -ENOMEM;
	r = sd_bus_track_new(m->system_bus, &c->track, on_bus_name_gone, c);
	if (r >= 0)
		r = sd_bus_track_add_sender(c->track, msg);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(c);
	return 0;
deny:
	return sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED,
				 "Cannot establish the caller's identity: %s", strerror(-r));
}

int client_from_message(Manager *m, sd_bus_message *msg, Client **ret, sd_bus_error *error)
{
	sd_bus *bus = sd_bus_message_get_bus(msg);
	const char *sender;
	Client *c;

	if (bus != m->system_bus) {
		LIST_FOREACH (clients, c, m->clients)
			if (c->transport == CLIENT_PEER && c->bus == bus) {
				*ret = c;
				return 0;
			}
		return sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED,
					 "Unknown connection.");
	}

	sender = sd_bus_message_get_sender(msg);
	if (!sender)
		return sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED, "No sender.");
	LIST_FOREACH (clients, c, m->clients)
		if (c->transport == CLIENT_SYSTEM_BUS && streq(c->bus_name, sender) &&
		    !c->free_source) {
			*ret = c;
			return 0;
		}
	return system_bus_client_new(m, msg, ret, error);
}
