/* SPDX-License-Identifier: MIT */
/*
 * claim-bench BDF (as root, in the VM): the cost of getting a ready device -
 * device fd, DMA context (a container with the type1v2 IOMMU) and one INTx
 * eventfd wired by VFIO_DEVICE_SET_IRQS - through vfiod over the private
 * socket (static policy grant, container mode) against the same work done
 * with raw ioctls (raw-vfio.c). The two alternate on the same device, the
 * order flipping every iteration, so drift in the guest hits both alike.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-args.h"
#include "figures.h"
#include "raw-vfio.h"
#include "samples.h"
#include "vfioc.h"

#define DEFAULT_ITERATIONS 200u
#define WARMUP		   5u
#define BUSY_RETRIES	   200u /* 1 ms apart: the group may still be closing */

static int raw_claim(const char *bdf, Samples *open_us, Samples *close_us)
{
	RawDevice d;
	double t0, t1, t2;
	int r;

	for (unsigned i = 0;; i++) {
		t0 = now_usec();
		r = raw_device_open(bdf, &d);
		if (r != -EBUSY || i >= BUSY_RETRIES)
			break;
		usleep(1000);
	}
	if (r < 0) {
		fprintf(stderr, "claim-bench: raw open of %s: %s\n", bdf, strerror(-r));
		return r;
	}
	r = raw_device_set_irq(&d, VFIO_PCI_INTX_IRQ_INDEX);
	t1 = now_usec();
	raw_device_close(&d);
	t2 = now_usec();
	if (r < 0) {
		fprintf(stderr, "claim-bench: raw INTx: %s\n", strerror(-r));
		return r;
	}
	if (open_us && (samples_add(open_us, t1 - t0) < 0 || samples_add(close_us, t2 - t1) < 0))
		return -ENOMEM;
	return 0;
}

/* Claims bdf, wires INTx, releases; the claim (with SetIrqs) and release times in *ret_us. */
static int vfiod_claim(struct vfioc_client *client, const char *bdf, double ret_us[2])
{
	const struct vfioc_claim_options opts = {.size = sizeof(opts), .dma_mode = "container"};
	struct vfioc_claim *claim = NULL;
	double t0, t1, t2;
	int r;

	for (unsigned i = 0;; i++) {
		t0 = now_usec();
		r = vfioc_claim(client, &bdf, 1, &opts, &claim);
		if (r != -EBUSY || i >= BUSY_RETRIES)
			break;
		usleep(1000);
	}
	if (r >= 0)
		r = vfioc_claim_set_irqs(claim, bdf, VFIO_PCI_INTX_IRQ_INDEX, 1);
	t1 = now_usec();
	if (r < 0) {
		fprintf(stderr, "claim-bench: vfiod claim of %s: %s (%s)\n", bdf, strerror(-r),
			vfioc_client_last_error(client) ?: "-");
		vfioc_claim_free(claim);
		return r;
	}
	r = vfioc_claim_release(claim);
	t2 = now_usec();
	if (r < 0) {
		fprintf(stderr, "claim-bench: release: %s\n", strerror(-r));
		return r;
	}
	ret_us[0] = t1 - t0;
	ret_us[1] = t2 - t1;
	return 0;
}

static int vfiod_claim_sample(struct vfioc_client *client, const char *bdf, Samples *claim_us,
			      Samples *release_us)
{
	double us[2];
	int r = vfiod_claim(client, bdf, us);

	if (r < 0)
		return r;
	if (samples_add(claim_us, us[0]) < 0 || samples_add(release_us, us[1]) < 0)
		return -ENOMEM;
	return 0;
}

/* A new connection for every claim: what a short-lived client such as vfioctl pays. */
static int vfiod_connect_claim(const char *bdf, Samples *us)
{
	struct vfioc_client *client = NULL;
	double t0 = now_usec(), t1, claim_us[2];
	int r;

	r = vfioc_connect(NULL, &client);
	if (r < 0) {
		fprintf(stderr, "claim-bench: connect: %s\n", strerror(-r));
		return r;
	}
	t1 = now_usec();
	r = vfiod_claim(client, bdf, claim_us);
	if (r >= 0)
		r = samples_add(us, t1 - t0 + claim_us[0]);
	vfioc_client_free(client);
	return r;
}

static void emit_pair(FILE *f, const char *name, Samples *vfiod, Samples *raw, const char *target,
		      const char *note)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s, median", name);
	figure_emit(f, "1 claim", buf, "us", samples_quantile(vfiod, 0.5),
		    samples_quantile(raw, 0.5), target, note);
	snprintf(buf, sizeof(buf), "%s, p99", name);
	figure_emit(f, "1 claim", buf, "us", samples_quantile(vfiod, 0.99),
		    samples_quantile(raw, 0.99), NULL, NULL);
}

int main(int argc, char **argv)
{
	Samples raw_open = {0}, raw_close = {0}, claim = {0}, release = {0}, connect = {0};
	struct vfioc_client *client = NULL;
	const char *bdf;
	unsigned n;
	BenchArgs a;
	int r;

	if (bench_args_parse(argc, argv, 1, "BDF", &a) < 0)
		return 2;
	bdf = a.rest[0];
	n = a.iterations ?: DEFAULT_ITERATIONS;

	r = vfioc_connect(NULL, &client);
	if (r < 0) {
		fprintf(stderr, "claim-bench: connect: %s\n", strerror(-r));
		return 1;
	}
	for (unsigned i = 0; i < WARMUP; i++) {
		double us[2];

		if (raw_claim(bdf, NULL, NULL) < 0 || vfiod_claim(client, bdf, us) < 0)
			return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i % 2 == 0)
			r = raw_claim(bdf, &raw_open, &raw_close)
				?: vfiod_claim_sample(client, bdf, &claim, &release);
		else
			r = vfiod_claim_sample(client, bdf, &claim, &release)
				?: raw_claim(bdf, &raw_open, &raw_close);
		if (r >= 0 && i % 4 == 0)
			r = vfiod_connect_claim(bdf, &connect);
		if (r < 0)
			return 1;
	}
	vfioc_client_free(client);

	emit_pair(a.json, "claim a ready device (connected)", &claim, &raw_open, "ratio <= 1.10",
		  "vfiod: Claim + SetIrqs(INTx) on an open connection; raw: open container+group, "
		  "SET_CONTAINER, SET_IOMMU, GET_DEVICE_FD, all device/region/IRQ info, eventfd + "
		  "SET_IRQS");
	emit_pair(a.json, "connect + claim", &connect, &raw_open, NULL,
		  "vfiod: a new connection for every claim (as vfioctl)");
	emit_pair(a.json, "release", &release, &raw_close, NULL,
		  "vfiod: Release (scrub: IRQs off, DMA unmapped) and wait; raw: close the fds");
	fprintf(stderr, "claim-bench: %u iterations, raw %.0f us, vfiod %.0f us (medians)\n", n,
		samples_quantile(&raw_open, 0.5), samples_quantile(&claim, 0.5));
	return 0;
}
