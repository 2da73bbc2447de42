/* SPDX-License-Identifier: MIT */
/*
 * vfioc-batch DEVICE: libvfioc's container-mode batches against the real
 * kernel, as a uid with a container-mode grant, with vfio_iommu_type1's
 * dma_entry_limit at 4 when the claim is made (the guest script sets it).
 * The kernel refuses the fifth mapping of a batch: the four before it must be
 * unmapped again, in the container (four map again) and in the library's
 * records (unmapping them is refused, its own mmaps are gone). A batch with a
 * bad entry maps nothing; an unmap batch removes all of it.
 * Prints "ok WHAT" / "FAIL WHAT" per check; exits 1 on a failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfioc.h"

#define PAGE 0x1000
#define BASE 0x400000
#define N    5

static int failures;

static void check(bool ok, const char *what, const struct vfioc_client *client)
{
	printf("%s %s%s%s\n", ok ? "ok" : "FAIL", what, ok ? "" : ": ",
	       ok ? "" : vfioc_client_last_error(client) ?: "-");
	failures += !ok;
}

/* The library's own mmaps of DMA buffers, beside the caller's. */
static int count_buffer_maps(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "memfd:vfioc-dma") != NULL;
	fclose(f);
	return n;
}

static bool error_starts(const struct vfioc_client *client, const char *prefix)
{
	const char *e = vfioc_client_last_error(client);
	return e && !strncmp(e, prefix, strlen(prefix));
}

int main(int argc, char **argv)
{
	const struct vfioc_claim_options opts = {.size = sizeof(opts), .dma_mode = "container"};
	struct vfioc_client *client = NULL;
	struct vfioc_claim *claim = NULL;
	struct vfioc_dma_map maps[N];
	struct vfioc_dma_range ranges[N];
	const char *device;
	int r, before;

	if (argc != 2)
		return 2;
	device = argv[1];
	r = vfioc_connect(NULL, &client);
	if (r >= 0)
		r = vfioc_claim(client, &device, 1, &opts, &claim);
	if (r < 0) {
		fprintf(stderr, "vfioc-batch: claim: %s (%s)\n", strerror(-r),
			client ? vfioc_client_last_error(client) ?: "-" : "-");
		return 1;
	}
	for (int i = 0; i < N; i++) {
		void *p;
		int fd;

		if (vfioc_dma_buffer_new(PAGE, &fd, &p) < 0)
			return 1;
		maps[i] =
		    (struct vfioc_dma_map){.memfd = fd, .size = PAGE, .iova = BASE + i * PAGE};
		ranges[i] = (struct vfioc_dma_range){.iova = BASE + i * PAGE, .size = PAGE};
	}

	before = count_buffer_maps();
	r = vfioc_dma_map_batch(claim, maps, N);
	check(r == -ENOSPC && error_starts(client, "System.Error.ENOSPC: entry 4: "),
	      "the kernel refuses entry 4", client);
	check(vfioc_dma_unmap(claim, BASE, PAGE) == -ENOENT, "entry 0 is not recorded", client);
	check(count_buffer_maps() == before, "the library's mmaps of the batch are gone", client);
	/* Had entries 0-3 stayed in the container, the kernel would refuse any more. */
	check(vfioc_dma_map_batch(claim, maps, N - 1) == 0, "entries 0-3 map again", client);

	struct vfioc_dma_map overlap[] = {
	    {.memfd = maps[0].memfd, .size = PAGE, .iova = 0x800000},
	    {.memfd = maps[1].memfd, .size = 2 * PAGE, .iova = 0x801000},
	};
	check(vfioc_dma_map_batch(claim, overlap, 2) == -EBADFD &&
		  error_starts(client, "io.vfiod.Error.BadMemfd: entry 1: "),
	      "a memfd too small for its entry", client);
	overlap[1] = (struct vfioc_dma_map){.memfd = maps[1].memfd, .size = PAGE, .iova = 0x800000};
	check(vfioc_dma_map_batch(claim, overlap, 2) == -ERANGE &&
		  error_starts(client, "io.vfiod.Error.BadIova: entry 1: "),
	      "an overlap inside the batch", client);

	check(vfioc_dma_unmap_batch(claim, ranges, N - 1) == 0, "unmap of the batch", client);
	check(vfioc_dma_unmap(claim, BASE, PAGE) == -ENOENT, "nothing left to unmap", client);
	check(vfioc_dma_map_batch(claim, maps + 1, N - 1) == 0, "four more map again", client);
	check(vfioc_dma_unmap_batch(claim, ranges + 1, N - 1) == 0, "and unmap", client);
	check(count_buffer_maps() == before, "no mmap of the library is left", client);

	vfioc_claim_release(claim);
	vfioc_client_free(client);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
