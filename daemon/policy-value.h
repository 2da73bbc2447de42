/* SPDX-License-Identifier: MIT */
/*
 * The value syntaxes of the policy files (vfiod.conf(5)), parsed strictly:
 * the whole string or nothing, no signs, no blanks, no base prefixes, no
 * overflow. The parsers return false (or -EINVAL) on anything else and write
 * *ret only on success. The formatters write what the parsers read back.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exactly n hex digits of either case. */
bool policy_parse_hex(const char *s, size_t n, uint32_t *ret);

/* Decimal digits only, value <= max. */
bool policy_parse_decimal(const char *s, uint64_t max, uint64_t *ret);

/* Bytes, or a number followed by K, M, G or T (upper case, powers of 1024); no range check. */
bool policy_parse_size(const char *s, uint64_t *ret);

/*
 * A time span in the manner of systemd, without blanks: one or more
 * NUMBER UNIT pairs ("1min30s", "500ms"), units us/usec, ms/msec,
 * s/sec/second/seconds, m/min/minute/minutes, h/hr/hour/hours; or a bare
 * number of seconds ("5"). *ret_usec is in microseconds; no range check.
 */
bool policy_parse_timespan(const char *s, uint64_t *ret_usec);

/* yes/no, true/false, on/off, 1/0 (lower case): 1 or 0; -EINVAL otherwise. */
int policy_parse_boolean(const char *s);

/* Big enough for any formatted size or time span. */
#define POLICY_VALUE_FORMAT_MAX 64

/* "256M" when the size is a whole number of K/M/G/T, else bytes; returns buf. */
char *policy_format_size(uint64_t bytes, char buf[static POLICY_VALUE_FORMAT_MAX]);

/* "1h2min3s", "500ms", "0"; returns buf. */
char *policy_format_timespan(uint64_t usec, char buf[static POLICY_VALUE_FORMAT_MAX]);

/* A lower-case UUID as sysfs names mdev devices: 8-4-4-4-12 hex digits. */
bool policy_uuid_is_valid(const char *s);

/* Why a word is not a device name for Addresses=, or NULL when it is one. */
const char *policy_device_name_invalid_reason(const char *s);

/* A DT compatible string: 1 to POLICY_NAME_MAX characters from A-Z a-z 0-9 , . _ + - */
bool policy_compatible_is_valid(const char *s);

/* An mdev type name: 1 to POLICY_NAME_MAX characters from A-Z a-z 0-9 _ . : + - */
bool policy_mdev_type_is_valid(const char *s);
