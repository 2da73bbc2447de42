/* SPDX-License-Identifier: MIT */
/*
 * A test client that speaks io.vfiod.Broker1 with raw sd-bus, independent of
 * libvfioc, so the VM tests check the wire API itself and can send what a
 * well-behaved library never would.
 *
 * --system talks to io.vfiod.Broker1 on the system bus instead of the socket.
 *
 *   vfiod-probe [--address ADDR] claim DEVICE... [--dma MODE] [--hold|--hold-stubbornly]
 *       --hold keeps the claim until vfiod revokes it, then closes the fds and
 *       exits; --hold-stubbornly ignores the revocation and holds until killed;
 *       --hold-across-restart keeps the fds when vfiod goes away ("disconnected"),
 *       and on SIGUSR1 reads the id register again (brokered: and runs edu's
 *       DMA engine through a mapping made before), until SIGTERM
 *   vfiod-probe [--address ADDR] map-refusals DEVICE
 *   vfiod-probe [--address ADDR] map-reuse DEVICE
 *       maps, unmaps and maps again memfds a device then reads (edu's DMA)
 *   vfiod-probe [--address ADDR] map-batch DEVICE
 *       MapDmaBatch/UnmapDmaBatch: mapped, refused and unmapped as a whole
 *   vfiod-probe [--address ADDR] map-batch-rollback DEVICE
 *       a batch the kernel refuses halfway (vfio_iommu_type1 dma_entry_limit 4)
 *   vfiod-probe [--address ADDR] cycle DEVICE COUNT
 *   vfiod-probe [--address ADDR] watch SECONDS
 *       prints "MEMBER PATH [PROPERTY...]" for every signal under /io/vfiod/Broker1
 *       (on the socket, after asking vfiod for them with AddMatch, as on a bus)
 *
 * A refused call prints "error: NAME: MESSAGE" and exits 3; other failures exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#define BROKER_PATH	"/io/vfiod/Broker1"
#define MANAGER_IFACE	"io.vfiod.Broker1.Manager"
#define CLAIM_IFACE	"io.vfiod.Broker1.Claim"
#define CLAIM_BATCH_MAX 64 /* entries per MapDmaBatch */

static const char *address = "unix:path=/run/vfiod/broker.sock";
static const char *destination; /* set with --system */

typedef struct Claim {
	char path[128];
	int device_fd;
	int container_fd;
	char mode[16];
	uint64_t quota;
	uint64_t ranges[16][2];
	unsigned n_ranges;
} Claim;

static int die(const char *what, int r)
{
	fprintf(stderr, "%s: %s\n", what, strerror(-r));
	exit(1);
}

static sd_bus *connect_broker(void)
{
	sd_bus *bus = NULL;
	int r;

	if (destination) {
		r = sd_bus_open_system(&bus);
		if (r < 0)
			die("connect to the system bus", r);
		return bus;
	}
	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_negotiate_fds(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0)
		die("connect", r);
	return bus;
}

static int refused(const sd_bus_error *e)
{
	printf("error: %s: %s\n", e->name, e->message);
	fflush(stdout);
	return 3;
}

static int read_dma_context(sd_bus_message *reply, Claim *c)
{
	const char *key;
	int r;

	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		r = sd_bus_message_read(reply, "s", &key);
		if (r < 0)
			break;
		if (!strcmp(key, "mode")) {
			const char *s;
			r = sd_bus_message_read(reply, "v", "s", &s);
			snprintf(c->mode, sizeof(c->mode), "%s", s);
		} else if (!strcmp(key, "container")) {
			int fd;
			r = sd_bus_message_read(reply, "v", "h", &fd);
			if (r >= 0)
				c->container_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		} else if (!strcmp(key, "quota")) {
			r = sd_bus_message_read(reply, "v", "t", &c->quota);
		} else if (!strcmp(key, "iova-ranges")) {
			uint64_t a, b;
			r = sd_bus_message_enter_container(reply, 'v', "a(tt)");
			if (r >= 0)
				r = sd_bus_message_enter_container(reply, 'a', "(tt)");
			while (r >= 0 && (r = sd_bus_message_read(reply, "(tt)", &a, &b)) > 0)
				if (c->n_ranges < 16) {
					c->ranges[c->n_ranges][0] = a;
					c->ranges[c->n_ranges++][1] = b;
				}
			if (r >= 0)
				r = sd_bus_message_exit_container(reply);
			if (r >= 0)
				r = sd_bus_message_exit_container(reply);
		} else
			r = sd_bus_message_skip(reply, "v");
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	return r < 0 ? r : sd_bus_message_exit_container(reply);
}

