/* SPDX-License-Identifier: MIT */
/*
 * Device-tree placement: the two examples of the VFIO platform-device
 * proposal end to end (sysfs fixture -> platform device -> flattened tree ->
 * node -> regions and IRQs), the edge cases of tests/unit/dts/edge-cases.dts,
 * and malformed trees, which must give a clear error and never crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devtree.h"
#include "sysfs-fixture.h"
#include "sysfs.h"
#include "tap.h"
#include "util.h"

#define CHECK_OK(expr)                                                                             \
	do {                                                                                       \
		int _r = (expr);                                                                   \
		if (_r < 0) {                                                                      \
			fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr,       \
				strerror(-_r));                                                    \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define CHECK_ERR(expr, err)                                                                       \
	do {                                                                                       \
		int _r = (expr);                                                                   \
		if (_r != (err)) {                                                                 \
			fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s\n", __FILE__,     \
				__LINE__, #expr, _r, _r < 0 ? strerror(-_r) : "ok", #err);         \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

/* The error message exists and contains `part`; frees it. */
#define CHECK_MESSAGE(error, part)                                                                 \
	do {                                                                                       \
		if (!(error) || !strstr((error), (part))) {                                        \
			fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__,          \
				__LINE__, (error) ? (error) : "(null)", (part));                   \
			test_failures++;                                                           \
		}                                                                                  \
		free(error);                                                                       \
		(error) = NULL;                                                                    \
	} while (0)

#define SATA	  "/soc@ffe000000/sata@220000"
#define DMA	  "/soc@ffe000000/dma@101300"
#define MPIC	  "/soc@ffe000000/pic@40000"
#define GIC	  "/interrupt-controller@8000000"
#define PIC2	  "/interrupt-controller@9000000"
#define EDGE_UART "/identity-bus/uart@10001000"

typedef struct Blob {
	char *data;
	size_t size;
} Blob;

/* Reads a compiled test vector from DTB_DIR, or stops the test. */
static Blob read_dtb(const char *name)
{
	const char *dir = getenv("DTB_DIR");
	char path[4096];
	struct stat st;
	Blob b;
	int fd;

	if (!dir) {
		fprintf(stderr, "DTB_DIR is not set\n");
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %m\n", path);
		exit(2);
	}
	b.size = (size_t)st.st_size;
	b.data = malloc(b.size);
	if (!b.data || read(fd, b.data, b.size) != (ssize_t)b.size) {
		fprintf(stderr, "%s: cannot read\n", path);
		exit(2);
	}
	close(fd);
	return b;
}

static DevTree *load(const Blob *b)
{
	DevTree *t = NULL;
	char *error = NULL;
	int r;

	r = devtree_from_blob(b->data, b->size, "test", &t, &error);
	if (r < 0) {
		fprintf(stderr, "cannot load a test vector: %s\n", error ? error : strerror(-r));
		exit(2);
	}
	CHECK(!error);
	return t;
}

static void check_resource(const DtResource *res, const char *node, DtProperty property,
			   unsigned index, bool translated, uint64_t address, uint64_t size)
{
	CHECK(res != NULL);
	if (!res)
		return;
	CHECK_STREQ(res->node, node);
	CHECK_STREQ(dt_property_to_string(res->property), dt_property_to_string(property));
	CHECK(res->index == index);
	CHECK(res->translated == translated);
	if (res->address != address || res->size != size) {
		fprintf(stderr, "%s %s[%u]: address 0x%llx size 0x%llx, expected 0x%llx 0x%llx\n",
			node, dt_property_to_string(property), index,
			(unsigned long long)res->address, (unsigned long long)res->size,
			(unsigned long long)address, (unsigned long long)size);
		test_failures++;
	}
}

static void check_interrupt(const DtInterrupt *irq, const char *node, DtProperty property,
			    unsigned index, const char *controller, const uint32_t *cells,
			    unsigned n_cells)
{
	CHECK(irq != NULL);
	if (!irq)
		return;
	CHECK_STREQ(irq->node, node);
	CHECK(irq->property == property);
	CHECK(irq->index == index);
	CHECK_STREQ(irq->controller, controller);
	CHECK(irq->n_cells == n_cells);
	for (unsigned i = 0; i < n_cells && i < irq->n_cells; i++)
		CHECK(irq->cells[i] == cells[i]);
}

static const DtResource *region_at(const DtDeviceInfo *info, unsigned i, uint64_t address,
				   uint64_t size)
{
	DtRegionLocation where = {.known = true, .address = address, .size = size};

	return devtree_region_source(info, i, &where);
}

/* A platform device as sysfs shows it, checked field by field. */
static void check_platform_device(int root_fd, const char *name, int group, const char *of_node,
				  const char *const *compatible, size_t n_compatible)
{
	PlatformDeviceInfo p;

	CHECK_OK(sysfs_read_platform_device(root_fd, name, &p));
	CHECK_STREQ(p.name, name);
	CHECK_STREQ(p.driver, "vfio-platform");
	CHECK(!p.driver_override);
	CHECK(p.iommu_group == group);
	CHECK(p.numa_node == -1);
	CHECK_STREQ(p.of_node, of_node);
	CHECK(strv_length(p.compatible) == n_compatible);
	for (size_t i = 0; i < n_compatible && i < strv_length(p.compatible); i++)
		CHECK_STREQ(p.compatible[i], compatible[i]);
	platform_device_info_done(&p);
}

/*
 * The proposal's EXAMPLE 1 and EXAMPLE 2 from a fixture sysfs tree, as the
 * daemon will do it: the platform device's of_node, the tree from
 * sys/firmware/fdt, the node, and each VFIO region and IRQ's source.
 */
