/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "dma-batch.h"
#include "fake-broker.h"
#include "pci-address.h"
#include "util.h"

#define MANAGER_PATH "/io/vfiod/Broker1"
#define CLAIM_PREFIX "/io/vfiod/Broker1/claim"
#define MAX_MAPS     80

struct fake_map {
	uint64_t iova, size;
	int fd;
};

struct fake_claim {
	unsigned id;
	sd_bus *owner;
	char **devices;
	bool container;
	uint64_t quota, mapped;
	struct fake_map maps[MAX_MAPS];
	size_t n_maps;
	struct fake_claim *next;
};

struct fake_conn {
	sd_bus *bus;
	bool dead;
	bool wants_removals; /* it called AddMatch for InterfacesRemoved */
	struct fake_conn *next;
};

/* How AddMatch is answered: as vfiod does, as a vfiod from before the routing, or not at all. */
static enum {
	MATCH_ROUTE,
	MATCH_IGNORE,
	MATCH_UNKNOWN
} match_mode;
static unsigned n_add_match;

static struct fake_claim *claims;
static struct fake_conn *conns;
static unsigned next_claim_id = 1;
static char **calls;
static size_t n_calls;

static const struct {
	uint64_t start, last;
} ranges[] = {
    /* Unsorted on purpose: the library sorts them. The gap is the x86 MSI window. */
    {0xfef00000, 0xffffffffff},
    {0x0, 0xfedfffff},
};

static void record(const char *format, ...) _printf_(1, 2);
static void record(const char *format, ...)
{
	char *line = NULL;
	va_list ap;

	va_start(ap, format);
	if (vasprintf(&line, format, ap) < 0)
		line = NULL;
	va_end(ap);
	if (!line)
		return;
	char **a = reallocarray(calls, n_calls + 2, sizeof(char *));
	if (!a) {
		free(line);
		return;
	}
	calls = a;
	calls[n_calls++] = line;
	calls[n_calls] = NULL;
}

static void claim_free(struct fake_claim *c)
{
	for (size_t i = 0; i < c->n_maps; i++)
		safe_close(c->maps[i].fd);
	strv_free(c->devices);
	free(c);
}

