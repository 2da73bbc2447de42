/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "group.h"
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

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "open %s: %m\n", path);
		exit(2);
	}
	return fd;
}

/* Adds a device or stops the test: a fixture that cannot be built proves nothing. */
static void add(const char *root, const char *address, uint16_t vendor, uint16_t device,
		uint32_t class_code, const char *driver, int group)
{
	int r = fixture_add_pci_device(root, address, vendor, device, 0x1af4, 0x1100, class_code,
				       driver, group, -1);

	if (r < 0) {
		fprintf(stderr, "fixture_add_pci_device(%s): %s\n", address, strerror(-r));
		exit(2);
	}
}

/*
 * The main tree, added in an order unlike the sorted one:
 *   group 0:  0000:00:00.0 host bridge, unbound
 *   group 1:  0000:00:01.0 pcieport, 0000:01:00.0 e1000        -> not viable
 *   group 3:  0000:00:03.0 vfio-pci (edu), numa 0, own subsystem -> viable
 *   group 4:  0000:00:04.0 vfio-pci, 0000:00:04.1 unbound       -> viable
 *   no group: 0000:00:05.0 virtio-pci
 *   group 6:  0000:00:06.0 mlx5_vfio_pci, 0000:00:06.1 vfio-pci -> viable
 *   group 7:  0000:00:1c.0 pcieport, 0000:02:00.0 vfio-pci      -> viable
 *   group 9:  0000:00:09.0 vfio-pci, ff100000.dma dw-dmac        -> not viable
 *   group 10: 0000:00:0a.0 vfio-pci, ff200000.dma vfio-platform  -> viable
 *   group 11: 0000:00:0b.0 e1000e, 0000:00:0b.1 igb              -> not viable (first: 0b.0)
 */
static void build_tree(const char *root)
{
	add(root, "0000:02:00.0", 0x1b36, 0x0010, 0x010802, "vfio-pci", 7);
	add(root, "0000:00:05.0", 0x1af4, 0x1000, 0x020000, "virtio-pci", -1);
	add(root, "0000:01:00.0", 0x8086, 0x100e, 0x020000, "e1000", 1);
	add(root, "0000:00:01.0", 0x8086, 0x29c1, 0x060400, "pcieport", 1);
	add(root, "0000:00:00.0", 0x8086, 0x29c0, 0x060000, NULL, 0);
	add(root, "0000:00:04.1", 0x1b36, 0x0010, 0x010802, NULL, 4);
	add(root, "0000:00:04.0", 0x1b36, 0x0010, 0x010802, "vfio-pci", 4);
	add(root, "0000:00:06.1", 0x15b3, 0x101e, 0x020000, "vfio-pci", 6);
	add(root, "0000:00:06.0", 0x15b3, 0x101d, 0x020000, "mlx5_vfio_pci", 6);
	add(root, "0000:00:1c.0", 0x8086, 0x2448, 0x060400, "pcieport", 7);
	add(root, "0000:00:09.0", 0x1234, 0x11e8, 0x00ff00, "vfio-pci", 9);
	add(root, "0000:00:0a.0", 0x1234, 0x11e8, 0x00ff00, "vfio-pci", 10);
	add(root, "0000:00:0b.1", 0x8086, 0x10c9, 0x020000, "igb", 11);
	add(root, "0000:00:0b.0", 0x8086, 0x10d3, 0x020000, "e1000e", 11);
	CHECK_OK(fixture_add_pci_device(root, "0000:00:03.0", 0x1234, 0x11e8, 0xabcd, 0x00ef,
					0x00ff00, "vfio-pci", 3, 0));
	CHECK_OK(fixture_add_platform_device(root, "ff100000.dma", "dw-dmac", 9));
	CHECK_OK(fixture_add_platform_device(root, "ff200000.dma", "vfio-platform", 10));
}

static const char *const tree_addresses[] = {
    "0000:00:00.0", "0000:00:01.0", "0000:00:03.0", "0000:00:04.0", "0000:00:04.1",
    "0000:00:05.0", "0000:00:06.0", "0000:00:06.1", "0000:00:09.0", "0000:00:0a.0",
    "0000:00:0b.0", "0000:00:0b.1", "0000:00:1c.0", "0000:01:00.0", "0000:02:00.0",
};

static const PciDeviceInfo *find(const PciDeviceInfo *a, size_t n, const char *address)
{
	for (size_t i = 0; i < n; i++)
		if (streq(a[i].address, address))
			return &a[i];
	return NULL;
}

static void test_enumerate(int root_fd)
{
	PciDeviceInfo *a = NULL;
	const PciDeviceInfo *d;
	size_t n = 0;

	CHECK_OK(sysfs_enumerate_pci(root_fd, &a, &n));
	CHECK(n == ELEMENTSOF(tree_addresses));
	for (size_t i = 0; i < n && i < ELEMENTSOF(tree_addresses); i++)
		CHECK_STREQ(a[i].address, tree_addresses[i]);

	d = find(a, n, "0000:00:00.0");
	CHECK(d && !d->driver && d->iommu_group == 0 && d->class_code == 0x060000);
	d = find(a, n, "0000:00:05.0");
	CHECK(d && d->iommu_group == -1);
	CHECK(d && streq_ptr(d->driver, "virtio-pci"));
	d = find(a, n, "0000:01:00.0");
	CHECK(d && d->vendor_id == 0x8086 && d->device_id == 0x100e && d->iommu_group == 1);
	CHECK(d && streq_ptr(d->driver, "e1000"));
	d = find(a, n, "0000:00:06.0");
	CHECK(d && streq_ptr(d->driver, "mlx5_vfio_pci") && d->iommu_group == 6);
	d = find(a, n, "0000:00:04.1");
	CHECK(d && !d->driver && d->iommu_group == 4);

	a = pci_device_info_array_free(a, n);
	CHECK(!a);
}

static void test_read_device(int root_fd)
{
	PciDeviceInfo info;

	CHECK_OK(sysfs_read_pci_device(root_fd, "0000:00:03.0", &info));
	CHECK_STREQ(info.address, "0000:00:03.0");
	CHECK(info.vendor_id == 0x1234);
	CHECK(info.device_id == 0x11e8);
	CHECK(info.subsystem_vendor_id == 0xabcd);
	CHECK(info.subsystem_device_id == 0x00ef);
	CHECK(info.class_code == 0x00ff00);
	CHECK_STREQ(info.driver, "vfio-pci");
	CHECK(info.iommu_group == 3);
	CHECK(info.numa_node == 0);

	pci_device_info_done(&info);
	CHECK(!info.driver && info.iommu_group == -1 && info.numa_node == -1 &&
	      info.vendor_id == 0 && info.address[0] == '\0');
	pci_device_info_done(NULL);
	CHECK(!pci_device_info_array_free(NULL, 0));
}

