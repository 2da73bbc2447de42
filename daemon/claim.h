/* SPDX-License-Identifier: MIT */
/*
 * A claim: devices (and their whole IOMMU groups) held by one client in one
 * VFIO context. Creating it authorizes and prepares everything; freeing it
 * scrubs the devices (IRQs off, DMA unmapped, reset where possible) before
 * their groups become claimable again.
 */
#pragma once

#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "dma-batch.h"
#include "dma-view.h"
#include "dma.h"
#include "list.h"
#include "manager.h"
#include "pci-address.h"
#include "policy.h"
#include "polkit.h"

typedef struct ClaimDevice {
	Claim *claim;
	char address[PCI_ADDRESS_MAX];
	int group;
	int fd;				 /* the daemon's own device fd, kept for scrubbing */
	int irq_index;			 /* the IRQ index this claim enabled, -1 when none */
	sd_event_source *request_source; /* the kernel's REQ eventfd: "give the device back" */
	struct vfio_device_info info;
} ClaimDevice;

struct Claim {
	Manager *manager;
	Client *client;
	LIST_FIELDS(Claim, claims);	   /* on manager->claims */
	LIST_FIELDS(Claim, client_claims); /* on client->claims */

	uint64_t id;
	char *path;
	DmaMode dma_mode;
	uint64_t dma_quota;
	VfioContext *context;
	ClaimDevice *devices;
	size_t n_devices;
	int *groups;
	size_t n_groups;
	DmaSpace dma;
	DmaViews dma_views; /* the daemon's mmaps of the memfds, kept for reuse */
	sd_bus_slot *slot;

	/* Revocation (claim-revoke.c): the strictest of the granting rules. */
	uint64_t revoke_grace_usec;
	bool revoke_force;
	sd_event_source *revoke_timer; /* set once the holder has been asked */

	/* The systemd fd store (fd-store.h): what keeps the claim across a restart. */
	bool stored;   /* its fds and record are in the store */
	int record_fd; /* the record's memfd, rewritten when the claim changes */
	bool detached; /* vfiod exits and leaves it to the next instance: no scrub */
};

/*
 * Claims `addresses` for client c. requested_mode 0 means "the default the
 * policy allows". On failure sets a D-Bus error (io.vfiod.Error.*) and returns
 * its errno; nothing is left claimed.
 */
int claim_new(Client *c, char **addresses, DmaMode requested_mode, Claim **ret,
	      sd_bus_error *error);

/*
 * What polkit says, for system-bus callers (see polkit.h). A device polkit
 * granted gets the options of a polkit grant: both DMA modes,
 * POLICY_DEFAULT_DMA_QUOTA, POLICY_DEFAULT_MAX_DEVICES, no reset required.
 */
typedef struct ClaimAuth {
	bool may_ask_polkit;   /* in: collect devices no rule grants instead of denying */
	char **polkit_granted; /* in: devices polkit has just said yes to */
	PolkitDevice need[CLAIM_MAX_DEVICES]; /* out: the devices to ask polkit about */
	size_t n_need;
} ClaimAuth;

/*
 * claim_new() with auth (may be NULL). When auth->may_ask_polkit and no
 * rule grants some devices, fails with -EACCES and PermissionDenied, with
 * those devices in auth->need: everything else checked out so far.
 */
int claim_new_full(Client *c, char **addresses, DmaMode requested_mode, ClaimAuth *auth,
		   Claim **ret, sd_bus_error *error);

/* Scrubs and releases everything the claim holds; returns NULL. */
Claim *claim_free(Claim *c);

/*
 * At exit, for a claim in the fd store: frees what the daemon holds without
 * scrubbing, releasing or unpublishing anything, so that the next vfiod
 * restores it.
 */
Claim *claim_detach(Claim *c);

typedef struct ClaimRecord ClaimRecord;

/*
 * A claim the previous vfiod kept in the fd store, for `client` (the holder,
 * from client_new_restored()), in `context` (adopted from the store; taken,
 * on failure too). Reopens the devices, watches their REQ IRQ and publishes
 * the claim. Fails with a message in *ret_reason (static) when a device is
 * no longer where the record says.
 */
int claim_restore(Client *client, const ClaimRecord *record, VfioContext *context, Claim **ret,
		  const char **ret_reason);

/* The record of c as it is now (fd-store.c writes it). */
void claim_to_record(const Claim *c, ClaimRecord *ret);

/*
 * Asks the holder to give the claim back because `device` is going away:
 * the Revoked signal, then the claim's grace period (RevokeGraceSec=). The
 * holder releases (or disconnects) meanwhile, or at the end vfiod kills it
 * by pidfd where the policy says RevokeForce=yes, and ends the claim either
 * way. VFIO cannot take fds back: the kernel finishes the unbind or removal
 * only when the holder's own fds are closed. Asking again is a no-op.
 */
void claim_revoke(Claim *c, const char *device, const char *reason);

ClaimDevice *claim_find_device(Claim *c, const char *address);
bool claim_holds_group(const Claim *c, int group);

/* See SetIrqs() in io.vfiod.Broker1(5). On success *ret_fds (count entries) is the caller's. */
int claim_set_irqs(Claim *c, const char *address, unsigned index, unsigned count, int **ret_fds,
		   sd_bus_error *error);

/* One mapping of MapDma() / MapDmaBatch(); memfd is borrowed. */
typedef struct ClaimDmaMap {
	int memfd;
	uint64_t offset;
	uint64_t size;
	uint64_t iova;
	unsigned flags; /* bit 0 device reads, bit 1 device writes; 0 both */
} ClaimDmaMap;

typedef struct ClaimDmaRange {
	uint64_t iova;
	uint64_t size;
} ClaimDmaRange;

/*
 * Brokered DMA (claim-dma.c), see MapDma()/MapDmaBatch() in
 * io.vfiod.Broker1(5): all n mappings or none. Every entry is checked before
 * the kernel sees any; if the kernel refuses one, those mapped before it are
 * unmapped again. On failure sets a D-Bus error (naming the entry when n > 1)
 * and returns its errno; the claim is as it was.
 */
int claim_map_dma(Claim *c, const ClaimDmaMap *maps, size_t n, sd_bus_error *error);

/* Removes n mappings, each given by its exact IOVA and size: all, or none when one is unknown. */
int claim_unmap_dma(Claim *c, const ClaimDmaRange *ranges, size_t n, sd_bus_error *error);
