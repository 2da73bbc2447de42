/* SPDX-License-Identifier: MIT */
/*
 * DMA in both modes. Brokered: MapDma()/UnmapDma() on the claim object, or
 * MapDmaBatch()/UnmapDmaBatch() for several buffers at once.
 * Container: the library checks what the broker would check, mmaps the memfd
 * range and calls VFIO_IOMMU_MAP_DMA on the container fd itself, keeping the
 * mapping until it is unmapped. The claim tracks mappings in both modes, for
 * vfioc_claim_find_iova() and so unmap can find the address to munmap.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/vfio.h>

#include "dma-batch.h"
#include "vfioc-private.h"

_Static_assert(VFIOC_DMA_BATCH_MAX == DMA_BATCH_MAX, "the broker's batch cap");

/* Both ends inclusive; callers make sure a + size - 1 does not overflow. */
static bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
	return a <= b + (b_size - 1) && b <= a + (a_size - 1);
}

static ssize_t find_mapping(const struct vfioc_claim *claim, uint64_t iova, uint64_t size)
{
	for (size_t i = 0; i < claim->n_mappings; i++)
		if (claim->mappings[i].iova == iova && claim->mappings[i].size == size)
			return (ssize_t)i;
	return -1;
}

static const struct vfioc_mapping *find_overlap(const struct vfioc_claim *claim, uint64_t iova,
						uint64_t size)
{
	for (size_t i = 0; i < claim->n_mappings; i++)
		if (overlaps(iova, size, claim->mappings[i].iova, claim->mappings[i].size))
			return &claim->mappings[i];
	return NULL;
}

/* No ranges reported means no restriction (type1 without the IOVA range capability). */
static bool in_one_range(const struct vfioc_claim *claim, uint64_t iova, uint64_t last)
{
	if (claim->n_ranges == 0)
		return true;
	for (size_t i = 0; i < claim->n_ranges; i++)
		if (iova >= claim->ranges[i].start && last <= claim->ranges[i].last)
			return true;
	return false;
}

static void container_unmap(struct vfioc_claim *claim, const struct vfioc_mapping *m)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
	    .argsz = sizeof(unmap),
	    .iova = m->iova,
	    .size = m->size,
	};

	if (claim->container_fd >= 0 &&
	    ioctl(claim->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		log_debug("VFIO_IOMMU_UNMAP_DMA of 0x%" PRIx64 "+0x%" PRIx64 " failed: %m", m->iova,
			  m->size);
	if (m->vaddr)
		munmap(m->vaddr, m->size);
}

void claim_drop_mappings(struct vfioc_claim *claim)
{
	for (size_t i = 0; i < claim->n_mappings; i++)
		if (claim->container_mode)
			container_unmap(claim, &claim->mappings[i]);
	claim->n_mappings = 0;
	claim->mapped = 0;
}

/* The checks MapDma() makes in the broker, with the same error names. */
static int container_check(struct vfioc_claim *claim, int memfd, uint64_t offset, uint64_t size,
			   uint64_t iova)
{
	struct vfioc_client *c = claim->client;
	uint64_t pg = claim_min_pgsize(claim);
	long sys_pg = sysconf(_SC_PAGESIZE);
	const struct vfioc_mapping *o;
	struct stat st;

	if (sys_pg > 0 && (uint64_t)sys_pg > pg)
		pg = (uint64_t)sys_pg; /* mmap needs page-aligned offsets too */
	if (offset % pg || size % pg)
		return client_errorf(c, -EINVAL, VFIOC_ERROR_INVALID_ARGUMENT,
				     "offset 0x%" PRIx64 " and size 0x%" PRIx64
				     " must be multiples of the page size 0x%" PRIx64,
				     offset, size, pg);
	if (iova % pg)
		return client_errorf(c, -ERANGE, VFIOC_ERROR_BAD_IOVA,
				     "IOVA 0x%" PRIx64
				     " is not a multiple of the IOMMU page size 0x%" PRIx64,
				     iova, pg);
	if (!in_one_range(claim, iova, iova + size - 1))
		return client_errorf(c, -ERANGE, VFIOC_ERROR_BAD_IOVA,
				     "IOVA range 0x%" PRIx64 "-0x%" PRIx64
				     " is not inside one usable IOVA range",
				     iova, iova + size - 1);
	o = find_overlap(claim, iova, size);
	if (o)
		return client_errorf(c, -ERANGE, VFIOC_ERROR_BAD_IOVA,
				     "IOVA range 0x%" PRIx64 "-0x%" PRIx64
				     " overlaps the mapping at 0x%" PRIx64 "-0x%" PRIx64,
				     iova, iova + size - 1, o->iova, o->iova + o->size - 1);
	if (claim->quota > 0 &&
	    (claim->mapped > claim->quota || size > claim->quota - claim->mapped))
		return client_errorf(c, -EDQUOT, VFIOC_ERROR_QUOTA_EXCEEDED,
				     "mapping 0x%" PRIx64
				     " more bytes would exceed the DMA quota of "
				     "0x%" PRIx64 " (0x%" PRIx64 " mapped)",
				     size, claim->quota, claim->mapped);
	if (fstat(memfd, &st) < 0)
		return client_errno(c, negative_errno(), "fstat of the memfd");
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < offset + size)
		return client_errorf(c, -EBADFD, VFIOC_ERROR_BAD_MEMFD,
				     "the memfd has 0x%jx bytes, the mapping needs 0x%" PRIx64,
				     (uintmax_t)st.st_size, offset + size);
	return 0;
}