static void test_read_errors(int root_fd)
{
	static const char *const invalid[] = {
	    "../../etc",
	    "0000:00:03.0/",
	    "0000:00:03.0/../../../..",
	    "",
	    "0000:00:0A.0",
	    "00:03.0",
	    ".",
	    "..",
	};
	PciDeviceInfo info;

	for (size_t i = 0; i < ELEMENTSOF(invalid); i++)
		CHECK_ERR(sysfs_read_pci_device(root_fd, invalid[i], &info), -EINVAL);
	CHECK_ERR(sysfs_read_pci_device(root_fd, NULL, &info), -EINVAL);

	/* ret is left alone on failure */
	memset(&info, 0x5a, sizeof(info));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:1f.7", &info), -ENODEV);
	CHECK(info.address[0] == 0x5a && info.iommu_group == 0x5a5a5a5a);
	CHECK_ERR(sysfs_read_pci_device(root_fd, "ffff:ff:00.0", &info), -ENODEV);
}

static void test_malformed(const char *root, int root_fd)
{
	static const struct {
		const char *file;
		const char *contents;
		int expect; /* 0: parses */
	} cases[] = {
	    {"vendor", "0x12345\n", -EIO},
	    {"vendor", "1234\n", -EIO},
	    {"vendor", "0x12g4\n", -EIO},
	    {"vendor", "0x123\n", -EIO},
	    {"vendor", "0X1234\n", -EIO},
	    {"vendor", "0x1234\n\n", -EIO},
	    {"vendor", "0x1234 ", -EIO},
	    {"vendor", " 0x1234", -EIO},
	    {"vendor", "", -EIO},
	    {"vendor", "\n", -EIO},
	    {"vendor", "0x1234\n0x1234\n0x1234\n0x1234\n0x1234\n0x1234\n", -EIO},
	    {"vendor", "0x1234", 0},
	    {"vendor", "0xABcd\n", 0},
	    {"device", "-0x123\n", -EIO},
	    {"subsystem_vendor", "0x\n", -EIO},
	    {"subsystem_device", "0x12345678\n", -EIO},
	    {"class", "0x0200\n", -EIO},
	    {"class", "0x02000000\n", -EIO},
	    {"class", "0x020000\n", 0},
	    {"numa_node", "abc\n", -EIO},
	    {"numa_node", "-2\n", -EIO},
	    {"numa_node", "01\n", -EIO},
	    {"numa_node", "+1\n", -EIO},
	    {"numa_node", "99999999999\n", -EIO},
	    {"numa_node", "\n", -EIO},
	    {"numa_node", "1 \n", -EIO},
	    {"numa_node", "3\n", 0},
	};
	const char *dir = "sys/devices/pci0000:00/0000:00:0f.0";
	PciDeviceInfo info;
	char path[256];

	add(root, "0000:00:0f.0", 0x1234, 0x5678, 0x020000, "vfio-pci", 15);

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int r;

		/* Each case starts from a freshly written, valid device. */
		CHECK_OK(fixture_remove_pci_device(root, "0000:00:0f.0"));
		add(root, "0000:00:0f.0", 0x1234, 0x5678, 0x020000, "vfio-pci", 15);
		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].file);
		CHECK_OK(fixture_write_file(root, path, cases[i].contents));
		r = sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info);
		if (r != cases[i].expect) {
			fprintf(stderr, "%s:%d: %s = \"%s\": got %d, expected %d\n", __FILE__,
				__LINE__, cases[i].file, cases[i].contents, r, cases[i].expect);
			test_failures++;
		}
		if (r == 0) {
			if (streq(cases[i].file, "vendor"))
				CHECK(info.vendor_id ==
				      (cases[i].contents[2] == 'A' ? 0xabcd : 0x1234));
			if (streq(cases[i].file, "numa_node"))
				CHECK(info.numa_node == 3);
			pci_device_info_done(&info);
		}
	}

	/* An embedded NUL is malformed. */
	{
		char full[512];
		int fd;

		snprintf(full, sizeof(full), "%s/%s/vendor", root, dir);
		fd = open(full, O_WRONLY | O_TRUNC | O_CLOEXEC);
		CHECK(fd >= 0 && write(fd, "0x1234\0\n", 8) == 8);
		if (fd >= 0)
			close(fd);
		CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);
	}

	/* A missing required attribute is malformed; a missing numa_node means "unknown". */
	CHECK_OK(fixture_remove_pci_device(root, "0000:00:0f.0"));
	add(root, "0000:00:0f.0", 0x1234, 0x5678, 0x020000, "vfio-pci", 15);
	snprintf(path, sizeof(path), "%s/numa_node", dir);
	CHECK_OK(fixture_write_file(root, path, "2\n"));
	CHECK_OK(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info));
	CHECK(info.numa_node == 2);
	pci_device_info_done(&info);
	CHECK_OK(fixture_unlink(root, path));
	CHECK_OK(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info));
	CHECK(info.numa_node == -1);
	pci_device_info_done(&info);
	snprintf(path, sizeof(path), "%s/class", dir);
	CHECK_OK(fixture_unlink(root, path));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);

	/* The group number is the link's basename, strictly decimal. */
	CHECK_OK(fixture_remove_pci_device(root, "0000:00:0f.0"));
	add(root, "0000:00:0f.0", 0x1234, 0x5678, 0x020000, "vfio-pci", 15);
	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	CHECK_OK(fixture_symlink(root, path, "../../../kernel/iommu_groups/abc"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);
	CHECK_OK(fixture_symlink(root, path, "../../../kernel/iommu_groups/015"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);
	CHECK_OK(fixture_symlink(root, path, "../../../kernel/iommu_groups/-1"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);
	CHECK_OK(fixture_symlink(root, path, "../../../kernel/iommu_groups/"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);
	/* Only the basename counts, and the link is never followed (it dangles here). */
	CHECK_OK(fixture_symlink(root, path, "/nonexistent/iommu_groups/2147483647"));
	CHECK_OK(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info));
	CHECK(info.iommu_group == 2147483647);
	pci_device_info_done(&info);
	CHECK_OK(fixture_symlink(root, path, "../../../kernel/iommu_groups/2147483648"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);

	/* An absolute driver link is only read: its basename is the driver. */
	CHECK_OK(fixture_remove_pci_device(root, "0000:00:0f.0"));
	add(root, "0000:00:0f.0", 0x1234, 0x5678, 0x020000, "vfio-pci", 15);
	snprintf(path, sizeof(path), "%s/driver", dir);
	CHECK_OK(fixture_symlink(root, path, "/sys/bus/pci/drivers/vfio-pci"));
	CHECK_OK(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info));
	CHECK_STREQ(info.driver, "vfio-pci");
	pci_device_info_done(&info);
	CHECK_OK(fixture_symlink(root, path, "../../../bus/pci/drivers/.."));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);
	CHECK_OK(fixture_symlink(root, path, "../../../bus/pci/drivers/bad name"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);
	/* A driver that is a file, not a link, is malformed. */
	CHECK_OK(fixture_unlink(root, path));
	CHECK_OK(fixture_write_file(root, path, "vfio-pci\n"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);
	CHECK_OK(fixture_unlink(root, path));
	CHECK_OK(fixture_remove_pci_device(root, "0000:00:0f.0"));
}

/* A broken device is left out of the enumeration; the others are all there. */
static void test_enumerate_skips_broken(const char *root, int root_fd)
{
	PciDeviceInfo *a = NULL, info;
	size_t n = 0;

	add(root, "0000:00:0f.0", 0x1234, 0x5678, 0x020000, "vfio-pci", 15);
	CHECK_OK(fixture_write_file(root, "sys/devices/pci0000:00/0000:00:0f.0/vendor", "oops\n"));
	/* Entries that are not canonical addresses are not PCI devices. */
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/0000:00:0F.0",
				 "../../../devices/pci0000:00/0000:00:0f.0"));
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/foo", "../../../devices/platform"));
	/* A device removed under our feet (dangling link) is skipped too. */
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/0000:00:10.0",
				 "../../../devices/pci0000:00/0000:00:10.0"));

	CHECK_OK(sysfs_enumerate_pci(root_fd, &a, &n));
	CHECK(n == ELEMENTSOF(tree_addresses));
	CHECK(!find(a, n, "0000:00:0f.0"));
	CHECK(!find(a, n, "0000:00:10.0"));
	CHECK(find(a, n, "0000:02:00.0"));
	pci_device_info_array_free(a, n);

	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0f.0", &info), -EIO);
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:10.0", &info), -ENODEV);

	CHECK_OK(fixture_unlink(root, "sys/bus/pci/devices/0000:00:0F.0"));
	CHECK_OK(fixture_unlink(root, "sys/bus/pci/devices/foo"));
	CHECK_OK(fixture_unlink(root, "sys/bus/pci/devices/0000:00:10.0"));
	CHECK_OK(fixture_remove_pci_device(root, "0000:00:0f.0"));
}

