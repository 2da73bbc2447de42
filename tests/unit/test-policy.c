/* SPDX-License-Identifier: MIT */
/*
 * The static policy: every key with good and bad values (exact FILE:LINE
 * prefixes), inih's quirks (long lines, continuation lines, inline comments,
 * section headers), files and drop-ins with their ownership and mode checks,
 * and rule matching.
 */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy-value.h"
#include "policy.h"
#include "tap.h"
#include "util.h"

/* Something policy_load*() must never write on failure. */
static Policy sentinel_policy;
#define SENTINEL (&sentinel_policy)

/* The uid every test file gets: whoever runs the tests. */
static uid_t me;

static bool has_prefix(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Loads text, which must succeed. */
static Policy *load_at(int caller, const char *text)
{
	Policy *p = SENTINEL;
	char *error = NULL;
	int r;

	r = policy_load_string(text, "t.conf", &p, &error);
	if (r < 0 || p == SENTINEL || !p || error) {
		fprintf(stderr, "test-policy.c:%d: load failed: r=%d error=%s\n", caller, r,
			error ?: "(null)");
		test_failures++;
		free(error);
		return NULL;
	}
	return p;
}
#define LOAD(text) load_at(__LINE__, text)

/* Loads text, which must fail with r and an error "t.conf:LINE: ..." containing part. */
static void expect_error_at(int caller, const char *text, int r_expected, unsigned line,
			    const char *part)
{
	_cleanup_free_ char *error = NULL, *prefix = NULL;
	Policy *p = SENTINEL;
	int r;

	r = policy_load_string(text, "t.conf", &p, &error);
	CHECK(asprintf(&prefix, "t.conf:%u: ", line) > 0);
	if (r != r_expected || p != SENTINEL || !has_prefix(error, prefix) ||
	    !strstr(error, part)) {
		fprintf(stderr,
			"test-policy.c:%d: expected r=%d \"%s...%s...\", got r=%d \"%s\" "
			"(ret %s)\n",
			caller, r_expected, prefix, part, r, error ?: "(null)",
			p == SENTINEL ? "untouched" : "WRITTEN");
		test_failures++;
		if (r == 0 && p != SENTINEL)
			policy_free(p);
	}
}
#define EXPECT_ERROR(text, line, part) expect_error_at(__LINE__, text, -EINVAL, line, part)

/* A rule with matchers for the key under test, which comes last. */
#define RULE(keys)    "[Rule r]\nUsers=0\nIommuGroups=1\n" keys
#define ID_RULE(keys) "[Rule r]\nUsers=0\nIds=*:*\n" keys

#define PCI(addr, vendor, device, class, group)                                                    \
	((PolicyDevice){.type = POLICY_DEVICE_PCI,                                                 \
			.address = (addr),                                                         \
			.vendor_id = (vendor),                                                     \
			.device_id = (device),                                                     \
			.class_code = (class),                                                     \
			.iommu_group = (group)})

static PolicySubject subject_of(uid_t uid, gid_t gid)
{
	return (PolicySubject){.uid = uid, .gid = gid};
}

static const char *find(const Policy *p, PolicySubject s, PolicyDevice d)
{
	const PolicyRule *rule = policy_find_rule(p, &s, &d);
	return rule ? rule->name : NULL;
}

static void test_good_rule(void)
{
	Policy *p;
	const PolicyRule *r;

	p = LOAD("# comment\n"
		 "; another comment\n"
		 "\n"
		 "[Rule gpu-1.test_A]\n"
		 "Addresses=0000:01:00.0 0000:02:1f.7\n"
		 "Ids=1234:11e8 8086:* *:abcd *:* ABCD:EF01\n"
		 "Classes=01 0108 010802\n"
		 "IommuGroups=0 7 2147483647\n"
		 "Users=root 1000 4294967294\n"
		 "Groups=root 0 4294967294\n"
		 "DmaModes=brokered\n"
		 "DmaQuota=4G\n"
		 "MaxDevices=1024\n");
	if (!p)
		return;
	CHECK(p->n_rules == 1);
	r = &p->rules[0];
	CHECK_STREQ(r->name, "gpu-1.test_A");
	CHECK_STREQ(r->file, "t.conf");
	CHECK(r->line == 4);
	CHECK(strv_length(r->devices.addresses) == 2);
	CHECK_STREQ(r->devices.addresses[0], "0000:01:00.0");
	CHECK_STREQ(r->devices.addresses[1], "0000:02:1f.7");
	CHECK(r->devices.n_ids == 5);
	CHECK(r->devices.ids[0].vendor_id == 0x1234 && r->devices.ids[0].device_id == 0x11e8);
	CHECK(r->devices.ids[1].vendor_id == 0x8086 &&
	      r->devices.ids[1].device_id == POLICY_ID_ANY);
	CHECK(r->devices.ids[2].vendor_id == POLICY_ID_ANY &&
	      r->devices.ids[2].device_id == 0xabcd);
	CHECK(r->devices.ids[3].vendor_id == POLICY_ID_ANY &&
	      r->devices.ids[3].device_id == POLICY_ID_ANY);
	CHECK(r->devices.ids[4].vendor_id == 0xabcd && r->devices.ids[4].device_id == 0xef01);
	CHECK(r->devices.n_classes == 3);
	CHECK(r->devices.classes[0].value == 0x010000 && r->devices.classes[0].mask == 0xff0000);
	CHECK(r->devices.classes[1].value == 0x010800 && r->devices.classes[1].mask == 0xffff00);
	CHECK(r->devices.classes[2].value == 0x010802 && r->devices.classes[2].mask == 0xffffff);
	CHECK(r->devices.n_iommu_groups == 3);
	CHECK(r->devices.iommu_groups[0] == 0 && r->devices.iommu_groups[1] == 7 &&
	      r->devices.iommu_groups[2] == 2147483647);
	CHECK(r->n_uids == 3);
	CHECK(r->uids[0] == 0 && r->uids[1] == 1000 && r->uids[2] == 4294967294u);
	CHECK(r->n_gids == 3);
	CHECK(r->gids[0] == 0 && r->gids[1] == 0 && r->gids[2] == 4294967294u);
	CHECK(r->dma_modes == DMA_MODE_BROKERED);
	CHECK(r->dma_quota == UINT64_C(4) << 30);
	CHECK(r->max_devices == 1024);
	policy_free(p);

	/* Defaults; blanks around '=' and inline "; comments". */
	p = LOAD("[Rule d] ; the default rule\n"
		 "Users = 0 ; root\n"
		 "IommuGroups =3\n");
	if (!p)
		return;
	CHECK(p->n_rules == 1);
	r = &p->rules[0];
	CHECK(r->n_uids == 1 && r->uids[0] == 0);
	CHECK(r->devices.n_iommu_groups == 1 && r->devices.iommu_groups[0] == 3);
	CHECK(!r->devices.addresses && r->devices.n_ids == 0 && r->devices.n_classes == 0 &&
	      r->n_gids == 0);
	CHECK(r->dma_modes == DMA_MODES_ALL);
	CHECK(r->dma_quota == POLICY_DEFAULT_DMA_QUOTA);
	CHECK(r->max_devices == POLICY_DEFAULT_MAX_DEVICES);
	policy_free(p);

	/* An empty text, only comments, a UTF-8 BOM, CRLF line ends. */
	p = LOAD("");
	CHECK(p && p->n_rules == 0);
	policy_free(p);
	p = LOAD("# nothing\n\n;\n");
	CHECK(p && p->n_rules == 0);
	policy_free(p);
	p = LOAD("\xef\xbb\xbf[Rule bom]\r\nGroups=0\r\nClasses=02\r\n");
	CHECK(p && p->n_rules == 1 && p->rules[0].n_gids == 1 &&
	      p->rules[0].devices.n_classes == 1);
	policy_free(p);
	/* No final line break. */
	p = LOAD("[Rule x]\nGroups=0\nClasses=02");
	CHECK(p && p->n_rules == 1 && p->rules[0].devices.n_classes == 1);
	policy_free(p);
}

static void test_addresses(void)
{
	Policy *p = LOAD(RULE("Addresses=ffff:ff:1f.7\n"));
	CHECK(p && strv_length(p->rules[0].devices.addresses) == 1);
	policy_free(p);

	EXPECT_ERROR(RULE("Addresses=0000:00:02.8\n"), 4,
		     "Addresses=: \"0000:00:02.8\" is not a PCI address DDDD:BB:DD.F");
	EXPECT_ERROR(RULE("Addresses=0000:00:02.0 00:02.0\n"), 4, "\"00:02.0\" is not a PCI");
	EXPECT_ERROR(RULE("Addresses=0000:0A:00.0\n"), 4, "\"0000:0A:00.0\" is not a PCI");
	EXPECT_ERROR(RULE("Addresses=0000:00:20.0\n"), 4, "\"0000:00:20.0\" is not a PCI");
	EXPECT_ERROR(RULE("Addresses=0000:00:02.0,0000:00:03.0\n"), 4, "is not a PCI address");
}

static void test_ids(void)
{
	EXPECT_ERROR(RULE("Ids=12g4:11e8\n"), 4,
		     "Ids=: \"12g4:11e8\" is not VENDOR:DEVICE in hex (use * for any)");
	EXPECT_ERROR(RULE("Ids=1234\n"), 4, "Ids=: \"1234\" is not VENDOR:DEVICE");
	EXPECT_ERROR(RULE("Ids=1234:123\n"), 4, "Ids=: \"1234:123\" is not");
	EXPECT_ERROR(RULE("Ids=12345:1234\n"), 4, "Ids=: \"12345:1234\" is not");
	EXPECT_ERROR(RULE("Ids=1234:11e8:1\n"), 4, "Ids=: \"1234:11e8:1\" is not");
	EXPECT_ERROR(RULE("Ids=:1234\n"), 4, "Ids=: \":1234\" is not");
	EXPECT_ERROR(RULE("Ids=**:1234\n"), 4, "Ids=: \"**:1234\" is not");
	EXPECT_ERROR(RULE("Ids=8086:\n"), 4, "Ids=: \"8086:\" is not");
	EXPECT_ERROR(RULE("Ids=0x86:1234\n"), 4, "Ids=: \"0x86:1234\" is not");
}

static void test_classes(void)
{
	EXPECT_ERROR(RULE("Classes=1\n"), 4,
		     "Classes=: \"1\" is not a class prefix of 2, 4 or 6 hex digits");
	EXPECT_ERROR(RULE("Classes=010\n"), 4, "Classes=: \"010\" is not a class prefix");
	EXPECT_ERROR(RULE("Classes=01080\n"), 4, "Classes=: \"01080\" is not");
	EXPECT_ERROR(RULE("Classes=0108021\n"), 4, "Classes=: \"0108021\" is not");
	EXPECT_ERROR(RULE("Classes=zz\n"), 4, "Classes=: \"zz\" is not");
	EXPECT_ERROR(RULE("Classes=0x01\n"), 4, "Classes=: \"0x01\" is not");
}

static void test_iommu_groups(void)
{
	EXPECT_ERROR(ID_RULE("IommuGroups=-1\n"), 4,
		     "IommuGroups=: \"-1\" is not an IOMMU group number");
	EXPECT_ERROR(ID_RULE("IommuGroups=2147483648\n"), 4, "IommuGroups=: \"2147483648\" is not");
	EXPECT_ERROR(ID_RULE("IommuGroups=1a\n"), 4, "IommuGroups=: \"1a\" is not");
	EXPECT_ERROR(ID_RULE("IommuGroups=+3\n"), 4, "IommuGroups=: \"+3\" is not");
	EXPECT_ERROR(ID_RULE("IommuGroups=99999999999999999999999\n"), 4,
		     "IommuGroups=: \"99999999999999999999999\" is not");
}

static void test_subjects(void)
{
	struct passwd *pw = getpwuid(getuid());
	Policy *p;

	/* The current user by name, as well as root. */
	if (pw) {
		_cleanup_free_ char *text = NULL;
		CHECK(asprintf(&text, "[Rule me]\nIommuGroups=1\nUsers=%s root\n", pw->pw_name) >
		      0);
		p = LOAD(text);
		CHECK(p && p->rules[0].n_uids == 2 && p->rules[0].uids[0] == getuid() &&
		      p->rules[0].uids[1] == 0);
		policy_free(p);
	}

	EXPECT_ERROR("[Rule r]\nIommuGroups=1\nUsers=4294967295\n", 3,
		     "Users=: \"4294967295\" is not a numeric uid (0 to 4294967294)");
	EXPECT_ERROR("[Rule r]\nIommuGroups=1\nUsers=99999999999\n", 3,
		     "Users=: \"99999999999\" is not a numeric uid");
	EXPECT_ERROR("[Rule r]\nIommuGroups=1\nUsers=1x\n", 3, "Users=: \"1x\" is not a numeric");
	EXPECT_ERROR("[Rule r]\nIommuGroups=1\nUsers=root vfiod-no-such-user\n", 3,
		     "Users=: no such user \"vfiod-no-such-user\"");
	EXPECT_ERROR("[Rule r]\nIommuGroups=1\nGroups=4294967295\n", 3,
		     "Groups=: \"4294967295\" is not a numeric gid (0 to 4294967294)");
	EXPECT_ERROR("[Rule r]\nIommuGroups=1\nGroups=vfiod-no-such-group\n", 3,
		     "Groups=: no such group \"vfiod-no-such-group\"");
	/* '#' starts a comment only at the beginning of a line. */
	EXPECT_ERROR("[Rule r]\nIommuGroups=1\nUsers=root # admin\n", 3,
		     "Users=: no such user \"#\"");
	/* ';' only after a blank. */
	EXPECT_ERROR("[Rule r]\nIommuGroups=1\nUsers=root;admin\n", 3,
		     "Users=: no such user \"root;admin\"");
}

static void test_options(void)
{
	static const struct {
		const char *value;
		uint64_t bytes;
	} quotas[] = {
	    {"1", 1},
	    {"4096", 4096},
	    {"4K", 4096},
	    {"3M", UINT64_C(3) << 20},
	    {"5G", UINT64_C(5) << 30},
	    {"1T", UINT64_C(1) << 40},
	    {"1024G", UINT64_C(1) << 40},
	    {"1099511627776", UINT64_C(1) << 40},
	};
	static const char *const bad_sizes[] = {"1.5G", "5k",	"K",  "-1",
						"1KB",	"0x10", "G1", "99999999999999999999"};
	static const char *const out_of_range[] = {
	    "0", "0K", "2T", "1025G", "1099511627777", "18446744073709551615", "17179869183G"};
	Policy *p;

	for (size_t i = 0; i < ELEMENTSOF(quotas); i++) {
		_cleanup_free_ char *text = NULL;
		CHECK(asprintf(&text, RULE("DmaQuota=%s\n"), quotas[i].value) > 0);
		p = LOAD(text);
		CHECK(p && p->rules[0].dma_quota == quotas[i].bytes);
		policy_free(p);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad_sizes); i++) {
		_cleanup_free_ char *text = NULL, *part = NULL;
		CHECK(asprintf(&text, RULE("DmaQuota=%s\n"), bad_sizes[i]) > 0);
		CHECK(asprintf(&part, "DmaQuota=: \"%s\" is not a size", bad_sizes[i]) > 0);
		EXPECT_ERROR(text, 4, part);
	}
	for (size_t i = 0; i < ELEMENTSOF(out_of_range); i++) {
		_cleanup_free_ char *text = NULL, *part = NULL;
		CHECK(asprintf(&text, RULE("DmaQuota=%s\n"), out_of_range[i]) > 0);
		CHECK(asprintf(&part, "DmaQuota=: \"%s\" is out of range", out_of_range[i]) > 0);
		EXPECT_ERROR(text, 4, part);
	}
	EXPECT_ERROR(RULE("DmaQuota=1G 2G\n"), 4, "DmaQuota=: \"1G 2G\" is more than one value");

	p = LOAD(RULE("MaxDevices=1\n"));
	CHECK(p && p->rules[0].max_devices == 1);
	policy_free(p);
	EXPECT_ERROR(RULE("MaxDevices=0\n"), 4,
		     "MaxDevices=: \"0\" is not a number from 1 to 1024");
	EXPECT_ERROR(RULE("MaxDevices=1025\n"), 4, "MaxDevices=: \"1025\" is not a number");
	EXPECT_ERROR(RULE("MaxDevices=-1\n"), 4, "MaxDevices=: \"-1\" is not a number");
	EXPECT_ERROR(RULE("MaxDevices=+1\n"), 4, "MaxDevices=: \"+1\" is not a number");
	EXPECT_ERROR(RULE("MaxDevices=two\n"), 4, "MaxDevices=: \"two\" is not a number");
	EXPECT_ERROR(RULE("MaxDevices=1 2\n"), 4, "MaxDevices=: \"1 2\" is more than one value");

	p = LOAD(RULE("DmaModes=container\n"));
	CHECK(p && p->rules[0].dma_modes == DMA_MODE_CONTAINER);
	policy_free(p);
	p = LOAD(RULE("DmaModes=brokered container brokered\n"));
	CHECK(p && p->rules[0].dma_modes == DMA_MODES_ALL);
	policy_free(p);
	EXPECT_ERROR(RULE("DmaModes=container dma\n"), 4,
		     "DmaModes=: \"dma\" is not a DMA mode (container or brokered)");
	EXPECT_ERROR(RULE("DmaModes=Container\n"), 4, "DmaModes=: \"Container\" is not a DMA");

	CHECK(dma_mode_from_string("container") == DMA_MODE_CONTAINER);
	CHECK(dma_mode_from_string("brokered") == DMA_MODE_BROKERED);
	CHECK(dma_mode_from_string("all") == 0);
	CHECK(dma_mode_from_string(NULL) == 0);
	CHECK_STREQ(dma_mode_to_string(DMA_MODE_CONTAINER), "container");
	CHECK_STREQ(dma_mode_to_string(DMA_MODE_BROKERED), "brokered");
	CHECK(!dma_mode_to_string(DMA_MODES_ALL));
}

