/* SPDX-License-Identifier: MIT */
/*
 * The VFIO metadata reader without a kernel: capability chains built by
 * hand (good ones and every malformation the walker must refuse), the name
 * tables and flag lists, and vfio_info_read() against a fake device whose
 * ioctl() this test supplies (it overrides libc's for one fd number and
 * answers like vfio-pci: too small an argsz gets the size needed and no
 * chain, unknown indexes get EINVAL).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"
#include "vfio-device.h"
#include "vfio-info.h"

#define CHECK_ERR(expr, err)                                                                       \
	do {                                                                                       \
		int _r = (expr);                                                                   \
		if (_r != (err)) {                                                                 \
			fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s\n", __FILE__,     \
				__LINE__, #expr, _r, _r < 0 ? strerror(-_r) : "ok", #err);         \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define REGION_FIXED ((uint32_t)sizeof(struct vfio_region_info))
/* (1 << 31) in the header: an int. */
#define PCI_VENDOR_TYPE VFIO_REGION_TYPE_PCI_VENDOR_BIT

/* --- building INFO buffers ------------------------------------------------ */

typedef struct Buf {
	uint8_t data[8192];
	size_t size;
	uint32_t last; /* offset of the last capability appended, 0 if none */
} Buf;

static void buf_init(Buf *b, size_t fixed)
{
	memset(b, 0, sizeof(*b));
	b->size = fixed;
}

static void put_u32(Buf *b, size_t offset, uint32_t v)
{
	memcpy(b->data + offset, &v, sizeof(v));
}

static void set_next(Buf *b, uint32_t cap, uint32_t next)
{
	put_u32(b, cap + offsetof(struct vfio_info_cap_header, next), next);
}

/* Writes a bare header at any offset, for chains buf_cap() would not build. */
static void put_header(Buf *b, size_t offset, uint16_t id, uint32_t next)
{
	struct vfio_info_cap_header h = {.id = id, .version = 1, .next = next};

	memcpy(b->data + offset, &h, sizeof(h));
	if (b->size < offset + sizeof(h))
		b->size = offset + sizeof(h);
}

/* Appends a capability (header + payload, padded to 8 as the kernel does)
 * and links the previous one to it. Returns its offset. */
static uint32_t buf_cap(Buf *b, uint16_t id, const void *payload, size_t n)
{
	struct vfio_info_cap_header h = {.id = id, .version = 1};
	uint32_t offset = (uint32_t)b->size;

	memcpy(b->data + offset, &h, sizeof(h));
	if (n)
		memcpy(b->data + offset + sizeof(h), payload, n);
	b->size += (sizeof(h) + n + 7) & ~(size_t)7;
	if (b->last)
		set_next(b, b->last, offset);
	b->last = offset;
	return offset;
}

static uint32_t buf_type(Buf *b, uint32_t type, uint32_t subtype)
{
	uint32_t payload[2] = {type, subtype};

	return buf_cap(b, VFIO_REGION_INFO_CAP_TYPE, payload, sizeof(payload));
}

static uint32_t buf_sparse(Buf *b, uint32_t nr_areas, const VfioSparseArea *areas, size_t n)
{
	uint8_t payload[8 + VFIO_SPARSE_AREAS_MAX * 16 + 16];
	uint32_t reserved = 0;

	memcpy(payload, &nr_areas, 4);
	memcpy(payload + 4, &reserved, 4);
	for (size_t i = 0; i < n; i++) {
		memcpy(payload + 8 + i * 16, &areas[i].offset, 8);
		memcpy(payload + 8 + i * 16 + 8, &areas[i].size, 8);
	}
	return buf_cap(b, VFIO_REGION_INFO_CAP_SPARSE_MMAP, payload, 8 + n * 16);
}

static int parse(const Buf *b, uint32_t first, VfioRegionCaps *ret)
{
	return vfio_region_caps_parse(b->data, b->size, first, ret);
}

/* --- good chains ---------------------------------------------------------- */

static void check_no_chain(void)
{
	VfioRegionCaps caps;
	Buf b;

	buf_init(&b, REGION_FIXED);
	CHECK_ERR(parse(&b, 0, &caps), 0);
	CHECK(caps.n_ids == 0 && !caps.has_sparse && !caps.has_type && !caps.msix_mappable);
	CHECK(caps.sparse == NULL);
	vfio_region_caps_done(&caps);
}

