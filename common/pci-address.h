/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* "DDDD:BB:DD.F" plus the terminating NUL. */
#define PCI_ADDRESS_MAX 13

/*
 * True when s is a canonical PCI address "DDDD:BB:DD.F": lower-case hex,
 * device <= 0x1f, function <= 7. Anything else (including upper case, which
 * sysfs never uses) is refused, so a valid address is always safe to use as a
 * single path component.
 */
bool pci_address_is_valid(const char *s);
