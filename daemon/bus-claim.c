/* SPDX-License-Identifier: MIT */
/* io.vfiod.Broker1.Claim on /io/vfiod/Broker1/claim/<id>. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-error.h"
#include "bus-objects.h"
#include "claim.h"
#include "client.h"
#include "log.h"

static Claim *claim_by_path(Manager *m, const char *path)
{
	const char *id_str;
	char *end;
	uint64_t id;
	Claim *c;

	id_str = startswith(path, BROKER_CLAIM_PREFIX "/");
	if (!id_str || !*id_str || *id_str == '0' || *id_str == '+' || *id_str == '-')
		return NULL;
	errno = 0;
	id = strtoull(id_str, &end, 10);
	if (errno || *end)
		return NULL;
	LIST_FOREACH (claims, c, m->claims)
		if (c->id == id)
			return c;
	return NULL;
}

static int claim_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
			     void **ret_found, sd_bus_error *error)
{
	Claim *c = claim_by_path(userdata, path);

	if (!c)
		return 0;
	*ret_found = c;
	return 1;
}

static int claim_node_enumerator(sd_bus *bus, const char *prefix, void *userdata, char ***ret,
				 sd_bus_error *error)
{
	Manager *m = userdata;
	_cleanup_strv_free_ char **l = NULL;
	size_t n = 0;
	Claim *c;

	l = calloc(m->n_claims + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	LIST_FOREACH (claims, c, m->claims) {
		l[n] = strdup(c->path);
		if (!l[n])
			return -ENOMEM;
		n++;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* Only the connection that made a claim may act on it. */
static int claim_check_caller(Claim *c, sd_bus_message *msg, sd_bus_error *error)
{
	sd_bus *bus = sd_bus_message_get_bus(msg);
	Client *holder = c->client;
	bool same;

	if (holder->transport == CLIENT_RESTORED)
		return sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED,
					 "Claim %" PRIu64 " was restored after a vfiod restart and "
					 "belongs to no connection; it ends when its holder exits.",
					 c->id);
	if (holder->transport == CLIENT_PEER)
		same = holder->bus == bus;
	else
		same = bus == c->manager->system_bus &&
		       streq_ptr(holder->bus_name, sd_bus_message_get_sender(msg));
	if (!same)
		return sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED,
					 "Claim %" PRIu64 " belongs to another connection.", c->id);
	return 0;
}

