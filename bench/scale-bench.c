/* SPDX-License-Identifier: MIT */
/*
 * scale-bench [--json FILE] [--max N] (host, no kernel): vfiod on generated
 * fixture sysfs trees (tests/unit/sysfs-fixture.h) from 100 to 10,000 devices,
 * in two layouts:
 *   groups  edu-like devices bound to vfio-pci, two per IOMMU group
 *           (10,000 devices in 5,000 groups);
 *   sriov   NIC physical functions on their host driver, each with 249
 *           virtual functions on the next bus bound to vfio-pci, every function
 *           in its own group (what ACS-capable SR-IOV hardware gives).
 * For each: start to ready (exec to the first answer on the socket; the median
 * of three launches), resident
 * memory once ready and at its peak, a full GetManagedObjects, and one device's
 * properties (Properties.GetAll of io.vfiod.Broker1.Device).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-launch.h"
#include "figures.h"
#include "samples.h"
#include "sysfs-fixture.h"
#include "util.h"
#include "vfiod-spawn.h"

#define VFS_PER_PF     249u
#define GMO_CALLS      7u
#define GETALL_CALLS   300u
#define READY_MS       30000u
#define READY_LAUNCHES 3u
#define TRIM_WAIT_US   (2000u * 1000u)

static const char policy[] = "[Rule benchmark]\n"
			     "Ids=1234:11e8 8086:1889\n"
			     "Users=1001\n";

typedef enum Layout {
	LAYOUT_GROUPS,
	LAYOUT_SRIOV
} Layout;
static const char *const layout_names[] = {"groups", "sriov"};

static void pci_address(unsigned bus, unsigned function_index, char buf[static 16])
{
	snprintf(buf, 16, "0000:%02x:%02x.%x", bus % 256, (function_index / 8) % 32,
		 function_index % 8);
}

/* Device i of the groups layout: 256 functions per bus from bus 1, groups of two. */
static int build_groups(const char *root, unsigned n, char first[static 16])
{
	char address[16];

	for (unsigned i = 0; i < n; i++) {
		int r;

		pci_address(1 + i / 256, i % 256, address);
		r = fixture_add_pci_device(root, address, 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
					   "vfio-pci", (int)(i / 2), 0);
		if (r < 0)
			return r;
		if (i == n / 2)
			memcpy(first, address, 16);
	}
	return 0;
}

/* PF k at bus 2k+1 function 0 on "ice"; its VFs on bus 2k+2, with physfn/virtfnN links. */
static int build_sriov(const char *root, unsigned n, char first[static 16])
{
	unsigned n_pfs = (n + VFS_PER_PF) / (VFS_PER_PF + 1), group = 0, made = 0;
	char pf[16], vf[16], link[128], target[64];
	int r;

	for (unsigned k = 0; k < n_pfs && made < n; k++) {
		pci_address(2 * k + 1, 0, pf);
		r = fixture_add_pci_device(root, pf, 0x8086, 0x1592, 0x8086, 0x0002, 0x020000,
					   "ice", (int)group++, 0);
		if (r < 0)
			return r;
		made++;
		for (unsigned v = 0; v < VFS_PER_PF && made < n; v++, made++) {
			pci_address(2 * k + 2, v, vf);
			r = fixture_add_pci_device(root, vf, 0x8086, 0x1889, 0x8086, 0x0000,
						   0x020000, "vfio-pci", (int)group++, 0);
			if (r < 0)
				return r;
			snprintf(link, sizeof(link), "sys/devices/pci0000:%02x/%s/virtfn%u",
				 2 * k + 1, pf, v);
			snprintf(target, sizeof(target), "../../pci0000:%02x/%s", 2 * k + 2, vf);
			r = fixture_symlink(root, link, target);
			if (r >= 0) {
				snprintf(link, sizeof(link), "sys/devices/pci0000:%02x/%s/physfn",
					 2 * k + 2, vf);
				snprintf(target, sizeof(target), "../../pci0000:%02x/%s", 2 * k + 1,
					 pf);
				r = fixture_symlink(root, link, target);
			}
			if (r < 0)
				return r;
			if (!first[0] && made >= n / 2)
				memcpy(first, vf, 16);
		}
	}
	return 0;
}

