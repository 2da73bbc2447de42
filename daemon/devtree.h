/* SPDX-License-Identifier: MIT */
/*
 * Device-tree placement of platform devices: for a device-tree node (the
 * of_node of a VFIO platform device), which node, property and entry index
 * each VFIO region and IRQ comes from, read with libfdt from the flattened
 * tree the kernel booted with.
 *
 * Use, for one device whose sysfs of_node resolves to `path`:
 *
 *   DevTree *t; DtDeviceInfo info; char *error = NULL;
 *   r = devtree_load(root_fd, DEVTREE_DEFAULT_PATH, &t, &error);   once, at start
 *   r = devtree_describe(t, path, &info, &error);                  per device
 *   for each VFIO region i (VFIO_DEVICE_GET_REGION_INFO index i):
 *           DtRegionLocation where = {.known = true, .address = ..., .size = ...};
 *           const DtResource *src = devtree_region_source(&info, i, &where);
 *   for each VFIO IRQ index i:
 *           const DtInterrupt *src = devtree_irq_source(&info, i);
 *   dt_device_info_done(&info); devtree_free(t);
 *
 * A NULL source means "no source known": publish nothing rather than a guess.
 *
 * What the functions follow (Linux's drivers/of/address.c and irq.c):
 *
 * - Addresses. A node's `reg` is in its parent's address space, with the
 *   parent's #address-cells and #size-cells. An address is translated to a CPU
 *   physical address by walking up the tree: at each bus, an empty `ranges` is
 *   1:1, a `ranges` entry (child address, parent address, size) whose window
 *   holds the address maps it, a missing `ranges` means the address does not
 *   translate (DtResource.translated is false). Buses with PCI or ISA
 *   addressing (device_type "pci", "pciex" or "isa") are not translated, nor
 *   is `reg` on a bus whose #size-cells is 0 (i2c, spi, cpus), as in the kernel.
 *   Addresses and sizes are 64-bit; one that needs more does not translate.
 *   Cell counts are never inherited or defaulted: a `reg` or `ranges` whose
 *   cell counts are missing is an error, as is #address-cells > 4, #size-cells > 4
 *   or a property length that is not a whole number of entries.
 *
 * - Interrupts. A node's `interrupts-extended` if it has one (each entry a
 *   controller phandle and that controller's #interrupt-cells), else its
 *   `interrupts`, decoded with the #interrupt-cells of its interrupt parent:
 *   the node named by `interrupt-parent`, else the tree parent, repeated until
 *   a node with #interrupt-cells is reached (the kernel's
 *   of_irq_find_parent()). This is the order in which the kernel numbers
 *   platform IRQs, so VFIO IRQ index i is entry i. A node with neither
 *   property takes its direct children's interrupts, child after child in
 *   tree order, as the original VFIO platform proposal describes for a DMA
 *   engine whose channels carry the interrupts.
 *
 * - Regions. The candidates (DtDeviceInfo.resources) are, in this order:
 *   the node's `reg` entries, its `ranges` windows (child-bus window mapped
 *   to CPU addresses), and the `reg` entries of its direct children (through
 *   the node's `ranges`). devtree_region_source() matches a region whose CPU
 *   address is known (from /proc/iomem) by address and size, so windows and
 *   children resolve; a region whose address is not known falls back to the
 *   kernel's order: VFIO region i is `reg` entry i of the node.
 *
 * The flattened tree is the one the kernel booted with: nodes added later by
 * overlays are not in it (devtree_describe() gives -ENOENT; sysfs still names
 * the of_node and its compatible).
 *
 * Trees are untrusted input: sizes and counts are capped, the blob is checked
 * with fdt_check_full() and must hold exactly one root node, and every string
 * handed out (paths, compatible, names) is printable ASCII, so it can go on
 * D-Bus as is. Errors are a negative errno plus, unless it is -ENOMEM or
 * -EINVAL for a bad argument, a message in *ret_error (the caller frees it; it
 * is written only on failure, and only when ret_error is not NULL) fit for a
 * log line: "<origin or node path>: <what is wrong>".
 *
 * Nothing here logs, and a DevTree is only read after loading: any number of
 * threads may describe from one tree.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the kernel publishes the flattened tree, relative to the root directory. */
#define DEVTREE_DEFAULT_PATH "sys/firmware/fdt"

/* Largest tree accepted. Real trees are tens to hundreds of KiB. */
#define DEVTREE_SIZE_MAX (64u * 1024 * 1024)
/* Deepest node accepted (the root is depth 0). Real trees nest fewer than 10 deep. */
#define DEVTREE_DEPTH_MAX 64
/* Longest node path accepted, with its NUL. */
#define DEVTREE_PATH_MAX 4096
/* Most resources, and most interrupts, one devtree_describe() returns. */
#define DEVTREE_ENTRIES_MAX 1024
/* Most cells in one interrupt specifier (the kernel's MAX_PHANDLE_ARGS). */
#define DEVTREE_IRQ_CELLS_MAX 16

typedef struct DevTree DevTree;

