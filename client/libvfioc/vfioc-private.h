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

struct vfioc_client {
	unsigned n_ref;
	sd_bus *bus;
	/* NULL on a peer-to-peer connection; the bus name once a message bus is supported. */
	char *destination;
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

/* sd-bus.h provides the *p cleanup helpers. */
#define _cleanup_bus_message_ _cleanup_(sd_bus_message_unrefp)
#define _cleanup_bus_error_   _cleanup_(sd_bus_error_free)
