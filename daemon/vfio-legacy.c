/* SPDX-License-Identifier: MIT */
/* The legacy VFIO back end: one type1v2 container per context. */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "log.h"
#include "vfio-backend.h"

/* Groups a context can hold; a client's device cap is lower than this anyway. */
#define CONTEXT_MAX_GROUPS 64

struct VfioContext {
	int dev_fd; /* borrowed /dev directory fd */
	int container_fd;
	int group_ids[CONTEXT_MAX_GROUPS];
	int group_fds[CONTEXT_MAX_GROUPS];
	size_t n_groups;
	bool iommu_set;
};

static int legacy_context_new(int dev_fd, VfioContext **ret)
{
	_cleanup_free_ VfioContext *c = NULL;
	int api;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dev_fd = dev_fd;
	c->container_fd = openat(dev_fd, "vfio/vfio", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (c->container_fd < 0)
		return log_debug_errno(negative_errno(), "Cannot open /dev/vfio/vfio: %m");

	api = ioctl(c->container_fd, VFIO_GET_API_VERSION);
	if (api != VFIO_API_VERSION ||
	    ioctl(c->container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		safe_close(c->container_fd);
		return log_debug_errno(EOPNOTSUPP, "VFIO container lacks API %d with type1v2",
				       VFIO_API_VERSION);
	}
	*ret = TAKE_PTR(c);
	return 0;
}

static VfioContext *legacy_context_free(VfioContext *c)
{
	if (!c)
		return NULL;
	/* Closing a group fd detaches it; the kernel unmaps DMA when the container empties. */
	for (size_t i = 0; i < c->n_groups; i++)
		safe_close(c->group_fds[i]);
	safe_close(c->container_fd);
	free(c);
	return NULL;
}

static int legacy_attach_group(VfioContext *c, int group)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	_cleanup_close_ int fd = -EBADF;
	char path[32];

	if (c->n_groups >= CONTEXT_MAX_GROUPS)
		return -E2BIG;
	for (size_t i = 0; i < c->n_groups; i++)
		if (c->group_ids[i] == group)
			return 0;

	snprintf(path, sizeof(path), "vfio/%d", group);
	fd = openat(c->dev_fd, path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_debug_errno(negative_errno(), "Cannot open /dev/%s: %m", path);
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0)
		return negative_errno();
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EXDEV;
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &c->container_fd) < 0) {
		/* EBUSY here: a member's driver does not let go of DMA ownership. */
		int r = negative_errno();
		return r == -EBUSY ? -EXDEV : r;
	}
	/* The IOMMU model can only be chosen once a group is in the container. */
	if (!c->iommu_set) {
		if (ioctl(c->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
			return negative_errno();
		c->iommu_set = true;
	}
	c->group_ids[c->n_groups] = group;
	c->group_fds[c->n_groups] = TAKE_FD(fd);
	c->n_groups++;
	return 0;
}

static int legacy_open_device(VfioContext *c, int group, const char *address, int *ret_fd)
{
	for (size_t i = 0; i < c->n_groups; i++) {
		if (c->group_ids[i] != group)
			continue;
		/* The kernel returns device fds with O_CLOEXEC set. */
		int fd = ioctl(c->group_fds[i], VFIO_GROUP_GET_DEVICE_FD, address);
		if (fd < 0)
			return negative_errno();
		*ret_fd = fd;
		return 0;
	}
	return -ENOENT;
}

static int legacy_iova_info(VfioContext *c, IovaRange **ret_ranges, size_t *ret_n,
			    uint64_t *ret_pgsizes)
{
	_cleanup_free_ struct vfio_iommu_type1_info *info = NULL;
	_cleanup_free_ IovaRange *ranges = NULL;
	size_t n = 0;
	uint32_t argsz = sizeof(*info);

	/* First call learns the size the capability chain needs. */
	for (int pass = 0; pass < 2; pass++) {
		free(info);
		info = calloc(1, argsz);
		if (!info)
			return -ENOMEM;
		info->argsz = argsz;
		if (ioctl(c->container_fd, VFIO_IOMMU_GET_INFO, info) < 0)
			return negative_errno();
		if (info->argsz <= argsz)
			break;
		if (info->argsz > 65536)
			return -E2BIG;
		argsz = info->argsz;
	}

	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset) {
		uint32_t off = info->cap_offset;
		for (unsigned hops = 0; off && hops < 64; hops++) {
			struct vfio_info_cap_header *hdr;

			if (off < sizeof(*info) || off + sizeof(*hdr) > argsz)
				return -EIO;
			hdr = (struct vfio_info_cap_header *)((uint8_t *)info + off);
			if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
				struct vfio_iommu_type1_info_cap_iova_range *cap = (void *)hdr;
				if (off + sizeof(*cap) > argsz ||
				    off + sizeof(*cap) +
					    (size_t)cap->nr_iovas * sizeof(cap->iova_ranges[0]) >
					argsz)
					return -EIO;
				ranges = calloc(cap->nr_iovas ? cap->nr_iovas : 1, sizeof(*ranges));
				if (!ranges)
					return -ENOMEM;
				for (uint32_t i = 0; i < cap->nr_iovas; i++) {
					ranges[i].start = cap->iova_ranges[i].start;
					ranges[i].last = cap->iova_ranges[i].end;
				}
				n = cap->nr_iovas;
			}
			off = hdr->next;
		}
	}
	if (!ranges) {
		/* Kernels without the capability: the whole 64-bit space. */
		ranges = calloc(1, sizeof(*ranges));
		if (!ranges)
			return -ENOMEM;
		ranges[0] = (IovaRange){0, UINT64_MAX};
		n = 1;
	}
	*ret_ranges = TAKE_PTR(ranges);
	*ret_n = n;
	*ret_pgsizes = (info->flags & VFIO_IOMMU_INFO_PGSIZES) ? info->iova_pgsizes : 4096;
	return 0;
}

