/* SPDX-License-Identifier: MIT */
/*
 * The daemon's views of a claim's memfds: the mmap of a client memfd range
 * that VFIO_IOMMU_MAP_DMA pins from. Mapping and populating a large buffer
 * costs more than pinning it, and clients map the same buffer again and
 * again, so a view outlives the DMA mapping that made it: a later MapDma of
 * the same range of the same memfd reuses it.
 *
 * A view is found by the memfd's (st_dev, st_ino). That identifies one file
 * for as long as the view exists, because the view's mapping holds a
 * reference to the file, so its inode number cannot be reused. The memfd is
 * sealed against shrinking (dma_memfd_check), so a kept view never loses its
 * pages. Idle views (no DMA mapping uses them) are capped in number and bytes
 * and all views go with the claim.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dma.h"

/* Idle views a claim keeps for reuse; the least recently used goes first. */
#define DMA_VIEW_MAX_IDLE 16

typedef struct DmaView {
	dev_t dev;
	ino_t ino;
	uint64_t offset;
	uint64_t size;
	bool writable;
	void *vaddr;
	unsigned users;	    /* DMA mappings pinned from this view */
	uint64_t last_used; /* DmaViews.clock when last handed out */
} DmaView;

typedef struct DmaViews {
	DmaView *views;
	size_t n_views;
	size_t n_idle;
	uint64_t idle_bytes;
	uint64_t clock;
} DmaViews;

/*
 * Whether a view of the memfd with that protection may be handed out, as
 * inspected: -EACCES when the fd's access mode does not allow it, -EPERM
 * when the memfd is sealed against writes and writable is asked, the
 * inspection's negative errno when fcntl failed, 0 otherwise. mmap(2) would
 * refuse the same.
 */
int dma_views_check(const DmaMemfd *f, bool writable);

/*
 * Returns in *ret_vaddr the daemon's mapping of [offset, offset+size) of the
 * memfd (inspected and checked by dma_memfd_check()), writable if asked: a
 * kept view of the same file and range, or a new one. A kept view is only
 * handed out if the fd itself would allow the same mmap: its access mode,
 * and its write seals read again (they may have been added since). Negative
 * errno as mmap(2) gives it.
 */
int dma_views_get(DmaViews *v, const DmaMemfd *f, uint64_t offset, uint64_t size, bool writable,
		  void **ret_vaddr);

/*
 * The DMA mapping pinned from vaddr is gone. The view stays for reuse while
 * the idle views fit in DMA_VIEW_MAX_IDLE and idle_budget bytes; the least
 * recently used ones are unmapped otherwise.
 */
void dma_views_put(DmaViews *v, void *vaddr, uint64_t idle_budget);

/* Unmaps every view. */
void dma_views_done(DmaViews *v);
