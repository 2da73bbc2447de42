/* SPDX-License-Identifier: MIT */
/*
 * libvfioc: the client library of vfiod(8), the VFIO device broker.
 *
 * A client connects to the broker (vfioc_connect), claims one or more devices
 * (vfioc_claim) and gets back ready VFIO device fds, IRQ eventfds on request
 * (vfioc_claim_set_irqs) and a DMA context that works the same way whichever
 * mode the broker granted (vfioc_dma_map): in container mode the library maps
 * through the VFIO container fd itself, in brokered mode it asks the broker.
 *
 * Conventions, as in the rest of vfiod:
 *  - Functions that can fail return 0 (or a non-negative value) on success and
 *    a negative errno value on failure; errno itself is left unspecified.
 *    Output parameters named ret_* are written only on success.
 *  - An "int fd" parameter is borrowed: the library neither closes nor keeps
 *    it unless the comment says so. An fd returned by an accessor is borrowed
 *    from its claim: valid until the claim is freed (or, for IRQ fds, until
 *    the next vfioc_claim_set_irqs() on the same device and index); never
 *    close it yourself; dup() it (F_DUPFD_CLOEXEC) to keep it longer.
 *  - Every fd the library creates or receives is close-on-exec.
 *  - The library never prints, never exits and never raises signals; install
 *    a log function (vfioc_set_log_fn) to see what it does.
 *  - Thread safety: a vfioc_client and all the claims made through it form
 *    one unit that must not be used from two threads at once. Separate
 *    clients are independent. vfioc_set_log_fn() is process-wide: call it
 *    before creating clients. After fork() only the parent may use a client
 *    (calls in the child fail with -ECHILD); the fds work in both, as any fd.
 *
 * Errors of the broker are D-Bus errors; the library maps them to errno
 * values as follows and keeps the name and message of the last failure for
 * vfioc_client_last_error():
 *
 *   io.vfiod.Error.InvalidAddress     EINVAL      malformed device address
 *   io.vfiod.Error.NoSuchDevice       ENODEV      no device at that address
 *   io.vfiod.Error.NotVfioDevice      ENXIO       device not bound to vfio-pci
 *   io.vfiod.Error.PermissionDenied   EACCES      no policy rule grants it
 *   io.vfiod.Error.Busy               EBUSY       the IOMMU group is held
 *   io.vfiod.Error.GroupNotViable     EXDEV       a group member has a host driver
 *   io.vfiod.Error.DmaModeNotAllowed  EPERM       policy forbids that DMA mode
 *   io.vfiod.Error.QuotaExceeded      EDQUOT      DMA quota exhausted
 *   io.vfiod.Error.BadIova            ERANGE      IOVA unaligned/outside/overlapping
 *   io.vfiod.Error.BadMemfd           EBADFD      not a sealed memfd, or too small
 *   io.vfiod.Error.LimitExceeded      E2BIG       a per-client cap was reached
 *   io.vfiod.Error.InvalidArgument    EINVAL      any other bad argument
 *   io.vfiod.Error.Failed             EIO         the kernel refused (see message)
 *
 * Other D-Bus errors map as sd-bus maps them (a timeout is ETIMEDOUT, a lost
 * connection ECONNRESET or ENOTCONN, "System.Error.EXXX" is EXXX). Failures
 * detected locally use the same names where one fits (container-mode DMA
 * checks report BadIova, QuotaExceeded, ...) and "System.Error.EXXX" otherwise.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The broker's private socket, used when no address is given and $VFIOD_ADDRESS is unset. */
#define VFIOC_DEFAULT_ADDRESS "unix:path=/run/vfiod/broker.sock"
/* The default timeout of every synchronous call, in microseconds. */
#define VFIOC_DEFAULT_TIMEOUT_USEC (25ULL * 1000ULL * 1000ULL)

/* D-Bus error names of the broker, for comparing with vfioc_client_last_error_name(). */
#define VFIOC_ERROR_INVALID_ADDRESS	 "io.vfiod.Error.InvalidAddress"
#define VFIOC_ERROR_NO_SUCH_DEVICE	 "io.vfiod.Error.NoSuchDevice"
#define VFIOC_ERROR_NOT_VFIO_DEVICE	 "io.vfiod.Error.NotVfioDevice"
#define VFIOC_ERROR_PERMISSION_DENIED	 "io.vfiod.Error.PermissionDenied"
#define VFIOC_ERROR_BUSY		 "io.vfiod.Error.Busy"
#define VFIOC_ERROR_GROUP_NOT_VIABLE	 "io.vfiod.Error.GroupNotViable"
#define VFIOC_ERROR_DMA_MODE_NOT_ALLOWED "io.vfiod.Error.DmaModeNotAllowed"
#define VFIOC_ERROR_QUOTA_EXCEEDED	 "io.vfiod.Error.QuotaExceeded"
#define VFIOC_ERROR_BAD_IOVA		 "io.vfiod.Error.BadIova"
#define VFIOC_ERROR_BAD_MEMFD		 "io.vfiod.Error.BadMemfd"
#define VFIOC_ERROR_LIMIT_EXCEEDED	 "io.vfiod.Error.LimitExceeded"
#define VFIOC_ERROR_INVALID_ARGUMENT	 "io.vfiod.Error.InvalidArgument"
#define VFIOC_ERROR_FAILED		 "io.vfiod.Error.Failed"