/* Returns 0, or 3 with the error printed. */
static int claim(sd_bus *bus, char **devices, size_t n, const char *mode, Claim *c)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *path, *addr;
	int fd, r;

	memset(c, 0, sizeof(*c));
	c->device_fd = c->container_fd = -1;
	r = sd_bus_message_new_method_call(bus, &m, destination, BROKER_PATH, MANAGER_IFACE,
					   "Claim");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "s");
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = sd_bus_message_append(m, "s", devices[i]);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0 && mode)
		r = sd_bus_message_append(m, "a{sv}", 1, "dma-mode", "s", mode);
	else if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 0);
	if (r < 0)
		die("build Claim", r);
	r = sd_bus_call(bus, m, 0, &e, &reply);
	sd_bus_message_unref(m);
	if (r < 0) {
		r = refused(&e);
		sd_bus_error_free(&e);
		return r;
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (r >= 0)
		snprintf(c->path, sizeof(c->path), "%s", path);
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "(sh)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(sh)", &addr, &fd)) > 0)
		if (c->device_fd < 0)
			c->device_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (r >= 0)
		r = sd_bus_message_exit_container(reply);
	if (r >= 0)
		r = read_dma_context(reply, c);
	if (r < 0)
		die("read Claim reply", r);
	sd_bus_message_unref(reply);
	return 0;
}

static void claim_close(Claim *c)
{
	if (c->device_fd >= 0)
		close(c->device_fd);
	if (c->container_fd >= 0)
		close(c->container_fd);
	c->device_fd = c->container_fd = -1;
}

static sd_bus_message *claim_method(sd_bus *bus, Claim *c, const char *method)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, destination, c->path, CLAIM_IFACE, method);
	if (r < 0)
		die(method, r);
	return m;
}

/* Sends m (taken) and waits for the reply. */
static int claim_send(sd_bus *bus, sd_bus_message *m, sd_bus_error *e, sd_bus_message **reply)
{
	int r = sd_bus_call(bus, m, 0, e, reply);

	sd_bus_message_unref(m);
	return r;
}

static int call_claim(sd_bus *bus, Claim *c, const char *method, sd_bus_error *e,
		      sd_bus_message **reply, const char *types, ...)
{
	sd_bus_message *m = claim_method(bus, c, method);
	va_list ap;
	int r;

	if (types) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
		if (r < 0)
			die(method, r);
	}
	return claim_send(bus, m, e, reply);
}

static int release(sd_bus *bus, Claim *c)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = call_claim(bus, c, "Release", &e, NULL, NULL);

	if (r < 0) {
		refused(&e);
		sd_bus_error_free(&e);
	}
	claim_close(c);
	return r;
}

/* Reads the id register through the mmap of BAR0. */
static int check_id(Claim *c)
{
	struct vfio_region_info reg = {.argsz = sizeof(reg), .index = 0};
	volatile uint32_t *bar;
	uint32_t id;

	if (ioctl(c->device_fd, VFIO_DEVICE_GET_REGION_INFO, &reg) < 0) {
		perror("VFIO_DEVICE_GET_REGION_INFO");
		return 1;
	}
	bar = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED, c->device_fd, reg.offset);
	if (bar == MAP_FAILED) {
		perror("mmap BAR0");
		return 1;
	}
	id = bar[0];
	munmap((void *)bar, reg.size);
	printf("id 0x%08x\n", id);
	return id == 0x010000ed ? 0 : 1;
}

static int on_revoked(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *device = NULL, *reason = NULL;

	(void)sd_bus_message_read(m, "ss", &device, &reason);
	printf("revoked %s: %s\n", device, reason);
	fflush(stdout);
	*(bool *)userdata = true;
	return 0;
}

/*
 * Holds the claim until a test kills us or vfiod revokes it; then closes the
 * fds (so the kernel can finish an unbind or removal) and returns 0. A
 * stubborn holder goes on holding after the revocation.
 */
static int hold_until_revoked(sd_bus *bus, Claim *c, bool stubborn)
{
	bool revoked = false;
	int r;

	r = sd_bus_match_signal(bus, NULL, NULL, c->path, "io.vfiod.Broker1.Claim", "Revoked",
				on_revoked, &revoked);
	if (r < 0)
		return die("match Revoked", r);
	printf("holding\n");
	fflush(stdout);
	while (!revoked || stubborn) {
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return die("process", r);
		if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
			return die("wait", r);
	}
	close(c->device_fd);
	if (c->container_fd >= 0)
		close(c->container_fd);
	return 0;
}