static void test_proposal_examples(const Blob *p2041)
{
	static const char *const sata_compatible[] = {"fsl,p2041-sata", "fsl,pq-sata-v2"};
	static const char *const dma_compatible[] = {"fsl,eloplus-dma"};
	static const uint32_t sata_irq[] = {0x44, 0x2, 0x0, 0x0};
	static const uint32_t chan180_irq[] = {0x23, 0x2, 0x0, 0x0};
	static const uint32_t chan100_irq[] = {0x22, 0x2, 0x0, 0x0};
	DtRegionLocation unknown = {.known = false};
	PlatformDeviceInfo *devices = NULL;
	DtDeviceInfo sata, dma;
	DevTree *t = NULL;
	char *root = NULL, *error = NULL;
	size_t n = 0;
	int root_fd;

	CHECK_OK(fixture_new(&root));
	if (!root)
		return;
	CHECK_OK(fixture_add_devicetree(root, p2041->data, p2041->size));
	CHECK_OK(fixture_add_platform_device(root, "ffe220000.sata", "vfio-platform", 5));
	CHECK_OK(fixture_set_of_node(root, "ffe220000.sata", SATA));
	CHECK_OK(fixture_add_platform_device(root, "ffe101300.dma", "vfio-platform", 6));
	CHECK_OK(fixture_set_of_node(root, "ffe101300.dma", DMA));
	/* The interrupt controller: from the tree, but in no IOMMU group. */
	CHECK_OK(fixture_add_platform_device(root, "ffe040000.pic", NULL, -1));
	CHECK_OK(fixture_set_of_node(root, "ffe040000.pic", MPIC));
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(root_fd >= 0);

	/* Only the devices in a group can be VFIO devices. */
	CHECK_OK(sysfs_enumerate_platform(root_fd, &devices, &n));
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STREQ(devices[0].name, "ffe101300.dma");
		CHECK_STREQ(devices[0].of_node, DMA);
		CHECK_STREQ(devices[1].name, "ffe220000.sata");
		CHECK_STREQ(devices[1].of_node, SATA);
	}
	platform_device_info_array_free(devices, n);
	check_platform_device(root_fd, "ffe220000.sata", 5, SATA, sata_compatible,
			      ELEMENTSOF(sata_compatible));
	check_platform_device(root_fd, "ffe101300.dma", 6, DMA, dma_compatible,
			      ELEMENTSOF(dma_compatible));

	CHECK_OK(devtree_load(root_fd, DEVTREE_DEFAULT_PATH, &t, &error));
	CHECK(!error);
	if (!t)
		goto out;

	/* EXAMPLE 1: one region (reg 0), one IRQ, both on the SATA node. */
	CHECK_OK(devtree_describe(t, SATA, &sata, &error));
	CHECK(!error);
	CHECK_STREQ(sata.path, SATA);
	CHECK(strv_length(sata.compatible) == 2);
	CHECK_STREQ(sata.compatible[0], "fsl,p2041-sata");
	CHECK_STREQ(sata.compatible[1], "fsl,pq-sata-v2");
	CHECK(sata.n_resources == 1);
	check_resource(&sata.resources[0], SATA, DT_PROPERTY_REG, 0, true, 0xffe220000, 0x1000);
	CHECK(!sata.resources[0].name);
	CHECK(sata.n_interrupts == 1);
	check_interrupt(&sata.interrupts[0], SATA, DT_PROPERTY_INTERRUPTS, 0, MPIC, sata_irq, 4);
	CHECK(!sata.interrupts[0].name);
	/* Region 0 by address, and by kernel order when the address is unknown. */
	CHECK(region_at(&sata, 0, 0xffe220000, 0x1000) == &sata.resources[0]);
	CHECK(region_at(&sata, 0, 0xffe220000, 0) == &sata.resources[0]);
	CHECK(devtree_region_source(&sata, 0, &unknown) == &sata.resources[0]);
	CHECK(devtree_region_source(&sata, 0, NULL) == &sata.resources[0]);
	CHECK(devtree_irq_source(&sata, 0) == &sata.interrupts[0]);
	/* Nothing else is guessed. */
	CHECK(!devtree_region_source(&sata, 1, NULL));
	CHECK(!region_at(&sata, 0, 0xffe220000, 0x10000));
	CHECK(!region_at(&sata, 0, 0x220000, 0x1000));
	CHECK(!devtree_irq_source(&sata, 1));
	dt_device_info_done(&sata);

	/* EXAMPLE 2: the ranges window and the reg, and the channels' interrupts. */
	CHECK_OK(devtree_describe(t, DMA, &dma, &error));
	CHECK(!error);
	CHECK_STREQ(dma.path, DMA);
	CHECK(strv_length(dma.compatible) == 1);
	CHECK_STREQ(dma.compatible[0], "fsl,eloplus-dma");
	CHECK(dma.n_resources == 4);
	if (dma.n_resources == 4) {
		check_resource(&dma.resources[0], DMA, DT_PROPERTY_REG, 0, true, 0xffe101300, 4);
		check_resource(&dma.resources[1], DMA, DT_PROPERTY_RANGES, 0, true, 0xffe101100,
			       0x200);
		check_resource(&dma.resources[2], DMA "/dma-channel@180", DT_PROPERTY_REG, 0, true,
			       0xffe101280, 0x80);
		check_resource(&dma.resources[3], DMA "/dma-channel@100", DT_PROPERTY_REG, 0, true,
			       0xffe101200, 0x80);
	}
	CHECK(dma.n_interrupts == 2);
	if (dma.n_interrupts == 2) {
		check_interrupt(&dma.interrupts[0], DMA "/dma-channel@180", DT_PROPERTY_INTERRUPTS,
				0, MPIC, chan180_irq, 4);
		check_interrupt(&dma.interrupts[1], DMA "/dma-channel@100", DT_PROPERTY_INTERRUPTS,
				0, MPIC, chan100_irq, 4);
	}
	{
		/* The proposal's VFIO view: region 0 the window, region 1 the reg. */
		const DtResource *r0 = region_at(&dma, 0, 0xffe101100, 0x200);
		const DtResource *r1 = region_at(&dma, 1, 0xffe101300, 4);
		const DtInterrupt *i0 = devtree_irq_source(&dma, 0);
		const DtInterrupt *i1 = devtree_irq_source(&dma, 1);

		check_resource(r0, DMA, DT_PROPERTY_RANGES, 0, true, 0xffe101100, 0x200);
		check_resource(r1, DMA, DT_PROPERTY_REG, 0, true, 0xffe101300, 4);
		CHECK(i0 && streq(i0->node, DMA "/dma-channel@180") &&
		      streq(dt_property_to_string(i0->property), "interrupts") && i0->index == 0);
		CHECK(i1 && streq(i1->node, DMA "/dma-channel@100") &&
		      streq(dt_property_to_string(i1->property), "interrupts") && i1->index == 0);
		CHECK(!devtree_irq_source(&dma, 2));
		/* A region at a channel's registers resolves to the channel. */
		check_resource(region_at(&dma, 2, 0xffe101280, 0x80), DMA "/dma-channel@180",
			       DT_PROPERTY_REG, 0, true, 0xffe101280, 0x80);
		/* Addresses unknown: the kernel's order, reg entries only. */
		CHECK(devtree_region_source(&dma, 0, &unknown) == &dma.resources[0]);
		CHECK(!devtree_region_source(&dma, 1, &unknown));
	}
	dt_device_info_done(&dma);
	dt_device_info_done(&dma); /* idempotent */
	dt_device_info_done(NULL);

out:
	devtree_free(t);
	CHECK(!devtree_free(NULL));
	close(root_fd);
	fixture_free(root);
}

static void describe_ok(const DevTree *t, const char *path, DtDeviceInfo *info)
{
	char *error = NULL;
	int r;

	r = devtree_describe(t, path, info, &error);
	if (r < 0) {
		fprintf(stderr, "describe %s: %s\n", path, error ? error : strerror(-r));
		test_failures++;
		*info = (DtDeviceInfo){};
	}
	free(error);
}

