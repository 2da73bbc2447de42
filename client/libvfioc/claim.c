/* SPDX-License-Identifier: MIT */
/*
 * Claims: Claim() on the manager, the fds and DMA context it returns,
 * SetIrqs() and Release() on the claim object.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#include "vfioc-private.h"

/* The size of struct vfioc_claim_options in LIBVFIOC_0.1; smaller ones are refused. */
#define CLAIM_OPTIONS_SIZE_0_1                                                                     \
	(offsetof(struct vfioc_claim_options, dma_mode) + sizeof(const char *))

/* Keeps fds away from 0-2, so a caller that closed stdio never finds a device fd there. */
static int dup_cloexec(int fd)
{
	int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return r < 0 ? negative_errno() : r;
}

static void irq_set_close(struct vfioc_irq_set *s)
{
	for (unsigned i = 0; i < s->count; i++)
		safe_close(s->fds[i]);
	free(s->fds);
	s->fds = NULL;
	s->count = 0;
}

static void claim_close_fds(struct vfioc_claim *claim)
{
	for (size_t i = 0; i < claim->n_devices; i++) {
		struct vfioc_device *d = &claim->devices[i];

		for (size_t j = 0; j < d->n_irqs; j++)
			irq_set_close(&d->irqs[j]);
		d->fd = safe_close(d->fd);
	}
	claim->container_fd = safe_close(claim->container_fd);
}

static struct vfioc_claim *claim_destroy(struct vfioc_claim *claim)
{
	if (!claim)
		return NULL;

	claim_drop_mappings(claim);
	claim_close_fds(claim);
	events_claim_removed(claim);
	for (size_t i = 0; i < claim->n_devices; i++) {
		free(claim->devices[i].address);
		free(claim->devices[i].irqs);
	}
	free(claim->devices);
	free(claim->mappings);
	free(claim->ranges);
	free(claim->dma_mode);
	free(claim->path);
	client_unref(claim->client);
	free(claim);
	return NULL;
}

/* Ends the claim in the broker without waiting for the answer. */
static void claim_send_release(struct vfioc_claim *claim)
{
	_cleanup_bus_message_ sd_bus_message *m = NULL;
	int r;

	if (!claim->path || sd_bus_is_open(claim->client->bus) <= 0)
		return;
	r = sd_bus_message_new_method_call(claim->client->bus, &m, claim->client->destination,
					   claim->path, VFIOC_CLAIM_INTERFACE, "Release");
	if (r >= 0)
		r = sd_bus_message_set_expect_reply(m, false);
	if (r >= 0)
		r = sd_bus_send(claim->client->bus, m, NULL);
	if (r >= 0)
		r = sd_bus_flush(claim->client->bus);
	if (r < 0)
		log_debug("sending Release for %s failed (the claim ends on disconnect): %s",
			  claim->path, strerror(-r));
}

VFIOC_EXPORT struct vfioc_claim *vfioc_claim_free(struct vfioc_claim *claim)
{
	if (!claim)
		return NULL;
	/* Our fds go first, so the broker scrubs devices nobody here can reach any more. */
	claim_drop_mappings(claim);
	claim_close_fds(claim);
	claim_send_release(claim);
	return claim_destroy(claim);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vfioc_claim *, vfioc_claim_free)

VFIOC_EXPORT int vfioc_claim_release(struct vfioc_claim *claim)
{
	_cleanup_bus_message_ sd_bus_message *m = NULL;
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	if (!claim)
		return 0;

	claim_drop_mappings(claim);
	claim_close_fds(claim);

	r = client_new_method_call(claim->client, claim->path, VFIOC_CLAIM_INTERFACE, "Release",
				   &m);
	if (r >= 0) {
		r = client_call(claim->client, m, &error, NULL);
		if (r < 0)
			r = client_bus_error(claim->client, &error, r, "Release");
		else
			log_debug("released %s", claim->path);
	}
	claim_destroy(claim);
	return r < 0 ? r : 0;
}

struct vfioc_device *claim_find_device(const struct vfioc_claim *claim, const char *address)
{
	if (!claim || !address)
		return NULL;
	for (size_t i = 0; i < claim->n_devices; i++)
		if (streq(claim->devices[i].address, address))
			return &claim->devices[i];
	return NULL;
}

uint64_t claim_min_pgsize(const struct vfioc_claim *claim)
{
	if (claim->pgsizes)
		return claim->pgsizes & -claim->pgsizes;
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (uint64_t)p : 4096;
}