static uint64_t memfd_new(size_t size, unsigned seals, int *ret_fd)
{
	int fd = memfd_create("probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, size) < 0 || (seals && fcntl(fd, F_ADD_SEALS, seals) < 0))
		die("memfd", -errno);
	*ret_fd = fd;
	return 0;
}

/* edu's registers (QEMU docs/specs/edu.rst) and its own 4 KiB DMA buffer. */
#define EDU_DMA_SRC    0x80
#define EDU_DMA_DST    0x88
#define EDU_DMA_COUNT  0x90
#define EDU_DMA_CMD    0x98
#define EDU_DMA_START  1
#define EDU_DMA_TO_RAM 2
#define EDU_BUFFER     0x40000
#define PAGE	       0x1000
/* QEMU up to 7.2 stops the VM for a transfer that ends exactly at the end of edu's buffer. */
#define EDU_DMA_LEN 2048

typedef struct Edu {
	volatile uint32_t *bar;
	size_t bar_size;
	uint8_t *out; /* the memfd edu copies back into, at OUT_IOVA */
} Edu;

static int edu_open(Claim *c, Edu *edu)
{
	struct vfio_region_info bar = {.argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX};
	struct vfio_region_info cfg = {.argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX};
	uint16_t cmd;

	if (ioctl(c->device_fd, VFIO_DEVICE_GET_REGION_INFO, &bar) < 0 ||
	    ioctl(c->device_fd, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0)
		return die("VFIO_DEVICE_GET_REGION_INFO", -errno);
	edu->bar = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, c->device_fd,
			(off_t)bar.offset);
	if (edu->bar == MAP_FAILED)
		return die("mmap BAR0", -errno);
	edu->bar_size = bar.size;
	/* Bus mastering, or edu's DMA goes nowhere. */
	if (pread(c->device_fd, &cmd, sizeof(cmd), (off_t)cfg.offset + 4) != sizeof(cmd))
		return die("read PCI command", -errno);
	cmd |= 4;
	if (pwrite(c->device_fd, &cmd, sizeof(cmd), (off_t)cfg.offset + 4) != sizeof(cmd))
		return die("write PCI command", -errno);
	return 0;
}

static int edu_dma(Edu *edu, uint32_t src, uint32_t dst, uint32_t cmd)
{
	edu->bar[EDU_DMA_SRC / 4] = src;
	edu->bar[EDU_DMA_DST / 4] = dst;
	edu->bar[EDU_DMA_COUNT / 4] = EDU_DMA_LEN;
	edu->bar[EDU_DMA_CMD / 4] = cmd | EDU_DMA_START;
	for (int i = 0; i < 5000 && (edu->bar[EDU_DMA_CMD / 4] & EDU_DMA_START); i++)
		usleep(1000);
	return edu->bar[EDU_DMA_CMD / 4] & EDU_DMA_START ? -ETIMEDOUT : 0;
}

#define RESTART_IOVA 0x100000 /* two pages: what edu reads, then what it writes */

/* RAM -> edu -> RAM through the mapping at RESTART_IOVA; 0 when the bytes came back. */
static int dma_round_trip(Claim *c, uint8_t *buf)
{
	static Edu edu;

	if (!edu.bar && edu_open(c, &edu) < 0)
		return -EIO;
	memset(buf + 4096, 0, EDU_DMA_LEN);
	if (edu_dma(&edu, RESTART_IOVA, EDU_BUFFER, 0) < 0 ||
	    edu_dma(&edu, EDU_BUFFER, RESTART_IOVA + 4096, EDU_DMA_TO_RAM) < 0)
		return -ETIMEDOUT;
	return memcmp(buf, buf + 4096, EDU_DMA_LEN) ? -EIO : 0;
}

/* Brokered: a two-page memfd mapped at RESTART_IOVA, the first page patterned. */
static uint8_t *map_for_restart(sd_bus *bus, Claim *c)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint8_t *buf;
	int fd, r;

	memfd_new(8192, F_SEAL_SHRINK, &fd);
	buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED)
		die("mmap memfd", -errno);
	for (int i = 0; i < 4096; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	r = call_claim(bus, c, "MapDma", &e, NULL, "htttu", fd, (uint64_t)0, (uint64_t)8192,
		       (uint64_t)RESTART_IOVA, 0);
	if (r < 0)
		exit(refused(&e));
	close(fd);
	r = dma_round_trip(c, buf);
	printf("dma %s\n", r ? strerror(-r) : "ok");
	return buf;
}

/*
 * Holds the claim while vfiod restarts: the fds outlive the connection. A
 * claim restored after the restart answers no call of ours, so the bus is
 * only watched for its end.
 */
static int hold_across_restart(sd_bus *bus, Claim *c)
{
	uint8_t *buf = !strcmp(c->mode, "brokered") ? map_for_restart(bus, c) : NULL;
	struct timespec zero = {0, 0};
	bool connected = true;
	sigset_t set;
	int sig, r;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("holding\n");
	fflush(stdout);
	for (;;) {
		if (connected) {
			r = sd_bus_process(bus, NULL);
			if (r < 0) {
				/* The caller frees the bus: it is only no longer used. */
				printf("disconnected\n");
				fflush(stdout);
				connected = false;
			} else if (r == 0)
				(void)sd_bus_wait(bus, 100 * 1000);
			sig = sigtimedwait(&set, NULL, &zero);
		} else
			sig = sigwaitinfo(&set, NULL);
		if (sig == SIGTERM)
			return 0;
		if (sig != SIGUSR1)
			continue;
		check_id(c);
		if (buf) {
			r = dma_round_trip(c, buf);
			printf("dma %s\n", r ? strerror(-r) : "ok");
		}
		fflush(stdout);
	}
}

