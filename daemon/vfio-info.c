/* SPDX-License-Identifier: MIT */
#include "vfio-info.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-device.h"

/* PCI vendor ids of the vendor-specific region types (<linux/pci_ids.h> is not uapi). */
#define PCI_VENDOR_INTEL  0x8086
#define PCI_VENDOR_NVIDIA 0x10de
#define PCI_VENDOR_IBM	  0x1014

/* struct vfio_device_info up to cap_offset: newer headers add 4 bytes of
 * padding, older kernels put the first capability right after cap_offset. */
#define DEVICE_INFO_FIXED_SIZE (offsetof(struct vfio_device_info, cap_offset) + sizeof(uint32_t))

int vfio_caps_walk(const void *buf, size_t size, size_t fixed_size, uint32_t first_offset,
		   VfioCap caps[static VFIO_CAPS_MAX], size_t *ret_n)
{
	const uint8_t *p = buf;
	size_t offset = first_offset, n = 0;

	/* Offsets are 32 bits: nothing beyond 4 GiB is reachable. */
	if (size > UINT32_MAX)
		size = UINT32_MAX;
	while (offset != 0) {
		struct vfio_info_cap_header header;

		if (n >= VFIO_CAPS_MAX)
			return -E2BIG;
		if (offset < fixed_size || offset % sizeof(uint32_t) != 0 || offset > size ||
		    size - offset < sizeof(header))
			return -EBADMSG;
		memcpy(&header, p + offset, sizeof(header));
		/* Forward only, past this header: no loop, no overlap. */
		if (header.next != 0 &&
		    (header.next < offset + sizeof(header) || header.next > size))
			return -EBADMSG;
		caps[n++] = (VfioCap){
		    .id = header.id,
		    .version = header.version,
		    .offset = (uint32_t)offset,
		    .size = (uint32_t)((header.next != 0 ? header.next : size) - offset),
		};
		offset = header.next;
	}
	*ret_n = n;
	return 0;
}

static int parse_sparse(const uint8_t *cap, size_t cap_size, VfioSparseArea **ret, size_t *ret_n)
{
	struct vfio_region_info_cap_sparse_mmap sparse;
	struct vfio_region_sparse_mmap_area area;
	_cleanup_free_ VfioSparseArea *areas = NULL;

	if (cap_size < sizeof(sparse))
		return -EBADMSG;
	memcpy(&sparse, cap, sizeof(sparse));
	if (sparse.nr_areas > VFIO_SPARSE_AREAS_MAX)
		return -E2BIG;
	if ((cap_size - sizeof(sparse)) / sizeof(area) < sparse.nr_areas)
		return -EBADMSG;
	if (sparse.nr_areas > 0) {
		areas = calloc(sparse.nr_areas, sizeof(*areas));
		if (!areas)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < sparse.nr_areas; i++) {
		memcpy(&area, cap + sizeof(sparse) + i * sizeof(area), sizeof(area));
		areas[i] = (VfioSparseArea){.offset = area.offset, .size = area.size};
	}
	*ret = TAKE_PTR(areas);
	*ret_n = sparse.nr_areas;
	return 0;
}

int vfio_region_caps_parse(const void *buf, size_t size, uint32_t first_offset, VfioRegionCaps *ret)
{
	VfioCap caps[VFIO_CAPS_MAX];
	_cleanup_free_ VfioSparseArea *sparse = NULL;
	VfioRegionCaps parsed = {0};
	size_t n;
	int r;

	r = vfio_caps_walk(buf, size, sizeof(struct vfio_region_info), first_offset, caps, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *cap = (const uint8_t *)buf + caps[i].offset;

		parsed.ids[parsed.n_ids++] = caps[i].id;
		switch (caps[i].id) {
		case VFIO_REGION_INFO_CAP_SPARSE_MMAP:
			if (parsed.has_sparse)
				return -EBADMSG;
			r = parse_sparse(cap, caps[i].size, &sparse, &parsed.n_sparse);
			if (r < 0)
				return r;
			parsed.has_sparse = true;
			break;
		case VFIO_REGION_INFO_CAP_TYPE: {
			struct vfio_region_info_cap_type type;

			if (parsed.has_type || caps[i].size < sizeof(type))
				return -EBADMSG;
			memcpy(&type, cap, sizeof(type));
			parsed.has_type = true;
			parsed.type = type.type;
			parsed.subtype = type.subtype;
			break;
		}
		case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
			/* A bare header, which the walk has checked. */
			if (parsed.msix_mappable)
				return -EBADMSG;
			parsed.msix_mappable = true;
			break;
		default:
			break;
		}
	}
	parsed.sparse = TAKE_PTR(sparse);
	*ret = parsed;
	return 0;
}

