/* SPDX-License-Identifier: MIT */
/*
 * Brokered DMA of a claim: MapDma/MapDmaBatch and UnmapDma/UnmapDmaBatch.
 * A request is all or nothing. Mapping first checks every entry and reserves
 * its IOVA range in the claim's DmaSpace, so that each later entry is checked
 * against the earlier ones too (overlaps, the quota, the mapping cap); only
 * then does the kernel map them, and if it refuses one, those it mapped
 * before are unmapped again and the reservations dropped.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-error.h"
#include "claim.h"
#include "client.h"
#include "fd-store.h"
#include "log.h"

static const char *dma_error_name(int r)
{
	switch (r) {
	case -EDQUOT:
		return VFIOD_ERROR_QUOTA_EXCEEDED;
	case -E2BIG:
		return VFIOD_ERROR_LIMIT_EXCEEDED;
	case -EBADF:
		return VFIOD_ERROR_BAD_MEMFD;
	default: /* -EINVAL, -ERANGE, -EEXIST: the IOVA is the problem */
		return VFIOD_ERROR_BAD_IOVA;
	}
}

static bool map_writes(const ClaimDmaMap *m)
{
	return !m->flags || (m->flags & 2);
}

/* Sets error `name`, its message starting with the entry's index when the batch has several. */
static int batch_refuse(sd_bus_error *error, const char *name, size_t n, size_t i,
			const char *format, ...) _printf_(5, 6);
static int batch_refuse(sd_bus_error *error, const char *name, size_t n, size_t i,
			const char *format, ...)
{
	_cleanup_free_ char *message = NULL;
	char prefix[32];
	va_list ap;
	int r;

	va_start(ap, format);
	r = vasprintf(&message, format, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return sd_bus_error_setf(error, name, "%s%s", dma_batch_entry_prefix(prefix, n, i),
				 message);
}

static int batch_size_check(Claim *c, size_t n, sd_bus_error *error)
{
	if (c->dma_mode != DMA_MODE_BROKERED)
		return sd_bus_error_setf(error, VFIOD_ERROR_DMA_MODE_NOT_ALLOWED,
					 "Claim %" PRIu64 " uses container DMA: map with "
					 "VFIO_IOMMU_MAP_DMA on the container fd.",
					 c->id);
	if (n == 0)
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
					 "The batch has no entries.");
	if (n > DMA_BATCH_MAX)
		return sd_bus_error_setf(error, VFIOD_ERROR_LIMIT_EXCEEDED,
					 "At most %u entries per batch.", DMA_BATCH_MAX);
	return 0;
}

/*
 * What the kernel must not see: 0, or a negative errno for dma_error_name() with a reason.
 * *f is the memfd as inspected, for map_commit().
 */
static int map_check(Claim *c, const ClaimDmaMap *m, DmaMemfd *f, char **ret_reason)
{
	int r;

	if (m->flags & ~3u) {
		if (asprintf(ret_reason, "unknown MapDma flags 0x%x", m->flags) < 0)
			*ret_reason = NULL;
		return -EINVAL;
	}
	r = dma_space_check(&c->dma, m->iova, m->size, ret_reason);
	if (r < 0)
		return r;
	dma_memfd_inspect(m->memfd, f);
	r = dma_memfd_check(f, m->offset, m->size, c->dma.pgsizes & -c->dma.pgsizes, ret_reason);
	if (r < 0)
		return r;
	r = dma_views_check(f, map_writes(m));
	if (r < 0) {
		if (asprintf(ret_reason, "cannot map the memfd%s: %s",
			     map_writes(m) ? " writable (is it sealed against writes?)" : "",
			     strerror(-r)) < 0)
			*ret_reason = NULL;
		return -EBADF;
	}
	return 0;
}

static void drop_reservations(Claim *c, const ClaimDmaMap *maps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)dma_space_remove(&c->dma, maps[i].iova, maps[i].size, NULL);
}

/*
 * Checks every entry and reserves its range; the reservations have no vaddr
 * yet. fds[i] is entry i's memfd as inspected.
 */
