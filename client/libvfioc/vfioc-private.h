/* SPDX-License-Identifier: MIT */
/*
 * Internals of libvfioc shared by its source files. Nothing here is exported.
 */
#pragma once

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>
#include <systemd/sd-bus.h>

#include "util.h"
#include "vfioc.h"

#define VFIOC_EXPORT __attribute__((visibility("default")))

#define VFIOC_MANAGER_PATH	"/io/vfiod/Broker1"
#define VFIOC_MANAGER_INTERFACE "io.vfiod.Broker1.Manager"
#define VFIOC_CLAIM_INTERFACE	"io.vfiod.Broker1.Claim"
#define VFIOC_DEVICE_INTERFACE	"io.vfiod.Broker1.Device"
#define VFIOC_GROUP_INTERFACE	"io.vfiod.Broker1.IommuGroup"

struct client_event;

struct vfioc_client {
	unsigned n_ref;
	sd_bus *bus;
	/* NULL on a peer-to-peer connection, VFIOC_BUS_NAME on the system bus. */
	char *destination;
	/* System bus: the unique name that owned VFIOC_BUS_NAME at connect; signals from anyone
	 * else are ignored. */
	char *broker_unique_name;
	/* What vfioc_client_get_fd() returns: an epoll fd watching the bus socket and wakeup_fd,
	 * an eventfd written when messages or events wait without the socket being readable. */
	int poll_fd;
	int wakeup_fd;
	bool wakeup_pending;
	/* The live claims, for routing signals to them (events.c). */
	struct vfioc_claim *claims;
	/* Events (events.c): the function, the FIFO queue and what overflowed. */
	vfioc_event_fn event_fn;
	void *event_userdata;
	bool matches_added;
	bool delivering;
	struct client_event *events_head, *events_tail;
	unsigned n_events;
	unsigned n_lost;
	uint64_t timeout_usec;
	char *server_version;
	/* The last failure: name, message and "name: message". */
	char *error_name;
	char *error_message;
	char *error_text;
};

/* The eventfds of one IRQ index of one device. */
struct vfioc_irq_set {
	unsigned index;
	unsigned count;
	int *fds;
};

struct vfioc_device {
	char *address;
	int fd;
	struct vfioc_irq_set *irqs;
	size_t n_irqs;
};

/* One mapping made through vfioc_dma_map(); vaddr is set in container mode only. */
struct vfioc_mapping {
	uint64_t iova;
	uint64_t size;
	void *vaddr;
};

struct vfioc_claim {
	struct vfioc_client *client;
	/* In client->claims. */
	struct vfioc_claim *next, *prev;
	/* Events already queued: REVOKED at most once, CLAIM_ENDED once and last. */
	bool revoked;
	bool ended;
	char *path;
	struct vfioc_device *devices;
	size_t n_devices;
	char *dma_mode;
	bool container_mode;
	int container_fd;
	uint64_t quota;
	uint64_t pgsizes;
	struct vfioc_iova_range *ranges;
	size_t n_ranges;
	struct vfioc_mapping *mappings;
	size_t n_mappings;
	uint64_t mapped;
};

/* client.c */
struct vfioc_client *client_ref(struct vfioc_client *client);
struct vfioc_client *client_unref(struct vfioc_client *client);
/* Record the last failure. The macros below are what callers use: their value is visibly the
 * negative errno, so callers (and the static analyzer) see every error path as one. */
int client_record_bus_error(struct vfioc_client *client, const sd_bus_error *error, int r,
			    const char *what);
void client_record_errorf(struct vfioc_client *client, int r, const char *name, const char *format,
			  ...) _printf_(4, 5);
/* Puts a prefix (e.g. the failing entry of a batch) before the message of the last failure. */
void client_error_prefix(struct vfioc_client *client, const char *format, ...) _printf_(2, 3);
/* Records a failure from a D-Bus error and evaluates to the negative errno it maps to. r is
 * the negative errno sd-bus returned, used when the error carries no name. */
#define client_bus_error(client, error, r, what)                                                   \
	({                                                                                         \
		int _e = client_record_bus_error((client), (error), (r), (what));                  \
		_e < 0 ? _e : -EIO;                                                                \
	})
/* Records a failure detected locally under a D-Bus error name (NULL: "System.Error.EXXX")
 * and evaluates to r, which must be negative. */
#define client_errorf(client, r, name, ...)                                                        \
	({                                                                                         \
		int _r = (r);                                                                      \
		client_record_errorf((client), _r, (name), __VA_ARGS__);                           \
		_r < 0 ? _r : -EIO;                                                                \
	})
/* Records a failed system call: "System.Error.EXXX: <what>: <strerror>"; evaluates to r. */
#define client_errno(client, r, what)                                                              \
	({                                                                                         \
		int _r = (r);                                                                      \
		client_record_errorf((client), _r, NULL, "%s: %s", (what), strerror(-_r));         \
		_r < 0 ? _r : -EIO;                                                                \
	})