static void test_edge_cases(const Blob *edge)
{
	static const uint32_t tx[] = {0, 5, 4}, rx[] = {7, 1};
	static const uint32_t t0[] = {3, 4}, t1[] = {5, 6}, mbox[] = {0, 9, 1},
			      hidden[] = {0, 9, 4};
	static const uint32_t q0a[] = {0, 20, 4}, q0b[] = {0, 21, 4}, q2[] = {22, 1};
	DevTree *t = load(edge);
	DtDeviceInfo info;
	char *error = NULL;

	/* Empty ranges: 1:1. Two named reg entries; interrupts-extended on two controllers. */
	describe_ok(t, EDGE_UART, &info);
	CHECK(info.n_resources == 2 && info.n_interrupts == 2);
	if (info.n_resources == 2 && info.n_interrupts == 2) {
		check_resource(&info.resources[0], EDGE_UART, DT_PROPERTY_REG, 0, true, 0x10001000,
			       0x1000);
		check_resource(&info.resources[1], EDGE_UART, DT_PROPERTY_REG, 1, true, 0x10002000,
			       0x100);
		CHECK_STREQ(info.resources[0].name, "regs");
		CHECK_STREQ(info.resources[1].name, "fifo");
		check_interrupt(&info.interrupts[0], EDGE_UART, DT_PROPERTY_INTERRUPTS_EXTENDED, 0,
				GIC, tx, 3);
		check_interrupt(&info.interrupts[1], EDGE_UART, DT_PROPERTY_INTERRUPTS_EXTENDED, 1,
				PIC2, rx, 2);
		CHECK_STREQ(info.interrupts[0].name, "tx");
		CHECK_STREQ(info.interrupts[1].name, "rx");
		CHECK_STREQ(dt_property_to_string(info.interrupts[1].property),
			    "interrupts-extended");
		CHECK(devtree_region_source(&info, 1, NULL) == &info.resources[1]);
		CHECK(region_at(&info, 0, 0x10002000, 0x100) == &info.resources[1]);
	}
	dt_device_info_done(&info);

	/* Nested buses: bridge window, then the bus's first window; interrupt-parent inherited. */
	describe_ok(t, "/bus@20000000/bridge@8000/timer@100", &info);
	CHECK(info.n_resources == 1 && info.n_interrupts == 2);
	if (info.n_resources == 1 && info.n_interrupts == 2) {
		check_resource(&info.resources[0], "/bus@20000000/bridge@8000/timer@100",
			       DT_PROPERTY_REG, 0, true, 0x20008100, 0x20);
		check_interrupt(&info.interrupts[0], "/bus@20000000/bridge@8000/timer@100",
				DT_PROPERTY_INTERRUPTS, 0, PIC2, t0, 2);
		check_interrupt(&info.interrupts[1], "/bus@20000000/bridge@8000/timer@100",
				DT_PROPERTY_INTERRUPTS, 1, PIC2, t1, 2);
	}
	dt_device_info_done(&info);

	/* A bridge: its reg, its window, its child; equal address and size: the first wins. */
	describe_ok(t, "/bus@20000000/bridge@8000", &info);
	CHECK(info.n_resources == 3 && info.n_interrupts == 2);
	if (info.n_resources == 3) {
		check_resource(&info.resources[0], "/bus@20000000/bridge@8000", DT_PROPERTY_REG, 0,
			       true, 0x20008000, 0x1000);
		check_resource(&info.resources[1], "/bus@20000000/bridge@8000", DT_PROPERTY_RANGES,
			       0, true, 0x20008000, 0x1000);
		check_resource(&info.resources[2], "/bus@20000000/bridge@8000/timer@100",
			       DT_PROPERTY_REG, 0, true, 0x20008100, 0x20);
		CHECK(region_at(&info, 0, 0x20008000, 0x1000) == &info.resources[0]);
	}
	dt_device_info_done(&info);

	/* The second window; an explicit interrupt-parent overrides the inherited one. */
	describe_ok(t, "/bus@20000000/mailbox@100000", &info);
	CHECK(info.n_resources == 1 && info.n_interrupts == 1);
	if (info.n_resources == 1 && info.n_interrupts == 1) {
		check_resource(&info.resources[0], "/bus@20000000/mailbox@100000", DT_PROPERTY_REG,
			       0, true, 0x30000000, 0x10);
		check_interrupt(&info.interrupts[0], "/bus@20000000/mailbox@100000",
				DT_PROPERTY_INTERRUPTS, 0, GIC, mbox, 3);
	}
	dt_device_info_done(&info);

	/* A bus with two windows and no reg; its children's IRQs (only the mailbox has any). */
	describe_ok(t, "/bus@20000000", &info);
	CHECK(info.n_resources == 4 && info.n_interrupts == 1);
	if (info.n_resources == 4) {
		check_resource(&info.resources[0], "/bus@20000000", DT_PROPERTY_RANGES, 0, true,
			       0x20000000, 0x100000);
		check_resource(&info.resources[1], "/bus@20000000", DT_PROPERTY_RANGES, 1, true,
			       0x30000000, 0x1000);
		check_resource(&info.resources[2], "/bus@20000000/bridge@8000", DT_PROPERTY_REG, 0,
			       true, 0x20008000, 0x1000);
		check_resource(&info.resources[3], "/bus@20000000/mailbox@100000", DT_PROPERTY_REG,
			       0, true, 0x30000000, 0x10);
		/* No reg of its own: no region by kernel order. */
		CHECK(!devtree_region_source(&info, 0, NULL));
	}
	dt_device_info_done(&info);

	/* Below a bus without ranges nothing translates: only kernel order attributes it. */
	describe_ok(t, "/isolated@40000000/device@10", &info);
	CHECK(info.n_resources == 1 && info.n_interrupts == 1);
	if (info.n_resources == 1 && info.n_interrupts == 1) {
		check_resource(&info.resources[0], "/isolated@40000000/device@10", DT_PROPERTY_REG,
			       0, false, 0, 4);
		check_interrupt(&info.interrupts[0], "/isolated@40000000/device@10",
				DT_PROPERTY_INTERRUPTS, 0, GIC, hidden, 3);
		CHECK(!region_at(&info, 0, 0x10, 4));
		CHECK(!region_at(&info, 0, 0x40000010, 4));
		CHECK(devtree_region_source(&info, 0, NULL) == &info.resources[0]);
	}
	dt_device_info_done(&info);
	describe_ok(t, "/isolated@40000000", &info);
	CHECK(info.n_resources == 2 && info.n_interrupts == 1);
	if (info.n_resources == 2) {
		check_resource(&info.resources[0], "/isolated@40000000", DT_PROPERTY_REG, 0, true,
			       0x40000000, 0x1000);
		check_resource(&info.resources[1], "/isolated@40000000/device@10", DT_PROPERTY_REG,
			       0, false, 0, 4);
	}
	dt_device_info_done(&info);

	/*
	 * 64-bit address and size; children on a bus without sizes do not map; IRQs of
	 * the children in tree order, skipping one without any, mixing both properties.
	 */
	describe_ok(t, "/engine@4000000000", &info);
	CHECK(info.n_resources == 4 && info.n_interrupts == 3);
	if (info.n_resources == 4 && info.n_interrupts == 3) {
		check_resource(&info.resources[0], "/engine@4000000000", DT_PROPERTY_REG, 0, true,
			       0x4000000000, 0x100000000);
		check_resource(&info.resources[1], "/engine@4000000000/queue@0", DT_PROPERTY_REG, 0,
			       false, 0, 0);
		check_resource(&info.resources[3], "/engine@4000000000/queue@2", DT_PROPERTY_REG, 0,
			       false, 0, 0);
		check_interrupt(&info.interrupts[0], "/engine@4000000000/queue@0",
				DT_PROPERTY_INTERRUPTS, 0, GIC, q0a, 3);
		check_interrupt(&info.interrupts[1], "/engine@4000000000/queue@0",
				DT_PROPERTY_INTERRUPTS, 1, GIC, q0b, 3);
		check_interrupt(&info.interrupts[2], "/engine@4000000000/queue@2",
				DT_PROPERTY_INTERRUPTS_EXTENDED, 0, PIC2, q2, 2);
		CHECK(region_at(&info, 0, 0x4000000000, 0x100000000) == &info.resources[0]);
	}
	dt_device_info_done(&info);

	/* The root: no reg of its own; its children's; a node without compatible. */
	describe_ok(t, "/", &info);
	CHECK_STREQ(info.path, "/");
	CHECK(strv_length(info.compatible) == 1 && info.n_interrupts == 0);
	CHECK(info.n_resources == 4); /* two controllers, isolated bus, engine */
	dt_device_info_done(&info);
	describe_ok(t, "/engine@4000000000/queue@1", &info);
	CHECK(info.compatible && !info.compatible[0]);
	CHECK(info.n_resources == 1 && info.n_interrupts == 0);
	if (info.n_resources == 1) {
		check_resource(&info.resources[0], "/engine@4000000000/queue@1", DT_PROPERTY_REG, 0,
			       false, 0, 0);
		CHECK(devtree_region_source(&info, 0, NULL) == &info.resources[0]);
	}
	CHECK(!devtree_region_source(&info, 1, NULL) && !devtree_irq_source(&info, 0));
	dt_device_info_done(&info);
	/* No reg, no ranges, no interrupts: fine, and empty. */
	describe_ok(t, "/identity-bus", &info);
	CHECK(info.n_interrupts == 2 && info.n_resources == 2); /* the uart's */
	dt_device_info_done(&info);
	describe_ok(t, "/interrupt-controller@9000000", &info);
	CHECK(info.n_resources == 1 && info.n_interrupts == 0);
	dt_device_info_done(&info);

	/* Names without unit addresses match as libfdt matches them; the path is canonical. */
	describe_ok(t, "/bus/bridge/timer", &info);
	CHECK_STREQ(info.path, "/bus@20000000/bridge@8000/timer@100");
	dt_device_info_done(&info);

	CHECK_ERR(devtree_describe(t, "/nope", &info, &error), -ENOENT);
	CHECK_MESSAGE(error, "/nope: no such node");
	CHECK_ERR(devtree_describe(t, "/bus@20000000/nope@1", &info, NULL), -ENOENT);
	CHECK_ERR(devtree_describe(t, "bus@20000000", &info, &error), -EINVAL);
	CHECK_ERR(devtree_describe(t, "", &info, &error), -EINVAL);
	CHECK_ERR(devtree_describe(t, NULL, &info, &error), -EINVAL);
	CHECK_ERR(devtree_describe(NULL, "/", &info, &error), -EINVAL);
	CHECK(!error);
	{
		char *longpath = malloc(DEVTREE_PATH_MAX + 1);

		CHECK(longpath != NULL);
		if (longpath) {
			memset(longpath, 'a', DEVTREE_PATH_MAX);
			longpath[0] = '/';
			longpath[DEVTREE_PATH_MAX] = '\0';
			CHECK_ERR(devtree_describe(t, longpath, &info, &error), -EINVAL);
			free(longpath);
		}
	}
	CHECK(!dt_property_to_string((DtProperty)42));
	devtree_free(t);
}

