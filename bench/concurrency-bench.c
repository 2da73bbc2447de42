/* SPDX-License-Identifier: MIT */
/*
 * concurrency-bench [--json FILE] [--nofile N] (host, no kernel): vfiod on a
 * fixture tree of 1,000 devices with 1,000 concurrent connections on its
 * private socket, driven from one event loop:
 *
 *   saturated  every reader keeps one Properties.GetAll of a random device in
 *              flight (the daemon's throughput, and the latency it costs);
 *   paced      every reader sends one GetAll every PACE_MS while 10 of the
 *              connections claim and release in a loop; halfway through, a
 *              client on the system bus (a private dbus-daemon) claims a
 *              device that only polkit may grant, and a fake polkit
 *              (fake-polkit.c) answers after POLKIT_DELAY_MS, as an
 *              authentication dialog would. The worst read latency while that
 *              claim waits is compared with the worst of a quiet window.
 *
 * The fixture has no /dev/vfio, so every claim is refused when the daemon
 * opens the group (after policy, group and viability checks); those refusals
 * are counted, not errors. Errors are failed reads, lost connections and
 * unexpected refusals. The daemon runs with RLIMIT_NOFILE's soft limit at
 * --nofile (default 1024, what systemd gives a service).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "daemon-launch.h"
#include "fake-polkit.h"
#include "figures.h"
#include "samples.h"
#include "sysfs-fixture.h"
#include "util.h"
#include "vfiod-spawn.h"

#define N_CONNECTIONS	1000u
#define N_CLAIMERS	10u
#define N_DEVICES	1000u
#define SATURATED_MS	3000u
#define PACED_MS	6000u
#define PACE_MS		1000u
#define SLOW_AT_MS	2500u /* after the paced phase starts */
#define QUIET_FROM_MS	500u  /* the quiet window: from here to SLOW_AT_MS */
#define POLKIT_DELAY_MS 2000u
#define CALL_TIMEOUT_US (30u * 1000000u)
#define SLOW_DEVICE	"0000:7f:00.0" /* no rule grants it: polkit decides */

static const char policy[] = "[Rule benchmark]\n"
			     "Ids=1234:11e8\n"
			     "Users=0\n";

typedef enum Phase {
	PHASE_SATURATED,
	PHASE_PACED,
	PHASE_DONE
} Phase;

typedef struct Read {
	double sent, latency;
} Read;

struct Bench;

typedef struct Conn {
	struct Bench *bench;
	sd_bus *bus;
	unsigned index;
	bool claimer;
	bool busy;	  /* a call is in flight */
	double sent;	  /* when it was sent */
	double next_send; /* paced readers: when to send the next */
} Conn;

typedef struct Bench {
	Conn conns[N_CONNECTIONS];
	unsigned n_conns;
	Phase phase;
	double saturated_start, paced_start, phase_end;
	Samples saturated, claims;
	Read *paced;
	size_t n_paced, paced_allocated;
	unsigned saturated_done, errors, claims_granted, claims_refused;
	char first_error[256];
	/* the slow claim */
	sd_bus *system_bus;
	double slow_sent, slow_done;
	char slow_result[160];
} Bench;

static void note_error(Bench *b, const char *what, const sd_bus_error *e)
{
	b->errors++;
	if (!b->first_error[0])
		snprintf(b->first_error, sizeof(b->first_error), "%s: %s: %s", what,
			 e && e->name ? e->name : "-", e && e->message ? e->message : "-");
}

static void device_address(unsigned i, char buf[static 16])
{
	snprintf(buf, 16, "0000:%02x:%02x.%x", (1 + i / 256) % 256, (i % 256) / 8, i % 8);
}

static int send_next(Conn *c);

/* After a reply: at once when saturated (and for claimers), else at the next pace slot. */
static void schedule(Conn *c, double earliest)
{
	c->busy = false;
	c->next_send = earliest;
	if (c->bench->phase == PHASE_SATURATED || c->claimer)
		(void)send_next(c);
}