static int call_timed(sd_bus *bus, const char *path, const char *interface, const char *member,
		      const char *sig, const char *arg, Samples *us)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	double t0 = now_usec();
	int r;

	r = sd_bus_call_method(bus, NULL, path, interface, member, &e, &reply, sig, arg);
	if (r >= 0)
		r = samples_add(us, now_usec() - t0);
	else
		fprintf(stderr, "scale-bench: %s: %s\n", member, e.message ?: strerror(-r));
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	return r;
}

typedef struct Result {
	double ready_ms, rss_mib, after_mib, peak_mib, gmo_ms, getall_us;
} Result;

static int measure(Layout layout, unsigned n, Result *ret)
{
	_cleanup_free_ char *root = NULL;
	char device[16] = "", path[64], vfiod_bin[512];
	Samples gmo = {0}, getall = {0}, ready = {0};
	sd_bus *bus = NULL;
	VfiodPaths p;
	double t0, ready_us;
	pid_t pid;
	int r;

	r = fixture_new(&root);
	if (r < 0)
		return r;
	r = layout == LAYOUT_GROUPS ? build_groups(root, n, device) : build_sriov(root, n, device);
	if (r >= 0)
		r = vfiod_prepare(root, policy, &p);
	if (r < 0)
		goto out;
	snprintf(vfiod_bin, sizeof(vfiod_bin), "%s", getenv("VFIOD_BINARY") ?: "");
	char *argv[] = {vfiod_bin, "--root",	      root, "--config", p.config, "--socket",
			p.socket,  "--no-system-bus", NULL};
	/* Start-up is one sample per launch: the median of READY_LAUNCHES; the last one stays. */
	for (unsigned i = 0;; i++) {
		(void)unlink(p.socket);
		t0 = now_usec();
		pid = daemon_launch(argv, NULL, p.log, 0);
		if (pid < 0) {
			r = pid;
			goto out;
		}
		r = daemon_wait_ready(p.address, pid, t0, READY_MS, &ready_us);
		if (r >= 0)
			r = samples_add(&ready, ready_us);
		if (r < 0) {
			fprintf(stderr, "scale-bench: vfiod did not get ready: %s (log %s)\n",
				strerror(-r), p.log);
			goto stop;
		}
		if (i + 1 == READY_LAUNCHES)
			break;
		if (vfiod_stop(pid) != 0) {
			r = -EIO;
			goto out;
		}
	}
	ret->ready_ms = samples_quantile(&ready, 0.5) / 1000.0;
	ret->rss_mib = (double)proc_status_kib(pid, "VmRSS") / 1024.0;
	bus = vfiod_connect(p.address);
	if (!bus) {
		r = -ENOTCONN;
		goto stop;
	}
	for (unsigned i = 0; r >= 0 && i < GMO_CALLS; i++)
		r = call_timed(bus, "/io/vfiod/Broker1", "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", "", NULL, &gmo);
	/* vfiod gives an answer's memory back a second after writing it (memory-trim.h). */
	if (r >= 0)
		(void)usleep(TRIM_WAIT_US);
	ret->after_mib = (double)proc_status_kib(pid, "VmRSS") / 1024.0;
	snprintf(path, sizeof(path), "/io/vfiod/Broker1/device/pci_%s", device);
	for (char *c = path + strlen("/io/vfiod/Broker1/device/pci_"); *c; c++)
		if (*c == ':' || *c == '.')
			*c = '_';
	for (unsigned i = 0; r >= 0 && i < GETALL_CALLS; i++)
		r = call_timed(bus, path, "org.freedesktop.DBus.Properties", "GetAll", "s",
			       "io.vfiod.Broker1.Device", &getall);
	ret->gmo_ms = samples_quantile(&gmo, 0.5) / 1000.0;
	ret->getall_us = samples_quantile(&getall, 0.5);
	ret->peak_mib = (double)proc_status_kib(pid, "VmHWM") / 1024.0;
	fprintf(stderr,
		"scale-bench: %s %u: ready %.1f ms, RSS %.1f MiB (%.1f after GMO, peak %.1f), "
		"GMO %.1f ms, GetAll %.0f us\n",
		layout_names[layout], n, ret->ready_ms, ret->rss_mib, ret->after_mib, ret->peak_mib,
		ret->gmo_ms, ret->getall_us);
stop:
	sd_bus_flush_close_unref(bus);
	if (vfiod_stop(pid) != 0 && r >= 0) {
		fprintf(stderr, "scale-bench: vfiod did not exit cleanly (log %s)\n", p.log);
		r = -EIO;
	}
out:
	samples_clear(&gmo);
	samples_clear(&getall);
	samples_clear(&ready);
	fixture_free(TAKE_PTR(root));
	return r;
}