struct vfioc_client;
struct vfioc_claim;

/*
 * Logging. The library is silent until a log function is set. priority is a
 * syslog(3) priority (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG); message has
 * no trailing newline and is valid only during the call. Passing NULL turns
 * logging off again. Process-wide and not thread-safe: set it before creating
 * clients. Never fails.
 */
typedef void (*vfioc_log_fn)(int priority, const char *message, void *userdata);
void vfioc_set_log_fn(vfioc_log_fn fn, void *userdata);

/* ---- Connection ---------------------------------------------------------------------------- */

/*
 * Connects to the broker. address is a D-Bus address such as
 * "unix:path=/run/vfiod/broker.sock"; NULL means $VFIOD_ADDRESS if set (and
 * the process is not set-id), else VFIOC_DEFAULT_ADDRESS. The connection is
 * peer-to-peer D-Bus with fd passing; it waits (up to the default timeout)
 * for the broker to answer, so a wrong address fails here.
 *
 * Returns 0 and stores a new client in *ret, or a negative errno:
 * -EINVAL (NULL ret, malformed address), -ENOENT/-ECONNREFUSED/-EACCES (no
 * broker listening at the address, or not allowed to connect),
 * -ETIMEDOUT, -ENOMEM, or another error of the handshake. The client owns the
 * socket (close-on-exec); free it with vfioc_client_free().
 */
int vfioc_connect(const char *address, struct vfioc_client **ret);

/*
 * Drops the caller's reference to the client and returns NULL. The connection
 * closes once the client and every claim made through it are freed; closing
 * it ends the claims in the broker. Accepts NULL.
 */
struct vfioc_client *vfioc_client_free(struct vfioc_client *client);

/*
 * Sets the timeout of every later synchronous call of this client (and of its
 * claims) in microseconds; 0 restores VFIOC_DEFAULT_TIMEOUT_USEC. Returns 0,
 * or -EINVAL for a NULL client.
 */
int vfioc_set_timeout(struct vfioc_client *client, uint64_t usec);

/*
 * The last failure of a call made through this client (or its claims), as
 * "name: message", for example "io.vfiod.Error.Busy: 0000:00:03.0 is held by
 * uid 1001 pid 345". Meaningful only right after a call failed; successful
 * calls leave it alone. NULL when nothing has failed yet. The string belongs
 * to the client and is valid until the next failing call or vfioc_client_free().
 */
const char *vfioc_client_last_error(const struct vfioc_client *client);

/* Only the D-Bus error name of the last failure (one of VFIOC_ERROR_*, a standard D-Bus name, or
 * "System.Error.EXXX"), or NULL. Same lifetime as vfioc_client_last_error(). */
const char *vfioc_client_last_error_name(const struct vfioc_client *client);

/* The broker's version (its Version property, read while connecting). Never NULL; valid as long
 * as the client. */
const char *vfioc_client_server_version(const struct vfioc_client *client);

/*
 * Event-loop integration, libseat style: the fd to poll for POLLIN (borrowed;
 * do not read from it or close it; since LIBVFIOC_0.3 an epoll fd that also
 * becomes readable when a synchronous call left messages or events behind)
 * and the function to call when it is readable. Clients that hold a claim for
 * a long time while doing nothing else with the library should dispatch now
 * and then, so the broker's messages do not pile up.
 *
 * vfioc_client_get_fd() returns the fd, the same for the client's lifetime,
 * or -EINVAL/-ENOTCONN.
 * vfioc_client_dispatch() processes what has arrived, first waiting up to
 * timeout_ms milliseconds (-1: forever, 0: do not wait) for something to
 * arrive, then calls the event function (vfioc_client_set_event_fn) for
 * every queued event. Returns the number of messages processed (>= 0), or a
 * negative errno; -ENOTCONN or -ECONNRESET means the broker went away and
 * every claim of this client has ended (the CLAIM_ENDED events of the claims
 * are delivered before it returns that); -EBUSY when called from inside the
 * event function.
 */
int vfioc_client_get_fd(struct vfioc_client *client);
int vfioc_client_dispatch(struct vfioc_client *client, int timeout_ms);

/* ---- Events (LIBVFIOC_0.3) ----------------------------------------------------------------- */

/* What happened to a claim. */
enum vfioc_event_type {
	/* The broker asks for the claim back (io.vfiod.Broker1.Claim.Revoked): device is being
	 * unbound or removed. Close the fds and release within the grace period of the policy,
	 * or the broker ends the claim (and, where the policy says so, kills the holder). At
	 * most once per claim. */
	VFIOC_EVENT_REVOKED = 1,
	/* The claim is over without vfioc_claim_release(): the broker ended it (its object went
	 * away, e.g. after the grace period of a revocation), or the connection to the broker
	 * was lost (connection_lost). The fds still work as fds, but the broker no longer
	 * vouches for them: close them and free the claim. Once per claim, the claim's last
	 * event. */
	VFIOC_EVENT_CLAIM_ENDED = 2,
	/* device, part of the claim, is gone from the broker (hot-unplugged, or no longer
	 * published). Usually followed by CLAIM_ENDED. */
	VFIOC_EVENT_DEVICE_GONE = 3,
	/* The queue overflowed: n_lost older events were dropped. Re-read what you need (e.g.
	 * vfioc_list_claims()). claim is NULL. */
	VFIOC_EVENT_LOST = 4,
};