static int cmd_claim(sd_bus *bus, int argc, char **argv)
{
	const char *mode = NULL;
	char *devices[16];
	size_t n = 0;
	bool hold = false, stubborn = false, across_restart = false;
	Claim c;
	int r;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--hold"))
			hold = true;
		else if (!strcmp(argv[i], "--hold-stubbornly"))
			hold = stubborn = true;
		else if (!strcmp(argv[i], "--hold-across-restart"))
			across_restart = true;
		else if (!strcmp(argv[i], "--dma") && i + 1 < argc)
			mode = argv[++i];
		else if (n < 16)
			devices[n++] = argv[i];
	}
	r = claim(bus, devices, n, mode, &c);
	if (r)
		return r;
	printf("claimed %s mode %s\n", c.path, c.mode);
	r = check_id(&c);
	fflush(stdout);
	if (across_restart)
		return hold_across_restart(bus, &c) ?: r;
	if (hold)
		return hold_until_revoked(bus, &c, stubborn) ?: r;
	release(bus, &c);
	return r;
}

/* Expects MapDma to fail with `name`; returns 1 on a mismatch. */
static int expect_map(sd_bus *bus, Claim *c, const char *what, const char *name, int fd,
		      uint64_t offset, uint64_t size, uint64_t iova)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r, bad;

	r = call_claim(bus, c, "MapDma", &e, NULL, "htttu", fd, offset, size, iova, 0);
	if (name)
		bad = r >= 0 || !sd_bus_error_has_name(&e, name);
	else
		bad = r < 0;
	printf("%s %s: %s%s%s\n", bad ? "FAIL" : "ok", what, r >= 0 ? "mapped" : e.name,
	       r >= 0 ? "" : ": ", r >= 0 ? "" : e.message);
	sd_bus_error_free(&e);
	return bad;
}

static int cmd_map_refusals(sd_bus *bus, int argc, char **argv)
{
	const uint64_t mib = 1 << 20;
	int sealed, unsealed, pipefd[2], file, big, failures = 0;
	char tmpl[] = "/tmp/probe-XXXXXX";
	Claim c;
	int r;

	if (argc != 1)
		return 2;
	r = claim(bus, argv, 1, "brokered", &c);
	if (r)
		return r;
	printf("quota 0x%" PRIx64 ", %u IOVA range(s)\n", c.quota, c.n_ranges);

	memfd_new(2 * mib, F_SEAL_SHRINK, &sealed);
	memfd_new(mib, 0, &unsealed);
	if (pipe2(pipefd, O_CLOEXEC) < 0 || (file = mkostemp(tmpl, O_CLOEXEC)) < 0)
		die("pipe/file", -errno);
	unlink(tmpl);
	if (ftruncate(file, mib) < 0)
		die("ftruncate", -errno);

	failures += expect_map(bus, &c, "unsealed memfd", "io.vfiod.Error.BadMemfd", unsealed, 0,
			       mib, 0x100000);
	failures +=
	    expect_map(bus, &c, "pipe", "io.vfiod.Error.BadMemfd", pipefd[0], 0, mib, 0x100000);
	failures +=
	    expect_map(bus, &c, "regular file", "io.vfiod.Error.BadMemfd", file, 0, mib, 0x100000);
	failures += expect_map(bus, &c, "IOVA in the MSI window", "io.vfiod.Error.BadIova", sealed,
			       0, mib, 0xfee00000);
	failures += expect_map(bus, &c, "IOVA beyond the reported ranges", "io.vfiod.Error.BadIova",
			       sealed, 0, mib, c.ranges[c.n_ranges - 1][1] + 1);
	failures += expect_map(bus, &c, "first mapping", NULL, sealed, 0, mib, 0x100000);
	failures += expect_map(bus, &c, "overlapping mapping", "io.vfiod.Error.BadIova", sealed,
			       mib, mib, 0x180000);
	failures += expect_map(bus, &c, "adjacent mapping", NULL, sealed, mib, mib, 0x200000);

	/* A buffer larger than what is left of the quota. */
	memfd_new(c.quota, F_SEAL_SHRINK, &big);
	failures += expect_map(bus, &c, "over quota", "io.vfiod.Error.QuotaExceeded", big, 0,
			       c.quota, 0x10000000);
	release(bus, &c);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}

/*
 * Has edu read the page at iova and copied it to the out buffer: what the
 * device sees at iova must be `expect` bytes. Returns 1 on a mismatch.
 */
