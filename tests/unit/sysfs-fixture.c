/* SPDX-License-Identifier: MIT */
#include "sysfs-fixture.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pci-address.h"
#include "util.h"

static int open_root(const char *root, int *ret_fd)
{
	int fd;

	if (!root)
		return -EINVAL;
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

static bool component_is_safe(const char *s)
{
	return s && *s && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}

/* Relative, and no "." or ".." component: stays inside the fixture. */
static bool path_is_safe(const char *p)
{
	if (!p || !*p || *p == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

static int format_path(char *buf, size_t size, const char *format, ...) _printf_(3, 4);
static int format_path(char *buf, size_t size, const char *format, ...)
{
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(buf, size, format, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* mkdir -p, relative to fd; the common case (parent exists) is one syscall. */
static int mkdir_p_at(int fd, const char *path)
{
	char parent[PATH_MAX];
	const char *slash;
	int r;

	if (mkdirat(fd, path, 0755) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return negative_errno();

	slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) >= sizeof(parent))
		return -ENOENT;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	r = mkdir_p_at(fd, parent);
	if (r < 0)
		return r;
	if (mkdirat(fd, path, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

static int write_data_at(int dir_fd, const char *path, const void *data, size_t n)
{
	_cleanup_close_ int fd = -EBADF;
	size_t done = 0;

	fd = openat(dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return negative_errno();
	while (done < n) {
		ssize_t k = write(fd, (const char *)data + done, n - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		done += (size_t)k;
	}
	return 0;
}

static int write_at(int dir_fd, const char *path, const char *contents)
{
	return write_data_at(dir_fd, path, contents, strlen(contents));
}

static int writef_at(int dir_fd, const char *path, const char *format, ...) _printf_(3, 4);
static int writef_at(int dir_fd, const char *path, const char *format, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EINVAL;
	return write_at(dir_fd, path, buf);
}

/* Creates or replaces the symlink path -> target. */
static int symlink_at(int fd, const char *path, const char *target)
{
	if (symlinkat(target, fd, path) == 0)
		return 0;
	if (errno != EEXIST)
		return negative_errno();
	if (unlinkat(fd, path, 0) < 0 || symlinkat(target, fd, path) < 0)
		return negative_errno();
	return 0;
}

static int unlink_at_if_exists(int fd, const char *path)
{
	if (unlinkat(fd, path, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

/* Removes dir_fd/name and everything below it without following symlinks. */
static int remove_tree_at(int dir_fd, const char *name)
{
	DIR *d;
	int fd, r = 0;

	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP)
			return unlinkat(dir_fd, name, 0) < 0 ? negative_errno() : 0;
		return errno == ENOENT ? 0 : negative_errno();
	}
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		safe_close(fd);
		return r;
	}

	for (;;) {
		struct dirent *de;
		int k = 0;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0 && r == 0)
				r = negative_errno();
			break;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR)
			k = remove_tree_at(dirfd(d), de->d_name);
		else if (unlinkat(dirfd(d), de->d_name, 0) < 0)
			k = errno == EISDIR ? remove_tree_at(dirfd(d), de->d_name)
					    : negative_errno();
		if (k < 0 && r == 0)
			r = k;
	}
	closedir(d);

	if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && r == 0)
		r = negative_errno();
	return r;
}

int fixture_new(char **ret_root)
{
	static const char *const dirs[] = {
	    "sys/devices/platform",	"sys/bus/pci/devices",	    "sys/bus/pci/drivers",
	    "sys/bus/platform/devices", "sys/bus/platform/drivers", "sys/kernel/iommu_groups",
	};
	_cleanup_free_ char *root = NULL;
	_cleanup_close_ int fd = -EBADF;
	const char *tmp = getenv("TMPDIR");
	int r;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (asprintf(&root, "%s/vfiod-sysfs-XXXXXX", tmp) < 0) {
		root = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(root))
		return negative_errno();

	r = open_root(root, &fd);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dirs); i++)
		r = mkdir_p_at(fd, dirs[i]);
	if (r < 0) {
		remove_tree_at(AT_FDCWD, root);
		return r;
	}

	*ret_root = TAKE_PTR(root);
	return 0;
}

char *fixture_free(char *root)
{
	if (root) {
		remove_tree_at(AT_FDCWD, root);
		free(root);
	}
	return NULL;
}

/* A device: its bus ("pci", "platform"), name, and directory relative to sys/. */
typedef struct Device {
	const char *bus;
	const char *name;
	char dir[PATH_MAX];
} Device;

static int pci_device(const char *address, Device *ret)
{
	if (!pci_address_is_valid(address))
		return -EINVAL;
	ret->bus = "pci";
	ret->name = address;
	/* Root bus directory "pciDDDD:BB", as the kernel names host bridges. */
	return format_path(ret->dir, sizeof(ret->dir), "devices/pci%.4s:%.2s/%s", address,
			   address + 5, address);
}

static int device_unbind(int fd, const Device *dev)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *old;
	ssize_t n;
	int r;

	r = format_path(path, sizeof(path), "sys/%s/driver", dev->dir);
	if (r < 0)
		return r;
	n = readlinkat(fd, path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT ? 0 : negative_errno();
	target[n] = '\0';
	old = strrchr(target, '/');
	old = old ? old + 1 : target;

	if (component_is_safe(old)) {
		char back[PATH_MAX];

		r = format_path(back, sizeof(back), "sys/bus/%s/drivers/%s/%s", dev->bus, old,
				dev->name);
		if (r < 0)
			return r;
		r = unlink_at_if_exists(fd, back);
		if (r < 0)
			return r;
	}
	return unlink_at_if_exists(fd, path);
}

/*
 * Creates the symlink dir/name -> target, creating dir (and its parents) only
 * when the link cannot be made: the common case is one syscall. Returns 1 when
 * dir was created, 0 when it existed.
 */
static int symlink_in_dir(int fd, const char *dir, const char *name, const char *target)
{
	char path[PATH_MAX];
	int r;

	r = format_path(path, sizeof(path), "%s/%s", dir, name);
	if (r < 0)
		return r;
	if (symlinkat(target, fd, path) == 0)
		return 0;
	if (errno != ENOENT)
		return symlink_at(fd, path, target); /* EEXIST: replace */
	r = mkdir_p_at(fd, dir);
	if (r < 0)
		return r;
	r = symlink_at(fd, path, target);
	return r < 0 ? r : 1;
}

/* Binds an unbound device: the driver's back link and the device's driver link. */
static int device_bind(int fd, const Device *dev, const char *driver)
{
	char path[PATH_MAX], target[PATH_MAX];
	int r;

	r = format_path(path, sizeof(path), "sys/bus/%s/drivers/%s", dev->bus, driver);
	if (r < 0)
		return r;
	r = format_path(target, sizeof(target), "../../../../%s", dev->dir);
	if (r < 0)
		return r;
	r = symlink_in_dir(fd, path, dev->name, target);
	if (r < 0)
		return r;

	r = format_path(path, sizeof(path), "sys/%s/driver", dev->dir);
	if (r < 0)
		return r;
	r = format_path(target, sizeof(target), "../../../bus/%s/drivers/%s", dev->bus, driver);
	if (r < 0)
		return r;
	return symlink_at(fd, path, target);
}

static int device_set_driver(int fd, const Device *dev, const char *driver)
{
	int r;

	if (driver && !component_is_safe(driver))
		return -EINVAL;
	r = device_unbind(fd, dev);
	if (r < 0 || !driver)
		return r;
	return device_bind(fd, dev, driver);
}

static int device_set_group(int fd, const Device *dev, int group)
{
	char path[PATH_MAX], target[PATH_MAX];
	int r;

	r = format_path(path, sizeof(path), "sys/kernel/iommu_groups/%d/devices", group);
	if (r < 0)
		return r;
	r = format_path(target, sizeof(target), "../../../../%s", dev->dir);
	if (r < 0)
		return r;
	r = symlink_in_dir(fd, path, dev->name, target);
	if (r < 0)
		return r;
	if (r > 0) {
		/* A new group: the kernel also shows its default domain type. */
		r = format_path(path, sizeof(path), "sys/kernel/iommu_groups/%d/type", group);
		if (r < 0)
			return r;
		r = write_at(fd, path, "DMA\n");
		if (r < 0)
			return r;
	}

	r = format_path(path, sizeof(path), "sys/%s/iommu_group", dev->dir);
	if (r < 0)
		return r;
	r = format_path(target, sizeof(target), "../../../kernel/iommu_groups/%d", group);
	if (r < 0)
		return r;
	return symlink_at(fd, path, target);
}

/* Creates the device directory, its subsystem link and the bus link. */
static int device_create(int fd, const Device *dev)
{
	char path[PATH_MAX], target[PATH_MAX];
	int r;

	r = format_path(path, sizeof(path), "sys/%s", dev->dir);
	if (r < 0)
		return r;
	if (mkdirat(fd, path, 0755) < 0) {
		if (errno != ENOENT)
			return negative_errno();
		/* First device on this bus: create the bus directory too. */
		r = mkdir_p_at(fd, path);
		if (r < 0)
			return r;
	}

	r = format_path(path, sizeof(path), "sys/%s/subsystem", dev->dir);
	if (r < 0)
		return r;
	r = format_path(target, sizeof(target), "../../../bus/%s", dev->bus);
	if (r < 0)
		return r;
	r = symlink_at(fd, path, target);
	if (r < 0)
		return r;

	r = format_path(path, sizeof(path), "sys/bus/%s/devices/%s", dev->bus, dev->name);
	if (r < 0)
		return r;
	r = format_path(target, sizeof(target), "../../../%s", dev->dir);
	if (r < 0)
		return r;
	return symlink_at(fd, path, target);
}

/* Puts a new device into its IOMMU group (if any) and binds its driver (if any). */
static int device_attach(int fd, const Device *dev, int iommu_group, const char *driver)
{
	int r;

	if (iommu_group >= 0) {
		r = device_set_group(fd, dev, iommu_group);
		if (r < 0)
			return r;
	}
	return driver ? device_bind(fd, dev, driver) : 0;
}

int fixture_add_pci_device(const char *root, const char *address, uint16_t vendor, uint16_t device,
			   uint16_t subsystem_vendor, uint16_t subsystem_device,
			   uint32_t class_code, const char *driver, int iommu_group, int numa_node)
{
	_cleanup_close_ int fd = -EBADF, dev_fd = -EBADF;
	char path[PATH_MAX];
	Device dev;
	int r;

	r = pci_device(address, &dev);
	if (r < 0)
		return r;
	if (class_code > 0xffffff || (driver && !component_is_safe(driver)))
		return -EINVAL;
	r = open_root(root, &fd);
	if (r < 0)
		return r;

	r = device_create(fd, &dev);
	if (r < 0)
		return r;
	r = format_path(path, sizeof(path), "sys/%s", dev.dir);
	if (r < 0)
		return r;
	dev_fd = openat(fd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dev_fd < 0)
		return negative_errno();

	if ((r = writef_at(dev_fd, "vendor", "0x%04x\n", vendor)) < 0 ||
	    (r = writef_at(dev_fd, "device", "0x%04x\n", device)) < 0 ||
	    (r = writef_at(dev_fd, "subsystem_vendor", "0x%04x\n", subsystem_vendor)) < 0 ||
	    (r = writef_at(dev_fd, "subsystem_device", "0x%04x\n", subsystem_device)) < 0 ||
	    (r = writef_at(dev_fd, "class", "0x%06x\n", class_code)) < 0 ||
	    (r = writef_at(dev_fd, "numa_node", "%d\n", numa_node)) < 0 ||
	    (r = write_at(dev_fd, "driver_override", "(null)\n")) < 0)
		return r;

	return device_attach(fd, &dev, iommu_group, driver);
}

int fixture_set_driver(const char *root, const char *address, const char *driver)
{
	_cleanup_close_ int fd = -EBADF;
	char path[PATH_MAX];
	Device dev;
	int r;

	r = pci_device(address, &dev);
	if (r < 0)
		return r;
	r = open_root(root, &fd);
	if (r < 0)
		return r;
	r = format_path(path, sizeof(path), "sys/%s", dev.dir);
	if (r < 0)
		return r;
	if (faccessat(fd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return negative_errno();
	return device_set_driver(fd, &dev, driver);
}

int fixture_remove_pci_device(const char *root, const char *address)
{
	_cleanup_close_ int fd = -EBADF;
	char path[PATH_MAX], target[PATH_MAX];
	Device dev;
	ssize_t n;
	int r;

	r = pci_device(address, &dev);
	if (r < 0)
		return r;
	r = open_root(root, &fd);
	if (r < 0)
		return r;

	r = device_unbind(fd, &dev);
	if (r < 0)
		return r;

	r = format_path(path, sizeof(path), "sys/%s/iommu_group", dev.dir);
	if (r < 0)
		return r;
	n = readlinkat(fd, path, target, sizeof(target) - 1);
	if (n >= 0) {
		const char *group;

		target[n] = '\0';
		group = strrchr(target, '/');
		group = group ? group + 1 : target;
		if (component_is_safe(group)) {
			r = format_path(path, sizeof(path), "sys/kernel/iommu_groups/%s/devices/%s",
					group, dev.name);
			if (r < 0)
				return r;
			r = unlink_at_if_exists(fd, path);
			if (r < 0)
				return r;
		}
	}

	r = format_path(path, sizeof(path), "sys/bus/%s/devices/%s", dev.bus, dev.name);
	if (r < 0)
		return r;
	r = unlink_at_if_exists(fd, path);
	if (r < 0)
		return r;

	r = format_path(path, sizeof(path), "sys/%s", dev.dir);
	if (r < 0)
		return r;
	return remove_tree_at(fd, path);
}

int fixture_add_platform_device(const char *root, const char *name, const char *driver,
				int iommu_group)
{
	_cleanup_close_ int fd = -EBADF;
	Device dev = {.bus = "platform", .name = name};
	char path[PATH_MAX];
	int r;

	if (!component_is_safe(name) || (driver && !component_is_safe(driver)))
		return -EINVAL;
	r = format_path(dev.dir, sizeof(dev.dir), "devices/platform/%s", name);
	if (r < 0)
		return r;
	r = open_root(root, &fd);
	if (r < 0)
		return r;

	r = device_create(fd, &dev);
	if (r < 0)
		return r;
	r = format_path(path, sizeof(path), "sys/%s/driver_override", dev.dir);
	if (r < 0)
		return r;
	r = write_at(fd, path, "(null)\n");
	if (r < 0)
		return r;
	return device_attach(fd, &dev, iommu_group, driver);
}

int fixture_set_of_node(const char *root, const char *name, const char *dt_path)
{
	_cleanup_close_ int fd = -EBADF;
	char path[PATH_MAX], target[PATH_MAX];
	bool is_root;
	int r;

	if (!component_is_safe(name) || !dt_path || dt_path[0] != '/')
		return -EINVAL;
	is_root = streq(dt_path, "/");
	if (!is_root && !path_is_safe(dt_path + 1))
		return -EINVAL;
	r = open_root(root, &fd);
	if (r < 0)
		return r;

	r = format_path(path, sizeof(path), "sys/firmware/devicetree/base%s",
			is_root ? "" : dt_path);
	if (r < 0)
		return r;
	r = mkdir_p_at(fd, path);
	if (r < 0)
		return r;
	r = format_path(path, sizeof(path), "sys/devices/platform/%s/of_node", name);
	if (r < 0)
		return r;
	r = format_path(target, sizeof(target), "../../../firmware/devicetree/base%s",
			is_root ? "" : dt_path);
	if (r < 0)
		return r;
	return symlink_at(fd, path, target);
}

/* One node's directory and property files, `dir` relative to the fixture root. */
static int add_devicetree_node(int fd, const void *dtb, int node, const char *dir)
{
	const char *name;
	char path[PATH_MAX];
	int prop, r;

	r = mkdir_p_at(fd, dir);
	if (r < 0)
		return r;
	fdt_for_each_property_offset(prop, dtb, node)
	{
		const char *prop_name;
		const void *value;
		int len;

		value = fdt_getprop_by_offset(dtb, prop, &prop_name, &len);
		if (!value || !component_is_safe(prop_name))
			return -EINVAL;
		r = format_path(path, sizeof(path), "%s/%s", dir, prop_name);
		if (r < 0)
			return r;
		r = write_data_at(fd, path, value, (size_t)len);
		if (r < 0)
			return r;
	}
	if (prop != -FDT_ERR_NOTFOUND)
		return -EINVAL;

	/* The kernel adds `name`: the node name without its unit address, NUL-terminated. */
	name = fdt_get_name(dtb, node, NULL);
	if (!name)
		return -EINVAL;
	r = format_path(path, sizeof(path), "%s/name", dir);
	if (r < 0)
		return r;
	if (faccessat(fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	{
		char value[NAME_MAX + 1];
		size_t k = strcspn(name, "@");

		if (k >= sizeof(value))
			return -EINVAL;
		memcpy(value, name, k);
		value[k] = '\0';
		return write_data_at(fd, path, value, k + 1);
	}
}

int fixture_add_devicetree(const char *root, const void *dtb, size_t size)
{
	enum {
		DEPTH_MAX = 64
	};
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char(*dirs)[PATH_MAX] = NULL; /* dirs[d]: the node directory at depth d */
	int node, depth = -1, r;

	if (!dtb || fdt_check_full(dtb, size) < 0)
		return -EINVAL;
	dirs = calloc(DEPTH_MAX, sizeof(*dirs));
	if (!dirs)
		return -ENOMEM;
	r = open_root(root, &fd);
	if (r < 0)
		return r;
	r = mkdir_p_at(fd, "sys/firmware");
	if (r < 0)
		return r;
	r = write_data_at(fd, "sys/firmware/fdt", dtb, size);
	if (r < 0)
		return r;

	for (node = fdt_next_node(dtb, -1, &depth); node >= 0 && depth >= 0;
	     node = fdt_next_node(dtb, node, &depth)) {
		const char *name;

		if (depth >= DEPTH_MAX)
			return -EINVAL;
		if (depth == 0)
			r = format_path(dirs[0], sizeof(dirs[0]), "sys/firmware/devicetree/base");
		else {
			name = fdt_get_name(dtb, node, NULL);
			if (!name || !component_is_safe(name))
				return -EINVAL;
			r = format_path(dirs[depth], sizeof(dirs[depth]), "%s/%s", dirs[depth - 1],
					name);
		}
		if (r < 0)
			return r;
		r = add_devicetree_node(fd, dtb, node, dirs[depth]);
		if (r < 0)
			return r;
	}
	return 0;
}

int fixture_write_file(const char *root, const char *path, const char *contents)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!path_is_safe(path) || !contents)
		return -EINVAL;
	r = open_root(root, &fd);
	if (r < 0)
		return r;
	return write_at(fd, path, contents);
}

int fixture_write_data(const char *root, const char *path, const void *data, size_t size)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!path_is_safe(path) || (!data && size > 0))
		return -EINVAL;
	r = open_root(root, &fd);
	if (r < 0)
		return r;
	return write_data_at(fd, path, data, size);
}

int fixture_symlink(const char *root, const char *path, const char *target)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!path_is_safe(path) || !target)
		return -EINVAL;
	r = open_root(root, &fd);
	if (r < 0)
		return r;
	return symlink_at(fd, path, target);
}

int fixture_unlink(const char *root, const char *path)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!path_is_safe(path))
		return -EINVAL;
	r = open_root(root, &fd);
	if (r < 0)
		return r;
	if (unlinkat(fd, path, 0) < 0)
		return negative_errno();
	return 0;
}
