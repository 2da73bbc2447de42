/* SPDX-License-Identifier: MIT */
/*
 * libvfioc against a fake broker (fake-broker.c): the arguments the library
 * sends, the fds it receives, the mapping of D-Bus errors to errno values
 * and last-error text, and that nothing leaks (fds and mappings are counted
 * before and after).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fake-broker.h"
#include "tap.h"
#include "util.h"
#include "vfioc.h"

static struct fake_broker broker;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* Mappings of memfds: DMA buffers and the library's container-mode mappings. (Not every line:
 * the heap grows, under valgrind in new mappings.) */
static int count_maps(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:"))
			n++;
	return n;
}

static char *fd_target(int fd)
{
	static char target[256];
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = 0;
	return target;
}

static int find_socket(void)
{
	for (int fd = 3; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0 && startswith(fd_target(fd), "socket:"))
			return fd;
	return -ENOENT;
}

static bool fd_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);
	return flags >= 0 && (flags & FD_CLOEXEC);
}

/* The id of the claim the expectations below talk about: '#' in an expected line stands for it. */
static char claim_id[16];

static void set_claim_id(const struct vfioc_claim *claim)
{
	const char *p = strrchr(vfioc_claim_path(claim), '/');
	snprintf(claim_id, sizeof(claim_id), "%s", p ? p + 1 : "?");
}

static char *expand(const char *pattern)
{
	static char buf[512];
	size_t n = 0;

	for (const char *p = pattern; *p && n < sizeof(buf) - 16; p++)
		if (*p == '#')
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", claim_id);
		else
			buf[n++] = *p;
	buf[n] = 0;
	return buf;
}

/* Checks that the fake recorded exactly these lines since the last check. */
static void expect_calls_(int line, ...)
{
	_cleanup_strv_free_ char **calls = NULL;
	const char *want;
	size_t i = 0;
	va_list ap;

	if (fake_broker_calls(&broker, &calls) < 0) {
		fprintf(stderr, "line %d: cannot read the fake broker's calls\n", line);
		test_failures++;
		return;
	}
	va_start(ap, line);
	while ((want = va_arg(ap, const char *))) {
		want = expand(want);
		if (!calls || !calls[i] || !streq(calls[i], want)) {
			fprintf(stderr, "line %d: call %zu is \"%s\", expected \"%s\"\n", line, i,
				calls && calls[i] ? calls[i] : "(none)", want);
			test_failures++;
		}
		if (calls && calls[i])
			i++;
	}
	va_end(ap);
	for (; calls && calls[i]; i++) {
		fprintf(stderr, "line %d: unexpected call \"%s\"\n", line, calls[i]);
		test_failures++;
	}
}
#define expect_calls(...) expect_calls_(__LINE__, __VA_ARGS__, NULL)

static char log_buf[4096];
static void log_collect(int priority, const char *message, void *userdata)
{
	size_t len = strlen(log_buf);
	snprintf(log_buf + len, sizeof(log_buf) - len, "%d %s\n", priority, message);
}

static void test_buffer_new(void)
{
	int fd = -1;
	void *p = NULL;

	CHECK(vfioc_dma_buffer_new(0, &fd, &p) == -EINVAL);
	CHECK(vfioc_dma_buffer_new(8192, &fd, &p) == 0);
	CHECK(fd >= 0 && p);
	if (fd < 0 || !p)
		return;
	CHECK(fd_cloexec(fd));
	CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_size == 8192);
	CHECK(strncmp(fd_target(fd), "/memfd:vfioc-dma", 16) == 0);
	CHECK(((unsigned char *)p)[8191] == 0);
	memset(p, 0xa5, 8192);
	CHECK(ftruncate(fd, 4096) < 0); /* sealed */
	munmap(p, 8192);
	close(fd);
}

static void test_connect_errors(void)
{
	struct vfioc_client *c = NULL;

	log_buf[0] = 0;
	vfioc_set_log_fn(log_collect, NULL);
	CHECK(vfioc_connect("unix:path=/nonexistent/broker.sock", &c) == -ENOENT);
	CHECK(c == NULL);
	CHECK(strstr(log_buf, "cannot connect to unix:path=/nonexistent/broker.sock") != NULL);
	vfioc_set_log_fn(NULL, NULL);

	CHECK(vfioc_connect(NULL, NULL) == -EINVAL);
	CHECK(vfioc_client_free(NULL) == NULL);
	CHECK(vfioc_claim_free(NULL) == NULL);
	CHECK(vfioc_claim_release(NULL) == 0);
	CHECK(vfioc_set_timeout(NULL, 1) == -EINVAL);
	CHECK(vfioc_client_last_error(NULL) == NULL);
}

