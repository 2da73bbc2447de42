/* SPDX-License-Identifier: MIT */
/*
 * datapath-bench BDF (as root, in the VM): the data path of one edu device
 * through fds opened with raw ioctls against fds from a vfiod claim: MMIO reads and writes through
 * the mmap of BAR0, and the interrupt round trip (edu's raise-IRQ register
 * written -> eventfd readable) for INTx and MSI. The daemon is not on this
 * path, so the ratio should be 1.00 within noise. The two sides take turns
 * (ROUNDS each, in ABBA order) on the same device, pinned to CPU 0.
 */
#include <errno.h>
#include <sched.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench-args.h"
#include "edu.h"
#include "figures.h"
#include "raw-vfio.h"
#include "samples.h"
#include "util.h"
#include "vfioc.h"

#define DEFAULT_ITERATIONS 200u	 /* interrupt round trips per side and kind */
#define MMIO_BLOCKS	   60u	 /* per side and direction */
#define MMIO_PER_BLOCK	   2000u /* accesses timed together: one is below the clock's resolution */
#define IRQ_WAIT_MS	   2000
#define ROUNDS		   4u /* per side, alternating: vfiod raw raw vfiod ... */

/* One side of the comparison: its BAR0 mapping, device fd and current IRQ eventfd. */
typedef struct Side {
	const char *name;
	volatile void *bar0;
	int device_fd;
	int irq_fd;
	/* raw side */
	RawDevice raw;
	/* vfiod side */
	struct vfioc_claim *claim;
	const char *bdf;
} Side;

static int side_set_irq(Side *s, uint32_t index)
{
	int r;

	if (s->claim) {
		r = vfioc_claim_set_irqs(s->claim, s->bdf, index, 1);
		if (r < 0)
			return r;
		s->irq_fd = vfioc_claim_irq_fd(s->claim, s->bdf, index, 0);
		return s->irq_fd < 0 ? s->irq_fd : 0;
	}
	/* The broker switches INTx off when MSI is wanted; raw code must do it itself. */
	if (index == VFIO_PCI_MSI_IRQ_INDEX)
		(void)raw_device_clear_irq(&s->raw, VFIO_PCI_INTX_IRQ_INDEX);
	r = raw_device_set_irq(&s->raw, index);
	s->irq_fd = s->raw.irq_fd;
	return r;
}

static int side_unmask(Side *s, uint32_t index)
{
	if (s->claim)
		return vfioc_claim_irq_unmask(s->claim, s->bdf, index, 0);
	return raw_irq_unmask(s->device_fd, index);
}

/* MSI is a memory write: edu sends none without bus mastering, which vfio-pci clears on open. */
static int enable_bus_master(int device_fd)
{
	struct vfio_region_info info = {.argsz = sizeof(info),
					.index = VFIO_PCI_CONFIG_REGION_INDEX};
	uint16_t cmd;

	if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
		return negative_errno();
	if (pread(device_fd, &cmd, sizeof(cmd), (off_t)info.offset + PCI_COMMAND) != sizeof(cmd))
		return -EIO;
	cmd |= PCI_COMMAND_MASTER;
	if (pwrite(device_fd, &cmd, sizeof(cmd), (off_t)info.offset + PCI_COMMAND) != sizeof(cmd))
		return -EIO;
	return 0;
}

static void mmio_block(Side *s, bool write, Samples *ns_per_access)
{
	double t0 = now_usec();

	for (unsigned i = 0; i < MMIO_PER_BLOCK; i++) {
		if (write)
			edu_write(s->bar0, EDU_LIVENESS, i);
		else
			(void)edu_read(s->bar0, EDU_ID);
	}
	(void)samples_add(ns_per_access, (now_usec() - t0) * 1000.0 / MMIO_PER_BLOCK);
}

/* Raise, wait for the eventfd, then acknowledge (and unmask INTx) outside the timing. */
static int irq_round_trip(Side *s, uint32_t index, Samples *us)
{
	struct pollfd pfd = {.fd = s->irq_fd, .events = POLLIN};
	uint64_t count;
	double t0, t1;
	int r;

	t0 = now_usec();
	edu_write(s->bar0, EDU_IRQ_RAISE, 1);
	r = poll(&pfd, 1, IRQ_WAIT_MS);
	t1 = now_usec();
	if (r <= 0) {
		fprintf(stderr, "datapath-bench: %s: no interrupt (index %u) within %d ms\n",
			s->name, index, IRQ_WAIT_MS);
		return r < 0 ? negative_errno() : -ETIMEDOUT;
	}
	if (read(s->irq_fd, &count, sizeof(count)) != sizeof(count))
		return negative_errno();
	edu_write(s->bar0, EDU_IRQ_ACK, edu_read(s->bar0, EDU_IRQ_STATUS));
	if (index == VFIO_PCI_INTX_IRQ_INDEX) {
		r = side_unmask(s, index);
		if (r < 0)
			return r;
	}
	return samples_add(us, t1 - t0);
}

static void emit(FILE *f, const char *name, const char *unit, Samples *vfiod, Samples *raw,
		 const char *note)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s, median", name);
	figure_emit(f, "2 data path", buf, unit, samples_quantile(vfiod, 0.5),
		    samples_quantile(raw, 0.5), "ratio in 0.90..1.10", note);
	snprintf(buf, sizeof(buf), "%s, p99", name);
	figure_emit(f, "2 data path", buf, unit, samples_quantile(vfiod, 0.99),
		    samples_quantile(raw, 0.99), NULL, NULL);
}

