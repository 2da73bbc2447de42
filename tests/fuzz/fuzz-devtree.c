/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the device-tree reader (devtree_from_blob(),
 * devtree_describe(), and the region and IRQ attribution).
 *
 * Not built by meson; by hand, from the top of the source tree:
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Icommon -Idaemon tests/fuzz/fuzz-devtree.c daemon/devtree.c -lfdt \
 *     -o /tmp/fuzz-devtree
 *   mkdir -p /tmp/fuzz-devtree-corpus
 *   cp build/tests/unit/dts/freescale-p2041.dtb build/tests/unit/dts/edge-cases.dtb \
 *     /tmp/fuzz-devtree-corpus/
 *   /tmp/fuzz-devtree -max_total_time=60 -max_len=8192 /tmp/fuzz-devtree-corpus
 *
 * The system libfdt is not instrumented: a bad read inside libfdt itself is
 * only caught if it leaves mapped memory. Besides "no crash, no leak", it
 * checks the contract: on success a tree and no message, on failure a message
 * "fuzz: ..." (or -ENOMEM) and no tree; every description of every node is
 * consistent, and a region at a resource's address is attributed to a resource
 * at that address.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devtree.h"

/* Most nodes described per input: each description scans the tree. */
#define NODES_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool printable(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s < ' ' || *s > '~')
			return false;
	return true;
}

static void check_info(const DtDeviceInfo *info)
{
	if (!printable(info->path) || info->path[0] != '/' || !info->compatible)
		abort();
	for (char **c = info->compatible; *c; c++)
		if (!printable(*c))
			abort();
	if (info->n_resources > DEVTREE_ENTRIES_MAX || info->n_interrupts > DEVTREE_ENTRIES_MAX)
		abort();

	for (size_t i = 0; i < info->n_resources; i++) {
		const DtResource *res = &info->resources[i];
		DtRegionLocation where = {
		    .known = true, .address = res->address, .size = res->size};
		const DtResource *found;

		if (!printable(res->node) || (res->name && !printable(res->name)) ||
		    !dt_property_to_string(res->property))
			abort();
		if (!res->translated && res->address != 0)
			abort();
		found = devtree_region_source(info, (unsigned)i, &where);
		/* Size 0 in a location means "unknown": then any size matches. */
		if (res->translated && (!found || found->address != res->address ||
					(res->size != 0 && found->size != res->size)))
			abort();
		if (!res->translated && found && !found->translated)
			abort();
		found = devtree_region_source(info, (unsigned)i, NULL);
		if (found &&
		    (found->property != DT_PROPERTY_REG || strcmp(found->node, info->path)))
			abort();
	}
	for (size_t i = 0; i < info->n_interrupts; i++) {
		const DtInterrupt *irq = &info->interrupts[i];

		if (!printable(irq->node) || !printable(irq->controller) ||
		    (irq->name && !printable(irq->name)) || irq->n_cells == 0 ||
		    irq->n_cells > DEVTREE_IRQ_CELLS_MAX ||
		    (irq->property != DT_PROPERTY_INTERRUPTS &&
		     irq->property != DT_PROPERTY_INTERRUPTS_EXTENDED))
			abort();
		if (devtree_irq_source(info, (unsigned)i) != irq)
			abort();
	}
	if (devtree_irq_source(info, (unsigned)info->n_interrupts))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	DevTree *t = NULL;
	char *error = NULL;
	void *copy;
	int r, node, depth = -1, described = 0;

	r = devtree_from_blob(data, size, "fuzz", &t, &error);
	if (r < 0) {
		if (t || (r != -ENOMEM && (!error || strncmp(error, "fuzz: ", 6) != 0)))
			abort();
		free(error);
		return 0;
	}
	if (!t || error)
		abort();

	/* Describe every node (up to NODES_MAX) by its path; our own aligned copy to walk. */
	copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	for (node = fdt_next_node(copy, -1, &depth);
	     node >= 0 && depth >= 0 && described < NODES_MAX;
	     node = fdt_next_node(copy, node, &depth), described++) {
		char path[DEVTREE_PATH_MAX];
		DtDeviceInfo info;

		if (fdt_get_path(copy, node, path, sizeof(path)) < 0)
			continue;
		error = NULL;
		r = devtree_describe(t, path, &info, &error);
		if (r < 0) {
			if (r != -ENOMEM && r != -ENOENT && !error)
				abort();
			if (error && !printable(error))
				abort();
			free(error);
			continue;
		}
		if (error)
			abort();
		check_info(&info);
		dt_device_info_done(&info);
	}
	free(copy);
	devtree_free(t);
	return 0;
}