static void test_connect_env(void)
{
	struct vfioc_client *c = NULL;

	setenv("VFIOD_ADDRESS", broker.address, 1);
	CHECK(vfioc_connect(NULL, &c) == 0);
	unsetenv("VFIOD_ADDRESS");
	CHECK_STREQ(vfioc_client_server_version(c), "0.1.0-fake");
	CHECK(vfioc_client_last_error(c) == NULL);
	CHECK(vfioc_client_get_fd(c) >= 0 && fd_cloexec(vfioc_client_get_fd(c)));
	CHECK(vfioc_client_dispatch(c, 0) >= 0);
	vfioc_client_free(c);
}

static void test_claim_brokered(struct vfioc_client *c)
{
	const char *devices[] = {"0000:00:03.0", "0000:00:04.0"};
	struct vfioc_claim_options opts = {.size = sizeof(opts), .dma_mode = "brokered"};
	const struct vfioc_iova_range *ranges = NULL;
	struct vfioc_claim *claim = NULL;
	uint64_t iova = 0, iova2 = 0, v = 0;
	int memfd = -1, fd;
	void *p = NULL;

	CHECK(vfioc_claim(c, devices, 2, &opts, &claim) == 0);
	if (!claim)
		return;
	set_claim_id(claim);
	expect_calls("Claim 0000:00:03.0,0000:00:04.0 dma-mode=brokered");

	CHECK(strncmp(vfioc_claim_path(claim), "/io/vfiod/Broker1/claim/", 24) == 0);
	CHECK(vfioc_claim_n_devices(claim) == 2);
	CHECK_STREQ(vfioc_claim_device_address(claim, 0), "0000:00:03.0");
	CHECK_STREQ(vfioc_claim_device_address(claim, 1), "0000:00:04.0");
	CHECK(vfioc_claim_device_address(claim, 2) == NULL);
	CHECK_STREQ(vfioc_claim_dma_mode(claim), "brokered");
	CHECK(vfioc_claim_container_fd(claim) == -ENOENT);
	CHECK(vfioc_claim_dma_quota(claim) == 1 << 20);
	CHECK(vfioc_claim_iova_pgsizes(claim) == 0x40201000);
	CHECK(vfioc_claim_iova_ranges(claim, &ranges) == 2);
	CHECK(ranges && ranges[0].start == 0 && ranges[0].last == 0xfedfffff);
	CHECK(ranges && ranges[1].start == 0xfef00000 && ranges[1].last == 0xffffffffff);

	fd = vfioc_claim_device_fd(claim, "0000:00:03.0");
	CHECK(fd >= 3 && fd_cloexec(fd));
	CHECK_STREQ(fd_target(fd), "/memfd:fake-device-0000:00:03.0 (deleted)");
	fd = vfioc_claim_device_fd(claim, "0000:00:04.0");
	CHECK(fd >= 3 && fd_cloexec(fd));
	CHECK_STREQ(fd_target(fd), "/memfd:fake-device-0000:00:04.0 (deleted)");
	CHECK(vfioc_claim_device_fd(claim, "0000:00:05.0") == -ENOENT);
	CHECK(vfioc_claim_device_fd(claim, NULL) == -EINVAL);

	/* IRQs: the fake writes vector + 1 into each eventfd it creates. */
	CHECK(vfioc_claim_irq_fd(claim, "0000:00:03.0", 0, 0) == -ENOENT);
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:03.0", 0, 1) == 0);
	fd = vfioc_claim_irq_fd(claim, "0000:00:03.0", 0, 0);
	CHECK(fd >= 3 && fd_cloexec(fd));
	CHECK(strstr(fd_target(fd), "eventfd") != NULL);
	CHECK(read(fd, &v, sizeof(v)) == sizeof(v) && v == 1);
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:04.0", 1, 3) == 0);
	fd = vfioc_claim_irq_fd(claim, "0000:00:04.0", 1, 2);
	CHECK(fd >= 3 && read(fd, &v, sizeof(v)) == sizeof(v) && v == 3);
	CHECK(vfioc_claim_irq_fd(claim, "0000:00:04.0", 1, 3) == -ENOENT);
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:04.0", 1, 0) == 0);
	CHECK(vfioc_claim_irq_fd(claim, "0000:00:04.0", 1, 0) == -ENOENT);
	CHECK(vfioc_claim_irq_fd(claim, "0000:00:03.0", 0, 0) >= 0); /* other device untouched */
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:05.0", 0, 1) == -ENOENT); /* not sent */
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:03.0", 2, 65) == -E2BIG);
	CHECK_STREQ(vfioc_client_last_error_name(c), VFIOC_ERROR_LIMIT_EXCEEDED);
	CHECK_STREQ(vfioc_client_last_error(c),
		    "io.vfiod.Error.LimitExceeded: at most 64 eventfds per call, not 65");
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:03.0", 9, 1) == -EIO);
	CHECK_STREQ(vfioc_client_last_error_name(c), VFIOC_ERROR_FAILED);
	CHECK(vfioc_claim_irq_fd(claim, "0000:00:03.0", 0, 0) >= 0); /* failures change nothing */
	expect_calls("SetIrqs # 0000:00:03.0 0 1", "SetIrqs # 0000:00:04.0 1 3",
		     "SetIrqs # 0000:00:04.0 1 0", "SetIrqs # 0000:00:03.0 2 65",
		     "SetIrqs # 0000:00:03.0 9 1");

	/* DMA through the broker. */
	CHECK(vfioc_dma_buffer_new(3 * 4096, &memfd, &p) == 0);
	CHECK(vfioc_claim_find_iova(claim, 8192, UINT64_MAX, &iova) == 0);
	CHECK(iova == 4096); /* never IOVA 0 */
	CHECK(vfioc_dma_map(claim, memfd, 0, 8192, iova, 0) == 0);
	CHECK(vfioc_claim_find_iova(claim, 4096, (1 << 28) - 1, &iova2) == 0);
	CHECK(iova2 == 3 * 4096);
	CHECK(vfioc_claim_find_iova(claim, 4096, 0x2fff, &iova2) == -ENOSPC);
	CHECK(vfioc_claim_find_iova(claim, 100, UINT64_MAX, &iova2) == -EINVAL);
	/* The broker's refusals, passed through with their text. */
	CHECK(vfioc_dma_map(claim, memfd, 0, 4096, 0x2000, VFIOC_DMA_READ) == -ERANGE);
	CHECK_STREQ(vfioc_client_last_error(c),
		    "io.vfiod.Error.BadIova: IOVA 0x2000 overlaps the mapping at 0x1000");
	CHECK(vfioc_dma_map(claim, memfd, 0, 4096, 0xfee00000, 0) == -ERANGE);
	CHECK(vfioc_dma_map(claim, memfd, 0, 2 << 20, 1 << 30, 0) == -EBADFD);
	_cleanup_close_ int unsealed = memfd_create("unsealed", MFD_CLOEXEC);
	CHECK(ftruncate(unsealed, 4096) == 0);
	CHECK(vfioc_dma_map(claim, unsealed, 0, 4096, 1 << 30, VFIOC_DMA_WRITE) == -EBADFD);
	CHECK_STREQ(vfioc_client_last_error_name(c), VFIOC_ERROR_BAD_MEMFD);
	/* Refused before anything is sent. */
	CHECK(vfioc_dma_map(claim, memfd, 0, 4096, 1 << 30, 4) == -EINVAL);
	CHECK(vfioc_dma_map(claim, -1, 0, 4096, 1 << 30, 0) == -EBADF);
	CHECK(vfioc_dma_map(claim, memfd, 0, 0, 1 << 30, 0) == -EINVAL);
	CHECK(vfioc_dma_unmap(claim, iova, 4096) == -ENOENT); /* not exactly a mapping */
	CHECK(vfioc_dma_unmap(claim, iova, 8192) == 0);
	CHECK(vfioc_claim_find_iova(claim, 8192, UINT64_MAX, &iova2) == 0 && iova2 == 4096);
	munmap(p, 3 * 4096);
	close(memfd);
	expect_calls("MapDma # /memfd:vfioc-dma (deleted) seals=0x7 offset=0x0 size=0x2000 "
		     "iova=0x1000 flags=0x3",
		     "MapDma # /memfd:vfioc-dma (deleted) seals=0x7 offset=0x0 size=0x1000 "
		     "iova=0x2000 flags=0x1",
		     "MapDma # /memfd:vfioc-dma (deleted) seals=0x7 offset=0x0 size=0x1000 "
		     "iova=0xfee00000 flags=0x3",
		     "MapDma # /memfd:vfioc-dma (deleted) seals=0x7 offset=0x0 size=0x200000 "
		     "iova=0x40000000 flags=0x3",
		     "MapDma # /memfd:unsealed (deleted) seals=0x1 offset=0x0 size=0x1000 "
		     "iova=0x40000000 flags=0x2",
		     "UnmapDma # iova=0x1000 size=0x2000");

	/* A mapping left behind is the broker's to drop at release. */
	CHECK(vfioc_dma_buffer_new(4096, &memfd, &p) == 0);
	CHECK(vfioc_dma_map(claim, memfd, 0, 4096, 1 << 20, 0) == 0);
	munmap(p, 4096);
	close(memfd);
	CHECK(vfioc_claim_release(claim) == 0);
	expect_calls("MapDma # /memfd:vfioc-dma (deleted) seals=0x7 offset=0x0 size=0x1000 "
		     "iova=0x100000 flags=0x3",
		     "Release #");
}