static void check_type_chain(void)
{
	VfioRegionCaps caps;
	Buf b;

	/* What vfio-pci gives an IGD OpRegion: one type capability. */
	buf_init(&b, REGION_FIXED);
	buf_type(&b, PCI_VENDOR_TYPE | 0x8086, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), 0);
	CHECK(caps.n_ids == 1 && caps.ids[0] == VFIO_REGION_INFO_CAP_TYPE);
	CHECK(caps.has_type && caps.type == (PCI_VENDOR_TYPE | 0x8086));
	CHECK(caps.subtype == VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	CHECK(!caps.has_sparse && !caps.msix_mappable);
	vfio_region_caps_done(&caps);
}

static void check_full_chain(void)
{
	static const VfioSparseArea areas[] = {{0x0, 0x2000}, {0x3000, 0x1d000}};
	VfioRegionCaps caps;
	Buf b;
	uint8_t *unaligned;

	/* Every known capability plus an unknown id, in this order. */
	buf_init(&b, REGION_FIXED);
	buf_sparse(&b, 2, areas, 2);
	buf_type(&b, VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID);
	buf_cap(&b, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, NULL, 0);
	buf_cap(&b, 42, "\x01\x02\x03\x04", 4);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), 0);
	CHECK(caps.n_ids == 4);
	CHECK(caps.ids[0] == VFIO_REGION_INFO_CAP_SPARSE_MMAP &&
	      caps.ids[1] == VFIO_REGION_INFO_CAP_TYPE &&
	      caps.ids[2] == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE && caps.ids[3] == 42);
	CHECK(caps.has_sparse && caps.n_sparse == 2 && caps.sparse);
	CHECK(caps.sparse && caps.sparse[0].offset == 0 && caps.sparse[0].size == 0x2000);
	CHECK(caps.sparse && caps.sparse[1].offset == 0x3000 && caps.sparse[1].size == 0x1d000);
	CHECK(caps.has_type && caps.type == VFIO_REGION_TYPE_GFX &&
	      caps.subtype == VFIO_REGION_SUBTYPE_GFX_EDID);
	CHECK(caps.msix_mappable);
	vfio_region_caps_done(&caps);
	CHECK(caps.sparse == NULL);

	/* The buffer need not be aligned. */
	unaligned = malloc(b.size + 1);
	CHECK(unaligned);
	if (unaligned) {
		memcpy(unaligned + 1, b.data, b.size);
		CHECK_ERR(vfio_region_caps_parse(unaligned + 1, b.size, REGION_FIXED, &caps), 0);
		CHECK(caps.n_ids == 4 && caps.n_sparse == 2 && caps.sparse &&
		      caps.sparse[1].size == 0x1d000 && caps.msix_mappable);
		vfio_region_caps_done(&caps);
		free(unaligned);
	}
}

static void check_sparse_limits(void)
{
	VfioSparseArea many[VFIO_SPARSE_AREAS_MAX + 1];
	VfioRegionCaps caps;
	Buf b;

	for (size_t i = 0; i < ELEMENTSOF(many); i++)
		many[i] = (VfioSparseArea){i * 0x1000, 0x800};

	/* No areas: nothing of the region may be mapped. */
	buf_init(&b, REGION_FIXED);
	buf_sparse(&b, 0, NULL, 0);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), 0);
	CHECK(caps.has_sparse && caps.n_sparse == 0 && caps.sparse == NULL);
	vfio_region_caps_done(&caps);

	/* The cap, and one more. */
	buf_init(&b, REGION_FIXED);
	buf_sparse(&b, VFIO_SPARSE_AREAS_MAX, many, VFIO_SPARSE_AREAS_MAX);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), 0);
	CHECK(caps.n_sparse == VFIO_SPARSE_AREAS_MAX && caps.sparse &&
	      caps.sparse[VFIO_SPARSE_AREAS_MAX - 1].offset ==
		  (VFIO_SPARSE_AREAS_MAX - 1) * 0x1000);
	vfio_region_caps_done(&caps);
	buf_init(&b, REGION_FIXED);
	buf_sparse(&b, VFIO_SPARSE_AREAS_MAX + 1, many, VFIO_SPARSE_AREAS_MAX + 1);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -E2BIG);
	buf_init(&b, REGION_FIXED);
	buf_sparse(&b, UINT32_MAX, many, 1);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -E2BIG);

	/* Says 3 areas, holds 2: before the next capability, and at the end. */
	buf_init(&b, REGION_FIXED);
	buf_sparse(&b, 3, many, 2);
	buf_cap(&b, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, NULL, 0);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
	buf_init(&b, REGION_FIXED);
	buf_sparse(&b, 3, many, 2);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
	/* Not even nr_areas fits. */
	buf_init(&b, REGION_FIXED);
	buf_cap(&b, VFIO_REGION_INFO_CAP_SPARSE_MMAP, NULL, 0);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
}