/*
 * One event, valid only during the call of the event function. The library
 * allocates it; later versions may append fields, so never copy it by value.
 */
struct vfioc_event {
	enum vfioc_event_type type;
	/* The claim it concerns (NULL for VFIOC_EVENT_LOST); still valid during the call. */
	struct vfioc_claim *claim;
	/* REVOKED and DEVICE_GONE: the device's address or name; NULL otherwise. */
	const char *device;
	/* REVOKED: the broker's reason; CLAIM_ENDED: a human-readable cause; NULL otherwise. */
	const char *reason;
	/* CLAIM_ENDED: true when the connection to the broker was lost (the broker went away or
	 * the socket closed), false when the broker ended the claim. */
	bool connection_lost;
	/* LOST: how many events were dropped. */
	unsigned n_lost;
};

/* At most this many events wait for vfioc_client_dispatch(); beyond it the oldest are dropped
 * and counted in one VFIOC_EVENT_LOST, delivered before the rest. */
#define VFIOC_MAX_QUEUED_EVENTS 64

typedef void (*vfioc_event_fn)(struct vfioc_client *client, const struct vfioc_event *event,
			       void *userdata);

/*
 * Sets the function that receives the events of this client's claims, or
 * NULL to stop them (events already queued are dropped). Set it before
 * claiming: signals that arrive while no function is set are not queued.
 * The first function set asks for the signals the events come from (match
 * rules: AddMatch to vfiod on its socket, to the bus daemon on the system
 * bus); a client that never sets one receives no broadcast signals.
 *
 * Events are only ever delivered from vfioc_client_dispatch(), after it has
 * processed the broker's messages, never from inside another call: a
 * synchronous call that reads a signal while it waits for its reply only
 * queues the event (and makes the fd of vfioc_client_get_fd() readable).
 * Inside the event function every call of the library is allowed, except
 * vfioc_client_dispatch() (it returns -EBUSY): in particular
 * vfioc_claim_release() or vfioc_claim_free() of the event's claim (its
 * further queued events are dropped), vfioc_client_set_event_fn(), and
 * vfioc_client_free() (the client goes once dispatch returns).
 *
 * Signals are taken from the broker only: on the system bus, from the unique
 * name that owned io.vfiod.Broker1 when the client connected.
 *
 * Thread safety: the client's rule; the function runs in the thread that
 * calls vfioc_client_dispatch().
 *
 * Returns 0, -EINVAL (NULL client), -ENOTCONN, -ENOMEM, or the negative
 * errno of adding the match rules (-ENOBUFS: the connection has as many as
 * vfiod allows).
 */
int vfioc_client_set_event_fn(struct vfioc_client *client, vfioc_event_fn fn, void *userdata);

/* "revoked", "claim-ended", "device-gone", "lost", or NULL for an unknown type. */
const char *vfioc_event_type_to_string(enum vfioc_event_type type);

/* ---- Claims -------------------------------------------------------------------------------- */

/*
 * Options of vfioc_claim(), versioned by size: set size to
 * sizeof(struct vfioc_claim_options) and zero every field you do not use
 * (designated initialisers do both). A program built against a newer header
 * works with an older library as long as it leaves the newer fields zero.
 */
struct vfioc_claim_options {
	size_t size;
	/* "container", "brokered", or NULL to let the broker's policy choose. */
	const char *dma_mode;
};

/*
 * Claims devices (canonical PCI addresses "DDDD:BB:DD.F"; every IOMMU group
 * holding one of them is claimed whole). opts may be NULL for the defaults.
 *
 * Returns 0 and stores a new claim in *ret, or a negative errno: the broker's
 * errors as mapped above (-EACCES, -EBUSY, -ENODEV, -ENXIO, -EXDEV, -EPERM,
 * -E2BIG, -EINVAL ...), -EINVAL for a NULL/empty device list or an
 * opts->size too small, -EOPNOTSUPP when opts sets a field this library
 * version does not know, -EBADMSG for a malformed reply, -ETIMEDOUT,
 * -ENOTCONN, -ENOMEM.
 *
 * The claim owns its device fds, IRQ eventfds and container fd (all
 * close-on-exec) and keeps a reference to the client. End it with
 * vfioc_claim_release(), or vfioc_claim_free().
 */
int vfioc_claim(struct vfioc_client *client, const char *const *devices, size_t n_devices,
		const struct vfioc_claim_options *opts, struct vfioc_claim **ret);

