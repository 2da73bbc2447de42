/* SPDX-License-Identifier: MIT */
/*
 * vfio-info-dump BDF: as root, open the device with raw ioctls (container,
 * group, type1v2, device fd), read its metadata with daemon/vfio-info.c
 * (vfio_info_read()) and print it as JSON in the shape `raw-vfio-probe dump`
 * prints (documented there). The VM test vfio-info compares the two: this
 * program proves the daemon's reader against the independent witness.
 * stderr gets the same facts with the reader's names, one line each
 * ("region 0 BAR0 size 0x100000 offset 0x0 flags read,write,mmap caps -").
 *
 * Exit status: 0 ok, 1 failure, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"
#include "vfio-device.h"
#include "vfio-info.h"

static int fail(int r, const char *what)
{
	fprintf(stderr, "vfio-info-dump: %s: %s\n", what, strerror(r < 0 ? -r : r));
	return r < 0 ? r : -r;
}

/* The group number from /sys/bus/pci/devices/BDF/iommu_group. */
static int group_of(const char *bdf, unsigned *ret)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	char *end;
	unsigned long g;
	ssize_t n;

	if (strchr(bdf, '/') || strlen(bdf) > 32)
		return fail(-EINVAL, bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return fail(negative_errno(), path);
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	errno = 0;
	g = strtoul(base, &end, 10);
	if (errno || *end || end == base || g > UINT_MAX)
		return fail(-EINVAL, "iommu_group link");
	*ret = (unsigned)g;
	return 0;
}

/* Container, group, type1v2, device fd. *ret_* are the caller's to close. */
static int open_device(const char *bdf, int *ret_container, int *ret_group, int *ret_device)
{
	_cleanup_close_ int container = -EBADF, group = -EBADF;
	char path[32];
	unsigned g;
	int device, r;

	r = group_of(bdf, &g);
	if (r < 0)
		return r;
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return fail(negative_errno(), "/dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%u", g);
	group = open(path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		return fail(negative_errno(), path);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return fail(negative_errno(), "VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return fail(negative_errno(), "VFIO_SET_IOMMU");
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0)
		return fail(negative_errno(), "VFIO_GROUP_GET_DEVICE_FD");
	*ret_container = TAKE_FD(container);
	*ret_group = TAKE_FD(group);
	*ret_device = device;
	return 0;
}

static void print_ids(const uint16_t *ids, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++)
		printf("%s%u", i ? ", " : "", ids[i]);
	printf("]");
}

static void print_region(const VfioRegion *r)
{
	printf("{\"index\": %" PRIu32 ", \"size\": %" PRIu64 ", \"offset\": %" PRIu64
	       ", \"flags\": %" PRIu32 ", \"sparse\": [",
	       r->index, r->size, r->offset, r->flags);
	for (size_t i = 0; i < r->caps.n_sparse; i++)
		printf("%s[%" PRIu64 ", %" PRIu64 "]", i ? ", " : "", r->caps.sparse[i].offset,
		       r->caps.sparse[i].size);
	printf("], ");
	if (r->caps.has_type)
		printf("\"type\": %" PRIu32 ", \"subtype\": %" PRIu32 ", ", r->caps.type,
		       r->caps.subtype);
	else
		printf("\"type\": null, \"subtype\": null, ");
	printf("\"msix_mappable\": %s, \"caps\": ", r->caps.msix_mappable ? "true" : "false");
	print_ids(r->caps.ids, r->caps.n_ids);
	printf("%s}", r->absent ? ", \"absent\": true" : "");
}