static int on_read_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Conn *c = userdata;
	Bench *b = c->bench;
	double now = now_usec();

	if (sd_bus_message_is_method_error(m, NULL))
		note_error(b, "GetAll", sd_bus_message_get_error(m));
	else if (c->sent < b->paced_start || b->paced_start == 0) {
		(void)samples_add(&b->saturated, now - c->sent);
		b->saturated_done++;
	} else {
		if (b->n_paced == b->paced_allocated) {
			size_t want = b->paced_allocated ? b->paced_allocated * 2 : 65536;
			Read *r = want <= SAMPLES_MAX ? realloc(b->paced, want * sizeof(*r)) : NULL;

			if (!r) {
				b->errors++;
				return 0;
			}
			b->paced = r;
			b->paced_allocated = want;
		}
		b->paced[b->n_paced++] = (Read){c->sent, now - c->sent};
	}
	schedule(c, c->sent + PACE_MS * 1000.0);
	return 0;
}

static int on_release_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Conn *c = userdata;

	if (sd_bus_message_is_method_error(m, NULL))
		note_error(c->bench, "Release", sd_bus_message_get_error(m));
	schedule(c, 0);
	return 0;
}

static int on_claim_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Conn *c = userdata;
	Bench *b = c->bench;
	const char *path;

	(void)samples_add(&b->claims, now_usec() - c->sent);
	if (sd_bus_message_is_method_error(m, NULL)) {
		/* The fixture has no /dev/vfio: the daemon's open of the group fails. */
		if (sd_bus_message_is_method_error(m, "io.vfiod.Error.Failed"))
			b->claims_refused++;
		else
			note_error(b, "Claim", sd_bus_message_get_error(m));
		schedule(c, 0);
		return 0;
	}
	b->claims_granted++;
	if (sd_bus_message_read(m, "o", &path) < 0 ||
	    sd_bus_call_method_async(c->bus, NULL, NULL, path, "io.vfiod.Broker1.Claim", "Release",
				     on_release_reply, c, NULL) < 0)
		b->errors++;
	return 0;
}

static int send_next(Conn *c)
{
	char address[16], path[64];
	int r;

	if (c->bench->phase == PHASE_DONE)
		return 0;
	c->busy = true;
	c->sent = now_usec();
	device_address((unsigned)random() % N_DEVICES, address);
	if (c->claimer)
		r = sd_bus_call_method_async(c->bus, NULL, NULL, "/io/vfiod/Broker1",
					     "io.vfiod.Broker1.Manager", "Claim", on_claim_reply, c,
					     "asa{sv}", 1, address, 0);
	else {
		snprintf(path, sizeof(path), "/io/vfiod/Broker1/device/pci_%s", address);
		for (char *p = path + strlen("/io/vfiod/Broker1/device/pci_"); *p; p++)
			if (*p == ':' || *p == '.')
				*p = '_';
		r = sd_bus_call_method_async(c->bus, NULL, NULL, path,
					     "org.freedesktop.DBus.Properties", "GetAll",
					     on_read_reply, c, "s", "io.vfiod.Broker1.Device");
	}
	if (r >= 0 && (sd_bus_get_events(c->bus) & POLLOUT))
		r = sd_bus_flush(c->bus); /* rare: the socket buffer was full */
	if (r < 0) {
		c->busy = false;
		note_error(c->bench, "send", NULL);
	}
	return r;
}

static int on_slow_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Bench *b = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	b->slow_done = now_usec();
	snprintf(b->slow_result, sizeof(b->slow_result), "%s%s%.100s", e ? e->name : "granted",
		 e ? ": " : "", e && e->message ? e->message : "");
	return 0;
}

static void send_slow_claim(Bench *b)
{
	b->slow_sent = now_usec();
	if (sd_bus_call_method_async(b->system_bus, NULL, "io.vfiod.Broker1", "/io/vfiod/Broker1",
				     "io.vfiod.Broker1.Manager", "Claim", on_slow_reply, b,
				     "asa{sv}", 1, SLOW_DEVICE, 0) < 0)
		note_error(b, "sending the slow claim", NULL);
}

/* The clock's part of the loop: phase changes, the slow claim, paced sends. False when done. */
static bool calls_in_flight(const Bench *b)
{
	for (unsigned i = 0; i < b->n_conns; i++)
		if (b->conns[i].busy)
			return true;
	return false;
}

