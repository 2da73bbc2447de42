/* SPDX-License-Identifier: MIT */
/*
 * What the daemon, libvfioc and the test broker share about DMA batches
 * (MapDmaBatch/UnmapDmaBatch in io.vfiod.Broker1(5)). Header-only: libvfioc
 * takes nothing else from common/ but util.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Entries per MapDmaBatch/UnmapDmaBatch call (far below SCM_MAX_FD for the memfds). */
#define DMA_BATCH_MAX 64u

/*
 * Whether entry i of an array of structs with iova and size fields names the
 * same range as an earlier entry: an unmap batch removes each mapping once.
 */
#define DMA_BATCH_REPEATS(entries, i)                                                              \
	({                                                                                         \
		bool _repeats = false;                                                             \
		for (size_t _j = 0; _j < (i); _j++)                                                \
			_repeats = _repeats || ((entries)[_j].iova == (entries)[i].iova &&         \
						(entries)[_j].size == (entries)[i].size);          \
		_repeats;                                                                          \
	})

/* "entry 3: ", what an error about entry i of a batch of n starts with; "" when n < 2. */
static inline const char *dma_batch_entry_prefix(char buf[static 32], size_t n, size_t i)
{
	if (n < 2)
		return "";
	snprintf(buf, 32, "entry %zu: ", i);
	return buf;
}