void vfio_region_caps_done(VfioRegionCaps *caps)
{
	free(caps->sparse);
	caps->sparse = NULL;
	caps->n_sparse = 0;
}

/* One region; EINVAL means the device has no such region. */
static int read_region(int device_fd, uint32_t index, VfioRegion *ret)
{
	_cleanup_free_ struct vfio_region_info *info = NULL;
	VfioRegion region = {.index = index};
	size_t size;
	int r;

	r = vfio_device_get_region_info(device_fd, index, &info, &size);
	if (r == -EINVAL) {
		region.absent = true;
		*ret = region;
		return 0;
	}
	if (r < 0)
		return r;
	region.flags = info->flags;
	region.size = info->size;
	region.offset = info->offset;
	/* cap_offset is only valid with the CAPS flag (uapi). */
	if ((info->flags & VFIO_REGION_INFO_FLAG_CAPS) && info->cap_offset != 0) {
		r = vfio_region_caps_parse(info, size, info->cap_offset, &region.caps);
		if (r < 0)
			return r;
	}
	*ret = region;
	return 0;
}

static int read_irq(int device_fd, uint32_t index, VfioIrq *ret)
{
	struct vfio_irq_info info;
	int r;

	r = vfio_device_get_irq_info(device_fd, index, &info);
	if (r == -EINVAL) {
		*ret = (VfioIrq){.index = index, .absent = true};
		return 0;
	}
	if (r < 0)
		return r;
	*ret = (VfioIrq){.index = index, .flags = info.flags, .count = info.count};
	return 0;
}

int vfio_info_read(int device_fd, VfioInfo **ret)
{
	_cleanup_(vfio_info_freep) VfioInfo *info = NULL;
	_cleanup_free_ struct vfio_device_info *device = NULL;
	size_t size;
	int r;

	r = vfio_device_get_info_caps(device_fd, &device, &size);
	if (r < 0)
		return r;
	if (device->num_regions > VFIO_INFO_MAX_REGIONS || device->num_irqs > VFIO_INFO_MAX_IRQS)
		return -E2BIG;

	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	info->flags = device->flags;
	if ((device->flags & VFIO_DEVICE_FLAGS_CAPS) && device->cap_offset != 0) {
		VfioCap caps[VFIO_CAPS_MAX];
		size_t n;

		r = vfio_caps_walk(device, size, DEVICE_INFO_FIXED_SIZE, device->cap_offset, caps,
				   &n);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++)
			info->cap_ids[i] = caps[i].id;
		info->n_cap_ids = n;
	}

	if (device->num_regions > 0) {
		info->regions = calloc(device->num_regions, sizeof(*info->regions));
		if (!info->regions)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < device->num_regions; i++) {
		r = read_region(device_fd, i, info->regions + i);
		if (r < 0)
			return r;
		info->n_regions++;
	}

	if (device->num_irqs > 0) {
		info->irqs = calloc(device->num_irqs, sizeof(*info->irqs));
		if (!info->irqs)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < device->num_irqs; i++) {
		r = read_irq(device_fd, i, info->irqs + i);
		if (r < 0)
			return r;
		info->n_irqs++;
	}

	*ret = TAKE_PTR(info);
	return 0;
}

