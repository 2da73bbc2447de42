/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fd-layout.h"

int fd_layout_apply(int *fds, size_t n, int first)
{
	int above = first + (int)n;

	if (first < 0)
		return -EINVAL;

	/* First every fd out of the way, so no dup2() below clobbers one not yet placed. */
	for (size_t i = 0; i < n; i++) {
		int copy = fcntl(fds[i], F_DUPFD_CLOEXEC, above);
		if (copy < 0)
			return -errno;
		fds[i] = copy;
	}
	/* dup2() never copies FD_CLOEXEC: the targets are inheritable, nothing else changes. */
	for (size_t i = 0; i < n; i++)
		if (dup2(fds[i], first + (int)i) < 0)
			return -errno;
	return 0;
}
