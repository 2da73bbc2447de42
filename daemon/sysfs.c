/* SPDX-License-Identifier: MIT */
#include "sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "util.h"

#define PCI_BUS_DEVICES_PATH	  "sys/bus/pci/devices"
#define PLATFORM_BUS_DEVICES_PATH "sys/bus/platform/devices"
#define SYS_DEVICES_PATH	  "sys/devices"
#define SYS_DEVICES_PREFIX	  SYS_DEVICES_PATH "/"

/* Longest attribute we parse ("0x00ff00\n", "-1\n"), with generous slack. */
#define ATTR_MAX 32
/* Longest `compatible` property read from the live device tree. */
#define COMPATIBLE_MAX 4096

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

bool sysfs_name_is_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > NAME_MAX || streq(s, ".") || streq(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
			return false;
	return true;
}

void pci_device_info_done(PciDeviceInfo *info)
{
	if (!info)
		return;
	free(info->driver);
	*info = (PciDeviceInfo){
	    .iommu_group = -1,
	    .numa_node = -1,
	};
}

PciDeviceInfo *pci_device_info_array_free(PciDeviceInfo *a, size_t n)
{
	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++)
		pci_device_info_done(&a[i]);
	free(a);
	return NULL;
}

/* Whether `path` is relative, with single slashes, no "." or ".." and no overlong component. */
static int check_beneath_path(const char *path)
{
	for (const char *p = path;;) {
		size_t n = strcspn(p, "/");

		if (n == 0)
			return -EINVAL;
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/* open_beneath() one component at a time: the reference for its semantics and errors. */
static int open_beneath_walk(int dir_fd, const char *path, int flags, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	char component[NAME_MAX + 1];
	const char *p = path;

	for (;;) {
		size_t n = strcspn(p, "/");
		bool last = p[n] == '\0';
		int next;

		memcpy(component, p, n);
		component[n] = '\0';
		next = openat(fd >= 0 ? fd : dir_fd, component,
			      last ? flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY
				   : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return negative_errno();
		safe_close(fd);
		fd = next;
		if (last)
			break;
		p += n + 1;
	}

	*ret_fd = TAKE_FD(fd);
	return 0;
}

/*
 * Opens `path` (relative, components separated by single slashes, no "." or
 * "..") under dir_fd, never following a symlink: as if intermediate
 * components were opened O_PATH|O_DIRECTORY|O_NOFOLLOW one by one, and the
 * last one with `flags` | O_NOFOLLOW | O_CLOEXEC. One openat2() with
 * RESOLVE_NO_SYMLINKS does that in a single syscall (sysfs paths are 4-8
 * components deep and read thousands of times for a GetManagedObjects); when
 * it fails, or the kernel lacks it, the walk gives the answer, so the errors
 * (ENOTDIR for a symlinked directory, ELOOP for a symlinked file) stay the
 * walk's.
 */
static int open_beneath(int dir_fd, const char *path, int flags, int *ret_fd)
{
	/* openat2() refuses O_PATH with any flag it ignores, such as O_NOCTTY. */
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY)),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int r, fd;

	r = check_beneath_path(path);
	if (r < 0)
		return r;
	fd = (int)syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
	if (fd >= 0) {
		*ret_fd = fd;
		return 0;
	}
	if (errno == ENOENT)
		return -ENOENT; /* the walk would stop at the same missing component */
	return open_beneath_walk(dir_fd, path, flags, ret_fd);
}

/*
 * Reads the symlink `name` in directory dir_path (opened as dir_fd, relative
 * to the root) and resolves its target lexically into ret, a path relative to
 * the root without "." or ".." components. Returns -EXDEV for an absolute
 * target or one that climbs above the root, -EIO when the entry is not a
 * symlink, -ENOENT when there is no such entry.
 */
static int resolve_link(int dir_fd, const char *dir_path, const char *name, char *ret, size_t size)
{
	char target[PATH_MAX];
	const char *p;
	size_t len;
	ssize_t n;

	n = readlinkat(dir_fd, name, target, sizeof(target));
	if (n < 0)
		return errno == EINVAL ? -EIO : negative_errno();
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	target[n] = '\0';
	if (target[0] == '/')
		return -EXDEV;

	len = strlen(dir_path);
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(ret, dir_path, len + 1);

	for (p = target; *p;) {
		size_t k = strcspn(p, "/");

		if (k == 0 || (k == 1 && p[0] == '.')) {
			/* empty or "." component: nothing to do */
		} else if (k == 2 && p[0] == '.' && p[1] == '.') {
			char *slash;

			if (len == 0)
				return -EXDEV;
			slash = memrchr(ret, '/', len);
			len = slash ? (size_t)(slash - ret) : 0;
			ret[len] = '\0';
		} else {
			if (len + (len > 0) + k >= size)
				return -ENAMETOOLONG;
			if (len > 0)
				ret[len++] = '/';
			memcpy(ret + len, p, k);
			len += k;
			ret[len] = '\0';
		}
		p += k;
		if (*p == '/')
			p++;
	}
	return 0;
}

/*
 * resolve_link(), and the result must be sys/devices/.../<name> (-EIO
 * otherwise).
 */
static int resolve_device_link(int dir_fd, const char *dir_path, const char *name, char *ret,
			       size_t size)
{
	const char *base;
	int r;

	r = resolve_link(dir_fd, dir_path, name, ret, size);
	if (r < 0)
		return r;
	if (strncmp(ret, SYS_DEVICES_PREFIX, strlen(SYS_DEVICES_PREFIX)) != 0)
		return -EIO;
	base = strrchr(ret, '/') + 1;
	if (!streq(base, name))
		return -EIO;
	return 0;
}

/*
 * Opens (O_PATH) the device directory the symlink dir_path/name points at,
 * walking from devices_fd (<root>/sys/devices, opened once by the caller), and
 * leaves its path relative to the root in path. -ENODEV if gone.
 */
static int open_device_link_at(int devices_fd, int dir_fd, const char *dir_path, const char *name,
			       int *ret_fd, char *path, size_t size)
{
	int r;

	r = resolve_device_link(dir_fd, dir_path, name, path, size);
	if (r == -ENOENT)
		return -ENODEV;
	if (r < 0)
		return r;
	/* resolve_device_link() made sure path is "sys/devices/" and at least one component. */
	r = open_beneath(devices_fd, path + strlen(SYS_DEVICES_PREFIX), O_PATH | O_DIRECTORY,
			 ret_fd);
	if (r == -ENOENT)
		return -ENODEV;
	return r;
}

static int open_device_link(int devices_fd, int dir_fd, const char *dir_path, const char *name,
			    int *ret_fd)
{
	char path[PATH_MAX];

	return open_device_link_at(devices_fd, dir_fd, dir_path, name, ret_fd, path, sizeof(path));
}

/* Opens <root>/sys/devices; -ENODEV when there is none. */
static int open_sys_devices(int root_fd, int *ret_fd)
{
	int r;

	r = open_beneath(root_fd, SYS_DEVICES_PATH, O_PATH | O_DIRECTORY, ret_fd);
	return r == -ENOENT ? -ENODEV : r;
}

/*
 * Reads a small attribute file into buf, at most size - 1 bytes, and sets
 * *ret_n to its length. Returns 0, -EIO when it does not fit, or the errno of
 * open/read (-ENOENT when the file does not exist).
 */
static int read_attr_raw(int dir_fd, const char *name, char *buf, size_t size, size_t *ret_n)
{
	_cleanup_close_ int fd = -EBADF;
	size_t n = 0;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return negative_errno();

	for (;;) {
		ssize_t k;

		if (n == size - 1) {
			char c;

			/* Full: anything more means the file is longer than any valid value. */
			k = read(fd, &c, 1);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return negative_errno();
			if (k > 0)
				return -EIO;
			break;
		}
		k = read(fd, buf + n, size - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		n += (size_t)k;
		/* sysfs hands out a whole attribute per read: a short read is the end, as for
		 * any regular file, which saves a second read per attribute. */
		if (k == 0 || n < size - 1)
			break;
	}

	*ret_n = n;
	return 0;
}

/*
 * Reads a small attribute file into buf (NUL-terminated, one trailing newline
 * removed). Returns 0, -EIO when it does not fit or holds a NUL, or the errno
 * of open/read (-ENOENT when the file does not exist).
 */
static int read_attr(int dir_fd, const char *name, char *buf, size_t size)
{
	size_t n;
	int r;

	r = read_attr_raw(dir_fd, name, buf, size, &n);
	if (r < 0)
		return r;
	buf[n] = '\0';
	if (strlen(buf) != n)
		return -EIO;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* Exactly "0x" and `digits` hex digits. */
static int parse_hex(const char *s, size_t digits, uint32_t *ret)
{
	uint32_t v = 0;

	if (s[0] != '0' || s[1] != 'x' || strlen(s) != 2 + digits)
		return -EIO;
	for (size_t i = 0; i < digits; i++) {
		int d = unhexchar(s[2 + i]);

		if (d < 0)
			return -EIO;
		v = v << 4 | (uint32_t)d;
	}
	*ret = v;
	return 0;
}

/* "0" or [1-9][0-9]* fitting an int. */
static int parse_unsigned(const char *s, int *ret)
{
	long v = 0;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -EIO;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EIO;
		v = v * 10 + (*p - '0');
		if (v > INT_MAX)
			return -EIO;
	}
	*ret = (int)v;
	return 0;
}

/* A required hex attribute; a missing one is malformed sysfs (-EIO). */
static int read_hex_attr(int dir_fd, const char *name, size_t digits, uint32_t *ret)
{
	char buf[ATTR_MAX] = {};
	int r;

	r = read_attr(dir_fd, name, buf, sizeof(buf));
	if (r == -ENOENT)
		return -EIO;
	if (r < 0)
		return r;
	return parse_hex(buf, digits, ret);
}

static int read_numa_node(int dir_fd, int *ret)
{
	char buf[ATTR_MAX] = {};
	int r;

	r = read_attr(dir_fd, "numa_node", buf, sizeof(buf));
	if (r == -ENOENT) {
		/* Kernels without CONFIG_NUMA have no numa_node attribute. */
		*ret = -1;
		return 0;
	}
	if (r < 0)
		return r;
	if (streq(buf, "-1")) {
		*ret = -1;
		return 0;
	}
	return parse_unsigned(buf, ret);
}

/*
 * The basename of symlink `name` in dir_fd, validated with
 * sysfs_name_is_valid(). Returns 0 with *ret NULL when there is no such link,
 * -EIO when the entry is not a symlink or its basename is not a valid name.
 */
static int read_link_basename(int dir_fd, const char *name, char **ret)
{
	char target[PATH_MAX];
	const char *base;
	char *s;
	ssize_t n;

	n = readlinkat(dir_fd, name, target, sizeof(target));
	if (n < 0) {
		if (errno == ENOENT) {
			*ret = NULL;
			return 0;
		}
		return errno == EINVAL ? -EIO : negative_errno();
	}
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	target[n] = '\0';

	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!sysfs_name_is_valid(base))
		return -EIO;
	s = strdup(base);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int read_iommu_group(int dir_fd, int *ret)
{
	_cleanup_free_ char *group = NULL;
	int r;

	r = read_link_basename(dir_fd, "iommu_group", &group);
	if (r < 0)
		return r;
	if (!group) {
		*ret = -1;
		return 0;
	}
	return parse_unsigned(group, ret);
}

/* Reads PCI device `address` (valid) through the bus directory bus_fd. */
static int read_pci_device_at(int devices_fd, int bus_fd, const char *address, PciDeviceInfo *ret)
{
	_cleanup_close_ int dev_fd = -EBADF;
	_cleanup_free_ char *driver = NULL;
	uint32_t vendor, device, subsystem_vendor, subsystem_device, class_code;
	int iommu_group, numa_node, r;

	r = open_device_link(devices_fd, bus_fd, PCI_BUS_DEVICES_PATH, address, &dev_fd);
	if (r < 0)
		return r;

	r = read_hex_attr(dev_fd, "vendor", 4, &vendor);
	if (r < 0)
		return r;
	r = read_hex_attr(dev_fd, "device", 4, &device);
	if (r < 0)
		return r;
	r = read_hex_attr(dev_fd, "subsystem_vendor", 4, &subsystem_vendor);
	if (r < 0)
		return r;
	r = read_hex_attr(dev_fd, "subsystem_device", 4, &subsystem_device);
	if (r < 0)
		return r;
	r = read_hex_attr(dev_fd, "class", 6, &class_code);
	if (r < 0)
		return r;
	r = read_numa_node(dev_fd, &numa_node);
	if (r < 0)
		return r;
	r = read_iommu_group(dev_fd, &iommu_group);
	if (r < 0)
		return r;
	r = read_link_basename(dev_fd, "driver", &driver);
	if (r < 0)
		return r;

	*ret = (PciDeviceInfo){
	    .vendor_id = (uint16_t)vendor,
	    .device_id = (uint16_t)device,
	    .subsystem_vendor_id = (uint16_t)subsystem_vendor,
	    .subsystem_device_id = (uint16_t)subsystem_device,
	    .class_code = class_code,
	    .driver = TAKE_PTR(driver),
	    .iommu_group = iommu_group,
	    .numa_node = numa_node,
	};
	memcpy(ret->address, address, PCI_ADDRESS_MAX);
	return 0;
}

/* Opens sys/bus/pci/devices and sys/devices; -ENODEV when either is missing. */
static int open_pci_bus_devices(int root_fd, int *ret_bus_fd, int *ret_devices_fd)
{
	_cleanup_close_ int bus_fd = -EBADF;
	int r;

	r = open_beneath(root_fd, PCI_BUS_DEVICES_PATH, O_PATH | O_DIRECTORY, &bus_fd);
	if (r == -ENOENT)
		return -ENODEV;
	if (r < 0)
		return r;
	r = open_sys_devices(root_fd, ret_devices_fd);
	if (r < 0)
		return r;
	*ret_bus_fd = TAKE_FD(bus_fd);
	return 0;
}

int sysfs_read_pci_device(int root_fd, const char *address, PciDeviceInfo *ret)
{
	_cleanup_close_ int bus_fd = -EBADF, devices_fd = -EBADF;
	int r;

	if (!pci_address_is_valid(address))
		return -EINVAL;
	r = open_pci_bus_devices(root_fd, &bus_fd, &devices_fd);
	if (r < 0)
		return r;
	return read_pci_device_at(devices_fd, bus_fd, address, ret);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in directory d accepted by `valid`, sorted. Names that are not
 * valid are skipped, or fail the call with -EIO when `strict`. More than
 * SYSFS_ENTRIES_MAX accepted names give -E2BIG.
 */
static int read_dir_names(DIR *d, bool (*valid)(const char *), bool strict, char ***ret)
{
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0, allocated = 0;

	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0)
				return negative_errno();
			break;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (!valid(de->d_name)) {
			if (strict)
				return -EIO;
			continue;
		}
		if (n >= SYSFS_ENTRIES_MAX)
			return -E2BIG;
		if (n + 2 > allocated) {
			size_t want = allocated ? allocated * 2 : 16;
			char **grown = realloc(names, want * sizeof(char *));

			if (!grown)
				return -ENOMEM;
			names = grown;
			allocated = want;
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			return -ENOMEM;
		names[++n] = NULL;
	}

	if (!names) {
		names = calloc(1, sizeof(char *));
		if (!names)
			return -ENOMEM;
	}
	qsort(names, n, sizeof(char *), compare_strings);
	*ret = TAKE_PTR(names);
	return 0;
}

/* Errors that concern one device's data: the device is skipped during enumeration. */
static bool error_is_per_device(int r)
{
	switch (r) {
	case -ENODEV:
	case -ENOENT:
	case -EXDEV:
	case -ELOOP:
	case -ENOTDIR:
	case -ENAMETOOLONG:
	case -EIO:
		return true;
	default:
		return false;
	}
}

/*
 * Lists a bus's devices directory (sys/bus/<bus>/devices) for an enumeration:
 * the entries `valid` accepts, sorted, and a directory fd of sys/devices to
 * resolve them under. Returns their number (0 also for a tree without that
 * bus, or whose links lead nowhere) or a negative errno; *ret_dir, *ret_names
 * and *ret_devices_fd are the caller's when the number is positive.
 */
static int open_bus_devices(int root_fd, const char *path, bool (*valid)(const char *),
			    DIR **ret_dir, char ***ret_names, int *ret_devices_fd)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_strv_free_ char **names = NULL;
	int fd, devices_fd, r;
	size_t n;

	r = open_beneath(root_fd, path, O_RDONLY | O_DIRECTORY, &fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		safe_close(fd);
		return r;
	}
	r = read_dir_names(d, valid, false, &names);
	if (r < 0)
		return r;
	n = strv_length(names);
	if (n == 0)
		return 0;
	r = open_sys_devices(root_fd, &devices_fd);
	if (r == -ENODEV)
		return 0; /* links to nowhere: no readable device */
	if (r < 0)
		return r;
	if (n > INT_MAX) {
		safe_close(devices_fd);
		return -E2BIG;
	}
	*ret_dir = TAKE_PTR(d);
	*ret_names = TAKE_PTR(names);
	*ret_devices_fd = devices_fd;
	return (int)n;
}

int sysfs_enumerate_pci(int root_fd, PciDeviceInfo **ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_close_ int devices_fd = -EBADF;
	_cleanup_strv_free_ char **names = NULL;
	PciDeviceInfo *devices;
	size_t n, k = 0;
	int r;

	r = open_bus_devices(root_fd, PCI_BUS_DEVICES_PATH, pci_address_is_valid, &d, &names,
			     &devices_fd);
	if (r < 0)
		return r;
	if (r == 0) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	n = (size_t)r;

	devices = calloc(n, sizeof(PciDeviceInfo));
	if (!devices)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = read_pci_device_at(devices_fd, dirfd(d), names[i], &devices[k]);
		if (r < 0 && error_is_per_device(r))
			continue;
		if (r < 0) {
			pci_device_info_array_free(devices, k);
			return r;
		}
		k++;
	}

	*ret = devices;
	*ret_n = k;
	return 0;
}