/*
 * Ends the claim: closes every fd the claim owns (device fds, IRQ eventfds,
 * the container fd) and the library's DMA mappings, then calls Release() and
 * waits for the broker's answer, which scrubs the devices. Frees the claim in
 * every case. Returns 0, or the negative errno of Release() (the claim still
 * ends when the connection closes). Accepts NULL (returns 0).
 */
int vfioc_claim_release(struct vfioc_claim *claim);

/*
 * Like vfioc_claim_release(), but does not wait: Release() is sent without
 * asking for a reply. Returns NULL; accepts NULL.
 */
struct vfioc_claim *vfioc_claim_free(struct vfioc_claim *claim);

/* The claim's D-Bus object path (for busctl introspect). Never NULL; owned by the claim. */
const char *vfioc_claim_path(const struct vfioc_claim *claim);

/* The number of claimed devices, and the address of the i-th in the order asked (NULL when i is
 * out of range). Strings owned by the claim. */
size_t vfioc_claim_n_devices(const struct vfioc_claim *claim);
const char *vfioc_claim_device_address(const struct vfioc_claim *claim, size_t i);

/*
 * The VFIO device fd of a claimed device (borrowed: owned by the claim).
 * Returns the fd (>= 0), -ENOENT if address is not part of the claim, or
 * -EINVAL for NULL arguments.
 */
int vfioc_claim_device_fd(const struct vfioc_claim *claim, const char *address);

/* The DMA mode granted: "container" or "brokered". Never NULL; owned by the claim. */
const char *vfioc_claim_dma_mode(const struct vfioc_claim *claim);

/*
 * The VFIO container fd (borrowed: owned by the claim), type1v2 IOMMU set.
 * Returns the fd, -ENOENT in brokered mode, or -EINVAL for NULL.
 */
int vfioc_claim_container_fd(const struct vfioc_claim *claim);

/* An IOVA range the IOMMU can translate, both ends inclusive. */
struct vfioc_iova_range {
	uint64_t start;
	uint64_t last;
};

/*
 * The usable IOVA ranges, sorted by start. Stores a pointer to an array owned
 * by the claim in *ret_ranges (may be NULL if only the count is wanted) and
 * returns the number of ranges (0 if the broker reported none).
 */
size_t vfioc_claim_iova_ranges(const struct vfioc_claim *claim,
			       const struct vfioc_iova_range **ret_ranges);

/* The IOMMU page size bitmap (bit n set: pages of 2^n bytes), 0 if unknown. */
uint64_t vfioc_claim_iova_pgsizes(const struct vfioc_claim *claim);

/* The number of bytes this claim may map (brokered) or pin (container). */
uint64_t vfioc_claim_dma_quota(const struct vfioc_claim *claim);

/* ---- Interrupts ---------------------------------------------------------------------------- */

/*
 * Asks the broker for count eventfds wired to vectors 0..count-1 of VFIO IRQ
 * index (PCI: 0 INTx, 1 MSI, 2 MSI-X, 3 ERR, 4 REQ) of a claimed device;
 * count 0 disables the index. The claim owns the eventfds; the ones it held
 * for the same device and index before are closed. Enabling one of
 * INTx/MSI/MSI-X makes the broker disable another enabled one; the eventfds
 * of that one stay open but silent until you set it again or free the claim.
 *
 * Returns 0, or a negative errno: -ENOENT (address not in the claim),
 * -EINVAL, the broker's errors (-E2BIG for too many eventfds, -EIO when
 * the kernel refused), -EBADMSG for a reply with the wrong number of fds.
 */
int vfioc_claim_set_irqs(struct vfioc_claim *claim, const char *address, unsigned index,
			 unsigned count);

/*
 * The eventfd of a vector set up by vfioc_claim_set_irqs() (borrowed: owned
 * by the claim; valid until the next set_irqs of that device and index).
 * Returns the fd, -ENOENT if that vector has no eventfd, or -EINVAL.
 */
int vfioc_claim_irq_fd(const struct vfioc_claim *claim, const char *address, unsigned index,
		       unsigned vector);

/*
 * Unmasks an automasked interrupt (INTx) after it has been handled:
 * VFIO_DEVICE_SET_IRQS with ACTION_UNMASK | DATA_NONE for one vector, on the
 * device fd. Returns 0, -ENOENT (address not claimed), or the ioctl's
 * negative errno (-EINVAL: the index is not maskable).
 */
int vfioc_claim_irq_unmask(struct vfioc_claim *claim, const char *address, unsigned index,
			   unsigned vector);

/* ---- DMA ----------------------------------------------------------------------------------- */

#define VFIOC_DMA_READ	(1u << 0) /* the device may read the memory */
#define VFIOC_DMA_WRITE (1u << 1) /* the device may write the memory */

