/* SPDX-License-Identifier: MIT */
#include "dma-view.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "util.h"

static int check_seals(int seals, bool writable)
{
	if (seals < 0)
		return seals;
	return writable && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) ? -EPERM : 0;
}

int dma_views_check(const DmaMemfd *f, bool writable)
{
	if (f->flags < 0)
		return f->flags;
	if ((f->flags & O_ACCMODE) == O_WRONLY || (writable && (f->flags & O_ACCMODE) != O_RDWR))
		return -EACCES;
	return check_seals(f->seals, writable);
}

static void view_unmap_at(DmaViews *v, size_t i)
{
	DmaView *view = v->views + i;

	munmap(view->vaddr, view->size);
	if (view->users == 0) {
		v->n_idle--;
		v->idle_bytes -= view->size;
	}
	memmove(view, view + 1, (v->n_views - i - 1) * sizeof(*view));
	v->n_views--;
}

int dma_views_get(DmaViews *v, const DmaMemfd *f, uint64_t offset, uint64_t size, bool writable,
		  void **ret_vaddr)
{
	DmaView *n;
	void *vaddr;
	int r;

	if (f->stat_error < 0)
		return f->stat_error;
	for (size_t i = 0; i < v->n_views; i++) {
		DmaView *view = v->views + i;

		if (view->dev != f->st.st_dev || view->ino != f->st.st_ino ||
		    view->offset != offset || view->size != size || view->writable != writable)
			continue;
		r = dma_views_check(f, writable);
		if (r >= 0 && writable) {
			/* F_SEAL_FUTURE_WRITE may have been added since the inspection. */
			int seals = fcntl(f->fd, F_GET_SEALS);

			r = check_seals(seals < 0 ? negative_errno() : seals, writable);
		}
		if (r < 0)
			return r;
		if (view->users++ == 0) {
			v->n_idle--;
			v->idle_bytes -= size;
		}
		view->last_used = ++v->clock;
		*ret_vaddr = view->vaddr;
		return 0;
	}

	n = reallocarray(v->views, v->n_views + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	v->views = n;
	/*
	 * The daemon never touches the pages; the kernel pins them. MAP_POPULATE
	 * fills the page table in one pass (fault-around maps the memfd's
	 * resident pages in batches) instead of the pinning faulting every page
	 * in on its own.
	 */
	vaddr = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED | MAP_POPULATE,
		     f->fd, offset);
	if (vaddr == MAP_FAILED)
		return negative_errno();
	v->views[v->n_views++] = (DmaView){
	    .dev = f->st.st_dev,
	    .ino = f->st.st_ino,
	    .offset = offset,
	    .size = size,
	    .writable = writable,
	    .vaddr = vaddr,
	    .users = 1,
	    .last_used = ++v->clock,
	};
	*ret_vaddr = vaddr;
	return 0;
}

void dma_views_put(DmaViews *v, void *vaddr, uint64_t idle_budget)
{
	for (size_t i = 0; i < v->n_views; i++) {
		DmaView *view = v->views + i;

		if (view->vaddr != vaddr)
			continue;
		if (--view->users == 0) {
			v->n_idle++;
			v->idle_bytes += view->size;
		}
		break;
	}

	while (v->n_idle > DMA_VIEW_MAX_IDLE || v->idle_bytes > idle_budget) {
		size_t oldest = SIZE_MAX;

		for (size_t i = 0; i < v->n_views; i++)
			if (v->views[i].users == 0 &&
			    (oldest == SIZE_MAX ||
			     v->views[i].last_used < v->views[oldest].last_used))
				oldest = i;
		if (oldest == SIZE_MAX)
			break;
		view_unmap_at(v, oldest);
	}
}

void dma_views_done(DmaViews *v)
{
	for (size_t i = 0; i < v->n_views; i++)
		munmap(v->views[i].vaddr, v->views[i].size);
	free(v->views);
	*v = (DmaViews){0};
}