/* A writable copy of b with room to grow, for libfdt's read-write functions. */
static void *editable(const Blob *b)
{
	size_t size = b->size + 65536;
	void *fdt = malloc(size);

	if (!fdt || fdt_open_into(b->data, fdt, (int)size) < 0) {
		fprintf(stderr, "cannot open a test vector for editing\n");
		exit(2);
	}
	return fdt;
}

static int node(const void *fdt, const char *path)
{
	int offset = fdt_path_offset(fdt, path);

	if (offset < 0) {
		fprintf(stderr, "%s: %s\n", path, fdt_strerror(offset));
		exit(2);
	}
	return offset;
}

/* Loads the edited tree fdt and describes path; returns the first error. Frees fdt. */
static int describe_edited(void *fdt, const char *path, char **error)
{
	DtDeviceInfo info;
	DevTree *t = NULL;
	int r;

	CHECK(fdt_pack(fdt) == 0);
	r = devtree_from_blob(fdt, fdt_totalsize(fdt), "edited", &t, error);
	free(fdt);
	if (r < 0)
		return r;
	r = devtree_describe(t, path, &info, error);
	if (r == 0)
		dt_device_info_done(&info);
	devtree_free(t);
	return r;
}

/* Like describe_edited(), keeping the result. */
static int describe_edited_info(void *fdt, const char *path, DtDeviceInfo *info)
{
	DevTree *t = NULL;
	char *error = NULL;
	int r;

	CHECK(fdt_pack(fdt) == 0);
	r = devtree_from_blob(fdt, fdt_totalsize(fdt), "edited", &t, &error);
	free(fdt);
	if (r == 0)
		r = devtree_describe(t, path, info, &error);
	if (r < 0)
		fprintf(stderr, "describe_edited_info(%s): %s\n", path, error ? error : "?");
	free(error);
	devtree_free(t);
	return r;
}

