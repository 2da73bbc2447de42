/* SPDX-License-Identifier: MIT */
/*
 * raw-vfio-probe: the baseline the broker is compared against. As root, with
 * nothing but <linux/vfio.h>: open the container and the device's group, set
 * the type1v2 IOMMU, get the device fd, print region and IRQ info; for QEMU's
 * edu device also check BAR0 through mmap (id register, liveness register)
 * and, on request, INTx and MSI through eventfds and a DMA round trip through
 * the IOMMU.
 *
 * Output is one "key value..." line per fact, for tests to grep.
 *
 * `raw-vfio-probe dump BDF` instead prints everything the device fd tells
 * about the device as one JSON object on stdout (the open path's lines go to
 * stderr). It is the independent witness daemon/vfio-info.c is compared
 * with (tests/vm/vfio-info-dump.c prints the same shape from that code), so
 * it shares no code with it. Format, numbers in decimal, arrays in index or
 * chain order:
 *
 *   {"flags": N,                  VFIO_DEVICE_GET_INFO flags
 *    "caps": [id, ...],           device-info capability ids
 *    "regions": [{"index": N, "size": N, "offset": N, "flags": N,
 *                 "sparse": [[offset, size], ...],   sparse mmap areas
 *                 "type": N|null, "subtype": N|null, type capability
 *                 "msix_mappable": true|false,
 *                 "caps": [id, ...]}, ...],          every capability id
 *    "irqs": [{"index": N, "count": N, "flags": N}, ...]}
 *
 * One entry per index below num_regions / num_irqs. An index the kernel
 * refuses with EINVAL (the VGA region of a non-VGA device, ERR without PCIe)
 * has size/count 0, flags 0, offset 0, no capabilities and "absent": true;
 * a BAR the device does not implement is not refused: vfio-pci reports it
 * with size 0, flags 0 and its usual offset, printed as such. flags include
 * VFIO_REGION_INFO_FLAG_CAPS when the region has capabilities.
 *
 * Exit status: 0 ok, 1 failure, 2 usage, 3 the group is not viable (a
 * device in it is bound to a host driver).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EXIT_NOT_VIABLE	 3
#define PROBE_NOT_VIABLE 1 /* probe_open(): positive, not an errno */

#define EDU_VENDOR     0x1234
#define EDU_DEVICE     0x11e8
#define EDU_ID	       0x00
#define EDU_LIVENESS   0x04
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE  0x60
#define EDU_IRQ_ACK    0x64
#define EDU_DMA_SRC    0x80
#define EDU_DMA_DST    0x88
#define EDU_DMA_COUNT  0x90
#define EDU_DMA_CMD    0x98
#define EDU_DMA_START  0x1
#define EDU_DMA_TO_RAM 0x2
#define EDU_DMA_BUF    0x40000 /* in the device's own address space, 4 KiB */
/* QEMU 7.2's edu aborts the whole VM (hw_error) on a transfer of the full
 * 4096 bytes of its buffer: "DMA range ... out of bounds". Stay below. */
#define EDU_DMA_LEN  2048
#define EDU_DMA_IOVA 0x100000 /* below the 28-bit DMA mask */

typedef struct Probe {
	const char *bdf;
	int container;
	int group;
	int device;
	struct vfio_device_info info;
	uint64_t config_offset; /* of the config space region */
	volatile uint8_t *bar0;
	size_t bar0_size;
	FILE *out; /* what probe_open() reports: stdout, stderr for dump */
} Probe;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fail_errno(const char *what)
{
	int e = errno;

	fprintf(stderr, "raw-vfio-probe: %s: %s\n", what, strerror(e));
	return -e;
}

static int fail_msg(const char *what)
{
	fprintf(stderr, "raw-vfio-probe: %s\n", what);
	return -EIO;
}

static uint32_t bar0_read32(Probe *p, size_t off)
{
	return *(volatile uint32_t *)(p->bar0 + off);
}

