/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "pci-address.h"
#include "tap.h"

int main(void)
{
	CHECK(pci_address_is_valid("0000:00:03.0"));
	CHECK(pci_address_is_valid("ffff:ff:1f.7"));
	CHECK(!pci_address_is_valid("0000:00:20.0"));  /* device > 0x1f */
	CHECK(!pci_address_is_valid("0000:00:03.8"));  /* function > 7 */
	CHECK(!pci_address_is_valid("0000:00:0A.0"));  /* upper case is not what sysfs uses */
	CHECK(!pci_address_is_valid("00:03.0"));       /* domain is required */
	CHECK(!pci_address_is_valid("0000:00:03.0 ")); /* trailing garbage */
	CHECK(!pci_address_is_valid("../../../etc"));
	CHECK(!pci_address_is_valid("0000/00:03.0"));
	CHECK(!pci_address_is_valid(""));
	CHECK(!pci_address_is_valid(NULL));
	return test_exit();
}
