/* SPDX-License-Identifier: MIT */
/*
 * The kernel back end behind one ops table: a VfioContext is one IOVA space
 * with the IOMMU groups attached to it. The legacy back end is a type1v2
 * container (/dev/vfio/vfio + /dev/vfio/N); an iommufd back end (/dev/iommu +
 * VFIO cdev) will implement the same table.
 */
#pragma once

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct VfioContext VfioContext;

typedef struct IovaRange {
	uint64_t start;
	uint64_t last; /* inclusive */
} IovaRange;

typedef struct VfioBackendOps {
	const char *name;

	/* New empty context. dev_fd is a directory fd of /dev (borrowed). */
	int (*context_new)(int dev_fd, VfioContext **ret);
	VfioContext *(*context_free)(VfioContext *c);

	/*
	 * Attaches IOMMU group `group`. -EBUSY when the group is open elsewhere
	 * (another VFIO user, or a previous holder's fds still reference it),
	 * -EXDEV when the kernel says the group is not viable.
	 */
	int (*attach_group)(VfioContext *c, int group);

	/* A new device fd (O_CLOEXEC) for `address` in an attached group. */
	int (*open_device)(VfioContext *c, int group, const char *address, int *ret_fd);

	/* Usable IOVA ranges and the page size bitmap; the array is the caller's. */
	int (*iova_info)(VfioContext *c, IovaRange **ret_ranges, size_t *ret_n,
			 uint64_t *ret_pgsizes);

	int (*map_dma)(VfioContext *c, void *vaddr, uint64_t iova, uint64_t size, bool read,
		       bool write);
	int (*unmap_dma)(VfioContext *c, uint64_t iova, uint64_t size);
	/* Removes every mapping, including those a client made through the handed-out fd. */
	int (*unmap_all)(VfioContext *c);

	/* The fd a client in container mode gets (borrowed; dup it to hand it out). */
	int (*client_fd)(VfioContext *c);

	/* The fd of attached group `group` (borrowed), or -ENOENT: kept in the fd store. */
	int (*group_fd)(VfioContext *c, int group);

	/*
	 * A context from the fds a previous vfiod kept in the fd store: the
	 * container and its attached groups. Checks that each fd is what it
	 * claims to be (the group's chardev, attached to a container) and takes
	 * them all, on failure too.
	 */
	int (*context_adopt)(int dev_fd, int container_fd, const int *groups, const int *group_fds,
			     size_t n, VfioContext **ret);
} VfioBackendOps;

extern const VfioBackendOps vfio_legacy_ops;
