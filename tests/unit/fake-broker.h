/* SPDX-License-Identifier: MIT */
/*
 * A fake vfiod for the client tests: a forked process that serves the
 * io.vfiod.Broker1 API of io.vfiod.Broker1(5) (Claim, SetIrqs, MapDma,
 * UnmapDma and their batches, Release, the Version property) peer-to-peer on a UNIX socket in
 * a temporary directory, with memfds standing in for VFIO device and
 * container fds and real eventfds for IRQs. It checks the arguments as the
 * man page says the daemon does and records every call as a line of text,
 * which the test reads back through io.vfiod.Test.Calls().
 *
 * Scripted devices (any other canonical address is an ordinary device):
 *   0000:00:0b.0  Busy ("0000:00:0b.0 is held by uid 1001 pid 345")
 *   0000:00:0c.0  PermissionDenied
 *   0000:00:0d.0  NoSuchDevice
 *   0000:00:0e.0  NotVfioDevice
 *   0000:00:0f.0  GroupNotViable
 *   0000:00:1e.0  a malformed reply (no device fds)
 *   0000:00:1f.7  no reply at all
 * dma-mode "forbidden" is refused with DmaModeNotAllowed; no dma-mode means
 * container. Claims: quota 1 MiB (brokered) or 64 MiB (container), IOVA
 * ranges 0-0xfedfffff and 0xfef00000-0xffffffffff (sent unsorted), page
 * sizes 4K|2M|1G. SetIrqs writes vector + 1 into each eventfd it returns.
 *
 * Objects (fake-broker-objects.c): GetManagedObjects() lists devices
 * 0000:00:02.0 (edu, group 1, free), 0000:00:05.0 (nvme, group 4, claimed by
 * uid 1001 pid 345, unit app.service) and ffe220000.sata (platform, with
 * device-tree placement), groups 1 and 6 (6 not viable) and claim 1, with
 * empty VFIO metadata; GetAll() on a device adds its regions and IRQs.
 * io.vfiod.Test.SetListing("huge" | "malformed" | "normal") makes the listing
 * exceed libvfioc's object cap or carry a property of the wrong type. GetAll
 * of 0000:00:1a.0 has a property of the wrong type, 0000:00:1b.0 too many
 * regions, 0000:00:1c.0 a region with too many sparse areas, 0000:00:1d.0 is
 * not a dictionary at all, 0000:00:1f.7 is never answered.
 *
 * Lines recorded:
 *   Claim <dev>[,<dev>...][ dma-mode=<m>]
 *   SetIrqs <claim-id> <dev> <index> <count>
 *   MapDma <claim-id> <fd-target> seals=0x<s> offset=0x<o> size=0x<n> iova=0x<i> flags=0x<f>
 *   UnmapDma <claim-id> iova=0x<i> size=0x<n>
 *   MapDmaBatch, UnmapDmaBatch: one line as above per entry, all or nothing, at most 64
 *   Release <claim-id>
 *   Disconnect <claim-id>      (a claim ended by its connection closing)
 */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

struct fake_broker {
	pid_t pid;
	char dir[64];
	char address[128];
};

/* Binds the socket, forks the server and returns once clients can connect. 0 or -errno. */
int fake_broker_start(struct fake_broker *ret);

/* Stops the server (SIGTERM) and removes the socket. Returns its exit status (0 when clean). */
int fake_broker_stop(struct fake_broker *b);

/* Fetches and clears the lines recorded so far, over a connection of its own. NULL-terminated,
 * free with strv_free(). 0 or -errno. */
int fake_broker_calls(const struct fake_broker *b, char ***ret);

/* Calls a method of io.vfiod.Test that makes the fake send signals, over a connection of its own:
 *   Revoke(u claim, s device, s reason, u times)  Revoked to the claim's owner, times times
 *   EndClaim(u claim)                   ends the claim ("Ended <id>"), InterfacesRemoved
 *   RemoveObject(o path, s interface)   InterfacesRemoved of that object
 *   SetMatchMode(s mode)                how org.freedesktop.DBus.AddMatch is answered: "route"
 *                                       (the default, as vfiod: InterfacesRemoved only to the
 *                                       connections that asked for it), "ignore" (as a vfiod
 *                                       before the routing: accepted, every connection gets
 *                                       it), "unknown" (UnknownMethod; every connection gets it)
 *   CountMatches() -> u                 the AddMatch calls since the last count
 * claim 0 is the newest claim. Returns once the fake has sent them. 0 or -errno. */
int fake_broker_test_call(const struct fake_broker *b, const char *member, const char *types, ...);

/* CountMatches() over a connection of its own. The count, or -errno. */
int fake_broker_count_matches(const struct fake_broker *b);

/* Polls the recorded lines until one equals line, for up to 2 s (connection closes are seen
 * asynchronously). Lines fetched meanwhile are dropped. Returns 1 found, 0 not found, -errno. */
int fake_broker_wait_for(const struct fake_broker *b, const char *line);

/* Serves the objects above on a connection of the fake broker. 0 or -errno. */
int fake_objects_attach(sd_bus *bus);