static void check_walk_sizes(void)
{
	VfioCap caps[VFIO_CAPS_MAX];
	size_t n = 99;
	Buf b;

	/* A device-info buffer (fixed part 20 bytes up to cap_offset, first cap
	 * at 24 as kernels >= 6.6 put it). */
	buf_init(&b, 24);
	buf_cap(&b, VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP, "\x07\0\0\0\0\0\0\0", 8);
	buf_cap(&b, 7, NULL, 0);
	CHECK_ERR(vfio_caps_walk(b.data, b.size, 20, 24, caps, &n), 0);
	CHECK(n == 2);
	CHECK(caps[0].id == VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP && caps[0].version == 1 &&
	      caps[0].offset == 24 && caps[0].size == 16);
	CHECK(caps[1].id == 7 && caps[1].offset == 40 && caps[1].size == 8);
	/* Older kernels: right after cap_offset, 4-byte aligned. */
	buf_init(&b, 20);
	buf_cap(&b, 1, NULL, 0);
	CHECK_ERR(vfio_caps_walk(b.data, b.size, 20, 20, caps, &n), 0);
	CHECK(n == 1 && caps[0].offset == 20 && caps[0].size == 8);
}

/* --- malformed chains ----------------------------------------------------- */

static void check_bad_offsets(void)
{
	VfioRegionCaps caps;
	Buf b;

	buf_init(&b, REGION_FIXED);
	buf_type(&b, VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), 0);
	vfio_region_caps_done(&caps);

	/* Inside the fixed struct. */
	CHECK_ERR(parse(&b, 8, &caps), -EBADMSG);
	CHECK_ERR(parse(&b, REGION_FIXED - 8, &caps), -EBADMSG);
	/* Misaligned: a well-formed header at 34 is refused, at 36 taken. */
	buf_init(&b, REGION_FIXED);
	put_header(&b, REGION_FIXED + 2, 99, 0);
	CHECK_ERR(parse(&b, REGION_FIXED + 2, &caps), -EBADMSG);
	buf_init(&b, REGION_FIXED);
	put_header(&b, REGION_FIXED + 4, 99, 0);
	CHECK_ERR(parse(&b, REGION_FIXED + 4, &caps), 0);
	CHECK(caps.n_ids == 1 && caps.ids[0] == 99);
	vfio_region_caps_done(&caps);
	put_header(&b, REGION_FIXED + 4, 99, REGION_FIXED + 13);
	put_header(&b, REGION_FIXED + 13, 98, 0);
	CHECK_ERR(parse(&b, REGION_FIXED + 4, &caps), -EBADMSG);

	buf_init(&b, REGION_FIXED);
	buf_type(&b, VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID);
	/* Outside the buffer, and a header cut by its end. */
	CHECK_ERR(parse(&b, (uint32_t)b.size, &caps), -EBADMSG);
	CHECK_ERR(parse(&b, (uint32_t)b.size + 8, &caps), -EBADMSG);
	CHECK_ERR(parse(&b, UINT32_MAX - 3, &caps), -EBADMSG);
	CHECK_ERR(parse(&b, (uint32_t)b.size - 4, &caps), -EBADMSG);
	CHECK_ERR(vfio_region_caps_parse(b.data, REGION_FIXED + 4, REGION_FIXED, &caps), -EBADMSG);
	/* A type capability cut short by the end of the buffer... */
	CHECK_ERR(vfio_region_caps_parse(b.data, REGION_FIXED + 12, REGION_FIXED, &caps), -EBADMSG);
	/* ...or by the next capability. */
	set_next(&b, REGION_FIXED, REGION_FIXED + 8);
	memcpy(b.data + REGION_FIXED + 8, &(struct vfio_info_cap_header){.id = 99, .version = 1},
	       sizeof(struct vfio_info_cap_header));
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);

	/* A next offset outside the buffer or misaligned. */
	buf_init(&b, REGION_FIXED);
	buf_cap(&b, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, NULL, 0);
	set_next(&b, REGION_FIXED, 4096);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
	buf_cap(&b, 99, NULL, 0);
	set_next(&b, REGION_FIXED, REGION_FIXED + 10);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
}

static void check_loops(void)
{
	VfioRegionCaps caps;
	uint32_t a, c;
	Buf b;

	/* A capability pointing at itself. */
	buf_init(&b, REGION_FIXED);
	a = buf_cap(&b, 99, NULL, 0);
	set_next(&b, a, a);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
	/* Into its own header. */
	set_next(&b, a, a + 4);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
	/* A -> B -> C -> A. */
	buf_init(&b, REGION_FIXED);
	a = buf_cap(&b, 99, NULL, 0);
	buf_cap(&b, 98, NULL, 0);
	c = buf_cap(&b, 97, NULL, 0);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), 0);
	CHECK(caps.n_ids == 3);
	vfio_region_caps_done(&caps);
	set_next(&b, c, a);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
	/* Backwards into the fixed struct. */
	set_next(&b, c, 8);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
}