static void test_claim_container(struct vfioc_client *c)
{
	const char *devices[] = {"0000:00:03.0"};
	struct vfioc_claim *claim = NULL;
	struct vfioc_region reg;
	int memfd = -1, maps;
	void *p = NULL;
	char buf[4];

	CHECK(vfioc_claim(c, devices, 1, NULL, &claim) == 0);
	if (!claim)
		return;
	set_claim_id(claim);
	expect_calls("Claim 0000:00:03.0");
	CHECK_STREQ(vfioc_claim_dma_mode(claim), "container");
	int fd = vfioc_claim_container_fd(claim);
	CHECK(fd >= 3 && fd_cloexec(fd));
	CHECK_STREQ(fd_target(fd), "/memfd:fake-container (deleted)");
	CHECK(vfioc_claim_dma_quota(claim) == 64 << 20);

	/* The library checks what the broker would, under the same names. */
	CHECK(vfioc_dma_buffer_new(2 * 4096, &memfd, &p) == 0);
	maps = count_maps();
	CHECK(vfioc_dma_map(claim, memfd, 0, 4096, 0x1800, 0) == -ERANGE);
	CHECK_STREQ(vfioc_client_last_error(c), "io.vfiod.Error.BadIova: IOVA 0x1800 is not a "
						"multiple of the IOMMU page size 0x1000");
	CHECK(vfioc_dma_map(claim, memfd, 0, 4096, 0xfee00000, 0) == -ERANGE);
	CHECK_STREQ(vfioc_client_last_error_name(c), VFIOC_ERROR_BAD_IOVA);
	CHECK(vfioc_dma_map(claim, memfd, 100, 4096, 0x1000, 0) == -EINVAL);
	CHECK_STREQ(vfioc_client_last_error_name(c), VFIOC_ERROR_INVALID_ARGUMENT);
	CHECK(vfioc_dma_map(claim, memfd, 4096, 8192, 0x1000, 0) == -EBADFD);
	CHECK_STREQ(vfioc_client_last_error_name(c), VFIOC_ERROR_BAD_MEMFD);
	CHECK(vfioc_dma_map(claim, memfd, 0, 128 << 20, 0x1000, 0) == -EDQUOT);
	CHECK_STREQ(vfioc_client_last_error_name(c), VFIOC_ERROR_QUOTA_EXCEEDED);
	/* The fake container is a memfd: the ioctl fails and nothing stays mapped. */
	CHECK(vfioc_dma_map(claim, memfd, 0, 4096, 0x1000, 0) == -ENOTTY);
	CHECK_STREQ(vfioc_client_last_error(c),
		    "System.Error.ENOTTY: VFIO_IOMMU_MAP_DMA: Inappropriate ioctl for device");
	CHECK(count_maps() == maps);
	CHECK(vfioc_dma_unmap(claim, 0x1000, 4096) == -ENOENT);
	munmap(p, 2 * 4096);
	close(memfd);

	/* Region helpers go to the device fd, which here is no VFIO device. */
	CHECK(vfioc_region_info(claim, "0000:00:03.0", 0, &reg) == -ENOTTY);
	CHECK(vfioc_region_info(claim, "0000:00:09.0", 0, &reg) == -ENOENT);
	CHECK(vfioc_region_read(claim, "0000:00:03.0", 7, 0, buf, sizeof(buf)) == -ENOTTY);
	CHECK(vfioc_region_mmap(claim, "0000:00:03.0", 0, 0, 0, PROT_READ, &p) == -ENOTTY);
	CHECK(vfioc_claim_irq_unmask(claim, "0000:00:03.0", 0, 0) == -ENOTTY);
	CHECK_STREQ(vfioc_client_last_error_name(c), "System.Error.ENOTTY");

	/* Freeing without waiting still releases: a later call on the connection is answered
	 * after the broker has handled Release. */
	vfioc_claim_free(claim);
	CHECK(vfioc_claim(c, (const char *[]){"0000:00:0d.0"}, 1, NULL, &claim) == -ENODEV);
	expect_calls("Release #", "Claim 0000:00:0d.0");
}