static void bar0_write32(Probe *p, size_t off, uint32_t v)
{
	*(volatile uint32_t *)(p->bar0 + off) = v;
}

static void bar0_write64(Probe *p, size_t off, uint64_t v)
{
	*(volatile uint64_t *)(p->bar0 + off) = v;
}

static int config_read(Probe *p, unsigned off, void *buf, size_t len)
{
	ssize_t n = pread(p->device, buf, len, (off_t)(p->config_offset + off));

	if (n < 0)
		return fail_errno("config space read");
	if ((size_t)n != len)
		return fail_msg("short config space read");
	return 0;
}

static int config_write(Probe *p, unsigned off, const void *buf, size_t len)
{
	ssize_t n = pwrite(p->device, buf, len, (off_t)(p->config_offset + off));

	if (n < 0)
		return fail_errno("config space write");
	if ((size_t)n != len)
		return fail_msg("short config space write");
	return 0;
}

/* The group number from /sys/bus/pci/devices/BDF/iommu_group. */
static int group_number(const char *bdf, unsigned *ret)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	char *end;
	ssize_t n;
	unsigned long g;

	if (strchr(bdf, '/') || strlen(bdf) > 32)
		return fail_msg("bad PCI address");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return fail_errno(path);
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	errno = 0;
	g = strtoul(base, &end, 10);
	if (errno || *end || end == base || g > UINT_MAX)
		return fail_msg("unexpected iommu_group link");
	*ret = (unsigned)g;
	return 0;
}

static void print_iommu_info(Probe *p)
{
	struct vfio_iommu_type1_info *info;
	uint32_t argsz = sizeof(*info);

	/* First call tells the size with capabilities. */
	for (int pass = 0; pass < 2; pass++) {
		info = calloc(1, argsz);
		if (!info)
			return;
		info->argsz = argsz;
		if (ioctl(p->container, VFIO_IOMMU_GET_INFO, info) < 0) {
			fail_errno("VFIO_IOMMU_GET_INFO");
			free(info);
			return;
		}
		if (info->argsz <= argsz)
			break;
		argsz = info->argsz;
		free(info);
	}
	fprintf(p->out, "iommu flags 0x%x pgsizes 0x%" PRIx64 "\n", info->flags,
		(uint64_t)info->iova_pgsizes);
	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset) {
		uint32_t off = info->cap_offset;

		while (off && off + sizeof(struct vfio_info_cap_header) <= argsz) {
			struct vfio_info_cap_header *h = (void *)((char *)info + off);

			if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
				struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;

				for (uint32_t i = 0; i < r->nr_iovas; i++)
					fprintf(p->out, "iova-range 0x%" PRIx64 " 0x%" PRIx64 "\n",
						(uint64_t)r->iova_ranges[i].start,
						(uint64_t)r->iova_ranges[i].end);
			}
			off = h->next;
		}
	}
	free(info);
}

/* Container, group, IOMMU, device fd, device info: the path a broker takes.
 * Returns 0, a negative errno, or PROBE_NOT_VIABLE. */
