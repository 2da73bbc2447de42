/* SPDX-License-Identifier: MIT */
/*
 * Giving the memory of large answers back to the kernel. A GetManagedObjects
 * answer is one message as large as everything published (13 MB at 10,000
 * devices). sd-bus grows it with realloc, so it often lives on the heap, and
 * freeing it leaves a hole that glibc keeps resident: the daemon would keep
 * the size of its largest answer for ever. Once such an answer has been
 * written out, malloc_trim() returns the free pages.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* Watches bus for GetManagedObjects calls, each of which schedules a trim. */
int memory_trim_add(sd_bus *bus, Manager *m);

/* Drops a scheduled trim (at exit). */
void memory_trim_done(Manager *m);