static int expect_device_sees(Edu *edu, const char *what, uint64_t iova, uint64_t out_iova,
			      uint8_t expect)
{
	size_t i;

	memset(edu->out, 0, PAGE);
	if (edu_dma(edu, (uint32_t)iova, EDU_BUFFER, 0) < 0 ||
	    edu_dma(edu, EDU_BUFFER, (uint32_t)out_iova, EDU_DMA_TO_RAM) < 0) {
		printf("FAIL %s: edu's DMA timed out\n", what);
		return 1;
	}
	for (i = 0; i < EDU_DMA_LEN && edu->out[i] == expect; i++)
		;
	if (i == EDU_DMA_LEN)
		i = 0;
	printf("%s %s: byte %zu is 0x%02x, expected 0x%02x\n",
	       edu->out[i] == expect ? "ok" : "FAIL", what, i, edu->out[i], expect);
	return edu->out[i] != expect;
}

/* A sealed page of `fill` the probe keeps mapped too. */
static uint8_t *filled_page(int *ret_fd, uint8_t fill)
{
	uint8_t *p;

	memfd_new(PAGE, F_SEAL_SHRINK, ret_fd);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, *ret_fd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd", -errno);
	memset(p, fill, PAGE);
	return p;
}

static int map_page(sd_bus *bus, Claim *c, int fd, uint64_t iova, unsigned flags)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = call_claim(bus, c, "MapDma", &e, NULL, "htttu", fd, 0, PAGE, iova, flags);

	if (r < 0)
		printf("MapDma at 0x%" PRIx64 ": %s: %s\n", iova, e.name, e.message);
	sd_bus_error_free(&e);
	return r < 0;
}

static int unmap_page(sd_bus *bus, Claim *c, uint64_t iova)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = call_claim(bus, c, "UnmapDma", &e, NULL, "tt", iova, PAGE);

	if (r < 0)
		printf("UnmapDma at 0x%" PRIx64 ": %s: %s\n", iova, e.name, e.message);
	sd_bus_error_free(&e);
	return r < 0;
}

/*
 * The daemon keeps its mapping of a memfd for the next MapDma of the same
 * buffer: what the device reads must always be the memfd passed in this call,
 * and the quota counts what is mapped for DMA, not what the daemon keeps.
 */
static int cmd_map_reuse(sd_bus *bus, int argc, char **argv)
{
	const uint64_t in_iova = 0x100000, second_iova = 0x300000, out_iova = 0x200000;
	int out_fd, a_fd, b_fd, big, failures = 0;
	uint8_t *a, *b;
	Edu edu;
	Claim c;
	int r;

	if (argc != 1)
		return 2;
	r = claim(bus, argv, 1, "brokered", &c);
	if (r)
		return r;
	edu_open(&c, &edu);
	edu.out = filled_page(&out_fd, 0);
	failures += map_page(bus, &c, out_fd, out_iova, 0);

	a = filled_page(&a_fd, 'A');
	failures += map_page(bus, &c, a_fd, in_iova, 0);
	failures += expect_device_sees(&edu, "first map", in_iova, out_iova, 'A');
	failures += unmap_page(bus, &c, in_iova);

	/* The same memfd again: the device sees its current contents. */
	memset(a, 'a', PAGE);
	failures += map_page(bus, &c, a_fd, in_iova, 0);
	failures += expect_device_sees(&edu, "same memfd mapped again", in_iova, out_iova, 'a');
	/* At a second IOVA at once; unmapping the first leaves the second working. */
	failures += map_page(bus, &c, a_fd, second_iova, 0);
	failures += unmap_page(bus, &c, in_iova);
	failures += expect_device_sees(&edu, "second IOVA after the first went", second_iova,
				       out_iova, 'a');
	failures += unmap_page(bus, &c, second_iova);

	/* Another memfd of the same size at the same IOVA is that memfd, not the kept one. */
	b = filled_page(&b_fd, 'B');
	failures += map_page(bus, &c, b_fd, in_iova, 0);
	failures +=
	    expect_device_sees(&edu, "another memfd, same size and IOVA", in_iova, out_iova, 'B');
	failures += unmap_page(bus, &c, in_iova);
	munmap(a, PAGE);
	close(a_fd);
	failures += map_page(bus, &c, b_fd, in_iova, 0);
	failures +=
	    expect_device_sees(&edu, "after the first memfd was closed", in_iova, out_iova, 'B');
	failures += unmap_page(bus, &c, in_iova);

	/* Sealed against new writable mappings: a kept writable mapping does not get around it. */
	munmap(b, PAGE);
	if (fcntl(b_fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0)
		die("F_SEAL_FUTURE_WRITE", -errno);
	failures += expect_map(bus, &c, "writable map after F_SEAL_FUTURE_WRITE",
			       "io.vfiod.Error.BadMemfd", b_fd, 0, PAGE, in_iova);
	failures += map_page(bus, &c, b_fd, in_iova, 1 /* device reads only */);
	failures += expect_device_sees(&edu, "read-only map after F_SEAL_FUTURE_WRITE", in_iova,
				       out_iova, 'B');
	failures += unmap_page(bus, &c, in_iova);

	/* The kept mappings are not charged: all of the quota but the out page still maps. */
	memfd_new(c.quota - PAGE, F_SEAL_SHRINK, &big);
	failures +=
	    expect_map(bus, &c, "the rest of the quota", NULL, big, 0, c.quota - PAGE, 0x1000000);
	failures += expect_map(bus, &c, "one page over the quota", "io.vfiod.Error.QuotaExceeded",
			       b_fd, 0, PAGE, in_iova);

	release(bus, &c);
	munmap((void *)edu.bar, edu.bar_size);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}

typedef struct BatchEntry {
	int fd;
	uint64_t iova;
	uint64_t size;
} BatchEntry;

/* MapDmaBatch of whole memfds, device reads and writes; UnmapDmaBatch when unmap. */
static int call_batch(sd_bus *bus, Claim *c, bool unmap, const BatchEntry *b, size_t n,
		      sd_bus_error *e)
{
	const char *method = unmap ? "UnmapDmaBatch" : "MapDmaBatch";
	const char *type = unmap ? "(tt)" : "(htttu)";
	sd_bus_message *m = claim_method(bus, c, method);
	int r;

	r = sd_bus_message_open_container(m, 'a', type);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = unmap ? sd_bus_message_append(m, type, b[i].iova, b[i].size)
			  : sd_bus_message_append(m, type, b[i].fd, (uint64_t)0, b[i].size,
						  b[i].iova, 0);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r < 0)
		die(method, r);
	return claim_send(bus, m, e, NULL);
}