static int group_devices_path(int group, char *buf, size_t size)
{
	int n;

	if (group < 0)
		return -EINVAL;
	n = snprintf(buf, size, "sys/kernel/iommu_groups/%d/devices", group);
	if (n < 0 || (size_t)n >= size)
		return -EINVAL;
	return 0;
}

int sysfs_iommu_group_members(int root_fd, int group, char ***ret)
{
	_cleanup_closedir_ DIR *d = NULL;
	char path[64];
	int fd, r;

	r = group_devices_path(group, path, sizeof(path));
	if (r < 0)
		return r;
	r = open_beneath(root_fd, path, O_RDONLY | O_DIRECTORY, &fd);
	if (r < 0)
		return r;
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		safe_close(fd);
		return r;
	}
	return read_dir_names(d, sysfs_name_is_valid, true, ret);
}

int sysfs_iommu_group_member_drivers(int root_fd, int group, char *const *names, size_t n,
				     char **ret_drivers, int *ret_errors)
{
	/* Opened once for all members. */
	_cleanup_close_ int devices_fd = -EBADF, pci_fd = -EBADF, group_fd = -EBADF;
	int pci_error = 0, group_error = 0, devices_error;
	char group_path[64];
	int r;

	r = group_devices_path(group, group_path, sizeof(group_path));
	if (r < 0)
		return r;
	devices_error = open_sys_devices(root_fd, &devices_fd);

	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int dev_fd = -EBADF;
		const char *name = names[i];
		bool pci = pci_address_is_valid(name);
		const char *dir_path = pci ? PCI_BUS_DEVICES_PATH : group_path;
		int *dir_fd = pci ? &pci_fd : &group_fd,
		    *dir_error = pci ? &pci_error : &group_error;

		ret_drivers[i] = NULL;
		ret_errors[i] = 0;
		if (!sysfs_name_is_valid(name)) {
			ret_errors[i] = -EINVAL;
			continue;
		}
		if (*dir_fd < 0 && *dir_error == 0) {
			r = open_beneath(root_fd, dir_path, O_PATH | O_DIRECTORY, dir_fd);
			*dir_error = r == -ENOENT ? -ENODEV : r < 0 ? r : 0;
		}
		r = *dir_error ?: devices_error;
		if (r >= 0)
			r = open_device_link(devices_fd, *dir_fd, dir_path, name, &dev_fd);
		if (r >= 0)
			r = read_link_basename(dev_fd, "driver", &ret_drivers[i]);
		if (r == -ENOMEM) {
			for (size_t k = 0; k < i; k++) {
				free(ret_drivers[k]);
				ret_drivers[k] = NULL;
			}
			return r;
		}
		ret_errors[i] = r < 0 ? r : 0;
	}
	return 0;
}