/* Batches through the broker: one MapDmaBatch/UnmapDmaBatch call, all or nothing. */
static void test_dma_batch_brokered(struct vfioc_client *c)
{
	struct vfioc_claim_options opts = {.size = sizeof(opts), .dma_mode = "brokered"};
	struct vfioc_claim *claim = NULL;
	struct vfioc_dma_map many[VFIOC_DMA_BATCH_MAX + 1];
	uint64_t iova = 0;
	int memfd = -1;
	void *p = NULL;

	CHECK(vfioc_claim(c, (const char *[]){"0000:00:03.0"}, 1, &opts, &claim) == 0);
	if (!claim)
		return;
	set_claim_id(claim);
	expect_calls("Claim 0000:00:03.0 dma-mode=brokered");
	CHECK(vfioc_dma_buffer_new(1 << 20, &memfd, &p) == 0);

	struct vfioc_dma_map maps[] = {
	    {.memfd = memfd, .offset = 0, .size = 0x1000, .iova = 0x10000},
	    {.memfd = memfd,
	     .offset = 0x1000,
	     .size = 0x2000,
	     .iova = 0x20000,
	     .flags = VFIOC_DMA_READ},
	    {.memfd = memfd, .offset = 0, .size = 0x1000, .iova = 0x10000},
	};
	const struct vfioc_dma_range ranges[] = {
	    {0x10000, 0x1000}, {0x20000, 0x2000}, {0x30000, 0x1000}};

	/* The broker refuses the whole batch and names the entry: the third overlaps the first. */
	CHECK(vfioc_dma_map_batch(claim, maps, 3) == -ERANGE);
	CHECK_STREQ(vfioc_client_last_error(c), "io.vfiod.Error.BadIova: entry 2: IOVA 0x10000 "
						"overlaps the mapping at 0x10000");
	CHECK(vfioc_dma_unmap(claim, 0x10000, 0x1000) == -ENOENT); /* none recorded, not sent */
	/* Each fits the quota of 1 MiB on its own, not both. */
	const struct vfioc_dma_map over[] = {
	    {.memfd = memfd, .size = 0x80000, .iova = 0x100000},
	    {.memfd = memfd, .size = 0xc0000, .iova = 0x200000},
	};
	CHECK(vfioc_dma_map_batch(claim, over, 2) == -EDQUOT);
	CHECK_STREQ(vfioc_client_last_error(c),
		    "io.vfiod.Error.QuotaExceeded: entry 1: 0xc0000 more bytes exceed the quota "
		    "of 0x100000");

	maps[2].iova = 0x30000;
	CHECK(vfioc_dma_map_batch(claim, maps, 3) == 0);
	CHECK(vfioc_claim_find_iova(claim, 0x10000, UINT64_MAX, &iova) == 0 && iova == 0x31000);

	/* Refused before anything is sent: over the cap, empty, a bad entry. */
	for (size_t i = 0; i < ELEMENTSOF(many); i++)
		many[i] = (struct vfioc_dma_map){
		    .memfd = memfd, .size = 0x1000, .iova = 0x100000 + i * 0x1000};
	CHECK(vfioc_dma_map_batch(claim, many, ELEMENTSOF(many)) == -E2BIG);
	CHECK_STREQ(vfioc_client_last_error_name(c), VFIOC_ERROR_LIMIT_EXCEEDED);
	CHECK(vfioc_dma_map_batch(claim, many, 0) == -EINVAL);
	CHECK(vfioc_dma_unmap_batch(claim, ranges, 0) == -EINVAL);
	many[1].memfd = -1;
	CHECK(vfioc_dma_map_batch(claim, many, 2) == -EBADF);
	CHECK_STREQ(vfioc_client_last_error(c), "System.Error.EBADF: entry 1: no memfd given");

	/* An unknown or repeated range refuses the whole unmap batch, before the call. */
	const struct vfioc_dma_range twice[] = {{0x20000, 0x2000}, {0x20000, 0x2000}};
	CHECK(vfioc_dma_unmap_batch(claim, twice, 2) == -ENOENT);
	CHECK_STREQ(vfioc_client_last_error(c),
		    "System.Error.ENOENT: entry 1: no mapping of 0x2000 bytes at IOVA 0x20000 "
		    "left by the entries before");
	CHECK(vfioc_dma_unmap_batch(claim, ranges, 3) == 0);
	CHECK(vfioc_dma_unmap(claim, 0x10000, 0x1000) == -ENOENT);

	/* A batch of one is a plain MapDma/UnmapDma, which every vfiod has. */
	CHECK(vfioc_dma_map_batch(claim, maps, 1) == 0);
	CHECK(vfioc_dma_unmap_batch(claim, ranges, 1) == 0);
	munmap(p, 1 << 20);
	close(memfd);
	CHECK(vfioc_claim_release(claim) == 0);
#define MEMFD "MapDmaBatch # /memfd:vfioc-dma (deleted) seals=0x7 "
	expect_calls(MEMFD "offset=0x0 size=0x1000 iova=0x10000 flags=0x3",
		     MEMFD "offset=0x1000 size=0x2000 iova=0x20000 flags=0x1",
		     MEMFD "offset=0x0 size=0x1000 iova=0x10000 flags=0x3",
		     MEMFD "offset=0x0 size=0x80000 iova=0x100000 flags=0x3",
		     MEMFD "offset=0x0 size=0xc0000 iova=0x200000 flags=0x3",
		     MEMFD "offset=0x0 size=0x1000 iova=0x10000 flags=0x3",
		     MEMFD "offset=0x1000 size=0x2000 iova=0x20000 flags=0x1",
		     MEMFD "offset=0x0 size=0x1000 iova=0x30000 flags=0x3",
		     "UnmapDmaBatch # iova=0x10000 size=0x1000",
		     "UnmapDmaBatch # iova=0x20000 size=0x2000",
		     "UnmapDmaBatch # iova=0x30000 size=0x1000",
		     "MapDma # /memfd:vfioc-dma (deleted) seals=0x7 offset=0x0 size=0x1000 "
		     "iova=0x10000 flags=0x3",
		     "UnmapDma # iova=0x10000 size=0x1000", "Release #");
#undef MEMFD
}