static int probe_open(Probe *p)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	char path[64];
	unsigned group;
	int64_t t0 = now_ns();
	int r, flags;

	p->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (p->container < 0)
		return fail_errno("open /dev/vfio/vfio");
	r = ioctl(p->container, VFIO_GET_API_VERSION);
	fprintf(p->out, "api %d\n", r);
	if (r != VFIO_API_VERSION)
		return fail_msg("unexpected VFIO API version");
	if (ioctl(p->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		return fail_msg("no VFIO_TYPE1v2_IOMMU");
	fprintf(p->out, "type1v2 yes\n");

	r = group_number(p->bdf, &group);
	if (r < 0)
		return r;
	fprintf(p->out, "group %u\n", group);
	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	p->group = open(path, O_RDWR | O_CLOEXEC);
	if (p->group < 0)
		return fail_errno(path);
	if (ioctl(p->group, VFIO_GROUP_GET_STATUS, &status) < 0)
		return fail_errno("VFIO_GROUP_GET_STATUS");
	fprintf(p->out, "group-viable %s\n", status.flags & VFIO_GROUP_FLAGS_VIABLE ? "yes" : "no");
	if (ioctl(p->group, VFIO_GROUP_SET_CONTAINER, &p->container) < 0) {
		r = fail_errno("VFIO_GROUP_SET_CONTAINER");
		fprintf(p->out, "set-container %s\n", strerror(-r));
		return status.flags & VFIO_GROUP_FLAGS_VIABLE ? r : PROBE_NOT_VIABLE;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return fail_msg("group not viable, yet SET_CONTAINER succeeded");
	if (ioctl(p->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return fail_errno("VFIO_SET_IOMMU");

	p->device = ioctl(p->group, VFIO_GROUP_GET_DEVICE_FD, p->bdf);
	if (p->device < 0)
		return fail_errno("VFIO_GROUP_GET_DEVICE_FD");
	flags = fcntl(p->device, F_GETFD);
	fprintf(p->out, "device-fd cloexec %s\n",
		flags >= 0 && (flags & FD_CLOEXEC) ? "yes" : "no");

	p->info.argsz = sizeof(p->info);
	if (ioctl(p->device, VFIO_DEVICE_GET_INFO, &p->info) < 0)
		return fail_errno("VFIO_DEVICE_GET_INFO");
	fprintf(p->out, "open-us %" PRId64 "\n", (now_ns() - t0) / 1000);
	fprintf(p->out, "device flags 0x%x%s%s regions %u irqs %u\n", p->info.flags,
		p->info.flags & VFIO_DEVICE_FLAGS_PCI ? " pci" : "",
		p->info.flags & VFIO_DEVICE_FLAGS_RESET ? " reset" : "", p->info.num_regions,
		p->info.num_irqs);
	print_iommu_info(p);
	return 0;
}

static int probe_regions(Probe *p)
{
	bool have_config = false;

	for (uint32_t i = 0; i < p->info.num_regions; i++) {
		struct vfio_region_info reg = {.argsz = sizeof(reg), .index = i};

		if (ioctl(p->device, VFIO_DEVICE_GET_REGION_INFO, &reg) < 0) {
			/* e.g. the VGA region of a device that is not VGA */
			if (errno == EINVAL) {
				printf("region %u absent\n", i);
				continue;
			}
			return fail_errno("VFIO_DEVICE_GET_REGION_INFO");
		}
		printf("region %u size 0x%llx offset 0x%llx flags%s%s%s%s\n", i,
		       (unsigned long long)reg.size, (unsigned long long)reg.offset,
		       reg.flags & VFIO_REGION_INFO_FLAG_READ ? " read" : "",
		       reg.flags & VFIO_REGION_INFO_FLAG_WRITE ? " write" : "",
		       reg.flags & VFIO_REGION_INFO_FLAG_MMAP ? " mmap" : "",
		       reg.flags & VFIO_REGION_INFO_FLAG_CAPS ? " caps" : "");
		if (i == VFIO_PCI_CONFIG_REGION_INDEX && reg.size >= PCI_STD_HEADER_SIZEOF) {
			p->config_offset = reg.offset;
			have_config = true;
		}
		if (i == VFIO_PCI_BAR0_REGION_INDEX && reg.size &&
		    (reg.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
			void *m = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED,
				       p->device, (off_t)reg.offset);
			if (m == MAP_FAILED)
				return fail_errno("mmap BAR0");
			p->bar0 = m;
			p->bar0_size = reg.size;
		}
	}
	if (!have_config)
		return fail_msg("no PCI config space region");
	return 0;
}

static int probe_irq_info(Probe *p)
{
	for (uint32_t i = 0; i < p->info.num_irqs; i++) {
		struct vfio_irq_info irq = {.argsz = sizeof(irq), .index = i};

		if (ioctl(p->device, VFIO_DEVICE_GET_IRQ_INFO, &irq) < 0) {
			/* e.g. the ERR IRQ of a device without a PCIe capability */
			if (errno == EINVAL) {
				printf("irq %u absent\n", i);
				continue;
			}
			return fail_errno("VFIO_DEVICE_GET_IRQ_INFO");
		}
		printf("irq %u count %u flags%s%s%s%s\n", i, irq.count,
		       irq.flags & VFIO_IRQ_INFO_EVENTFD ? " eventfd" : "",
		       irq.flags & VFIO_IRQ_INFO_MASKABLE ? " maskable" : "",
		       irq.flags & VFIO_IRQ_INFO_AUTOMASKED ? " automasked" : "",
		       irq.flags & VFIO_IRQ_INFO_NORESIZE ? " noresize" : "");
	}
	return 0;
}

/* BAR0 of edu: the id register and the liveness register (reads ~written). */
static int probe_edu_bar0(Probe *p)
{
	static const uint32_t patterns[] = {0x12345678, 0x00000000, 0xffffffff, 0xa5a55a5a};
	uint32_t id;
	int64_t t0;

	if (!p->bar0 || p->bar0_size < 0x100)
		return fail_msg("edu BAR0 not mapped");
	t0 = now_ns();
	id = bar0_read32(p, EDU_ID);
	printf("bar0-read-ns %" PRId64 "\n", now_ns() - t0);
	printf("id 0x%08x\n", id);
	if (id != 0x010000ed)
		return fail_msg("edu id register is not 0x010000ed");
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		uint32_t v;

		bar0_write32(p, EDU_LIVENESS, patterns[i]);
		v = bar0_read32(p, EDU_LIVENESS);
		if (v != (uint32_t)~patterns[i]) {
			fprintf(stderr, "raw-vfio-probe: liveness: wrote 0x%08x, read 0x%08x\n",
				patterns[i], v);
			return -EIO;
		}
	}
	printf("liveness ok\n");
	return 0;
}

static int set_bus_master(Probe *p)
{
	uint16_t cmd;
	int r;

	r = config_read(p, PCI_COMMAND, &cmd, sizeof(cmd));
	if (r < 0)
		return r;
	cmd |= PCI_COMMAND_MASTER;
	return config_write(p, PCI_COMMAND, &cmd, sizeof(cmd));
}

static int set_irq(Probe *p, uint32_t index, uint32_t action, int eventfd)
{
	struct {
		struct vfio_irq_set set;
		int32_t fd;
	} s = {0};

	s.set.argsz = sizeof(s);
	s.set.index = index;
	s.set.start = 0;
	if (eventfd >= 0) {
		s.set.flags = VFIO_IRQ_SET_DATA_EVENTFD | action;
		s.set.count = 1;
		s.fd = eventfd;
	} else {
		s.set.argsz = sizeof(s.set);
		s.set.flags = VFIO_IRQ_SET_DATA_NONE | action;
		s.set.count = action == VFIO_IRQ_SET_ACTION_TRIGGER ? 0 : 1;
	}
	if (ioctl(p->device, VFIO_DEVICE_SET_IRQS, &s) < 0)
		return fail_errno("VFIO_DEVICE_SET_IRQS");
	return 0;
}

/* Wire IRQ index to an eventfd, make edu raise it, wait for the eventfd. */
static int probe_edu_irq(Probe *p, uint32_t index, const char *name)
{
	struct pollfd pfd;
	uint64_t count;
	int64_t t0, dt;
	int efd, r;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return fail_errno("eventfd");
	r = set_irq(p, index, VFIO_IRQ_SET_ACTION_TRIGGER, efd);
	if (r < 0)
		goto out;
	t0 = now_ns();
	bar0_write32(p, EDU_IRQ_RAISE, 0x1);
	pfd = (struct pollfd){.fd = efd, .events = POLLIN};
	r = poll(&pfd, 1, 2000);
	dt = now_ns() - t0;
	if (r < 0) {
		r = fail_errno("poll");
		goto out;
	}
	if (r == 0) {
		fprintf(stderr, "raw-vfio-probe: %s: no interrupt within 2 s (irq status 0x%x)\n",
			name, bar0_read32(p, EDU_IRQ_STATUS));
		r = -ETIMEDOUT;
		goto out;
	}
	if (read(efd, &count, sizeof(count)) != sizeof(count)) {
		r = fail_errno("eventfd read");
		goto out;
	}
	bar0_write32(p, EDU_IRQ_ACK, bar0_read32(p, EDU_IRQ_STATUS));
	if (index == VFIO_PCI_INTX_IRQ_INDEX) {
		r = set_irq(p, index, VFIO_IRQ_SET_ACTION_UNMASK, -1);
		if (r < 0)
			goto out;
	}
	printf("%s ok latency-us %" PRId64 "\n", name, dt / 1000);
	r = 0;
out:
	if (set_irq(p, index, VFIO_IRQ_SET_ACTION_TRIGGER, -1) < 0 && r == 0)
		r = -EIO;
	close(efd);
	return r;
}

static int edu_dma_wait(Probe *p)
{
	/* edu finishes a transfer 100 ms (virtual clock) after the command. */
	for (int i = 0; i < 500; i++) {
		if (!(bar0_read32(p, EDU_DMA_CMD) & EDU_DMA_START))
			return 0;
		usleep(10000);
	}
	return fail_msg("edu DMA did not complete within 5 s");
}

/* RAM -> edu buffer -> RAM through an IOVA mapping of 2 pages. */
static int probe_edu_dma(Probe *p)
{
	const size_t size = 4096;
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};
	struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof(unmap)};
	uint8_t *buf;
	int64_t t0;
	int r;

	buf = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail_errno("mmap DMA buffer");
	for (size_t i = 0; i < size; i++) {
		buf[i] = (uint8_t)(i * 7 + 3);
		buf[size + i] = 0;
	}
	map.vaddr = (uintptr_t)buf;
	map.iova = EDU_DMA_IOVA;
	map.size = 2 * size;
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	t0 = now_ns();
	if (ioctl(p->container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
		r = fail_errno("VFIO_IOMMU_MAP_DMA");
		goto out_unmap_mem;
	}
	printf("map-dma-us %" PRId64 "\n", (now_ns() - t0) / 1000);
	r = set_bus_master(p);
	if (r < 0)
		goto out;

	bar0_write64(p, EDU_DMA_SRC, EDU_DMA_IOVA);
	bar0_write64(p, EDU_DMA_DST, EDU_DMA_BUF);
	bar0_write64(p, EDU_DMA_COUNT, EDU_DMA_LEN);
	bar0_write64(p, EDU_DMA_CMD, EDU_DMA_START);
	r = edu_dma_wait(p);
	if (r < 0)
		goto out;
	bar0_write64(p, EDU_DMA_SRC, EDU_DMA_BUF);
	bar0_write64(p, EDU_DMA_DST, EDU_DMA_IOVA + size);
	bar0_write64(p, EDU_DMA_COUNT, EDU_DMA_LEN);
	bar0_write64(p, EDU_DMA_CMD, EDU_DMA_START | EDU_DMA_TO_RAM);
	r = edu_dma_wait(p);
	if (r < 0)
		goto out;
	if (memcmp(buf, buf + size, EDU_DMA_LEN) != 0) {
		r = fail_msg("DMA round trip: data differs");
		goto out;
	}
	printf("dma ok\n");
out:
	unmap.iova = EDU_DMA_IOVA;
	unmap.size = 2 * size;
	if (ioctl(p->container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0 && r == 0)
		r = fail_errno("VFIO_IOMMU_UNMAP_DMA");
out_unmap_mem:
	munmap(buf, 2 * size);
	return r;
}

/* --- dump: the device's VFIO metadata as JSON ------------------------------
 * Written apart from daemon/vfio-info.c on purpose (see the header comment):
 * its own buffer growth, its own chain walk, nothing shared. */

#define DUMP_ARGSZ_MAX	(1u << 20)
#define DUMP_CAPS_MAX	64
#define DUMP_AREAS_MAX	1024
#define CAP_HEADER_SIZE sizeof(struct vfio_info_cap_header)

/* An INFO ioctl with its capability chain: argsz = fixed_size first, then
 * what the kernel asks for. *ret is malloc'd, *ret_size its size. errno and
 * -1 when the ioctl fails. */
static int info_ioctl(int fd, unsigned long request, const void *fixed, uint32_t fixed_size,
		      uint8_t **ret, uint32_t *ret_size)
{
	uint32_t argsz = fixed_size;

	for (int pass = 0; pass < 3; pass++) {
		uint8_t *buf = calloc(1, argsz);
		uint32_t want;

		if (!buf)
			return -1;
		memcpy(buf, fixed, fixed_size);
		memcpy(buf, &argsz, sizeof(argsz));
		if (ioctl(fd, request, buf) < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		memcpy(&want, buf, sizeof(want));
		if (want <= argsz) {
			*ret = buf;
			*ret_size = argsz;
			return 0;
		}
		free(buf);
		if (want > DUMP_ARGSZ_MAX) {
			errno = E2BIG;
			return -1;
		}
		argsz = want;
	}
	errno = EAGAIN;
	return -1;
}

/* The offsets of the chain's capabilities, in chain order; -1 (message
 * printed) if it leaves the buffer, goes backwards or is too long. */
static int chain_offsets(const uint8_t *buf, uint32_t size, uint32_t fixed_size, uint32_t first,
			 uint32_t *offsets, int max)
{
	int n = 0;

	for (uint32_t off = first; off != 0;) {
		struct vfio_info_cap_header h;

		if (n == max || off < fixed_size || off > size || size - off < CAP_HEADER_SIZE) {
			fail_msg("capability chain out of bounds or too long");
			return -1;
		}
		memcpy(&h, buf + off, sizeof(h));
		if (h.next != 0 && h.next <= off) {
			fail_msg("capability chain goes backwards");
			return -1;
		}
		offsets[n++] = off;
		off = h.next;
	}
	return n;
}

static uint16_t cap_id(const uint8_t *buf, uint32_t off)
{
	struct vfio_info_cap_header h;

	memcpy(&h, buf + off, sizeof(h));
	return h.id;
}

static void print_cap_ids(const uint8_t *buf, const uint32_t *offsets, int n)
{
	printf("[");
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? ", " : "", cap_id(buf, offsets[i]));
	printf("]");
}

static int dump_region(int device, uint32_t index)
{
	struct vfio_region_info fixed = {.argsz = sizeof(fixed), .index = index}, info;
	uint32_t offsets[DUMP_CAPS_MAX], size;
	uint8_t *buf;
	bool have_type = false, msix = false;
	uint32_t type = 0, subtype = 0;
	int n = 0, sparse = -1;

	if (info_ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &fixed, sizeof(fixed), &buf, &size) <
	    0) {
		if (errno != EINVAL)
			return fail_errno("VFIO_DEVICE_GET_REGION_INFO");
		printf("{\"index\": %u, \"size\": 0, \"offset\": 0, \"flags\": 0, \"sparse\": [], "
		       "\"type\": null, \"subtype\": null, \"msix_mappable\": false, \"caps\": [], "
		       "\"absent\": true}",
		       index);
		return 0;
	}
	memcpy(&info, buf, sizeof(info));
	if ((info.flags & VFIO_REGION_INFO_FLAG_CAPS) && info.cap_offset) {
		n = chain_offsets(buf, size, sizeof(info), info.cap_offset, offsets, DUMP_CAPS_MAX);
		if (n < 0) {
			free(buf);
			return -EBADMSG;
		}
	}
	for (int i = 0; i < n; i++) {
		switch (cap_id(buf, offsets[i])) {
		case VFIO_REGION_INFO_CAP_TYPE: {
			struct vfio_region_info_cap_type t;

			if (size - offsets[i] < sizeof(t)) {
				free(buf);
				return fail_msg("short type capability");
			}
			memcpy(&t, buf + offsets[i], sizeof(t));
			have_type = true;
			type = t.type;
			subtype = t.subtype;
			break;
		}
		case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
			msix = true;
			break;
		case VFIO_REGION_INFO_CAP_SPARSE_MMAP:
			sparse = i;
			break;
		}
	}
	printf("{\"index\": %u, \"size\": %llu, \"offset\": %llu, \"flags\": %u, \"sparse\": [",
	       index, (unsigned long long)info.size, (unsigned long long)info.offset, info.flags);
	if (sparse >= 0) {
		struct vfio_region_info_cap_sparse_mmap s;
		uint32_t off = offsets[sparse];

		if (size - off < sizeof(s)) {
			free(buf);
			return fail_msg("short sparse mmap capability");
		}
		memcpy(&s, buf + off, sizeof(s));
		if (s.nr_areas > DUMP_AREAS_MAX ||
		    (size - off - sizeof(s)) / sizeof(struct vfio_region_sparse_mmap_area) <
			s.nr_areas) {
			free(buf);
			return fail_msg("short sparse mmap capability");
		}
		for (uint32_t a = 0; a < s.nr_areas; a++) {
			struct vfio_region_sparse_mmap_area area;

			memcpy(&area, buf + off + sizeof(s) + a * sizeof(area), sizeof(area));
			printf("%s[%llu, %llu]", a ? ", " : "", (unsigned long long)area.offset,
			       (unsigned long long)area.size);
		}
	}
	printf("], ");
	if (have_type)
		printf("\"type\": %u, \"subtype\": %u, ", type, subtype);
	else
		printf("\"type\": null, \"subtype\": null, ");
	printf("\"msix_mappable\": %s, \"caps\": ", msix ? "true" : "false");
	print_cap_ids(buf, offsets, n);
	printf("}");
	free(buf);
	return 0;
}

static int dump_irq(int device, uint32_t index)
{
	struct vfio_irq_info irq = {.argsz = sizeof(irq), .index = index};

	if (ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &irq) < 0) {
		if (errno != EINVAL)
			return fail_errno("VFIO_DEVICE_GET_IRQ_INFO");
		printf("{\"index\": %u, \"count\": 0, \"flags\": 0, \"absent\": true}", index);
		return 0;
	}
	printf("{\"index\": %u, \"count\": %u, \"flags\": %u}", index, irq.count, irq.flags);
	return 0;
}

/* struct vfio_device_info up to and with cap_offset (newer headers pad it). */
#define DEVICE_INFO_CAPS_FROM (offsetof(struct vfio_device_info, cap_offset) + sizeof(uint32_t))

static int dump(Probe *p)
{
	struct vfio_device_info fixed = {.argsz = sizeof(fixed)}, info;
	uint32_t offsets[DUMP_CAPS_MAX], size;
	uint8_t *buf;
	int n = 0, r;

	if (info_ioctl(p->device, VFIO_DEVICE_GET_INFO, &fixed, sizeof(fixed), &buf, &size) < 0)
		return fail_errno("VFIO_DEVICE_GET_INFO");
	memcpy(&info, buf, sizeof(info));
	if (info.num_regions > 1024 || info.num_irqs > 1024) {
		free(buf);
		return fail_msg("implausible region or IRQ count");
	}
	if ((info.flags & VFIO_DEVICE_FLAGS_CAPS) && info.cap_offset) {
		n = chain_offsets(buf, size, DEVICE_INFO_CAPS_FROM, info.cap_offset, offsets,
				  DUMP_CAPS_MAX);
		if (n < 0) {
			free(buf);
			return -EBADMSG;
		}
	}
	printf("{\"flags\": %u, \"caps\": ", info.flags);
	print_cap_ids(buf, offsets, n);
	free(buf);
	printf(", \"regions\": [");
	for (uint32_t i = 0; i < info.num_regions; i++) {
		printf("%s\n  ", i ? "," : "");
		r = dump_region(p->device, i);
		if (r < 0)
			return r;
	}
	printf("\n ], \"irqs\": [");
	for (uint32_t i = 0; i < info.num_irqs; i++) {
		printf("%s\n  ", i ? "," : "");
		r = dump_irq(p->device, i);
		if (r < 0)
			return r;
	}
	printf("\n ]}\n");
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: raw-vfio-probe [--irq] [--dma] [--reset] BDF\n"
		   "       raw-vfio-probe dump BDF\n"
		   "       raw-vfio-probe hold BDF\n"
		   "  --irq    edu: INTx and MSI through eventfds\n"
		   "  --dma    edu: DMA round trip (2 KiB) through an IOVA mapping\n"
		   "  --reset  VFIO_DEVICE_RESET if the device supports it\n"
		   "  dump     the device's VFIO metadata as JSON on stdout\n"
		   "  hold     keep the device open until killed (prints \"holding BDF\")\n"
		   "exit: 0 ok, 1 failure, 2 usage, 3 group not viable\n");
}

