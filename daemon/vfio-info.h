/* SPDX-License-Identifier: MIT */
/*
 * Everything a VFIO device fd tells about its device, as data: the device
 * flags and capability ids, every region (size, offset, flags, capability
 * chain: sparse mmap areas, type/subtype, MSI-X mappable, other ids) and
 * every IRQ index (count, flags). Plus the names to show them with.
 *
 * Reading needs the device fd only and changes nothing on the device: the
 * INFO ioctls have no side effect (vfio-pci's ROM probe enables memory
 * decode for a moment and restores it).
 */
#pragma once

#include <linux/vfio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Caps on what the kernel reports (vfio-pci has 9 regions plus a few
 * device-specific ones, 5 IRQ indexes, at most 3 capabilities a region). */
#define VFIO_INFO_MAX_REGIONS 256
#define VFIO_INFO_MAX_IRQS    256
#define VFIO_CAPS_MAX	      32 /* capabilities in one chain */
#define VFIO_SPARSE_AREAS_MAX 64 /* areas in one sparse mmap capability */

/*
 * <linux/vfio.h> defines VFIO_REGION_TYPE_PCI_VENDOR_TYPE as (1 << 31), which
 * overflows int (undefined behaviour, caught by UBSan): use this instead.
 */
#define VFIO_REGION_TYPE_PCI_VENDOR_BIT UINT32_C(0x80000000)

/* Newer than some <linux/vfio.h> this may be built with. */
#ifndef VFIO_DEVICE_FLAGS_CDX
#define VFIO_DEVICE_FLAGS_CDX (1 << 8)
#endif
#ifndef VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP
#define VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP 5
#endif

/* One capability of a chain, where it sits in the INFO buffer. */
typedef struct VfioCap {
	uint16_t id;
	uint16_t version;
	uint32_t offset; /* of its header */
	uint32_t size;	 /* up to the next capability, or to the end of the buffer */
} VfioCap;

/*
 * Walks the capability chain of an INFO buffer (the whole ioctl buffer,
 * `size` bytes, whose fixed struct is `fixed_size` bytes) from
 * `first_offset` (0: no chain). Pure; reads the buffer only through memcpy,
 * so it need not be aligned. The kernel builds chains by appending
 * (vfio_info_cap_add), so every capability lies after the previous one's
 * header; anything else is refused:
 *   -EBADMSG: an offset inside the fixed struct, not 4-byte aligned (the
 *             header's alignment; kernels >= 6.6 align to 8), a header that
 *             does not fit in the buffer, a next offset that does not point
 *             past the current header (this also rules out loops);
 *   -E2BIG:   more than VFIO_CAPS_MAX capabilities.
 * Fills caps[0..*ret_n-1] on success.
 */
int vfio_caps_walk(const void *buf, size_t size, size_t fixed_size, uint32_t first_offset,
		   VfioCap caps[static VFIO_CAPS_MAX], size_t *ret_n);

typedef struct VfioSparseArea {
	uint64_t offset; /* within the region */
	uint64_t size;
} VfioSparseArea;

/* What a region's capability chain says. */
typedef struct VfioRegionCaps {
	uint16_t ids[VFIO_CAPS_MAX]; /* every capability id, in chain order, known or not */
	size_t n_ids;
	bool has_sparse;	/* VFIO_REGION_INFO_CAP_SPARSE_MMAP: mmap only the areas */
	VfioSparseArea *sparse; /* owned; NULL when there are no areas */
	size_t n_sparse;
	bool has_type; /* VFIO_REGION_INFO_CAP_TYPE */
	uint32_t type;
	uint32_t subtype;
	bool msix_mappable; /* VFIO_REGION_INFO_CAP_MSIX_MAPPABLE */
} VfioRegionCaps;

/*
 * Parses the capability chain of a VFIO_DEVICE_GET_REGION_INFO buffer
 * (`size` bytes starting with struct vfio_region_info) from `first_offset`
 * (0: no chain) into *ret, which the caller releases with
 * vfio_region_caps_done(). Pure. Besides vfio_caps_walk()'s errors:
 * -EBADMSG for a known capability that does not fit before the next one (or
 * the end of the buffer) or that appears twice, -E2BIG for more than
 * VFIO_SPARSE_AREAS_MAX sparse areas, -ENOMEM. *ret is untouched on error.
 * Unknown ids are kept in ids[] only; versions are not checked (version 1
 * layouts are read, as QEMU does).
 */
int vfio_region_caps_parse(const void *buf, size_t size, uint32_t first_offset,
			   VfioRegionCaps *ret);
void vfio_region_caps_done(VfioRegionCaps *caps);

