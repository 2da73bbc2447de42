/* SPDX-License-Identifier: MIT */
/* The checks a brokered MapDma request must pass, without the kernel. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dma.h"
#include "util.h"
#include "tap.h"

/* The ranges the x86 Intel IOMMU reports: everything but the MSI window. */
static IovaRange x86_ranges[] = {
    {0x0, 0xfedfffff},
    {0xfef00000, 0xffffffffffffULL},
};

static DmaSpace make_space(uint64_t quota)
{
	DmaSpace s = {0};

	s.ranges = malloc(sizeof(x86_ranges));
	memcpy(s.ranges, x86_ranges, sizeof(x86_ranges));
	s.n_ranges = ELEMENTSOF(x86_ranges);
	s.pgsizes = 0x40201000; /* 4K, 2M, 1G */
	s.quota = quota;
	return s;
}

static void check_ranges(void)
{
	DmaSpace s = make_space(1 << 30);
	char *reason = NULL;

	CHECK(dma_space_check(&s, 0x100000, 0x1000, NULL) == 0);
	CHECK(dma_space_check(&s, 0, 0x1000, NULL) == 0);
	/* The MSI window and a range that straddles it. */
	CHECK(dma_space_check(&s, 0xfee00000, 0x1000, &reason) == -ERANGE);
	CHECK(reason && strstr(reason, "0xfee00000") && strstr(reason, "0xfef00000"));
	free(reason);
	CHECK(dma_space_check(&s, 0xfedff000, 0x2000, NULL) == -ERANGE);
	CHECK(dma_space_check(&s, 0xfef00000, 0x1000, NULL) == 0);
	/* Beyond the IOMMU's address width. */
	CHECK(dma_space_check(&s, 0x1000000000000ULL, 0x1000, NULL) == -ERANGE);
	/* Alignment, zero size, wrap-around. */
	CHECK(dma_space_check(&s, 0x100800, 0x1000, NULL) == -EINVAL);
	CHECK(dma_space_check(&s, 0x100000, 0x800, NULL) == -EINVAL);
	CHECK(dma_space_check(&s, 0x100000, 0, NULL) == -EINVAL);
	CHECK(dma_space_check(&s, 0xfffffffffffff000ULL, 0x2000, NULL) == -EINVAL);
	dma_space_done(&s);
}

static void check_overlap_and_quota(void)
{
	DmaSpace s = make_space(0x10000);
	char *reason = NULL;
	DmaMapping m;

	CHECK(dma_space_add(&s, 0x200000, 0x4000, NULL) == 0);
	CHECK(dma_space_add(&s, 0x100000, 0x4000, NULL) == 0);
	CHECK(s.mappings[0].iova == 0x100000); /* kept sorted */
	CHECK(s.mapped == 0x8000);

	CHECK(dma_space_check(&s, 0x203000, 0x1000, &reason) == -EEXIST);
	CHECK(reason && strstr(reason, "0x200000"));
	free(reason);
	CHECK(dma_space_check(&s, 0x1ff000, 0x2000, NULL) == -EEXIST);
	CHECK(dma_space_check(&s, 0x1ff000, 0x1000, NULL) == 0); /* adjacent is fine */
	CHECK(dma_space_check(&s, 0x204000, 0x1000, NULL) == 0);

	/* 0x8000 mapped of 0x10000: 0x8000 more fits, 0x9000 does not. */
	CHECK(dma_space_check(&s, 0x300000, 0x8000, NULL) == 0);
	CHECK(dma_space_check(&s, 0x300000, 0x9000, &reason) == -EDQUOT);
	CHECK(reason && strstr(reason, "quota"));
	free(reason);

	CHECK(dma_space_find(&s, 0x200000, 0x4000) == s.mappings + 1);
	CHECK(dma_space_find(&s, 0x200000, 0x1000) == NULL);
	CHECK(dma_space_find(&s, 0x201000, 0x3000) == NULL);
	CHECK(dma_space_remove(&s, 0x200000, 0x1000, NULL) == -ENOENT); /* size must match */
	CHECK(dma_space_remove(&s, 0x200000, 0x4000, &m) == 0);
	CHECK(m.iova == 0x200000 && s.mapped == 0x4000 && s.n_mappings == 1);
	CHECK(dma_space_check(&s, 0x203000, 0x1000, NULL) == 0);
	dma_space_done(&s);
}