int main(int argc, char **argv)
{
	static const unsigned counts[] = {100, 300, 1000, 3000, 10000};
	static const char *const names[] = {"ready_ms",	    "rss_mib", "rss_after_gmo_mib",
					    "peak_rss_mib", "gmo_ms",  "getall_us"};
	const char *json = NULL;
	unsigned max = 10000;
	FILE *f;
	int c;

	while ((c = getopt(argc, argv, "j:m:")) >= 0) {
		if (c == 'j')
			json = optarg;
		else if (c == 'm')
			max = (unsigned)strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (!getenv("VFIOD_BINARY")) {
		fprintf(stderr, "scale-bench: set VFIOD_BINARY to the vfiod to measure\n");
		return 2;
	}
	f = figures_open(json);
	if (!f) {
		perror(json);
		return 1;
	}
	for (Layout l = LAYOUT_GROUPS; l <= LAYOUT_SRIOV; l++) {
		Result last = {0};
		unsigned last_n = 0;

		for (size_t i = 0; i < ELEMENTSOF(counts) && counts[i] <= max; i++) {
			Result res = {0};
			char series[32];

			if (measure(l, counts[i], &res) < 0)
				return 1;
			snprintf(series, sizeof(series), "scale-%s", layout_names[l]);
			point_emit(f, series, counts[i], names,
				   (const double[]){res.ready_ms, res.rss_mib, res.after_mib,
						    res.peak_mib, res.gmo_ms, res.getall_us},
				   ELEMENTSOF(names));
			last = res;
			last_n = counts[i];
		}
		if (last_n == 0)
			continue;
		char name[96], item[32];

		snprintf(item, sizeof(item), "4 scale, %s", layout_names[l]);
		snprintf(name, sizeof(name), "start to ready, %u devices", last_n);
		figure_emit(f, item, name, "ms", last.ready_ms, NAN, "vfiod < 1000", NULL);
		snprintf(name, sizeof(name), "RSS when ready, %u devices", last_n);
		figure_emit(f, item, name, "MiB", last.rss_mib, NAN, "vfiod < 20", NULL);
		snprintf(name, sizeof(name), "RSS after GetManagedObjects, %u devices", last_n);
		figure_emit(f, item, name, "MiB", last.after_mib, NAN, "vfiod < 20",
			    "VmRSS 2 s after the last answer");
		snprintf(name, sizeof(name), "peak RSS, %u devices", last_n);
		figure_emit(f, item, name, "MiB", last.peak_mib, NAN, NULL,
			    "VmHWM: the RSS when ready plus one answer, a single message");
		snprintf(name, sizeof(name), "GetManagedObjects, %u devices, median", last_n);
		figure_emit(f, item, name, "ms", last.gmo_ms, NAN, "vfiod < 200", NULL);
		snprintf(name, sizeof(name), "one device's GetAll, %u devices, median", last_n);
		figure_emit(f, item, name, "us", last.getall_us, NAN, NULL, NULL);
	}
	return 0;
}