static uint64_t dma_mapped(sd_bus *bus, Claim *c)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint64_t v = 0;
	int r;

	r = sd_bus_get_property_trivial(bus, destination, c->path, CLAIM_IFACE, "DmaMapped", &e,
					't', &v);
	if (r < 0)
		die("DmaMapped", r);
	return v;
}

/*
 * Expects a batch to be refused with `name`, its message starting with
 * `entry`, and DmaMapped unchanged; with name NULL, to succeed and add
 * `added` bytes. Returns 1 on a mismatch.
 */
static int expect_batch(sd_bus *bus, Claim *c, const char *what, bool unmap, const char *name,
			const char *entry, const BatchEntry *b, size_t n, int64_t added)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint64_t before = dma_mapped(bus, c), after;
	int r, bad;

	r = call_batch(bus, c, unmap, b, n, &e);
	after = dma_mapped(bus, c);
	if (name)
		bad = r >= 0 || !sd_bus_error_has_name(&e, name) ||
		      (entry && strncmp(e.message, entry, strlen(entry))) || after != before;
	else
		bad = r < 0 || after - before != (uint64_t)added;
	printf("%s %s: %s%s%s (DmaMapped 0x%" PRIx64 " -> 0x%" PRIx64 ")\n", bad ? "FAIL" : "ok",
	       what, r >= 0 ? "done" : e.name, r >= 0 ? "" : ": ", r >= 0 ? "" : e.message, before,
	       after);
	sd_bus_error_free(&e);
	return bad;
}

#define BATCH_IOVA 0x400000
#define OUT_IOVA   0x200000

/*
 * A brokered claim of device with edu's out page mapped at OUT_IOVA, and n
 * sealed pages at BATCH_IOVA onwards, filled with fill, fill + 1, ...
 * Returns 0, or non-zero when the claim or the mapping failed.
 */
static int batch_setup(sd_bus *bus, char *device, Claim *c, Edu *edu, BatchEntry *pages, int n,
		       char fill)
{
	int out_fd, r;

	r = claim(bus, &device, 1, "brokered", c);
	if (r)
		return r;
	edu_open(c, edu);
	edu->out = filled_page(&out_fd, 0);
	for (int i = 0; i < n; i++) {
		pages[i] = (BatchEntry){.iova = BATCH_IOVA + i * PAGE, .size = PAGE};
		filled_page(&pages[i].fd, (uint8_t)(fill + i));
	}
	return map_page(bus, c, out_fd, OUT_IOVA, 0);
}