/*
 * Makes size bytes of memfd, starting at offset, visible to the claimed
 * devices at IOVA iova. flags: VFIOC_DMA_READ and/or VFIOC_DMA_WRITE; 0
 * means both. offset, size and iova must be multiples of the smallest IOMMU
 * page size; the IOVA range must lie in one range of
 * vfioc_claim_iova_ranges() and not overlap another mapping of this claim.
 * Portable callers pass a memfd sealed with at least F_SEAL_SHRINK (see
 * vfioc_dma_buffer_new()); brokered mode requires it.
 *
 * Brokered mode: calls MapDma(); the broker keeps its own reference to the
 * memfd. Container mode: the library mmaps the range itself (shared,
 * writable unless flags is VFIOC_DMA_READ) and calls VFIO_IOMMU_MAP_DMA on
 * the container fd; the pages are pinned and charged to this process's
 * RLIMIT_MEMLOCK. Either way memfd stays the caller's and may be closed at
 * once.
 *
 * Returns 0, or a negative errno: -EBADF (memfd < 0), -EINVAL (size 0,
 * unknown flags, misaligned offset or size), -ERANGE (BadIova), -EDQUOT
 * (QuotaExceeded), -EBADFD (BadMemfd: not a memfd, not sealed, too small),
 * -E2BIG (too many mappings), -ENOMEM (container mode: RLIMIT_MEMLOCK), or
 * the kernel's error in container mode.
 */
int vfioc_dma_map(struct vfioc_claim *claim, int memfd, uint64_t offset, uint64_t size,
		  uint64_t iova, unsigned flags);

/*
 * Removes the mapping made by vfioc_dma_map() that starts at iova with exactly
 * size bytes. Returns 0, -ENOENT if this claim made no such mapping, or a
 * negative errno of the broker or the kernel.
 */
int vfioc_dma_unmap(struct vfioc_claim *claim, uint64_t iova, uint64_t size);

/* ---- Batched DMA (LIBVFIOC_0.4) ------------------------------------------------------------ */

/* The most entries vfioc_dma_map_batch() and vfioc_dma_unmap_batch() take at once. */
#define VFIOC_DMA_BATCH_MAX 64

/* One mapping of vfioc_dma_map_batch(): the arguments of vfioc_dma_map(). */
struct vfioc_dma_map {
	int memfd;	 /* borrowed: stays the caller's, may be closed once mapped */
	uint64_t offset; /* where in the memfd the buffer starts */
	uint64_t size;	 /* bytes */
	uint64_t iova;	 /* where the devices see it */
	unsigned flags;	 /* VFIOC_DMA_READ and/or VFIOC_DMA_WRITE; 0 means both */
};

/* One mapping to remove: exactly the iova and size it was mapped with. */
struct vfioc_dma_range {
	uint64_t iova;
	uint64_t size;
};

/*
 * Maps n buffers (1 to VFIOC_DMA_BATCH_MAX), each as vfioc_dma_map() would,
 * all of them or none. The entries must not overlap each other either, and
 * together fit the quota. Brokered mode: one MapDma() call for one entry,
 * else one MapDmaBatch() call, which the broker checks and maps as a whole.
 * Container mode: the library checks every entry first, then mmaps and
 * calls VFIO_IOMMU_MAP_DMA for each; if the kernel refuses one, the entries
 * mapped before it are unmapped again. On failure no mapping of the batch
 * exists and the claim's mappings are as before; with n > 1 the message of
 * vfioc_client_last_error() starts with "entry K: ", K the failing entry's
 * index from 0. The memfds stay the caller's.
 *
 * Returns 0, or the negative errno of vfioc_dma_map(), or -EINVAL (n is 0
 * or maps NULL), -E2BIG (n > VFIOC_DMA_BATCH_MAX; nothing is sent).
 */
int vfioc_dma_map_batch(struct vfioc_claim *claim, const struct vfioc_dma_map *maps, size_t n);

/*
 * Removes n mappings (1 to VFIOC_DMA_BATCH_MAX) made by vfioc_dma_map() or
 * vfioc_dma_map_batch(). Returns 0, -ENOENT if one is not exactly a mapping
 * of this claim or is named twice (nothing is removed), -EINVAL (n is 0 or
 * ranges NULL), -E2BIG (n > VFIOC_DMA_BATCH_MAX), or a negative errno of
 * the broker (nothing is removed) or the kernel. Brokered mode: one
 * UnmapDma() or UnmapDmaBatch() call. Container mode: VFIO_IOMMU_UNMAP_DMA
 * for each in order; should the kernel refuse entry K, entries 0..K-1 are
 * removed and the others stay mapped.
 */
int vfioc_dma_unmap_batch(struct vfioc_claim *claim, const struct vfioc_dma_range *ranges,
			  size_t n);

/*
 * Finds a free IOVA for a mapping of size bytes: the lowest address above 0,
 * aligned to the smallest IOMMU page size, such that [iova, iova + size - 1]
 * lies in one usable range, at or below last (for example (1 << 28) - 1 for a
 * device with a 28-bit DMA mask; UINT64_MAX for no limit), and overlaps no
 * mapping of this claim. Returns 0 and stores it in *ret_iova, -ENOSPC if
 * there is no such place, or -EINVAL (size 0 or not page-aligned).
 */
int vfioc_claim_find_iova(const struct vfioc_claim *claim, uint64_t size, uint64_t last,
			  uint64_t *ret_iova);

