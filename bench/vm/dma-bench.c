/* SPDX-License-Identifier: MIT */
/*
 * dma-bench DIRECT_BDF BROKERED_BDF (as an unprivileged uid with a policy
 * grant, in the VM): DMA map + unmap of a sealed memfd buffer of 4 KiB,
 * 2 MiB and 64 MiB, brokered (vfiod's MapDma/UnmapDma: the daemon maps the
 * memfd and calls VFIO_IOMMU_MAP_DMA) against the client calling
 * VFIO_IOMMU_MAP_DMA/UNMAP_DMA itself on the container fd of a container-mode
 * claim, with the buffer already mapped. Then batches of 16 buffers of 4 KiB
 * and 2 MiB: one MapDmaBatch and one UnmapDmaBatch against 16 MAP_DMA and 16
 * UNMAP_DMA ioctls. The pages are touched once first, so both sides pin
 * resident pages. The two sides alternate every iteration.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench-args.h"
#include "figures.h"
#include "samples.h"
#include "util.h"
#include "vfioc.h"

#define MIB (UINT64_C(1) << 20)

/* BATCH buffers per map+unmap round: the batched figures. */
#define BATCH 16

static const struct {
	uint64_t size;
	unsigned count; /* buffers per round: 1, or BATCH mapped and unmapped with one call each */
	const char *name;
	unsigned iterations;
	const char *target; /* on throughput; the issue sets one for 2 MiB and larger */
} sizes[] = {
    {4096, 1, "4 KiB", 200, NULL},
    {2 * MIB, 1, "2 MiB", 60, "ratio >= 0.80"},
    {64 * MIB, 1, "64 MiB", 8, "ratio >= 0.80"},
    {4096, BATCH, "16 x 4 KiB batch", 100, NULL},
    {2 * MIB, BATCH, "16 x 2 MiB batch", 20, "ratio >= 0.80"},
};

/* The buffers of one size, mapped at consecutive IOVAs. */
typedef struct Buffers {
	uint64_t size;
	unsigned count;
	int memfd[BATCH];
	void *ptr[BATCH];
	uint64_t iova;
} Buffers;

static int direct_map_unmap(int container, const Buffers *b, double *us)
{
	double t0 = now_usec();

	for (unsigned i = 0; i < b->count; i++) {
		struct vfio_iommu_type1_dma_map map = {
		    .argsz = sizeof(map),
		    .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		    .vaddr = (uintptr_t)b->ptr[i],
		    .iova = b->iova + i * b->size,
		    .size = b->size,
		};
		if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0)
			return negative_errno();
	}
	for (unsigned i = 0; i < b->count; i++) {
		struct vfio_iommu_type1_dma_unmap unmap = {
		    .argsz = sizeof(unmap), .iova = b->iova + i * b->size, .size = b->size};
		if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
			return negative_errno();
	}
	*us = now_usec() - t0;
	return 0;
}

/* One MapDma+UnmapDma for one buffer, one MapDmaBatch+UnmapDmaBatch for several. */
static int brokered_map_unmap(struct vfioc_claim *claim, const Buffers *b, double *us)
{
	struct vfioc_dma_map maps[BATCH];
	struct vfioc_dma_range ranges[BATCH];
	double t0;
	int r;

	for (unsigned i = 0; i < b->count; i++) {
		maps[i] = (struct vfioc_dma_map){
		    .memfd = b->memfd[i], .size = b->size, .iova = b->iova + i * b->size};
		ranges[i] = (struct vfioc_dma_range){.iova = maps[i].iova, .size = b->size};
	}
	t0 = now_usec();
	r = vfioc_dma_map_batch(claim, maps, b->count);
	if (r < 0)
		return r;
	r = vfioc_dma_unmap_batch(claim, ranges, b->count);
	if (r < 0)
		return r;
	*us = now_usec() - t0;
	return 0;
}

static void buffers_free(Buffers *b)
{
	for (unsigned i = 0; i < b->count; i++)
		if (b->ptr[i]) {
			munmap(b->ptr[i], b->size);
			close(b->memfd[i]);
		}
}

static int buffers_new(struct vfioc_claim *claim, uint64_t size, unsigned count, Buffers *ret)
{
	int r;

	*ret = (Buffers){.size = size, .count = count};
	for (unsigned i = 0; i < count; i++) {
		r = vfioc_dma_buffer_new(size, &ret->memfd[i], &ret->ptr[i]);
		if (r < 0)
			return r;
		memset(ret->ptr[i], 0x5a, size); /* resident before the first pin, on both sides */
	}
	return vfioc_claim_find_iova(claim, size * count, UINT64_MAX, &ret->iova);
}