static void test_structure(void)
{
	Policy *p;

	/* Empty values, also when only a comment follows. */
	EXPECT_ERROR(RULE("Ids=\n"), 4, "Ids=: empty value");
	EXPECT_ERROR(RULE("Classes= ; none\n"), 4, "Classes=: empty value");
	EXPECT_ERROR("[Rule r]\nUsers=\nIommuGroups=1\n", 2, "Users=: empty value");

	/* Every key once per rule. */
	EXPECT_ERROR(RULE("Ids=1234:5678\nIds=1234:5679\n"), 5,
		     "Ids= is already set on line 4 in rule \"r\"");
	EXPECT_ERROR(RULE("MaxDevices=1\n\nMaxDevices=1\n"), 6,
		     "MaxDevices= is already set on line 4");
	EXPECT_ERROR(RULE("Users=1\n"), 4, "Users= is already set on line 2");
	/* ... but per rule. */
	p = LOAD(RULE("MaxDevices=2\n") "[Rule s]\nUsers=0\nIommuGroups=2\nMaxDevices=3\n");
	CHECK(p && p->n_rules == 2 && p->rules[0].max_devices == 2 &&
	      p->rules[1].max_devices == 3 && p->rules[1].line == 5);
	policy_free(p);

	EXPECT_ERROR(RULE("Vendor=8086\n"), 4, "unknown key \"Vendor=\"");
	EXPECT_ERROR(RULE("users=root\n"), 4, "unknown key \"users=\"");
	EXPECT_ERROR(RULE("=root\n"), 4, "no key before \"=\"");
	EXPECT_ERROR(RULE("Ids: 8086:*\n"), 4, "Ids: expected \"Ids=VALUE\"");
	EXPECT_ERROR(RULE("garbage\n"), 4,
		     "expected [Rule NAME], [Manage], [Ignore], KEY=VALUE, or a comment");
	EXPECT_ERROR(RULE("Users root\n"), 4,
		     "expected [Rule NAME], [Manage], [Ignore], KEY=VALUE");

	/* Keys before any section. */
	EXPECT_ERROR(
	    "# policy\nUsers=root\n[Rule r]\nIommuGroups=1\n", 2,
	    "\"Users=\" outside a section; keys belong in a [Rule NAME], [Manage] or [Ignore] "
	    "section");

	/* Sections. */
	EXPECT_ERROR("[Rule]\n", 1, "unknown section \"[Rule]\"; expected [Rule NAME]");
	EXPECT_ERROR("\n[Global]\nUsers=0\n", 2, "unknown section \"[Global]\"");
	EXPECT_ERROR("[rule r]\n", 1, "unknown section \"[rule r]\"");
	EXPECT_ERROR("[ Rule r]\n", 1, "unknown section \"[ Rule r]\"");
	EXPECT_ERROR("[Rule ]\n", 1, "invalid rule name \"\" (use 1 to 64 characters");
	EXPECT_ERROR("[Rule a b]\n", 1, "invalid rule name \"a b\"");
	EXPECT_ERROR("[Rule a/b]\n", 1, "invalid rule name \"a/b\"");
	EXPECT_ERROR("[Rule r ]\n", 1, "invalid rule name \"r \"");
	EXPECT_ERROR("[Rule r\nUsers=0\n", 1, "section header without \"]\"");
	EXPECT_ERROR("[Rule r] x\nUsers=0\n", 1, "unexpected text after \"]\"");
	EXPECT_ERROR("[Rule r]]\nUsers=0\n", 1, "unexpected text after \"]\"");
	EXPECT_ERROR("[Rule r] # c\nUsers=0\n", 1, "unexpected text after \"]\"");
	EXPECT_ERROR(RULE("  [Rule s]\n"), 4, "section header must start at the beginning");
	EXPECT_ERROR("\t[Rule s]\nUsers=0\n", 1, "section header must start at the beginning");

	/* Rule names: 64 characters (longer than inih keeps for a section name), unique. */
	p = LOAD("[Rule "
		 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.]\n"
		 "Users=0\nIommuGroups=1\n");
	CHECK(p && p->n_rules == 1 &&
	      streq(p->rules[0].name,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."));
	policy_free(p);
	EXPECT_ERROR("[Rule abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-]\n",
		     1, "invalid rule name");
	EXPECT_ERROR(RULE("") "\n" RULE(""), 5, "rule \"r\" is already defined at t.conf:1");

	/* Matchers. */
	EXPECT_ERROR("[Rule r]\nUsers=0\nDmaQuota=1G\n[Rule s]\n", 1,
		     "rule \"r\" has no device matcher (it needs Addresses=, Ids=, Classes=, "
		     "IommuGroups=, Compatibles= or MdevTypes=)");
	EXPECT_ERROR("\n[Rule r]\nIds=*:*\n", 2,
		     "rule \"r\" has no subject matcher (it needs Users= or Groups=)");
	/* An empty section, at the end and in the middle. */
	EXPECT_ERROR(RULE("") "[Rule empty]\n", 4, "rule \"empty\" has no device matcher");
	EXPECT_ERROR(RULE("") "[Rule empty]\n; nothing\n" RULE(""), 4,
		     "rule \"empty\" has no device matcher");
	/* The first error counts. */
	EXPECT_ERROR("[Rule r]\nUsers=0\ngarbage\n[Rule s]\n", 3, "expected [Rule NAME]");
	EXPECT_ERROR("[Rule r]\nUsers=0\nIds=x\ngarbage\n", 3, "Ids=: \"x\" is not");
	EXPECT_ERROR("[Rule r]\nUsers=0\nIds=x\n[Rule r]\n", 3, "Ids=: \"x\" is not");
}

static void test_lines(void)
{
	_cleanup_free_ char *text = NULL;
	char line[256];
	Policy *p;

	/* 198 bytes fit inih's 200-byte buffer with '\n' and NUL; 199 would be split. */
	memset(line, 0, sizeof(line));
	memcpy(line, "IommuGroups=1", 13);
	memset(line + 13, ' ', 198 - 13 - 1);
	line[197] = '2';
	CHECK(strlen(line) == 198);
	CHECK(asprintf(&text, "[Rule r]\nUsers=0\n%s\n", line) > 0);
	p = LOAD(text);
	CHECK(p && p->rules[0].devices.n_iommu_groups == 2 &&
	      p->rules[0].devices.iommu_groups[1] == 2);
	policy_free(p);

	free(text);
	line[198] = '3';
	CHECK(asprintf(&text, "[Rule r]\nUsers=0\n%s\n", line) > 0);
	EXPECT_ERROR(text, 3, "line is too long (199 bytes, at most 198");
	/* Also the last line, and a long comment. */
	free(text);
	CHECK(asprintf(&text, "[Rule r]\nUsers=0\n%s", line) > 0);
	EXPECT_ERROR(text, 3, "line is too long");
	free(text);
	line[0] = '#';
	CHECK(asprintf(&text, "\n%s\n", line) > 0);
	EXPECT_ERROR(text, 2, "line is too long");
	/* A long line of CRLF text: the CR counts. */
	free(text);
	line[0] = 'I';
	line[198] = 0;
	CHECK(asprintf(&text, "[Rule r]\r\nUsers=0\r\n%s\r\n", line) > 0);
	EXPECT_ERROR(text, 3, "line is too long (199 bytes");

	/* Lists continue on indented lines; comments and blank lines may come between. */
	p = LOAD("[Rule r]\n"
		 "Users=0\n"
		 "Addresses=0000:00:01.0\n"
		 "  0000:00:02.0 0000:00:03.0\n"
		 "# more\n"
		 "\n"
		 "\t0000:00:04.0\n"
		 "Groups=0\n"
		 "   1\n");
	CHECK(p && strv_length(p->rules[0].devices.addresses) == 4 &&
	      streq(p->rules[0].devices.addresses[3], "0000:00:04.0") && p->rules[0].n_gids == 2);
	policy_free(p);
	/* Inline comments on continuation lines and after section headers. */
	p = LOAD("[Rule r];c\nUsers=0 ; root\n  1 ; one=1\nIds=*:*\n");
	CHECK(p && p->rules[0].n_uids == 2 && p->rules[0].uids[1] == 1);
	policy_free(p);
	EXPECT_ERROR("[Rule r]\nUsers=0 ; root\n  1\n\t2;3\nIds=*:*\n", 4,
		     "Users=: \"2;3\" is not a numeric uid");
	/* A continued DmaModes= still replaces the default. */
	p = LOAD(RULE("DmaModes=brokered\n  brokered\n"));
	CHECK(p && p->rules[0].dma_modes == DMA_MODE_BROKERED);
	policy_free(p);
	EXPECT_ERROR(RULE("Addresses=0000:00:01.0\n  0000:00:02\n"), 5,
		     "Addresses=: \"0000:00:02\" is not a PCI address");
	EXPECT_ERROR(RULE("DmaQuota=1G\n  2G\n"), 5,
		     "DmaQuota= takes a single value; an indented line cannot continue it");
	EXPECT_ERROR(RULE("MaxDevices=1\n  2\n"), 5, "MaxDevices= takes a single value");
	/* What inih would take as a continuation of the key above. */
	EXPECT_ERROR(RULE("  Ids=8086:*\n"), 4,
		     "IommuGroups=: indented line \"Ids=8086:*\" would continue the list of "
		     "IommuGroups=; keys must start at the beginning of the line");
	EXPECT_ERROR("[Rule r]\n  Users=0\n", 2, "indented line, but no list to continue");
	EXPECT_ERROR("  Users=0\n", 1, "indented line, but no list to continue");

	/* A NUL byte cannot come through a C string; files: see test_files(). */
}

static void test_limits(void)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 1 << 20, n = 0;
	Policy *p;

	/* 4096 entries of one key; the 4097th is refused, on its line. */
	text = malloc(size);
	if (!text)
		abort();
	n += (size_t)snprintf(text + n, size - n, "[Rule r]\nUsers=0\nIommuGroups=0\n");
	for (int line = 0; line < 4095 / 64; line++) {
		n += (size_t)snprintf(text + n, size - n, " ");
		for (int i = 0; i < 64; i++)
			n += (size_t)snprintf(text + n, size - n, " 1");
		n += (size_t)snprintf(text + n, size - n, "\n");
	}
	/* 1 + 63 * 64 = 4033 so far; 63 more make 4096. */
	n += (size_t)snprintf(text + n, size - n, " ");
	for (int i = 0; i < 63; i++)
		n += (size_t)snprintf(text + n, size - n, " 2");
	n += (size_t)snprintf(text + n, size - n, "\n");
	p = LOAD(text);
	CHECK(p && p->rules[0].devices.n_iommu_groups == 4096);
	policy_free(p);
	snprintf(text + n, size - n, " 3\n");
	EXPECT_ERROR(text, 3 + 64 + 1, "IommuGroups=: too many entries (at most 4096)");

	/* 1024 rules; the 1025th is refused at its header. */
	n = 0;
	for (int i = 0; i < 1025; i++)
		n += (size_t)snprintf(text + n, size - n, "[Rule r%d]\nUsers=%d\nIds=*:*\n", i, i);
	EXPECT_ERROR(text, 1024 * 3 + 1, "too many rules (at most 1024)");
	text[n - strlen("[Rule r1024]\nUsers=1024\nIds=*:*\n")] = 0;
	p = LOAD(text);
	CHECK(p && p->n_rules == 1024 && streq(p->rules[1023].name, "r1023") &&
	      p->rules[1023].uids[0] == 1023 && p->rules[1023].line == 1023 * 3 + 1);
	policy_free(p);

	/* 1 MiB at most. */
	memset(text, '\n', size - 1);
	text[size - 1] = 0;
	p = LOAD(text);
	CHECK(p && p->n_rules == 0);
	policy_free(p);
	free(text);
	text = malloc(size + 2);
	if (!text)
		abort();
	memset(text, '\n', size + 1);
	text[size + 1] = 0;
	{
		char *error = NULL;
		p = SENTINEL;
		CHECK(policy_load_string(text, "big", &p, &error) == -EFBIG);
		CHECK(p == SENTINEL);
		CHECK_STREQ(error, "big: larger than 1 MiB");
		free(error);
	}
}