static int append_claim_options(sd_bus_message *m, const struct vfioc_claim_options *o)
{
	int r;

	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	if (o->dma_mode) {
		r = sd_bus_message_append(m, "{sv}", "dma-mode", "s", o->dma_mode);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(m);
}

static int read_device_fds(sd_bus_message *reply, struct vfioc_claim *claim,
			   const char *const *devices, size_t n_devices)
{
	const char *address;
	int fd, r;

	claim->devices = calloc(n_devices, sizeof(struct vfioc_device));
	if (!claim->devices)
		return -ENOMEM;

	r = sd_bus_message_enter_container(reply, 'a', "(sh)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(sh)", &address, &fd)) > 0) {
		size_t i = claim->n_devices;

		/* One pair per device, in the order asked. */
		if (i >= n_devices || !streq(address, devices[i]))
			return -EBADMSG;
		claim->devices[i].fd = -EBADF;
		claim->devices[i].address = strdup(address);
		if (!claim->devices[i].address)
			return -ENOMEM;
		claim->n_devices++;
		claim->devices[i].fd = dup_cloexec(fd);
		if (claim->devices[i].fd < 0)
			return claim->devices[i].fd;
	}
	if (r < 0)
		return r;
	if (claim->n_devices != n_devices)
		return -EBADMSG;
	return sd_bus_message_exit_container(reply);
}

