/* SPDX-License-Identifier: MIT */
/*
 * The daemon's system call allow-list (libseccomp), installed on itself once
 * it is initialised. Anything not on the list fails with EPERM, and the kernel
 * logs it as an audit record of type SECCOMP (1326) when auditing is enabled
 * (auditd, or audit=1 on the kernel command line): a bug shows up as a failed
 * call and a log line, never as a silent kill. The list and the reason for
 * each entry are in seccomp-filter.c.
 */
#pragma once

/*
 * Installs the filter on the calling process, which must have one thread (the
 * daemon's case). Irreversible. Everything that creates sockets of families
 * other than AF_UNIX, binds, listens or maps code must have happened before.
 * Returns 0, or a negative errno when the filter cannot be built or loaded
 * (then nothing is installed).
 */
int seccomp_filter_install(void);