static int claim_mode(struct vfioc_client *client, const char *bdf, const char *mode,
		      struct vfioc_claim **ret)
{
	const struct vfioc_claim_options opts = {.size = sizeof(opts), .dma_mode = mode};
	int r = vfioc_claim(client, &bdf, 1, &opts, ret);

	if (r < 0)
		fprintf(stderr, "dma-bench: %s claim of %s: %s (%s)\n", mode, bdf, strerror(-r),
			vfioc_client_last_error(client) ?: "-");
	return r;
}

static int bench_size(FILE *json, int container, struct vfioc_claim *brokered, size_t k,
		      unsigned scale)
{
	Samples direct = {0}, broker = {0};
	unsigned n = sizes[k].iterations * scale / 100 ?: 1;
	char name[96];
	Buffers b;
	int r;

	r = buffers_new(brokered, sizes[k].size, sizes[k].count, &b);
	for (unsigned i = 0; r >= 0 && i <= n; i++) {
		double us[2];

		if (i % 2 == 0) {
			r = direct_map_unmap(container, &b, &us[0]);
			if (r >= 0)
				r = brokered_map_unmap(brokered, &b, &us[1]);
		} else {
			r = brokered_map_unmap(brokered, &b, &us[1]);
			if (r >= 0)
				r = direct_map_unmap(container, &b, &us[0]);
		}
		if (r >= 0 && i > 0) /* the first is a warm-up */
			r = samples_add(&direct, us[0]) ?: samples_add(&broker, us[1]);
	}
	if (r < 0) {
		fprintf(stderr, "dma-bench: %s: %s\n", sizes[k].name, strerror(-r));
		goto out;
	}
	snprintf(name, sizeof(name), "map+unmap %s, median", sizes[k].name);
	figure_emit(json, "3 DMA", name, "us", samples_quantile(&broker, 0.5),
		    samples_quantile(&direct, 0.5), NULL,
		    k == 0		 ? "vfiod: MapDma+UnmapDma over the socket; baseline: "
					   "VFIO_IOMMU_MAP_DMA+UNMAP_DMA on the container fd"
		    : sizes[k].count > 1 ? "vfiod: one MapDmaBatch + one UnmapDmaBatch; baseline: "
					   "16 MAP_DMA + 16 UNMAP_DMA ioctls"
					 : NULL);
	if (sizes[k].size >= 2 * MIB || sizes[k].count > 1) {
		double mib = (double)(sizes[k].size * sizes[k].count) / (double)MIB;

		snprintf(name, sizeof(name), "map+unmap %s, throughput", sizes[k].name);
		figure_emit(json, "3 DMA", name, "MiB/s",
			    mib / samples_quantile(&broker, 0.5) * 1e6,
			    mib / samples_quantile(&direct, 0.5) * 1e6, sizes[k].target,
			    "bytes per round / median map+unmap time");
	}
	r = 0;
out:
	samples_clear(&direct);
	samples_clear(&broker);
	buffers_free(&b);
	return r;
}

int main(int argc, char **argv)
{
	struct vfioc_claim *container_claim = NULL, *brokered_claim = NULL;
	struct vfioc_client *client = NULL;
	unsigned scale;
	BenchArgs a;
	int container, r;

	if (bench_args_parse(argc, argv, 2, "DIRECT_BDF BROKERED_BDF", &a) < 0)
		return 2;
	/* --iterations scales the per-size counts, in percent. */
	scale = a.iterations ?: 100;
	r = vfioc_connect(NULL, &client);
	if (r < 0) {
		fprintf(stderr, "dma-bench: connect: %s\n", strerror(-r));
		return 1;
	}
	if (claim_mode(client, a.rest[0], "container", &container_claim) < 0 ||
	    claim_mode(client, a.rest[1], "brokered", &brokered_claim) < 0)
		return 1;
	container = vfioc_claim_container_fd(container_claim);
	if (container < 0) {
		fprintf(stderr, "dma-bench: no container fd: %s\n", strerror(-container));
		return 1;
	}
	for (size_t k = 0; k < ELEMENTSOF(sizes); k++)
		if (bench_size(a.json, container, brokered_claim, k, scale) < 0)
			return 1;
	vfioc_claim_release(container_claim);
	vfioc_claim_release(brokered_claim);
	vfioc_client_free(client);
	return 0;
}