/*
 * Allocates a DMA buffer: a memfd (MFD_CLOEXEC | MFD_ALLOW_SEALING) of size
 * bytes, sealed with F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, mapped shared
 * and read-write. Stores the memfd in *ret_memfd (the caller owns it) and the
 * mapping in *ret_ptr (the caller munmap()s it, size bytes); the memory is
 * zero-filled. Returns 0, or -EINVAL (size 0), -ENOMEM, -EMFILE, or another
 * negative errno of memfd_create/ftruncate/fcntl/mmap.
 */
int vfioc_dma_buffer_new(size_t size, int *ret_memfd, void **ret_ptr);

/* ---- Regions ------------------------------------------------------------------------------- */

/* Flags of a region, the same bits as VFIO_REGION_INFO_FLAG_*. */
#define VFIOC_REGION_READ  (1u << 0)
#define VFIOC_REGION_WRITE (1u << 1)
#define VFIOC_REGION_MMAP  (1u << 2)

/* What VFIO_DEVICE_GET_REGION_INFO says about a region. */
struct vfioc_region {
	uint32_t index;
	uint32_t flags;	 /* VFIOC_REGION_* */
	uint64_t size;	 /* bytes; 0 for a region the device does not have */
	uint64_t offset; /* where the region starts in the device fd (pread/pwrite/mmap) */
};

/*
 * Region index on a PCI device: 0-5 BAR0-5, 6 ROM, 7 config space, 8 VGA.
 * Fills *ret from VFIO_DEVICE_GET_REGION_INFO on the device fd. Returns 0,
 * -ENOENT (address not claimed), or the ioctl's negative errno (-EINVAL: no
 * such region index).
 */
int vfioc_region_info(const struct vfioc_claim *claim, const char *address, unsigned index,
		      struct vfioc_region *ret);

/*
 * Maps size bytes of a region starting at offset within it (size 0: up to the
 * end of the region) with prot (PROT_READ and/or PROT_WRITE), shared.
 * Stores the address in *ret_ptr; unmap it with munmap(ptr, size). Returns
 * 0, -ENOENT (address not claimed), -EOPNOTSUPP (the region cannot be
 * mmapped), -ERANGE (outside the region), -EINVAL, or mmap's negative errno.
 */
int vfioc_region_mmap(const struct vfioc_claim *claim, const char *address, unsigned index,
		      uint64_t offset, size_t size, int prot, void **ret_ptr);

/*
 * Reads or writes exactly len bytes at offset within a region with
 * pread/pwrite on the device fd (config space, or BARs that cannot be
 * mmapped). Returns 0, -ENOENT (address not claimed), -ERANGE (outside the
 * region), -EIO (short transfer), or the negative errno of the call.
 */
int vfioc_region_read(const struct vfioc_claim *claim, const char *address, unsigned index,
		      uint64_t offset, void *buf, size_t len);
int vfioc_region_write(const struct vfioc_claim *claim, const char *address, unsigned index,
		       uint64_t offset, const void *buf, size_t len);

/* ---- System bus (LIBVFIOC_0.2) --------------------------------------------------------------- */

/* The broker's well-known name on the system bus. */
#define VFIOC_BUS_NAME "io.vfiod.Broker1"

/*
 * Connects to the broker through the system bus ($DBUS_SYSTEM_BUS_ADDRESS if
 * set and the process is not set-id, else the standard socket) and talks to
 * VFIOC_BUS_NAME there. Everything else works as on a client of
 * vfioc_connect(); on the system bus the broker may ask polkit.
 *
 * Returns 0 and stores a new client in *ret, or a negative errno: -EINVAL
 * (NULL ret), -ENOENT/-ECONNREFUSED (no system bus), -EHOSTUNREACH (no
 * io.vfiod.Broker1 on the bus: the bus daemon's ServiceUnknown, see
 * vfioc_client_last_error()), -EACCES, -ETIMEDOUT, -ENOMEM. Free it with
 * vfioc_client_free().
 */
int vfioc_connect_system(struct vfioc_client **ret);

/* ---- Metadata (LIBVFIOC_0.2) --------------------------------------------------------------- */

/*
 * What the broker publishes about devices, IOMMU groups and claims (see
 * io.vfiod.Broker1(5) for the meaning of every field), as plain structs. The
 * library allocates them; the caller reads them and frees them with the
 * matching *_free() function, which frees everything reachable from them.
 * They hold no reference to the client and may outlive it.
 *
 * Strings are NULL when the broker did not send the property (an older
 * broker), and otherwise exactly what it sent ("" included). Arrays come with
 * their count; arrays of structs are arrays of pointers, so later versions can
 * append fields to any struct without breaking callers: never allocate,
 * copy by value or take sizeof of these structs in your program.
 *
 * Counts from the broker are capped (VFIOC_MAX_*); a reply beyond a cap fails
 * the whole call with -E2BIG, a reply of the wrong shape with -EBADMSG.
 * Unknown properties and unknown keys of a{sv} details are skipped.
 *
 * Thread safety: the calls follow the client's rule; the returned structs are
 * plain memory, safe to read from any thread.
 */
#define VFIOC_MAX_OBJECTS  4096 /* devices, groups or claims in one listing */
#define VFIOC_MAX_ENTRIES  512	/* regions, IRQs, members, DT entries of one object */
#define VFIOC_MAX_SUBITEMS 64	/* sparse areas and capability ids of one region/device */