static bool step(Bench *b)
{
	double now = now_usec();

	switch (b->phase) {
	case PHASE_SATURATED:
		if (now < b->phase_end)
			return true;
		b->phase = PHASE_PACED;
		b->paced_start = now;
		b->phase_end = now + PACED_MS * 1000.0;
		/* Readers go on from their next reply; claimers start now. */
		for (unsigned i = 0; i < b->n_conns; i++)
			if (b->conns[i].claimer)
				(void)send_next(&b->conns[i]);
		return true;
	case PHASE_PACED:
		if (b->slow_sent == 0 && now >= b->paced_start + SLOW_AT_MS * 1000.0)
			send_slow_claim(b);
		if (now >= b->phase_end) {
			b->phase = PHASE_DONE;
			/* What is in flight, and the slow claim, get 5 s more to come back. */
			b->phase_end = now + 5e6;
			return true;
		}
		for (unsigned i = 0; i < b->n_conns; i++) {
			Conn *c = &b->conns[i];

			if (!c->claimer && !c->busy && c->next_send <= now)
				(void)send_next(c);
		}
		return true;
	case PHASE_DONE:
	default:
		return now < b->phase_end && (b->slow_done == 0 || calls_in_flight(b));
	}
}

/* Processes every bus whose socket is readable; a bus that fails is dropped from the loop. */
static int run(Bench *b)
{
	struct epoll_event events[256];
	_cleanup_close_ int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0)
		return negative_errno();
	for (unsigned i = 0; i <= b->n_conns; i++) {
		sd_bus *bus = i < b->n_conns ? b->conns[i].bus : b->system_bus;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = bus};

		if (epoll_ctl(epfd, EPOLL_CTL_ADD, sd_bus_get_fd(bus), &ev) < 0)
			return negative_errno();
	}
	b->saturated_start = now_usec();
	b->phase_end = b->saturated_start + SATURATED_MS * 1000.0;
	for (unsigned i = 0; i < b->n_conns; i++)
		if (!b->conns[i].claimer)
			(void)send_next(&b->conns[i]);
	while (step(b)) {
		int n = epoll_wait(epfd, events, (int)ELEMENTSOF(events), 1);

		if (n < 0 && errno != EINTR)
			return negative_errno();
		for (int i = 0; i < n; i++) {
			sd_bus *bus = events[i].data.ptr;
			int r;

			while ((r = sd_bus_process(bus, NULL)) > 0)
				;
			if (r < 0) {
				note_error(b, "connection lost", NULL);
				(void)epoll_ctl(epfd, EPOLL_CTL_DEL, sd_bus_get_fd(bus), NULL);
			}
		}
	}
	return 0;
}

/* The worst latency of the paced reads sent in [from, to). */
static double worst_in(Bench *b, double from, double to)
{
	double worst = NAN;

	for (size_t i = 0; i < b->n_paced; i++)
		if (b->paced[i].sent >= from && b->paced[i].sent < to &&
		    !(b->paced[i].latency <= worst))
			worst = b->paced[i].latency;
	return worst;
}

static int start_daemons(const char *root, VfiodPaths *p, uint64_t nofile, pid_t *ret_bus,
			 pid_t *ret_vfiod, char *bus_address, size_t size)
{
	char bus_log[600], bus_socket[512], address_arg[700], config_arg[700], env_address[700];
	double t0, ready;
	int r;

	snprintf(bus_socket, sizeof(bus_socket), "%s/bus.sock", root);
	snprintf(bus_address, size, "unix:path=%s", bus_socket);
	snprintf(bus_log, sizeof(bus_log), "%s/dbus-daemon.log", root);
	snprintf(address_arg, sizeof(address_arg), "--address=%s", bus_address);
	snprintf(config_arg, sizeof(config_arg), "--config-file=%s",
		 getenv("BENCH_BUS_CONFIG") ?: "bench/bench-bus.conf");
	char *bus_argv[] = {"/usr/bin/dbus-daemon", config_arg, address_arg, "--nofork", NULL};
	*ret_bus = daemon_launch(bus_argv, NULL, bus_log, 0);
	if (*ret_bus < 0)
		return *ret_bus;
	r = socket_wait(bus_socket, *ret_bus, 10000);
	if (r < 0) {
		fprintf(stderr, "concurrency-bench: dbus-daemon did not start (log %s)\n", bus_log);
		return r;
	}

	snprintf(env_address, sizeof(env_address), "DBUS_SYSTEM_BUS_ADDRESS=%s", bus_address);
	char *vfiod_argv[] = {getenv("VFIOD_BINARY"),
			      "--root",
			      (char *)root,
			      "--config",
			      p->config,
			      "--socket",
			      p->socket,
			      NULL};
	char *env[] = {env_address, NULL};
	t0 = now_usec();
	*ret_vfiod = daemon_launch(vfiod_argv, env, p->log, nofile);
	if (*ret_vfiod < 0)
		return *ret_vfiod;
	r = daemon_wait_ready(p->address, *ret_vfiod, t0, 10000, &ready);
	if (r < 0)
		fprintf(stderr, "concurrency-bench: vfiod did not start (log %s)\n", p->log);
	return r;
}