static void test_match(void)
{
	static const gid_t supplementary[] = {5, 6, 7};
	PolicyDevice nic = PCI("0000:00:02.0", 0x8086, 0x10d3, 0x020000, 4);
	PolicyDevice nvme = PCI("0000:00:03.0", 0x1b36, 0x0010, 0x010802, 5);
	PolicyDevice other = PCI("0000:00:04.0", 0x1234, 0x11e8, 0x00ff00, -1);
	PolicySubject alice = subject_of(1000, 1000), bob = subject_of(1001, 1001);
	PolicySubject carol = {.uid = 1002, .gid = 1002, supplementary, ELEMENTSOF(supplementary)};
	Policy *p;

	p = LOAD("[Rule alice-nic]\nUsers=1000\nAddresses=0000:00:02.0\nMaxDevices=1\n"
		 "[Rule intel]\nUsers=1000 1001\nIds=8086:*\nMaxDevices=2\n"
		 "[Rule storage]\nGroups=7\nClasses=01\nMaxDevices=3\n"
		 "[Rule group5]\nGroups=1001\nIommuGroups=5\nMaxDevices=4\n"
		 "[Rule any-11e8]\nUsers=1002\nIds=*:11e8\n"
		 "[Rule class-exact]\nGroups=1000\nClasses=00ff00\n");
	if (!p)
		return;
	CHECK(p->n_rules == 6);

	/* First match in order. */
	CHECK_STREQ(find(p, alice, nic), "alice-nic");
	CHECK_STREQ(find(p, bob, nic), "intel");
	/* Supplementary groups (7), the primary group (1001). */
	CHECK_STREQ(find(p, carol, nvme), "storage");
	CHECK_STREQ(find(p, bob, nvme), "group5");
	CHECK(!find(p, alice, nvme));
	CHECK(!find(p, carol, nic));
	/* Vendor wildcard, exact class. */
	CHECK_STREQ(find(p, carol, other), "any-11e8");
	CHECK_STREQ(find(p, alice, other), "class-exact");
	CHECK(!find(p, bob, other));
	/* A prefix matches only its bits: class 0x01 is not class 0x0108xx's 0x08. */
	nvme.class_code = 0x080100;
	CHECK(!find(p, carol, nvme));
	nvme.class_code = 0x01ffff;
	CHECK_STREQ(find(p, carol, nvme), "storage");
	/* No group: no group match; no address: no address match. */
	nvme.class_code = 0;
	nvme.iommu_group = -1;
	CHECK(!find(p, bob, nvme));
	nic.address = NULL;
	CHECK_STREQ(find(p, alice, nic), "intel");
	nic.vendor_id = 0x8087;
	CHECK(!find(p, alice, nic));

	CHECK(!policy_find_rule(NULL, &alice, &nic));
	CHECK(!policy_find_rule(p, NULL, &nic));
	policy_free(p);

	/* An empty policy denies everything. */
	p = LOAD("");
	CHECK(p && !find(p, alice, nic));
	policy_free(p);
	CHECK(!policy_free(NULL));
}

