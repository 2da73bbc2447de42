/* SPDX-License-Identifier: MIT */
/*
 * Brokered DMA bookkeeping: the mappings of one claim's IOVA space and the
 * checks a client's MapDma request must pass before the kernel sees it. Pure
 * logic with no VFIO calls, so it is unit-tested on the host.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "vfio-backend.h"

/* Mappings one claim may hold at once. */
#define DMA_MAX_MAPPINGS 1024

typedef struct DmaMapping {
	uint64_t iova;
	uint64_t size;
	void *vaddr; /* the daemon's mmap of the client's memfd */
} DmaMapping;

typedef struct DmaSpace {
	IovaRange *ranges; /* usable IOVA ranges, as the IOMMU reports them */
	size_t n_ranges;
	uint64_t pgsizes; /* IOMMU page size bitmap; the lowest bit is the alignment */
	uint64_t quota;	  /* bytes that may be mapped at once */
	uint64_t mapped;
	DmaMapping *mappings; /* sorted by iova, never overlapping */
	size_t n_mappings;
} DmaSpace;

/* Frees what the space owns (not the mappings' memory: see claim.c). */
void dma_space_done(DmaSpace *s);

/*
 * Checks that [iova, iova+size) may be mapped: 0, or
 *   -EINVAL  size 0, or iova/size not aligned to the IOMMU page size, or wrapping;
 *   -ERANGE  not inside one usable IOVA range (e.g. the x86 MSI window);
 *   -EEXIST  overlaps an existing mapping;
 *   -EDQUOT  would exceed the quota;
 *   -E2BIG   too many mappings.
 * *ret_reason (may be NULL) gets a sentence for the client on failure.
 */
int dma_space_check(const DmaSpace *s, uint64_t iova, uint64_t size, char **ret_reason);

/* Records a mapping that passed dma_space_check(). */
int dma_space_add(DmaSpace *s, uint64_t iova, uint64_t size, void *vaddr);

/* The mapping that starts at iova with exactly size, or NULL. */
DmaMapping *dma_space_find(const DmaSpace *s, uint64_t iova, uint64_t size);

/* Removes the mapping that starts at iova with exactly size; -ENOENT if none. */
int dma_space_remove(DmaSpace *s, uint64_t iova, uint64_t size, DmaMapping *ret);

/*
 * What the DMA checks need to know of a client's fd, read once per mapping
 * (F_GET_SEALS, F_GETFL, fstat) and shared by dma_memfd_check() and the views
 * (dma-view.h). The file and the access mode of an fd cannot change; only
 * seals can be added later.
 */
typedef struct DmaMemfd {
	int fd;
	int seals;	/* F_GET_SEALS, or its negative errno (not a memfd) */
	int flags;	/* F_GETFL, or its negative errno */
	int stat_error; /* 0, or fstat's negative errno */
	struct stat st;
} DmaMemfd;

void dma_memfd_inspect(int fd, DmaMemfd *ret);

/*
 * Checks that the fd is a memfd sealed against shrinking and at least
 * offset+size long, with offset page-aligned: 0, or -EBADF (not a memfd /
 * not sealed / too small / unaligned), with a reason as above.
 */
int dma_memfd_check(const DmaMemfd *f, uint64_t offset, uint64_t size, uint64_t align,
		    char **ret_reason);