static int legacy_map_dma(VfioContext *c, void *vaddr, uint64_t iova, uint64_t size, bool read,
			  bool write)
{
	struct vfio_iommu_type1_dma_map map = {
	    .argsz = sizeof(map),
	    .flags = (read ? VFIO_DMA_MAP_FLAG_READ : 0) | (write ? VFIO_DMA_MAP_FLAG_WRITE : 0),
	    .vaddr = (uint64_t)(uintptr_t)vaddr,
	    .iova = iova,
	    .size = size,
	};
	return ioctl(c->container_fd, VFIO_IOMMU_MAP_DMA, &map) < 0 ? negative_errno() : 0;
}

static int legacy_unmap_dma(VfioContext *c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
	    .argsz = sizeof(unmap),
	    .iova = iova,
	    .size = size,
	};
	return ioctl(c->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0 ? negative_errno() : 0;
}

static int legacy_unmap_all(VfioContext *c)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
	    .argsz = sizeof(unmap),
	    .flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};
	if (!c->iommu_set)
		return 0;
	return ioctl(c->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0 ? negative_errno() : 0;
}

static int legacy_client_fd(VfioContext *c)
{
	return c->container_fd;
}

static int legacy_group_fd(VfioContext *c, int group)
{
	for (size_t i = 0; i < c->n_groups; i++)
		if (c->group_ids[i] == group)
			return c->group_fds[i];
	return -ENOENT;
}

/* Whether fd is the chardev /dev/vfio/GROUP, in a container. */
static int legacy_check_group_fd(int dev_fd, int group, int fd)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	struct stat st, node;
	char path[32];

	snprintf(path, sizeof(path), "vfio/%d", group);
	if (fstat(fd, &st) < 0 || fstatat(dev_fd, path, &node, 0) < 0)
		return negative_errno();
	if (!S_ISCHR(st.st_mode) || st.st_rdev != node.st_rdev)
		return -EBADF;
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0)
		return negative_errno();
	if (!(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
		return -EBADF;
	return 0;
}

static int legacy_context_adopt(int dev_fd, int container_fd, const int *groups,
				const int *group_fds, size_t n, VfioContext **ret)
{
	VfioContext *c;
	int r = 0;

	c = calloc(1, sizeof(*c));
	if (!c)
		r = -ENOMEM;
	else if (n == 0 || n > CONTEXT_MAX_GROUPS)
		r = -E2BIG;
	else if (ioctl(container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		r = -EBADF;
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = legacy_check_group_fd(dev_fd, groups[i], group_fds[i]);
	if (r < 0) {
		free(c);
		safe_close(container_fd);
		for (size_t i = 0; i < n; i++)
			safe_close(group_fds[i]);
		return r;
	}
	c->dev_fd = dev_fd;
	c->container_fd = container_fd;
	/* A group is only in a container once the IOMMU model was set. */
	c->iommu_set = true;
	for (size_t i = 0; i < n; i++) {
		c->group_ids[i] = groups[i];
		c->group_fds[i] = group_fds[i];
	}
	c->n_groups = n;
	*ret = c;
	return 0;
}

const VfioBackendOps vfio_legacy_ops = {
    .name = "legacy",
    .context_new = legacy_context_new,
    .context_free = legacy_context_free,
    .attach_group = legacy_attach_group,
    .open_device = legacy_open_device,
    .iova_info = legacy_iova_info,
    .map_dma = legacy_map_dma,
    .unmap_dma = legacy_unmap_dma,
    .unmap_all = legacy_unmap_all,
    .client_fd = legacy_client_fd,
    .group_fd = legacy_group_fd,
    .context_adopt = legacy_context_adopt,
};