static void claim_end(struct fake_claim *c, const char *why)
{
	for (struct fake_claim **p = &claims; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	record("%s %u", why, c->id);
	claim_free(c);
}

static int method_claim(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_strv_free_ char **devices = NULL;
	_cleanup_free_ char *list = NULL, *mode = NULL;
	int r;

	r = sd_bus_message_read_strv(m, &devices);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *value;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (!streq(key, "dma-mode"))
			return sd_bus_error_setf(error, "io.vfiod.Error.InvalidArgument",
						 "unknown option %s", key);
		r = sd_bus_message_read(m, "v", "s", &value);
		if (r < 0)
			return r;
		free(mode);
		mode = strdup(value);
		if (!mode)
			return -ENOMEM;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;

	size_t len = 0;
	for (char **d = devices; d && *d; d++)
		len += strlen(*d) + 1;
	list = calloc(1, len + 1);
	if (!list)
		return -ENOMEM;
	for (char **d = devices; d && *d; d++) {
		if (d != devices)
			strcat(list, ",");
		strcat(list, *d);
	}
	if (mode)
		record("Claim %s dma-mode=%s", list, mode);
	else
		record("Claim %s", list);

	if (strv_length(devices) == 0)
		return sd_bus_error_setf(error, "io.vfiod.Error.InvalidArgument", "no device");
	for (char **d = devices; *d; d++) {
		if (!pci_address_is_valid(*d))
			return sd_bus_error_setf(error, "io.vfiod.Error.InvalidAddress",
						 "'%s' is not a PCI address like 0000:00:03.0", *d);
		if (streq(*d, "0000:00:0b.0"))
			return sd_bus_error_setf(error, "io.vfiod.Error.Busy",
						 "%s is held by uid 1001 pid 345", *d);
		if (streq(*d, "0000:00:0c.0"))
			return sd_bus_error_setf(error, "io.vfiod.Error.PermissionDenied",
						 "no policy rule grants uid %u %s", getuid(), *d);
		if (streq(*d, "0000:00:0d.0"))
			return sd_bus_error_setf(error, "io.vfiod.Error.NoSuchDevice",
						 "no PCI device %s", *d);
		if (streq(*d, "0000:00:0e.0"))
			return sd_bus_error_setf(error, "io.vfiod.Error.NotVfioDevice",
						 "%s is bound to e1000e, not vfio-pci", *d);
		if (streq(*d, "0000:00:0f.0"))
			return sd_bus_error_setf(error, "io.vfiod.Error.GroupNotViable",
						 "group 7 of %s has 0000:00:0f.1 bound to snd_hda",
						 *d);
		if (streq(*d, "0000:00:1f.7"))
			return 1; /* never answer */
	}
	if (mode && !streq(mode, "container") && !streq(mode, "brokered"))
		return sd_bus_error_setf(error, "io.vfiod.Error.DmaModeNotAllowed",
					 "DMA mode %s is not allowed", mode);

	struct fake_claim *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->id = next_claim_id++;
	c->owner = sd_bus_message_get_bus(m);
	c->devices = TAKE_PTR(devices);
	c->container = !mode || streq(mode, "container");
	c->quota = c->container ? 64 << 20 : 1 << 20;
	c->next = claims;
	claims = c;

	char path[64];
	snprintf(path, sizeof(path), CLAIM_PREFIX "/%u", c->id);

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "o", path);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(sh)");
	bool bad_reply = strv_contains(c->devices, "0000:00:1e.0");
	for (char **d = c->devices; r >= 0 && !bad_reply && *d; d++) {
		char name[64];
		snprintf(name, sizeof(name), "fake-device-%s", *d);
		_cleanup_close_ int fd = memfd_create(name, MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = sd_bus_message_append(reply, "(sh)", *d, fd);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "{sv}", "mode", "s",
					  c->container ? "container" : "brokered");
	if (r >= 0 && c->container) {
		_cleanup_close_ int fd = memfd_create("fake-container", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = sd_bus_message_append(reply, "{sv}", "container", "h", fd);
	}
	if (r >= 0)
		r = sd_bus_message_append(reply, "{sv}", "quota", "t", c->quota);
	if (r >= 0)
		r = sd_bus_message_append(reply, "{sv}", "iova-ranges", "a(tt)", 2, ranges[0].start,
					  ranges[0].last, ranges[1].start, ranges[1].last);
	if (r >= 0)
		r = sd_bus_message_append(reply, "{sv}", "iova-pgsizes", "t", (uint64_t)0x40201000);
	/* Something a newer daemon might add: the library must skip it. */
	if (r >= 0)
		r = sd_bus_message_append(reply, "{sv}", "x-future", "as", 1, "ignored");
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int find_claim(sd_bus *bus, const char *path, const char *interface, void *userdata,
		      void **ret_found, sd_bus_error *error)
{
	const char *p = path + strlen(CLAIM_PREFIX);
	char *end;

	if (*p != '/')
		return 0;
	unsigned long id = strtoul(p + 1, &end, 10);
	if (*end)
		return 0;
	for (struct fake_claim *c = claims; c; c = c->next)
		if (c->id == id) {
			*ret_found = c;
			return 1;
		}
	return 0;
}

static int check_owner(sd_bus_message *m, struct fake_claim *c, sd_bus_error *error)
{
	if (sd_bus_message_get_bus(m) != c->owner)
		return sd_bus_error_setf(error, "io.vfiod.Error.PermissionDenied",
					 "claim %u is not yours", c->id);
	return 0;
}

static int method_set_irqs(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct fake_claim *c = userdata;
	const char *device;
	uint32_t index, count;
	int r;

	r = check_owner(m, c, error);
	if (r < 0)
		return r;
	r = sd_bus_message_read(m, "suu", &device, &index, &count);
	if (r < 0)
		return r;
	record("SetIrqs %u %s %" PRIu32 " %" PRIu32, c->id, device, index, count);
	if (!strv_contains(c->devices, device))
		return sd_bus_error_setf(error, "io.vfiod.Error.InvalidArgument",
					 "%s is not part of claim %u", device, c->id);
	if (count > 64)
		return sd_bus_error_setf(error, "io.vfiod.Error.LimitExceeded",
					 "at most 64 eventfds per call, not %" PRIu32, count);
	if (index > 4)
		return sd_bus_error_setf(error, "io.vfiod.Error.Failed",
					 "VFIO_DEVICE_SET_IRQS: Invalid argument");

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "h");
	for (uint32_t i = 0; r >= 0 && i < count; i++) {
		_cleanup_close_ int fd = eventfd(i + 1, EFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = sd_bus_message_append_basic(reply, 'h', &fd);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static bool in_one_range(uint64_t iova, uint64_t last)
{
	for (size_t i = 0; i < ELEMENTSOF(ranges); i++)
		if (iova >= ranges[i].start && last <= ranges[i].last)
			return true;
	return false;
}

struct fake_map_args {
	int fd;
	uint64_t offset, size, iova;
	uint32_t flags;
};

/*
 * Reads the one entry of MapDma/UnmapDma or the array of a batch call, at
 * most DMA_BATCH_MAX + 1 entries: with_fd "htttu" entries, else "tt" ones.
 */
static int read_entries(sd_bus_message *m, bool with_fd, struct fake_map_args *e, size_t *ret_n)
{
	bool batch = sd_bus_message_get_signature(m, true)[0] == 'a';
	const char *type = with_fd ? (batch ? "(htttu)" : "htttu") : (batch ? "(tt)" : "tt");
	size_t n = 0;
	int r = 0;

	if (batch)
		r = sd_bus_message_enter_container(m, 'a', type);
	while (r >= 0 && n <= DMA_BATCH_MAX) {
		struct fake_map_args *x = e + n;
		r = with_fd ? sd_bus_message_read(m, type, &x->fd, &x->offset, &x->size, &x->iova,
						  &x->flags)
			    : sd_bus_message_read(m, type, &x->iova, &x->size);
		if (r <= 0)
			break;
		n++;
		if (!batch)
			break;
	}
	*ret_n = n;
	return r < 0 ? r : 0;
}

static int batch_refusal(size_t n, sd_bus_error *error)
{
	if (n == 0)
		return sd_bus_error_setf(error, "io.vfiod.Error.InvalidArgument",
					 "The batch has no entries.");
	if (n > DMA_BATCH_MAX)
		return sd_bus_error_setf(error, "io.vfiod.Error.LimitExceeded",
					 "At most %u entries per batch.", DMA_BATCH_MAX);
	return 0;
}

static int refuse(const char **ret_name, char **ret_message, const char *name, const char *format,
		  ...) _printf_(4, 5);
static int refuse(const char **ret_name, char **ret_message, const char *name, const char *format,
		  ...)
{
	va_list ap;

	*ret_name = name;
	va_start(ap, format);
	if (vasprintf(ret_message, format, ap) < 0)
		*ret_message = NULL;
	va_end(ap);
	return *ret_message ? -EINVAL : -ENOMEM;
}

/* The checks of MapDma(), against the claim's mappings (including earlier entries). */
static int map_check(struct fake_claim *c, const struct fake_map_args *e, const char **ret_name,
		     char **ret_message)
{
	int seals = fcntl(e->fd, F_GET_SEALS);
	struct stat st;

	if (c->container)
		return refuse(ret_name, ret_message, "io.vfiod.Error.DmaModeNotAllowed",
			      "claim %u is in container mode: map through the container", c->id);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return refuse(ret_name, ret_message, "io.vfiod.Error.BadMemfd",
			      "the fd is not a memfd sealed with F_SEAL_SHRINK");
	if (fstat(e->fd, &st) < 0 || (uint64_t)st.st_size < e->offset + e->size)
		return refuse(ret_name, ret_message, "io.vfiod.Error.BadMemfd",
			      "the memfd is smaller than offset+size");
	if (e->size == 0 || e->offset % 4096 || e->size % 4096 || (e->flags & ~3u))
		return refuse(ret_name, ret_message, "io.vfiod.Error.InvalidArgument",
			      "bad offset, size or flags");
	if (e->iova % 4096 || !in_one_range(e->iova, e->iova + e->size - 1))
		return refuse(ret_name, ret_message, "io.vfiod.Error.BadIova",
			      "IOVA 0x%" PRIx64 "+0x%" PRIx64
			      " is unaligned or outside the usable ranges",
			      e->iova, e->size);
	for (size_t i = 0; i < c->n_maps; i++)
		if (e->iova < c->maps[i].iova + c->maps[i].size &&
		    c->maps[i].iova < e->iova + e->size)
			return refuse(ret_name, ret_message, "io.vfiod.Error.BadIova",
				      "IOVA 0x%" PRIx64 " overlaps the mapping at 0x%" PRIx64,
				      e->iova, c->maps[i].iova);
	if (c->mapped + e->size > c->quota)
		return refuse(ret_name, ret_message, "io.vfiod.Error.QuotaExceeded",
			      "0x%" PRIx64 " more bytes exceed the quota of 0x%" PRIx64, e->size,
			      c->quota);
	if (c->n_maps >= MAX_MAPS)
		return refuse(ret_name, ret_message, "io.vfiod.Error.LimitExceeded",
			      "too many mappings");
	return 0;
}

/* MapDma and MapDmaBatch: all entries or none; a batch of several names the refused entry. */
static int method_map_dma(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct fake_claim *c = userdata;
	const char *member = sd_bus_message_get_member(m);
	struct fake_map_args e[DMA_BATCH_MAX + 1];
	size_t n, first = c->n_maps;
	uint64_t mapped = c->mapped;
	int r;

	r = check_owner(m, c, error);
	if (r < 0)
		return r;
	r = read_entries(m, true, e, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		char link[64], target[256] = "";
		int seals = fcntl(e[i].fd, F_GET_SEALS);

		snprintf(link, sizeof(link), "/proc/self/fd/%d", e[i].fd);
		if (readlink(link, target, sizeof(target) - 1) < 0)
			strcpy(target, "?");
		record("%s %u %s seals=0x%x offset=0x%" PRIx64 " size=0x%" PRIx64 " iova=0x%" PRIx64
		       " flags=0x%" PRIx32,
		       member, c->id, target, seals < 0 ? 0 : seals, e[i].offset, e[i].size,
		       e[i].iova, e[i].flags);
	}
	if (!streq(member, "MapDma")) {
		r = batch_refusal(n, error);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *message = NULL;
		const char *name;
		char prefix[32];
		int copy;

		r = map_check(c, e + i, &name, &message);
		if (r >= 0) {
			copy = fcntl(e[i].fd, F_DUPFD_CLOEXEC, 3);
			if (copy < 0)
				r = -errno;
		}
		if (r < 0) {
			while (c->n_maps > first)
				safe_close(c->maps[--c->n_maps].fd);
			c->mapped = mapped;
			if (!message)
				return r;
			return sd_bus_error_setf(error, name, "%s%s",
						 dma_batch_entry_prefix(prefix, n, i), message);
		}
		c->maps[c->n_maps++] =
		    (struct fake_map){.iova = e[i].iova, .size = e[i].size, .fd = copy};
		c->mapped += e[i].size;
	}
	return sd_bus_reply_method_return(m, NULL);
}

static ssize_t find_map(const struct fake_claim *c, uint64_t iova, uint64_t size)
{
	for (size_t i = 0; i < c->n_maps; i++)
		if (c->maps[i].iova == iova && c->maps[i].size == size)
			return (ssize_t)i;
	return -1;
}

/* UnmapDma and UnmapDmaBatch: all or none. */
static int method_unmap_dma(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct fake_claim *c = userdata;
	const char *member = sd_bus_message_get_member(m);
	struct fake_map_args e[DMA_BATCH_MAX + 1];
	size_t n;
	int r;

	r = check_owner(m, c, error);
	if (r < 0)
		return r;
	r = read_entries(m, false, e, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		record("%s %u iova=0x%" PRIx64 " size=0x%" PRIx64, member, c->id, e[i].iova,
		       e[i].size);
	if (!streq(member, "UnmapDma")) {
		r = batch_refusal(n, error);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		char prefix[32];

		if (DMA_BATCH_REPEATS(e, i) || find_map(c, e[i].iova, e[i].size) < 0)
			return sd_bus_error_setf(error, "io.vfiod.Error.BadIova",
						 "%sno mapping at 0x%" PRIx64,
						 dma_batch_entry_prefix(prefix, n, i), e[i].iova);
	}
	for (size_t i = 0; i < n; i++) {
		ssize_t k = find_map(c, e[i].iova, e[i].size);

		safe_close(c->maps[k].fd);
		c->mapped -= e[i].size;
		c->maps[k] = c->maps[--c->n_maps];
	}
	return sd_bus_reply_method_return(m, NULL);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct fake_claim *c = userdata;
	int r;

	r = check_owner(m, c, error);
	if (r < 0)
		return r;
	claim_end(c, "Release");
	return sd_bus_reply_method_return(m, NULL);
}

static int method_calls(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append_strv(reply, calls);
	if (r < 0)
		return r;
	calls = strv_free(calls);
	n_calls = 0;
	return sd_bus_send(NULL, reply, NULL);
}

/* Id 0 means the newest claim. */
static struct fake_claim *claim_by_id(uint32_t id, sd_bus_error *error)
{
	for (struct fake_claim *c = claims; c; c = c->next)
		if (c->id == id || id == 0)
			return c;
	sd_bus_error_setf(error, "io.vfiod.Error.InvalidArgument", "no claim %" PRIu32, id);
	return NULL;
}

/* InterfacesRemoved goes to every connection that asked for it, as vfiod routes it. */
static int emit_removed(const char *path, const char *interface)
{
	int r;

	for (struct fake_conn *conn = conns; conn; conn = conn->next) {
		if (conn->dead || (match_mode == MATCH_ROUTE && !conn->wants_removals))
			continue;
		r = sd_bus_emit_signal(conn->bus, MANAGER_PATH,
				       "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
				       "oas", path, 1, interface);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Revoke(u claim, s device, s reason, u times): sends Revoked to the claim's owner, times times
 * (vfiod sends it once; the client must cope with more). */
static int method_test_revoke(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *device, *reason;
	uint32_t id, times;
	struct fake_claim *c;
	char path[64];
	int r;

	r = sd_bus_message_read(m, "ussu", &id, &device, &reason, &times);
	if (r < 0)
		return r;
	c = claim_by_id(id, error);
	if (!c)
		return -EINVAL;
	snprintf(path, sizeof(path), CLAIM_PREFIX "/%u", c->id);
	for (uint32_t i = 0; i < times; i++) {
		r = sd_bus_emit_signal(c->owner, path, "io.vfiod.Broker1.Claim", "Revoked", "ss",
				       device, reason);
		if (r < 0)
			return r;
	}
	return sd_bus_reply_method_return(m, NULL);
}

/* EndClaim(u claim): ends it as the grace period would, and announces it. */
static int method_test_end_claim(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct fake_claim *c;
	char path[64];
	uint32_t id;
	int r;

	r = sd_bus_message_read(m, "u", &id);
	if (r < 0)
		return r;
	c = claim_by_id(id, error);
	if (!c)
		return -EINVAL;
	snprintf(path, sizeof(path), CLAIM_PREFIX "/%u", c->id);
	claim_end(c, "Ended");
	r = emit_removed(path, "io.vfiod.Broker1.Claim");
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, NULL);
}

/* RemoveObject(o path, s interface): announces that an object went away (a hot-unplug). */
static int method_test_remove_object(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *path, *interface;
	int r;

	r = sd_bus_message_read(m, "os", &path, &interface);
	if (r < 0)
		return r;
	r = emit_removed(path, interface);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, NULL);
}

/* SetMatchMode(s mode): "route", "ignore" or "unknown" (see match_mode). */
static int method_test_set_match_mode(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *mode;
	int r;

	r = sd_bus_message_read(m, "s", &mode);
	if (r < 0)
		return r;
	if (streq(mode, "route"))
		match_mode = MATCH_ROUTE;
	else if (streq(mode, "ignore"))
		match_mode = MATCH_IGNORE;
	else if (streq(mode, "unknown"))
		match_mode = MATCH_UNKNOWN;
	else
		return -EINVAL;
	return sd_bus_reply_method_return(m, NULL);
}

/* CountMatches() -> u: the AddMatch calls since the last count. */
static int method_test_count_matches(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	unsigned n = n_add_match;

	n_add_match = 0;
	return sd_bus_reply_method_return(m, "u", n);
}

/* org.freedesktop.DBus.AddMatch on the connection; only InterfacesRemoved is routed. */
static int method_add_match(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct fake_conn *conn = userdata;
	const char *rule;
	int r;

	if (match_mode == MATCH_UNKNOWN)
		return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_METHOD, "no AddMatch here");
	r = sd_bus_message_read(m, "s", &rule);
	if (r < 0)
		return r;
	n_add_match++;
	if (strstr(rule, "member='InterfacesRemoved'"))
		conn->wants_removals = true;
	return sd_bus_reply_method_return(m, NULL);
}

static int property_version(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", "0.1.0-fake");
}

static const sd_bus_vtable manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_METHOD_WITH_ARGS("Claim", SD_BUS_ARGS("as", devices, "a{sv}", options),
			    SD_BUS_RESULT("o", claim, "a(sh)", device_fds, "a{sv}", dma),
			    method_claim, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

static const sd_bus_vtable test_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Calls", "", "as", method_calls, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Revoke", "ussu", "", method_test_revoke, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("EndClaim", "u", "", method_test_end_claim, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("RemoveObject", "os", "", method_test_remove_object, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("SetMatchMode", "s", "", method_test_set_match_mode, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("CountMatches", "", "u", method_test_count_matches, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

static const sd_bus_vtable driver_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("AddMatch", "s", "", method_add_match, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

static const sd_bus_vtable claim_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("SetIrqs", "suu", "ah", method_set_irqs, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("MapDma", "htttu", "", method_map_dma, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("UnmapDma", "tt", "", method_unmap_dma, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("MapDmaBatch", "a(htttu)", "", method_map_dma, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("UnmapDmaBatch", "a(tt)", "", method_unmap_dma, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Release", "", "", method_release, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

static int on_disconnect(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct fake_conn *conn = userdata;

	for (struct fake_claim *c = claims, *next; c; c = next) {
		next = c->next;
		if (c->owner == conn->bus)
			claim_end(c, "Disconnect");
	}
	conn->dead = true;
	return 0;
}

static void conns_reap(bool all)
{
	for (struct fake_conn **p = &conns; *p;) {
		struct fake_conn *c = *p;
		if (all || c->dead) {
			*p = c->next;
			sd_bus_flush_close_unref(c->bus);
			free(c);
		} else
			p = &c->next;
	}
}

static int on_accept(sd_event_source *s, int listen_fd, uint32_t revents, void *userdata)
{
	sd_event *event = userdata;
	struct fake_conn *conn;
	sd_id128_t id;
	int fd, r;

	conns_reap(false);

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return 0;
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		close(fd);
		return 0;
	}
	conn->next = conns;
	conns = conn;

	r = sd_bus_new(&conn->bus);
	if (r < 0) {
		close(fd);
		conn->dead = true;
		return 0;
	}
	if (sd_bus_set_fd(conn->bus, fd, fd) < 0) {
		close(fd);
		conn->dead = true;
		return 0;
	}
	sd_id128_randomize(&id);
	r = sd_bus_set_server(conn->bus, 1, id);
	if (r >= 0)
		r = sd_bus_negotiate_fds(conn->bus, 1);
	if (r >= 0)
		r = sd_bus_add_object_vtable(conn->bus, NULL, MANAGER_PATH,
					     "io.vfiod.Broker1.Manager", manager_vtable, NULL);
	if (r >= 0)
		r = sd_bus_add_object_vtable(conn->bus, NULL, MANAGER_PATH, "io.vfiod.Test",
					     test_vtable, NULL);
	if (r >= 0)
		r = sd_bus_add_object_vtable(conn->bus, NULL, "/org/freedesktop/DBus",
					     "org.freedesktop.DBus", driver_vtable, conn);
	if (r >= 0)
		r = fake_objects_attach(conn->bus);
	if (r >= 0)
		r = sd_bus_add_fallback_vtable(conn->bus, NULL, CLAIM_PREFIX,
					       "io.vfiod.Broker1.Claim", claim_vtable, find_claim,
					       NULL);
	if (r >= 0)
		r = sd_bus_match_signal(conn->bus, NULL, NULL, "/org/freedesktop/DBus/Local",
					"org.freedesktop.DBus.Local", "Disconnected", on_disconnect,
					conn);
	if (r >= 0)
		r = sd_bus_attach_event(conn->bus, event, 0);
	if (r >= 0)
		r = sd_bus_start(conn->bus);
	if (r < 0)
		conn->dead = true;
	return 0;
}

static int serve(int listen_fd)
{
	sd_event *event = NULL;
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_new(&event);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_io(event, NULL, listen_fd, EPOLLIN, on_accept, event);
	if (r >= 0)
		r = sd_event_loop(event);

	conns_reap(true);
	while (claims)
		claim_end(claims, "Shutdown");
	calls = strv_free(calls);
	sd_event_unref(event);
	close(listen_fd);
	return r < 0 ? 1 : 0;
}

int fake_broker_start(struct fake_broker *ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct fake_broker b = {};
	int fd, r;

	snprintf(b.dir, sizeof(b.dir), "/tmp/fake-vfiod-XXXXXX");
	if (!mkdtemp(b.dir))
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/broker.sock", b.dir);
	snprintf(b.address, sizeof(b.address), "unix:path=%s", sa.sun_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}

	fflush(NULL);
	b.pid = fork();
	if (b.pid < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (b.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		_exit(serve(fd));
	}
	close(fd);
	*ret = b;
	return 0;
}

int fake_broker_stop(struct fake_broker *b)
{
	char path[128];
	int status = 0;

	if (b->pid <= 0)
		return 0;
	kill(b->pid, SIGTERM);
	if (waitpid(b->pid, &status, 0) < 0)
		status = -1;
	b->pid = 0;
	snprintf(path, sizeof(path), "%s/broker.sock", b->dir);
	unlink(path);
	rmdir(b->dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int test_connect(const struct fake_broker *b, sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, b->address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, false);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(bus);
	return 0;
}

int fake_broker_calls(const struct fake_broker *b, char ***ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = test_connect(b, &bus);
	if (r >= 0)
		r = sd_bus_call_method(bus, NULL, MANAGER_PATH, "io.vfiod.Test", "Calls", &error,
				       &reply, "");
	sd_bus_error_free(&error);
	if (r >= 0)
		r = sd_bus_message_read_strv(reply, ret);
	return r < 0 ? r : 0;
}

int fake_broker_test_call(const struct fake_broker *b, const char *member, const char *types, ...)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	va_list ap;
	int r;

	r = test_connect(b, &bus);
	if (r >= 0)
		r = sd_bus_message_new_method_call(bus, &m, NULL, MANAGER_PATH, "io.vfiod.Test",
						   member);
	if (r >= 0) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &error, NULL);
	sd_bus_error_free(&error);
	return r < 0 ? r : 0;
}

int fake_broker_count_matches(const struct fake_broker *b)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	uint32_t n = 0;
	int r;

	r = test_connect(b, &bus);
	if (r >= 0)
		r = sd_bus_call_method(bus, NULL, MANAGER_PATH, "io.vfiod.Test", "CountMatches",
				       &error, &reply, "");
	if (r >= 0)
		r = sd_bus_message_read(reply, "u", &n);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	return r < 0 ? r : (int)n;
}

int fake_broker_wait_for(const struct fake_broker *b, const char *line)
{
	for (int i = 0; i < 200; i++) {
		_cleanup_strv_free_ char **l = NULL;
		int r = fake_broker_calls(b, &l);
		if (r < 0)
			return r;
		if (strv_contains(l, line))
			return 1;
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	return 0;
}
