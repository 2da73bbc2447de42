/* SPDX-License-Identifier: MIT */
#include "claim-record.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CLAIM_RECORD_HEADER "vfiod-claim-record 1"

int claim_record_format(const ClaimRecord *r, char buf[static CLAIM_RECORD_SIZE])
{
	size_t n;
	int k;

	memset(buf, 0, CLAIM_RECORD_SIZE);
	if (r->n_devices > CLAIM_MAX_DEVICES || r->n_moves > CLAIM_RECORD_MAX_MOVES)
		return -E2BIG;
	k = snprintf(buf, CLAIM_RECORD_SIZE,
		     CLAIM_RECORD_HEADER "\n"
					 "id=%" PRIu64 "\n"
					 "uid=%u\n"
					 "gid=%u\n"
					 "pid=%d\n"
					 "dma-mode=%s\n"
					 "dma-quota=%" PRIu64 "\n"
					 "dma-mapped=%" PRIu64 "\n"
					 "revoke-grace-usec=%" PRIu64 "\n"
					 "revoke-force=%s\n",
		     r->id, (unsigned)r->uid, (unsigned)r->gid, (int)r->pid,
		     dma_mode_to_string(r->dma_mode), r->dma_quota, r->dma_mapped,
		     r->revoke_grace_usec, r->revoke_force ? "yes" : "no");
	if (k < 0 || (size_t)k >= CLAIM_RECORD_SIZE)
		return -E2BIG;
	n = k;
	for (size_t i = 0; i < r->n_devices + r->n_moves; i++) {
		if (i < r->n_devices)
			k = snprintf(buf + n, CLAIM_RECORD_SIZE - n, "device=%s %d %d\n",
				     r->devices[i].address, r->devices[i].group,
				     r->devices[i].irq_index);
		else {
			const ClaimRecordMove *mv = r->moves + (i - r->n_devices);

			k = snprintf(buf + n, CLAIM_RECORD_SIZE - n, "moved=%s %d %s\n",
				     mv->address, mv->group, mv->driver[0] ? mv->driver : "-");
		}
		if (k < 0 || (size_t)k >= CLAIM_RECORD_SIZE - n) {
			memset(buf, 0, CLAIM_RECORD_SIZE);
			return -E2BIG;
		}
		n += k;
	}
	return 0;
}

/* A decimal number in [0, max]: digits only, no sign, no leading zero. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*ret = v;
	return true;
}

static int bad(const char **reason, const char *why)
{
	*reason = why;
	return -EBADMSG;
}

/*
 * "ADDRESS GROUP REST", single spaces, as device= and moved= lines start:
 * checks ADDRESS (copied to address) and GROUP, points *ret_rest at REST.
 */
static int parse_address_group(char *value, char address[static PCI_ADDRESS_MAX], int *ret_group,
			       char **ret_rest, const char **reason)
{
	char *group = strchr(value, ' '), *rest = group ? strchr(group + 1, ' ') : NULL;
	uint64_t v;

	if (!rest)
		return bad(reason, "malformed device line");
	*group++ = '\0';
	*rest++ = '\0';
	if (!pci_address_is_valid(value))
		return bad(reason, "bad device address");
	if (!parse_u64(group, INT_MAX, &v))
		return bad(reason, "bad IOMMU group");
	snprintf(address, PCI_ADDRESS_MAX, "%s", value);
	*ret_group = (int)v;
	*ret_rest = rest;
	return 0;
}

/* "ADDRESS GROUP IRQ-INDEX". */
static int parse_device(char *value, ClaimRecord *r, const char **reason)
{
	ClaimRecordDevice *d;
	uint64_t v;
	char *irq;
	int k;

	if (r->n_devices >= CLAIM_MAX_DEVICES)
		return bad(reason, "too many devices");
	d = r->devices + r->n_devices;
	k = parse_address_group(value, d->address, &d->group, &irq, reason);
	if (k < 0)
		return k;
	if (streq(irq, "-1"))
		d->irq_index = -1;
	else if (parse_u64(irq, VFIO_PCI_NUM_IRQS - 1, &v))
		d->irq_index = (int)v;
	else
		return bad(reason, "bad IRQ index");
	for (size_t i = 0; i < r->n_devices; i++)
		if (streq(r->devices[i].address, d->address))
			return bad(reason, "device named twice");
	r->n_devices++;
	return 0;
}

/* A kernel driver name: 1..CLAIM_RECORD_DRIVER_MAX-1 of [A-Za-z0-9_.+-], not "-". */
static bool driver_name_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CLAIM_RECORD_DRIVER_MAX || streq(s, "-"))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-") == n;
}

