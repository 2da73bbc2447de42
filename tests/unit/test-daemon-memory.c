/* SPDX-License-Identifier: MIT */
/*
 * vfiod's memory after large answers: a GetManagedObjects of 3,000 devices in
 * 3,000 groups is a message of about 4 MB; once it is sent, the daemon must
 * give that memory back instead of keeping it resident for ever. Without the
 * fixed mmap threshold (main.c) every answer after the first stays on the
 * heap (about 9 MB kept here); a hole an answer leaves inside the heap, which
 * depends on the heap's layout, is what the trim after an answer
 * (memory-trim.c) gives back. Sanitized builds check the answers only:
 * ASan's allocator keeps freed memory in quarantine.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"
#include "vfiod-spawn.h"

#define N_DEVICES 3000u
#define N_CALLS	  6u
/* What may stay resident after the answers (heap fragments), far below one answer (~4 MB). */
#define KEPT_KIB_MAX 1536
#define TRIM_WAIT_MS 4000

static const char policy[] = "[Rule edu]\n"
			     "Ids=1234:11e8\n"
			     "Users=0\n";

/* Calls GetManagedObjects: the number of objects it lists, or -1. */
static long managed_objects(sd_bus *bus)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	long n = 0;
	int r;

	r = sd_bus_call_method(bus, NULL, "/io/vfiod/Broker1", "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", &e, &reply, NULL);
	if (r < 0) {
		fprintf(stderr, "GetManagedObjects: %s\n", e.message ?: strerror(-r));
		sd_bus_error_free(&e);
		return -1;
	}
	r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
	while (r > 0 && (r = sd_bus_message_skip(reply, "{oa{sa{sv}}}")) > 0)
		n++;
	sd_bus_message_unref(reply);
	return r < 0 ? -1 : n;
}

/*
 * VmRSS once the answer's memory should be back: vfiod trims a second after
 * the answer is written, so this waits up to TRIM_WAIT_MS for it to drop
 * below the limit.
 */
static long long resident_after_answer(pid_t vfiod, long long ready_kib)
{
	long long deadline = now_ms() + TRIM_WAIT_MS, kib;

	for (;;) {
		kib = proc_status_kib(vfiod, "VmRSS");
		if (kib < 0 || kib - ready_kib < KEPT_KIB_MAX || now_ms() > deadline)
			return kib;
		usleep(50 * 1000);
	}
}

int main(void)
{
	VfiodPaths paths;
	char *root = NULL, address[16];
	sd_bus *bus = NULL;
	long long ready_kib = -1, after_kib = -1;
	bool sanitized = streq(getenv("VFIOD_SANITIZED") ?: "0", "1");
	pid_t vfiod;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(fixture_new(&root) == 0);
	for (unsigned i = 0; i < N_DEVICES; i++) {
		snprintf(address, sizeof(address), "0000:%02x:%02x.%x", 1 + i / 256, (i % 256) / 8,
			 i % 8);
		CHECK(fixture_add_pci_device(root, address, 0x1234, 0x11e8, 0x1af4, 0x1100,
					     0x00ff00, "vfio-pci", (int)i, -1) == 0);
	}
	CHECK(vfiod_prepare(root, policy, &paths) == 0);
	vfiod = vfiod_spawn(root, &paths, (char *[]){vfiod_no_seccomp_arg(), NULL}, NULL, false);
	CHECK(vfiod > 0);
	bus = vfiod > 0 ? vfiod_connect(paths.address) : NULL;
	CHECK(bus);
	if (bus) {
		CHECK(vfiod_ping(bus) == 0);
		ready_kib = proc_status_kib(vfiod, "VmRSS");
		/* Devices and their groups. */
		for (unsigned i = 0; i < N_CALLS; i++) {
			CHECK(managed_objects(bus) == 2 * N_DEVICES);
			if (sanitized)
				continue;
			after_kib = resident_after_answer(vfiod, ready_kib);
			fprintf(stderr, "answer %u: VmRSS %lld KiB, when ready %lld KiB\n", i + 1,
				after_kib, ready_kib);
			CHECK(after_kib - ready_kib < KEPT_KIB_MAX);
		}
	}
	fprintf(stderr, "peak VmRSS %lld KiB\n", proc_status_kib(vfiod, "VmHWM"));
	if (sanitized)
		fprintf(stderr, "sanitized build: resident memory not compared\n");

	bus = sd_bus_flush_close_unref(bus);
	CHECK(vfiod_stop(vfiod) == 0);
	fixture_free(root);
	return test_exit();
}