/* Container mode: the library checks the whole batch and undoes its own mmaps on a refusal. */
static void test_dma_batch_container(struct vfioc_client *c)
{
	struct vfioc_claim *claim = NULL;
	uint64_t iova = 0;
	int memfd = -1, maps;
	void *p = NULL;

	CHECK(vfioc_claim(c, (const char *[]){"0000:00:03.0"}, 1, NULL, &claim) == 0);
	if (!claim)
		return;
	set_claim_id(claim);
	CHECK(vfioc_dma_buffer_new(2 * 4096, &memfd, &p) == 0);
	maps = count_maps();
	struct vfioc_dma_map batch[] = {
	    {.memfd = memfd, .size = 0x2000, .iova = 0x10000},
	    {.memfd = memfd, .size = 0x1000, .iova = 0x11000},
	};
	CHECK(vfioc_dma_map_batch(claim, batch, 2) == -ERANGE);
	CHECK_STREQ(vfioc_client_last_error(c),
		    "io.vfiod.Error.BadIova: entry 1: IOVA range 0x11000-0x11fff overlaps the "
		    "mapping at 0x10000-0x11fff");
	/* Together over the quota of 64 MiB. */
	batch[1] = (struct vfioc_dma_map){.memfd = memfd, .size = 64 << 20, .iova = 0x100000};
	CHECK(vfioc_dma_map_batch(claim, batch, 2) == -EDQUOT);
	/* Checked: the fake container refuses the first ioctl, the mmaps go again. */
	batch[1] = (struct vfioc_dma_map){.memfd = memfd, .size = 0x1000, .iova = 0x12000};
	CHECK(vfioc_dma_map_batch(claim, batch, 2) == -ENOTTY);
	CHECK_STREQ(vfioc_client_last_error(c), "System.Error.ENOTTY: entry 0: VFIO_IOMMU_MAP_DMA: "
						"Inappropriate ioctl for device");
	CHECK(count_maps() == maps);
	CHECK(vfioc_claim_find_iova(claim, 0x1000, UINT64_MAX, &iova) == 0 && iova == 0x1000);
	CHECK(vfioc_dma_unmap_batch(claim, (struct vfioc_dma_range[]){{0x10000, 0x2000}}, 1) ==
	      -ENOENT);
	munmap(p, 2 * 4096);
	close(memfd);
	CHECK(vfioc_claim_release(claim) == 0);
	expect_calls("Claim 0000:00:03.0", "Release #");
}