/* "ADDRESS GROUP DRIVER"; DRIVER "-" when it had none. */
static int parse_move(char *value, ClaimRecord *r, const char **reason)
{
	ClaimRecordMove *mv;
	char *driver;
	int k;

	if (r->n_moves >= CLAIM_RECORD_MAX_MOVES)
		return bad(reason, "too many moved devices");
	mv = r->moves + r->n_moves;
	k = parse_address_group(value, mv->address, &mv->group, &driver, reason);
	if (k < 0)
		return k;
	if (!streq(driver, "-") && !driver_name_is_valid(driver))
		return bad(reason, "bad driver name");
	for (size_t i = 0; i < r->n_moves; i++)
		if (streq(r->moves[i].address, mv->address))
			return bad(reason, "moved device named twice");
	snprintf(mv->driver, sizeof(mv->driver), "%s", streq(driver, "-") ? "" : driver);
	r->n_moves++;
	return 0;
}

enum {
	SEEN_ID = 1 << 0,
	SEEN_UID = 1 << 1,
	SEEN_GID = 1 << 2,
	SEEN_PID = 1 << 3,
	SEEN_DMA_MODE = 1 << 4,
	SEEN_DMA_QUOTA = 1 << 5,
	SEEN_DMA_MAPPED = 1 << 6,
	SEEN_GRACE = 1 << 7,
	SEEN_FORCE = 1 << 8,
	SEEN_ALL = (1 << 9) - 1,
};

static int parse_line(char *line, ClaimRecord *r, unsigned *seen, const char **reason)
{
	char *value = strchr(line, '=');
	unsigned bit;
	uint64_t v = 0;
	bool ok;

	if (!value)
		return bad(reason, "line without '='");
	*value++ = '\0';
	if (streq(line, "device"))
		return parse_device(value, r, reason);
	if (streq(line, "moved"))
		return parse_move(value, r, reason);

	if (streq(line, "id")) {
		bit = SEEN_ID;
		ok = parse_u64(value, UINT64_MAX, &r->id) && r->id > 0;
	} else if (streq(line, "uid")) {
		bit = SEEN_UID;
		ok = parse_u64(value, UINT32_MAX - 1, &v);
		r->uid = (uid_t)v;
	} else if (streq(line, "gid")) {
		bit = SEEN_GID;
		ok = parse_u64(value, UINT32_MAX, &v);
		r->gid = (gid_t)v;
	} else if (streq(line, "pid")) {
		bit = SEEN_PID;
		ok = parse_u64(value, INT_MAX, &v) && v > 0;
		r->pid = (pid_t)v;
	} else if (streq(line, "dma-mode")) {
		bit = SEEN_DMA_MODE;
		r->dma_mode = dma_mode_from_string(value);
		ok = r->dma_mode != 0;
	} else if (streq(line, "dma-quota")) {
		bit = SEEN_DMA_QUOTA;
		ok = parse_u64(value, UINT64_MAX, &r->dma_quota);
	} else if (streq(line, "dma-mapped")) {
		bit = SEEN_DMA_MAPPED;
		ok = parse_u64(value, UINT64_MAX, &r->dma_mapped);
	} else if (streq(line, "revoke-grace-usec")) {
		bit = SEEN_GRACE;
		ok = parse_u64(value, UINT64_MAX, &r->revoke_grace_usec);
	} else if (streq(line, "revoke-force")) {
		bit = SEEN_FORCE;
		ok = streq(value, "yes") || streq(value, "no");
		r->revoke_force = streq(value, "yes");
	} else
		return bad(reason, "unknown key");
	if (*seen & bit)
		return bad(reason, "key given twice");
	if (!ok)
		return bad(reason, "value out of range");
	*seen |= bit;
	return 0;
}

int claim_record_parse(const char *buf, size_t size, ClaimRecord *ret, const char **ret_reason)
{
	char text[CLAIM_RECORD_SIZE], *line, *next;
	const char *reason = NULL;
	unsigned seen = 0;
	size_t len;
	int r;

	*ret = (ClaimRecord){0};
	if (size != CLAIM_RECORD_SIZE) {
		reason = "wrong size";
		goto bad;
	}
	len = strnlen(buf, size);
	for (size_t i = len; i < size; i++)
		if (buf[i] != '\0') {
			reason = "data after the end";
			goto bad;
		}
	if (len == 0 || len >= sizeof(text) || buf[len - 1] != '\n') {
		reason = "not newline-terminated text";
		goto bad;
	}
	memcpy(text, buf, len);
	text[len] = '\0';

	line = text;
	next = strchr(line, '\n');
	*next++ = '\0';
	if (!streq(line, CLAIM_RECORD_HEADER)) {
		reason = "unknown header";
		goto bad;
	}
	for (line = next; *line; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		r = parse_line(line, ret, &seen, &reason);
		if (r < 0)
			goto bad;
	}
	if (seen != SEEN_ALL) {
		reason = "a key is missing";
		goto bad;
	}
	if (ret->n_devices == 0) {
		reason = "no device";
		goto bad;
	}
	return 0;
bad:
	*ret = (ClaimRecord){0};
	if (ret_reason)
		*ret_reason = reason;
	return -EBADMSG;
}