/* Brokered batches on the wire: mapped as a whole, refused as a whole, unmapped as a whole. */
static int cmd_map_batch(sd_bus *bus, int argc, char **argv)
{
	BatchEntry pages[4], b[CLAIM_BATCH_MAX + 1];
	int unsealed, big, failures = 0;
	Edu edu;
	Claim c;
	int r;

	if (argc != 1)
		return 2;
	r = batch_setup(bus, argv[0], &c, &edu, pages, 4, 'A');
	if (r)
		return r;

	failures +=
	    expect_batch(bus, &c, "a batch of four pages", false, NULL, NULL, pages, 4, 4 * PAGE);
	failures +=
	    expect_device_sees(&edu, "entry 2 of the batch", BATCH_IOVA + 2 * PAGE, OUT_IOVA, 'C');
	failures += expect_device_sees(&edu, "entry 0 of the batch", BATCH_IOVA, OUT_IOVA, 'A');

	/* Each refused as a whole: nothing of it is mapped. */
	memcpy(b, pages, sizeof(pages));
	for (int i = 0; i < 4; i++)
		b[i].iova += 0x100000;
	b[2].iova = b[0].iova;
	failures += expect_batch(bus, &c, "an overlap inside the batch", false,
				 "io.vfiod.Error.BadIova", "entry 2: ", b, 4, 0);
	b[2].iova = 0xfee00000;
	failures += expect_batch(bus, &c, "an IOVA in the MSI window", false,
				 "io.vfiod.Error.BadIova", "entry 2: ", b, 4, 0);
	b[2].iova = pages[2].iova + 0x100000;
	memfd_new(PAGE, 0, &unsealed);
	b[3].fd = unsealed;
	failures += expect_batch(bus, &c, "an unsealed memfd", false, "io.vfiod.Error.BadMemfd",
				 "entry 3: ", b, 4, 0);
	/* The last entry fits what is left of the quota on its own, not after the others. */
	b[3].size = c.quota - dma_mapped(bus, &c) - 2 * PAGE;
	memfd_new(b[3].size, F_SEAL_SHRINK, &big);
	b[3].fd = big;
	b[3].iova = 0x1000000;
	failures += expect_batch(bus, &c, "over the quota together", false,
				 "io.vfiod.Error.QuotaExceeded", "entry 3: ", b, 4, 0);
	failures += expect_batch(bus, &c, "an empty batch", false, "io.vfiod.Error.InvalidArgument",
				 NULL, b, 0, 0);
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		b[i] = (BatchEntry){.fd = pages[0].fd, .iova = 0x800000 + i * PAGE, .size = PAGE};
	failures += expect_batch(bus, &c, "65 entries", false, "io.vfiod.Error.LimitExceeded", NULL,
				 b, sizeof(b) / sizeof(b[0]), 0);
	/* The same IOVAs are free: all of the refused batches left nothing behind. */
	memcpy(b, pages, sizeof(pages));
	for (int i = 0; i < 4; i++)
		b[i].iova += 0x100000;
	failures +=
	    expect_batch(bus, &c, "the refused IOVAs, mapped", false, NULL, NULL, b, 4, 4 * PAGE);
	failures +=
	    expect_device_sees(&edu, "entry 3 of the second batch", b[3].iova, OUT_IOVA, 'D');

	/* Unmapping is all or nothing too. */
	BatchEntry unknown[] = {b[0], {.iova = 0x900000, .size = PAGE}};
	failures += expect_batch(bus, &c, "unmap with an unknown range", true,
				 "io.vfiod.Error.BadIova", "entry 1: ", unknown, 2, 0);
	BatchEntry twice[] = {b[1], b[1]};
	failures += expect_batch(bus, &c, "unmap of one range twice", true,
				 "io.vfiod.Error.BadIova", "entry 1: ", twice, 2, 0);
	failures += expect_batch(bus, &c, "unmap of the first batch", true, NULL, NULL, pages, 4,
				 -4 * (int64_t)PAGE);
	failures += expect_batch(bus, &c, "unmap of the second batch", true, NULL, NULL, b, 4,
				 -4 * (int64_t)PAGE);
	failures +=
	    expect_batch(bus, &c, "the first batch again", false, NULL, NULL, pages, 4, 4 * PAGE);
	failures +=
	    expect_device_sees(&edu, "entry 1 mapped again", BATCH_IOVA + PAGE, OUT_IOVA, 'B');

	release(bus, &c);
	munmap((void *)edu.bar, edu.bar_size);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}

/*
 * With vfio_iommu_type1's dma_entry_limit at 4 for this claim's container
 * (the guest script sets it): the kernel refuses the fourth mapping of a
 * batch, and the three before it must be unmapped again.
 */
static int cmd_map_batch_rollback(sd_bus *bus, int argc, char **argv)
{
	BatchEntry pages[5];
	int failures = 0;
	Edu edu;
	Claim c;
	int r;

	if (argc != 1)
		return 2;
	r = batch_setup(bus, argv[0], &c, &edu, pages, 5, 'a');
	if (r)
		return r;
	failures += expect_batch(bus, &c, "the kernel refuses entry 3", false,
				 "io.vfiod.Error.Failed", "entry 3: ", pages, 5, 0);
	/* Had entries 0-2 stayed in the container, it would refuse these. */
	failures +=
	    expect_batch(bus, &c, "entries 0-2 again", false, NULL, NULL, pages, 3, 3 * PAGE);
	failures += expect_device_sees(&edu, "entry 2 after the rollback", BATCH_IOVA + 2 * PAGE,
				       OUT_IOVA, 'c');
	failures += expect_batch(bus, &c, "unmap", true, NULL, NULL, pages, 3, -3 * (int64_t)PAGE);
	release(bus, &c);
	munmap((void *)edu.bar, edu.bar_size);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}

