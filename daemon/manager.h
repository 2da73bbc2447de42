/* SPDX-License-Identifier: MIT */
/*
 * The daemon's single context: event loop, transports, policy, and the lists
 * of clients and claims. Everything else hangs off it.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#include "list.h"
#include "policy.h"
#include "vfio-backend.h"

typedef struct Client Client;
typedef struct Claim Claim;
typedef struct Device Device;
typedef struct IommuGroup IommuGroup;
typedef struct IdleExit IdleExit;
typedef struct RebindRegistry RebindRegistry;

/* Caps on what clients can make the daemon allocate. */
#define MANAGER_MAX_CLIENTS 1024u
#define CLIENT_MAX_CLAIMS   16u
#define CLIENT_MAX_IRQ_FDS  256u
#define CLAIM_MAX_DEVICES   64u
#define SET_IRQS_MAX_FDS    64u

/* How long vfiod stops accepting connections when it runs out of fds. */
#define MANAGER_ACCEPT_PAUSE_USEC (UINT64_C(250) * 1000)
/*
 * The fd limit vfiod raises its soft limit to (within the hard one): a
 * client costs two fds (socket, pidfd), a claim a few more per device.
 */
#define MANAGER_NOFILE_WANTED 65536u

typedef struct Manager {
	sd_event *event;
	/* Peer messages dispatched: peer-io.c runs several per loop iteration. */
	uint64_t n_peer_dispatches;
	sd_bus *system_bus; /* NULL when not connected */
	int root_fd;	    /* "/" or --root: sysfs and /dev are read below it */
	int dev_fd;	    /* <root>/dev */
	const VfioBackendOps *backend;

	char *config_path;
	char *policy_dir;
	Policy *policy;

	int listen_fd;
	char
	    *bound_socket_path; /* the socket vfiod bound itself (not activated), removed on exit */
	sd_event_source *listen_source;
	sd_event_source *accept_resume_source; /* accepting paused: out of fds */
	uint64_t next_connection_id;

	Client *clients;
	unsigned n_clients;
	Claim *claims;
	unsigned n_claims;
	uint64_t next_claim_id;

	/* The published devices, sorted by name, and their IOMMU groups, by number. */
	Device **devices;
	size_t n_devices;
	IommuGroup **groups;
	size_t n_groups;
	sd_device_monitor *device_monitor; /* NULL with --root: fixture trees have no udev */
	struct DevTree *devtree;	   /* the flattened device tree, read on first use */
	char *devtree_error;		   /* why it could not be read */
	/* Exit when idle (idle-exit.c, --exit-idle-time); NULL: never. */
	IdleExit *idle_exit;
	/* Devices vfiod moved to vfio-pci and the drivers they had (rebind.c); NULL: none yet. */
	RebindRegistry *rebinds;
	/* A malloc_trim() after a large answer (memory-trim.c); NULL: none scheduled yet. */
	sd_event_source *trim_source;
	unsigned trim_waits;
	/* Asynchronous work in flight (polkit checks ...): no idle exit while > 0. */
	unsigned n_pending_work;

	/* The systemd fd store (fd-store.h). */
	struct StoredFd *stored; /* passed in at start, until restored */
	size_t n_stored;
	unsigned n_store_fds; /* fds vfiod has in the store now */
} Manager;

int manager_new(const char *root, Manager **ret);

/*
 * Differs between any two bus messages dispatched (the loop iteration plus
 * the peer dispatches): what lives as long as one call's answer is keyed on it.
 */
uint64_t manager_dispatch_generation(Manager *m);
Manager *manager_free(Manager *m);

/*
 * Loads config_path and policy_dir into m->policy; on error keeps the old
 * policy, logs why, and (the _full form, when ret_error is not NULL) stores
 * "FILE:LINE: what is wrong" in *ret_error (NULL on -ENOMEM). Claims already
 * made keep the options they were granted.
 */
int manager_load_policy(Manager *m);
int manager_load_policy_full(Manager *m, char **ret_error);

/* Reads the devices from sysfs (opening none) into the registry and logs what it found. */
int manager_load_devices(Manager *m);

/* Serves the private socket: takes a socket-activated fd, or binds socket_path. */
int manager_listen(Manager *m, const char *socket_path);

/* Connects to the system bus and takes io.vfiod.Broker1; a missing bus is not an error. */
int manager_connect_system_bus(Manager *m);

/* Registers the API's objects on a connection: the system bus (peer NULL) or one peer's. */
int manager_add_bus_objects(Manager *m, sd_bus *bus, Client *peer);

/* The claim holding IOMMU group `group`, or NULL. */
Claim *manager_find_group_holder(Manager *m, int group);

void manager_notify_status(Manager *m);

/*
 * Blocks SIGTERM, SIGINT and SIGHUP (manager_run() receives them through
 * sd-event) and ignores SIGPIPE. Called first thing, so that a signal arriving
 * while the daemon starts waits for the loop instead of killing it.
 */
int manager_block_signals(void);

int manager_run(Manager *m);