static void check_mapping_cap(void)
{
	DmaSpace s = make_space(UINT64_MAX);

	for (uint64_t i = 0; i < DMA_MAX_MAPPINGS; i++)
		CHECK(dma_space_add(&s, 0x100000 + i * 0x1000, 0x1000, NULL) == 0);
	CHECK(dma_space_check(&s, 0x80000000, 0x1000, NULL) == -E2BIG);
	dma_space_done(&s);
}

/*
 * How MapDmaBatch checks a batch: each entry is checked against the space
 * with the entries before it added, so overlaps inside the batch and the
 * batch's total against the quota are refused; removing the added entries
 * leaves the space as it was.
 */
static void check_batch_reservation(void)
{
	DmaSpace s = make_space(0x10000);
	const struct {
		uint64_t iova, size;
	} batch[] = {{0x100000, 0x4000}, {0x200000, 0x8000}, {0x103000, 0x1000}};
	char *reason = NULL;

	CHECK(dma_space_add(&s, 0x300000, 0x2000, NULL) == 0);
	CHECK(dma_space_check(&s, batch[0].iova, batch[0].size, NULL) == 0);
	CHECK(dma_space_add(&s, batch[0].iova, batch[0].size, NULL) == 0);
	CHECK(dma_space_check(&s, batch[1].iova, batch[1].size, NULL) == 0);
	CHECK(dma_space_add(&s, batch[1].iova, batch[1].size, NULL) == 0);
	/* Inside the quota and the ranges, but over entry 0. */
	CHECK(dma_space_check(&s, batch[2].iova, batch[2].size, &reason) == -EEXIST);
	CHECK(reason && strstr(reason, "0x100000"));
	free(reason);
	/* 0xe000 of 0x10000 reserved: 0x3000 more is over the quota for the batch's total. */
	CHECK(dma_space_check(&s, 0x400000, 0x3000, NULL) == -EDQUOT);
	for (size_t i = 0; i < 2; i++)
		CHECK(dma_space_remove(&s, batch[i].iova, batch[i].size, NULL) == 0);
	CHECK(s.n_mappings == 1 && s.mapped == 0x2000 && s.mappings[0].iova == 0x300000);
	CHECK(dma_space_check(&s, batch[2].iova, batch[2].size, NULL) == 0);
	dma_space_done(&s);
}

/* dma_memfd_check() on fd as inspected now. */
static int memfd_check(int fd, uint64_t offset, uint64_t size, uint64_t align, char **reason)
{
	DmaMemfd f;

	dma_memfd_inspect(fd, &f);
	return dma_memfd_check(&f, offset, size, align, reason);
}

static void check_memfd(void)
{
	char path[] = "/tmp/test-dma-XXXXXX";
	char *reason = NULL;
	int fd, file, pipefd[2];

	fd = memfd_create("buf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 0x4000) == 0);
	/* Not sealed yet. */
	CHECK(memfd_check(fd, 0, 0x1000, 0x1000, &reason) == -EBADF);
	CHECK(reason && strstr(reason, "F_SEAL_SHRINK"));
	free(reason);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	CHECK(memfd_check(fd, 0, 0x4000, 0x1000, NULL) == 0);
	CHECK(memfd_check(fd, 0x1000, 0x3000, 0x1000, NULL) == 0);
	CHECK(memfd_check(fd, 0x1000, 0x4000, 0x1000, NULL) == -EBADF); /* past the end */
	CHECK(memfd_check(fd, 0x800, 0x1000, 0x1000, NULL) == -EBADF);	/* unaligned */
	CHECK(memfd_check(fd, UINT64_MAX - 0xfff, 0x2000, 0x1000, NULL) == -EBADF);
	close(fd);

	/* A memfd without sealing support reports F_SEAL_SEAL only. */
	fd = memfd_create("nosealing", MFD_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, 0x1000) == 0);
	CHECK(memfd_check(fd, 0, 0x1000, 0x1000, &reason) == -EBADF);
	CHECK(reason && strstr(reason, "MFD_ALLOW_SEALING"));
	free(reason);
	close(fd);

	file = mkstemp(path);
	CHECK(file >= 0);
	unlink(path);
	CHECK(memfd_check(file, 0, 0x1000, 0x1000, &reason) == -EBADF);
	CHECK(reason && strstr(reason, "not a memfd"));
	free(reason);
	close(file);

	CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
	CHECK(memfd_check(pipefd[0], 0, 0x1000, 0x1000, NULL) == -EBADF);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	check_ranges();
	check_overlap_and_quota();
	check_mapping_cap();
	check_batch_reservation();
	check_memfd();
	return test_exit();
}