/*
 * Links that leave the root are never followed. `outside` is a second tree
 * holding perfectly valid devices: if the reader wandered out it would find
 * them, so their absence proves it did not.
 */
static void test_escape(const char *root, int root_fd, const char *outside)
{
	PciDeviceInfo *a = NULL, info;
	char target[4096], path[256];
	_cleanup_strv_free_ char **members = NULL;
	char *reason = NULL;
	size_t n = 0;

	add(outside, "0000:00:1e.0", 0x1234, 0x11e8, 0x00ff00, "vfio-pci", 30);
	add(outside, "0000:1c:00.0", 0x1234, 0x11e8, 0x00ff00, "vfio-pci", 31);

	/* Absolute link to a real device directory outside the root. */
	snprintf(target, sizeof(target), "%s/sys/devices/pci0000:00/0000:00:1e.0", outside);
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/0000:00:1e.0", target));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:1e.0", &info), -EXDEV);

	/* The device directory is "/" itself. */
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/0000:00:1d.0", "/"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:1d.0", &info), -EXDEV);

	/* Relative link climbing above the root to the outside tree. */
	snprintf(target, sizeof(target),
		 "../../../../../../../../../../../../../../../../../../../../../../../../../.."
		 "%s/sys/devices/pci0000:00/0000:00:1e.0",
		 outside);
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/0000:00:1b.0", target));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:1b.0", &info), -EXDEV);

	/* Lexically inside, but through a directory that is a symlink to the outside tree. */
	snprintf(target, sizeof(target), "%s/sys/devices/pci0000:1c", outside);
	CHECK_OK(fixture_symlink(root, "sys/devices/pci0000:1c", target));
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/0000:1c:00.0",
				 "../../../devices/pci0000:1c/0000:1c:00.0"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:1c:00.0", &info), -ENOTDIR);

	/* Lexically inside, but the device directory itself is a symlink to the outside tree. */
	snprintf(target, sizeof(target), "%s/sys/devices/pci0000:00/0000:00:1e.0", outside);
	CHECK_OK(fixture_symlink(root, "sys/devices/pci0000:00/0000:00:17.0", target));
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/0000:00:17.0",
				 "../../../devices/pci0000:00/0000:00:17.0"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:17.0", &info), -ENOTDIR);

	/* Inside the root but not a sysfs device link: elsewhere, or another device's directory. */
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/0000:00:19.0",
				 "../../../kernel/0000:00:19.0"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:19.0", &info), -EIO);
	CHECK_OK(fixture_symlink(root, "sys/bus/pci/devices/0000:00:1a.0",
				 "../../../devices/pci0000:00/0000:00:03.0"));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:1a.0", &info), -EIO);

	/* An attribute that is a symlink to a valid file outside. */
	add(root, "0000:00:18.0", 0x1234, 0x11e8, 0x00ff00, "vfio-pci", 18);
	snprintf(target, sizeof(target), "%s/sys/devices/pci0000:00/0000:00:1e.0/vendor", outside);
	CHECK_OK(fixture_unlink(root, "sys/devices/pci0000:00/0000:00:18.0/vendor"));
	CHECK_OK(fixture_symlink(root, "sys/devices/pci0000:00/0000:00:18.0/vendor", target));
	CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:18.0", &info), -ELOOP);

	/* Enumeration lists exactly the honest devices. */
	CHECK_OK(sysfs_enumerate_pci(root_fd, &a, &n));
	CHECK(n == ELEMENTSOF(tree_addresses));
	for (size_t i = 0; i < n && i < ELEMENTSOF(tree_addresses); i++)
		CHECK_STREQ(a[i].address, tree_addresses[i]);
	pci_device_info_array_free(a, n);

	/* A group member link to "/" is an error for viability, not a vanished member. */
	CHECK_OK(fixture_add_platform_device(root, "ff300000.dma", "vfio-platform", 20));
	CHECK_OK(fixture_symlink(root, "sys/kernel/iommu_groups/20/devices/evil", "/"));
	CHECK_OK(sysfs_iommu_group_members(root_fd, 20, &members));
	CHECK(strv_length(members) == 2 && strv_contains(members, "evil"));
	CHECK_ERR(iommu_group_check_viable(root_fd, 20, &reason), -EXDEV);
	CHECK(!reason);
	snprintf(target, sizeof(target), "%s/sys/devices/pci0000:00/0000:00:1e.0", outside);
	CHECK_OK(fixture_symlink(root, "sys/kernel/iommu_groups/20/devices/evil", target));
	CHECK_ERR(iommu_group_check_viable(root_fd, 20, &reason), -EXDEV);
	CHECK(!reason);

	/* Clean up so later tests see the plain tree. */
	CHECK_OK(fixture_unlink(root, "sys/kernel/iommu_groups/20/devices/evil"));
	CHECK_OK(fixture_unlink(root, "sys/devices/pci0000:1c"));
	CHECK_OK(fixture_unlink(root, "sys/devices/pci0000:00/0000:00:17.0"));
	for (size_t i = 0; i < 7; i++) {
		static const char *const links[] = {"0000:00:1e.0", "0000:00:1d.0", "0000:00:1b.0",
						    "0000:1c:00.0", "0000:00:19.0", "0000:00:1a.0",
						    "0000:00:17.0"};
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s", links[i]);
		CHECK_OK(fixture_unlink(root, path));
	}
	CHECK_OK(fixture_remove_pci_device(root, "0000:00:18.0"));
}

