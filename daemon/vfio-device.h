/* SPDX-License-Identifier: MIT */
/* Operations on a VFIO device fd; the same for every back end. */
#pragma once

#include <linux/vfio.h>
#include <stdbool.h>
#include <stddef.h>

int vfio_device_get_info(int device_fd, struct vfio_device_info *ret);
int vfio_device_get_irq_info(int device_fd, unsigned index, struct vfio_irq_info *ret);

/* Wires fds[0..count-1] as the triggers of vectors 0..count-1 of IRQ `index`. */
int vfio_device_set_irq_eventfds(int device_fd, unsigned index, const int *fds, size_t count);

/* Disables IRQ `index` (trigger with count 0). */
int vfio_device_disable_irqs(int device_fd, unsigned index);

/* Function-level reset; -ENOTTY when the device cannot be reset. */
int vfio_device_reset(int device_fd);

/* The VFIO IRQ index name for PCI devices ("INTx", "MSI", ...) or NULL. */
const char *vfio_pci_irq_name(unsigned index);
