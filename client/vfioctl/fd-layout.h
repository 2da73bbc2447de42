/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * Places fds[i] at descriptor number first + i for every i, clearing
 * FD_CLOEXEC on exactly those numbers, so they survive execve(). Works
 * whatever numbers the fds have now, including numbers inside the target
 * range (each fd is first copied above it). Descriptors that sat at a target
 * number are replaced. The copies left above the range are close-on-exec.
 * On return fds[] holds those copies. For the child between fork() and
 * exec: allocates nothing. Returns 0 or a negative errno (-EBADF for a bad
 * fd, -EMFILE when RLIMIT_NOFILE is below first + 2n).
 */
int fd_layout_apply(int *fds, size_t n, int first);