VfioInfo *vfio_info_free(VfioInfo *info)
{
	if (!info)
		return NULL;
	for (size_t i = 0; i < info->n_regions; i++)
		vfio_region_caps_done(&info->regions[i].caps);
	free(info->regions);
	free(info->irqs);
	free(info);
	return NULL;
}

/* --- names ---------------------------------------------------------------- */

const char *vfio_region_name(const VfioRegion *region, bool pci,
			     char buf[static VFIO_REGION_NAME_MAX])
{
	const char *name = NULL;

	if (pci)
		name = vfio_pci_region_name(region->index);
	if (!name && region->caps.has_type)
		name = vfio_region_subtype_name(region->caps.type, region->caps.subtype);
	if (name)
		return name;
	snprintf(buf, VFIO_REGION_NAME_MAX, "region %" PRIu32, region->index);
	return buf;
}

const char *vfio_region_type_name(uint32_t type)
{
	if (type & VFIO_REGION_TYPE_PCI_VENDOR_BIT) {
		/* VENDOR_TYPE | vendor id, nothing else. */
		if (type & ~(VFIO_REGION_TYPE_PCI_VENDOR_BIT | VFIO_REGION_TYPE_PCI_VENDOR_MASK))
			return NULL;
		switch (type & VFIO_REGION_TYPE_PCI_VENDOR_MASK) {
		case PCI_VENDOR_INTEL:
			return "Intel";
		case PCI_VENDOR_NVIDIA:
			return "NVIDIA";
		case PCI_VENDOR_IBM:
			return "IBM";
		default:
			return NULL;
		}
	}
	switch (type) {
	case VFIO_REGION_TYPE_GFX:
		return "graphics";
	case VFIO_REGION_TYPE_CCW:
		return "CCW";
	case VFIO_REGION_TYPE_MIGRATION_DEPRECATED:
		return "migration (deprecated)";
	default:
		return NULL;
	}
}

const char *vfio_region_subtype_name(uint32_t type, uint32_t subtype)
{
	static const struct {
		uint32_t type;
		uint32_t subtype;
		const char *name;
	} table[] = {
	    {VFIO_REGION_TYPE_PCI_VENDOR_BIT | PCI_VENDOR_INTEL,
	     VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION, "IGD OpRegion"},
	    {VFIO_REGION_TYPE_PCI_VENDOR_BIT | PCI_VENDOR_INTEL,
	     VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG, "IGD host bridge config"},
	    {VFIO_REGION_TYPE_PCI_VENDOR_BIT | PCI_VENDOR_INTEL,
	     VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG, "IGD LPC config"},
	    {VFIO_REGION_TYPE_PCI_VENDOR_BIT | PCI_VENDOR_NVIDIA,
	     VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM, "NVLink2 RAM"},
	    {VFIO_REGION_TYPE_PCI_VENDOR_BIT | PCI_VENDOR_IBM, VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD,
	     "NVLink2 ATSD"},
	    {VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID, "EDID"},
	    {VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD, "CCW async command"},
	    {VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_SCHIB, "CCW SCHIB"},
	    {VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_CRW, "CCW CRW"},
	    {VFIO_REGION_TYPE_MIGRATION_DEPRECATED, VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED,
	     "migration (deprecated)"},
	};

	for (size_t i = 0; i < ELEMENTSOF(table); i++)
		if (table[i].type == type && table[i].subtype == subtype)
			return table[i].name;
	return NULL;
}

const char *vfio_region_cap_name(uint16_t id)
{
	static const char *const names[] = {
	    [VFIO_REGION_INFO_CAP_SPARSE_MMAP] = "sparse-mmap",
	    [VFIO_REGION_INFO_CAP_TYPE] = "type",
	    [VFIO_REGION_INFO_CAP_MSIX_MAPPABLE] = "msix-mappable",
	    [VFIO_REGION_INFO_CAP_NVLINK2_SSATGT] = "nvlink2-ssatgt",
	    [VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD] = "nvlink2-lnkspd",
	};
	return id < ELEMENTSOF(names) ? names[id] : NULL;
}