static void test_device_names(void)
{
	Policy *p;

	/* Addresses= takes any device name: PCI address, platform device, mdev UUID. */
	p = LOAD(RULE("Addresses=0000:00:02.0 ff100000.dma soc:gpio-keys alarmtimer.0.auto\n"
		      "  83b8f4f2-509f-382f-3c1e-e6bfe0fa1001\n"));
	CHECK(p && strv_length(p->rules[0].devices.addresses) == 5 &&
	      streq(p->rules[0].devices.addresses[4], "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"));
	policy_free(p);

	EXPECT_ERROR(RULE("Addresses=83B8F4F2-509F-382F-3C1E-E6BFE0FA1001\n"), 4,
		     "Addresses=: \"83B8F4F2-509F-382F-3C1E-E6BFE0FA1001\" is not an mdev UUID "
		     "(lower-case 8-4-4-4-12 hex digits)");
	EXPECT_ERROR(RULE("Addresses=83b8f4f2-509f-382f-3c1e-e6bfe0fa100-\n"), 4,
		     "is not an mdev UUID");
	EXPECT_ERROR(RULE("Addresses=a/b\n"), 4,
		     "Addresses=: \"a/b\" is not a device name (a PCI address DDDD:BB:DD.F, a "
		     "platform device name or an mdev UUID)");
	EXPECT_ERROR(RULE("Addresses=..\n"), 4, "\"..\" is not a device name");
	EXPECT_ERROR(RULE("Addresses=dev*\n"), 4, "\"dev*\" is not a device name");

	/* Compatibles= and MdevTypes=. */
	p = LOAD(RULE("Compatibles=arm,pl330 snps,dw-axi-dmac-1.01a simple-bus\n"
		      "MdevTypes=i915-GVTg_V5_4 nvidia-63 mtty-2\n"));
	CHECK(p && strv_length(p->rules[0].devices.compatibles) == 3 &&
	      streq(p->rules[0].devices.compatibles[1], "snps,dw-axi-dmac-1.01a") &&
	      strv_length(p->rules[0].devices.mdev_types) == 3 &&
	      streq(p->rules[0].devices.mdev_types[0], "i915-GVTg_V5_4"));
	policy_free(p);
	/* Either alone is a device matcher. */
	p = LOAD("[Rule c]\nUsers=0\nCompatibles=arm,pl330\n[Rule m]\nUsers=0\nMdevTypes=mtty-1\n");
	CHECK(p && p->n_rules == 2);
	policy_free(p);
	EXPECT_ERROR(RULE("Compatibles=arm/pl330\n"), 4,
		     "Compatibles=: \"arm/pl330\" is not a device-tree compatible string");
	EXPECT_ERROR(RULE("Compatibles=arm:pl330\n"), 4, "is not a device-tree compatible");
	EXPECT_ERROR(RULE("MdevTypes=i915,GVTg\n"), 4,
		     "MdevTypes=: \"i915,GVTg\" is not an mdev type name");
	{
		char long_name[POLICY_NAME_MAX + 2];
		_cleanup_free_ char *text = NULL;
		memset(long_name, 'a', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = 0;
		CHECK(asprintf(&text, RULE("MdevTypes=%s\n"), long_name) > 0);
		EXPECT_ERROR(text, 4, "is not an mdev type name");
		long_name[POLICY_NAME_MAX] = 0;
		free(text);
		CHECK(asprintf(&text, RULE("MdevTypes=%s\n"), long_name) > 0);
		p = LOAD(text);
		CHECK(p != NULL);
		policy_free(p);
	}
}

static void test_values(void)
{
	static const struct {
		const char *text;
		uint64_t usec;
		const char *formatted;
	} spans[] = {
	    {"0", 0, "0"},
	    {"5", 5 * USEC_PER_SEC, "5s"},
	    {"5s", 5 * USEC_PER_SEC, "5s"},
	    {"500ms", 500 * USEC_PER_MSEC, "500ms"},
	    {"1min", 60 * USEC_PER_SEC, "1min"},
	    {"1min30s", 90 * USEC_PER_SEC, "1min30s"},
	    {"90s", 90 * USEC_PER_SEC, "1min30s"},
	    {"1h2m3s4ms5us", 3723004005, "1h2min3s4ms5us"},
	    {"2hours", 7200 * USEC_PER_SEC, "2h"},
	    {"3sec", 3 * USEC_PER_SEC, "3s"},
	    {"10usec", 10, "10us"},
	    {"1s1s", 2 * USEC_PER_SEC, "2s"},
	};
	static const char *const bad_spans[] = {
	    "",
	    "s",
	    "-1s",
	    "1.5s",
	    "1 s",
	    "1S",
	    "5x",
	    "1min 30s",
	    "30s5",
	    "0x10",
	    "+5s",
	    "5s ",
	    "1d",
	    "1ms-",
	    "ms5",
	    "99999999999999999999s",
	    "18446744073709551615",
	    "5000000000000h",
	};
	char buf[POLICY_VALUE_FORMAT_MAX];
	uint64_t v;

	for (size_t i = 0; i < ELEMENTSOF(spans); i++) {
		v = 12345;
		CHECK(policy_parse_timespan(spans[i].text, &v));
		CHECK(v == spans[i].usec);
		CHECK_STREQ(policy_format_timespan(spans[i].usec, buf), spans[i].formatted);
		/* What is formatted parses back to the same value. */
		CHECK(policy_parse_timespan(buf, &v) && v == spans[i].usec);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad_spans); i++) {
		v = 12345;
		if (policy_parse_timespan(bad_spans[i], &v) || v != 12345) {
			fprintf(stderr, "time span \"%s\" was accepted\n", bad_spans[i]);
			test_failures++;
		}
	}

	CHECK_STREQ(policy_format_size(256 << 20, buf), "256M");
	CHECK_STREQ(policy_format_size(UINT64_C(1) << 40, buf), "1T");
	CHECK_STREQ(policy_format_size(1536, buf), "1536");
	CHECK_STREQ(policy_format_size(3 << 10, buf), "3K");
	CHECK_STREQ(policy_format_size(4097, buf), "4097");
	CHECK_STREQ(policy_format_size(0, buf), "0");

	CHECK(policy_parse_boolean("yes") == 1 && policy_parse_boolean("true") == 1 &&
	      policy_parse_boolean("on") == 1 && policy_parse_boolean("1") == 1);
	CHECK(policy_parse_boolean("no") == 0 && policy_parse_boolean("false") == 0 &&
	      policy_parse_boolean("off") == 0 && policy_parse_boolean("0") == 0);
	CHECK(policy_parse_boolean("Yes") == -EINVAL && policy_parse_boolean("") == -EINVAL &&
	      policy_parse_boolean("2") == -EINVAL && policy_parse_boolean("y") == -EINVAL);

	CHECK(policy_uuid_is_valid("83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"));
	CHECK(!policy_uuid_is_valid("83b8f4f2-509f-382f-3c1e-e6bfe0fa10011"));
	CHECK(!policy_uuid_is_valid("83b8f4f2x509f-382f-3c1e-e6bfe0fa1001"));
}