static void check_too_many(void)
{
	VfioRegionCaps caps;
	Buf b;

	buf_init(&b, REGION_FIXED);
	for (unsigned i = 0; i < VFIO_CAPS_MAX; i++)
		buf_cap(&b, (uint16_t)(100 + i), NULL, 0);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), 0);
	CHECK(caps.n_ids == VFIO_CAPS_MAX &&
	      caps.ids[VFIO_CAPS_MAX - 1] == 100 + VFIO_CAPS_MAX - 1);
	vfio_region_caps_done(&caps);
	buf_cap(&b, 200, NULL, 0);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -E2BIG);
}

static void check_duplicates(void)
{
	static const VfioSparseArea area = {0, 0x1000};
	VfioRegionCaps caps;
	Buf b;

	buf_init(&b, REGION_FIXED);
	buf_type(&b, VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID);
	buf_type(&b, VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_CRW);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);

	buf_init(&b, REGION_FIXED);
	buf_sparse(&b, 1, &area, 1);
	buf_sparse(&b, 1, &area, 1);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);

	buf_init(&b, REGION_FIXED);
	buf_cap(&b, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, NULL, 0);
	buf_cap(&b, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, NULL, 0);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);

	/* Unknown ids may repeat: they are only listed. */
	buf_init(&b, REGION_FIXED);
	buf_cap(&b, 77, NULL, 0);
	buf_cap(&b, 77, NULL, 0);
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), 0);
	CHECK(caps.n_ids == 2 && caps.ids[0] == 77 && caps.ids[1] == 77);
	vfio_region_caps_done(&caps);
}

static void check_untouched_on_error(void)
{
	VfioRegionCaps caps;
	Buf b;

	buf_init(&b, REGION_FIXED);
	buf_sparse(&b, 1, &(VfioSparseArea){0, 0x1000}, 1);
	buf_type(&b, VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID);
	buf_type(&b, VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID);
	memset(&caps, 0xa5, sizeof(caps));
	CHECK_ERR(parse(&b, REGION_FIXED, &caps), -EBADMSG);
	CHECK(caps.n_ids == (size_t)0xa5a5a5a5a5a5a5a5ULL);
}

/* --- names ---------------------------------------------------------------- */

static void check_strv(char **l, const char *const *expected)
{
	size_t n = 0;

	CHECK(l != NULL);
	if (!l)
		return;
	for (; expected[n]; n++)
		CHECK_STREQ(l[n], expected[n]);
	CHECK(strv_length(l) == n);
	strv_free(l);
}

#define CHECK_FLAGS(fn, flags, ...)                                                                \
	do {                                                                                       \
		char **_l = NULL;                                                                  \
		CHECK_ERR(fn(flags, &_l), 0);                                                      \
		check_strv(_l, (const char *const[]){__VA_ARGS__, NULL});                          \
	} while (0)

static void check_flag_names(void)
{
	char **l = NULL;

	CHECK_FLAGS(vfio_region_flags_strv,
		    VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			VFIO_REGION_INFO_FLAG_MMAP,
		    "read", "write", "mmap");
	CHECK_FLAGS(vfio_region_flags_strv, 0xf, "read", "write", "mmap", "caps");
	CHECK_FLAGS(vfio_region_flags_strv, VFIO_REGION_INFO_FLAG_WRITE | 0x30, "write", "0x10",
		    "0x20");
	CHECK_FLAGS(vfio_irq_flags_strv, 0x7, "eventfd", "maskable", "automasked");
	CHECK_FLAGS(vfio_irq_flags_strv, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, "eventfd",
		    "noresize");
	CHECK_FLAGS(vfio_irq_flags_strv, 0x80000000u, "0x80000000");
	CHECK_FLAGS(vfio_device_flags_strv, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
		    "reset", "pci");
	CHECK_FLAGS(vfio_device_flags_strv, 0x1fc, "platform", "amba", "ccw", "ap", "fsl-mc",
		    "caps", "cdx");
	CHECK_FLAGS(vfio_device_flags_strv, 0x200, "0x200");

	/* No flag: an empty list, not NULL. */
	CHECK_ERR(vfio_region_flags_strv(0, &l), 0);
	CHECK(l && l[0] == NULL);
	strv_free(l);
}