static const PlatformDeviceInfo *find_platform(const PlatformDeviceInfo *a, size_t n,
					       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(a[i].name, name))
			return &a[i];
	return NULL;
}

/* Reads platform device `name` expecting error `expect`, leaving ret alone. */
static void check_platform_error(int root_fd, const char *name, int expect)
{
	PlatformDeviceInfo info;

	memset(&info, 0x5a, sizeof(info));
	CHECK_ERR(sysfs_read_platform_device(root_fd, name, &info), expect);
	CHECK(info.iommu_group == 0x5a5a5a5a);
}

#define SATA_NODE "sys/firmware/devicetree/base/soc@ffe000000/sata@220000"

/*
 * Platform devices: identity, of_node and compatible, and every way an
 * of_node link or a compatible file can be wrong.
 */
static void test_platform(const char *root, int root_fd, const char *outside)
{
	static const char sata_compatible[] = "fsl,p2041-sata\0fsl,pq-sata-v2";
	PlatformDeviceInfo *a = NULL, info;
	const PlatformDeviceInfo *d;
	char target[4096];
	size_t n = 0;

	CHECK_OK(fixture_add_platform_device(root, "ffe220000.sata", "vfio-platform", 50));
	CHECK_OK(fixture_set_of_node(root, "ffe220000.sata", "/soc@ffe000000/sata@220000"));
	CHECK_OK(fixture_write_data(root, SATA_NODE "/compatible", sata_compatible,
				    sizeof(sata_compatible)));
	CHECK_OK(fixture_write_file(root, "sys/devices/platform/ffe220000.sata/numa_node", "0\n"));
	CHECK_OK(fixture_add_platform_device(root, "ffe101300.dma", NULL, 51));
	CHECK_OK(fixture_set_of_node(root, "ffe101300.dma", "/soc@ffe000000/dma@101300"));
	CHECK_OK(fixture_write_file(root, "sys/devices/platform/ffe101300.dma/driver_override",
				    "vfio-platform\n"));
	/* Not in an IOMMU group: never a VFIO device, not enumerated, but readable. */
	CHECK_OK(fixture_add_platform_device(root, "serial8250", "serial8250", -1));
	/* In a group, but its of_node leaves the root: left out of the enumeration. */
	CHECK_OK(fixture_add_platform_device(root, "broken.dma", "vfio-platform", 52));
	CHECK_OK(fixture_symlink(root, "sys/devices/platform/broken.dma/of_node",
				 "/sys/firmware/devicetree/base"));

	CHECK_OK(sysfs_read_platform_device(root_fd, "ffe220000.sata", &info));
	CHECK_STREQ(info.name, "ffe220000.sata");
	CHECK_STREQ(info.driver, "vfio-platform");
	CHECK(!info.driver_override);
	CHECK_STREQ(info.of_node, "/soc@ffe000000/sata@220000");
	CHECK(strv_length(info.compatible) == 2);
	if (strv_length(info.compatible) == 2) {
		CHECK_STREQ(info.compatible[0], "fsl,p2041-sata");
		CHECK_STREQ(info.compatible[1], "fsl,pq-sata-v2");
	}
	CHECK(info.iommu_group == 50);
	CHECK(info.numa_node == 0);
	platform_device_info_done(&info);
	CHECK(!info.name && !info.of_node && !info.compatible && info.iommu_group == -1 &&
	      info.numa_node == -1);
	platform_device_info_done(NULL);
	CHECK(!platform_device_info_array_free(NULL, 0));

	/* An unbound device with an override and a node without compatible. */
	CHECK_OK(sysfs_read_platform_device(root_fd, "ffe101300.dma", &info));
	CHECK(!info.driver);
	CHECK_STREQ(info.driver_override, "vfio-platform");
	CHECK_STREQ(info.of_node, "/soc@ffe000000/dma@101300");
	CHECK(!info.compatible);
	CHECK(info.iommu_group == 51 && info.numa_node == -1);
	platform_device_info_done(&info);

	/* Not from the device tree at all. */
	CHECK_OK(sysfs_read_platform_device(root_fd, "serial8250", &info));
	CHECK(!info.of_node && !info.compatible && info.iommu_group == -1);
	CHECK_STREQ(info.driver, "serial8250");
	platform_device_info_done(&info);

	CHECK_OK(sysfs_enumerate_platform(root_fd, &a, &n));
	/* ff100000.dma and ff200000.dma come from build_tree(). */
	CHECK(n == 4);
	if (n == 4) {
		CHECK_STREQ(a[0].name, "ff100000.dma");
		CHECK_STREQ(a[1].name, "ff200000.dma");
		CHECK_STREQ(a[2].name, "ffe101300.dma");
		CHECK_STREQ(a[3].name, "ffe220000.sata");
	}
	d = find_platform(a, n, "ffe220000.sata");
	CHECK(d && streq_ptr(d->of_node, "/soc@ffe000000/sata@220000") && d->iommu_group == 50);
	CHECK(d && strv_length(d->compatible) == 2);
	d = find_platform(a, n, "ff100000.dma");
	CHECK(d && streq_ptr(d->driver, "dw-dmac") && !d->of_node && d->iommu_group == 9);
	CHECK(!find_platform(a, n, "serial8250"));
	CHECK(!find_platform(a, n, "broken.dma"));
	platform_device_info_array_free(a, n);

	check_platform_error(root_fd, "broken.dma", -EXDEV);
	check_platform_error(root_fd, "../platform", -EINVAL);
	check_platform_error(root_fd, "a/b", -EINVAL);
	check_platform_error(root_fd, "", -EINVAL);
	check_platform_error(root_fd, NULL, -EINVAL);
	check_platform_error(root_fd, "gone.dma", -ENODEV);

	/* of_node links, one at a time on broken.dma. "basement" exists: only the prefix check
	 * refuses it. */
	CHECK(mkdirat(root_fd, "sys/firmware/devicetree/basement", 0755) == 0);
	{
		static const struct {
			const char *target;
			int expect;
			const char *node; /* when it reads */
		} cases[] = {
		    /* Climbs above the root. */
		    {"../../../../../../../../../../../../../../../../../../../../../../etc",
		     -EXDEV},
		    /* Inside the root, but not the device tree. */
		    {"../../../firmware", -EIO},
		    {"../../../firmware/devicetree", -EIO},
		    {"../../../firmware/devicetree/basement", -EIO},
		    {"../../../devices/platform/ffe220000.sata", -EIO},
		    {"../../../firmware/devicetree/base/../../../devices", -EIO},
		    /* A node name that is not a plain component. */
		    {"../../../firmware/devicetree/base/soc@ffe000000/bad name", -EIO},
		    /* Lexically fine, but the node is not there. */
		    {"../../../firmware/devicetree/base/soc@ffe000000/nope@0", -EIO},
		    /* The tree's root, and a detour that resolves inside it. */
		    {"../../../firmware/devicetree/base", 0, "/"},
		    {"../../../firmware/devicetree/base/soc@ffe000000/./../soc@ffe000000/"
		     "sata@220000",
		     0, "/soc@ffe000000/sata@220000"},
		    {"../../../firmware//devicetree/base/soc@ffe000000", 0, "/soc@ffe000000"},
		};

		for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
			int r;

			CHECK_OK(fixture_symlink(root, "sys/devices/platform/broken.dma/of_node",
						 cases[i].target));
			r = sysfs_read_platform_device(root_fd, "broken.dma", &info);
			if (r != cases[i].expect) {
				fprintf(stderr, "%s:%d: of_node -> %s: got %d, expected %d\n",
					__FILE__, __LINE__, cases[i].target, r, cases[i].expect);
				test_failures++;
			}
			if (r == 0) {
				CHECK_STREQ(info.of_node, cases[i].node);
				platform_device_info_done(&info);
			}
		}
	}

	/* The node directory reached through a symlink to the outside tree. */
	CHECK_OK(fixture_add_platform_device(outside, "x", NULL, -1));
	CHECK_OK(fixture_set_of_node(outside, "x", "/soc@ffe000000/evil@0"));
	CHECK_OK(fixture_write_data(
	    outside, "sys/firmware/devicetree/base/soc@ffe000000/evil@0/compatible", "evil", 5));
	snprintf(target, sizeof(target), "%s/sys/firmware/devicetree/base/soc@ffe000000/evil@0",
		 outside);
	CHECK_OK(
	    fixture_symlink(root, "sys/firmware/devicetree/base/soc@ffe000000/evil@0", target));
	CHECK_OK(fixture_symlink(root, "sys/devices/platform/broken.dma/of_node",
				 "../../../firmware/devicetree/base/soc@ffe000000/evil@0"));
	check_platform_error(root_fd, "broken.dma", -ENOTDIR);
	CHECK_OK(fixture_unlink(root, "sys/firmware/devicetree/base/soc@ffe000000/evil@0"));
	/* of_node that is a file, not a link. */
	CHECK_OK(fixture_unlink(root, "sys/devices/platform/broken.dma/of_node"));
	CHECK_OK(fixture_write_file(root, "sys/devices/platform/broken.dma/of_node", "x\n"));
	check_platform_error(root_fd, "broken.dma", -EIO);
	CHECK_OK(fixture_unlink(root, "sys/devices/platform/broken.dma/of_node"));
	CHECK_OK(sysfs_read_platform_device(root_fd, "broken.dma", &info));
	CHECK(!info.of_node);
	platform_device_info_done(&info);

	/* compatible files: the raw property, NUL-terminated printable strings. */
	{
		static const struct {
			const char *data;
			size_t size;
			int expect;
		} cases[] = {
		    {"fsl,sata", 8, -EIO},	/* not NUL-terminated */
		    {"", 0, -EIO},		/* empty */
		    {"\0", 1, -EIO},		/* an empty string */
		    {"a\0\0", 3, -EIO},		/* an empty string after one */
		    {"fsl,\tsata\0", 10, -EIO}, /* unprintable */
		    {"caf\xc3\xa9\0", 6, -EIO}, /* not ASCII */
		    {"a b\0", 4, 0},		/* spaces are printable */
		    {"fsl,sata\0x\0", 11, 0},	/* two */
		};
		char *big = malloc(4097);

		for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
			int r;

			CHECK_OK(fixture_write_data(root, SATA_NODE "/compatible", cases[i].data,
						    cases[i].size));
			r = sysfs_read_platform_device(root_fd, "ffe220000.sata", &info);
			if (r != cases[i].expect) {
				fprintf(stderr, "%s:%d: compatible case %zu: got %d, expected %d\n",
					__FILE__, __LINE__, i, r, cases[i].expect);
				test_failures++;
			}
			if (r == 0)
				platform_device_info_done(&info);
		}
		CHECK(big != NULL);
		if (big) {
			memset(big, 'a', 4097);
			big[4095] = '\0';
			CHECK_OK(fixture_write_data(root, SATA_NODE "/compatible", big, 4096));
			CHECK_OK(sysfs_read_platform_device(root_fd, "ffe220000.sata", &info));
			CHECK(strv_length(info.compatible) == 1 &&
			      strlen(info.compatible[0]) == 4095);
			platform_device_info_done(&info);
			big[4096] = '\0';
			CHECK_OK(fixture_write_data(root, SATA_NODE "/compatible", big, 4097));
			check_platform_error(root_fd, "ffe220000.sata", -EIO);
			free(big);
		}
		/* A compatible that is a symlink is not followed. */
		CHECK_OK(fixture_unlink(root, SATA_NODE "/compatible"));
		CHECK_OK(fixture_symlink(root, SATA_NODE "/compatible",
					 "../../../../../../etc/hostname"));
		check_platform_error(root_fd, "ffe220000.sata", -ELOOP);
		CHECK_OK(fixture_unlink(root, SATA_NODE "/compatible"));
		CHECK_OK(fixture_write_data(root, SATA_NODE "/compatible", sata_compatible,
					    sizeof(sata_compatible)));
	}

	/* driver_override must be a plain name. */
	CHECK_OK(fixture_write_file(root, "sys/devices/platform/ffe101300.dma/driver_override",
				    "bad name\n"));
	check_platform_error(root_fd, "ffe101300.dma", -EIO);
	CHECK_OK(fixture_write_file(root, "sys/devices/platform/ffe101300.dma/driver_override",
				    "(null)\n"));
	CHECK_OK(sysfs_read_platform_device(root_fd, "ffe101300.dma", &info));
	CHECK(!info.driver_override);
	platform_device_info_done(&info);

	/* Broken devices are skipped, the others still listed. */
	CHECK_OK(fixture_write_file(root, "sys/devices/platform/ffe101300.dma/numa_node", "x\n"));
	CHECK_OK(fixture_symlink(root, "sys/bus/platform/devices/gone.dma",
				 "../../../devices/platform/gone.dma"));
	CHECK_OK(fixture_symlink(root, "sys/bus/platform/devices/bad name",
				 "../../../devices/platform/ffe220000.sata"));
	CHECK_OK(sysfs_enumerate_platform(root_fd, &a, &n));
	CHECK(n == 4); /* broken.dma reads again now that its of_node is gone */
	CHECK(!find_platform(a, n, "ffe101300.dma") && !find_platform(a, n, "gone.dma"));
	CHECK(find_platform(a, n, "broken.dma") && find_platform(a, n, "ffe220000.sata"));
	platform_device_info_array_free(a, n);
	CHECK_OK(fixture_unlink(root, "sys/bus/platform/devices/gone.dma"));
	CHECK_OK(fixture_unlink(root, "sys/bus/platform/devices/bad name"));
	CHECK_OK(fixture_unlink(root, "sys/devices/platform/ffe101300.dma/numa_node"));
}