static void test_new_options(void)
{
	Policy *p;
	const PolicyRule *r;

	/* Defaults. */
	p = LOAD(RULE(""));
	if (!p)
		return;
	r = &p->rules[0];
	CHECK(!r->require_reset && !r->may_rebind && !r->revoke_force);
	CHECK(r->revoke_grace_usec == POLICY_DEFAULT_REVOKE_GRACE_USEC);
	policy_free(p);

	p = LOAD(RULE("RequireReset=yes\nMayRebind=true\nRevokeGraceSec=1min30s\n"
		      "RevokeForce=on\n"));
	if (!p)
		return;
	r = &p->rules[0];
	CHECK(r->require_reset && r->may_rebind && r->revoke_force);
	CHECK(r->revoke_grace_usec == 90 * USEC_PER_SEC);
	policy_free(p);

	p = LOAD(RULE("RequireReset=0\nMayRebind=off\nRevokeGraceSec=0\nRevokeForce=false\n"));
	CHECK(p && !p->rules[0].require_reset && !p->rules[0].may_rebind &&
	      !p->rules[0].revoke_force && p->rules[0].revoke_grace_usec == 0);
	policy_free(p);

	p = LOAD(RULE("RevokeGraceSec=1h\n"));
	CHECK(p && p->rules[0].revoke_grace_usec == POLICY_REVOKE_GRACE_MAX_USEC);
	policy_free(p);
	EXPECT_ERROR(RULE("RevokeGraceSec=1h1us\n"), 4,
		     "RevokeGraceSec=: \"1h1us\" is more than 1h");
	EXPECT_ERROR(RULE("RevokeGraceSec=1.5s\n"), 4,
		     "RevokeGraceSec=: \"1.5s\" is not a time span (e.g. 30s, 500ms, 1min30s; "
		     "no blanks)");
	EXPECT_ERROR(RULE("RevokeGraceSec=1min 30s\n"), 4,
		     "RevokeGraceSec=: \"1min 30s\" is more than one value");
	EXPECT_ERROR(RULE("RevokeGraceSec=5s\n  5s\n"), 5, "RevokeGraceSec= takes a single value");
	EXPECT_ERROR(RULE("RequireReset=maybe\n"), 4,
		     "RequireReset=: \"maybe\" is not a boolean (yes, no, true, false, on, off, "
		     "1 or 0)");
	EXPECT_ERROR(RULE("MayRebind=Yes\n"), 4, "MayRebind=: \"Yes\" is not a boolean");
	EXPECT_ERROR(RULE("RevokeForce=\n"), 4, "RevokeForce=: empty value");
	EXPECT_ERROR(RULE("RevokeForce=yes\nRevokeForce=no\n"), 5,
		     "RevokeForce= is already set on line 4 in rule \"r\"");
	EXPECT_ERROR(RULE("Devices=all\n"), 4,
		     "Devices= does not belong in [Rule] (expected Addresses=, Ids=");
}

static void test_manage(void)
{
	PolicyDevice nic = PCI("0000:00:02.0", 0x8086, 0x10d3, 0x020000, 4);
	PolicyDevice nvme = PCI("0000:00:03.0", 0x1b36, 0x0010, 0x010802, 5);
	PolicyDevice gpu = PCI("0000:00:04.0", 0x10de, 0x1db6, 0x030200, 6);
	PolicySubject root = subject_of(0, 0);
	Policy *p;

	/* The default: exactly what some rule's device matchers match, whoever the subjects. */
	p = LOAD("[Rule nics]\nUsers=1000\nClasses=02\n");
	if (!p)
		return;
	CHECK(p->manage_mode == POLICY_MANAGE_RULES && !p->manage.file && !p->ignore.file);
	CHECK(policy_manages_device(p, &nic));
	CHECK(!policy_manages_device(p, &nvme));
	CHECK(!policy_manages_device(NULL, &nic) && !policy_manages_device(p, NULL));
	policy_free(p);
	p = LOAD("");
	CHECK(p && !policy_manages_device(p, &nic));
	policy_free(p);

	/* [Manage] adds devices; Devices=all manages everything, [Ignore] wins over both. */
	p = LOAD("[Rule nics]\nUsers=1000\nClasses=02\n"
		 "[Manage]\nAddresses=0000:00:03.0\n"
		 "[Ignore]\nIds=8086:10d3\n");
	if (!p)
		return;
	CHECK(p->manage.file && p->manage.line == 4 && p->ignore.line == 6);
	CHECK(!policy_manages_device(p, &nic));
	CHECK(policy_manages_device(p, &nvme));
	CHECK(!policy_manages_device(p, &gpu));
	/* An ignored device is never granted, even by a rule that matches it. */
	CHECK(!find(p, subject_of(1000, 1000), nic));
	nic.device_id = 0x10d4;
	CHECK_STREQ(find(p, subject_of(1000, 1000), nic), "nics");
	nic.device_id = 0x10d3;
	policy_free(p);

	p = LOAD("[Manage]\nDevices=all\n[Ignore]\nAddresses=0000:00:04.0\n");
	CHECK(p && p->manage_mode == POLICY_MANAGE_ALL && policy_manages_device(p, &nic) &&
	      policy_manages_device(p, &nvme) && !policy_manages_device(p, &gpu));
	policy_free(p);

	/* Devices=none: only what [Manage] lists, even if rules match more. */
	p = LOAD("[Rule any]\nUsers=0\nIds=*:*\n[Manage]\nDevices=none\nClasses=0108\n");
	CHECK(p && p->manage_mode == POLICY_MANAGE_NONE && !policy_manages_device(p, &nic) &&
	      policy_manages_device(p, &nvme));
	CHECK(p && !find(p, root, nic));
	CHECK(p && streq_ptr(find(p, root, nvme), "any"));
	policy_free(p);
	p = LOAD("[Manage]\nDevices=none\n");
	CHECK(p && !policy_manages_device(p, &nic));
	policy_free(p);
	p = LOAD("[Manage]\nDevices=rules\n[Rule r]\nUsers=0\nIommuGroups=4\n");
	CHECK(p && policy_manages_device(p, &nic) && !policy_manages_device(p, &nvme));
	policy_free(p);

	/* Errors. */
	EXPECT_ERROR("[Manage]\nDevices=some\n", 2, "Devices=: \"some\" is not rules, all or none");
	EXPECT_ERROR("[Manage]\nDevices=all none\n", 2, "Devices=: \"all none\" is more than one");
	EXPECT_ERROR("\n[Manage]\n; nothing\n", 2,
		     "[Manage] is empty (it needs Devices= or device matchers)");
	EXPECT_ERROR("[Ignore]\n", 1, "[Ignore] is empty (it needs device matchers)");
	EXPECT_ERROR("[Manage]\nDevices=all\n\nIds=8086:*\nClasses=02\n", 4,
		     "[Manage] has Devices=all, which manages every device; device matchers "
		     "would add nothing");
	EXPECT_ERROR("[Manage]\nUsers=0\n", 2,
		     "Users= does not belong in [Manage] (expected Addresses=, Ids=, Classes=, "
		     "IommuGroups=, Compatibles=, MdevTypes= or Devices=)");
	EXPECT_ERROR("[Ignore]\nDevices=all\n", 2,
		     "Devices= does not belong in [Ignore] (expected Addresses=, Ids=, Classes=, "
		     "IommuGroups=, Compatibles= or MdevTypes=)");
	EXPECT_ERROR("[Ignore]\nMaxDevices=1\n", 2, "MaxDevices= does not belong in [Ignore]");
	EXPECT_ERROR("[Ignore]\nVendor=1\n", 2, "unknown key \"Vendor=\" in [Ignore]");
	EXPECT_ERROR("[Manage]\nDevices=all\n[Manage]\nDevices=none\n", 3,
		     "[Manage] is already defined at t.conf:1 (one for all files together)");
	EXPECT_ERROR("[Ignore]\nIds=1:2\n", 2, "Ids=: \"1:2\" is not VENDOR:DEVICE");
	EXPECT_ERROR("[Ignore]\nIds=1234:0001\n[Ignore]\nIds=1234:0002\n", 3,
		     "[Ignore] is already defined at t.conf:1");
	EXPECT_ERROR("[Manage]\nDevices=none\nDevices=all\n", 3,
		     "Devices= is already set on line 2 in [Manage]");
	EXPECT_ERROR("[Manage] x\n", 1, "unexpected text after \"]\"");
	EXPECT_ERROR("[Manage x]\n", 1, "unknown section \"[Manage x]\"");
	EXPECT_ERROR("[manage]\n", 1, "unknown section \"[manage]\"");
}