/* Pins one checked entry: mmaps the memfd range and calls VFIO_IOMMU_MAP_DMA. */
static int container_map(struct vfioc_claim *claim, const struct vfioc_dma_map *e, void **ret_vaddr)
{
	struct vfio_iommu_type1_dma_map map = {
	    .argsz = sizeof(map),
	    .iova = e->iova,
	    .size = e->size,
	};
	void *p;
	int r;

	if (e->flags & VFIOC_DMA_READ)
		map.flags |= VFIO_DMA_MAP_FLAG_READ;
	if (e->flags & VFIOC_DMA_WRITE)
		map.flags |= VFIO_DMA_MAP_FLAG_WRITE;

	/* The device writing the pages needs them pinned writable. */
	p = mmap(NULL, e->size, PROT_READ | (e->flags & VFIOC_DMA_WRITE ? PROT_WRITE : 0),
		 MAP_SHARED, e->memfd, (off_t)e->offset);
	if (p == MAP_FAILED)
		return client_errno(claim->client, negative_errno(), "mmap of the memfd");

	map.vaddr = (uintptr_t)p;
	if (ioctl(claim->container_fd, VFIO_IOMMU_MAP_DMA, &map) < 0) {
		r = negative_errno();
		munmap(p, e->size);
		if (r == -ENOMEM)
			return client_errorf(claim->client, r, NULL,
					     "VFIO_IOMMU_MAP_DMA: %s (is RLIMIT_MEMLOCK big "
					     "enough?)",
					     strerror(-r));
		return client_errno(claim->client, r, "VFIO_IOMMU_MAP_DMA");
	}
	*ret_vaddr = p;
	return 0;
}

/* Names the failing entry of a batch of several in the recorded error; returns r. */
static int batch_failed(struct vfioc_claim *claim, size_t n, size_t i, int r)
{
	if (n > 1)
		client_error_prefix(claim->client, "entry %zu: ", i);
	return r;
}

/*
 * Container mode: checks every entry against the claim and the entries
 * before it (each is recorded, without an address, once checked), then maps
 * them; a refusal undoes what this batch did. The claim has room for n more
 * mappings.
 */
static int container_map_batch(struct vfioc_claim *claim, const struct vfioc_dma_map *maps,
			       size_t n)
{
	struct vfioc_mapping *added = claim->mappings + claim->n_mappings;
	size_t first = claim->n_mappings, i;
	uint64_t mapped = claim->mapped;
	int r;

	for (i = 0; i < n; i++) {
		r = container_check(claim, maps[i].memfd, maps[i].offset, maps[i].size,
				    maps[i].iova);
		if (r < 0)
			goto undo;
		added[i] = (struct vfioc_mapping){.iova = maps[i].iova, .size = maps[i].size};
		claim->n_mappings++;
		claim->mapped += maps[i].size;
	}
	for (i = 0; i < n; i++) {
		r = container_map(claim, maps + i, &added[i].vaddr);
		if (r < 0) {
			for (size_t j = 0; j < i; j++)
				container_unmap(claim, added + j);
			goto undo;
		}
	}
	return 0;
undo:
	claim->n_mappings = first;
	claim->mapped = mapped;
	return batch_failed(claim, n, i, r);
}

/* One entry as MapDma() takes it: "htttu", or "(htttu)" in an array. */
static int append_map(sd_bus_message *m, const char *type, const void *entry)
{
	const struct vfioc_dma_map *e = entry;

	return sd_bus_message_append(m, type, e->memfd, e->offset, e->size, e->iova,
				     (uint32_t)e->flags);
}

static int append_range(sd_bus_message *m, const char *type, const void *entry)
{
	const struct vfioc_dma_range *e = entry;

	return sd_bus_message_append(m, type, e->iova, e->size);
}

