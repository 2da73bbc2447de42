/* SPDX-License-Identifier: MIT */
/*
 * Platform devices of the real vfiod binary on a fixture sysfs tree that
 * carries the two examples of the original VFIO platform-device proposal
 * (tests/unit/dts/freescale-p2041.dts): object paths, identity, the DT node
 * and compatible list, and where every region and IRQ candidate comes from.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"
#include "vfiod-spawn.h"

#define IFACE	  "io.vfiod.Broker1.Device"
#define SATA_PATH "/io/vfiod/Broker1/device/platform_ffe220000_2esata"
#define DMA_PATH  "/io/vfiod/Broker1/device/platform_ffe101300_2edma"
#define SATA	  "/soc@ffe000000/sata@220000"
#define DMA	  "/soc@ffe000000/dma@101300"

static sd_bus *bus;

static int read_dtb(const char *name, char **ret, size_t *ret_size)
{
	const char *dir = getenv("DTB_DIR");
	char path[4096];
	struct stat st;
	int fd;

	if (!dir)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !(*ret = malloc(st.st_size)) ||
	    read(fd, *ret, st.st_size) != st.st_size)
		return -EIO;
	close(fd);
	*ret_size = st.st_size;
	return 0;
}

/* A property rendered as text, one entry a line, for comparison. */
static char *render(const char *path, const char *property, const char *type)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	const char *a, *b, *c, *d;
	uint32_t u;
	uint64_t x, y;
	int flag;

	if (sd_bus_get_property(bus, NULL, path, IFACE, property, &e, &reply, type) < 0) {
		fprintf(f, "error %s", e.name);
		goto done;
	}
	if (streq(type, "s")) {
		if (sd_bus_message_read(reply, "s", &a) > 0)
			fprintf(f, "%s", a);
	} else if (streq(type, "as")) {
		sd_bus_message_enter_container(reply, 'a', "s");
		while (sd_bus_message_read(reply, "s", &a) > 0)
			fprintf(f, "%s\n", a);
	} else if (streq(type, "a(ssusbtt)")) {
		sd_bus_message_enter_container(reply, 'a', "(ssusbtt)");
		while (sd_bus_message_read(reply, "(ssusbtt)", &a, &b, &u, &c, &flag, &x, &y) > 0)
			fprintf(f, "%s %s %u '%s' %s 0x%llx 0x%llx\n", a, b, u, c,
				flag ? "translated" : "untranslated", (unsigned long long)x,
				(unsigned long long)y);
	} else if (streq(type, "a(ssuss)")) {
		sd_bus_message_enter_container(reply, 'a', "(ssuss)");
		while (sd_bus_message_read(reply, "(ssuss)", &a, &b, &u, &c, &d) > 0)
			fprintf(f, "%s %s %u '%s' %s\n", a, b, u, c, d);
	}
done:
	fclose(f);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return out;
}

static int get_bool(const char *path, const char *property)
{
	int v = -1;

	if (sd_bus_get_property_trivial(bus, NULL, path, IFACE, property, NULL, 'b', &v) < 0)
		return -1;
	return v;
}

static void check(const char *path, const char *property, const char *type, const char *expected)
{
	_cleanup_free_ char *got = render(path, property, type);

	if (!streq_ptr(got, expected)) {
		fprintf(stderr, "%s %s:\n--- got\n%s\n--- expected\n%s\n", path, property, got,
			expected);
		test_failures++;
	}
}

int main(void)
{
	VfiodPaths paths;
	pid_t vfiod;
	char *root = NULL, *dtb = NULL;
	size_t dtb_size = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(read_dtb("freescale-p2041.dtb", &dtb, &dtb_size) == 0);
	CHECK(fixture_new(&root) == 0);
	CHECK(fixture_add_devicetree(root, dtb, dtb_size) == 0);
	CHECK(fixture_add_platform_device(root, "ffe220000.sata", "vfio-platform", 5) == 0);
	CHECK(fixture_set_of_node(root, "ffe220000.sata", SATA) == 0);
	CHECK(fixture_add_platform_device(root, "ffe101300.dma", "vfio-platform", 6) == 0);
	CHECK(fixture_set_of_node(root, "ffe101300.dma", DMA) == 0);
	/* In no IOMMU group: never a VFIO device, so no object. */
	CHECK(fixture_add_platform_device(root, "ffe040000.pic", NULL, -1) == 0);

	CHECK(vfiod_prepare(root, "[Rule sata]\nCompatibles=fsl,pq-sata-v2\nUsers=0\n", &paths) ==
	      0);
	vfiod = vfiod_spawn(root, &paths, (char *[]){vfiod_no_seccomp_arg(), NULL}, NULL, false);
	CHECK(vfiod > 0);
	bus = vfiod > 0 ? vfiod_connect(paths.address) : NULL;
	CHECK(bus);
	if (bus) {
		check(SATA_PATH, "Name", "s", "ffe220000.sata");
		check(SATA_PATH, "Kind", "s", "platform");
		check(SATA_PATH, "Driver", "s", "vfio-platform");
		check(SATA_PATH, "DeviceTreeNode", "s", SATA);
		check(SATA_PATH, "Compatible", "as", "fsl,p2041-sata\nfsl,pq-sata-v2\n");
		check(SATA_PATH, "DeviceTreeError", "s", "");
		/* Example 1: region 0 = reg entry 0 of the node, IRQ 0 on the same node. */
		check(SATA_PATH, "DeviceTreeResources", "a(ssusbtt)",
		      SATA " reg 0 '' translated 0xffe220000 0x1000\n");
		check(SATA_PATH, "DeviceTreeInterrupts", "a(ssuss)",
		      SATA " interrupts 0 '' /soc@ffe000000/pic@40000\n");

		/* Example 2: the ranges window and reg of the node, the channels' own reg and
		 * their interrupts in tree order (IRQ 0 = dma-channel@180). */
		check(DMA_PATH, "DeviceTreeNode", "s", DMA);
		check(DMA_PATH, "Compatible", "as", "fsl,eloplus-dma\n");
		check(DMA_PATH, "DeviceTreeResources", "a(ssusbtt)",
		      DMA " reg 0 '' translated 0xffe101300 0x4\n" DMA
			  " ranges 0 '' translated 0xffe101100 0x200\n" DMA
			  "/dma-channel@180 reg 0 '' translated 0xffe101280 0x80\n" DMA
			  "/dma-channel@100 reg 0 '' translated 0xffe101200 0x80\n");
		check(DMA_PATH, "DeviceTreeInterrupts", "a(ssuss)",
		      DMA "/dma-channel@180 interrupts 0 '' /soc@ffe000000/pic@40000\n" DMA
			  "/dma-channel@100 interrupts 0 '' /soc@ffe000000/pic@40000\n");

		/* Managed by the rule's Compatibles=; the DMA engine is not. */
		CHECK(get_bool(SATA_PATH, "Managed") == 1);
		CHECK(get_bool(DMA_PATH, "Managed") == 0);
		check("/io/vfiod/Broker1/device/platform_ffe220000_2Esata", "Name", "s",
		      "error org.freedesktop.DBus.Error.UnknownObject");
		check("/io/vfiod/Broker1/device/platform_ffe040000_2epic", "Name", "s",
		      "error org.freedesktop.DBus.Error.UnknownObject");
	}
	bus = sd_bus_flush_close_unref(bus);
	CHECK(vfiod_stop(vfiod) == 0);
	fixture_free(root);
	free(dtb);
	return test_exit();
}