int sysfs_iommu_group_member_driver(int root_fd, int group, const char *name, char **ret)
{
	char *driver;
	int r, error;

	r = sysfs_iommu_group_member_drivers(root_fd, group, (char *const[]){(char *)name}, 1,
					     &driver, &error);
	if (r < 0)
		return r;
	if (error < 0)
		return error;
	*ret = driver;
	return 0;
}

void platform_device_info_done(PlatformDeviceInfo *info)
{
	if (!info)
		return;
	free(info->name);
	free(info->driver);
	free(info->driver_override);
	free(info->of_node);
	strv_free(info->compatible);
	*info = (PlatformDeviceInfo){
	    .iommu_group = -1,
	    .numa_node = -1,
	};
}

PlatformDeviceInfo *platform_device_info_array_free(PlatformDeviceInfo *a, size_t n)
{
	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++)
		platform_device_info_done(&a[i]);
	free(a);
	return NULL;
}

/*
 * The symlink `of_node` in the device directory dev_path (relative to the
 * root, opened as dev_fd), resolved lexically: *ret_path is the node's
 * path in the tree ("/" and the part of the target after
 * sys/firmware/devicetree/base), *ret_dir its directory relative to the root,
 * both NULL when there is no of_node. -EXDEV when the link leaves the root,
 * -EIO when it is not a symlink, points elsewhere or names an invalid node.
 */