/* Properties that are malformed for what the node needs from them. */
static void test_malformed_properties(const Blob *p2041)
{
	static const char not_terminated[] = {'f', 's', 'l'};
	static const char empty_string[] = "\0fsl";
	static const char unprintable[] = "fsl,\x01sata";
	static const uint32_t mpic_short[] = {0, 0};
	DtDeviceInfo info;
	char *error = NULL;
	uint32_t mpic_phandle;
	void *fdt;

	fdt = editable(p2041);
	mpic_phandle = fdt_get_phandle(fdt, node(fdt, MPIC));
	CHECK(mpic_phandle != 0);
	free(fdt);

	/* A reg whose length is not a whole number of cells, or of entries. */
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, node(fdt, SATA), "reg", "\0\0\0\1\0", 5) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, SATA ": reg is 5 bytes long, not a whole number of cells");
	fdt = editable(p2041);
	CHECK(fdt_setprop_u32(fdt, node(fdt, SATA), "reg", 0x220000) == 0);
	CHECK(fdt_appendprop_u32(fdt, node(fdt, SATA), "reg", 0x1000) == 0);
	CHECK(fdt_appendprop_u32(fdt, node(fdt, SATA), "reg", 0x1) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "reg has 3 cells, not a whole number of 2-cell entries");

	/* A reg without its parent's #address-cells or #size-cells: never defaulted. */
	fdt = editable(p2041);
	CHECK(fdt_delprop(fdt, node(fdt, "/soc@ffe000000"), "#address-cells") == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, SATA ": reg needs #address-cells, which /soc@ffe000000 does not have");
	fdt = editable(p2041);
	CHECK(fdt_delprop(fdt, node(fdt, "/soc@ffe000000"), "#size-cells") == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "#size-cells");
	/* ... nor the root's, which the soc's ranges need. */
	fdt = editable(p2041);
	CHECK(fdt_delprop(fdt, 0, "#address-cells") == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "/soc@ffe000000: ranges needs #address-cells, which / does not have");
	fdt = editable(p2041);
	CHECK(fdt_setprop_u32(fdt, node(fdt, "/soc@ffe000000"), "#address-cells", 5) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "#address-cells is 5, not within 1..4");
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, node(fdt, "/soc@ffe000000"), "#address-cells", "\0\0\1", 3) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "#address-cells is 3 bytes long, not one cell");
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, node(fdt, DMA), "ranges", "\0\0\0\0\0\0\0\1", 8) == 0);
	CHECK_ERR(describe_edited(fdt, DMA, &error), -EBADMSG);
	CHECK_MESSAGE(error, DMA ": ranges has 2 cells, not a whole number of 3-cell entries");

	/* A window that does not hold the address, or PCI addressing: no translation. */
	fdt = editable(p2041);
	{
		const fdt32_t small[] = {0, cpu_to_fdt32(0xf), cpu_to_fdt32(0xfe000000),
					 cpu_to_fdt32(0x1000)};

		CHECK(fdt_setprop(fdt, node(fdt, "/soc@ffe000000"), "ranges", small,
				  sizeof(small)) == 0);
	}
	if (describe_edited_info(fdt, SATA, &info) == 0) {
		CHECK(info.n_resources == 1 && !info.resources[0].translated &&
		      info.resources[0].size == 0x1000);
		dt_device_info_done(&info);
	} else
		test_failures++;
	fdt = editable(p2041);
	CHECK(fdt_setprop_string(fdt, node(fdt, "/soc@ffe000000"), "device_type", "pci") == 0);
	if (describe_edited_info(fdt, SATA, &info) == 0) {
		CHECK(info.n_resources == 1 && !info.resources[0].translated);
		dt_device_info_done(&info);
	} else
		test_failures++;
	/* An address that needs more than 64 bits does not translate. */
	fdt = editable(p2041);
	{
		const fdt32_t wide[] = {cpu_to_fdt32(1), 0, 0, 0, 0, cpu_to_fdt32(0x10)};

		CHECK(fdt_setprop_u32(fdt, node(fdt, "/soc@ffe000000"), "#address-cells", 3) == 0);
		CHECK(fdt_setprop_u32(fdt, node(fdt, "/soc@ffe000000"), "#size-cells", 3) == 0);
		CHECK(fdt_setprop(fdt, node(fdt, SATA), "reg", wide, sizeof(wide)) == 0);
		CHECK(fdt_setprop(fdt, node(fdt, "/soc@ffe000000"), "ranges", NULL, 0) == 0);
	}
	if (describe_edited_info(fdt, SATA, &info) == 0) {
		CHECK(info.n_resources == 1 && !info.resources[0].translated);
		dt_device_info_done(&info);
	} else
		test_failures++;

	/* Interrupt parents: dangling, looping, missing, relayed. */
	fdt = editable(p2041);
	CHECK(fdt_setprop_u32(fdt, node(fdt, SATA), "interrupt-parent", 0x999) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, SATA ": interrupt-parent names phandle 0x999, which no node has");
	fdt = editable(p2041);
	{
		int a = fdt_add_subnode(fdt, 0, "relay-a");
		int b = fdt_add_subnode(fdt, 0, "relay-b");

		CHECK(a >= 0 && b >= 0);
		CHECK(fdt_setprop_u32(fdt, node(fdt, "/relay-a"), "phandle", 0x100) == 0);
		CHECK(fdt_setprop_u32(fdt, node(fdt, "/relay-b"), "phandle", 0x101) == 0);
		CHECK(fdt_setprop_u32(fdt, node(fdt, "/relay-a"), "interrupt-parent", 0x101) == 0);
		CHECK(fdt_setprop_u32(fdt, node(fdt, "/relay-b"), "interrupt-parent", 0x100) == 0);
		CHECK(fdt_setprop_u32(fdt, node(fdt, SATA), "interrupt-parent", 0x100) == 0);
	}
	CHECK_ERR(describe_edited(fdt, SATA, &error), -ELOOP);
	CHECK_MESSAGE(error, SATA ": the interrupt-parent chain loops");
	fdt = editable(p2041);
	CHECK(fdt_setprop_u32(fdt, node(fdt, SATA), "interrupt-parent",
			      fdt_get_phandle(fdt, node(fdt, SATA))) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG); /* SATA has no phandle */
	CHECK_MESSAGE(error, "interrupt-parent names phandle 0x0");
	fdt = editable(p2041);
	CHECK(fdt_setprop_u32(fdt, node(fdt, SATA), "phandle", 0x77) == 0);
	CHECK(fdt_setprop_u32(fdt, node(fdt, SATA), "interrupt-parent", 0x77) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -ELOOP); /* its own parent */
	CHECK_MESSAGE(error, "loops");
	fdt = editable(p2041);
	CHECK(fdt_add_subnode(fdt, 0, "relay") >= 0);
	CHECK(fdt_setprop_u32(fdt, node(fdt, "/relay"), "phandle", 0x100) == 0);
	CHECK(fdt_setprop_u32(fdt, node(fdt, "/relay"), "interrupt-parent", mpic_phandle) == 0);
	CHECK(fdt_setprop_u32(fdt, node(fdt, SATA), "interrupt-parent", 0x100) == 0);
	if (describe_edited_info(fdt, SATA, &info) == 0) {
		CHECK(info.n_interrupts == 1 && streq(info.interrupts[0].controller, MPIC));
		dt_device_info_done(&info);
	} else
		test_failures++;
	fdt = editable(p2041);
	CHECK(fdt_delprop(fdt, 0, "interrupt-parent") == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, SATA ": no interrupt controller");
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, 0, "interrupt-parent", "\0\0", 2) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "/: interrupt-parent is 2 bytes long, not one cell");

	/* #interrupt-cells out of range, interrupts not a whole number of entries. */
	fdt = editable(p2041);
	CHECK(fdt_setprop_u32(fdt, node(fdt, MPIC), "#interrupt-cells", 0) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, MPIC ": #interrupt-cells is 0, not within 1..16");
	fdt = editable(p2041);
	CHECK(fdt_setprop_u32(fdt, node(fdt, MPIC), "#interrupt-cells", 17) == 0);
	CHECK_ERR(describe_edited(fdt, DMA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "#interrupt-cells is 17");
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, node(fdt, SATA), "interrupts", "\0\0\0\1\0\0", 6) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, SATA ": interrupts is 6 bytes long");
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, node(fdt, SATA), "interrupts", mpic_short, sizeof(mpic_short)) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "interrupts has 2 cells, not a whole number of 4-cell entries");
	/* ... also in a child that lends its interrupts to its parent. */
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, node(fdt, DMA "/dma-channel@100"), "interrupts", mpic_short,
			  sizeof(mpic_short)) == 0);
	CHECK_ERR(describe_edited(fdt, DMA, &error), -EBADMSG);
	CHECK_MESSAGE(error, DMA "/dma-channel@100: interrupts has 2 cells");

	/* interrupts-extended: an entry cut short, a phandle naming nothing. */
	fdt = editable(p2041);
	{
		fdt32_t ext[] = {cpu_to_fdt32(mpic_phandle), cpu_to_fdt32(1), cpu_to_fdt32(2)};

		CHECK(fdt_setprop(fdt, node(fdt, SATA), "interrupts-extended", ext, sizeof(ext)) ==
		      0);
	}
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, SATA ": interrupts-extended entry 0 is cut short");
	fdt = editable(p2041);
	{
		fdt32_t ext[] = {cpu_to_fdt32(mpic_phandle), 0, 0, 0, 0, 0};

		CHECK(fdt_setprop(fdt, node(fdt, SATA), "interrupts-extended", ext, sizeof(ext)) ==
		      0);
	}
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "interrupts-extended names phandle 0x0");
	fdt = editable(p2041);
	CHECK(fdt_setprop_u32(fdt, node(fdt, SATA), "interrupts-extended",
			      fdt_get_phandle(fdt, node(fdt, "/soc@ffe000000"))) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG); /* soc has no phandle either */
	CHECK_MESSAGE(error, "names phandle");

	/* Strings: not NUL-terminated, empty, unprintable. */
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, node(fdt, SATA), "compatible", not_terminated,
			  sizeof(not_terminated)) == 0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, SATA ": compatible does not end in a NUL");
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, node(fdt, SATA), "compatible", empty_string, sizeof(empty_string)) ==
	      0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "compatible: string 0 is empty or not printable ASCII");
	fdt = editable(p2041);
	CHECK(fdt_setprop(fdt, node(fdt, SATA), "reg-names", unprintable, sizeof(unprintable)) ==
	      0);
	CHECK_ERR(describe_edited(fdt, SATA, &error), -EBADMSG);
	CHECK_MESSAGE(error, "reg-names: string 0");
	/* A node name that cannot go on D-Bus; the message itself stays printable. */
	fdt = editable(p2041);
	CHECK(fdt_set_name(fdt, node(fdt, SATA), "sa\tta@220000") == 0);
	CHECK_ERR(describe_edited(fdt, "/soc@ffe000000", &error), -EBADMSG);
	CHECK(error && !strchr(error, '\t'));
	CHECK_MESSAGE(error, "/soc@ffe000000: a child's name is not printable");
	fdt = editable(p2041);
	CHECK(fdt_set_name(fdt, node(fdt, SATA), "sa\tta@220000") == 0);
	CHECK_ERR(describe_edited(fdt, "/soc@ffe000000/sa\tta@220000", &error), -EBADMSG);
	CHECK(error && !strchr(error, '\t'));
	CHECK_MESSAGE(error, "/soc@ffe000000/sa?ta@220000: node name is not printable ASCII");

	/* More entries than we hand out. */
	fdt = editable(p2041);
	{
		size_t n = 2 * (DEVTREE_ENTRIES_MAX + 1);
		fdt32_t *cells = calloc(n, sizeof(fdt32_t));

		CHECK(cells != NULL);
		if (cells)
			CHECK(fdt_setprop(fdt, node(fdt, SATA), "reg", cells,
					  (int)(n * sizeof(fdt32_t))) == 0);
		free(cells);
	}
	CHECK_ERR(describe_edited(fdt, SATA, &error), -E2BIG);
	CHECK_MESSAGE(error, "more than 1024 reg and ranges entries");
	fdt = editable(p2041);
	{
		size_t n = 4 * (DEVTREE_ENTRIES_MAX + 1);
		fdt32_t *cells = calloc(n, sizeof(fdt32_t));

		CHECK(cells != NULL);
		if (cells)
			CHECK(fdt_setprop(fdt, node(fdt, SATA), "interrupts", cells,
					  (int)(n * sizeof(fdt32_t))) == 0);
		free(cells);
	}
	CHECK_ERR(describe_edited(fdt, SATA, &error), -E2BIG);
	CHECK_MESSAGE(error, "more than 1024 interrupts");

	/* More children to read than we read (each read scans the tree). */
	fdt = editable(p2041);
	{
		void *big = realloc(fdt, fdt_totalsize(fdt) + 200000);

		CHECK(big && fdt_open_into(big, big, (int)fdt_totalsize(big) + 200000) == 0);
		fdt = big;
		for (int i = 0; fdt && i <= DEVTREE_ENTRIES_MAX; i++) {
			char name[32];
			int child;

			snprintf(name, sizeof(name), "c%d", i);
			child = fdt_add_subnode(fdt, node(fdt, DMA), name);
			CHECK(child >= 0 && fdt_setprop(fdt, child, "interrupts", NULL, 0) == 0);
		}
	}
	CHECK_ERR(describe_edited(fdt, DMA, &error), -E2BIG);
	CHECK_MESSAGE(error, DMA ": more than 1024 children with reg or interrupts");

	/* Without ret_error the same errors come back, with no message to free. */
	fdt = editable(p2041);
	CHECK(fdt_delprop(fdt, node(fdt, "/soc@ffe000000"), "#address-cells") == 0);
	CHECK_ERR(describe_edited(fdt, SATA, NULL), -EBADMSG);
}