const char *vfio_device_cap_name(uint16_t id)
{
	static const char *const names[] = {
	    [VFIO_DEVICE_INFO_CAP_ZPCI_BASE] = "zpci-base",
	    [VFIO_DEVICE_INFO_CAP_ZPCI_GROUP] = "zpci-group",
	    [VFIO_DEVICE_INFO_CAP_ZPCI_UTIL] = "zpci-util",
	    [VFIO_DEVICE_INFO_CAP_ZPCI_PFIP] = "zpci-pfip",
	    [VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP] = "pci-atomic-comp",
	};
	return id < ELEMENTSOF(names) ? names[id] : NULL;
}

/* names[bit] for each named bit; other set bits become "0x...". */
static int flags_strv(uint32_t flags, const char *const *names, size_t n_names, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	size_t n = 0;

	l = calloc(32 + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (unsigned bit = 0; bit < 32; bit++) {
		uint32_t mask = UINT32_C(1) << bit;

		if (!(flags & mask))
			continue;
		if (bit < n_names && names[bit])
			l[n] = strdup(names[bit]);
		else if (asprintf(&l[n], "0x%" PRIx32, mask) < 0)
			l[n] = NULL;
		if (!l[n])
			return -ENOMEM;
		n++;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

#define BIT_INDEX(flag) (__builtin_ctz(flag))

int vfio_device_flags_strv(uint32_t flags, char ***ret)
{
	static const char *const names[] = {
	    [BIT_INDEX(VFIO_DEVICE_FLAGS_RESET)] = "reset",
	    [BIT_INDEX(VFIO_DEVICE_FLAGS_PCI)] = "pci",
	    [BIT_INDEX(VFIO_DEVICE_FLAGS_PLATFORM)] = "platform",
	    [BIT_INDEX(VFIO_DEVICE_FLAGS_AMBA)] = "amba",
	    [BIT_INDEX(VFIO_DEVICE_FLAGS_CCW)] = "ccw",
	    [BIT_INDEX(VFIO_DEVICE_FLAGS_AP)] = "ap",
	    [BIT_INDEX(VFIO_DEVICE_FLAGS_FSL_MC)] = "fsl-mc",
	    [BIT_INDEX(VFIO_DEVICE_FLAGS_CAPS)] = "caps",
	    [BIT_INDEX(VFIO_DEVICE_FLAGS_CDX)] = "cdx",
	};
	return flags_strv(flags, names, ELEMENTSOF(names), ret);
}

int vfio_region_flags_strv(uint32_t flags, char ***ret)
{
	static const char *const names[] = {
	    [BIT_INDEX(VFIO_REGION_INFO_FLAG_READ)] = "read",
	    [BIT_INDEX(VFIO_REGION_INFO_FLAG_WRITE)] = "write",
	    [BIT_INDEX(VFIO_REGION_INFO_FLAG_MMAP)] = "mmap",
	    [BIT_INDEX(VFIO_REGION_INFO_FLAG_CAPS)] = "caps",
	};
	return flags_strv(flags, names, ELEMENTSOF(names), ret);
}

int vfio_irq_flags_strv(uint32_t flags, char ***ret)
{
	static const char *const names[] = {
	    [BIT_INDEX(VFIO_IRQ_INFO_EVENTFD)] = "eventfd",
	    [BIT_INDEX(VFIO_IRQ_INFO_MASKABLE)] = "maskable",
	    [BIT_INDEX(VFIO_IRQ_INFO_AUTOMASKED)] = "automasked",
	    [BIT_INDEX(VFIO_IRQ_INFO_NORESIZE)] = "noresize",
	};
	return flags_strv(flags, names, ELEMENTSOF(names), ret);
}
