/* SPDX-License-Identifier: MIT */
/* Escaping in the audit trail, and how polkit's answers become a verdict. */
#include <string.h>

#include "audit.h"
#include "polkit.h"
#include "util.h"
#include "tap.h"

static void test_escape(void)
{
	char buf[AUDIT_ESCAPED_MAX], small[12];

	CHECK_STREQ(audit_escape("0000:00:03.0", buf, sizeof(buf)), "0000:00:03.0");
	CHECK_STREQ(audit_escape(NULL, buf, sizeof(buf)), "-");
	/* A forged journal line, quotes, backslashes and non-ASCII are all hex. */
	CHECK_STREQ(audit_escape("a\nMESSAGE_ID=x", buf, sizeof(buf)), "a\\x0aMESSAGE_ID=x");
	CHECK_STREQ(audit_escape("\"\\\x1b[31m", buf, sizeof(buf)), "\\x22\\x5c\\x1b[31m");
	CHECK_STREQ(audit_escape("\xc3\xa9", buf, sizeof(buf)), "\\xc3\\xa9");
	/* Cut short, never past the buffer, and says so. */
	CHECK_STREQ(audit_escape("0123456789abcdef", small, sizeof(small)), "01234567...");
	CHECK_STREQ(audit_escape("\n\n\n\n", small, sizeof(small)), "\\x0a\\x0a...");
	CHECK(strlen(audit_escape("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
				  "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
				  "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
				  "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
				  "\xff\xff\xff\xff\xff\xff\xff\xff",
				  buf, sizeof(buf))) < sizeof(buf));
}

static void test_verdict(void)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char why[256];

	CHECK(polkit_verdict(NULL, true, false, false, POLKIT_ACTION_CLAIM, why, sizeof(why)));
	CHECK(polkit_verdict(&e, true, false, false, POLKIT_ACTION_CLAIM, why, sizeof(why)));

	CHECK(!polkit_verdict(NULL, false, false, false, POLKIT_ACTION_CLAIM, why, sizeof(why)));
	CHECK_STREQ(why, "polkit denied io.vfiod.claim-device");
	CHECK(!polkit_verdict(NULL, false, true, false, POLKIT_ACTION_CLAIM, why, sizeof(why)));
	CHECK(strstr(why, "authentication required") && strstr(why, "interactive"));
	/* Interactive, and still a challenge: the agent failed; a plain no. */
	CHECK(!polkit_verdict(NULL, false, true, true, POLKIT_ACTION_CLAIM, why, sizeof(why)));
	CHECK_STREQ(why, "polkit denied io.vfiod.claim-device");

	/* Errors deny, even with authorized set. */
	sd_bus_error_set_const(&e, SD_BUS_ERROR_SERVICE_UNKNOWN, "no polkit");
	CHECK(!polkit_verdict(&e, true, false, false, POLKIT_ACTION_CLAIM, why, sizeof(why)));
	CHECK_STREQ(why, "polkit is not available");
	sd_bus_error_free(&e);
	sd_bus_error_set_const(&e, SD_BUS_ERROR_NO_REPLY, "late");
	CHECK(!polkit_verdict(&e, true, false, false, POLKIT_ACTION_CLAIM, why, sizeof(why)));
	CHECK_STREQ(why, "polkit did not answer in time");
	sd_bus_error_free(&e);
	sd_bus_error_set_const(&e, "org.freedesktop.PolicyKit1.Error.Failed", "gone");
	CHECK(!polkit_verdict(&e, true, false, false, POLKIT_ACTION_CLAIM, why, sizeof(why)));
	CHECK_STREQ(why, "polkit failed (org.freedesktop.PolicyKit1.Error.Failed)");
	sd_bus_error_free(&e);
}

int main(void)
{
	test_escape();
	test_verdict();
	return test_exit();
}