static void check_region_names(void)
{
	static const char *const pci[] = {"BAR0", "BAR1", "BAR2",   "BAR3", "BAR4",
					  "BAR5", "ROM",  "CONFIG", "VGA"};
	char buf[VFIO_REGION_NAME_MAX];
	VfioRegion r = {0};

	for (unsigned i = 0; i < ELEMENTSOF(pci); i++)
		CHECK_STREQ(vfio_pci_region_name(i), pci[i]);
	CHECK(vfio_pci_region_name(VFIO_PCI_NUM_REGIONS) == NULL);
	CHECK(vfio_pci_region_name(UINT32_MAX) == NULL);
	CHECK_STREQ(vfio_pci_irq_name(VFIO_PCI_INTX_IRQ_INDEX), "INTx");
	CHECK_STREQ(vfio_pci_irq_name(VFIO_PCI_MSIX_IRQ_INDEX), "MSI-X");
	CHECK_STREQ(vfio_pci_irq_name(VFIO_PCI_REQ_IRQ_INDEX), "REQ");
	CHECK(vfio_pci_irq_name(VFIO_PCI_NUM_IRQS) == NULL);

	r.index = VFIO_PCI_CONFIG_REGION_INDEX;
	CHECK_STREQ(vfio_region_name(&r, true, buf), "CONFIG");
	/* Not PCI: fixed indexes mean nothing. */
	CHECK_STREQ(vfio_region_name(&r, false, buf), "region 7");
	/* Device-specific regions by their type. */
	r.index = 9;
	CHECK_STREQ(vfio_region_name(&r, true, buf), "region 9");
	r.caps.has_type = true;
	r.caps.type = PCI_VENDOR_TYPE | 0x8086;
	r.caps.subtype = VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION;
	CHECK_STREQ(vfio_region_name(&r, true, buf), "IGD OpRegion");
	r.caps.subtype = VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG;
	r.index = 11;
	CHECK_STREQ(vfio_region_name(&r, true, buf), "IGD LPC config");
	r.caps.subtype = 99;
	CHECK_STREQ(vfio_region_name(&r, true, buf), "region 11");
	r.caps.type = VFIO_REGION_TYPE_GFX;
	r.caps.subtype = VFIO_REGION_SUBTYPE_GFX_EDID;
	r.index = 4000000000u;
	CHECK_STREQ(vfio_region_name(&r, false, buf), "EDID");
	r.caps.has_type = false;
	CHECK_STREQ(vfio_region_name(&r, false, buf), "region 4000000000");
}

static void check_type_names(void)
{
	const uint32_t vendor = PCI_VENDOR_TYPE;

	CHECK_STREQ(vfio_region_type_name(vendor | 0x8086), "Intel");
	CHECK_STREQ(vfio_region_type_name(vendor | 0x10de), "NVIDIA");
	CHECK_STREQ(vfio_region_type_name(vendor | 0x1014), "IBM");
	CHECK(vfio_region_type_name(vendor | 0x1234) == NULL);
	CHECK(vfio_region_type_name(vendor | 0x10000 | 0x8086) == NULL);
	CHECK_STREQ(vfio_region_type_name(VFIO_REGION_TYPE_GFX), "graphics");
	CHECK_STREQ(vfio_region_type_name(VFIO_REGION_TYPE_CCW), "CCW");
	CHECK_STREQ(vfio_region_type_name(VFIO_REGION_TYPE_MIGRATION_DEPRECATED),
		    "migration (deprecated)");
	CHECK(vfio_region_type_name(0) == NULL);
	CHECK(vfio_region_type_name(4) == NULL);

	CHECK_STREQ(
	    vfio_region_subtype_name(vendor | 0x8086, VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG),
	    "IGD host bridge config");
	CHECK_STREQ(
	    vfio_region_subtype_name(vendor | 0x10de, VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM),
	    "NVLink2 RAM");
	CHECK_STREQ(vfio_region_subtype_name(vendor | 0x1014, VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD),
		    "NVLink2 ATSD");
	/* Subtypes belong to their type. */
	CHECK(vfio_region_subtype_name(vendor | 0x10de, VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG) ==
	      NULL);
	CHECK(vfio_region_subtype_name(VFIO_REGION_TYPE_GFX,
				       VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG) == NULL);
	CHECK_STREQ(
	    vfio_region_subtype_name(VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD),
	    "CCW async command");
	CHECK_STREQ(vfio_region_subtype_name(VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_SCHIB),
		    "CCW SCHIB");
	CHECK_STREQ(vfio_region_subtype_name(VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_CRW),
		    "CCW CRW");
	CHECK_STREQ(vfio_region_subtype_name(VFIO_REGION_TYPE_MIGRATION_DEPRECATED,
					     VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED),
		    "migration (deprecated)");

	CHECK_STREQ(vfio_region_cap_name(VFIO_REGION_INFO_CAP_SPARSE_MMAP), "sparse-mmap");
	CHECK_STREQ(vfio_region_cap_name(VFIO_REGION_INFO_CAP_TYPE), "type");
	CHECK_STREQ(vfio_region_cap_name(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE), "msix-mappable");
	CHECK_STREQ(vfio_region_cap_name(VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD), "nvlink2-lnkspd");
	CHECK(vfio_region_cap_name(0) == NULL);
	CHECK(vfio_region_cap_name(6) == NULL);
	CHECK(vfio_region_cap_name(UINT16_MAX) == NULL);
	CHECK_STREQ(vfio_device_cap_name(VFIO_DEVICE_INFO_CAP_ZPCI_BASE), "zpci-base");
	CHECK_STREQ(vfio_device_cap_name(VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP), "pci-atomic-comp");
	CHECK(vfio_device_cap_name(0) == NULL);
	CHECK(vfio_device_cap_name(6) == NULL);
}