static int build_tree(const char *root)
{
	char address[16];
	int r;

	for (unsigned i = 0; i < N_DEVICES; i++) {
		device_address(i, address);
		r = fixture_add_pci_device(root, address, 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
					   "vfio-pci", (int)(i / 2), 0);
		if (r < 0)
			return r;
	}
	/* A device no rule grants: only polkit may. */
	return fixture_add_pci_device(root, SLOW_DEVICE, 0x1af4, 0x1041, 0x1af4, 0x1100, 0x020000,
				      "vfio-pci", N_DEVICES, 0);
}

static sd_bus *system_bus_connect(const char *address)
{
	sd_bus *bus = NULL;
	int r = sd_bus_new(&bus);

	if (r >= 0)
		r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0)
		return sd_bus_flush_close_unref(bus);
	return bus;
}

static void report(Bench *b, FILE *f, double connect_ms, uint64_t nofile)
{
	Samples paced = {0};
	char item[48];
	double quiet, during, secs = SATURATED_MS / 1000.0;
	char note[400];

	snprintf(item, sizeof(item), "5 concurrency, NOFILE %llu", (unsigned long long)nofile);
	for (size_t i = 0; i < b->n_paced; i++)
		(void)samples_add(&paced, b->paced[i].latency);
	snprintf(note, sizeof(note), "%u connections opened one after another; daemon NOFILE %llu",
		 b->n_conns, (unsigned long long)nofile);
	figure_emit(f, item, "open 1,000 connections", "ms", connect_ms, NAN, NULL, note);
	snprintf(note, sizeof(note), "%u connections, one GetAll in flight each: %.0f reads/s",
		 b->n_conns, b->saturated_done / secs);
	figure_emit(f, item, "reads, saturated, p50", "ms",
		    samples_quantile(&b->saturated, 0.5) / 1000, NAN, NULL, note);
	figure_emit(f, item, "reads, saturated, p99", "ms",
		    samples_quantile(&b->saturated, 0.99) / 1000, NAN, NULL, NULL);
	snprintf(note, sizeof(note),
		 "%u readers, one GetAll per %u ms each (%zu reads); %u claimers",
		 b->n_conns - N_CLAIMERS, PACE_MS, b->n_paced, N_CLAIMERS);
	figure_emit(f, item, "reads while others claim, p50", "ms",
		    samples_quantile(&paced, 0.5) / 1000, NAN, NULL, note);
	figure_emit(f, item, "reads while others claim, p99", "ms",
		    samples_quantile(&paced, 0.99) / 1000, NAN, "vfiod < 20", NULL);
	snprintf(note, sizeof(note),
		 "%u attempts, %u refused at the group open (fixture), %u granted",
		 b->claims_refused + b->claims_granted, b->claims_refused, b->claims_granted);
	figure_emit(f, item, "claim attempts, p50", "ms", samples_quantile(&b->claims, 0.5) / 1000,
		    NAN, NULL, note);
	figure_emit(f, item, "claim attempts, p99", "ms", samples_quantile(&b->claims, 0.99) / 1000,
		    NAN, NULL, NULL);
	figure_emit(f, item, "errors", "count", b->errors, NAN, "vfiod <= 0",
		    b->first_error[0] ? b->first_error : NULL);
	quiet = worst_in(b, b->paced_start + QUIET_FROM_MS * 1000.0,
			 b->paced_start + SLOW_AT_MS * 1000.0);
	during = b->slow_done > 0 ? worst_in(b, b->slow_sent, b->slow_done) : NAN;
	snprintf(note, sizeof(note),
		 "claim on the system bus waiting %u ms for a fake polkit (answered after %.0f ms: "
		 "%s); baseline: worst read of the quiet window before",
		 POLKIT_DELAY_MS, (b->slow_done - b->slow_sent) / 1000, b->slow_result);
	figure_emit(f, item, "worst read delay during a slow polkit check", "ms", during / 1000,
		    quiet / 1000, "vfiod < 10", note);
	samples_clear(&paced);
}

