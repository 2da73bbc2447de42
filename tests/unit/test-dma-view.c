/* SPDX-License-Identifier: MIT */
/* The daemon's kept views of client memfds: reuse only for the same file and range, caps. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dma-view.h"
#include "util.h"
#include "tap.h"

static int sealed_memfd(uint64_t size)
{
	int fd = memfd_create("buf", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0);
	CHECK(ftruncate(fd, (off_t)size) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	return fd;
}

/* The fd of the same file that another process would pass: a new open file. */
static int reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

/* dma_views_get() and dma_views_check() on fd as inspected now. */
static int views_get(DmaViews *v, int fd, uint64_t offset, uint64_t size, bool writable, void **ret)
{
	DmaMemfd f;

	dma_memfd_inspect(fd, &f);
	return dma_views_get(v, &f, offset, size, writable, ret);
}

static int views_check(int fd, bool writable)
{
	DmaMemfd f;

	dma_memfd_inspect(fd, &f);
	return dma_views_check(&f, writable);
}

static void check_reuse(void)
{
	DmaViews v = {0};
	void *a, *b, *c, *d;
	char buf[5] = "";
	int fd, again, other;

	fd = sealed_memfd(0x4000);
	CHECK(views_get(&v, fd, 0, 0x4000, true, &a) == 0);
	/* The view is the file's: writes through it show in the client's memfd. */
	memcpy(a, "view", 5);
	CHECK(pread(fd, buf, 5, 0) == 5 && streq(buf, "view"));

	/* Mapped twice at once (two IOVAs): one view, two users. */
	CHECK(views_get(&v, fd, 0, 0x4000, true, &b) == 0);
	CHECK(a == b && v.n_views == 1 && v.views[0].users == 2);
	dma_views_put(&v, a, UINT64_MAX);
	dma_views_put(&v, a, UINT64_MAX);
	CHECK(v.n_views == 1 && v.n_idle == 1 && v.idle_bytes == 0x4000);

	/* A later MapDma passes another fd of the same file: the idle view comes back. */
	again = reopen(fd, O_RDWR);
	CHECK(again >= 0);
	CHECK(views_get(&v, again, 0, 0x4000, true, &c) == 0);
	CHECK(c == a && v.n_idle == 0 && v.idle_bytes == 0);
	dma_views_put(&v, c, UINT64_MAX);

	/* Another range, another protection, another memfd of the same size: new views. */
	CHECK(views_get(&v, fd, 0x1000, 0x3000, true, &d) == 0 && d != a);
	dma_views_put(&v, d, UINT64_MAX);
	CHECK(views_get(&v, fd, 0, 0x4000, false, &d) == 0 && d != a);
	dma_views_put(&v, d, UINT64_MAX);
	other = sealed_memfd(0x4000);
	CHECK(views_get(&v, other, 0, 0x4000, true, &d) == 0 && d != a);
	CHECK(memcmp(d, "view", 5) != 0);
	dma_views_put(&v, d, UINT64_MAX);
	CHECK(v.n_views == 4 && v.n_idle == 4);

	dma_views_done(&v);
	CHECK(v.n_views == 0 && v.views == NULL);
	close(fd);
	close(again);
	close(other);
}

/* A kept view is not handed out where a fresh mmap of the passed fd would fail. */
static void check_fd_rights(void)
{
	DmaViews v = {0};
	void *a, *b;
	int fd, readonly;

	fd = sealed_memfd(0x1000);
	CHECK(views_get(&v, fd, 0, 0x1000, true, &a) == 0);
	dma_views_put(&v, a, UINT64_MAX);

	readonly = reopen(fd, O_RDONLY);
	CHECK(readonly >= 0);
	CHECK(views_get(&v, readonly, 0, 0x1000, true, &b) == -EACCES);
	CHECK(mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, readonly, 0) == MAP_FAILED);
	/* The same answer without a view, as MapDmaBatch checks every entry before mapping any. */
	CHECK(views_check(readonly, true) == -EACCES);
	CHECK(views_check(readonly, false) == 0);
	CHECK(views_check(fd, true) == 0);

	/*
	 * Sealed against new writable mappings after the view was made, and
	 * after the entry was inspected (a batch inspects every entry first).
	 */
	DmaMemfd before;

	dma_memfd_inspect(fd, &before);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0);
	CHECK(dma_views_get(&v, &before, 0, 0x1000, true, &b) == -EPERM);
	CHECK(views_get(&v, fd, 0, 0x1000, true, &b) == -EPERM);
	CHECK(views_check(fd, true) == -EPERM);
	CHECK(views_check(fd, false) == 0);
	CHECK(v.n_idle == 1); /* a refusal leaves the view idle */
	CHECK(views_get(&v, readonly, 0, 0x1000, false, &b) == 0 && b != a);
	dma_views_put(&v, b, UINT64_MAX);

	dma_views_done(&v);
	close(fd);
	close(readonly);
}

static void check_caps(void)
{
	DmaViews v = {0};
	int fds[DMA_VIEW_MAX_IDLE + 1];
	void *vaddr[DMA_VIEW_MAX_IDLE + 1], *again;

	for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
		fds[i] = sealed_memfd(0x1000);
		CHECK(views_get(&v, fds[i], 0, 0x1000, true, &vaddr[i]) == 0);
	}
	CHECK(v.n_views == ELEMENTSOF(fds) && v.n_idle == 0);
	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		dma_views_put(&v, vaddr[i], UINT64_MAX);
	/* One idle view too many: the least recently used (the first) went. */
	CHECK(v.n_idle == DMA_VIEW_MAX_IDLE && v.n_views == DMA_VIEW_MAX_IDLE);
	CHECK(v.views[0].vaddr == vaddr[1]);

	/* Reusing the second makes the third the oldest; a byte budget of one view keeps it. */
	CHECK(views_get(&v, fds[1], 0, 0x1000, true, &again) == 0 && again == vaddr[1]);
	dma_views_put(&v, again, 0x1000);
	CHECK(v.n_views == 1 && v.n_idle == 1 && v.idle_bytes == 0x1000);
	CHECK(v.views[0].vaddr == vaddr[1]);

	/* Views in use are never dropped, whatever the budget. */
	CHECK(views_get(&v, fds[1], 0, 0x1000, true, &again) == 0);
	CHECK(views_get(&v, fds[2], 0, 0x1000, true, &vaddr[2]) == 0);
	dma_views_put(&v, vaddr[2], 0);
	CHECK(v.n_views == 1 && v.views[0].users == 1 && v.n_idle == 0);

	dma_views_done(&v);
	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		close(fds[i]);
}

int main(void)
{
	check_reuse();
	check_fd_rights();
	check_caps();
	return test_exit();
}