/*
 * Calls `single` with the one entry (an older vfiod has no batch methods), or
 * `batch` with the array of n, each entry of signature `type` appended by append.
 */
static int broker_call(struct vfioc_claim *claim, const char *single, const char *batch,
		       const char *type,
		       int (*append)(sd_bus_message *, const char *, const void *),
		       const void *entries, size_t entry_size, size_t n)
{
	_cleanup_bus_message_ sd_bus_message *m = NULL;
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *member = n == 1 ? single : batch;
	char element[16];
	int r;

	r = client_new_method_call(claim->client, claim->path, VFIOC_CLAIM_INTERFACE, member, &m);
	if (r < 0)
		return r;
	snprintf(element, sizeof(element), "(%s)", type);
	if (n == 1)
		r = append(m, type, entries);
	else {
		r = sd_bus_message_open_container(m, 'a', element);
		for (size_t i = 0; r >= 0 && i < n; i++)
			r = append(m, element, (const uint8_t *)entries + i * entry_size);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r < 0)
		return client_errno(claim->client, r, member);
	r = client_call(claim->client, m, &error, NULL);
	if (r < 0)
		return client_bus_error(claim->client, &error, r, member);
	return 0;
}

/* The limits of a batch, the same in both modes. */
static int batch_check(struct vfioc_claim *claim, const void *entries, size_t n)
{
	if (n == 0 || !entries)
		return client_errorf(claim->client, -EINVAL, VFIOC_ERROR_INVALID_ARGUMENT,
				     "the batch has no entries");
	if (n > VFIOC_DMA_BATCH_MAX)
		return client_errorf(claim->client, -E2BIG, VFIOC_ERROR_LIMIT_EXCEEDED,
				     "at most %d entries per batch, not %zu", VFIOC_DMA_BATCH_MAX,
				     n);
	return 0;
}

/* What the library refuses before anything is sent or mapped. */
static int map_args_check(struct vfioc_claim *claim, const struct vfioc_dma_map *e)
{
	if (e->memfd < 0)
		return client_errorf(claim->client, -EBADF, NULL, "no memfd given");
	if (e->size == 0 || (e->flags & ~(VFIOC_DMA_READ | VFIOC_DMA_WRITE)))
		return client_errorf(claim->client, -EINVAL, VFIOC_ERROR_INVALID_ARGUMENT,
				     e->size == 0 ? "size is 0" : "unknown flags 0x%x",
				     e->flags & ~(VFIOC_DMA_READ | VFIOC_DMA_WRITE));
	if (e->offset + e->size < e->offset)
		return client_errorf(claim->client, -EINVAL, VFIOC_ERROR_INVALID_ARGUMENT,
				     "offset + size overflows");
	if (e->iova + (e->size - 1) < e->iova)
		return client_errorf(claim->client, -ERANGE, VFIOC_ERROR_BAD_IOVA,
				     "IOVA + size overflows");
	return 0;
}