/* Device flags, the VFIO_DEVICE_FLAGS_* bits. */
#define VFIOC_DEVICE_FLAG_RESET	   (1u << 0)
#define VFIOC_DEVICE_FLAG_PCI	   (1u << 1)
#define VFIOC_DEVICE_FLAG_PLATFORM (1u << 2)
#define VFIOC_DEVICE_FLAG_AMBA	   (1u << 3)
#define VFIOC_DEVICE_FLAG_CCW	   (1u << 4)
#define VFIOC_DEVICE_FLAG_AP	   (1u << 5)
#define VFIOC_DEVICE_FLAG_FSL_MC   (1u << 6)
#define VFIOC_DEVICE_FLAG_CAPS	   (1u << 7)
#define VFIOC_DEVICE_FLAG_CDX	   (1u << 8)

/* Region flag beyond VFIOC_REGION_READ/WRITE/MMAP: the region has capabilities. */
#define VFIOC_REGION_CAPS (1u << 3)

/* IRQ flags, the VFIO_IRQ_INFO_* bits. */
#define VFIOC_IRQ_EVENTFD    (1u << 0)
#define VFIOC_IRQ_MASKABLE   (1u << 1)
#define VFIOC_IRQ_AUTOMASKED (1u << 2)
#define VFIOC_IRQ_NORESIZE   (1u << 3)

/* Who holds a device or group: the Holder property. */
struct vfioc_holder {
	uint32_t uid;
	uint32_t pid;
	const char *claim;  /* the claim's object path */
	const char *unit;   /* the holder's systemd unit, NULL when unknown */
	const char *cgroup; /* NULL when unknown */
};

/* Where a region or IRQ comes from in the device tree (platform devices). */
struct vfioc_dt_source {
	const char *node;     /* the node's path */
	const char *property; /* "reg", "ranges", "interrupts", "interrupts-extended" */
	uint32_t entry;	      /* the index within the property */
	const char *name;     /* the matching *-names string, or "" */
};

/* A sparse-mmap area of a region: only these may be mapped. */
struct vfioc_sparse_area {
	uint64_t offset; /* within the region */
	uint64_t size;
};

/* One VFIO region, an entry of the Regions property. */
struct vfioc_device_region {
	uint32_t index;
	const char *name; /* "BAR0".."BAR5", "ROM", "CONFIG", "VGA", a type name, "region N" */
	uint64_t size;
	uint64_t offset;  /* in the device fd */
	uint32_t flags;	  /* VFIOC_REGION_READ/WRITE/MMAP/CAPS */
	bool absent;	  /* the kernel refuses the index */
	bool sparse_mmap; /* has a sparse-mmap capability: map only sparse[] */
	size_t n_sparse;
	const struct vfioc_sparse_area *const *sparse;
	bool has_type; /* a type capability: type, subtype and their names */
	uint32_t type;
	uint32_t subtype;
	const char *type_name;	  /* NULL when the broker has no name for it */
	const char *subtype_name; /* NULL when the broker has no name for it */
	bool msix_mappable;	  /* the MSI-X table in this BAR may be mapped */
	size_t n_caps;
	const uint16_t *caps;		  /* every capability id of the region */
	const struct vfioc_dt_source *dt; /* NULL unless from the device tree */
};

/* One VFIO IRQ index, an entry of the Irqs property. */
struct vfioc_device_irq {
	uint32_t index;
	const char *name; /* "INTx", "MSI", "MSI-X", "ERR", "REQ", "IRQ N" */
	uint32_t count;
	uint32_t flags; /* VFIOC_IRQ_* */
	bool absent;
	const struct vfioc_dt_source *dt; /* NULL unless from the device tree */
};

/* A reg/ranges entry of a device-tree node: the DeviceTreeResources property. */
struct vfioc_dt_resource {
	const char *node;
	const char *property; /* "reg" or "ranges" */
	uint32_t entry;
	const char *name;
	bool translated; /* address is a CPU physical address */
	uint64_t address;
	uint64_t size;
};

/* An interrupt of a device-tree node: the DeviceTreeInterrupts property. */
struct vfioc_dt_interrupt {
	const char *node;
	const char *property;
	uint32_t entry;
	const char *name;
	const char *controller; /* the interrupt parent's path */
};

/* A device object. Fields marked (metadata) are filled by vfioc_get_device() only and are
 * empty when metadata_state is not "read". */