/* --- vfio_info_read() against a fake device -------------------------------- */

#define FAKE_FD 1000 /* never opened: only this test's ioctl() answers it */
/* The kernel's struct vfio_device_info since 6.6 (with padding): its first
 * capability sits at 24, past the 20 bytes of older headers. */
#define FAKE_DEVICE_INFO_SIZE 24

typedef struct FakeRegion {
	bool einval;
	uint32_t flags;
	uint64_t size;
	Buf caps; /* caps.size > REGION_FIXED: a chain at REGION_FIXED */
} FakeRegion;

static struct {
	uint32_t flags;
	uint32_t num_regions, num_irqs;
	Buf caps; /* device chain, at FAKE_DEVICE_INFO_SIZE when caps.size exceeds it */
	FakeRegion regions[12];
	uint32_t irq_einval_mask;
	int region_errno;   /* every GET_REGION_INFO fails with this */
	uint32_t argsz_ask; /* argsz this "kernel" wants beyond the chain */
	bool argsz_creep;   /* ask for 8 more bytes on every call */
	unsigned calls;
} fake;

static uint64_t fake_region_offset(uint32_t index)
{
	return (uint64_t)index << 40; /* VFIO_PCI_INDEX_TO_OFFSET */
}

static int fake_device_info(struct vfio_device_info *arg)
{
	struct vfio_device_info info = {0};
	uint32_t argsz = arg->argsz, need;
	size_t chain =
	    fake.caps.size > FAKE_DEVICE_INFO_SIZE ? fake.caps.size - FAKE_DEVICE_INFO_SIZE : 0;

	if (argsz < offsetof(struct vfio_device_info, cap_offset))
		return -EINVAL;
	info.argsz = argsz;
	info.flags = fake.flags;
	info.num_regions = fake.num_regions;
	info.num_irqs = fake.num_irqs;
	if (chain) {
		info.flags |= VFIO_DEVICE_FLAGS_CAPS;
		need = FAKE_DEVICE_INFO_SIZE + (uint32_t)chain;
		if (argsz < need)
			info.argsz = need;
		else {
			memcpy((uint8_t *)arg + FAKE_DEVICE_INFO_SIZE,
			       fake.caps.data + FAKE_DEVICE_INFO_SIZE, chain);
			info.cap_offset = FAKE_DEVICE_INFO_SIZE;
		}
	}
	memcpy(arg, &info, argsz < sizeof(info) ? argsz : sizeof(info));
	return 0;
}

static int fake_region_info(struct vfio_region_info *arg)
{
	struct vfio_region_info info;
	const FakeRegion *region;
	uint32_t need;
	size_t chain;

	if (fake.region_errno)
		return -fake.region_errno;
	memcpy(&info, arg, sizeof(info));
	if (info.argsz < sizeof(info) || info.index >= fake.num_regions ||
	    info.index >= ELEMENTSOF(fake.regions) || fake.regions[info.index].einval)
		return -EINVAL;
	region = &fake.regions[info.index];
	info.flags = region->flags;
	info.size = region->size;
	info.offset = fake_region_offset(info.index);
	info.cap_offset = 0;
	chain = region->caps.size > REGION_FIXED ? region->caps.size - REGION_FIXED : 0;
	if (chain) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		need = REGION_FIXED + (uint32_t)chain + fake.argsz_ask;
		if (fake.argsz_creep)
			need += 8 * fake.calls;
		if (info.argsz < need)
			info.argsz = need;
		else {
			memcpy((uint8_t *)arg + REGION_FIXED, region->caps.data + REGION_FIXED,
			       chain);
			info.cap_offset = REGION_FIXED;
		}
	}
	memcpy(arg, &info, sizeof(info));
	return 0;
}