VFIOC_EXPORT int vfioc_dma_map_batch(struct vfioc_claim *claim, const struct vfioc_dma_map *maps,
				     size_t n)
{
	struct vfioc_dma_map entries[VFIOC_DMA_BATCH_MAX];
	uint64_t total = 0;
	int r;

	if (!claim)
		return -EINVAL;
	r = batch_check(claim, maps, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = map_args_check(claim, maps + i);
		if (r < 0)
			return batch_failed(claim, n, i, r);
		entries[i] = maps[i];
		entries[i].flags = maps[i].flags ?: VFIOC_DMA_READ | VFIOC_DMA_WRITE;
		total += maps[i].size;
	}

	/* Room to record the mappings first, so nothing can fail once they exist. */
	struct vfioc_mapping *a = reallocarray(claim->mappings, claim->n_mappings + n, sizeof(*a));
	if (!a)
		return client_errno(claim->client, -ENOMEM, "vfioc_dma_map_batch");
	claim->mappings = a;

	if (claim->container_mode)
		return container_map_batch(claim, entries, n);
	r = broker_call(claim, "MapDma", "MapDmaBatch", "htttu", append_map, entries,
			sizeof(*entries), n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		claim->mappings[claim->n_mappings++] =
		    (struct vfioc_mapping){.iova = entries[i].iova, .size = entries[i].size};
	claim->mapped += total;
	log_debug("mapped %zu buffer(s), 0x%" PRIx64 " bytes (%s mode)", n, total, claim->dma_mode);
	return 0;
}

VFIOC_EXPORT int vfioc_dma_map(struct vfioc_claim *claim, int memfd, uint64_t offset, uint64_t size,
			       uint64_t iova, unsigned flags)
{
	const struct vfioc_dma_map m = {
	    .memfd = memfd, .offset = offset, .size = size, .iova = iova, .flags = flags};

	return vfioc_dma_map_batch(claim, &m, 1);
}

/* Removes the record of a mapping that is gone (container mode: and the library's mmap). */
static void forget_mapping(struct vfioc_claim *claim, uint64_t iova, uint64_t size)
{
	ssize_t i = find_mapping(claim, iova, size);

	if (claim->mappings[i].vaddr)
		munmap(claim->mappings[i].vaddr, size);
	claim->mapped -= size;
	claim->mappings[i] = claim->mappings[--claim->n_mappings];
}

VFIOC_EXPORT int vfioc_dma_unmap_batch(struct vfioc_claim *claim,
				       const struct vfioc_dma_range *ranges, size_t n)
{
	int r;

	if (!claim)
		return -EINVAL;
	r = batch_check(claim, ranges, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		bool twice = DMA_BATCH_REPEATS(ranges, i);

		if (twice || find_mapping(claim, ranges[i].iova, ranges[i].size) < 0)
			return batch_failed(
			    claim, n, i,
			    client_errorf(claim->client, -ENOENT, NULL,
					  "no mapping of 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64
					  "%s",
					  ranges[i].size, ranges[i].iova,
					  twice ? " left by the entries before" : ""));
	}

	if (!claim->container_mode) {
		r = broker_call(claim, "UnmapDma", "UnmapDmaBatch", "tt", append_range, ranges,
				sizeof(*ranges), n);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct vfio_iommu_type1_dma_unmap unmap = {
		    .argsz = sizeof(unmap),
		    .iova = ranges[i].iova,
		    .size = ranges[i].size,
		};

		/* The kernel keeps what it refuses to unmap, and so does the record. */
		if (claim->container_mode &&
		    ioctl(claim->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
			return batch_failed(
			    claim, n, i,
			    client_errno(claim->client, negative_errno(), "VFIO_IOMMU_UNMAP_DMA"));
		forget_mapping(claim, ranges[i].iova, ranges[i].size);
	}
	log_debug("unmapped %zu buffer(s)", n);
	return 0;
}

VFIOC_EXPORT int vfioc_dma_unmap(struct vfioc_claim *claim, uint64_t iova, uint64_t size)
{
	const struct vfioc_dma_range range = {.iova = iova, .size = size};

	return vfioc_dma_unmap_batch(claim, &range, 1);
}

static bool align_up(uint64_t x, uint64_t align, uint64_t *ret)
{
	uint64_t r = (x + align - 1) & ~(align - 1);
	if (r < x)
		return false;
	*ret = r;
	return true;
}

VFIOC_EXPORT int vfioc_claim_find_iova(const struct vfioc_claim *claim, uint64_t size,
				       uint64_t last, uint64_t *ret_iova)
{
	static const struct vfioc_iova_range everything = {0, UINT64_MAX};
	const struct vfioc_iova_range *ranges;
	size_t n_ranges;
	uint64_t pg;

	if (!claim || !ret_iova || size == 0)
		return -EINVAL;
	pg = claim_min_pgsize(claim);
	if (size % pg)
		return -EINVAL;

	ranges = claim->n_ranges ? claim->ranges : &everything;
	n_ranges = claim->n_ranges ? claim->n_ranges : 1;
	for (size_t i = 0; i < n_ranges; i++) {
		uint64_t lo, hi = ranges[i].last < last ? ranges[i].last : last;

		if (!align_up(ranges[i].start > pg ? ranges[i].start : pg, pg, &lo))
			continue;
		while (lo <= hi && hi - lo >= size - 1) {
			const struct vfioc_mapping *o = find_overlap(claim, lo, size);
			if (!o) {
				*ret_iova = lo;
				return 0;
			}
			if (o->iova + o->size < o->iova || !align_up(o->iova + o->size, pg, &lo))
				break;
		}
	}
	return -ENOSPC;
}

VFIOC_EXPORT int vfioc_dma_buffer_new(size_t size, int *ret_memfd, void **ret_ptr)
{
	_cleanup_close_ int fd = -EBADF;
	void *p;

	if (size == 0 || !ret_memfd || !ret_ptr)
		return -EINVAL;

	fd = memfd_create("vfioc-dma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return negative_errno();
	if (ftruncate(fd, (off_t)size) < 0)
		return negative_errno();
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return negative_errno();
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return negative_errno();

	*ret_memfd = TAKE_FD(fd);
	*ret_ptr = p;
	return 0;
}
