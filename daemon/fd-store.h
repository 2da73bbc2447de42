/* SPDX-License-Identifier: MIT */
/*
 * Claims across a restart, in the systemd fd store (sd_pid_notify_with_fds(3)
 * FDSTORE=1, systemd.service(5) FileDescriptorStoreMax=).
 *
 * When a claim is made under a service manager (NOTIFY_SOCKET set), vfiod
 * stores, each under its own name:
 *   claim-ID-record      a memfd of one page with the claim's record
 *                        (claim-record.h), sealed against resizing and
 *                        rewritten in place when SetIrqs/MapDma/UnmapDma
 *                        (or a batch, once per call) change it
 *   claim-ID-holder      a pidfd of the holder (its own file: the store
 *                        drops an fd it already has, and two claims of one
 *                        holder must not share an entry)
 *   claim-ID-container   the VFIO container
 *   claim-ID-group-N     each IOMMU group
 * and removes them all (FDSTOREREMOVE=1) once the claim is released. On exit
 * such claims are detached, not released. The next instance receives the fds
 * with sd_listen_fds_with_names(3) and restores the claims before it serves;
 * anything it cannot restore (malformed record, group gone, missing fd) is
 * closed and removed with a warning, never trusted. A restored claim ends
 * when its holder exits (its pidfd), or by revocation.
 *
 * systemd 252 keeps the store while the unit is restarted (systemctl
 * restart, Restart=) and empties it when the unit stops.
 */
#pragma once

#include "manager.h"

/* Most fds vfiod keeps in the store (FileDescriptorStoreMax= in vfiod.service). */
#define FD_STORE_MAX 4096u

/* Stores claim c when there is a service manager; a failure leaves it unstored. */
void claim_store(Claim *c);
/* Rewrites the record of a stored claim. */
void claim_store_update(Claim *c);
/* Removes a stored claim's entries. */
void claim_unstore(Claim *c);

/*
 * Takes the fds the service manager passed (sd_listen_fds_with_names()):
 * stored entries go to m->stored for fd_store_restore(); *ret_listen_fd is
 * the one other fd (the socket of vfiod.socket) or -EBADF.
 */
int fd_store_collect(Manager *m, int *ret_listen_fd);

/* Restores the claims in m->stored; what cannot be restored is released. */
int fd_store_restore(Manager *m);

/* Closes what fd_store_collect() took and was not restored. */
void fd_store_done(Manager *m);