static void test_conflicts(void)
{
	Policy *p;

	/* Identical matchers: the later rule is dead. */
	EXPECT_ERROR("[Rule a]\nUsers=0\nIds=8086:10d3\n"
		     "[Rule b]\nUsers=0\nIds=8086:10d3\nMaxDevices=1\n",
		     4,
		     "rule \"b\" can never match: rule \"a\" (t.conf:1) comes first and matches "
		     "every device and subject it does");
	/* Broader devices and subjects first. */
	EXPECT_ERROR("[Rule a]\nUsers=0 1000\nGroups=10\nIds=8086:* *:*\nClasses=01\n"
		     "IommuGroups=3 4\nAddresses=0000:00:01.0\nCompatibles=arm,pl330\n"
		     "MdevTypes=mtty-1\n"
		     "[Rule b]\nUsers=1000\nGroups=10\nIds=8086:10d3 *:*\n",
		     10, "rule \"b\" can never match");
	EXPECT_ERROR("[Rule a]\nUsers=0 1000\nGroups=10\nIds=8086:* *:1db6\nClasses=01\n"
		     "[Rule b]\nUsers=1000\nGroups=10\nIds=8086:10d3 10de:1db6\nClasses=0108 "
		     "010802\n",
		     6, "rule \"b\" can never match: rule \"a\"");
	EXPECT_ERROR("[Rule a]\nUsers=0\nIommuGroups=3 4\nAddresses=0000:00:01.0\n"
		     "Compatibles=arm,pl330\nMdevTypes=mtty-1\n"
		     "[Rule b]\nUsers=0\nIommuGroups=4\nAddresses=0000:00:01.0\n"
		     "Compatibles=arm,pl330\nMdevTypes=mtty-1\n",
		     7, "rule \"b\" can never match");
	/* Shadowed by a rule further up than the one before it. */
	EXPECT_ERROR("[Rule a]\nGroups=0\nClasses=02\n[Rule x]\nUsers=5\nClasses=01\n"
		     "[Rule b]\nGroups=0\nClasses=0200\n",
		     7, "rule \"b\" can never match: rule \"a\" (t.conf:1)");

	/* Not shadowed: the later rule matches something the earlier does not. */
	p = LOAD("[Rule a]\nUsers=0\nIds=8086:10d3\n"
		 "[Rule b]\nUsers=0 1\nIds=8086:10d3\n"		/* another user */
		 "[Rule c]\nUsers=0\nIds=8086:10d3 8086:10d4\n" /* another device */
		 "[Rule d]\nUsers=0\nGroups=0\nIds=8086:10d3\n" /* a group */
		 "[Rule e]\nUsers=0\nIds=8086:*\n"		/* a broader pattern */
		 "[Rule f]\nUsers=0\nAddresses=0000:00:01.0\n"	/* another kind */
		 "[Rule g]\nUsers=0\nClasses=02\n[Rule h]\nUsers=0\nClasses=0300\n"
		 "[Rule i]\nGroups=0\nClasses=03\n");
	CHECK(p && p->n_rules == 9);
	policy_free(p);
	/* A narrow rule first and a broad one after is the intended order. */
	p = LOAD("[Rule alice]\nUsers=1000\nIds=8086:10d3\nDmaQuota=16G\n"
		 "[Rule lab]\nUsers=1000 1001\nIds=8086:*\n");
	CHECK(p && p->n_rules == 2);
	policy_free(p);

	/* [Ignore] covering every device of a rule, wherever the rule is. */
	EXPECT_ERROR("[Rule a]\nUsers=0\nIds=8086:10d3\nClasses=0200\n"
		     "[Ignore]\nIds=8086:*\nClasses=02\n",
		     1,
		     "rule \"a\" can never match: [Ignore] (t.conf:5) covers every device it "
		     "matches");
	p = LOAD("[Rule a]\nUsers=0\nIds=8086:10d3 1234:11e8\n[Ignore]\nIds=8086:*\n");
	CHECK(p && p->n_rules == 1);
	policy_free(p);

	/* Devices=none with nothing listed leaves every rule dead. */
	EXPECT_ERROR("[Manage]\nDevices=none\n\n[Rule a]\nUsers=0\nIds=*:*\n", 4,
		     "rule \"a\" can never match: [Manage] (t.conf:1) says Devices=none and "
		     "lists no device");
}

static void test_match_other_devices(void)
{
	char *compat[] = {"vendor,board-dma", "arm,pl330", "arm,primecell", NULL};
	PolicyDevice dma = {.type = POLICY_DEVICE_PLATFORM,
			    .address = "ff100000.dma",
			    .iommu_group = 2,
			    .compatible = compat};
	PolicyDevice vgpu = {.type = POLICY_DEVICE_MDEV,
			     .address = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
			     .iommu_group = 9,
			     .mdev_type = "i915-GVTg_V5_4"};
	PolicyDevice unknown = {.address = "x", .iommu_group = -1};
	PolicySubject root = subject_of(0, 0);
	Policy *p;

	p = LOAD(
	    "[Rule pl330]\nUsers=0\nCompatibles=arm,pl330\n"
	    "[Rule gvt]\nUsers=0\nMdevTypes=i915-GVTg_V5_8 i915-GVTg_V5_4\n"
	    "[Rule named]\nUsers=1\nAddresses=ff100000.dma 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001\n"
	    "[Rule pci-only]\nUsers=2\nIds=*:*\nClasses=00\n");
	if (!p)
		return;
	CHECK_STREQ(find(p, root, dma), "pl330");
	CHECK_STREQ(find(p, root, vgpu), "gvt");
	CHECK_STREQ(find(p, subject_of(1, 1), dma), "named");
	CHECK_STREQ(find(p, subject_of(1, 1), vgpu), "named");
	/* Ids= and Classes= match PCI devices only: ids and class 0 of others do not count. */
	CHECK(!find(p, subject_of(2, 2), dma));
	CHECK(!find(p, subject_of(2, 2), vgpu));
	CHECK(!find(p, subject_of(2, 2), unknown));
	CHECK(!policy_manages_device(p, &unknown));
	/* No compatible list, no mdev type: those matchers do not match. */
	dma.compatible = NULL;
	vgpu.mdev_type = NULL;
	CHECK(!find(p, root, dma));
	CHECK(!find(p, root, vgpu));
	policy_free(p);
}

static void expect_lines_at(int caller, char **lines, const char *const *expected)
{
	size_t i;

	for (i = 0; expected[i]; i++)
		if (!lines || !lines[i] || !streq(lines[i], expected[i])) {
			fprintf(stderr, "test-policy.c:%d: line %zu: \"%s\" != \"%s\"\n", caller, i,
				lines && lines[i] ? lines[i] : "(none)", expected[i]);
			test_failures++;
			return;
		}
	if (lines && lines[i]) {
		fprintf(stderr, "test-policy.c:%d: extra line \"%s\"\n", caller, lines[i]);
		test_failures++;
	}
}
#define EXPECT_LINES(lines, ...)                                                                   \
	expect_lines_at(__LINE__, lines, (const char *const[]){__VA_ARGS__, NULL})

static void test_explain(void)
{
	static const gid_t groups[] = {27, 100};
	PolicyDevice nic = PCI("0000:03:00.0", 0x8086, 0x10fb, 0x020000, 12);
	PolicyDevice gpu = PCI("0000:01:00.0", 0x10de, 0x1db6, 0x030200, 1);
	PolicySubject user = {.uid = 1003, .gid = 1003, groups, ELEMENTSOF(groups)};
	PolicySubject lab = {.uid = 1004, .gid = 1004, (const gid_t[]){50}, 1};
	const PolicyRule *rule = (const PolicyRule *)1;
	char **lines = NULL;
	char *text = NULL;
	Policy *p;

	p = LOAD("[Rule gpu-users]\nGroups=44\nUsers=1000\nClasses=03\n"
		 "[Rule nvme]\nUsers=1003\nAddresses=0000:02:00.0\nIds=1b36:0010\n"
		 "[Rule lab-nics]\nGroups=50\nIds=8086:*\nDmaModes=brokered\nDmaQuota=1G\n"
		 "MaxDevices=2\nRequireReset=yes\nRevokeGraceSec=1min30s\nRevokeForce=yes\n"
		 "[Rule only-users]\nUsers=7\nClasses=02\n"
		 "[Rule only-groups]\nGroups=8\nClasses=0200\n");
	if (!p)
		return;

	CHECK(policy_explain(p, &user, &gpu, &rule, &lines) == 0);
	CHECK(rule == NULL);
	EXPECT_LINES(lines,
		     "rule gpu-users (t.conf:1): uid 1003 (gids 1003 27 100) is not in Users= or "
		     "Groups=",
		     "rule nvme (t.conf:5): the device matches none of Addresses=, Ids=",
		     "rule lab-nics (t.conf:9): the device matches none of Ids=",
		     "rule only-users (t.conf:18): the device matches none of Classes=",
		     "rule only-groups (t.conf:21): the device matches none of Classes=");
	lines = strv_free(lines);

	CHECK(policy_explain(p, &user, &nic, &rule, &lines) == 0);
	CHECK(rule == NULL);
	EXPECT_LINES(lines, "rule gpu-users (t.conf:1): the device matches none of Classes=",
		     "rule nvme (t.conf:5): the device matches none of Addresses=, Ids=",
		     "rule lab-nics (t.conf:9): uid 1003 (gids 1003 27 100) is not in Groups=",
		     "rule only-users (t.conf:18): uid 1003 (gids 1003 27 100) is not in Users=",
		     "rule only-groups (t.conf:21): uid 1003 (gids 1003 27 100) is not in "
		     "Groups=");
	lines = strv_free(lines);

	/* The deciding rule ends the list, and says which entries matched. */
	CHECK(policy_explain(p, &lab, &nic, &rule, &lines) == 0);
	CHECK(rule == &p->rules[2]);
	CHECK(rule == policy_find_rule(p, &lab, &nic));
	EXPECT_LINES(
	    lines, "rule gpu-users (t.conf:1): the device matches none of Classes=",
	    "rule nvme (t.conf:5): the device matches none of Addresses=, Ids=",
	    "rule lab-nics (t.conf:9): allows: device by Ids=8086:*, subject by Groups=50");
	lines = strv_free(lines);
	CHECK(policy_rule_format_options(rule, &text) == 0);
	CHECK_STREQ(text, "DmaModes=brokered DmaQuota=1G MaxDevices=2 RequireReset=yes "
			  "MayRebind=no RevokeGraceSec=1min30s RevokeForce=yes");
	free(text);
	CHECK(policy_rule_format_options(&p->rules[0], &text) == 0);
	CHECK_STREQ(text, "DmaModes=container brokered DmaQuota=256M MaxDevices=8 "
			  "RequireReset=no MayRebind=no RevokeGraceSec=10s RevokeForce=no");
	free(text);

	/* By uid, by class prefix; a subject without groups. */
	lab = (PolicySubject){.uid = 7, .gid = (gid_t)-1};
	CHECK(policy_explain(p, &lab, &nic, &rule, &lines) == 0);
	CHECK(rule == &p->rules[3]);
	CHECK(lines && strv_length(lines) == 4 &&
	      streq(lines[2], "rule lab-nics (t.conf:9): uid 7 (no gids) is not in Groups=") &&
	      streq(lines[3], "rule only-users (t.conf:18): allows: device by Classes=02, subject "
			      "by Users=7"));
	lines = strv_free(lines);
	policy_free(p);

	/* Unmanaged devices: one line saying why. */
	p = LOAD("[Rule nics]\nUsers=0\nClasses=02\n[Ignore]\nAddresses=0000:03:00.0\n");
	if (!p)
		return;
	CHECK(policy_explain(p, &user, &nic, &rule, &lines) == 0);
	CHECK(rule == NULL);
	EXPECT_LINES(lines, "not managed by vfiod: [Ignore] (t.conf:4) lists it by "
			    "Addresses=0000:03:00.0");
	lines = strv_free(lines);
	CHECK(policy_explain(p, &user, &gpu, &rule, &lines) == 0);
	EXPECT_LINES(lines, "not managed by vfiod: no rule's device matchers match it");
	lines = strv_free(lines);
	policy_free(p);
	p = LOAD("[Rule nics]\nUsers=0\nClasses=02\n[Manage]\nDevices=none\nClasses=03\n");
	if (!p)
		return;
	CHECK(policy_explain(p, &user, &nic, &rule, &lines) == 0);
	EXPECT_LINES(lines, "not managed by vfiod: [Manage] (t.conf:4) says Devices=none and does "
			    "not list it");
	lines = strv_free(lines);
	CHECK(policy_explain(p, &user, &gpu, &rule, &lines) == 0);
	EXPECT_LINES(lines, "rule nics (t.conf:1): the device matches none of Classes=");
	lines = strv_free(lines);
	policy_free(p);
	p = LOAD("[Manage]\nDevices=all\n");
	if (!p)
		return;
	CHECK(policy_explain(p, &user, &nic, &rule, &lines) == 0);
	EXPECT_LINES(lines, "the policy has no rules");
	lines = strv_free(lines);
	CHECK(policy_explain(NULL, &user, &nic, &rule, &lines) == -EINVAL);
	policy_free(p);

	/* Formatting devices. */
	CHECK(policy_device_format(&nic, &text) == 0);
	CHECK_STREQ(text, "0000:03:00.0 (PCI 8086:10fb, class 020000, IOMMU group 12)");
	free(text);
	{
		char *compat[] = {"arm,pl330", "arm,primecell", NULL};
		PolicyDevice dma = {.type = POLICY_DEVICE_PLATFORM,
				    .address = "ff100000.dma",
				    .iommu_group = -1,
				    .compatible = compat};
		PolicyDevice vgpu = {.type = POLICY_DEVICE_MDEV,
				     .address = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
				     .iommu_group = 9,
				     .mdev_type = "i915-GVTg_V5_4"};
		CHECK(policy_device_format(&dma, &text) == 0);
		CHECK_STREQ(text, "ff100000.dma (platform, compatible arm,pl330 arm,primecell, no "
				  "IOMMU group)");
		free(text);
		CHECK(policy_device_format(&vgpu, &text) == 0);
		CHECK_STREQ(text, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001 (mdev type i915-GVTg_V5_4, "
				  "IOMMU group 9)");
		free(text);
	}
}

/* The installed vfiod.conf grants nothing; its commented example is valid. */
static void test_shipped_example(void)
{
	const char *path = getenv("POLICY_EXAMPLE");
	_cleanup_free_ char *text = NULL, *example = NULL;
	FILE *f = path ? fopen(path, "re") : NULL;
	size_t n = 0, m = 0;
	Policy *p;

	CHECK(f);
	if (!f)
		return;
	text = calloc(1, 1 << 16);
	example = calloc(1, 1 << 16);
	if (!text || !example)
		abort();
	n = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	CHECK(n > 0);
	p = LOAD(text);
	CHECK(p && p->n_rules == 0 && !p->manage.file && !p->ignore.file);
	policy_free(p);

	/* Uncommented ("#Key=" and "#[Section]" lines), with a group every system has. */
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		if (line[0] == '#' && ((line[1] >= 'A' && line[1] <= 'Z') || line[1] == '['))
			line++, len--;
		if (strncmp(line, "Groups=kvm", 10) == 0) {
			m += (size_t)sprintf(example + m, "Groups=0\n");
		} else {
			memcpy(example + m, line, len);
			m += len;
		}
		line += len;
	}
	p = LOAD(example);
	CHECK(p && p->n_rules == 1 && p->manage.file && p->ignore.file &&
	      p->rules[0].devices.compatibles && p->rules[0].devices.mdev_types &&
	      p->rules[0].revoke_grace_usec == POLICY_DEFAULT_REVOKE_GRACE_USEC);
	policy_free(p);
}