static int map_reserve(Claim *c, const ClaimDmaMap *maps, DmaMemfd *fds, size_t n,
		       sd_bus_error *error)
{
	uint64_t others;
	int r;

	/* The quota spans all of the client's claims. */
	others = c->client->dma_mapped - c->dma.mapped;
	c->dma.quota = c->dma_quota > others ? c->dma_quota - others : 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *reason = NULL;

		r = map_check(c, maps + i, fds + i, &reason);
		if (r >= 0) {
			r = dma_space_add(&c->dma, maps[i].iova, maps[i].size, NULL);
			if (r < 0) {
				drop_reservations(c, maps, i);
				return r;
			}
			continue;
		}
		drop_reservations(c, maps, i);
		log_notice("Claim %" PRIu64 ": refused MapDma from %s: entry %zu of %zu: %s", c->id,
			   c->client->label, i, n, reason ?: strerror(-r));
		return batch_refuse(error, dma_error_name(r), n, i, "%s", reason ?: strerror(-r));
	}
	return 0;
}

/* Gets the daemon's view of the memfd and has the kernel map it at the reserved range. */
static int map_commit(Claim *c, const ClaimDmaMap *m, const DmaMemfd *f)
{
	bool write = map_writes(m), read = !m->flags || (m->flags & 1);
	void *vaddr;
	int r;

	r = dma_views_get(&c->dma_views, f, m->offset, m->size, write, &vaddr);
	if (r < 0)
		return r;
	r = c->manager->backend->map_dma(c->context, vaddr, m->iova, m->size, read, write);
	if (r < 0) {
		dma_views_put(&c->dma_views, vaddr, c->dma_quota);
		return r;
	}
	dma_space_find(&c->dma, m->iova, m->size)->vaddr = vaddr;
	return 0;
}

/* The kernel unmaps m; the daemon's view of the memfd is kept for the next MapDma of it. */
static void mapping_unpin(Claim *c, const DmaMapping *m)
{
	int r;

	r = c->manager->backend->unmap_dma(c->context, m->iova, m->size);
	if (r < 0)
		log_warning_errno(r, "Claim %" PRIu64 ": cannot unmap IOVA 0x%" PRIx64 ": %m",
				  c->id, m->iova);
	dma_views_put(&c->dma_views, m->vaddr, c->dma_quota);
}

/* Undoes map_commit(); the reservation stays. */
static void map_uncommit(Claim *c, const ClaimDmaMap *m)
{
	DmaMapping *d = dma_space_find(&c->dma, m->iova, m->size);

	mapping_unpin(c, d);
	d->vaddr = NULL;
}

int claim_map_dma(Claim *c, const ClaimDmaMap *maps, size_t n, sd_bus_error *error)
{
	DmaMemfd fds[DMA_BATCH_MAX];
	uint64_t total = 0;
	int r;

	r = batch_size_check(c, n, error);
	if (r < 0)
		return r;
	r = map_reserve(c, maps, fds, n, error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = map_commit(c, maps + i, fds + i);
		if (r >= 0) {
			total += maps[i].size;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			map_uncommit(c, maps + j);
		drop_reservations(c, maps, n);
		return batch_refuse(error, VFIOD_ERROR_FAILED, n, i,
				    "The kernel refused to map IOVA 0x%" PRIx64 ": %s",
				    maps[i].iova, strerror(-r));
	}
	c->client->dma_mapped += total;
	claim_store_update(c);
	return 0;
}

int claim_unmap_dma(Claim *c, const ClaimDmaRange *ranges, size_t n, sd_bus_error *error)
{
	uint64_t total = 0;
	int r;

	r = batch_size_check(c, n, error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		bool twice = DMA_BATCH_REPEATS(ranges, i);

		if (twice || !dma_space_find(&c->dma, ranges[i].iova, ranges[i].size))
			return batch_refuse(error, VFIOD_ERROR_BAD_IOVA, n, i,
					    "No mapping starts at IOVA 0x%" PRIx64
					    " with size 0x%" PRIx64 "%s.",
					    ranges[i].iova, ranges[i].size,
					    twice ? " that an earlier entry does not remove" : "");
	}
	for (size_t i = 0; i < n; i++) {
		DmaMapping m;

		(void)dma_space_remove(&c->dma, ranges[i].iova, ranges[i].size, &m);
		mapping_unpin(c, &m);
		total += m.size;
	}
	c->client->dma_mapped -= total;
	claim_store_update(c);
	return 0;
}
