/* SPDX-License-Identifier: MIT */
#include "policy-value.h"

#include <inttypes.h>
#include <stdio.h>

#include "pci-address.h"
#include "policy.h"
#include "util.h"

bool policy_parse_hex(const char *s, size_t n, uint32_t *ret)
{
	uint32_t v = 0;

	if (n > 8 || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d = unhexchar(s[i]);
		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*ret = v;
	return true;
}

bool policy_parse_decimal(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return true;
}

bool policy_parse_size(const char *s, uint64_t *ret)
{
	static const char suffixes[] = "KMGT";
	char digits[32];
	size_t n = strlen(s);
	unsigned shift = 0;
	const char *suffix;
	uint64_t v;

	if (n == 0 || n >= sizeof(digits))
		return false;
	memcpy(digits, s, n + 1);
	if (n > 1 && (suffix = strchr(suffixes, s[n - 1]))) {
		shift = 10 * (unsigned)(suffix - suffixes + 1);
		digits[n - 1] = 0;
	}
	if (!policy_parse_decimal(digits, UINT64_MAX >> shift, &v))
		return false;
	*ret = v << shift;
	return true;
}

static const struct {
	const char *name;
	uint64_t usec;
} time_units[] = {
    {"us", 1},
    {"usec", 1},
    {"ms", USEC_PER_MSEC},
    {"msec", USEC_PER_MSEC},
    {"s", USEC_PER_SEC},
    {"sec", USEC_PER_SEC},
    {"second", USEC_PER_SEC},
    {"seconds", USEC_PER_SEC},
    {"m", 60 * USEC_PER_SEC},
    {"min", 60 * USEC_PER_SEC},
    {"minute", 60 * USEC_PER_SEC},
    {"minutes", 60 * USEC_PER_SEC},
    {"h", 3600 * USEC_PER_SEC},
    {"hr", 3600 * USEC_PER_SEC},
    {"hour", 3600 * USEC_PER_SEC},
    {"hours", 3600 * USEC_PER_SEC},
};

bool policy_parse_timespan(const char *s, uint64_t *ret_usec)
{
	uint64_t total = 0;
	const char *p = s;

	if (!*s)
		return false;
	while (*p) {
		const char *digits = p, *unit;
		uint64_t v = 0, scale = 0;
		size_t n;

		for (; *p >= '0' && *p <= '9'; p++) {
			if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
				return false;
			v = v * 10 + (uint64_t)(*p - '0');
		}
		if (p == digits)
			return false;
		unit = p;
		while (*p >= 'a' && *p <= 'z')
			p++;
		n = (size_t)(p - unit);
		if (n == 0) {
			/* A bare number is seconds, and only on its own. */
			if (digits != s || *p)
				return false;
			scale = USEC_PER_SEC;
		}
		for (size_t i = 0; n > 0 && i < ELEMENTSOF(time_units); i++)
			if (strlen(time_units[i].name) == n &&
			    memcmp(time_units[i].name, unit, n) == 0)
				scale = time_units[i].usec;
		if (scale == 0 || v > UINT64_MAX / scale || total > UINT64_MAX - v * scale)
			return false;
		total += v * scale;
	}
	*ret_usec = total;
	return true;
}

int policy_parse_boolean(const char *s)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (streq(s, yes[i]))
			return 1;
		if (streq(s, no[i]))
			return 0;
	}
	return -EINVAL;
}

char *policy_format_size(uint64_t bytes, char buf[static POLICY_VALUE_FORMAT_MAX])
{
	static const char suffixes[] = "TGMK";

	for (unsigned i = 0; i < 4; i++) {
		unsigned shift = 10 * (4 - i);
		if (bytes > 0 && bytes % (UINT64_C(1) << shift) == 0) {
			snprintf(buf, POLICY_VALUE_FORMAT_MAX, "%" PRIu64 "%c", bytes >> shift,
				 suffixes[i]);
			return buf;
		}
	}
	snprintf(buf, POLICY_VALUE_FORMAT_MAX, "%" PRIu64, bytes);
	return buf;
}

char *policy_format_timespan(uint64_t usec, char buf[static POLICY_VALUE_FORMAT_MAX])
{
	static const struct {
		const char *name;
		uint64_t usec;
	} parts[] = {
	    {"h", 3600 * USEC_PER_SEC},
	    {"min", 60 * USEC_PER_SEC},
	    {"s", USEC_PER_SEC},
	    {"ms", USEC_PER_MSEC},
	    {"us", 1},
	};
	size_t n = 0;

	if (usec == 0) {
		snprintf(buf, POLICY_VALUE_FORMAT_MAX, "0");
		return buf;
	}
	buf[0] = 0;
	for (size_t i = 0; i < ELEMENTSOF(parts) && usec > 0; i++) {
		uint64_t v = usec / parts[i].usec;
		if (v == 0)
			continue;
		usec -= v * parts[i].usec;
		n += (size_t)snprintf(buf + n, POLICY_VALUE_FORMAT_MAX - n, "%" PRIu64 "%s", v,
				      parts[i].name);
	}
	return buf;
}

bool policy_uuid_is_valid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool all_chars_in(const char *s, const char *set)
{
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

static bool name_is_valid(const char *s, const char *extra)
{
	size_t n = strlen(s);

	if (n < 1 || n > POLICY_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

const char *policy_device_name_invalid_reason(const char *s)
{
	if (pci_address_is_valid(s) || policy_uuid_is_valid(s))
		return NULL;
	/* A near miss of an address or a UUID is a typo, not a platform device. */
	if (strchr(s, ':') && all_chars_in(s, "0123456789abcdefABCDEF:.,"))
		return "is not a PCI address DDDD:BB:DD.F (lower-case hex)";
	if (strlen(s) == 36 && strchr(s, '-') && all_chars_in(s, "0123456789abcdefABCDEF-"))
		return "is not an mdev UUID (lower-case 8-4-4-4-12 hex digits)";
	if (!name_is_valid(s, "_.:,@+-") || streq(s, ".") || streq(s, ".."))
		return "is not a device name (a PCI address DDDD:BB:DD.F, a platform device name "
		       "or an mdev UUID)";
	return NULL;
}

bool policy_compatible_is_valid(const char *s)
{
	return name_is_valid(s, ",._+-");
}

bool policy_mdev_type_is_valid(const char *s)
{
	return name_is_valid(s, "_.:+-");
}