static void expect_claim_error(struct vfioc_client *c, const char *device, const char *mode, int r,
			       const char *text)
{
	struct vfioc_claim_options opts = {.size = sizeof(opts), .dma_mode = mode};
	struct vfioc_claim *claim = NULL;
	int got = vfioc_claim(c, &device, 1, &opts, &claim);

	if (got != r) {
		fprintf(stderr, "claim %s: %d (%s), expected %d (%s)\n", device, got,
			strerror(-got), r, strerror(-r));
		test_failures++;
	}
	CHECK(claim == NULL);
	CHECK_STREQ(vfioc_client_last_error(c), text);
}

static void test_claim_errors(struct vfioc_client *c)
{
	struct vfioc_claim *claim = NULL;
	const char *dev[] = {"0000:00:03.0", "0000:00:03.0"};

	expect_claim_error(c, "0000:00:0b.0", NULL, -EBUSY,
			   "io.vfiod.Error.Busy: 0000:00:0b.0 is held by uid 1001 pid 345");
	expect_claim_error(c, "0000:00:0d.0", NULL, -ENODEV,
			   "io.vfiod.Error.NoSuchDevice: no PCI device 0000:00:0d.0");
	expect_claim_error(c, "0000:00:0e.0", NULL, -ENXIO,
			   "io.vfiod.Error.NotVfioDevice: 0000:00:0e.0 is bound to e1000e, not "
			   "vfio-pci");
	expect_claim_error(c, "0000:00:0f.0", NULL, -EXDEV,
			   "io.vfiod.Error.GroupNotViable: group 7 of 0000:00:0f.0 has "
			   "0000:00:0f.1 bound to snd_hda");
	expect_claim_error(c, "0000:00:03.0", "forbidden", -EPERM,
			   "io.vfiod.Error.DmaModeNotAllowed: DMA mode forbidden is not allowed");
	expect_claim_error(c, "00:03.0", NULL, -EINVAL,
			   "io.vfiod.Error.InvalidAddress: '00:03.0' is not a PCI address like "
			   "0000:00:03.0");
	CHECK(vfioc_claim(c, (const char *[]){"0000:00:0c.0"}, 1, NULL, &claim) == -EACCES);
	CHECK_STREQ(vfioc_client_last_error_name(c), VFIOC_ERROR_PERMISSION_DENIED);
	expect_calls("Claim 0000:00:0b.0", "Claim 0000:00:0d.0", "Claim 0000:00:0e.0",
		     "Claim 0000:00:0f.0", "Claim 0000:00:03.0 dma-mode=forbidden", "Claim 00:03.0",
		     "Claim 0000:00:0c.0");

	/* Refused locally. */
	CHECK(vfioc_claim(c, dev, 0, NULL, &claim) == -EINVAL);
	CHECK(vfioc_claim(c, NULL, 1, NULL, &claim) == -EINVAL);
	CHECK(vfioc_claim(c, dev, 2, NULL, &claim) == -EINVAL);
	CHECK_STREQ(vfioc_client_last_error(c),
		    "io.vfiod.Error.InvalidArgument: 0000:00:03.0 is listed twice");
	CHECK(vfioc_claim(c, dev, 1, NULL, NULL) == -EINVAL);
	CHECK(vfioc_claim(NULL, dev, 1, NULL, &claim) == -EINVAL);
	CHECK(claim == NULL);
	expect_calls(NULL);

	/* A malformed reply: no claim, and the half-made one is released. */
	CHECK(vfioc_claim(c, (const char *[]){"0000:00:1e.0"}, 1, NULL, &claim) == -EBADMSG);
	CHECK(claim == NULL);
	CHECK(vfioc_claim(c, (const char *[]){"0000:00:0d.0"}, 1, NULL, &claim) == -ENODEV);
	_cleanup_strv_free_ char **calls = NULL;
	CHECK(fake_broker_calls(&broker, &calls) == 0);
	CHECK(strv_length(calls) == 3);
	CHECK(calls && calls[0] && streq(calls[0], "Claim 0000:00:1e.0"));
	CHECK(calls && calls[1] && strncmp(calls[1], "Release ", 8) == 0);

	/* No answer: the client's timeout. */
	CHECK(vfioc_set_timeout(c, 200 * 1000) == 0);
	CHECK(vfioc_claim(c, (const char *[]){"0000:00:1f.7"}, 1, NULL, &claim) == -ETIMEDOUT);
	CHECK(vfioc_client_last_error_name(c) != NULL);
	CHECK(vfioc_set_timeout(c, 0) == 0);
	expect_calls("Claim 0000:00:1f.7");
}