/* The fixture's device tree looks like the kernel's. */
static void test_platform_fixture(void)
{
	const char *dir = getenv("DTB_DIR");
	char *root = NULL, path[4096], target[256], buf[64];
	PlatformDeviceInfo *a = (PlatformDeviceInfo *)0x1;
	struct stat st_dtb, st_fdt;
	size_t n = 7;
	ssize_t k;
	int fd, dtb_fd;

	CHECK(dir != NULL);
	if (!dir)
		return;
	CHECK_OK(fixture_new(&root));
	if (!root)
		return;
	fd = open_dir(root);

	snprintf(path, sizeof(path), "%s/freescale-p2041.dtb", dir);
	dtb_fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(dtb_fd >= 0 && fstat(dtb_fd, &st_dtb) == 0);
	if (dtb_fd >= 0) {
		char *dtb = malloc((size_t)st_dtb.st_size);

		CHECK(dtb && read(dtb_fd, dtb, (size_t)st_dtb.st_size) == st_dtb.st_size);
		if (dtb) {
			CHECK_OK(fixture_add_devicetree(root, dtb, (size_t)st_dtb.st_size));
			CHECK_ERR(fixture_add_devicetree(root, dtb, 16), -EINVAL);
			free(dtb);
		}
		close(dtb_fd);
	}
	CHECK(fstatat(fd, "sys/firmware/fdt", &st_fdt, 0) == 0 && st_fdt.st_size == st_dtb.st_size);
	{
		int pfd = openat(fd, SATA_NODE "/compatible", O_RDONLY | O_CLOEXEC);

		k = pfd >= 0 ? read(pfd, buf, sizeof(buf)) : -1;
		CHECK(k == 30 && memcmp(buf, "fsl,p2041-sata\0fsl,pq-sata-v2\0", 30) == 0);
		if (pfd >= 0)
			close(pfd);
		pfd = openat(fd, SATA_NODE "/name", O_RDONLY | O_CLOEXEC);
		k = pfd >= 0 ? read(pfd, buf, sizeof(buf)) : -1;
		CHECK(k == 5 && memcmp(buf, "sata\0", 5) == 0);
		if (pfd >= 0)
			close(pfd);
	}
	CHECK(faccessat(fd,
			"sys/firmware/devicetree/base/soc@ffe000000/dma@101300/"
			"dma-channel@180/interrupts",
			F_OK, 0) == 0);
	CHECK(faccessat(fd, "sys/firmware/devicetree/base/#address-cells", F_OK, 0) == 0);

	/* The of_node link has the kernel's shape (for a device directly under platform/). */
	CHECK_OK(fixture_add_platform_device(root, "ffe220000.sata", "vfio-platform", 3));
	CHECK_OK(fixture_set_of_node(root, "ffe220000.sata", "/soc@ffe000000/sata@220000"));
	k = readlinkat(fd, "sys/devices/platform/ffe220000.sata/of_node", target,
		       sizeof(target) - 1);
	target[k > 0 ? k : 0] = '\0';
	CHECK_STREQ(target, "../../../firmware/devicetree/base/soc@ffe000000/sata@220000");
	CHECK(faccessat(fd, "sys/bus/platform/devices/ffe220000.sata/of_node/reg", F_OK, 0) == 0);
	CHECK_ERR(fixture_set_of_node(root, "ffe220000.sata", "soc"), -EINVAL);
	CHECK_ERR(fixture_set_of_node(root, "ffe220000.sata", "/soc/../x"), -EINVAL);
	CHECK_ERR(fixture_set_of_node(root, "../x", "/soc"), -EINVAL);

	/* No platform bus at all. */
	CHECK(unlinkat(fd, "sys/bus/platform/devices/ffe220000.sata", 0) == 0);
	CHECK(unlinkat(fd, "sys/bus/platform/devices", AT_REMOVEDIR) == 0);
	CHECK_OK(sysfs_enumerate_platform(fd, &a, &n));
	CHECK(n == 0 && !a);
	check_platform_error(fd, "ffe220000.sata", -ENODEV);

	close(fd);
	fixture_free(root);
}