static int fake_irq_info(struct vfio_irq_info *arg)
{
	struct vfio_irq_info info;

	memcpy(&info, arg, sizeof(info));
	if (info.argsz < sizeof(info) || info.index >= fake.num_irqs || info.index >= 32 ||
	    (fake.irq_einval_mask & (1u << info.index)))
		return -EINVAL;
	/* vfio-pci's answers for edu. */
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = info.index == VFIO_PCI_MSIX_IRQ_INDEX ? 0 : 1;
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	memcpy(arg, &info, sizeof(info));
	return 0;
}

/* Overrides libc's ioctl() for this program; other fds get the real one. */
int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;
	int r;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != FAKE_FD)
		return (int)syscall(SYS_ioctl, fd, request, arg);
	fake.calls++;
	switch (request) {
	case VFIO_DEVICE_GET_INFO:
		r = fake_device_info(arg);
		break;
	case VFIO_DEVICE_GET_REGION_INFO:
		r = fake_region_info(arg);
		break;
	case VFIO_DEVICE_GET_IRQ_INFO:
		r = fake_irq_info(arg);
		break;
	default:
		r = -ENOTTY;
	}
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/* An nvme-like device: BAR0 with the MSI-X table (mmap, MSI-X mappable,
 * sparse areas around the table), BAR1..5 and ROM unimplemented, config,
 * no VGA (EINVAL), one device-specific region with a type; ERR absent. */