static int cmd_cycle(sd_bus *bus, int argc, char **argv)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int count, fd, r;
	Claim c;

	if (argc != 2)
		return 2;
	count = atoi(argv[1]);
	for (int i = 0; i < count; i++) {
		/* Alternate the modes so both clean-up paths run. */
		r = claim(bus, argv, 1, i % 2 ? "brokered" : "container", &c);
		if (r)
			return r;
		r = call_claim(bus, &c, "SetIrqs", &e, &reply, "suu", argv[0], 0, 1);
		if (r < 0)
			return refused(&e);
		sd_bus_message_unref(reply);
		reply = NULL;
		if (i % 2) {
			memfd_new(0x1000, F_SEAL_SHRINK, &fd);
			r = call_claim(bus, &c, "MapDma", &e, NULL, "htttu", fd, 0, 0x1000,
				       0x100000, 0);
			close(fd);
			if (r < 0)
				return refused(&e);
		}
		if (release(bus, &c) < 0)
			return 1;
	}
	printf("%d cycles\n", count);
	return 0;
}

static int on_any_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *member = sd_bus_message_get_member(m), *path = sd_bus_message_get_path(m);
	const char *s;

	if (!path || strncmp(path, BROKER_PATH, strlen(BROKER_PATH)))
		return 0;
	if (!strcmp(member, "InterfacesAdded") || !strcmp(member, "InterfacesRemoved"))
		(void)sd_bus_message_read(m, "o", &path);
	printf("%s %s", member, path);
	if (!strcmp(member, "PropertiesChanged") && sd_bus_message_read(m, "s", &s) > 0 &&
	    sd_bus_message_enter_container(m, 'a', "{sv}") > 0)
		while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
			if (sd_bus_message_read(m, "s", &s) > 0)
				printf(" %s", s);
			(void)sd_bus_message_skip(m, "v");
			(void)sd_bus_message_exit_container(m);
		}
	printf("\n");
	fflush(stdout);
	return 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmd_watch(sd_bus *bus, int argc, char **argv)
{
	uint64_t end, now;
	int r;

	if (argc != 1)
		return 2;
	r = sd_bus_match_signal(bus, NULL, destination, NULL, NULL, NULL, on_any_signal, NULL);
	if (r < 0)
		return die("match", r);
	/* On the socket vfiod plays the bus and sends only what was asked for; on the system
	 * bus sd-bus has asked dbus-daemon already. */
	if (!destination) {
		r = sd_bus_call_method(bus, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
				       "AddMatch", NULL, NULL, "s",
				       "type='signal',path_namespace='" BROKER_PATH "'");
		if (r < 0)
			return die("AddMatch", r);
	}
	printf("watching\n");
	fflush(stdout);
	now = now_usec();
	end = now + strtoull(argv[0], NULL, 10) * 1000000;
	while (now < end) {
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return die("process", r);
		if (r == 0)
			(void)sd_bus_wait(bus, end - now);
		now = now_usec();
	}
	return 0;
}

int main(int argc, char **argv)
{
	sd_bus *bus;
	int r;

	signal(SIGTERM, SIG_DFL);
	if (argc > 2 && !strcmp(argv[1], "--address")) {
		address = argv[2];
		argc -= 2;
		argv += 2;
	} else if (argc > 1 && !strcmp(argv[1], "--system")) {
		destination = "io.vfiod.Broker1";
		argc--;
		argv++;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: vfiod-probe [--address ADDR] "
				"claim|map-refusals|map-batch|map-reuse|cycle ...\n");
		return 2;
	}
	bus = connect_broker();
	if (!strcmp(argv[1], "claim"))
		r = cmd_claim(bus, argc - 2, argv + 2);
	else if (!strcmp(argv[1], "map-refusals"))
		r = cmd_map_refusals(bus, argc - 2, argv + 2);
	else if (!strcmp(argv[1], "map-batch"))
		r = cmd_map_batch(bus, argc - 2, argv + 2);
	else if (!strcmp(argv[1], "map-batch-rollback"))
		r = cmd_map_batch_rollback(bus, argc - 2, argv + 2);
	else if (!strcmp(argv[1], "map-reuse"))
		r = cmd_map_reuse(bus, argc - 2, argv + 2);
	else if (!strcmp(argv[1], "cycle"))
		r = cmd_cycle(bus, argc - 2, argv + 2);
	else if (!strcmp(argv[1], "watch"))
		r = cmd_watch(bus, argc - 2, argv + 2);
	else
		r = 2;
	sd_bus_flush_close_unref(bus);
	return r;
}