struct options_v2 {
	struct vfioc_claim_options v1;
	uint64_t future;
};

static void test_claim_options_size(struct vfioc_client *c)
{
	const char *dev[] = {"0000:00:05.0"};
	struct vfioc_claim_options small = {.size = sizeof(size_t), .dma_mode = "brokered"};
	struct options_v2 big = {.v1 = {.size = sizeof(big), .dma_mode = "brokered"}};
	struct vfioc_claim *claim = NULL;

	CHECK(vfioc_claim(c, dev, 1, &small, &claim) == -EINVAL);
	big.future = 1;
	CHECK(vfioc_claim(c, dev, 1, &big.v1, &claim) == -EOPNOTSUPP);
	expect_calls(NULL);
	big.future = 0;
	CHECK(vfioc_claim(c, dev, 1, &big.v1, &claim) == 0);
	CHECK_STREQ(vfioc_claim_dma_mode(claim), "brokered");
	CHECK(vfioc_claim_release(claim) == 0);
	_cleanup_strv_free_ char **calls = NULL;
	CHECK(fake_broker_calls(&broker, &calls) == 0);
	CHECK(strv_length(calls) == 2 && streq(calls[0], "Claim 0000:00:05.0 dma-mode=brokered"));
}

/* A forked child cannot use the client (sd-bus refuses), may free its copy of the claim, and
 * leaves the parent's claim alone. */