static void check_members(int root_fd, int group, const char *const *expect, size_t n)
{
	_cleanup_strv_free_ char **m = NULL;

	CHECK_OK(sysfs_iommu_group_members(root_fd, group, &m));
	CHECK(strv_length(m) == n);
	for (size_t i = 0; m && i < n && m[i]; i++)
		CHECK_STREQ(m[i], expect[i]);
}

static void test_group_members(const char *root, int root_fd)
{
	static const char *const g1[] = {"0000:00:01.0", "0000:01:00.0"};
	static const char *const g9[] = {"0000:00:09.0", "ff100000.dma"};
	static const char *const g3[] = {"0000:00:03.0"};
	char **m = (char **)0x1;

	check_members(root_fd, 1, g1, ELEMENTSOF(g1));
	check_members(root_fd, 9, g9, ELEMENTSOF(g9));
	check_members(root_fd, 3, g3, ELEMENTSOF(g3));

	CHECK_ERR(sysfs_iommu_group_members(root_fd, 99, &m), -ENOENT);
	CHECK_ERR(sysfs_iommu_group_members(root_fd, -1, &m), -EINVAL);
	CHECK(m == (char **)0x1);

	/* A member name that is not a safe path component fails the listing. */
	CHECK_OK(fixture_symlink(root, "sys/kernel/iommu_groups/3/devices/bad name", "x"));
	CHECK_ERR(sysfs_iommu_group_members(root_fd, 3, &m), -EIO);
	CHECK_OK(fixture_unlink(root, "sys/kernel/iommu_groups/3/devices/bad name"));
	CHECK_OK(fixture_symlink(root, "sys/kernel/iommu_groups/3/devices/tab\tname", "x"));
	CHECK_ERR(sysfs_iommu_group_members(root_fd, 3, &m), -EIO);
	CHECK_OK(fixture_unlink(root, "sys/kernel/iommu_groups/3/devices/tab\tname"));
	CHECK(m == (char **)0x1);

	/* An empty group lists nothing. */
	CHECK_OK(fixture_write_file(root, "sys/kernel/iommu_groups/3/type", "DMA\n"));
	{
		_cleanup_strv_free_ char **e = NULL;

		CHECK_OK(fixture_add_platform_device(root, "empty-group-member", NULL, 40));
		CHECK_OK(
		    fixture_unlink(root, "sys/kernel/iommu_groups/40/devices/empty-group-member"));
		CHECK_OK(sysfs_iommu_group_members(root_fd, 40, &e));
		CHECK(e && strv_length(e) == 0);
	}
}

static void check_busy(int root_fd, int group, const char *expect)
{
	char *reason = NULL;

	CHECK_ERR(iommu_group_check_viable(root_fd, group, &reason), -EBUSY);
	CHECK_STREQ(reason, expect);
	free(reason);
}

static void check_viable(int root_fd, int group)
{
	char *reason = (char *)0x1;

	CHECK_ERR(iommu_group_check_viable(root_fd, group, &reason), 0);
	CHECK(reason == (char *)0x1);
}