int main(int argc, char **argv)
{
	Probe p = {.container = -1, .group = -1, .device = -1, .out = stdout};
	bool irq = false, dma = false, reset = false, edu;
	uint16_t ids[2];
	int r;

	if (argc >= 2 && (!strcmp(argv[1], "dump") || !strcmp(argv[1], "hold"))) {
		if (argc != 3) {
			usage(stderr);
			return 2;
		}
		p.bdf = argv[2];
		p.out = stderr;
		r = probe_open(&p);
		if (r == PROBE_NOT_VIABLE)
			return EXIT_NOT_VIABLE;
		if (r < 0)
			return 1;
		if (!strcmp(argv[1], "hold")) {
			/* Another VFIO user on the host, as far as vfiod can tell. */
			printf("holding %s\n", p.bdf);
			fflush(stdout);
			pause();
			return 0;
		}
		if (dump(&p) < 0)
			return 1;
		return fflush(stdout) == 0 ? 0 : 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--irq"))
			irq = true;
		else if (!strcmp(argv[i], "--dma"))
			dma = true;
		else if (!strcmp(argv[i], "--reset"))
			reset = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !p.bdf)
			p.bdf = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!p.bdf) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = probe_open(&p);
	if (r == PROBE_NOT_VIABLE)
		return EXIT_NOT_VIABLE;
	if (r < 0)
		return 1;
	if (probe_regions(&p) < 0 || probe_irq_info(&p) < 0)
		return 1;
	if (config_read(&p, PCI_VENDOR_ID, ids, sizeof(ids)) < 0)
		return 1;
	printf("pci-id %04x:%04x\n", ids[0], ids[1]);
	edu = ids[0] == EDU_VENDOR && ids[1] == EDU_DEVICE;
	if (edu) {
		if (probe_edu_bar0(&p) < 0)
			return 1;
		if (irq && (probe_edu_irq(&p, VFIO_PCI_INTX_IRQ_INDEX, "intx") < 0 ||
			    set_bus_master(&p) < 0 ||
			    probe_edu_irq(&p, VFIO_PCI_MSI_IRQ_INDEX, "msi") < 0))
			return 1;
		if (dma && probe_edu_dma(&p) < 0)
			return 1;
	} else if (irq || dma) {
		fprintf(stderr, "raw-vfio-probe: --irq and --dma need an edu device\n");
		return 1;
	}
	if (reset) {
		if (!(p.info.flags & VFIO_DEVICE_FLAGS_RESET))
			printf("reset unsupported\n");
		else if (ioctl(p.device, VFIO_DEVICE_RESET) < 0) {
			fail_errno("VFIO_DEVICE_RESET");
			return 1;
		} else
			printf("reset ok\n");
	}
	if (p.bar0)
		munmap((void *)p.bar0, p.bar0_size);
	close(p.device);
	close(p.group);
	close(p.container);
	return 0;
}
