/* SPDX-License-Identifier: MIT */
/* Operations on a VFIO device fd; the same for every back end. */
#pragma once

#include <linux/vfio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest buffer an INFO ioctl may ask for (fixed part plus capability chain). */
#define VFIO_INFO_ARGSZ_MAX (64u * 1024)

/* VFIO_DEVICE_GET_INFO without the capability chain. */
int vfio_device_get_info(int device_fd, struct vfio_device_info *ret);

/*
 * VFIO_DEVICE_GET_INFO and VFIO_DEVICE_GET_REGION_INFO with their capability
 * chains: the first call has argsz = sizeof the fixed struct, then the buffer
 * grows to the argsz the kernel asks for and the call is repeated. *ret is a
 * zeroed malloc'd buffer of *ret_size bytes that starts with the fixed struct
 * (the caller frees it). Errors: the ioctl's errno (EINVAL for an index the
 * device does not have), -E2BIG when the kernel asks for more than
 * VFIO_INFO_ARGSZ_MAX, -EAGAIN when it keeps asking for more, -ENOMEM.
 */
int vfio_device_get_info_caps(int device_fd, struct vfio_device_info **ret, size_t *ret_size);
int vfio_device_get_region_info(int device_fd, uint32_t index, struct vfio_region_info **ret,
				size_t *ret_size);
/*
 * The identity a PCI device reports in its own config space, read through
 * the device fd: vendor and device ids and the 24-bit class code. What the
 * kernel hands out is the device this fd is, whatever sysfs said before it
 * was opened. Returns 0, -EIO for a short read, or a negative errno.
 */
int vfio_pci_read_identity(int device_fd, uint16_t *ret_vendor, uint16_t *ret_device,
			   uint32_t *ret_class);

int vfio_device_get_irq_info(int device_fd, unsigned index, struct vfio_irq_info *ret);

/* Wires fds[0..count-1] as the triggers of vectors 0..count-1 of IRQ `index`. */
int vfio_device_set_irq_eventfds(int device_fd, unsigned index, const int *fds, size_t count);

/* Disables IRQ `index` (trigger with count 0). */
int vfio_device_disable_irqs(int device_fd, unsigned index);

/* Function-level reset; -ENOTTY when the device cannot be reset. */
int vfio_device_reset(int device_fd);

/* The VFIO region index name for PCI devices ("BAR0".."BAR5", "ROM", "CONFIG", "VGA") or NULL. */
const char *vfio_pci_region_name(unsigned index);

/* The VFIO IRQ index name for PCI devices ("INTx", "MSI", ...) or NULL. */
const char *vfio_pci_irq_name(unsigned index);