static int read_iova_ranges(sd_bus_message *reply, struct vfioc_claim *claim)
{
	uint64_t start, last;
	int r;

	r = sd_bus_message_enter_container(reply, 'v', "a(tt)");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "(tt)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(tt)", &start, &last)) > 0) {
		if (start > last)
			return -EBADMSG;
		struct vfioc_iova_range *a =
		    reallocarray(claim->ranges, claim->n_ranges + 1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		claim->ranges = a;
		/* Insertion sort: the list is short, and callers get it sorted. */
		size_t i = claim->n_ranges++;
		while (i > 0 && a[i - 1].start > start) {
			a[i] = a[i - 1];
			i--;
		}
		a[i] = (struct vfioc_iova_range){.start = start, .last = last};
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(reply);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(reply);
}

static int read_dma_context(sd_bus_message *reply, struct vfioc_claim *claim)
{
	const char *key, *mode;
	int fd, r;

	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		r = sd_bus_message_read(reply, "s", &key);
		if (r < 0)
			return r;
		if (streq(key, "mode")) {
			r = sd_bus_message_read(reply, "v", "s", &mode);
			if (r < 0)
				return r;
			free(claim->dma_mode);
			claim->dma_mode = strdup(mode);
			if (!claim->dma_mode)
				return -ENOMEM;
		} else if (streq(key, "container")) {
			r = sd_bus_message_read(reply, "v", "h", &fd);
			if (r < 0)
				return r;
			safe_close(claim->container_fd);
			claim->container_fd = dup_cloexec(fd);
			if (claim->container_fd < 0)
				return claim->container_fd;
		} else if (streq(key, "quota"))
			r = sd_bus_message_read(reply, "v", "t", &claim->quota);
		else if (streq(key, "iova-pgsizes"))
			r = sd_bus_message_read(reply, "v", "t", &claim->pgsizes);
		else if (streq(key, "iova-ranges"))
			r = read_iova_ranges(reply, claim);
		else /* a newer broker's addition */
			r = sd_bus_message_skip(reply, "v");
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(reply);
	if (r < 0)
		return r;

	if (!claim->dma_mode)
		return -EBADMSG;
	claim->container_mode = streq(claim->dma_mode, "container");
	if (claim->container_mode && claim->container_fd < 0)
		return -EBADMSG;
	if (!claim->container_mode)
		claim->container_fd = safe_close(claim->container_fd);
	return 0;
}

static int check_claim_args(struct vfioc_client *client, const char *const *devices,
			    size_t n_devices, const struct vfioc_claim_options *opts,
			    struct vfioc_claim_options *ret)
{
	struct vfioc_claim_options o = {.size = sizeof(o)};

	if (!devices || n_devices == 0)
		return client_errorf(client, -EINVAL, VFIOC_ERROR_INVALID_ARGUMENT,
				     "no device to claim");
	for (size_t i = 0; i < n_devices; i++) {
		if (!devices[i] || !*devices[i])
			return client_errorf(client, -EINVAL, VFIOC_ERROR_INVALID_ADDRESS,
					     "device %zu has an empty address", i);
		for (size_t j = 0; j < i; j++)
			if (streq(devices[i], devices[j]))
				return client_errorf(client, -EINVAL, VFIOC_ERROR_INVALID_ARGUMENT,
						     "%s is listed twice", devices[i]);
	}

	if (opts) {
		if (opts->size < CLAIM_OPTIONS_SIZE_0_1)
			return client_errorf(client, -EINVAL, VFIOC_ERROR_INVALID_ARGUMENT,
					     "vfioc_claim_options.size %zu is too small",
					     opts->size);
		/* A newer caller's fields must be zero: they ask for something we cannot do. */
		for (size_t i = sizeof(o); i < opts->size; i++)
			if (((const unsigned char *)opts)[i] != 0)
				return client_errorf(client, -EOPNOTSUPP, NULL,
						     "vfioc_claim_options sets a field at offset "
						     "%zu that this libvfioc does not know",
						     i);
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
		if (o.dma_mode && !*o.dma_mode)
			return client_errorf(client, -EINVAL, VFIOC_ERROR_INVALID_ARGUMENT,
					     "empty dma_mode");
	}
	*ret = o;
	return 0;
}

VFIOC_EXPORT int vfioc_claim(struct vfioc_client *client, const char *const *devices,
			     size_t n_devices, const struct vfioc_claim_options *opts,
			     struct vfioc_claim **ret)
{
	_cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(vfioc_claim_freep) struct vfioc_claim *claim = NULL;
	struct vfioc_claim_options o = {};
	const char *path;
	int r;

	if (!client || !ret)
		return -EINVAL;
	r = check_claim_args(client, devices, n_devices, opts, &o);
	if (r < 0)
		return r;

	r = client_new_method_call(client, VFIOC_MANAGER_PATH, VFIOC_MANAGER_INTERFACE, "Claim",
				   &m);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(m, 'a', "s");
	for (size_t i = 0; r >= 0 && i < n_devices; i++)
		r = sd_bus_message_append_basic(m, 's', devices[i]);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = append_claim_options(m, &o);
	if (r < 0)
		return client_errno(client, r, "building Claim()");

	r = client_call(client, m, &error, &reply);
	if (r < 0)
		return client_bus_error(client, &error, r, "Claim");

	claim = calloc(1, sizeof(*claim));
	if (!claim)
		return client_errno(client, -ENOMEM, "Claim");
	claim->client = client_ref(client);
	claim->container_fd = -EBADF;

	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return client_errno(client, r, "reading the reply of Claim()");
	claim->path = strdup(path);
	if (!claim->path)
		return client_errno(client, -ENOMEM, "Claim");

	/* From here on a failure frees the claim, which tells the broker to release it. */
	r = read_device_fds(reply, claim, devices, n_devices);
	if (r >= 0)
		r = read_dma_context(reply, claim);
	if (r < 0)
		return client_errno(client, r == -ENXIO ? -EBADMSG : r,
				    "reading the reply of Claim()");

	log_debug("claimed %s%s as %s in %s mode", devices[0], n_devices > 1 ? " and more" : "",
		  claim->path, claim->dma_mode);
	events_claim_added(claim);
	*ret = TAKE_PTR(claim);
	return 0;
}

VFIOC_EXPORT const char *vfioc_claim_path(const struct vfioc_claim *claim)
{
	return claim ? claim->path : "";
}

VFIOC_EXPORT size_t vfioc_claim_n_devices(const struct vfioc_claim *claim)
{
	return claim ? claim->n_devices : 0;
}

VFIOC_EXPORT const char *vfioc_claim_device_address(const struct vfioc_claim *claim, size_t i)
{
	if (!claim || i >= claim->n_devices)
		return NULL;
	return claim->devices[i].address;
}

VFIOC_EXPORT int vfioc_claim_device_fd(const struct vfioc_claim *claim, const char *address)
{
	if (!claim || !address)
		return -EINVAL;
	struct vfioc_device *d = claim_find_device(claim, address);
	return d ? d->fd : -ENOENT;
}

VFIOC_EXPORT const char *vfioc_claim_dma_mode(const struct vfioc_claim *claim)
{
	return claim ? claim->dma_mode : "";
}

VFIOC_EXPORT int vfioc_claim_container_fd(const struct vfioc_claim *claim)
{
	if (!claim)
		return -EINVAL;
	return claim->container_mode ? claim->container_fd : -ENOENT;
}

VFIOC_EXPORT size_t vfioc_claim_iova_ranges(const struct vfioc_claim *claim,
					    const struct vfioc_iova_range **ret_ranges)
{
	if (!claim)
		return 0;
	if (ret_ranges)
		*ret_ranges = claim->ranges;
	return claim->n_ranges;
}

VFIOC_EXPORT uint64_t vfioc_claim_iova_pgsizes(const struct vfioc_claim *claim)
{
	return claim ? claim->pgsizes : 0;
}

VFIOC_EXPORT uint64_t vfioc_claim_dma_quota(const struct vfioc_claim *claim)
{
	return claim ? claim->quota : 0;
}

static struct vfioc_irq_set *device_find_irq_set(const struct vfioc_device *d, unsigned index)
{
	for (size_t i = 0; i < d->n_irqs; i++)
		if (d->irqs[i].index == index)
			return &d->irqs[i];
	return NULL;
}

static int read_eventfds(sd_bus_message *reply, unsigned count, int **ret)
{
	_cleanup_free_ int *fds = NULL;
	unsigned n = 0;
	int fd, r;

	if (count > 0) {
		fds = calloc(count, sizeof(int));
		if (!fds)
			return -ENOMEM;
	}

	r = sd_bus_message_enter_container(reply, 'a', "h");
	while (r >= 0 && (r = sd_bus_message_read_basic(reply, 'h', &fd)) > 0) {
		if (n >= count) {
			r = -EBADMSG;
			break;
		}
		fds[n] = dup_cloexec(fd);
		if (fds[n] < 0) {
			r = fds[n];
			break;
		}
		n++;
	}
	if (r >= 0 && n != count)
		r = -EBADMSG;
	if (r >= 0)
		r = sd_bus_message_exit_container(reply);
	if (r < 0) {
		for (unsigned i = 0; i < n; i++)
			safe_close(fds[i]);
		return r;
	}
	*ret = TAKE_PTR(fds);
	return 0;
}

VFIOC_EXPORT int vfioc_claim_set_irqs(struct vfioc_claim *claim, const char *address,
				      unsigned index, unsigned count)
{
	_cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	struct vfioc_device *d;
	struct vfioc_irq_set *s;
	int *fds = NULL;
	int r;

	if (!claim || !address)
		return -EINVAL;
	d = claim_find_device(claim, address);
	if (!d)
		return client_errorf(claim->client, -ENOENT, NULL, "%s is not part of claim %s",
				     address, claim->path);

	/* Room for the new set first, so nothing can fail after the broker answered. */
	s = device_find_irq_set(d, index);
	if (!s) {
		struct vfioc_irq_set *a = reallocarray(d->irqs, d->n_irqs + 1, sizeof(*a));
		if (!a)
			return client_errno(claim->client, -ENOMEM, "SetIrqs");
		d->irqs = a;
		s = &a[d->n_irqs++];
		*s = (struct vfioc_irq_set){.index = index};
	}

	r = client_new_method_call(claim->client, claim->path, VFIOC_CLAIM_INTERFACE, "SetIrqs",
				   &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "suu", address, (uint32_t)index, (uint32_t)count);
	if (r < 0)
		return client_errno(claim->client, r, "building SetIrqs()");

	r = client_call(claim->client, m, &error, &reply);
	if (r < 0)
		return client_bus_error(claim->client, &error, r, "SetIrqs");

	r = read_eventfds(reply, count, &fds);
	if (r < 0)
		return client_errno(claim->client, r == -ENXIO ? -EBADMSG : r,
				    "reading the reply of SetIrqs()");

	irq_set_close(s);
	s->fds = fds;
	s->count = count;
	log_debug("%s IRQ index %u: %u eventfd(s)", address, index, count);
	return 0;
}

VFIOC_EXPORT int vfioc_claim_irq_fd(const struct vfioc_claim *claim, const char *address,
				    unsigned index, unsigned vector)
{
	if (!claim || !address)
		return -EINVAL;
	struct vfioc_device *d = claim_find_device(claim, address);
	if (!d)
		return -ENOENT;
	struct vfioc_irq_set *s = device_find_irq_set(d, index);
	if (!s || vector >= s->count)
		return -ENOENT;
	return s->fds[vector];
}

VFIOC_EXPORT int vfioc_claim_irq_unmask(struct vfioc_claim *claim, const char *address,
					unsigned index, unsigned vector)
{
	struct vfio_irq_set set = {
	    .argsz = sizeof(set),
	    .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
	    .index = index,
	    .start = vector,
	    .count = 1,
	};

	if (!claim || !address)
		return -EINVAL;
	struct vfioc_device *d = claim_find_device(claim, address);
	if (!d)
		return client_errorf(claim->client, -ENOENT, NULL, "%s is not part of claim %s",
				     address, claim->path);
	if (ioctl(d->fd, VFIO_DEVICE_SET_IRQS, &set) < 0)
		return client_errno(claim->client, negative_errno(),
				    "VFIO_DEVICE_SET_IRQS (unmask)");
	return 0;
}
