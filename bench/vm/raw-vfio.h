/* SPDX-License-Identifier: MIT */
/*
 * The baseline of the benchmarks: what a root process does with raw VFIO
 * ioctls to get a ready device, without vfiod (the legacy container/group
 * interface, type1v2 IOMMU).
 */
#pragma once

#include <stdint.h>

typedef struct RawDevice {
	int container;
	int group;
	int device;
	int irq_fd; /* eventfd of the IRQ wired by raw_device_set_irq(), or -1 */
} RawDevice;

/*
 * Opens container and group of PCI device bdf, sets the container and the
 * type1v2 IOMMU, gets the device fd and reads the device's info, every
 * region's info and every IRQ's info, as a client that knows nothing yet
 * must. Returns 0 or a negative errno (-EXDEV: the group is not viable).
 */
int raw_device_open(const char *bdf, RawDevice *ret);

/* A new eventfd wired to vector 0 of IRQ index (VFIO_DEVICE_SET_IRQS, trigger); replaces and
 * closes the previous one. */
int raw_device_set_irq(RawDevice *d, uint32_t index);

/* Disables IRQ index (count 0) and closes its eventfd. */
int raw_device_clear_irq(RawDevice *d, uint32_t index);

/* VFIO_IRQ_SET_ACTION_UNMASK of vector 0 of index, for an automasked INTx. */
int raw_irq_unmask(int device_fd, uint32_t index);

/* Closes every fd and sets it to -EBADF; safe on a half-opened RawDevice (unused fds negative). */
void raw_device_close(RawDevice *d);