static void test_fork(struct vfioc_client *c)
{
	struct vfioc_claim *claim = NULL;
	int status;
	pid_t pid;

	CHECK(vfioc_claim(c, (const char *[]){"0000:00:08.0"}, 1, NULL, &claim) == 0);
	if (!claim)
		return;
	set_claim_id(claim);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int r = vfioc_claim_set_irqs(claim, "0000:00:08.0", 0, 1);
		vfioc_claim_free(claim);
		vfioc_client_free(c);
		_exit(r == -ECHILD ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:08.0", 0, 1) == 0);
	CHECK(vfioc_claim_release(claim) == 0);
	expect_calls("Claim 0000:00:08.0", "SetIrqs # 0000:00:08.0 0 1", "Release #");
}

/* Closing the connection ends the claims it holds; the client outlives vfioc_client_free()
 * while a claim still refers to it. */
static void test_disconnect(void)
{
	struct vfioc_client *c = NULL;
	struct vfioc_claim *claim = NULL;

	CHECK(vfioc_connect(broker.address, &c) == 0);
	CHECK(vfioc_claim(c, (const char *[]){"0000:00:06.0"}, 1, NULL, &claim) == 0);
	if (!claim)
		return;
	set_claim_id(claim);
	expect_calls("Claim 0000:00:06.0");
	vfioc_client_free(c);
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:06.0", 0, 1) == 0); /* still connected */
	expect_calls("SetIrqs # 0000:00:06.0 0 1");

	/* The broker goes away: calls fail, nothing crashes. */
	CHECK(fake_broker_stop(&broker) == 0);
	c = NULL;
	CHECK(vfioc_claim_set_irqs(claim, "0000:00:06.0", 0, 1) < 0);
	CHECK(vfioc_claim_irq_fd(claim, "0000:00:06.0", 0, 0) >= 0);
	vfioc_claim_free(claim);
}

static void test_disconnect_releases(void)
{
	struct vfioc_client *c = NULL;
	struct vfioc_claim *claim = NULL;
	char line[64];

	CHECK(vfioc_connect(broker.address, &c) == 0);
	CHECK(vfioc_claim(c, (const char *[]){"0000:00:07.0"}, 1, NULL, &claim) == 0);
	if (!claim)
		return;
	set_claim_id(claim);
	expect_calls("Claim 0000:00:07.0");

	/* The dispatch loop sees the connection end. */
	CHECK(vfioc_client_get_fd(c) >= 0);
	CHECK(vfioc_client_dispatch(c, 0) >= 0);

	/* A client that dies never sends Release: the broker ends the claim when the connection
	 * closes. Simulate the crash by shutting the socket down under the library (the only
	 * socket this process has open now; vfioc_client_get_fd() is an epoll fd). */
	int fd = find_socket();
	CHECK(fd >= 0);
	CHECK(shutdown(fd, SHUT_RDWR) == 0);
	snprintf(line, sizeof(line), "Disconnect %s", claim_id);
	CHECK(fake_broker_wait_for(&broker, line) == 1);
	int r = vfioc_client_dispatch(c, 1000);
	CHECK(r == -ECONNRESET || r == -ENOTCONN);
	vfioc_claim_free(claim);
	vfioc_client_free(c);
}

int main(void)
{
	struct vfioc_client *c = NULL;
	int fds, maps;

	test_buffer_new();
	test_connect_errors();

	CHECK(fake_broker_start(&broker) == 0);
	fds = count_fds();
	maps = count_maps();

	test_connect_env();
	CHECK(vfioc_connect(broker.address, &c) == 0);
	if (c) {
		test_claim_brokered(c);
		test_claim_container(c);
		test_dma_batch_brokered(c);
		test_dma_batch_container(c);
		test_claim_errors(c);
		test_claim_options_size(c);
		test_fork(c);
		vfioc_client_free(c);
	}
	test_disconnect_releases();
	expect_calls(NULL);

	CHECK(count_fds() == fds);
	CHECK(count_maps() == maps);

	test_disconnect();
	CHECK(count_fds() == fds);
	return test_exit();
}
