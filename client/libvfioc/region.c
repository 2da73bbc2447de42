/* SPDX-License-Identifier: MIT */
/*
 * Device regions, straight from the device fd: the client may do VFIO ioctls
 * itself, the broker is not involved.
 */
#include <inttypes.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

#include "vfioc-private.h"

static int device_region_info(const struct vfioc_claim *claim, const char *address, unsigned index,
			      struct vfioc_device **ret_device, struct vfioc_region *ret)
{
	struct vfio_region_info info = {
	    .argsz = sizeof(info),
	    .index = index,
	};
	struct vfioc_device *d;

	if (!claim || !address || !ret)
		return -EINVAL;
	d = claim_find_device(claim, address);
	if (!d)
		return client_errorf(claim->client, -ENOENT, NULL, "%s is not part of claim %s",
				     address, claim->path);
	if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
		return client_errno(claim->client, negative_errno(), "VFIO_DEVICE_GET_REGION_INFO");

	if (ret_device)
		*ret_device = d;
	*ret = (struct vfioc_region){
	    .index = info.index,
	    .flags = info.flags & (VFIOC_REGION_READ | VFIOC_REGION_WRITE | VFIOC_REGION_MMAP),
	    .size = info.size,
	    .offset = info.offset,
	};
	return 0;
}

VFIOC_EXPORT int vfioc_region_info(const struct vfioc_claim *claim, const char *address,
				   unsigned index, struct vfioc_region *ret)
{
	return device_region_info(claim, address, index, NULL, ret);
}

/* Checks that [offset, offset + len) lies inside the region. */
static int region_check_range(const struct vfioc_claim *claim, const struct vfioc_region *reg,
			      uint64_t offset, uint64_t len)
{
	if (offset > reg->size || len > reg->size - offset)
		return client_errorf(claim->client, -ERANGE, NULL,
				     "0x%" PRIx64 "+0x%" PRIx64 " is outside region %u (0x%" PRIx64
				     " bytes)",
				     offset, len, reg->index, reg->size);
	return 0;
}

VFIOC_EXPORT int vfioc_region_mmap(const struct vfioc_claim *claim, const char *address,
				   unsigned index, uint64_t offset, size_t size, int prot,
				   void **ret_ptr)
{
	struct vfioc_device *d;
	struct vfioc_region reg;
	void *p;
	int r;

	if (!ret_ptr || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	r = device_region_info(claim, address, index, &d, &reg);
	if (r < 0)
		return r;
	if (!(reg.flags & VFIOC_REGION_MMAP))
		return client_errorf(claim->client, -EOPNOTSUPP, NULL,
				     "region %u of %s cannot be mmapped", index, address);
	if (size == 0) {
		if (offset >= reg.size)
			return region_check_range(claim, &reg, offset, 1);
		size = reg.size - offset;
	}
	r = region_check_range(claim, &reg, offset, size);
	if (r < 0)
		return r;

	p = mmap(NULL, size, prot, MAP_SHARED, d->fd, (off_t)(reg.offset + offset));
	if (p == MAP_FAILED)
		return client_errno(claim->client, negative_errno(), "mmap of the region");
	*ret_ptr = p;
	return 0;
}

static int region_rw(const struct vfioc_claim *claim, const char *address, unsigned index,
		     uint64_t offset, void *buf, size_t len, bool write)
{
	struct vfioc_device *d;
	struct vfioc_region reg;
	ssize_t n;
	int r;

	if (!buf && len > 0)
		return -EINVAL;
	r = device_region_info(claim, address, index, &d, &reg);
	if (r < 0)
		return r;
	r = region_check_range(claim, &reg, offset, len);
	if (r < 0)
		return r;

	if (write)
		n = pwrite(d->fd, buf, len, (off_t)(reg.offset + offset));
	else
		n = pread(d->fd, buf, len, (off_t)(reg.offset + offset));
	if (n < 0)
		return client_errno(claim->client, negative_errno(), write ? "pwrite" : "pread");
	if ((size_t)n != len)
		return client_errorf(claim->client, -EIO, NULL, "short %s: %zd of %zu bytes",
				     write ? "write" : "read", n, len);
	return 0;
}

VFIOC_EXPORT int vfioc_region_read(const struct vfioc_claim *claim, const char *address,
				   unsigned index, uint64_t offset, void *buf, size_t len)
{
	return region_rw(claim, address, index, offset, buf, len, false);
}

VFIOC_EXPORT int vfioc_region_write(const struct vfioc_claim *claim, const char *address,
				    unsigned index, uint64_t offset, const void *buf, size_t len)
{
	return region_rw(claim, address, index, offset, (void *)buf, len, true);
}