static void fake_setup(void)
{
	static const VfioSparseArea areas[] = {{0, 0x2000}, {0x3000, 0x1000}};

	memset(&fake, 0, sizeof(fake));
	fake.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	fake.num_regions = VFIO_PCI_NUM_REGIONS + 1;
	fake.num_irqs = VFIO_PCI_NUM_IRQS;
	buf_init(&fake.caps, FAKE_DEVICE_INFO_SIZE);
	buf_cap(&fake.caps, VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP, "\x01\0\0\0\0\0\0\0", 8);
	for (unsigned i = 0; i < ELEMENTSOF(fake.regions); i++)
		buf_init(&fake.regions[i].caps, REGION_FIXED);
	fake.regions[0].flags =
	    VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
	fake.regions[0].size = 0x4000;
	buf_sparse(&fake.regions[0].caps, 2, areas, 2);
	buf_cap(&fake.regions[0].caps, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, NULL, 0);
	fake.regions[VFIO_PCI_CONFIG_REGION_INDEX].flags =
	    VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	fake.regions[VFIO_PCI_CONFIG_REGION_INDEX].size = 0x1000;
	fake.regions[VFIO_PCI_VGA_REGION_INDEX].einval = true;
	fake.regions[9].flags = VFIO_REGION_INFO_FLAG_READ;
	fake.regions[9].size = 0x2000;
	buf_type(&fake.regions[9].caps, PCI_VENDOR_TYPE | 0x8086,
		 VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	fake.irq_einval_mask = 1u << VFIO_PCI_ERR_IRQ_INDEX;
}

static void check_read(void)
{
	_cleanup_(vfio_info_freep) VfioInfo *info = NULL;
	char buf[VFIO_REGION_NAME_MAX];
	const VfioRegion *r;

	fake_setup();
	CHECK_ERR(vfio_info_read(FAKE_FD, &info), 0);
	CHECK(info != NULL);
	if (!info)
		return;
	CHECK(info->flags ==
	      (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET | VFIO_DEVICE_FLAGS_CAPS));
	CHECK(info->n_cap_ids == 1 && info->cap_ids[0] == VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP);
	CHECK(info->n_regions == VFIO_PCI_NUM_REGIONS + 1);
	CHECK(info->n_irqs == VFIO_PCI_NUM_IRQS);
	for (size_t i = 0; i < info->n_regions; i++)
		CHECK(info->regions[i].index == i);

	r = &info->regions[VFIO_PCI_BAR0_REGION_INDEX];
	CHECK(!r->absent && r->size == 0x4000 && r->offset == 0);
	CHECK(r->flags == 0xf);
	CHECK(r->caps.n_ids == 2 && r->caps.has_sparse && r->caps.n_sparse == 2);
	CHECK(r->caps.sparse && r->caps.sparse[1].offset == 0x3000);
	CHECK(r->caps.msix_mappable && !r->caps.has_type);
	/* An unimplemented BAR is there, with size 0. */
	r = &info->regions[VFIO_PCI_BAR1_REGION_INDEX];
	CHECK(!r->absent && r->size == 0 && r->flags == 0 && r->offset == fake_region_offset(1));
	CHECK(r->caps.n_ids == 0);
	r = &info->regions[VFIO_PCI_CONFIG_REGION_INDEX];
	CHECK(!r->absent && r->size == 0x1000 && r->flags == 3 &&
	      r->offset == fake_region_offset(VFIO_PCI_CONFIG_REGION_INDEX));
	/* VGA: EINVAL, absent. */
	r = &info->regions[VFIO_PCI_VGA_REGION_INDEX];
	CHECK(r->absent && r->size == 0 && r->flags == 0 && r->offset == 0);
	CHECK_STREQ(vfio_region_name(r, true, buf), "VGA");
	r = &info->regions[9];
	CHECK(!r->absent && r->size == 0x2000 &&
	      r->flags == (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS));
	CHECK(r->caps.has_type && r->caps.subtype == VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	CHECK_STREQ(vfio_region_name(r, true, buf), "IGD OpRegion");

	CHECK(!info->irqs[0].absent && info->irqs[0].count == 1 && info->irqs[0].flags == 0x7);
	CHECK(!info->irqs[VFIO_PCI_MSIX_IRQ_INDEX].absent &&
	      info->irqs[VFIO_PCI_MSIX_IRQ_INDEX].count == 0);
	CHECK(info->irqs[VFIO_PCI_ERR_IRQ_INDEX].absent &&
	      info->irqs[VFIO_PCI_ERR_IRQ_INDEX].count == 0 &&
	      info->irqs[VFIO_PCI_ERR_IRQ_INDEX].flags == 0);
	CHECK(info->irqs[VFIO_PCI_REQ_IRQ_INDEX].index == VFIO_PCI_REQ_IRQ_INDEX &&
	      info->irqs[VFIO_PCI_REQ_IRQ_INDEX].flags == 0x9);
}

static void check_read_failures(void)
{
	static VfioInfo sentinel_storage;
	VfioInfo *const sentinel = &sentinel_storage, *info = sentinel; /* untouched on failure */
	int fd;

	/* Not a VFIO device at all. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_ERR(vfio_info_read(fd, &info), -ENOTTY);
	CHECK(info == sentinel);
	safe_close(fd);

	/* Counts beyond the caps. */
	fake_setup();
	fake.num_regions = VFIO_INFO_MAX_REGIONS + 1;
	CHECK_ERR(vfio_info_read(FAKE_FD, &info), -E2BIG);
	fake_setup();
	fake.num_irqs = VFIO_INFO_MAX_IRQS + 1;
	CHECK_ERR(vfio_info_read(FAKE_FD, &info), -E2BIG);
	/* A kernel asking for more than VFIO_INFO_ARGSZ_MAX... */
	fake_setup();
	fake.argsz_ask = VFIO_INFO_ARGSZ_MAX;
	CHECK_ERR(vfio_info_read(FAKE_FD, &info), -E2BIG);
	/* ...or for more on every call. */
	fake_setup();
	fake.argsz_creep = true;
	CHECK_ERR(vfio_info_read(FAKE_FD, &info), -EAGAIN);
	/* Errors other than EINVAL fail the read. */
	fake_setup();
	fake.region_errno = EIO;
	CHECK_ERR(vfio_info_read(FAKE_FD, &info), -EIO);
	/* A malformed chain from the "kernel". */
	fake_setup();
	set_next(&fake.regions[0].caps, fake.regions[0].caps.last, REGION_FIXED);
	CHECK_ERR(vfio_info_read(FAKE_FD, &info), -EBADMSG);
	fake_setup();
	set_next(&fake.caps, fake.caps.last, 8);
	CHECK_ERR(vfio_info_read(FAKE_FD, &info), -EBADMSG);
	CHECK(info == sentinel);

	/* A kernel asking for a little more than the chain: still fine. */
	fake_setup();
	fake.argsz_ask = 64;
	CHECK_ERR(vfio_info_read(FAKE_FD, &info), 0);
	CHECK(info != sentinel && info->regions[0].caps.n_sparse == 2);
	if (info != sentinel)
		vfio_info_free(info);
	CHECK(vfio_info_free(NULL) == NULL);
}

int main(void)
{
	check_no_chain();
	check_type_chain();
	check_full_chain();
	check_sparse_limits();
	check_walk_sizes();
	check_bad_offsets();
	check_loops();
	check_too_many();
	check_duplicates();
	check_untouched_on_error();
	check_flag_names();
	check_region_names();
	check_type_names();
	check_read();
	check_read_failures();
	return test_exit();
}