static int open_raw(Side *s, const char *bdf)
{
	struct vfio_region_info info = {.argsz = sizeof(info), .index = VFIO_PCI_BAR0_REGION_INDEX};
	void *p;
	int r;

	r = raw_device_open(bdf, &s->raw);
	if (r < 0)
		return r;
	s->device_fd = s->raw.device;
	if (ioctl(s->device_fd, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
		return negative_errno();
	p = mmap(NULL, EDU_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s->device_fd,
		 (off_t)info.offset);
	if (p == MAP_FAILED)
		return negative_errno();
	s->bar0 = p;
	return 0;
}

static int open_vfiod(Side *s, struct vfioc_client *client, const char *bdf)
{
	void *p;
	int r;

	s->bdf = bdf;
	r = vfioc_claim(client, &bdf, 1, NULL, &s->claim);
	if (r < 0)
		return r;
	s->device_fd = vfioc_claim_device_fd(s->claim, bdf);
	r = vfioc_region_mmap(s->claim, bdf, VFIO_PCI_BAR0_REGION_INDEX, 0, EDU_BAR0_SIZE,
			      PROT_READ | PROT_WRITE, &p);
	if (r < 0)
		return r;
	s->bar0 = p;
	return 0;
}

/* One round of one side: open it, measure MMIO and both IRQ kinds, close it. */
static int run_round(Side *s, struct vfioc_client *client, const char *bdf, unsigned n_irq,
		     Samples *reads, Samples *writes, Samples irq_us[2])
{
	static const uint32_t irq_index[2] = {VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX};
	int r;

	r = client ? open_vfiod(s, client, bdf) : open_raw(s, bdf);
	if (r < 0) {
		fprintf(stderr, "datapath-bench: %s: open: %s (%s)\n", s->name, strerror(-r),
			client ? vfioc_client_last_error(client) ?: "-" : "-");
		return r;
	}
	if (edu_read(s->bar0, EDU_ID) != 0x010000ed) {
		fprintf(stderr, "datapath-bench: BAR0 does not look like edu\n");
		return -EIO;
	}
	r = enable_bus_master(s->device_fd);
	for (unsigned b = 0; r >= 0 && b < MMIO_BLOCKS / ROUNDS; b++) {
		mmio_block(s, false, reads);
		mmio_block(s, true, writes);
	}
	for (unsigned q = 0; r >= 0 && q < 2; q++) {
		r = side_set_irq(s, irq_index[q]);
		for (unsigned i = 0; r >= 0 && i < n_irq; i++)
			r = irq_round_trip(s, irq_index[q], &irq_us[q]);
	}
	if (r < 0)
		fprintf(stderr, "datapath-bench: %s: %s\n", s->name, strerror(-r));
	munmap((void *)s->bar0, EDU_BAR0_SIZE);
	if (client) {
		(void)vfioc_claim_release(s->claim);
		s->claim = NULL;
	} else
		raw_device_close(&s->raw);
	s->irq_fd = -EBADF;
	return r;
}

int main(int argc, char **argv)
{
	Side sides[2] = {
	    {.name = "vfiod", .irq_fd = -EBADF},
	    {.name = "raw", .irq_fd = -EBADF, .raw = {-EBADF, -EBADF, -EBADF, -EBADF}},
	};
	Samples reads[2] = {0}, writes[2] = {0}, irqs[2][2] = {{{0}}};
	struct vfioc_client *client = NULL;
	cpu_set_t cpu0;
	const char *bdf;
	unsigned n;
	BenchArgs a;
	int r;

	if (bench_args_parse(argc, argv, 1, "BDF", &a) < 0)
		return 2;
	bdf = a.rest[0];
	n = a.iterations ?: DEFAULT_ITERATIONS;
	/* One CPU: the eventfd wake-up then costs the same whoever opened the device. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	(void)sched_setaffinity(0, sizeof(cpu0), &cpu0);
	r = vfioc_connect(NULL, &client);
	if (r < 0) {
		fprintf(stderr, "datapath-bench: connect: %s\n", strerror(-r));
		return 1;
	}
	for (unsigned round = 0; round < 2 * ROUNDS; round++) {
		unsigned k = (round + round / 2) % 2; /* vfiod raw raw vfiod vfiod raw ... */

		r = run_round(&sides[k], k == 0 ? client : NULL, bdf, n / ROUNDS, &reads[k],
			      &writes[k], irqs[k]);
		if (r < 0)
			return 1;
	}
	emit(a.json, "MMIO read (BAR0 mmap)", "ns", &reads[0], &reads[1],
	     "mean of 2000 reads of the id register, per block");
	emit(a.json, "MMIO write (BAR0 mmap)", "ns", &writes[0], &writes[1],
	     "mean of 2000 writes of the liveness register, per block");
	emit(a.json, "INTx round trip", "us", &irqs[0][0], &irqs[1][0],
	     "edu raise-IRQ register written -> eventfd readable (poll)");
	emit(a.json, "MSI round trip", "us", &irqs[0][1], &irqs[1][1], NULL);
	vfioc_client_free(client);
	return 0;
}