typedef enum DtProperty {
	DT_PROPERTY_REG,
	DT_PROPERTY_RANGES,
	DT_PROPERTY_INTERRUPTS,
	DT_PROPERTY_INTERRUPTS_EXTENDED,
} DtProperty;

/* "reg", "ranges", "interrupts", "interrupts-extended"; NULL for an unknown value. */
const char *dt_property_to_string(DtProperty p);

/* One `reg` entry or one `ranges` window. */
typedef struct DtResource {
	char *node;	     /* path of the node holding the property */
	DtProperty property; /* DT_PROPERTY_REG or DT_PROPERTY_RANGES */
	unsigned index;	     /* entry index within the property */
	char *name;	     /* the entry's `reg-names` string, NULL when none */
	bool translated;     /* address is a CPU physical address */
	uint64_t address;    /* CPU physical address when translated, else 0 */
	uint64_t size;	     /* size in bytes; 0 when the bus has no size cells */
} DtResource;

/* One entry of `interrupts` or `interrupts-extended`. */
typedef struct DtInterrupt {
	char *node;	     /* path of the node holding the property */
	DtProperty property; /* DT_PROPERTY_INTERRUPTS or DT_PROPERTY_INTERRUPTS_EXTENDED */
	unsigned index;	     /* entry index within the property */
	char *name;	     /* the entry's `interrupt-names` string, NULL when none */
	char *controller;    /* path of the interrupt parent decoding the specifier */
	uint32_t cells[DEVTREE_IRQ_CELLS_MAX]; /* the specifier, n_cells long */
	unsigned n_cells;
} DtInterrupt;

typedef struct DtDeviceInfo {
	char *path;	       /* canonical node path, e.g. "/soc@ffe000000/sata@220000" */
	char **compatible;     /* NULL-terminated, possibly empty, never NULL after success */
	DtResource *resources; /* candidates for VFIO regions, in the order described above */
	size_t n_resources;
	DtInterrupt *interrupts; /* VFIO IRQ index i is interrupts[i] */
	size_t n_interrupts;
} DtDeviceInfo;

/* Frees what info owns and zeroes it; the struct itself is the caller's. NULL is fine. */
void dt_device_info_done(DtDeviceInfo *info);

/*
 * Reads the flattened tree at `path` (relative to dir_fd, or absolute; in
 * production DEVTREE_DEFAULT_PATH under the root "/"). Returns 0 and *ret, or
 * the errno of open/read (-ENOENT: no such file, as on machines booted without
 * a device tree), -EINVAL when it is not a regular file, -EFBIG when it is
 * larger than DEVTREE_SIZE_MAX, -EBADMSG when it is not a valid tree
 * (truncated, corrupt header or structure, no single root, nested deeper than
 * DEVTREE_DEPTH_MAX), -ENOMEM. Messages start with `path`.
 */
int devtree_load(int dir_fd, const char *path, DevTree **ret, char **ret_error);

/*
 * Like devtree_load() on a copy of size bytes at data; `origin` (may be NULL)
 * starts the messages. The caller keeps data.
 */
int devtree_from_blob(const void *data, size_t size, const char *origin, DevTree **ret,
		      char **ret_error);

/* Frees the tree; NULL is fine. Returns NULL. */
DevTree *devtree_free(DevTree *t);

/*
 * Describes the node at node_path (absolute: "/" and the node names, with or
 * without unit addresses as libfdt matches them; info->path is the canonical
 * path). Returns 0 and *ret (free with dt_device_info_done()), or -EINVAL for
 * a path that is not absolute or longer than DEVTREE_PATH_MAX, -ENOENT when
 * the tree has no such node, -EBADMSG when a property this needs is malformed
 * (wrong length, a missing cell count, a phandle naming no node, no interrupt
 * controller), -ELOOP when an interrupt-parent chain loops, -E2BIG when there
 * are more than DEVTREE_ENTRIES_MAX resources or interrupts, -ENOMEM. *ret is
 * written only on success. A node with no `reg`, `ranges` or interrupts is
 * fine: it simply has no entries.
 */
int devtree_describe(const DevTree *t, const char *node_path, DtDeviceInfo *ret, char **ret_error);

/* What the caller knows about where a VFIO region sits. */
typedef struct DtRegionLocation {
	bool known;	  /* address is the region's CPU physical address */
	uint64_t address; /* ignored unless known */
	uint64_t size;	  /* the region's size; 0 when not known */
} DtRegionLocation;

/*
 * The DT source of VFIO region `region` of the device described by info, or
 * NULL when there is none. The pointer borrows from info.
 *
 * When location is not NULL and known: the first translated resource (in the
 * order of info->resources) at that address whose size equals location->size
 * (any size when location->size is 0); no such resource gives NULL, never a
 * nearby one. Otherwise: `reg` entry number `region` of the node itself, the
 * kernel's order, or NULL when the node has fewer entries.
 */
const DtResource *devtree_region_source(const DtDeviceInfo *info, unsigned region,
					const DtRegionLocation *location);

/* The DT source of VFIO IRQ index `irq`, or NULL when info has no such entry. Borrows from info. */
const DtInterrupt *devtree_irq_source(const DtDeviceInfo *info, unsigned irq);