/* ---- files ---- */

static char *tmp_path(const char *dir, const char *name)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s", dir, name) < 0)
		abort();
	return s;
}

/* dir/name in one of a few static buffers, for passing straight to a call. */
static const char *P(const char *dir, const char *name)
{
	static char buf[4][4096];
	static unsigned i;
	char *s = buf[i++ % ELEMENTSOF(buf)];
	if ((size_t)snprintf(s, sizeof(buf[0]), "%s/%s", dir, name) >= sizeof(buf[0]))
		abort();
	return s;
}

static void write_file(const char *dir, const char *name, mode_t mode, const char *text)
{
	_cleanup_free_ char *path = tmp_path(dir, name);
	_cleanup_close_ int fd = -EBADF;
	size_t n = strlen(text);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, n) == (ssize_t)n);
	CHECK(fchmod(fd, mode) == 0);
}

static void remove_file(const char *dir, const char *name)
{
	_cleanup_free_ char *path = tmp_path(dir, name);
	CHECK(unlink(path) == 0 || errno == ENOENT);
}

/* Loads with owner `me`; on failure returns r and sets *error. */
static int load_files(const char *config, const char *dir, Policy **ret, char **error)
{
	return policy_load_full(config, dir, me, ret, error);
}

static void expect_file_error_at(int caller, const char *config, const char *dir, uid_t owner,
				 int r_expected, const char *expected)
{
	_cleanup_free_ char *error = NULL;
	Policy *p = SENTINEL;
	int r;

	r = policy_load_full(config, dir, owner, &p, &error);
	if (r != r_expected || p != SENTINEL || !has_prefix(error, expected)) {
		fprintf(stderr,
			"test-policy.c:%d: expected r=%d \"%s...\", got r=%d \"%s\" (ret %s)\n",
			caller, r_expected, expected, r, error ?: "(null)",
			p == SENTINEL ? "untouched" : "WRITTEN");
		test_failures++;
		if (r == 0 && p != SENTINEL)
			policy_free(p);
	}
}
#define EXPECT_FILE_ERROR(config, dir, owner, r, expected)                                         \
	expect_file_error_at(__LINE__, config, dir, owner, r, expected)

