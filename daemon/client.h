/* SPDX-License-Identifier: MIT */
/*
 * A client: one peer connection on the private socket, or one unique name on
 * the system bus. Its identity is read from the kernel when it appears and
 * never from a request. When it goes away, its claims are released.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "bus-match.h"
#include "list.h"
#include "manager.h"

typedef struct PolkitCheck PolkitCheck;

typedef enum ClientTransport {
	CLIENT_PEER,	   /* private socket, one sd_bus per connection */
	CLIENT_SYSTEM_BUS, /* a unique name on the system bus */
	CLIENT_RESTORED,   /* the holder of a claim restored after a restart: no connection */
} ClientTransport;

struct Client {
	Manager *manager;
	LIST_FIELDS(Client, clients);

	ClientTransport transport;
	sd_bus *bus;	     /* PEER: owned connection; SYSTEM_BUS: m->system_bus, borrowed */
	char *bus_name;	     /* SYSTEM_BUS: unique name */
	sd_bus_track *track; /* SYSTEM_BUS: tells when the name vanishes */
	sd_event_source *free_source; /* deferred free after disconnect */
	/* PEER: the connection's place in the event loop (peer-io.h). */
	sd_event_source *io_source;
	sd_event_source *io_timer;
	uint32_t io_events;
	/* PEER: the broadcast signals it asked for (AddMatch), as a bus daemon keeps them. */
	BusMatchSet match_rules;

	uid_t uid;
	gid_t gid; /* (gid_t) -1 when the transport cannot tell it reliably */
	pid_t pid;
	int pidfd;		      /* -EBADF when unavailable */
	sd_event_source *exit_source; /* RESTORED: the pidfd says the holder exited */
	gid_t *supplementary_gids;
	size_t n_supplementary_gids;
	char label[64]; /* "uid=1001 pid=345" for messages */
	/* Where the process runs, for admins only (never for decisions); NULL when unknown. */
	char *unit;
	char *cgroup;

	Claim *claims;
	unsigned n_claims;
	PolkitCheck *polkit_checks; /* waiting for polkit; freed (cancelled) with the client */
	unsigned n_polkit_checks;
	unsigned n_devices;
	unsigned n_irq_fds;
	uint64_t dma_mapped; /* brokered bytes mapped over all claims */
};

/*
 * Sends sig to the client's process through its pidfd. Fails with
 * -EOPNOTSUPP when there is none (kernels before 6.5 for socket clients),
 * -ESRCH when the process is gone.
 */
int client_kill(Client *c, int sig);

/*
 * The holder of a claim restored from the fd store (fd-store.h), as the
 * record says, pinned by pidfd (taken, on failure too); freed, with its
 * claims, when the process exits.
 */
int client_new_restored(Manager *m, uid_t uid, gid_t gid, pid_t pid, int pidfd, Client **ret);

/* Takes ownership of fd, an accepted connection on the private socket. */
int client_new_peer(Manager *m, int fd, Client **ret);

/*
 * The client that sent msg: the peer connection it came on, or the system bus
 * sender (created on first use, with credentials from the bus daemon).
 * Fails with a D-Bus error set when the identity cannot be established.
 */
int client_from_message(Manager *m, sd_bus_message *msg, Client **ret, sd_bus_error *error);

/* The client as the policy sees it (policy_find_rule()); borrows c's group list. */
void client_policy_subject(const Client *c, PolicySubject *ret);

/* Releases every claim of the client and frees it. */
Client *client_free(Client *c);

/* Frees the client from the event loop, outside the callbacks of its own connection. */
int client_free_later(Client *c);