/*
 * Builds a tree with libfdt's sequential-write API: `roots` roots, the first
 * `depth` deep, with a stray property before the first and after the last when
 * `stray_before` or `stray_after`.
 */
static void *build_tree(int roots, int depth, bool stray_before, bool stray_after, size_t *ret_size)
{
	size_t size = 65536;
	char *fdt = malloc(size);

	if (!fdt || fdt_create(fdt, (int)size) < 0 || fdt_finish_reservemap(fdt) < 0)
		exit(2);
	if (stray_before)
		CHECK(fdt_property_u32(fdt, "stray", 1) == 0);
	for (int r = 0; r < roots; r++) {
		CHECK(fdt_begin_node(fdt, "") == 0);
		CHECK(fdt_property_u32(fdt, "#address-cells", 1) == 0);
		for (int i = 0; r == 0 && i < depth; i++) {
			char name[32];

			snprintf(name, sizeof(name), "n%d", i);
			CHECK(fdt_begin_node(fdt, name) == 0);
		}
		for (int i = 0; r == 0 && i < depth; i++)
			CHECK(fdt_end_node(fdt) == 0);
		CHECK(fdt_end_node(fdt) == 0);
	}
	if (stray_after)
		CHECK(fdt_property_u32(fdt, "stray", 1) == 0);
	CHECK(fdt_finish(fdt) == 0);
	*ret_size = fdt_totalsize(fdt);
	return fdt;
}

