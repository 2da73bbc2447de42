/* SPDX-License-Identifier: MIT */
/*
 * edu-demo: a tiny userspace driver for QEMU's educational PCI device (edu,
 * 1234:11e8), run as an ordinary user with the device fds vfiod hands out.
 *
 * It claims the device, maps BAR0, reads the id register, checks liveness,
 * takes an INTx and an MSI interrupt through eventfds, and does a DMA round
 * trip through memory it maps for the device. Build it from this file and
 * <vfioc.h> alone: pkg-config --cflags --libs libvfioc.
 *
 * edu's registers (QEMU docs/specs/edu.rst), offsets in BAR0:
 *   0x00 id (0xRRrr00ed: version RR.rr)   0x04 liveness: reads back ~value
 *   0x24 interrupt status   0x60 raise interrupt (ORs value into status)
 *   0x64 acknowledge (clears those bits)
 *   0x80 DMA source   0x88 DMA destination   0x90 DMA count
 *   0x98 DMA command: bit 0 start/busy, bit 1 device-to-RAM, bit 2 interrupt
 * edu's own DMA buffer is at 0x40000 (4 KiB) in its address space; its DMA
 * mask is 28 bits, so the IOVAs must be below 256 MiB.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include <vfioc.h>

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
#define EDU_DMA_BUFFER 0x40000
#define EDU_DMA_LAST   ((UINT64_C(1) << 28) - 1) /* 28-bit DMA mask */

#define PCI_CONFIG_REGION  7 /* VFIO_PCI_CONFIG_REGION_INDEX */
#define PCI_COMMAND	   0x04
#define PCI_COMMAND_MASTER 0x4

#define IRQ_TIMEOUT_MS 2000
#define DMA_TIMEOUT_MS 5000
#define DMA_SIZE       4096 /* each buffer: one page */
/* Bytes per transfer. edu's buffer holds 4096, but QEMU up to 7.2 stops the whole VM with
 * "DMA range ... out of bounds" for a transfer that ends exactly at its end. */
#define DMA_LEN 2048

struct demo {
	const char *device;
	struct vfioc_client *client;
	struct vfioc_claim *claim;
	volatile uint32_t *bar0;
	size_t bar0_size;
	unsigned checks;
};

static uint32_t reg_read(struct demo *d, unsigned offset)
{
	return d->bar0[offset / 4];
}