static void test_viability(const char *root, int root_fd)
{
	char *reason = (char *)0x1;

	check_viable(root_fd, 3);  /* all vfio-pci */
	check_viable(root_fd, 0);  /* unbound host bridge */
	check_viable(root_fd, 4);  /* vfio-pci + unbound */
	check_viable(root_fd, 6);  /* variant driver + vfio-pci */
	check_viable(root_fd, 7);  /* pcieport bridge + vfio-pci */
	check_viable(root_fd, 10); /* vfio-pci + vfio-platform */
	check_viable(root_fd, 40); /* no members */
	check_busy(root_fd, 1,
		   "device 0000:01:00.0 in IOMMU group 1 is bound to host driver e1000 "
		   "(bind it to vfio-pci or unbind it)");
	check_busy(root_fd, 9,
		   "device ff100000.dma in IOMMU group 9 is bound to host driver dw-dmac "
		   "(bind it to a vfio driver or unbind it)");
	/* Two offenders: the first in address order is named. */
	check_busy(root_fd, 11,
		   "device 0000:00:0b.0 in IOMMU group 11 is bound to host driver e1000e "
		   "(bind it to vfio-pci or unbind it)");

	CHECK_ERR(iommu_group_check_viable(root_fd, 99, &reason), -ENOENT);
	CHECK_ERR(iommu_group_check_viable(root_fd, -3, &reason), -EINVAL);
	CHECK(reason == (char *)0x1);
	CHECK_ERR(iommu_group_check_viable(root_fd, 1, NULL), -EBUSY);

	/* Driver changes are seen. */
	CHECK_OK(fixture_set_driver(root, "0000:01:00.0", "vfio-pci"));
	check_viable(root_fd, 1);
	CHECK_OK(fixture_set_driver(root, "0000:01:00.0", NULL));
	check_viable(root_fd, 1);
	CHECK(faccessat(root_fd, "sys/bus/pci/drivers/vfio-pci/0000:01:00.0", F_OK,
			AT_SYMLINK_NOFOLLOW) < 0);
	CHECK_OK(fixture_set_driver(root, "0000:01:00.0", "e1000e"));
	check_busy(root_fd, 1,
		   "device 0000:01:00.0 in IOMMU group 1 is bound to host driver e1000e "
		   "(bind it to vfio-pci or unbind it)");
	CHECK_OK(fixture_set_driver(root, "0000:01:00.0", "e1000"));
	CHECK(faccessat(root_fd, "sys/bus/pci/drivers/e1000e/0000:01:00.0", F_OK,
			AT_SYMLINK_NOFOLLOW) < 0);
	CHECK(faccessat(root_fd, "sys/bus/pci/drivers/e1000/0000:01:00.0", F_OK,
			AT_SYMLINK_NOFOLLOW) == 0);

	/* Hot-unplug: a member listed in the group but gone from the bus is skipped. */
	add(root, "0000:00:0c.0", 0x1234, 0x11e8, 0x00ff00, "vfio-pci", 12);
	CHECK_OK(fixture_symlink(root, "sys/kernel/iommu_groups/12/devices/0000:00:0d.0",
				 "../../../../devices/pci0000:00/0000:00:0d.0"));
	CHECK_OK(fixture_symlink(root, "sys/kernel/iommu_groups/12/devices/gone.dma",
				 "../../../../devices/platform/gone.dma"));
	check_viable(root_fd, 12);
	add(root, "0000:00:0e.0", 0x8086, 0x100e, 0x020000, "e1000", 12);
	check_busy(root_fd, 12,
		   "device 0000:00:0e.0 in IOMMU group 12 is bound to host driver e1000 "
		   "(bind it to vfio-pci or unbind it)");
	CHECK_OK(fixture_remove_pci_device(root, "0000:00:0e.0"));
	check_viable(root_fd, 12);
	{
		PciDeviceInfo info;

		CHECK_ERR(sysfs_read_pci_device(root_fd, "0000:00:0e.0", &info), -ENODEV);
	}
	{
		char *driver = (char *)0x1;

		CHECK_ERR(sysfs_iommu_group_member_driver(root_fd, 12, "0000:00:0d.0", &driver),
			  -ENODEV);
		CHECK_ERR(sysfs_iommu_group_member_driver(root_fd, 12, "..", &driver), -EINVAL);
		CHECK(driver == (char *)0x1);
		driver = NULL;
		CHECK_OK(sysfs_iommu_group_member_driver(root_fd, 9, "ff100000.dma", &driver));
		CHECK_STREQ(driver, "dw-dmac");
		free(driver);
		driver = (char *)0x1;
		CHECK_OK(sysfs_iommu_group_member_driver(root_fd, 4, "0000:00:04.1", &driver));
		CHECK(!driver);
	}
}

static void test_driver_names(void)
{
	static const char *const viable[] = {
	    "vfio-pci",		 "pci-stub",	   "pcieport",	      "mlx5_vfio_pci",
	    "hisi_acc_vfio_pci", "pds_vfio_pci",   "virtio_vfio_pci", "nvgrace_gpu_vfio_pci",
	    "qat_vfio_pci",	 "foo-vfio-pci",   "vfio-platform",   "vfio-amba",
	    "vfio-fsl-mc",	 "vfio_something",
	};
	static const char *const host[] = {
	    "e1000", "e1000e",	 "nvme",    "virtio-pci", "xhci_hcd",		"snd_hda_intel",
	    "vfio",  "pci_stub", "vfiopci", "mlx5_core",  "my_vfio_pci_helper", "pcieport2",
	    "",	     "nouveau",
	};

	CHECK(driver_keeps_group_viable(NULL));
	for (size_t i = 0; i < ELEMENTSOF(viable); i++)
		if (!driver_keeps_group_viable(viable[i])) {
			fprintf(stderr, "%s should keep a group viable\n", viable[i]);
			test_failures++;
		}
	for (size_t i = 0; i < ELEMENTSOF(host); i++)
		if (driver_keeps_group_viable(host[i])) {
			fprintf(stderr, "\"%s\" should not keep a group viable\n", host[i]);
			test_failures++;
		}
	/* Only vfio-pci and its variants make a device VFIO can hand out. */
	CHECK(!driver_is_vfio_pci(NULL));
	CHECK(driver_is_vfio_pci("vfio-pci"));
	CHECK(driver_is_vfio_pci("mlx5_vfio_pci"));
	CHECK(!driver_is_vfio_pci("pci-stub"));
	CHECK(!driver_is_vfio_pci("pcieport"));
	CHECK(!driver_is_vfio_pci("vfio-platform"));
	CHECK(!driver_is_vfio_pci("my_vfio_pci_helper"));
}

static void test_names(void)
{
	CHECK(sysfs_name_is_valid("0000:00:03.0"));
	CHECK(sysfs_name_is_valid("ff100000.dma"));
	CHECK(sysfs_name_is_valid("dprc.1"));
	CHECK(sysfs_name_is_valid("..."));
	CHECK(!sysfs_name_is_valid("."));
	CHECK(!sysfs_name_is_valid(".."));
	CHECK(!sysfs_name_is_valid(""));
	CHECK(!sysfs_name_is_valid(NULL));
	CHECK(!sysfs_name_is_valid("a/b"));
	CHECK(!sysfs_name_is_valid("a b"));
	CHECK(!sysfs_name_is_valid("a\nb"));
	CHECK(!sysfs_name_is_valid("caf\xc3\xa9"));
	CHECK(!sysfs_name_is_valid("\x7f"));
}

