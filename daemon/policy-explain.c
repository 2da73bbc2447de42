/* SPDX-License-Identifier: MIT */
/* Saying in words what the policy decides and why, for vfioctl policy check and the logs. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "policy-match.h"
#include "policy-value.h"
#include "util.h"

/* Supplementary gids named in a message; more are summarised. */
#define EXPLAIN_GIDS_MAX 16

typedef struct Lines {
	char **lines;
	size_t n, allocated;
} Lines;

_printf_(2, 3) static int lines_add(Lines *l, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int k;

	if (l->n + 2 > l->allocated) {
		size_t n = l->allocated ? l->allocated * 2 : 8;
		char **a = realloc(l->lines, n * sizeof(char *));
		if (!a)
			return -ENOMEM;
		l->lines = a;
		l->allocated = n;
	}
	va_start(ap, fmt);
	k = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	l->lines[l->n++] = s;
	l->lines[l->n] = NULL;
	return 0;
}

/* snprintf() at *n, never moving *n past the end of buf. */
_printf_(4, 5) static void append(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n >= size)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *n, size - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = *n + (size_t)k < size ? *n + (size_t)k : size - 1;
}

/* "uid 1003 (gids 1003 27)" */
static int subject_format(const PolicySubject *s, char **ret)
{
	char buf[64 + 11 * (EXPLAIN_GIDS_MAX + 1)];
	const char *sep = "gids ";
	size_t n = 0;

	append(buf, sizeof(buf), &n, "uid %u (", (unsigned)s->uid);
	if (s->gid != (gid_t)-1) {
		append(buf, sizeof(buf), &n, "%s%u", sep, (unsigned)s->gid);
		sep = " ";
	}
	for (size_t i = 0; i < s->n_supplementary_gids; i++) {
		if (s->supplementary_gids[i] == s->gid)
			continue;
		if (i == EXPLAIN_GIDS_MAX) {
			append(buf, sizeof(buf), &n, " and %zu more", s->n_supplementary_gids - i);
			break;
		}
		append(buf, sizeof(buf), &n, "%s%u", sep, (unsigned)s->supplementary_gids[i]);
		sep = " ";
	}
	append(buf, sizeof(buf), &n, "%s)", streq(sep, "gids ") ? "no gids" : "");
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

/* "Addresses=, Ids=": the device matcher keys m has. */
static void device_keys_format(const PolicyDeviceMatch *m, char *buf, size_t size)
{
	const struct {
		const char *name;
		bool set;
	} keys[] = {
	    {"Addresses=", m->addresses},     {"Ids=", m->n_ids > 0},
	    {"Classes=", m->n_classes > 0},   {"IommuGroups=", m->n_iommu_groups > 0},
	    {"Compatibles=", m->compatibles}, {"MdevTypes=", m->mdev_types},
	};
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (keys[i].set)
			append(buf, size, &n, "%s%s", n ? ", " : "", keys[i].name);
}

int policy_explain(const Policy *p, const PolicySubject *subject, const PolicyDevice *device,
		   const PolicyRule **ret_rule, char ***ret_lines)
{
	_cleanup_free_ char *who = NULL;
	const PolicyRule *decided = NULL;
	Lines l = {};
	char why[512];
	int r = 0;

	if (!p || !subject || !device || !ret_rule || !ret_lines)
		return -EINVAL;

	if (!policy_manage_decide(p, device, why, sizeof(why))) {
		r = lines_add(&l, "not managed by vfiod: %s", why);
		goto done;
	}
	r = subject_format(subject, &who);
	if (r < 0)
		goto done;

	for (size_t i = 0; i < p->n_rules && r >= 0 && !decided; i++) {
		const PolicyRule *rule = &p->rules[i];
		char by_device[POLICY_NAME_MAX + 32], by_subject[64];

		if (!policy_device_match_find(&rule->devices, device, by_device,
					      sizeof(by_device))) {
			device_keys_format(&rule->devices, why, sizeof(why));
			r = lines_add(&l, "rule %s (%s:%u): the device matches none of %s",
				      rule->name, rule->file, rule->line, why);
		} else if (!policy_rule_match_subject(rule, subject, by_subject,
						      sizeof(by_subject)))
			r = lines_add(&l, "rule %s (%s:%u): %s is not in %s", rule->name,
				      rule->file, rule->line, who,
				      rule->n_uids && rule->n_gids ? "Users= or Groups="
				      : rule->n_uids		   ? "Users="
								   : "Groups=");
		else {
			r = lines_add(&l, "rule %s (%s:%u): allows: device by %s, subject by %s",
				      rule->name, rule->file, rule->line, by_device, by_subject);
			decided = rule;
		}
	}
	if (r >= 0 && p->n_rules == 0)
		r = lines_add(&l, "the policy has no rules");
done:
	if (r < 0) {
		strv_free(l.lines);
		return r;
	}
	if (!l.lines) {
		l.lines = calloc(1, sizeof(char *));
		if (!l.lines)
			return -ENOMEM;
	}
	*ret_rule = decided;
	*ret_lines = l.lines;
	return 0;
}

int policy_rule_format_options(const PolicyRule *rule, char **ret)
{
	char quota[POLICY_VALUE_FORMAT_MAX], grace[POLICY_VALUE_FORMAT_MAX];
	int k;

	k = asprintf(ret,
		     "DmaModes=%s%s%s DmaQuota=%s MaxDevices=%u RequireReset=%s MayRebind=%s "
		     "RevokeGraceSec=%s RevokeForce=%s",
		     rule->dma_modes & DMA_MODE_CONTAINER ? "container" : "",
		     rule->dma_modes == DMA_MODES_ALL ? " " : "",
		     rule->dma_modes & DMA_MODE_BROKERED ? "brokered" : "",
		     policy_format_size(rule->dma_quota, quota), rule->max_devices,
		     rule->require_reset ? "yes" : "no", rule->may_rebind ? "yes" : "no",
		     policy_format_timespan(rule->revoke_grace_usec, grace),
		     rule->revoke_force ? "yes" : "no");
	if (k < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

int policy_device_format(const PolicyDevice *d, char **ret)
{
	char what[64 + 2 * POLICY_NAME_MAX], group[32];
	size_t n = 0;
	int k;

	switch (d->type) {
	case POLICY_DEVICE_PCI:
		snprintf(what, sizeof(what), "PCI %04x:%04x, class %06x", d->vendor_id,
			 d->device_id, d->class_code);
		break;
	case POLICY_DEVICE_PLATFORM:
		append(what, sizeof(what), &n, "platform");
		for (size_t i = 0; d->compatible && d->compatible[i]; i++)
			append(what, sizeof(what), &n, "%s%s", i == 0 ? ", compatible " : " ",
			       d->compatible[i]);
		break;
	case POLICY_DEVICE_MDEV:
		snprintf(what, sizeof(what), "mdev type %s", d->mdev_type ?: "?");
		break;
	default:
		snprintf(what, sizeof(what), "unknown type");
		break;
	}
	if (d->iommu_group >= 0)
		snprintf(group, sizeof(group), "IOMMU group %d", d->iommu_group);
	else
		snprintf(group, sizeof(group), "no IOMMU group");
	k = asprintf(ret, "%s (%s, %s)", d->address ?: "(unnamed)", what, group);
	if (k < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}