struct vfioc_device_info {
	const char *path; /* the D-Bus object path; never NULL */
	const char *name; /* PCI address or platform device name */
	const char *kind; /* "pci" or "platform" */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_device_id;
	uint32_t class_code; /* 24 bits: base class, subclass, prog-if */
	const char *driver;  /* "" when unbound */
	int32_t iommu_group;
	int32_t numa_node; /* -1 when unknown */
	bool managed;
	const char *claim_state;	   /* "free", "claimed", "group-claimed" */
	const char *claim;		   /* the claim's object path, "/" when free */
	const struct vfioc_holder *holder; /* NULL when free */
	/* Device-tree placement of a platform device ("" / 0 entries otherwise). */
	const char *dt_node;
	size_t n_compatible;
	const char *const *compatible;
	size_t n_dt_resources;
	const struct vfioc_dt_resource *const *dt_resources;
	size_t n_dt_interrupts;
	const struct vfioc_dt_interrupt *const *dt_interrupts;
	const char *dt_error;
	/* (metadata) */
	const char *metadata_state; /* "unread", "read", "unavailable" */
	const char *metadata_error; /* why "unavailable" */
	uint32_t device_flags;	    /* VFIOC_DEVICE_FLAG_* */
	bool reset_supported;
	size_t n_capabilities;
	const uint16_t *capabilities; /* VFIO_DEVICE_GET_INFO capability ids */
	size_t n_regions;
	const struct vfioc_device_region *const *regions;
	size_t n_irqs;
	const struct vfioc_device_irq *const *irqs;
};

/* A member of an IOMMU group. */
struct vfioc_group_member {
	const char *name;
	const char *driver; /* "" when unbound */
};

/* An IOMMU group object. */
struct vfioc_group_info {
	const char *path;
	uint32_t number;
	size_t n_members;
	const struct vfioc_group_member *const *members; /* sorted by name */
	size_t n_devices;
	const char *const *devices; /* object paths of the members the broker publishes */
	bool viable;
	const char *not_viable_reason;
	const char *claim;		   /* "/" when free */
	const struct vfioc_holder *holder; /* NULL when free */
};

/* A claim object. */
struct vfioc_claim_info {
	const char *path;
	size_t n_devices;
	const char *const *devices;
	size_t n_groups;
	const uint32_t *groups;
	uint32_t holder_uid;
	uint32_t holder_pid;
	const char *dma_mode;
	uint64_t dma_quota;
	uint64_t dma_mapped;
};

/* Listings, sorted: devices by name, groups by number, claims by path (numerically). */
struct vfioc_device_list {
	size_t n_devices;
	const struct vfioc_device_info *const *devices;
};
struct vfioc_group_list {
	size_t n_groups;
	const struct vfioc_group_info *const *groups;
};
struct vfioc_claim_list {
	size_t n_claims;
	const struct vfioc_claim_info *const *claims;
};

/*
 * Lists every device, group or claim the broker publishes, with one
 * GetManagedObjects() call each. Device entries carry only what the broker
 * has cached: the metadata fields are whatever it read before (often
 * "unread"), because a listing never makes the broker open a device. Use
 * vfioc_get_device() for the full metadata of one device.
 *
 * Returns 0 and stores a new list in *ret (free it with the matching
 * *_list_free()), or a negative errno: -EINVAL (NULL argument), -EBADMSG
 * (malformed reply), -E2BIG (more than VFIOC_MAX_OBJECTS objects or a count
 * beyond its cap), -ETIMEDOUT (the client's timeout passed), -ENOTCONN,
 * -ECONNRESET, -ENOMEM, or the broker's error as mapped above.
 */
int vfioc_list_devices(struct vfioc_client *client, struct vfioc_device_list **ret);
int vfioc_list_groups(struct vfioc_client *client, struct vfioc_group_list **ret);
int vfioc_list_claims(struct vfioc_client *client, struct vfioc_claim_list **ret);

/*
 * Everything the broker knows about one device (name: a canonical PCI
 * address or a platform device name), with one Properties.GetAll() call:
 * the broker reads the VFIO metadata first if it has not yet (it opens the
 * device's group for the moment, or uses the holder's fd). When the metadata
 * cannot be read, the call still succeeds: metadata_state is "unavailable"
 * and metadata_error says why.
 *
 * Returns 0 and stores a new struct in *ret (free it with
 * vfioc_device_info_free()), or a negative errno: -EINVAL (NULL argument, or
 * a name that is neither), -ENODEV (the broker has no such device),
 * -EBADMSG, -E2BIG, -ETIMEDOUT, -ENOTCONN, -ENOMEM.
 */
int vfioc_get_device(struct vfioc_client *client, const char *name, struct vfioc_device_info **ret);

/*
 * One IOMMU group, with its members and viability read by the broker now.
 * Returns 0 and stores a new struct in *ret (free it with
 * vfioc_group_info_free()), or a negative errno: -EINVAL, -ENODEV (no such
 * group object), -EBADMSG, -E2BIG, -ETIMEDOUT, -ENOTCONN, -ENOMEM.
 */
int vfioc_get_group(struct vfioc_client *client, uint32_t number, struct vfioc_group_info **ret);

/* Free what the calls above return, with everything reachable from it. Accept NULL; return
 * NULL. */
struct vfioc_device_info *vfioc_device_info_free(struct vfioc_device_info *device);
struct vfioc_group_info *vfioc_group_info_free(struct vfioc_group_info *group);
struct vfioc_device_list *vfioc_device_list_free(struct vfioc_device_list *list);
struct vfioc_group_list *vfioc_group_list_free(struct vfioc_group_list *list);
struct vfioc_claim_list *vfioc_claim_list_free(struct vfioc_claim_list *list);

#ifdef __cplusplus
}
#endif