static void print_info(const VfioInfo *info)
{
	printf("{\"flags\": %" PRIu32 ", \"caps\": ", info->flags);
	print_ids(info->cap_ids, info->n_cap_ids);
	printf(", \"regions\": [");
	for (size_t i = 0; i < info->n_regions; i++) {
		printf("%s\n  ", i ? "," : "");
		print_region(&info->regions[i]);
	}
	printf("\n ], \"irqs\": [");
	for (size_t i = 0; i < info->n_irqs; i++) {
		const VfioIrq *irq = &info->irqs[i];

		printf("%s\n  {\"index\": %" PRIu32 ", \"count\": %" PRIu32 ", \"flags\": %" PRIu32
		       "%s}",
		       i ? "," : "", irq->index, irq->count, irq->flags,
		       irq->absent ? ", \"absent\": true" : "");
	}
	printf("\n ]}\n");
}

static void print_names(const char *what, char **names)
{
	fprintf(stderr, " %s ", what);
	if (!names || !names[0])
		fputs("-", stderr);
	for (size_t i = 0; names && names[i]; i++)
		fprintf(stderr, "%s%s", i ? "," : "", names[i]);
	strv_free(names);
}

/* The facts again, with the reader's names, for people and for grep. */
static int print_summary(const VfioInfo *info)
{
	bool pci = info->flags & VFIO_DEVICE_FLAGS_PCI;
	char **names = NULL;

	if (vfio_device_flags_strv(info->flags, &names) < 0)
		return -ENOMEM;
	fprintf(stderr, "device");
	print_names("flags", names);
	fprintf(stderr, " caps");
	for (size_t i = 0; i < info->n_cap_ids; i++)
		fprintf(stderr, "%s%s", i ? "," : " ",
			vfio_device_cap_name(info->cap_ids[i]) ?: "unknown");
	fputc('\n', stderr);
	for (size_t i = 0; i < info->n_regions; i++) {
		const VfioRegion *r = &info->regions[i];
		char name[VFIO_REGION_NAME_MAX];

		fprintf(stderr, "region %" PRIu32 " %s", r->index, vfio_region_name(r, pci, name));
		if (r->absent) {
			fprintf(stderr, " absent\n");
			continue;
		}
		fprintf(stderr, " size 0x%" PRIx64 " offset 0x%" PRIx64, r->size, r->offset);
		if (vfio_region_flags_strv(r->flags, &names) < 0)
			return -ENOMEM;
		print_names("flags", names);
		fprintf(stderr, " caps");
		if (r->caps.n_ids == 0)
			fprintf(stderr, " -");
		for (size_t c = 0; c < r->caps.n_ids; c++)
			fprintf(stderr, "%s%s", c ? "," : " ",
				vfio_region_cap_name(r->caps.ids[c]) ?: "unknown");
		for (size_t a = 0; a < r->caps.n_sparse; a++)
			fprintf(stderr, " sparse 0x%" PRIx64 "+0x%" PRIx64,
				r->caps.sparse[a].offset, r->caps.sparse[a].size);
		if (r->caps.has_type)
			fprintf(
			    stderr, " type %s/%s", vfio_region_type_name(r->caps.type) ?: "unknown",
			    vfio_region_subtype_name(r->caps.type, r->caps.subtype) ?: "unknown");
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < info->n_irqs; i++) {
		const VfioIrq *irq = &info->irqs[i];
		const char *name = pci ? vfio_pci_irq_name(irq->index) : NULL;

		fprintf(stderr, "irq %" PRIu32 " %s", irq->index, name ?: "-");
		if (irq->absent) {
			fprintf(stderr, " absent\n");
			continue;
		}
		if (vfio_irq_flags_strv(irq->flags, &names) < 0)
			return -ENOMEM;
		fprintf(stderr, " count %" PRIu32, irq->count);
		print_names("flags", names);
		fputc('\n', stderr);
	}
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_close_ int container = -EBADF, group = -EBADF, device = -EBADF;
	_cleanup_(vfio_info_freep) VfioInfo *info = NULL;
	int r;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: vfio-info-dump BDF\n");
		return 2;
	}
	if (open_device(argv[1], &container, &group, &device) < 0)
		return 1;
	r = vfio_info_read(device, &info);
	if (r < 0) {
		fail(r, "vfio_info_read");
		return 1;
	}
	print_info(info);
	if (print_summary(info) < 0)
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}
