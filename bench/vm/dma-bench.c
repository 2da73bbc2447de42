/* SPDX-License-Identifier: MIT */
/*
 * dma-bench DIRECT_BDF BROKERED_BDF (as an unprivileged uid with a policy
 * grant, in the VM): DMA map + unmap of a sealed memfd buffer of 4 KiB,
 * 2 MiB and 64 MiB, brokered (vfiod's MapDma/UnmapDma: the daemon maps the
 * memfd and calls VFIO_IOMMU_MAP_DMA) against the client calling
 * VFIO_IOMMU_MAP_DMA/UNMAP_DMA itself on the container fd of a container-mode
 * claim, with the buffer already mapped. The pages are touched once first, so
 * both sides pin resident pages. libvfioc has no batched map call: one call per
 * buffer. The two sides alternate every iteration.
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

static const struct {
	uint64_t size;
	const char *name;
	unsigned iterations;
	bool throughput; /* the target is on throughput (2 MiB and larger) */
} sizes[] = {
    {4096, "4 KiB", 200, false},
    {2 * MIB, "2 MiB", 60, true},
    {64 * MIB, "64 MiB", 8, true},
};

static int direct_map_unmap(int container, void *ptr, uint64_t size, uint64_t iova, double *us)
{
	struct vfio_iommu_type1_dma_map map = {
	    .argsz = sizeof(map),
	    .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	    .vaddr = (uintptr_t)ptr,
	    .iova = iova,
	    .size = size,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
	    .argsz = sizeof(unmap), .iova = iova, .size = size};
	double t0 = now_usec();

	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0)
		return negative_errno();
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		return negative_errno();
	*us = now_usec() - t0;
	return 0;
}

static int brokered_map_unmap(struct vfioc_claim *claim, int memfd, uint64_t size, uint64_t iova,
			      double *us)
{
	double t0 = now_usec();
	int r;

	r = vfioc_dma_map(claim, memfd, 0, size, iova, 0);
	if (r < 0)
		return r;
	r = vfioc_dma_unmap(claim, iova, size);
	if (r < 0)
		return r;
	*us = now_usec() - t0;
	return 0;
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
	uint64_t size = sizes[k].size, iova;
	Samples direct = {0}, broker = {0};
	char name[96];
	void *ptr;
	int memfd, r;
	unsigned n = sizes[k].iterations * scale / 100 ?: 1;

	r = vfioc_dma_buffer_new(size, &memfd, &ptr);
	if (r < 0)
		return r;
	memset(ptr, 0x5a, size); /* resident before the first pin, on both sides */
	r = vfioc_claim_find_iova(brokered, size, UINT64_MAX, &iova);
	for (unsigned i = 0; r >= 0 && i <= n; i++) {
		double us[2];

		if (i % 2 == 0) {
			r = direct_map_unmap(container, ptr, size, iova, &us[0]);
			if (r >= 0)
				r = brokered_map_unmap(brokered, memfd, size, iova, &us[1]);
		} else {
			r = brokered_map_unmap(brokered, memfd, size, iova, &us[1]);
			if (r >= 0)
				r = direct_map_unmap(container, ptr, size, iova, &us[0]);
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
		    k == 0 ? "vfiod: MapDma+UnmapDma over the socket; baseline: "
			     "VFIO_IOMMU_MAP_DMA+UNMAP_DMA on the container fd"
			   : NULL);
	if (sizes[k].throughput) {
		double mib = (double)size / (double)MIB;

		snprintf(name, sizeof(name), "map+unmap %s, throughput", sizes[k].name);
		figure_emit(json, "3 DMA", name, "MiB/s",
			    mib / samples_quantile(&broker, 0.5) * 1e6,
			    mib / samples_quantile(&direct, 0.5) * 1e6, "ratio >= 0.80",
			    "size / median map+unmap time");
	}
	r = 0;
out:
	samples_clear(&direct);
	samples_clear(&broker);
	munmap(ptr, size);
	close(memfd);
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