int main(int argc, char **argv)
{
	static Bench b;
	_cleanup_free_ char *root = NULL;
	const char *json = NULL;
	char bus_address[600];
	uint64_t nofile = 1024;
	pid_t bus_pid = -1, vfiod_pid = -1, polkit_pid = -1;
	struct rlimit rl;
	VfiodPaths p;
	double t0, connect_ms;
	int c, r;

	while ((c = getopt(argc, argv, "j:n:")) >= 0) {
		if (c == 'j')
			json = optarg;
		else if (c == 'n')
			nofile = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	FILE *f = figures_open(json);
	if (!f || !getenv("VFIOD_BINARY")) {
		fprintf(stderr,
			"concurrency-bench: need VFIOD_BINARY and a writable --json file\n");
		return 2;
	}
	/* This process holds 1,000 connections and more. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	srandom(1);

	r = fixture_new(&root);
	if (r >= 0)
		r = build_tree(root);
	if (r >= 0)
		r = vfiod_prepare(root, policy, &p);
	if (r >= 0)
		r = start_daemons(root, &p, nofile, &bus_pid, &vfiod_pid, bus_address,
				  sizeof(bus_address));
	if (r >= 0)
		r = polkit_pid = fake_polkit_spawn(bus_address, POLKIT_DELAY_MS * 1000ull);
	if (r < 0) {
		fprintf(stderr, "concurrency-bench: setup: %s\n", strerror(-r));
		goto out;
	}
	b.system_bus = system_bus_connect(bus_address);
	if (!b.system_bus) {
		fprintf(stderr, "concurrency-bench: cannot connect to the private bus\n");
		r = -ENOTCONN;
		goto out;
	}

	t0 = now_usec();
	for (unsigned i = 0; i < N_CONNECTIONS; i++) {
		Conn *conn = &b.conns[b.n_conns];

		conn->bus = vfiod_connect(p.address);
		if (!conn->bus) {
			note_error(&b, "connect", NULL);
			continue;
		}
		conn->bench = &b;
		conn->index = b.n_conns;
		conn->claimer = b.n_conns < N_CLAIMERS;
		b.n_conns++;
	}
	connect_ms = (now_usec() - t0) / 1000;
	fprintf(stderr, "concurrency-bench: %u of %u connections in %.0f ms\n", b.n_conns,
		N_CONNECTIONS, connect_ms);

	r = run(&b);
	if (r < 0)
		fprintf(stderr, "concurrency-bench: %s\n", strerror(-r));
	if (b.slow_done == 0)
		note_error(&b, "the slow claim got no answer", NULL);
	/* A call never answered is an error too (a connection the daemon did not accept, say). */
	for (unsigned i = 0; i < b.n_conns; i++)
		if (b.conns[i].busy)
			note_error(&b, "a call got no answer", NULL);
	report(&b, f, connect_ms, nofile);
	fprintf(stderr, "concurrency-bench: %u errors%s%s\n", b.errors,
		b.first_error[0] ? ", first: " : "", b.first_error);
out:
	for (unsigned i = 0; i < b.n_conns; i++)
		sd_bus_flush_close_unref(b.conns[i].bus);
	sd_bus_flush_close_unref(b.system_bus);
	if (polkit_pid > 0)
		(void)vfiod_stop(polkit_pid);
	if (vfiod_pid > 0 && vfiod_stop(vfiod_pid) != 0) {
		fprintf(stderr, "concurrency-bench: vfiod did not exit cleanly (log %s)\n", p.log);
		r = -EIO;
	}
	if (bus_pid > 0)
		(void)vfiod_stop(bus_pid);
	free(b.paced);
	fixture_free(TAKE_PTR(root));
	return r < 0 ? 1 : 0;
}
