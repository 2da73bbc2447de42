/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the VFIO capability chain walker and the region
 * capability parser (vfio_caps_walk(), vfio_region_caps_parse()): the input
 * is a whole INFO buffer as the kernel would fill it; the first capability
 * offset is its cap_offset field, as in vfio_info_read().
 *
 * Not built by meson; by hand, from the top of the source tree:
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Icommon -Idaemon tests/fuzz/fuzz-vfio-caps.c daemon/vfio-info.c \
 *     daemon/vfio-device.c -o /tmp/fuzz-vfio-caps
 *   mkdir -p /tmp/fuzz-vfio-caps-corpus
 *   /tmp/fuzz-vfio-caps -max_total_time=60 -max_len=2048 /tmp/fuzz-vfio-caps-corpus
 *
 * Besides "no crash, no leak, no read outside the input", it checks the
 * contract: on success every capability lies inside the buffer, after the
 * fixed struct, 4-byte aligned, in increasing order, at most VFIO_CAPS_MAX
 * of them, and what the parser reports agrees with the ids it walked; on
 * failure only -EBADMSG, -E2BIG or -ENOMEM.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t u32_at(const uint8_t *data, size_t size, size_t offset)
{
	uint32_t v = 0;

	if (size >= offset + sizeof(v))
		memcpy(&v, data + offset, sizeof(v));
	return v;
}

static void check_walk(const uint8_t *buf, size_t size, size_t fixed_size, uint32_t first)
{
	VfioCap caps[VFIO_CAPS_MAX];
	size_t n = SIZE_MAX;
	int r;

	r = vfio_caps_walk(buf, size, fixed_size, first, caps, &n);
	if (r < 0) {
		if ((r != -EBADMSG && r != -E2BIG) || n != SIZE_MAX)
			abort();
		return;
	}
	if (n > VFIO_CAPS_MAX || (first == 0) != (n == 0))
		abort();
	for (size_t i = 0; i < n; i++) {
		if (caps[i].offset < fixed_size || caps[i].offset % 4 != 0 || caps[i].size < 8 ||
		    (size_t)caps[i].offset + caps[i].size > size)
			abort();
		if (i > 0 && caps[i].offset != caps[i - 1].offset + caps[i - 1].size)
			abort();
	}
}

static void check_region(const uint8_t *buf, size_t size, uint32_t first)
{
	VfioRegionCaps caps;
	size_t n_sparse = 0, n_type = 0, n_msix = 0;
	int r;

	r = vfio_region_caps_parse(buf, size, first, &caps);
	if (r < 0) {
		if (r != -EBADMSG && r != -E2BIG && r != -ENOMEM)
			abort();
		return;
	}
	if (caps.n_ids > VFIO_CAPS_MAX || caps.n_sparse > VFIO_SPARSE_AREAS_MAX)
		abort();
	for (size_t i = 0; i < caps.n_ids; i++) {
		n_sparse += caps.ids[i] == VFIO_REGION_INFO_CAP_SPARSE_MMAP;
		n_type += caps.ids[i] == VFIO_REGION_INFO_CAP_TYPE;
		n_msix += caps.ids[i] == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE;
	}
	if (n_sparse != caps.has_sparse || n_type != caps.has_type || n_msix != caps.msix_mappable)
		abort();
	if ((caps.sparse == NULL) != (caps.n_sparse == 0) || (!caps.has_sparse && caps.n_sparse))
		abort();
	/* Touch every area: ASan reports a short allocation. */
	for (size_t i = 0; i < caps.n_sparse; i++)
		if (caps.sparse[i].offset == 1 && caps.sparse[i].size == 1)
			n_sparse++;
	vfio_region_caps_done(&caps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf;

	/* An exact-size copy, so ASan sees any read past the end. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);

	/* struct vfio_region_info: cap_offset at 12. */
	check_region(buf, size, u32_at(buf, size, offsetof(struct vfio_region_info, cap_offset)));
	/* struct vfio_device_info: cap_offset at 16, 20 bytes up to its end. */
	check_walk(buf, size, 20, u32_at(buf, size, offsetof(struct vfio_device_info, cap_offset)));
	free(buf);
	return 0;
}
