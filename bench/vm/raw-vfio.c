/* SPDX-License-Identifier: MIT */
#include "raw-vfio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"

/* Large enough for the capability chains of real devices; the kernel says when it is not. */
#define INFO_BUFFER_SIZE 4096

static int group_of(const char *bdf, unsigned *ret)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	char *end;
	unsigned long g;
	ssize_t n;

	if (strchr(bdf, '/') || strlen(bdf) > 32)
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return negative_errno();
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	errno = 0;
	g = strtoul(base, &end, 10);
	if (errno || *end || end == base || g > UINT_MAX)
		return -EBADMSG;
	*ret = (unsigned)g;
	return 0;
}

/* Every region's and IRQ's info, with the capability chains a region may have. */
static int read_infos(int device, const struct vfio_device_info *info)
{
	static _Alignas(8) uint8_t buf[INFO_BUFFER_SIZE];

	for (uint32_t i = 0; i < info->num_regions; i++) {
		struct vfio_region_info *r = (struct vfio_region_info *)buf;

		*r = (struct vfio_region_info){.argsz = sizeof(buf), .index = i};
		/* EINVAL: an index the device does not have (VGA on a non-VGA device). */
		if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, r) < 0 && errno != EINVAL)
			return negative_errno();
		if (r->argsz > sizeof(buf))
			return -E2BIG;
	}
	for (uint32_t i = 0; i < info->num_irqs; i++) {
		struct vfio_irq_info irq = {.argsz = sizeof(irq), .index = i};

		if (ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &irq) < 0 && errno != EINVAL)
			return negative_errno();
	}
	return 0;
}

int raw_device_open(const char *bdf, RawDevice *ret)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	struct vfio_device_info info = {.argsz = sizeof(info)};
	RawDevice d = {.container = -EBADF, .group = -EBADF, .device = -EBADF, .irq_fd = -EBADF};
	char path[64];
	unsigned group;
	int r;

	r = group_of(bdf, &group);
	if (r < 0)
		return r;
	d.container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (d.container < 0)
		return negative_errno();
	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	d.group = open(path, O_RDWR | O_CLOEXEC);
	if (d.group < 0)
		goto fail;
	if (ioctl(d.group, VFIO_GROUP_GET_STATUS, &status) < 0)
		goto fail;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EXDEV;
		goto fail;
	}
	if (ioctl(d.group, VFIO_GROUP_SET_CONTAINER, &d.container) < 0)
		goto fail;
	if (ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		goto fail;
	d.device = ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (d.device < 0)
		goto fail;
	if (ioctl(d.device, VFIO_DEVICE_GET_INFO, &info) < 0)
		goto fail;
	r = read_infos(d.device, &info);
	if (r < 0) {
		raw_device_close(&d);
		return r;
	}
	*ret = d;
	return 0;
fail:
	r = negative_errno();
	raw_device_close(&d);
	return r;
}

static int set_irqs(int device, uint32_t index, uint32_t flags, uint32_t count, int fd)
{
	struct {
		struct vfio_irq_set set;
		int32_t fd;
	} s = {
	    .set = {.argsz = sizeof(s.set), .flags = flags, .index = index, .count = count},
	    .fd = fd,
	};

	if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
		s.set.argsz = sizeof(s);
	return ioctl(device, VFIO_DEVICE_SET_IRQS, &s) < 0 ? negative_errno() : 0;
}

int raw_device_set_irq(RawDevice *d, uint32_t index)
{
	_cleanup_close_ int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int r;

	if (fd < 0)
		return negative_errno();
	r = set_irqs(d->device, index, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 1,
		     fd);
	if (r < 0)
		return r;
	safe_close(d->irq_fd);
	d->irq_fd = TAKE_FD(fd);
	return 0;
}

int raw_device_clear_irq(RawDevice *d, uint32_t index)
{
	int r =
	    set_irqs(d->device, index, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, -1);

	d->irq_fd = safe_close(d->irq_fd);
	return r;
}

int raw_irq_unmask(int device_fd, uint32_t index)
{
	return set_irqs(device_fd, index, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, 1,
			-1);
}

void raw_device_close(RawDevice *d)
{
	d->irq_fd = safe_close(d->irq_fd);
	d->device = safe_close(d->device);
	d->group = safe_close(d->group);
	d->container = safe_close(d->container);
}