static void test_files(void)
{
	const char *tmpdir = getenv("TMPDIR");
	_cleanup_free_ char *root = NULL, *config = NULL, *dropins = NULL, *expected = NULL;
	_cleanup_free_ char *missing = NULL;
	char *error = NULL;
	Policy *p;
	int r;

	CHECK(asprintf(&root, "%s/test-policy.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp") > 0);
	if (!mkdtemp(root)) {
		CHECK(!"mkdtemp");
		return;
	}
	config = tmp_path(root, "vfiod.conf");
	dropins = tmp_path(root, "policy.d");
	missing = tmp_path(root, "missing");

	/* Nothing there: an empty policy, which denies. */
	p = SENTINEL;
	CHECK(load_files(config, dropins, &p, &error) == 0);
	CHECK(p && p != SENTINEL && p->n_rules == 0 && !error);
	policy_free(p);
	p = SENTINEL;
	CHECK(policy_load(config, dropins, &p, &error) == 0);
	CHECK(p && p != SENTINEL && p->n_rules == 0 && !error);
	policy_free(p);
	p = SENTINEL;
	CHECK(load_files(NULL, NULL, &p, &error) == 0);
	CHECK(p && p != SENTINEL && p->n_rules == 0);
	policy_free(p);

	/* vfiod.conf, then drop-ins sorted by name; other names are ignored. */
	CHECK(mkdir(dropins, 0755) == 0);
	CHECK(chmod(dropins, 0755) == 0);
	write_file(root, "vfiod.conf", 0644, "# main\n[Rule main]\nUsers=1000\nIds=8086:*\n");
	write_file(dropins, "20-b.conf", 0644,
		   "[Rule b]\nUsers=1000 1001\nIds=*:*\n[Rule b2]\nGroups=0\nIds=*:*\n");
	write_file(dropins, "10-a.conf", 0600, "\n[Rule a]\nUsers=1001\nClasses=01\n");
	write_file(dropins, "2-c.conf", 0644, "[Rule c]\nUsers=1001\nIommuGroups=9\n");
	write_file(dropins, "empty.conf", 0644, "");
	write_file(dropins, "README", 0644, "not a policy");
	write_file(dropins, "30-x.conf.disabled", 0644, "garbage");
	write_file(dropins, ".hidden.conf", 0644, "garbage");
	write_file(dropins, ".conf", 0644, "garbage");
	CHECK(mkdir(P(dropins, "subdir"), 0755) == 0 || errno == EEXIST);

	p = SENTINEL;
	r = load_files(config, dropins, &p, &error);
	CHECK(r == 0);
	if (r < 0) {
		fprintf(stderr, "error: %s\n", error);
		free(error);
		error = NULL;
	} else {
		PolicyDevice nvme = PCI("0000:00:03.0", 0x1b36, 0x0010, 0x010802, 9);
		PolicyDevice nic = PCI("0000:00:02.0", 0x8086, 0x10d3, 0x020000, 4);
		_cleanup_free_ char *file_a = tmp_path(dropins, "10-a.conf");
		_cleanup_free_ char *file_b = tmp_path(dropins, "20-b.conf");

		CHECK(p->n_rules == 5);
		if (p->n_rules == 5) {
			CHECK_STREQ(p->rules[0].name, "main");
			CHECK_STREQ(p->rules[1].name, "a");
			CHECK_STREQ(p->rules[2].name, "c");
			CHECK_STREQ(p->rules[3].name, "b");
			CHECK_STREQ(p->rules[4].name, "b2");
			CHECK_STREQ(p->rules[0].file, config);
			CHECK(p->rules[0].line == 2);
			CHECK_STREQ(p->rules[1].file, file_a);
			CHECK(p->rules[1].line == 2);
			CHECK_STREQ(p->rules[4].file, file_b);
			CHECK(p->rules[4].line == 4);
		}
		/* First match across files. */
		CHECK_STREQ(find(p, subject_of(1000, 1000), nic), "main");
		CHECK_STREQ(find(p, subject_of(1000, 1000), nvme), "b");
		CHECK_STREQ(find(p, subject_of(1001, 1001), nvme), "a");
		CHECK_STREQ(find(p, subject_of(1001, 1001), nic), "b");
		CHECK_STREQ(find(p, subject_of(2000, 0), nic), "b2");
		CHECK(!find(p, subject_of(2000, 2000), nic));
		policy_free(p);
	}

	/* Drop-ins without vfiod.conf; a trailing '/' on the directory. */
	CHECK(rename(config, missing) == 0);
	{
		_cleanup_free_ char *slash = NULL, *file_a = tmp_path(dropins, "10-a.conf");
		CHECK(asprintf(&slash, "%s/", dropins) > 0);
		p = SENTINEL;
		CHECK(load_files(config, slash, &p, &error) == 0);
		CHECK(p != SENTINEL && p->n_rules == 4 && streq(p->rules[0].name, "a") &&
		      streq(p->rules[0].file, file_a));
		if (p != SENTINEL)
			policy_free(p);
	}
	CHECK(rename(missing, config) == 0);

	/* A rule name defined twice, in two files: the later one is the error. */
	write_file(dropins, "15-dup.conf", 0644, "# dup\n\n[Rule main]\nUsers=0\nIds=*:*\n");
	CHECK(asprintf(&expected, "%s/15-dup.conf:3: rule \"main\" is already defined at %s:2",
		       dropins, config) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EINVAL, expected);
	remove_file(dropins, "15-dup.conf");

	/* A rule shadowed by one in an earlier file; [Manage] in two files. */
	write_file(dropins, "15-shadow.conf", 0644,
		   "\n[Rule intel-nic]\nUsers=1000\nIds=8086:10d3\n");
	free(expected);
	CHECK(asprintf(&expected,
		       "%s/15-shadow.conf:2: rule \"intel-nic\" can never match: rule \"main\" "
		       "(%s:2) comes first",
		       dropins, config) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EINVAL, expected);
	remove_file(dropins, "15-shadow.conf");
	write_file(dropins, "15-manage.conf", 0644, "[Manage]\nDevices=rules\n");
	write_file(dropins, "16-manage.conf", 0644,
		   "[Ignore]\nIommuGroups=99\n[Manage]\nDevices=all\n");
	free(expected);
	CHECK(asprintf(&expected,
		       "%s/16-manage.conf:3: [Manage] is already defined at %s/15-manage.conf:1",
		       dropins, dropins) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EINVAL, expected);
	remove_file(dropins, "16-manage.conf");
	p = SENTINEL;
	CHECK(load_files(config, dropins, &p, &error) == 0 && p != SENTINEL);
	if (p != SENTINEL) {
		_cleanup_free_ char *file = tmp_path(dropins, "15-manage.conf");
		CHECK(streq_ptr(p->manage.file, file) && p->manage.line == 1);
		policy_free(p);
	}
	remove_file(dropins, "15-manage.conf");

	/* Errors name the drop-in and its line. */
	write_file(dropins, "15-bad.conf", 0644, "[Rule bad]\nUsers=0\nIds=12g4:11e8\n");
	free(expected);
	CHECK(asprintf(&expected,
		       "%s/15-bad.conf:3: Ids=: \"12g4:11e8\" is not VENDOR:DEVICE in hex (use * "
		       "for any)",
		       dropins) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EINVAL, expected);
	remove_file(dropins, "15-bad.conf");

	/* A rule cannot span files. */
	write_file(dropins, "15-half.conf", 0644, "[Rule half]\nUsers=0\n");
	write_file(dropins, "16-half.conf", 0644, "IommuGroups=1\n");
	free(expected);
	CHECK(asprintf(&expected, "%s/15-half.conf:1: rule \"half\" has no device matcher",
		       dropins) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EINVAL, expected);
	remove_file(dropins, "15-half.conf");
	free(expected);
	CHECK(asprintf(&expected, "%s/16-half.conf:1: \"IommuGroups=\" outside a section",
		       dropins) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EINVAL, expected);
	remove_file(dropins, "16-half.conf");

	/* Ownership and modes: of the main file, of drop-ins, of the directory. */
	free(expected);
	CHECK(asprintf(&expected, "%s: refusing to read: owned by uid %u, not %u", config,
		       (unsigned)me, (unsigned)me + 1) > 0);
	EXPECT_FILE_ERROR(config, dropins, me + 1, -EPERM, expected);
	CHECK(chmod(config, 0664) == 0);
	free(expected);
	CHECK(asprintf(&expected, "%s: refusing to read: writable by group (mode 0664)", config) >
	      0);
	EXPECT_FILE_ERROR(config, dropins, me, -EPERM, expected);
	CHECK(chmod(config, 0646) == 0);
	free(expected);
	CHECK(asprintf(&expected, "%s: refusing to read: writable by others (mode 0646)", config) >
	      0);
	EXPECT_FILE_ERROR(config, dropins, me, -EPERM, expected);
	CHECK(chmod(config, 0400) == 0);
	p = SENTINEL;
	CHECK(load_files(config, dropins, &p, &error) == 0 && p != SENTINEL);
	if (p != SENTINEL)
		policy_free(p);
	CHECK(chmod(config, 0644) == 0);

	CHECK(chmod(P(dropins, "2-c.conf"), 0620) == 0);
	free(expected);
	CHECK(asprintf(&expected, "%s/2-c.conf: refusing to read: writable by group", dropins) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EPERM, expected);
	CHECK(chmod(P(dropins, "2-c.conf"), 0644) == 0);

	CHECK(chmod(dropins, 0777) == 0);
	free(expected);
	CHECK(asprintf(&expected, "%s: refusing to read: writable by others (mode 0777)", dropins) >
	      0);
	EXPECT_FILE_ERROR(config, dropins, me, -EPERM, expected);
	CHECK(chmod(dropins, 0755) == 0);
	/* The owner check covers the directory as well; with no vfiod.conf it comes first. */
	free(expected);
	CHECK(asprintf(&expected, "%s: refusing to read: owned by uid %u, not %u", dropins,
		       (unsigned)me, (unsigned)me + 1) > 0);
	EXPECT_FILE_ERROR(NULL, dropins, me + 1, -EPERM, expected);

	/* Not regular files, symbolic links. */
	CHECK(mkdir(P(dropins, "40-dir.conf"), 0755) == 0);
	free(expected);
	CHECK(asprintf(&expected, "%s/40-dir.conf: refusing to read: not a regular file", dropins) >
	      0);
	EXPECT_FILE_ERROR(config, dropins, me, -EINVAL, expected);
	CHECK(rmdir(P(dropins, "40-dir.conf")) == 0);

	CHECK(mkfifo(P(dropins, "40-fifo.conf"), 0644) == 0);
	free(expected);
	CHECK(asprintf(&expected, "%s/40-fifo.conf: refusing to read: not a regular file",
		       dropins) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EINVAL, expected);
	remove_file(dropins, "40-fifo.conf");

	CHECK(symlink(config, P(dropins, "40-link.conf")) == 0);
	free(expected);
	CHECK(asprintf(&expected, "%s/40-link.conf: refusing to read: is a symbolic link",
		       dropins) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -ELOOP, expected);
	remove_file(dropins, "40-link.conf");

	/* The main file given as a directory; the drop-in directory given as a file. */
	free(expected);
	CHECK(asprintf(&expected, "%s: refusing to read: not a regular file", dropins) > 0);
	EXPECT_FILE_ERROR(dropins, NULL, me, -EINVAL, expected);
	free(expected);
	CHECK(asprintf(&expected, "%s: cannot open directory: ", config) > 0);
	EXPECT_FILE_ERROR(NULL, config, me, -ENOTDIR, expected);

	/* NUL bytes; the size limit. */
	{
		_cleanup_close_ int fd =
		    open(P(dropins, "50-nul.conf"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		CHECK(fd >= 0 && write(fd, "# x\n\n[Rule\0]\n", 13) == 13);
	}
	free(expected);
	CHECK(asprintf(&expected, "%s/50-nul.conf:3: NUL byte", dropins) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EINVAL, expected);
	remove_file(dropins, "50-nul.conf");
	{
		_cleanup_close_ int fd =
		    open(P(dropins, "50-big.conf"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		CHECK(fd >= 0 && ftruncate(fd, (1 << 20) + 1) == 0);
	}
	free(expected);
	CHECK(asprintf(&expected, "%s/50-big.conf: larger than 1 MiB", dropins) > 0);
	EXPECT_FILE_ERROR(config, dropins, me, -EFBIG, expected);
	{
		/* Exactly 1 MiB is fine (blank lines). */
		_cleanup_close_ int fd =
		    open(P(dropins, "50-big.conf"), O_WRONLY | O_CLOEXEC | O_TRUNC);
		char *blank = malloc(1 << 20);
		if (!blank)
			abort();
		memset(blank, '\n', 1 << 20);
		CHECK(fd >= 0 && write(fd, blank, 1 << 20) == 1 << 20);
		free(blank);
	}
	p = SENTINEL;
	CHECK(load_files(config, dropins, &p, &error) == 0 && p != SENTINEL && p->n_rules == 5);
	if (p != SENTINEL)
		policy_free(p);
	remove_file(dropins, "50-big.conf");

	/* Clean up. */
	{
		static const char *const names[] = {
		    "20-b.conf", "10-a.conf",	       "2-c.conf",     "empty.conf",
		    "README",	 "30-x.conf.disabled", ".hidden.conf", ".conf"};
		for (size_t i = 0; i < ELEMENTSOF(names); i++)
			remove_file(dropins, names[i]);
		CHECK(rmdir(P(dropins, "subdir")) == 0);
		CHECK(rmdir(dropins) == 0);
		remove_file(root, "vfiod.conf");
		CHECK(rmdir(root) == 0);
	}
}

int main(void)
{
	me = getuid();

	test_good_rule();
	test_addresses();
	test_ids();
	test_classes();
	test_iommu_groups();
	test_subjects();
	test_options();
	test_structure();
	test_lines();
	test_limits();
	test_match();
	test_device_names();
	test_values();
	test_new_options();
	test_manage();
	test_conflicts();
	test_match_other_devices();
	test_explain();
	test_shipped_example();
	test_files();
	return test_exit();
}