static void check_load_fails(const void *data, size_t size, int expect, const char *part)
{
	DevTree *t = (DevTree *)0x1;
	char *error = NULL;

	CHECK_ERR(devtree_from_blob(data, size, "bad.dtb", &t, &error), expect);
	CHECK(t == (DevTree *)0x1);
	CHECK(error && startswith(error, "bad.dtb: "));
	CHECK_MESSAGE(error, part);
}

/* Blobs libfdt or our shape checks refuse. */
static void test_malformed_blobs(const Blob *p2041)
{
	char *copy = malloc(p2041->size);
	DevTree *t = NULL;
	size_t size;
	void *fdt;

	if (!copy)
		exit(2);

	/* Every truncation. */
	for (size_t n = 0; n < p2041->size; n++) {
		char *error = NULL;
		int r = devtree_from_blob(p2041->data, n, "cut", &t, &error);

		if (r != -EBADMSG || !error || !startswith(error, "cut: ")) {
			fprintf(stderr, "truncated to %zu bytes: %d, %s\n", n, r,
				error ? error : "(no message)");
			test_failures++;
		}
		free(error);
	}
	check_load_fails(p2041->data, 0, -EBADMSG, "FDT_ERR_TRUNCATED");
	check_load_fails(NULL, 0, -EBADMSG, "FDT_ERR_TRUNCATED");
	check_load_fails(p2041->data, p2041->size - 1, -EBADMSG, "FDT_ERR_TRUNCATED");

	/* Header fields. */
	memcpy(copy, p2041->data, p2041->size);
	fdt_set_magic(copy, 0xd00dfeee);
	check_load_fails(copy, p2041->size, -EBADMSG, "FDT_ERR_BADMAGIC");
	memcpy(copy, p2041->data, p2041->size);
	fdt_set_version(copy, 1);
	check_load_fails(copy, p2041->size, -EBADMSG, "FDT_ERR_BADVERSION");
	memcpy(copy, p2041->data, p2041->size);
	fdt_set_totalsize(copy, (uint32_t)p2041->size + 4);
	check_load_fails(copy, p2041->size, -EBADMSG, "FDT_ERR_TRUNCATED");
	memcpy(copy, p2041->data, p2041->size);
	fdt_set_off_dt_struct(copy, (uint32_t)p2041->size - 8);
	check_load_fails(copy, p2041->size, -EBADMSG, "not a valid flattened device tree");
	memcpy(copy, p2041->data, p2041->size);
	fdt_set_size_dt_strings(copy, fdt_size_dt_strings(copy) - 4);
	check_load_fails(copy, p2041->size, -EBADMSG, "not a valid flattened device tree");
	memcpy(copy, p2041->data, p2041->size);
	fdt_set_off_mem_rsvmap(copy, 0x7fffffff);
	check_load_fails(copy, p2041->size, -EBADMSG, "not a valid flattened device tree");
	/* The first tag is not a node: a FDT_END_NODE where the root begins. */
	memcpy(copy, p2041->data, p2041->size);
	*(fdt32_t *)(copy + fdt_off_dt_struct(copy)) = cpu_to_fdt32(FDT_END_NODE);
	check_load_fails(copy, p2041->size, -EBADMSG, "bad.dtb: ");

	/* Two roots, or a property after the root: fdt_check_full() (libfdt >= 1.6.1) or our
	 * own shape check refuses them. */
	fdt = build_tree(2, 0, false, false, &size);
	check_load_fails(fdt, size, -EBADMSG, "bad.dtb: ");
	free(fdt);
	fdt = build_tree(1, 0, false, true, &size);
	check_load_fails(fdt, size, -EBADMSG, "bad.dtb: ");
	free(fdt);
	/* Shapes fdt_check_full() lets through. */
	fdt = build_tree(1, 0, true, false, &size);
	check_load_fails(fdt, size, -EBADMSG, "bad.dtb: the structure does not start with a node");
	free(fdt);
	fdt = build_tree(1, DEVTREE_DEPTH_MAX + 1, false, false, &size);
	check_load_fails(fdt, size, -EBADMSG, "nested deeper than 64 levels");
	free(fdt);
	fdt = build_tree(1, DEVTREE_DEPTH_MAX, false, false, &size);
	CHECK_OK(devtree_from_blob(fdt, size, NULL, &t, NULL));
	if (t) {
		DtDeviceInfo info;
		char path[DEVTREE_PATH_MAX] = "";

		for (int i = 0; i < DEVTREE_DEPTH_MAX; i++)
			snprintf(path + strlen(path), sizeof(path) - strlen(path), "/n%d", i);
		CHECK_OK(devtree_describe(t, path, &info, NULL));
		dt_device_info_done(&info);
		t = devtree_free(t);
	}
	free(fdt);

	/* Too large: refused before anything is read. */
	{
		DevTree *u = (DevTree *)0x1;
		char *error = NULL;

		CHECK_ERR(
		    devtree_from_blob(p2041->data, (size_t)DEVTREE_SIZE_MAX + 1, NULL, &u, &error),
		    -EFBIG);
		CHECK(u == (DevTree *)0x1);
		CHECK_MESSAGE(error, "device tree: larger than");
		CHECK_ERR(devtree_from_blob(NULL, 1, NULL, &u, NULL), -EINVAL);
		CHECK_ERR(devtree_from_blob(p2041->data, p2041->size, NULL, NULL, NULL), -EINVAL);
	}
	free(copy);
}