static int method_set_irqs(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Claim *c = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ int *fds = NULL;
	const char *address;
	uint32_t index, count;
	int r;

	r = sd_bus_message_read(msg, "suu", &address, &index, &count);
	if (r < 0)
		return r;
	r = claim_check_caller(c, msg, error);
	if (r < 0)
		return r;
	r = claim_set_irqs(c, address, index, count, &fds, error);
	if (r < 0)
		return r;

	r = sd_bus_message_new_method_return(msg, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "h");
	for (uint32_t i = 0; r >= 0 && i < count; i++)
		r = sd_bus_message_append(reply, "h", fds[i]);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	/* The message holds its own duplicates; the kernel holds the eventfd contexts. */
	for (uint32_t i = 0; i < count; i++)
		safe_close(fds[i]);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int read_map(sd_bus_message *msg, const char *type, void *entry)
{
	ClaimDmaMap *m = entry;
	return sd_bus_message_read(msg, type, &m->memfd, &m->offset, &m->size, &m->iova, &m->flags);
}

static int read_range(sd_bus_message *msg, const char *type, void *entry)
{
	ClaimDmaRange *range = entry;
	return sd_bus_message_read(msg, type, &range->iova, &range->size);
}

/*
 * Reads the one entry of MapDma/UnmapDma (signature `type`) or the array of
 * them of MapDmaBatch/UnmapDmaBatch, into entries (DMA_BATCH_MAX + 1
 * of entry_size bytes). Stops one entry over the cap, which claim_*_dma()
 * refuse: the daemon never holds more.
 */
static int read_entries(sd_bus_message *msg, const char *type,
			int (*read_one)(sd_bus_message *, const char *, void *), void *entries,
			size_t entry_size, size_t *ret_n)
{
	char element[16];
	size_t n = 0;
	int r;

	if (sd_bus_message_get_signature(msg, true)[0] != 'a') {
		*ret_n = 1;
		return read_one(msg, type, entries);
	}
	snprintf(element, sizeof(element), "(%s)", type);
	r = sd_bus_message_enter_container(msg, 'a', element);
	while (r >= 0 && n <= DMA_BATCH_MAX) {
		r = read_one(msg, element, (uint8_t *)entries + n * entry_size);
		if (r > 0)
			n++;
		else
			break;
	}
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

/* MapDma and MapDmaBatch: a batch of one and a batch. */
static int method_map_dma(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Claim *c = userdata;
	ClaimDmaMap maps[DMA_BATCH_MAX + 1];
	size_t n;
	int r;

	r = read_entries(msg, "htttu", read_map, maps, sizeof(*maps), &n);
	if (r < 0)
		return r;
	r = claim_check_caller(c, msg, error);
	if (r < 0)
		return r;
	r = claim_map_dma(c, maps, n, error);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(msg, NULL);
}

/* UnmapDma and UnmapDmaBatch. */
static int method_unmap_dma(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Claim *c = userdata;
	ClaimDmaRange ranges[DMA_BATCH_MAX + 1];
	size_t n;
	int r;

	r = read_entries(msg, "tt", read_range, ranges, sizeof(*ranges), &n);
	if (r < 0)
		return r;
	r = claim_check_caller(c, msg, error);
	if (r < 0)
		return r;
	r = claim_unmap_dma(c, ranges, n, error);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(msg, NULL);
}

static int method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Claim *c = userdata;
	int r;

	r = claim_check_caller(c, msg, error);
	if (r < 0)
		return r;
	claim_free(c);
	return sd_bus_reply_method_return(msg, NULL);
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	Claim *c = userdata;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	for (size_t i = 0; r >= 0 && i < c->n_devices; i++)
		r = sd_bus_message_append(reply, "s", c->devices[i].address);
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_groups(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	Claim *c = userdata;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "u");
	for (size_t i = 0; r >= 0 && i < c->n_groups; i++)
		r = sd_bus_message_append(reply, "u", (uint32_t)c->groups[i]);
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_holder(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	Claim *c = userdata;
	uint32_t v =
	    streq(property, "HolderUid") ? (uint32_t)c->client->uid : (uint32_t)c->client->pid;
	return sd_bus_message_append(reply, "u", v);
}

int bus_append_holder(sd_bus_message *reply, Claim *c)
{
	Client *holder = c ? c->client : NULL;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r < 0 || !holder)
		return r < 0 ? r : sd_bus_message_close_container(reply);
	r = sd_bus_message_append(reply, "{sv}{sv}{sv}", "uid", "u", (uint32_t)holder->uid, "pid",
				  "u", (uint32_t)holder->pid, "claim", "o", c->path);
	if (r >= 0 && holder->unit)
		r = sd_bus_message_append(reply, "{sv}", "unit", "s", holder->unit);
	if (r >= 0 && holder->cgroup)
		r = sd_bus_message_append(reply, "{sv}", "cgroup", "s", holder->cgroup);
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_dma_mode(sd_bus *bus, const char *path, const char *interface,
				 const char *property, sd_bus_message *reply, void *userdata,
				 sd_bus_error *error)
{
	Claim *c = userdata;
	return sd_bus_message_append(reply, "s", dma_mode_to_string(c->dma_mode));
}

static int property_get_dma_mapped(sd_bus *bus, const char *path, const char *interface,
				   const char *property, sd_bus_message *reply, void *userdata,
				   sd_bus_error *error)
{
	Claim *c = userdata;
	return sd_bus_message_append(reply, "t", c->dma.mapped);
}

/* Every method checks that the caller holds the claim, hence UNPRIVILEGED. */
const sd_bus_vtable bus_claim_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Devices", "as", property_get_devices, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("IommuGroups", "au", property_get_groups, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("HolderUid", "u", property_get_holder, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("HolderPid", "u", property_get_holder, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("DmaMode", "s", property_get_dma_mode, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("DmaQuota", "t", NULL, offsetof(Claim, dma_quota),
		    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("DmaMapped", "t", property_get_dma_mapped, 0, 0),
    SD_BUS_METHOD_WITH_ARGS("SetIrqs", SD_BUS_ARGS("s", device, "u", index, "u", count),
			    SD_BUS_RESULT("ah", eventfds), method_set_irqs,
			    SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("MapDma",
			    SD_BUS_ARGS("h", memfd, "t", offset, "t", size, "t", iova, "u", flags),
			    SD_BUS_NO_RESULT, method_map_dma, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("UnmapDma", SD_BUS_ARGS("t", iova, "t", size), SD_BUS_NO_RESULT,
			    method_unmap_dma, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("MapDmaBatch", SD_BUS_ARGS("a(htttu)", mappings), SD_BUS_NO_RESULT,
			    method_map_dma, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("UnmapDmaBatch", SD_BUS_ARGS("a(tt)", ranges), SD_BUS_NO_RESULT,
			    method_unmap_dma, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Release", NULL, NULL, method_release, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_ARGS("Revoked", SD_BUS_ARGS("s", device, "s", reason), 0),
    SD_BUS_VTABLE_END,
};

int bus_claim_add(sd_bus *bus, Manager *m)
{
	int r;

	r = sd_bus_add_fallback_vtable(bus, NULL, BROKER_CLAIM_PREFIX, BROKER_CLAIM_INTERFACE,
				       bus_claim_vtable, claim_object_find, m);
	if (r < 0)
		return r;
	return sd_bus_add_node_enumerator(bus, NULL, BROKER_CLAIM_PREFIX, claim_node_enumerator, m);
}