/* Trees with no PCI bus, an empty bus, and more devices than we accept. */
static void test_limits(void)
{
	PciDeviceInfo *a = (PciDeviceInfo *)0x1;
	char *root = NULL;
	size_t n = 7;
	int fd;

	CHECK_OK(fixture_new(&root));
	if (!root)
		return;
	fd = open_dir(root);

	CHECK_OK(sysfs_enumerate_pci(fd, &a, &n));
	CHECK(n == 0);
	if (a != (PciDeviceInfo *)0x1)
		pci_device_info_array_free(a, n);

	/* No sys/bus/pci/devices at all: a kernel without PCI. */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/sys/bus/pci/devices", root);
		CHECK(rmdir(path) == 0);
	}
	a = (PciDeviceInfo *)0x1;
	n = 7;
	CHECK_OK(sysfs_enumerate_pci(fd, &a, &n));
	CHECK(n == 0 && !a);
	CHECK(mkdirat(fd, "sys/bus/pci/devices", 0755) == 0);

	/* SYSFS_ENTRIES_MAX + 1 addresses: refused before reading any of them. */
	{
		int bus_fd = openat(fd, "sys/bus/pci/devices", O_PATH | O_DIRECTORY | O_CLOEXEC);
		unsigned made = 0;

		CHECK(bus_fd >= 0);
		for (unsigned i = 0; bus_fd >= 0 && i <= SYSFS_ENTRIES_MAX; i++) {
			char name[PCI_ADDRESS_MAX], target[64];

			snprintf(name, sizeof(name), "%04x:%02x:%02x.%x", i >> 16, (i >> 8) & 0xff,
				 (i >> 3) & 0x1f, i & 7);
			snprintf(target, sizeof(target), "../../../devices/pci%.7s/%s", name, name);
			if (symlinkat(target, bus_fd, name) == 0)
				made++;
		}
		CHECK(made == SYSFS_ENTRIES_MAX + 1);
		a = (PciDeviceInfo *)0x1;
		CHECK_ERR(sysfs_enumerate_pci(fd, &a, &n), -E2BIG);
		CHECK(a == (PciDeviceInfo *)0x1);

		/* Exactly SYSFS_ENTRIES_MAX is fine (all dangling here, so none is listed). */
		CHECK(unlinkat(bus_fd, "0001:00:00.0", 0) == 0);
		CHECK_OK(sysfs_enumerate_pci(fd, &a, &n));
		CHECK(n == 0);
		if (a != (PciDeviceInfo *)0x1)
			pci_device_info_array_free(a, n);
		safe_close(bus_fd);
	}

	close(fd);
	root = fixture_free(root);
}

static void test_fixture(void)
{
	char *root = NULL, *other = NULL, path[4096], target[256];
	ssize_t k;
	int fd;

	CHECK_OK(fixture_new(&root));
	CHECK_OK(fixture_new(&other));
	if (!root || !other)
		return;
	fd = open_dir(root);

	CHECK_ERR(fixture_add_pci_device(root, "../x", 1, 2, 3, 4, 5, NULL, -1, -1), -EINVAL);
	CHECK_ERR(fixture_add_pci_device(root, "0000:00:01.0", 1, 2, 3, 4, 5, "a/b", -1, -1),
		  -EINVAL);
	CHECK_OK(fixture_add_pci_device(root, "0000:03:00.0", 1, 2, 3, 4, 5, "vfio-pci", 7, 1));
	CHECK_ERR(fixture_add_pci_device(root, "0000:03:00.0", 1, 2, 3, 4, 5, NULL, -1, -1),
		  -EEXIST);

	/* The links have the kernel's shape. */
	k = readlinkat(fd, "sys/bus/pci/devices/0000:03:00.0", target, sizeof(target) - 1);
	CHECK(k > 0);
	target[k > 0 ? k : 0] = '\0';
	CHECK_STREQ(target, "../../../devices/pci0000:03/0000:03:00.0");
	k = readlinkat(fd, "sys/devices/pci0000:03/0000:03:00.0/driver", target,
		       sizeof(target) - 1);
	target[k > 0 ? k : 0] = '\0';
	CHECK_STREQ(target, "../../../bus/pci/drivers/vfio-pci");
	k = readlinkat(fd, "sys/devices/pci0000:03/0000:03:00.0/iommu_group", target,
		       sizeof(target) - 1);
	target[k > 0 ? k : 0] = '\0';
	CHECK_STREQ(target, "../../../kernel/iommu_groups/7");
	k = readlinkat(fd, "sys/kernel/iommu_groups/7/devices/0000:03:00.0", target,
		       sizeof(target) - 1);
	target[k > 0 ? k : 0] = '\0';
	CHECK_STREQ(target, "../../../../devices/pci0000:03/0000:03:00.0");
	/* ... and resolve where the kernel's would. */
	CHECK(faccessat(fd, "sys/bus/pci/devices/0000:03:00.0/driver/0000:03:00.0/vendor", F_OK,
			0) == 0);
	CHECK(faccessat(fd, "sys/kernel/iommu_groups/7/devices/0000:03:00.0/iommu_group/type", F_OK,
			0) == 0);

	/* fixture_free() removes the tree without following a link out of it. */
	snprintf(path, sizeof(path), "%s/keep", other);
	CHECK(mkdir(path, 0755) == 0);
	CHECK_OK(fixture_symlink(root, "sys/outside", path));
	CHECK_OK(fixture_symlink(root, "sys/slash", "/"));
	close(fd);
	snprintf(path, sizeof(path), "%s", root);
	root = fixture_free(root);
	CHECK(!root);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);
	snprintf(path, sizeof(path), "%s/keep", other);
	CHECK(access(path, F_OK) == 0);
	other = fixture_free(other);
	CHECK(!fixture_free(NULL));
}

int main(void)
{
	char *root = NULL, *outside = NULL;
	int root_fd;

	if (fixture_new(&root) < 0 || fixture_new(&outside) < 0) {
		fprintf(stderr, "cannot create fixture trees\n");
		return 2;
	}
	build_tree(root);
	root_fd = open_dir(root);

	test_names();
	test_driver_names();
	test_enumerate(root_fd);
	test_read_device(root_fd);
	test_read_errors(root_fd);
	test_platform(root, root_fd, outside);
	test_platform_fixture();
	test_malformed(root, root_fd);
	test_enumerate_skips_broken(root, root_fd);
	test_escape(root, root_fd, outside);
	test_enumerate(root_fd);
	test_group_members(root, root_fd);
	test_viability(root, root_fd);
	test_limits();
	test_fixture();

	close(root_fd);
	fixture_free(root);
	fixture_free(outside);
	return test_exit();
}
