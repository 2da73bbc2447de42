/* SPDX-License-Identifier: MIT */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "client.h"
#include "log.h"

static const struct {
	const char *message_id;
	int priority;
	const char *what;
	const char *to; /* "Granted DEVICE to uid=...", "Rebound DEVICE for uid=..." */
} audit_events[_AUDIT_EVENT_MAX] = {
    [AUDIT_CLAIM] = {AUDIT_MESSAGE_CLAIM, LOG_INFO, "Granted", "to"},
    [AUDIT_DENIED] = {AUDIT_MESSAGE_DENIED, LOG_NOTICE, "Denied", "to"},
    [AUDIT_RELEASE] = {AUDIT_MESSAGE_RELEASE, LOG_INFO, "Released", "to"},
    [AUDIT_REVOKE] = {AUDIT_MESSAGE_REVOKE, LOG_NOTICE, "Revoked", "to"},
    [AUDIT_KILL] = {AUDIT_MESSAGE_KILL, LOG_WARNING, "Revoked by force", "to"},
    [AUDIT_MANAGE_DENIED] = {AUDIT_MESSAGE_MANAGE_DENIED, LOG_NOTICE, "Refused management", "to"},
    [AUDIT_REBIND] = {AUDIT_MESSAGE_REBIND, LOG_NOTICE, "Rebound", "for"},
    [AUDIT_RESTORE] = {AUDIT_MESSAGE_RESTORE, LOG_NOTICE, "Restored", "for"},
    [AUDIT_REBIND_FAILED] = {AUDIT_MESSAGE_REBIND_FAILED, LOG_WARNING, "Failed to rebind", "for"},
};

char *audit_escape(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (size == 0)
		return buf;
	if (!s)
		s = "-";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool plain = ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"';
		size_t need = plain ? 1 : 4;

		/* Keep room for "..." and the NUL whenever more may follow. */
		if (o + need + 4 > size) {
			if (o + 4 <= size)
				memcpy(buf + o, "...", 3), o += 3;
			break;
		}
		if (plain)
			buf[o++] = (char)ch;
		else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

/* stderr reaches the journal by itself when systemd says so; then the entry is enough. */
static bool stderr_is_journal(void)
{
	return getenv("JOURNAL_STREAM") != NULL;
}

void audit_log(AuditEvent event, const Client *client, const char *device, uint64_t claim_id,
	       const char *decision, const char *detail)
{
	char dev[AUDIT_ESCAPED_MAX], dec[AUDIT_ESCAPED_MAX], unit[AUDIT_ESCAPED_MAX],
	    claim[32] = "";
	int r;

	if (event < 0 || event >= _AUDIT_EVENT_MAX)
		return;
	audit_escape(device, dev, sizeof(dev));
	audit_escape(decision, dec, sizeof(dec));
	audit_escape(client ? client->unit : NULL, unit, sizeof(unit));
	if (claim_id > 0)
		snprintf(claim, sizeof(claim), " (claim %" PRIu64 ")", claim_id);

	r = sd_journal_send("MESSAGE=%s %s %s uid=%u pid=%d%s: %s%s%s", audit_events[event].what,
			    dev, audit_events[event].to, client ? (unsigned)client->uid : 0u,
			    client ? (int)client->pid : 0, claim, dec, detail ? ": " : "",
			    detail ?: "", "MESSAGE_ID=%s", audit_events[event].message_id,
			    "PRIORITY=%i", audit_events[event].priority, "DEVICE=%s", dev,
			    "VFIOD_CLAIM=%" PRIu64, claim_id, "VFIOD_CLIENT_UID=%u",
			    client ? (unsigned)client->uid : 0u, "VFIOD_CLIENT_PID=%d",
			    client ? (int)client->pid : 0, "VFIOD_CLIENT_UNIT=%s", unit,
			    "VFIOD_DECISION=%s", dec, NULL);
	if (r >= 0 && stderr_is_journal())
		return;
	log_full_errno(audit_events[event].priority, 0, "%s %s %s %s%s: %s%s%s",
		       audit_events[event].what, dev, audit_events[event].to,
		       client ? client->label : "?", claim, dec, detail ? ": " : "", detail ?: "");
}
