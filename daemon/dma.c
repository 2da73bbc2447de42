/* SPDX-License-Identifier: MIT */
#include "dma.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static int fail(char **ret_reason, int error, const char *format, ...) _printf_(3, 4);
static int fail(char **ret_reason, int error, const char *format, ...)
{
	va_list ap;

	if (ret_reason) {
		va_start(ap, format);
		if (vasprintf(ret_reason, format, ap) < 0)
			*ret_reason = NULL;
		va_end(ap);
	}
	return error;
}

void dma_space_done(DmaSpace *s)
{
	free(s->ranges);
	free(s->mappings);
	*s = (DmaSpace){0};
}

static uint64_t min_page_size(uint64_t pgsizes)
{
	return pgsizes ? pgsizes & -pgsizes : 4096;
}

int dma_space_check(const DmaSpace *s, uint64_t iova, uint64_t size, char **ret_reason)
{
	uint64_t align = min_page_size(s->pgsizes), last;
	bool inside = false;

	if (size == 0)
		return fail(ret_reason, -EINVAL, "size is 0");
	if ((iova | size) & (align - 1))
		return fail(ret_reason, -EINVAL,
			    "IOVA 0x%" PRIx64 " and size 0x%" PRIx64
			    " must be multiples of the IOMMU page size 0x%" PRIx64,
			    iova, size, align);
	if (iova + size - 1 < iova)
		return fail(ret_reason, -EINVAL, "IOVA range wraps around");
	last = iova + size - 1;

	for (size_t i = 0; i < s->n_ranges; i++)
		if (iova >= s->ranges[i].start && last <= s->ranges[i].last)
			inside = true;
	if (!inside) {
		/* Name the usable ranges so the client can pick another IOVA. */
		char buf[512] = "";
		size_t len = 0;
		for (size_t i = 0; i < s->n_ranges && len < sizeof(buf) - 64; i++)
			len += snprintf(buf + len, sizeof(buf) - len, "%s0x%" PRIx64 "-0x%" PRIx64,
					i ? ", " : "", s->ranges[i].start, s->ranges[i].last);
		return fail(ret_reason, -ERANGE,
			    "IOVA range 0x%" PRIx64 "-0x%" PRIx64
			    " is not inside one usable IOVA range of the IOMMU (%s)",
			    iova, last, buf);
	}

	for (size_t i = 0; i < s->n_mappings; i++) {
		const DmaMapping *m = s->mappings + i;
		if (iova <= m->iova + m->size - 1 && m->iova <= last)
			return fail(ret_reason, -EEXIST,
				    "IOVA range 0x%" PRIx64 "-0x%" PRIx64
				    " overlaps the mapping at 0x%" PRIx64 " (size 0x%" PRIx64 ")",
				    iova, last, m->iova, m->size);
	}

	if (size > s->quota || s->mapped > s->quota - size)
		return fail(ret_reason, -EDQUOT,
			    "mapping 0x%" PRIx64 " bytes would exceed the DMA quota of 0x%" PRIx64
			    " bytes (0x%" PRIx64 " mapped)",
			    size, s->quota, s->mapped);
	if (s->n_mappings >= DMA_MAX_MAPPINGS)
		return fail(ret_reason, -E2BIG, "a claim may hold at most %d DMA mappings",
			    DMA_MAX_MAPPINGS);
	return 0;
}

int dma_space_add(DmaSpace *s, uint64_t iova, uint64_t size, void *vaddr)
{
	DmaMapping *n;
	size_t pos = 0;

	n = reallocarray(s->mappings, s->n_mappings + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->mappings = n;
	while (pos < s->n_mappings && s->mappings[pos].iova < iova)
		pos++;
	memmove(s->mappings + pos + 1, s->mappings + pos,
		(s->n_mappings - pos) * sizeof(*s->mappings));
	s->mappings[pos] = (DmaMapping){.iova = iova, .size = size, .vaddr = vaddr};
	s->n_mappings++;
	s->mapped += size;
	return 0;
}

DmaMapping *dma_space_find(const DmaSpace *s, uint64_t iova, uint64_t size)
{
	for (size_t i = 0; i < s->n_mappings; i++)
		if (s->mappings[i].iova == iova && s->mappings[i].size == size)
			return s->mappings + i;
	return NULL;
}

int dma_space_remove(DmaSpace *s, uint64_t iova, uint64_t size, DmaMapping *ret)
{
	DmaMapping *m = dma_space_find(s, iova, size);
	size_t i;

	if (!m)
		return -ENOENT;
	i = (size_t)(m - s->mappings);
	if (ret)
		*ret = *m;
	s->mapped -= size;
	memmove(m, m + 1, (s->n_mappings - i - 1) * sizeof(*m));
	s->n_mappings--;
	return 0;
}

void dma_memfd_inspect(int fd, DmaMemfd *ret)
{
	*ret = (DmaMemfd){.fd = fd};
	ret->seals = fcntl(fd, F_GET_SEALS);
	if (ret->seals < 0)
		ret->seals = negative_errno();
	ret->flags = fcntl(fd, F_GETFL);
	if (ret->flags < 0)
		ret->flags = negative_errno();
	if (fstat(fd, &ret->st) < 0)
		ret->stat_error = negative_errno();
}

int dma_memfd_check(const DmaMemfd *f, uint64_t offset, uint64_t size, uint64_t align,
		    char **ret_reason)
{
	/* Only memfds (and other shmem files, which then report F_SEAL_SEAL) support sealing. */
	if (f->seals < 0)
		return fail(ret_reason, -EBADF,
			    "the fd is not a memfd (create it with memfd_create)");
	if ((f->seals & F_SEAL_SEAL) && !(f->seals & F_SEAL_SHRINK))
		return fail(ret_reason, -EBADF,
			    "the fd cannot be sealed: it is not a memfd created with "
			    "MFD_ALLOW_SEALING");
	if (!(f->seals & F_SEAL_SHRINK))
		return fail(ret_reason, -EBADF,
			    "the memfd is not sealed with F_SEAL_SHRINK (add it with "
			    "fcntl(F_ADD_SEALS) after sizing the memfd)");
	if (f->stat_error < 0)
		return fail(ret_reason, -EBADF, "cannot stat the memfd: %s",
			    strerror(-f->stat_error));
	if (!S_ISREG(f->st.st_mode))
		return fail(ret_reason, -EBADF, "the fd is not a memfd");
	if (offset & (align - 1))
		return fail(ret_reason, -EBADF,
			    "offset 0x%" PRIx64 " is not a multiple of the page size 0x%" PRIx64,
			    offset, align);
	if (offset + size < offset || offset + size > (uint64_t)f->st.st_size)
		return fail(ret_reason, -EBADF,
			    "offset 0x%" PRIx64 " + size 0x%" PRIx64
			    " is beyond the end of the memfd (0x%" PRIx64 " bytes)",
			    offset, size, (uint64_t)f->st.st_size);
	return 0;
}