static int read_of_node(int dev_fd, const char *dev_path, char **ret_path, char **ret_dir)
{
	_cleanup_free_ char *dt_path = NULL, *dir = NULL;
	char resolved[PATH_MAX];
	const char *rest;
	int r;

	r = resolve_link(dev_fd, dev_path, "of_node", resolved, sizeof(resolved));
	if (r == -ENOENT) {
		*ret_path = *ret_dir = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	rest = startswith(resolved, SYSFS_DEVICETREE_PATH);
	if (!rest || (*rest != '\0' && *rest != '/'))
		return -EIO;

	/* resolve_link() left no empty, "." or ".." component; names must be plain. */
	for (const char *p = rest; *p;) {
		char name[NAME_MAX + 1];
		size_t k;

		p++; /* the '/' */
		k = strcspn(p, "/");
		if (k > NAME_MAX)
			return -EIO;
		memcpy(name, p, k);
		name[k] = '\0';
		if (!sysfs_name_is_valid(name))
			return -EIO;
		p += k;
	}

	dt_path = strdup(*rest ? rest : "/");
	dir = strdup(resolved);
	if (!dt_path || !dir)
		return -ENOMEM;
	*ret_path = TAKE_PTR(dt_path);
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

/*
 * The `compatible` property of the node directory dir (relative to the root):
 * NUL-terminated printable strings, as a strv; NULL when there is none. -EIO
 * when the node directory is missing or the property malformed.
 */
static int read_compatible(int root_fd, const char *dir, char ***ret)
{
	_cleanup_close_ int node_fd = -EBADF;
	_cleanup_strv_free_ char **l = NULL;
	char buf[COMPATIBLE_MAX + 1];
	size_t n, count = 0, k = 0;
	int r;

	r = open_beneath(root_fd, dir, O_PATH | O_DIRECTORY, &node_fd);
	if (r == -ENOENT)
		return -EIO; /* the link names a node that is not there */
	if (r < 0)
		return r;
	r = read_attr_raw(node_fd, "compatible", buf, sizeof(buf), &n);
	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	if (n == 0 || buf[n - 1] != '\0')
		return -EIO;
	for (size_t i = 0; i < n; i++)
		count += buf[i] == '\0';

	l = calloc(count + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n;) {
		size_t len = strlen(buf + i);

		if (len == 0)
			return -EIO;
		for (size_t j = 0; j < len; j++)
			if (buf[i + j] < ' ' || buf[i + j] > '~')
				return -EIO;
		l[k] = strdup(buf + i);
		if (!l[k++])
			return -ENOMEM;
		i += len + 1;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* driver_override: NULL when unset ("(null)") or absent, else a valid driver name. */
static int read_driver_override(int dev_fd, char **ret)
{
	char buf[NAME_MAX + 2] = {};
	char *s;
	int r;

	r = read_attr(dev_fd, "driver_override", buf, sizeof(buf));
	if (r == -ENOENT || (r == 0 && (streq(buf, "(null)") || buf[0] == '\0'))) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	if (!sysfs_name_is_valid(buf))
		return -EIO;
	s = strdup(buf);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/*
 * Reads platform device `name` (valid) through the bus directory bus_fd.
 * With grouped_only, a device in no IOMMU group is not read further: returns
 * 1 and leaves ret alone.
 */
static int read_platform_device_at(int root_fd, int devices_fd, int bus_fd, const char *name,
				   bool grouped_only, PlatformDeviceInfo *ret)
{
	_cleanup_close_ int dev_fd = -EBADF;
	_cleanup_free_ char *copy = NULL, *driver = NULL, *driver_override = NULL, *of_node = NULL,
			    *of_node_dir = NULL;
	_cleanup_strv_free_ char **compatible = NULL;
	char dev_path[PATH_MAX];
	int iommu_group, numa_node, r;

	r = open_device_link_at(devices_fd, bus_fd, PLATFORM_BUS_DEVICES_PATH, name, &dev_fd,
				dev_path, sizeof(dev_path));
	if (r < 0)
		return r;
	r = read_iommu_group(dev_fd, &iommu_group);
	if (r < 0)
		return r;
	if (grouped_only && iommu_group < 0)
		return 1;

	r = read_numa_node(dev_fd, &numa_node);
	if (r < 0)
		return r;
	r = read_link_basename(dev_fd, "driver", &driver);
	if (r < 0)
		return r;
	r = read_driver_override(dev_fd, &driver_override);
	if (r < 0)
		return r;
	r = read_of_node(dev_fd, dev_path, &of_node, &of_node_dir);
	if (r < 0)
		return r;
	if (of_node_dir) {
		r = read_compatible(root_fd, of_node_dir, &compatible);
		if (r < 0)
			return r;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;

	*ret = (PlatformDeviceInfo){
	    .name = TAKE_PTR(copy),
	    .driver = TAKE_PTR(driver),
	    .driver_override = TAKE_PTR(driver_override),
	    .of_node = TAKE_PTR(of_node),
	    .compatible = TAKE_PTR(compatible),
	    .iommu_group = iommu_group,
	    .numa_node = numa_node,
	};
	return 0;
}

int sysfs_read_platform_device(int root_fd, const char *name, PlatformDeviceInfo *ret)
{
	_cleanup_close_ int bus_fd = -EBADF, devices_fd = -EBADF;
	int r;

	if (!sysfs_name_is_valid(name))
		return -EINVAL;

	r = open_beneath(root_fd, PLATFORM_BUS_DEVICES_PATH, O_PATH | O_DIRECTORY, &bus_fd);
	if (r == -ENOENT)
		return -ENODEV;
	if (r < 0)
		return r;
	r = open_sys_devices(root_fd, &devices_fd);
	if (r < 0)
		return r;
	return read_platform_device_at(root_fd, devices_fd, bus_fd, name, false, ret);
}

int sysfs_enumerate_platform(int root_fd, PlatformDeviceInfo **ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_close_ int devices_fd = -EBADF;
	_cleanup_strv_free_ char **names = NULL;
	PlatformDeviceInfo *devices;
	size_t n, k = 0;
	int r;

	r = open_bus_devices(root_fd, PLATFORM_BUS_DEVICES_PATH, sysfs_name_is_valid, &d, &names,
			     &devices_fd);
	if (r < 0)
		return r;
	if (r == 0) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	n = (size_t)r;

	devices = calloc(n, sizeof(PlatformDeviceInfo));
	if (!devices)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = read_platform_device_at(root_fd, devices_fd, dirfd(d), names[i], true,
					    &devices[k]);
		if (r > 0 || (r < 0 && error_is_per_device(r)))
			continue;
		if (r < 0) {
			platform_device_info_array_free(devices, k);
			return r;
		}
		k++;
	}

	if (k == 0)
		devices = platform_device_info_array_free(devices, 0);
	*ret = devices;
	*ret_n = k;
	return 0;
}

/* Opens (O_PATH) the directory of PCI device `address` (valid). */
static int open_pci_device(int root_fd, const char *address, int *ret_fd)
{
	_cleanup_close_ int bus_fd = -EBADF, devices_fd = -EBADF;
	int r;

	r = open_pci_bus_devices(root_fd, &bus_fd, &devices_fd);
	if (r < 0)
		return r;
	return open_device_link(devices_fd, bus_fd, PCI_BUS_DEVICES_PATH, address, ret_fd);
}

int sysfs_pci_read_binding(int root_fd, const char *address, char **ret_driver, char **ret_override)
{
	_cleanup_close_ int dev_fd = -EBADF;
	_cleanup_free_ char *driver = NULL, *override = NULL;
	int r;

	if (!pci_address_is_valid(address))
		return -EINVAL;
	r = open_pci_device(root_fd, address, &dev_fd);
	if (r < 0)
		return r;
	r = read_link_basename(dev_fd, "driver", &driver);
	if (r < 0)
		return r;
	r = read_driver_override(dev_fd, &override);
	if (r < 0)
		return r;
	*ret_driver = TAKE_PTR(driver);
	*ret_override = TAKE_PTR(override);
	return 0;
}

/* One write(2) of the whole value: sysfs stores an attribute per write. */
static int write_all_once(int fd, const char *value)
{
	size_t n = strlen(value);
	ssize_t k;

	do
		k = write(fd, value, n);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return negative_errno();
	return (size_t)k == n ? 0 : -EIO;
}

int sysfs_pci_write_attr(int root_fd, const char *address, const char *attr, const char *value)
{
	_cleanup_close_ int dev_fd = -EBADF, fd = -EBADF;
	int r;

	if (!pci_address_is_valid(address) || !sysfs_name_is_valid(attr))
		return -EINVAL;
	r = open_pci_device(root_fd, address, &dev_fd);
	if (r < 0)
		return r;
	/* O_TRUNC changes nothing in sysfs, and keeps a fixture file to the value written. */
	fd = openat(dev_fd, attr, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	return write_all_once(fd, value);
}

int sysfs_pci_bus_write(int root_fd, const char *path, const char *value)
{
	_cleanup_close_ int bus_fd = -EBADF, fd = -EBADF;
	int r;

	r = open_beneath(root_fd, "sys/bus/pci", O_PATH | O_DIRECTORY, &bus_fd);
	if (r < 0)
		return r;
	r = open_beneath(bus_fd, path, O_WRONLY | O_TRUNC, &fd);
	if (r < 0)
		return r;
	return write_all_once(fd, value);
}