typedef struct VfioRegion {
	uint32_t index;
	/* The kernel refused the index (EINVAL): vfio-pci does so for the VGA
	 * region of a device that is not VGA. size, offset and flags are then
	 * 0. A BAR or ROM the device does not implement is NOT absent: vfio-pci
	 * reports it with size 0, flags 0 and its fixed offset, as read here. */
	bool absent;
	uint32_t flags; /* VFIO_REGION_INFO_FLAG_*, as reported (CAPS included) */
	uint64_t size;
	uint64_t offset; /* of the region in the device fd */
	VfioRegionCaps caps;
} VfioRegion;

typedef struct VfioIrq {
	uint32_t index;
	/* The kernel refused the index (EINVAL): vfio-pci does so for ERR on a
	 * device without a PCI Express capability. count and flags are 0. An
	 * index with count 0 (MSI-X on a device without it) is not absent. */
	bool absent;
	uint32_t flags; /* VFIO_IRQ_INFO_* */
	uint32_t count;
} VfioIrq;

typedef struct VfioInfo {
	uint32_t flags;			 /* VFIO_DEVICE_FLAGS_* */
	uint16_t cap_ids[VFIO_CAPS_MAX]; /* VFIO_DEVICE_GET_INFO chain, ids in chain order */
	size_t n_cap_ids;
	VfioRegion *regions; /* regions[i].index == i, n_regions == num_regions */
	size_t n_regions;
	VfioIrq *irqs; /* irqs[i].index == i, n_irqs == num_irqs */
	size_t n_irqs;
} VfioInfo;

/*
 * Reads everything from the device fd `device_fd` (borrowed). Region and IRQ
 * indexes the kernel refuses with EINVAL are recorded as absent; any other
 * failure fails the read. Errors: the ioctls' errno, -E2BIG when the kernel
 * reports more than VFIO_INFO_MAX_REGIONS regions or VFIO_INFO_MAX_IRQS IRQ
 * indexes (or a chain beyond the caps above), -EBADMSG for a malformed
 * capability chain, -ENOMEM. *ret (the caller's, free with vfio_info_free())
 * is set on success only.
 */
int vfio_info_read(int device_fd, VfioInfo **ret);
VfioInfo *vfio_info_free(VfioInfo *info);
DEFINE_TRIVIAL_CLEANUP_FUNC(VfioInfo *, vfio_info_free)

/* --- names, for display ------------------------------------------------- */

/* Longest name vfio_region_name() writes, with the NUL. */
#define VFIO_REGION_NAME_MAX 32

/*
 * A region's name: for a PCI device (pci true) the fixed indexes are "BAR0"
 * .. "BAR5", "ROM", "CONFIG", "VGA"; other regions are named by their type
 * capability ("IGD OpRegion", "EDID", ...) when it is known, else
 * "region N" (written into buf). Returns a static string or buf.
 */
const char *vfio_region_name(const VfioRegion *region, bool pci,
			     char buf[static VFIO_REGION_NAME_MAX]);

/* "Intel", "NVIDIA", "IBM" for PCI vendor types; "graphics", "CCW",
 * "migration (deprecated)"; NULL when unknown. */
const char *vfio_region_type_name(uint32_t type);
/* "IGD OpRegion", "IGD host bridge config", "IGD LPC config", "NVLink2 RAM",
 * "NVLink2 ATSD", "EDID", "CCW async command", "CCW SCHIB", "CCW CRW",
 * "migration (deprecated)"; NULL when unknown. */
const char *vfio_region_subtype_name(uint32_t type, uint32_t subtype);

/* "sparse-mmap", "type", "msix-mappable", "nvlink2-ssatgt", "nvlink2-lnkspd"; NULL when unknown. */
const char *vfio_region_cap_name(uint16_t id);
/* "zpci-base", "zpci-group", "zpci-util", "zpci-pfip", "pci-atomic-comp"; NULL when unknown. */
const char *vfio_device_cap_name(uint16_t id);

/*
 * Flag bits as a NULL-terminated list of names, lowest bit first; bits
 * without a name appear as "0x..." (one entry each). *ret is the caller's
 * (strv_free()). Returns 0 or -ENOMEM.
 *   device: "reset" "pci" "platform" "amba" "ccw" "ap" "fsl-mc" "caps" "cdx"
 *   region: "read" "write" "mmap" "caps"
 *   IRQ:    "eventfd" "maskable" "automasked" "noresize"
 */
int vfio_device_flags_strv(uint32_t flags, char ***ret);
int vfio_region_flags_strv(uint32_t flags, char ***ret);
int vfio_irq_flags_strv(uint32_t flags, char ***ret);
