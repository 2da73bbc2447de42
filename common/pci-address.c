/* SPDX-License-Identifier: MIT */
#include "pci-address.h"

#include <string.h>

#include "util.h"

/* sysfs writes addresses in lower case only, so upper case is refused. */
static int hex_value(char c)
{
	return c >= 'A' && c <= 'F' ? -1 : unhexchar(c);
}

bool pci_address_is_valid(const char *s)
{
	/* Template: 'x' is a hex digit, anything else must match literally. */
	static const char pattern[] = "xxxx:xx:xx.x";
	int device, function;

	if (!s || strlen(s) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; pattern[i]; i++) {
		if (pattern[i] == 'x' ? hex_value(s[i]) < 0 : s[i] != pattern[i])
			return false;
	}
	device = hex_value(s[8]) * 16 + hex_value(s[9]);
	function = hex_value(s[11]);
	return device <= 0x1f && function <= 7;
}
