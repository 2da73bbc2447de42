/* SPDX-License-Identifier: MIT */
#include "vfio-device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "util.h"

int vfio_device_get_info(int device_fd, struct vfio_device_info *ret)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};

	if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &info) < 0)
		return negative_errno();
	*ret = info;
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

const char *vfio_pci_irq_name(unsigned index)
{
	static const char *const names[] = {
	    [VFIO_PCI_INTX_IRQ_INDEX] = "INTx",	 [VFIO_PCI_MSI_IRQ_INDEX] = "MSI",
	    [VFIO_PCI_MSIX_IRQ_INDEX] = "MSI-X", [VFIO_PCI_ERR_IRQ_INDEX] = "ERR",
	    [VFIO_PCI_REQ_IRQ_INDEX] = "REQ",
	};
	return index < ELEMENTSOF(names) ? names[index] : NULL;
}