static void reg_write(struct demo *d, unsigned offset, uint32_t value)
{
	d->bar0[offset / 4] = value;
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* One line per step: "  name      what happened   [ ok ]". */
static void step(const char *name, bool ok, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void step(const char *name, bool ok, const char *format, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, format);
	vsnprintf(text, sizeof(text), format, ap);
	va_end(ap);
	printf("  %-9s %-58s %s\n", name, text, ok ? "[ ok ]" : "[FAIL]");
	fflush(stdout);
}

static void note(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *format, ...)
{
	va_list ap;

	printf("  %-9s ", "");
	va_start(ap, format);
	vprintf(format, ap);
	va_end(ap);
	putchar('\n');
}

/* The broker's own words when there are some, else the errno text. */
static const char *why(struct demo *d, int r)
{
	const char *e = d->client ? vfioc_client_last_error(d->client) : NULL;
	return e ? e : strerror(-r);
}

static void print_size(char *buf, size_t size, uint64_t bytes)
{
	if (bytes >= (1 << 20) && bytes % (1 << 20) == 0)
		snprintf(buf, size, "%" PRIu64 " MiB", bytes >> 20);
	else if (bytes >= 1024 && bytes % 1024 == 0)
		snprintf(buf, size, "%" PRIu64 " KiB", bytes >> 10);
	else
		snprintf(buf, size, "%" PRIu64 " bytes", bytes);
}

static int iommu_group(const char *device)
{
	char path[128], target[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", device);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = 0;
	const char *slash = strrchr(target, '/');
	return slash ? atoi(slash + 1) : -1;
}

static int connect_and_claim(struct demo *d, const char *address, const char *dma_mode)
{
	const struct vfioc_iova_range *ranges;
	char quota[32], group[32] = "";
	size_t n;
	int r;

	r = vfioc_connect(address, &d->client);
	if (r < 0) {
		step("connect", false, "%s: %s",
		     address		       ? address
		     : getenv("VFIOD_ADDRESS") ? getenv("VFIOD_ADDRESS")
					       : VFIOC_DEFAULT_ADDRESS,
		     strerror(-r));
		note("Is vfiod running? (systemctl status vfiod.socket; or --address)");
		return r;
	}
	step("connect", true, "%s (vfiod %s)",
	     address		       ? address
	     : getenv("VFIOD_ADDRESS") ? getenv("VFIOD_ADDRESS")
				       : VFIOC_DEFAULT_ADDRESS,
	     vfioc_client_server_version(d->client));

	struct vfioc_claim_options opts = {.size = sizeof(opts), .dma_mode = dma_mode};
	r = vfioc_claim(d->client, &d->device, 1, &opts, &d->claim);
	if (r < 0) {
		step("claim", false, "%s", d->device);
		note("%s", why(d, r));
		if (r == -EACCES)
			note("Does a rule in /etc/vfiod/policy.d grant this device to you?");
		else if (r == -ENXIO)
			note("Bind the device to vfio-pci first (see vfiod(8)).");
		else if (r == -EPERM)
			note("Try the other --dma mode.");
		return r;
	}
	if (iommu_group(d->device) >= 0)
		snprintf(group, sizeof(group), " (IOMMU group %d)", iommu_group(d->device));
	step("claim", true, "%s%s in %s mode", d->device, group, vfioc_claim_dma_mode(d->claim));

	print_size(quota, sizeof(quota), vfioc_claim_dma_quota(d->claim));
	n = vfioc_claim_iova_ranges(d->claim, &ranges);
	printf("  %-9s DMA quota %s; IOVA ranges", "", quota);
	for (size_t i = 0; i < n; i++)
		printf("%s 0x%" PRIx64 "-0x%" PRIx64, i ? "," : "", ranges[i].start,
		       ranges[i].last);
	printf("%s\n", n ? "" : " not reported");
	return 0;
}

static int map_bar0(struct demo *d)
{
	struct vfioc_region reg;
	char size[32];
	void *p;
	int r;

	r = vfioc_region_info(d->claim, d->device, 0, &reg);
	if (r < 0) {
		step("BAR0", false, "region info: %s", why(d, r));
		return r;
	}
	print_size(size, sizeof(size), reg.size);
	if (reg.size < 0x100 || !(reg.flags & VFIOC_REGION_MMAP)) {
		step("BAR0", false, "%s, flags 0x%x: not edu's 1 MiB mappable BAR", size,
		     reg.flags);
		return -ENODEV;
	}
	r = vfioc_region_mmap(d->claim, d->device, 0, 0, 0, PROT_READ | PROT_WRITE, &p);
	if (r < 0) {
		step("BAR0", false, "mmap: %s", why(d, r));
		return r;
	}
	d->bar0 = p;
	d->bar0_size = reg.size;
	step("BAR0", true, "%s mapped into this process", size);
	return 0;
}

static int check_id(struct demo *d)
{
	uint32_t id = reg_read(d, EDU_ID);
	bool ok = (id & 0xffff) == 0x00ed;

	d->checks++;
	if (ok)
		step("identify", true,
		     "id register 0x%08" PRIx32 ": edu, version %" PRIu32 ".%" PRIu32, id, id >> 24,
		     (id >> 16) & 0xff);
	else
		step("identify", false,
		     "id register 0x%08" PRIx32 ", not 0x010000ed: not an edu device", id);
	return ok ? 0 : -ENODEV;
}

static int check_liveness(struct demo *d)
{
	const uint32_t x = 0x12345678;
	uint32_t got;

	d->checks++;
	reg_write(d, EDU_LIVENESS, x);
	got = reg_read(d, EDU_LIVENESS);
	step("liveness", got == ~x, "wrote 0x%08" PRIx32 ", read back 0x%08" PRIx32 "%s", x, got,
	     got == ~x ? " (inverted)" : ", expected the inverse");
	return got == ~x ? 0 : -EIO;
}

/* Empties an eventfd without blocking. */
static void drain(int efd)
{
	struct pollfd p = {.fd = efd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, 0) == 1 && read(efd, &v, sizeof(v)) < 0)
		return;
}

/*
 * Raises an interrupt with value, waits for the eventfd, checks and acknowledges the status.
 * VFIO IRQ index 0 is INTx, 1 is MSI.
 */
static int check_irq(struct demo *d, const char *name, unsigned index, uint32_t value)
{
	struct pollfd p;
	uint64_t start, count;
	uint32_t status;
	int efd, r;

	d->checks++;
	/* vfiod creates the eventfd and wires it with VFIO_DEVICE_SET_IRQS; enabling MSI makes it
	 * disable INTx first. */
	r = vfioc_claim_set_irqs(d->claim, d->device, index, 1);
	if (r < 0) {
		step(name, false, "SetIrqs: %s", why(d, r));
		return r;
	}
	efd = vfioc_claim_irq_fd(d->claim, d->device, index, 0);
	drain(efd);

	start = now_usec();
	reg_write(d, EDU_IRQ_RAISE, value);
	p = (struct pollfd){.fd = efd, .events = POLLIN};
	r = poll(&p, 1, IRQ_TIMEOUT_MS);
	uint64_t elapsed = now_usec() - start;
	if (r <= 0) {
		step(name, false, "raised 0x%" PRIx32 ", no interrupt within %d ms", value,
		     IRQ_TIMEOUT_MS);
		reg_write(d, EDU_IRQ_ACK, value);
		return -ETIMEDOUT;
	}
	if (read(efd, &count, sizeof(count)) != sizeof(count))
		count = 0;

	status = reg_read(d, EDU_IRQ_STATUS);
	reg_write(d, EDU_IRQ_ACK, status);
	if (index == VFIO_PCI_INTX_IRQ_INDEX) {
		/* INTx is level-triggered: VFIO masked it when it fired. Now that the device
		 * dropped the line, unmask it, straight on the device fd (vfioc_claim_irq_unmask()
		 * does the same). */
		struct vfio_irq_set unmask = {
		    .argsz = sizeof(unmask),
		    .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		    .index = VFIO_PCI_INTX_IRQ_INDEX,
		    .start = 0,
		    .count = 1,
		};
		if (ioctl(vfioc_claim_device_fd(d->claim, d->device), VFIO_DEVICE_SET_IRQS,
			  &unmask) < 0) {
			step(name, false, "unmasking INTx: %s", strerror(errno));
			return -errno;
		}
	}
	bool ok = status == value;
	step(name, ok,
	     "raised 0x%" PRIx32 ", eventfd fired after %" PRIu64 " us, status 0x%" PRIx32 "%s",
	     value, elapsed, status, ok ? ", acked" : ", expected the raised value");
	return ok ? 0 : -EIO;
}

/*
 * Config space is region 7 of the device fd. Bus mastering lets the device write to memory:
 * DMA needs it, and so does MSI, which is a memory write too. Without it edu silently does
 * neither. (vfio-pci turns it off whenever the device is opened or released.)
 */
static int enable_bus_master(struct demo *d)
{
	uint16_t cmd, now;
	int r;

	r = vfioc_region_read(d->claim, d->device, PCI_CONFIG_REGION, PCI_COMMAND, &cmd,
			      sizeof(cmd));
	if (r >= 0) {
		now = cmd | PCI_COMMAND_MASTER;
		r = vfioc_region_write(d->claim, d->device, PCI_CONFIG_REGION, PCI_COMMAND, &now,
				       sizeof(now));
	}
	if (r >= 0)
		r = vfioc_region_read(d->claim, d->device, PCI_CONFIG_REGION, PCI_COMMAND, &now,
				      sizeof(now));
	if (r < 0) {
		step("config", false, "PCI command register: %s", why(d, r));
		return r;
	}
	if (!(now & PCI_COMMAND_MASTER)) {
		step("config", false, "bus mastering did not stick (PCI command 0x%04x)", now);
		return -EIO;
	}
	step("config", true, "bus mastering on (PCI command 0x%04x -> 0x%04x)", cmd, now);

	/* edu cannot be reset: an earlier user may have left interrupt status behind. */
	uint32_t left = reg_read(d, EDU_IRQ_STATUS);
	if (left) {
		reg_write(d, EDU_IRQ_ACK, left);
		note("cleared interrupt status 0x%" PRIx32 " left by an earlier user", left);
	}
	return 0;
}

/* Starts a DMA transfer and waits until edu clears the start bit. Returns microseconds taken. */
static int64_t edu_dma(struct demo *d, uint32_t src, uint32_t dst, uint32_t cmd)
{
	uint64_t start = now_usec();

	reg_write(d, EDU_DMA_SRC, src);
	reg_write(d, EDU_DMA_DST, dst);
	reg_write(d, EDU_DMA_COUNT, DMA_LEN);
	reg_write(d, EDU_DMA_CMD, cmd | EDU_DMA_START);
	while (reg_read(d, EDU_DMA_CMD) & EDU_DMA_START) {
		if (now_usec() - start > DMA_TIMEOUT_MS * 1000ULL)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return (int64_t)(now_usec() - start);
}

struct dma_buffer {
	int memfd;
	uint8_t *ptr;
	uint64_t iova;
	bool mapped;
};

static int dma_buffer_map(struct demo *d, struct dma_buffer *b, unsigned flags)
{
	void *p;
	int r;

	r = vfioc_dma_buffer_new(DMA_SIZE, &b->memfd, &p);
	if (r < 0)
		return r;
	b->ptr = p;
	r = vfioc_claim_find_iova(d->claim, DMA_SIZE, EDU_DMA_LAST, &b->iova);
	if (r < 0)
		return r;
	r = vfioc_dma_map(d->claim, b->memfd, 0, DMA_SIZE, b->iova, flags);
	if (r < 0)
		return r;
	b->mapped = true;
	return 0;
}

static void dma_buffer_free(struct demo *d, struct dma_buffer *b)
{
	if (b->mapped)
		vfioc_dma_unmap(d->claim, b->iova, DMA_SIZE);
	if (b->ptr)
		munmap(b->ptr, DMA_SIZE);
	if (b->memfd >= 0)
		close(b->memfd);
}

static int check_dma(struct demo *d)
{
	struct dma_buffer in = {.memfd = -1}, out = {.memfd = -1};
	int64_t t1, t2;
	int r;

	d->checks++;
	/* The device reads one buffer and writes the other. */
	r = dma_buffer_map(d, &in, VFIOC_DMA_READ);
	if (r >= 0)
		r = dma_buffer_map(d, &out, VFIOC_DMA_WRITE);
	if (r < 0) {
		step("DMA", false, "mapping buffers: %s", why(d, r));
		goto out;
	}
	for (size_t i = 0; i < DMA_SIZE; i++)
		in.ptr[i] = (uint8_t)(i * 7 + 3);
	note("two sealed memfd buffers of 4 KiB mapped at IOVA 0x%" PRIx64 " and 0x%" PRIx64,
	     in.iova, out.iova);

	t1 = edu_dma(d, (uint32_t)in.iova, EDU_DMA_BUFFER, 0);
	if (t1 < 0) {
		step("DMA", false, "RAM -> device: still busy after %d ms", DMA_TIMEOUT_MS);
		r = (int)t1;
		goto out;
	}
	note("RAM -> device: %d bytes from IOVA 0x%" PRIx64 " in %" PRId64 " ms", DMA_LEN, in.iova,
	     t1 / 1000);
	t2 = edu_dma(d, EDU_DMA_BUFFER, (uint32_t)out.iova, EDU_DMA_TO_RAM);
	if (t2 < 0) {
		step("DMA", false, "device -> RAM: still busy after %d ms", DMA_TIMEOUT_MS);
		r = (int)t2;
		goto out;
	}
	note("device -> RAM: %d bytes to IOVA 0x%" PRIx64 " in %" PRId64 " ms", DMA_LEN, out.iova,
	     t2 / 1000);

	size_t i;
	for (i = 0; i < DMA_LEN && out.ptr[i] == in.ptr[i]; i++)
		;
	if (i < DMA_LEN) {
		step("DMA", false, "round trip differs at byte %zu: 0x%02x, expected 0x%02x", i,
		     out.ptr[i], in.ptr[i]);
		r = -EIO;
	} else
		step("DMA", true, "round trip: all %d bytes came back unchanged", DMA_LEN);

out:
	dma_buffer_free(d, &in);
	dma_buffer_free(d, &out);
	return r < 0 ? r : 0;
}

static void log_stderr(int priority, const char *message, void *userdata)
{
	fprintf(stderr, "  libvfioc: %s\n", message);
}

static void help(FILE *f)
{
	fprintf(f,
		"Usage: edu-demo [--address ADDRESS] [--dma container|brokered] [--verbose] "
		"DEVICE\n"
		"\n"
		"Drives QEMU's edu device (1234:11e8) at PCI address DEVICE through vfiod, as an\n"
		"unprivileged user: registers, INTx and MSI interrupts, and a DMA round trip.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"address", required_argument, NULL, 'a'},
	    {"dma", required_argument, NULL, 'd'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *address = NULL, *dma_mode = NULL;
	struct demo d = {};
	int c, r;

	while ((c = getopt_long(argc, argv, "a:d:vh", options, NULL)) != -1)
		switch (c) {
		case 'a':
			address = optarg;
			break;
		case 'd':
			dma_mode = optarg;
			break;
		case 'v':
			vfioc_set_log_fn(log_stderr, NULL);
			break;
		case 'h':
			help(stdout);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	if (optind != argc - 1) {
		help(stderr);
		return 2;
	}
	d.device = argv[optind];

	printf("edu-demo: driving %s through vfiod as uid %u\n\n", d.device, (unsigned)getuid());

	r = connect_and_claim(&d, address, dma_mode);
	if (r >= 0)
		r = map_bar0(&d);
	if (r >= 0)
		r = check_id(&d);
	if (r >= 0)
		r = check_liveness(&d);
	if (r >= 0)
		r = enable_bus_master(&d);
	if (r >= 0)
		r = check_irq(&d, "INTx", VFIO_PCI_INTX_IRQ_INDEX, 0x1);
	if (r >= 0)
		r = check_irq(&d, "MSI", VFIO_PCI_MSI_IRQ_INDEX, 0x2);
	if (r >= 0)
		r = check_dma(&d);

	if (d.bar0)
		munmap((void *)d.bar0, d.bar0_size);
	if (d.claim) {
		int q = vfioc_claim_release(d.claim);
		step("release", q >= 0, "%s",
		     q >= 0 ? "claim ended; vfiod scrubs the device" : why(&d, q));
		if (r >= 0)
			r = q;
	}
	vfioc_client_free(d.client);

	if (r < 0) {
		printf("\nedu-demo: FAILED (%s)\n", strerror(-r));
		return 1;
	}
	printf("\nedu-demo: all %u checks passed\n", d.checks);
	return 0;
}
