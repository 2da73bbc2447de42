/* SPDX-License-Identifier: MIT */
/*
 * The audit trail: every claim, authorization denial, release and revocation
 * as one journal entry with structured fields (see AUDIT in vfiod(8)), plus
 * the same line on stderr. Strings a client could choose are escaped.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-id128.h>

#include "manager.h"

/* Generated once with systemd-id128 new; admins filter on them: journalctl MESSAGE_ID=... */
#define AUDIT_MESSAGE_CLAIM                                                                        \
	SD_ID128_MAKE_STR(2d, db, 09, 48, a0, a8, 4f, df, be, 06, 86, 6f, 1c, 53, 38, 42)
#define AUDIT_MESSAGE_DENIED                                                                       \
	SD_ID128_MAKE_STR(e4, 89, 74, 86, 8b, bb, 49, 1c, 82, 23, ae, f2, 05, 17, 30, 15)
#define AUDIT_MESSAGE_RELEASE                                                                      \
	SD_ID128_MAKE_STR(f7, ef, ff, 87, 46, db, 40, 28, 9f, 87, f2, b9, 8c, 6b, fc, ca)
#define AUDIT_MESSAGE_REVOKE                                                                       \
	SD_ID128_MAKE_STR(70, 4b, ce, 60, 4a, 38, 4f, 4a, b5, e5, c6, ad, 3c, 15, 3f, 56)
#define AUDIT_MESSAGE_KILL                                                                         \
	SD_ID128_MAKE_STR(57, 4c, f4, 8d, db, ed, 45, 08, 81, 05, 73, a8, 3c, 9b, c1, b3)
#define AUDIT_MESSAGE_MANAGE_DENIED                                                                \
	SD_ID128_MAKE_STR(a1, 11, 2e, 00, 61, f9, 49, 5b, b5, 8c, e2, 58, 29, 27, 41, c1)

#define AUDIT_MESSAGE_REBIND                                                                       \
	SD_ID128_MAKE_STR(e9, bb, 76, 04, ae, 82, 41, 9e, b7, 33, d9, 7c, e3, f1, 1d, 6d)
#define AUDIT_MESSAGE_RESTORE                                                                      \
	SD_ID128_MAKE_STR(53, c4, 76, ac, 9b, 54, 40, cc, 83, b4, ba, c2, 3d, f0, 16, fd)
#define AUDIT_MESSAGE_REBIND_FAILED                                                                \
	SD_ID128_MAKE_STR(7e, cc, 77, 11, 47, 10, 49, bf, bf, 83, 30, f1, e0, 07, 8a, 3e)

typedef enum AuditEvent {
	AUDIT_CLAIM,	     /* a device was granted (one entry per device of a claim) */
	AUDIT_DENIED,	     /* a claim was refused by the policy or by polkit */
	AUDIT_RELEASE,	     /* a claim ended: released, or its client went away */
	AUDIT_REVOKE,	     /* vfiod asks for a claim back, or ends it (unbind, hot-unplug) */
	AUDIT_KILL,	     /* a holder kept a revoked claim past its grace period: killed */
	AUDIT_MANAGE_DENIED, /* Reload, Bind or Unbind refused */
	AUDIT_REBIND,	     /* a device moved to vfio-pci (for a claim, or Bind) */
	AUDIT_RESTORE,	     /* a device moved off vfio-pci (after a claim, or Unbind) */
	AUDIT_REBIND_FAILED, /* a move failed (and was rolled back, or says why not) */
	_AUDIT_EVENT_MAX,
} AuditEvent;

/* Room for a 64-byte string escaped at 4 bytes per byte, plus "..." and NUL. */
#define AUDIT_ESCAPED_MAX 260u

/*
 * Copies s into buf (size bytes) with every byte that is not printable
 * ASCII, and '\' and '"', written as \xHH; cut short with "..." when it does
 * not fit. NULL becomes "-". Returns buf.
 */
char *audit_escape(const char *s, char *buf, size_t size);

/*
 * Records one event. device may be a client's string (escaped here), NULL for
 * none; claim_id 0 for none; decision says what decided ("rule NAME
 * (FILE:LINE)", "polkit: yes", ...); detail is free text from the daemon,
 * or NULL. Never fails: a missing journal leaves the stderr line.
 */
void audit_log(AuditEvent event, const Client *client, const char *device, uint64_t claim_id,
	       const char *decision, const char *detail);