/* Calls a method synchronously with the client's timeout. */
int client_call(struct vfioc_client *client, sd_bus_message *m, sd_bus_error *error,
		sd_bus_message **ret_reply);
int client_new_method_call(struct vfioc_client *client, const char *path, const char *interface,
			   const char *member, sd_bus_message **ret);

/* Makes the fd of vfioc_client_get_fd() readable when messages were read into sd-bus's queue
 * (by a synchronous call) or events wait, so a caller polling it does not sleep on them. */
void client_update_wakeup(struct vfioc_client *client);

/* events.c */
/* Adds the claim to the client's list, and removes it (dropping its queued events). */
void events_claim_added(struct vfioc_claim *claim);
void events_claim_removed(struct vfioc_claim *claim);
/* Calls the event function for each queued event; the caller holds a reference. */
void events_deliver(struct vfioc_client *client);
bool events_pending(const struct vfioc_client *client);
void events_drop_all(struct vfioc_client *client);

/* devices.c */
/* The object path of a device, as io.vfiod.Broker1(5) derives it from its name. */
int device_path_from_name(const char *name, char **ret);

/* error.c */
/* The errno (positive) an io.vfiod.Error.* name maps to, 0 if the name is not one of them. */
int vfioc_error_name_to_errno(const char *name);

/* log.c */
void vfioc_log(int priority, const char *format, ...) _printf_(2, 3);
bool vfioc_log_enabled(void);
#define log_debug(...) vfioc_log(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  vfioc_log(LOG_INFO, __VA_ARGS__)
#define log_error(...) vfioc_log(LOG_ERR, __VA_ARGS__)

/* claim.c */
struct vfioc_device *claim_find_device(const struct vfioc_claim *claim, const char *address);
uint64_t claim_min_pgsize(const struct vfioc_claim *claim);

/* dma.c */
/* Drops every mapping (container mode: munmap; the broker unmaps at release). */
void claim_drop_mappings(struct vfioc_claim *claim);

/* properties.c */
/* A property the library knows: its name, its signature, and where it goes: a basic type is
 * stored at offset in the object, anything else is read by read (the variant entered). */
struct prop_spec {
	const char *name;
	const char *signature;
	size_t offset;
	int (*read)(sd_bus_message *m, void *obj);
};
#define PROP(name, signature, type, field)                                                         \
	{                                                                                          \
		name, signature, offsetof(type, field), NULL                                       \
	}
#define PROP_FN(name, signature, fn)                                                               \
	{                                                                                          \
		name, signature, 0, fn                                                             \
	}
/* Returns 1 when it consumed the variant, 0 to have it skipped, or a negative errno. */
typedef int (*dict_entry_fn)(sd_bus_message *m, const char *key, void *userdata);
/* Reads the a{sv} of one object's interface; returns 0 or a negative errno. */
typedef int (*object_fn)(sd_bus_message *m, const char *path, void *userdata);

/* Enters a variant if it holds exactly signature; -EBADMSG otherwise. */
int variant_enter(sd_bus_message *m, const char *signature);
int dict_foreach(sd_bus_message *m, dict_entry_fn fn, void *userdata);
int props_read(sd_bus_message *m, const struct prop_spec *specs, size_t n_specs, void *obj);
/* Appends item to a growing array of pointers (array is a T ***); -E2BIG at cap. */
int ptr_array_append(void *array, size_t *n, void *item, size_t cap);
void ptr_array_free(void *array, size_t n, void *(*free_item)(void *));
/* Readers that replace what field held: a string (s or o), a capped string array
 * (NULL-terminated), a capped array of q or u numbers (ret is a uint16_t ** or uint32_t **),
 * a Holder dictionary (NULL when empty). */
int read_strdup(sd_bus_message *m, char type, const char **field);
int read_strv(sd_bus_message *m, char type, const char *const **ret, size_t *ret_n, size_t cap);
int read_number_array(sd_bus_message *m, char type, void *ret, size_t *ret_n, size_t cap);
int read_holder(sd_bus_message *m, const struct vfioc_holder **field);
void *holder_free(void *h);
/* Records a failure to read a reply; evaluates to -E2BIG, -ENOMEM or -EBADMSG. */
int client_reply_error(struct vfioc_client *client, int r, const char *what);
/* Properties.GetAll() of one object into obj; -ENODEV when the object does not exist. */
int object_get_all(struct vfioc_client *client, const char *path, const char *interface,
		   const struct prop_spec *specs, size_t n_specs, void *obj);
/* GetManagedObjects(): calls fn for every object with interface (at most VFIOC_MAX_OBJECTS). */
int managed_objects_read(struct vfioc_client *client, const char *interface, object_fn fn,
			 void *userdata);

/* sd-bus.h provides the *p cleanup helpers. */
#define _cleanup_bus_message_ _cleanup_(sd_bus_message_unrefp)
#define _cleanup_bus_error_   _cleanup_(sd_bus_error_free)