/* Deterministic random damage: anything but a crash, and an error always has a message. */
static void test_damage(const Blob *b, const char *const *paths, size_t n_paths)
{
	uint64_t state = 0x9e3779b97f4a7c15;
	char *copy = malloc(b->size);
	unsigned loaded = 0, described = 0;

	if (!copy)
		exit(2);
	for (unsigned round = 0; round < 3000; round++) {
		DevTree *t = NULL;
		char *error = NULL;
		int r;

		memcpy(copy, b->data, b->size);
		for (unsigned k = 0; k < 1 + round % 4; k++) {
			state = state * 6364136223846793005ULL + 1442695040888963407ULL;
			copy[(state >> 33) % b->size] ^= (char)(1u << ((state >> 20) % 8));
		}
		r = devtree_from_blob(copy, b->size, "damaged", &t, &error);
		if (r < 0) {
			CHECK(error && !t);
			free(error);
			continue;
		}
		loaded++;
		for (size_t i = 0; i < n_paths; i++) {
			DtDeviceInfo info;
			DtRegionLocation where = {.known = true, .address = 0xffe101100};

			error = NULL;
			r = devtree_describe(t, paths[i], &info, &error);
			if (r < 0) {
				CHECK(error || r == -ENOMEM);
				free(error);
				continue;
			}
			CHECK(!error && info.path && info.compatible);
			for (size_t k = 0; k < info.n_resources; k++)
				CHECK(info.resources[k].node && info.resources[k].node[0] == '/');
			for (size_t k = 0; k < info.n_interrupts; k++)
				CHECK(info.interrupts[k].controller &&
				      info.interrupts[k].n_cells <= DEVTREE_IRQ_CELLS_MAX);
			(void)devtree_region_source(&info, 0, &where);
			(void)devtree_region_source(&info, 1, NULL);
			described++;
			dt_device_info_done(&info);
		}
		devtree_free(t);
	}
	/* The damage hit many places: some trees still load, and something describes. */
	fprintf(stderr, "damage: %u of 3000 damaged trees loaded, %u descriptions\n", loaded,
		described);
	CHECK(loaded > 0 && described > 0);
	free(copy);
}

/* devtree_load(): the file itself. */
static void test_load_file(const Blob *p2041)
{
	char *root = NULL, *error = NULL;
	DevTree *t = (DevTree *)0x1;
	int root_fd;

	CHECK_OK(fixture_new(&root));
	if (!root)
		return;
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(root_fd >= 0);
	CHECK(mkdirat(root_fd, "sys/firmware", 0755) == 0);

	/* No device tree at all (x86, ACPI): -ENOENT, the caller just has no DT info. */
	CHECK_ERR(devtree_load(root_fd, DEVTREE_DEFAULT_PATH, &t, &error), -ENOENT);
	CHECK_MESSAGE(error, "sys/firmware/fdt: cannot open: No such file or directory");
	CHECK_ERR(devtree_load(root_fd, DEVTREE_DEFAULT_PATH, &t, NULL), -ENOENT);

	CHECK_OK(fixture_write_data(root, "sys/firmware/fdt", "", 0));
	CHECK_ERR(devtree_load(root_fd, DEVTREE_DEFAULT_PATH, &t, &error), -EBADMSG);
	CHECK_MESSAGE(error, "sys/firmware/fdt: not a valid flattened device tree");
	CHECK_OK(fixture_write_data(root, "sys/firmware/fdt", p2041->data, p2041->size / 2));
	CHECK_ERR(devtree_load(root_fd, DEVTREE_DEFAULT_PATH, &t, &error), -EBADMSG);
	CHECK_MESSAGE(error, "FDT_ERR_TRUNCATED");
	CHECK(t == (DevTree *)0x1);

	/* Not a regular file: a directory, a FIFO (which must not block us). */
	CHECK_ERR(devtree_load(root_fd, "sys", &t, &error), -EINVAL);
	CHECK_MESSAGE(error, "sys: not a regular file");
	CHECK(mkfifoat(root_fd, "fifo", 0600) == 0);
	CHECK_ERR(devtree_load(root_fd, "fifo", &t, &error), -EINVAL);
	CHECK_MESSAGE(error, "fifo: not a regular file");

	/* Larger than the cap (sparse, so cheap): refused before reading. */
	{
		int fd = openat(root_fd, "huge", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		CHECK(fd >= 0 && ftruncate(fd, (off_t)DEVTREE_SIZE_MAX + 1) == 0);
		if (fd >= 0)
			close(fd);
		CHECK_ERR(devtree_load(root_fd, "huge", &t, &error), -EFBIG);
		CHECK_MESSAGE(error, "huge: larger than 67108864 bytes");
	}

	/* Trailing bytes after the tree's totalsize are allowed, and an absolute path works. */
	{
		char path[4096], *padded = calloc(1, p2041->size + 100);

		CHECK(padded != NULL);
		if (padded) {
			memcpy(padded, p2041->data, p2041->size);
			CHECK_OK(fixture_write_data(root, "sys/firmware/fdt", padded,
						    p2041->size + 100));
			free(padded);
		}
		snprintf(path, sizeof(path), "%s/sys/firmware/fdt", root);
		t = NULL;
		CHECK_OK(devtree_load(-EBADF, path, &t, &error));
		CHECK(t && !error);
		devtree_free(t);
	}
	CHECK_ERR(devtree_load(root_fd, NULL, &t, NULL), -EINVAL);

	close(root_fd);
	fixture_free(root);
}

int main(void)
{
	static const char *const p2041_paths[] = {"/",	"/soc@ffe000000",      SATA, DMA,
						  MPIC, DMA "/dma-channel@180"};
	static const char *const edge_paths[] = {"/",
						 EDGE_UART,
						 "/bus@20000000",
						 "/bus@20000000/bridge@8000",
						 "/bus@20000000/bridge@8000/timer@100",
						 "/bus@20000000/mailbox@100000",
						 "/isolated@40000000/device@10",
						 "/engine@4000000000"};
	Blob p2041 = read_dtb("freescale-p2041.dtb");
	Blob edge = read_dtb("edge-cases.dtb");

	test_proposal_examples(&p2041);
	test_edge_cases(&edge);
	test_malformed_properties(&p2041);
	test_malformed_blobs(&p2041);
	test_damage(&p2041, p2041_paths, ELEMENTSOF(p2041_paths));
	test_damage(&edge, edge_paths, ELEMENTSOF(edge_paths));
	test_load_file(&p2041);

	free(p2041.data);
	free(edge.data);
	return test_exit();
}
