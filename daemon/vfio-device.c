/* SPDX-License-Identifier: MIT */
#include "vfio-device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"

int vfio_device_get_info(int device_fd, struct vfio_device_info *ret)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};

	if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &info) < 0)
		return negative_errno();
	*ret = info;
	return 0;
}

/*
 * One INFO ioctl whose buffer starts with `fixed` (argsz first), grown to the
 * argsz the kernel reports. A kernel answers an argsz too small for the chain
 * with success, the argsz it needs and no chain; with a large enough argsz it
 * leaves argsz alone. A device can gain capabilities between two calls (a
 * driver change), hence a few attempts rather than exactly two.
 */
static int info_ioctl_grow(int fd, unsigned long request, const void *fixed, size_t fixed_size,
			   void **ret, size_t *ret_size)
{
	size_t size = fixed_size;

	for (unsigned attempt = 0; attempt < 4; attempt++) {
		_cleanup_free_ void *buf = calloc(1, size);
		uint32_t argsz = (uint32_t)size;

		if (!buf)
			return -ENOMEM;
		memcpy(buf, fixed, fixed_size);
		memcpy(buf, &argsz, sizeof(argsz));
		if (ioctl(fd, request, buf) < 0)
			return negative_errno();
		memcpy(&argsz, buf, sizeof(argsz));
		if (argsz <= size) {
			*ret = TAKE_PTR(buf);
			*ret_size = size;
			return 0;
		}
		if (argsz > VFIO_INFO_ARGSZ_MAX)
			return -E2BIG;
		size = argsz;
	}
	return -EAGAIN;
}

int vfio_device_get_info_caps(int device_fd, struct vfio_device_info **ret, size_t *ret_size)
{
	struct vfio_device_info fixed = {.argsz = sizeof(fixed)};

	return info_ioctl_grow(device_fd, VFIO_DEVICE_GET_INFO, &fixed, sizeof(fixed), (void **)ret,
			       ret_size);
}

int vfio_device_get_region_info(int device_fd, uint32_t index, struct vfio_region_info **ret,
				size_t *ret_size)
{
	struct vfio_region_info fixed = {.argsz = sizeof(fixed), .index = index};

	return info_ioctl_grow(device_fd, VFIO_DEVICE_GET_REGION_INFO, &fixed, sizeof(fixed),
			       (void **)ret, ret_size);
}

int vfio_pci_read_identity(int device_fd, uint16_t *ret_vendor, uint16_t *ret_device,
			   uint32_t *ret_class)
{
	struct vfio_region_info info = {.argsz = sizeof(info),
					.index = VFIO_PCI_CONFIG_REGION_INDEX};
	uint8_t h[12]; /* vendor, device, command, status, revision, class */
	ssize_t n;

	if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
		return negative_errno();
	if (info.size < sizeof(h))
		return -EIO;
	n = pread(device_fd, h, sizeof(h), (off_t)info.offset);
	if (n < 0)
		return negative_errno();
	if ((size_t)n != sizeof(h))
		return -EIO;
	/* Config space is little-endian. */
	*ret_vendor = (uint16_t)(h[0] | h[1] << 8);
	*ret_device = (uint16_t)(h[2] | h[3] << 8);
	*ret_class = (uint32_t)h[9] | (uint32_t)h[10] << 8 | (uint32_t)h[11] << 16;
	return 0;
}

int vfio_device_get_irq_info(int device_fd, unsigned index, struct vfio_irq_info *ret)
{
	struct vfio_irq_info info = {.argsz = sizeof(info), .index = index};

	if (ioctl(device_fd, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0)
		return negative_errno();
	*ret = info;
	return 0;
}

int vfio_device_set_irq_eventfds(int device_fd, unsigned index, const int *fds, size_t count)
{
	_cleanup_free_ struct vfio_irq_set *set = NULL;
	size_t size = sizeof(*set) + count * sizeof(int32_t);

	set = calloc(1, size);
	if (!set)
		return -ENOMEM;
	set->argsz = size;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = 0;
	set->count = count;
	memcpy(set->data, fds, count * sizeof(int32_t));
	return ioctl(device_fd, VFIO_DEVICE_SET_IRQS, set) < 0 ? negative_errno() : 0;
}

int vfio_device_disable_irqs(int device_fd, unsigned index)
{
	struct vfio_irq_set set = {
	    .argsz = sizeof(set),
	    .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
	    .index = index,
	    .start = 0,
	    .count = 0,
	};
	return ioctl(device_fd, VFIO_DEVICE_SET_IRQS, &set) < 0 ? negative_errno() : 0;
}

int vfio_device_reset(int device_fd)
{
	struct vfio_device_info info;
	int r;

	r = vfio_device_get_info(device_fd, &info);
	if (r < 0)
		return r;
	if (!(info.flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTTY;
	return ioctl(device_fd, VFIO_DEVICE_RESET) < 0 ? negative_errno() : 0;
}

const char *vfio_pci_region_name(unsigned index)
{
	static const char *const names[] = {
	    [VFIO_PCI_BAR0_REGION_INDEX] = "BAR0", [VFIO_PCI_BAR1_REGION_INDEX] = "BAR1",
	    [VFIO_PCI_BAR2_REGION_INDEX] = "BAR2", [VFIO_PCI_BAR3_REGION_INDEX] = "BAR3",
	    [VFIO_PCI_BAR4_REGION_INDEX] = "BAR4", [VFIO_PCI_BAR5_REGION_INDEX] = "BAR5",
	    [VFIO_PCI_ROM_REGION_INDEX] = "ROM",   [VFIO_PCI_CONFIG_REGION_INDEX] = "CONFIG",
	    [VFIO_PCI_VGA_REGION_INDEX] = "VGA",
	};
	return index < ELEMENTSOF(names) ? names[index] : NULL;
}

const char *vfio_pci_irq_name(unsigned index)
{
	static const char *const names[] = {
	    [VFIO_PCI_INTX_IRQ_INDEX] = "INTx",	 [VFIO_PCI_MSI_IRQ_INDEX] = "MSI",
	    [VFIO_PCI_MSIX_IRQ_INDEX] = "MSI-X", [VFIO_PCI_ERR_IRQ_INDEX] = "ERR",
	    [VFIO_PCI_REQ_IRQ_INDEX] = "REQ",
	};
	return index < ELEMENTSOF(names) ? names[index] : NULL;
}
