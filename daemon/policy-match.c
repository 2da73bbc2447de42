/* SPDX-License-Identifier: MIT */
/* Deciding with the policy: which devices vfiod manages, which rule grants a claim. */
#include <stdarg.h>
#include <stdio.h>

#include "policy-match.h"
#include "util.h"

void policy_device_match_done(PolicyDeviceMatch *m)
{
	strv_free(m->addresses);
	free(m->ids);
	free(m->classes);
	free(m->iommu_groups);
	strv_free(m->compatibles);
	strv_free(m->mdev_types);
	*m = (PolicyDeviceMatch){};
}

bool policy_device_match_is_empty(const PolicyDeviceMatch *m)
{
	return !m->addresses && m->n_ids == 0 && m->n_classes == 0 && m->n_iommu_groups == 0 &&
	       !m->compatibles && !m->mdev_types;
}

static bool id_matches(const PciIdMatch *m, uint32_t vendor, uint32_t device)
{
	return (m->vendor_id == POLICY_ID_ANY || m->vendor_id == vendor) &&
	       (m->device_id == POLICY_ID_ANY || m->device_id == device);
}

static void format_id_part(char buf[5], uint32_t v)
{
	if (v == POLICY_ID_ANY)
		snprintf(buf, 5, "*");
	else
		snprintf(buf, 5, "%04x", (unsigned)(v & 0xffff));
}

static void format_class(char buf[7], const ClassMatch *m)
{
	unsigned digits = m->mask == 0xff0000 ? 2 : m->mask == 0xffff00 ? 4 : 6;
	snprintf(buf, 7, "%0*x", (int)digits, (m->value & 0xffffff) >> (4 * (6 - digits)));
}

_printf_(3, 4) static bool found(char *what, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (what && size > 0) {
		va_start(ap, fmt);
		vsnprintf(what, size, fmt, ap);
		va_end(ap);
	}
	return true;
}

bool policy_device_match_find(const PolicyDeviceMatch *m, const PolicyDevice *d, char *what,
			      size_t size)
{
	if (d->address && strv_contains(m->addresses, d->address))
		return found(what, size, "Addresses=%s", d->address);
	if (d->type == POLICY_DEVICE_PCI) {
		for (size_t i = 0; i < m->n_ids; i++)
			if (id_matches(&m->ids[i], d->vendor_id, d->device_id)) {
				char v[5], dev[5];
				format_id_part(v, m->ids[i].vendor_id);
				format_id_part(dev, m->ids[i].device_id);
				return found(what, size, "Ids=%s:%s", v, dev);
			}
		for (size_t i = 0; i < m->n_classes; i++)
			if ((d->class_code & m->classes[i].mask) == m->classes[i].value) {
				char c[7];
				format_class(c, &m->classes[i]);
				return found(what, size, "Classes=%s", c);
			}
	}
	for (size_t i = 0; d->iommu_group >= 0 && i < m->n_iommu_groups; i++)
		if (m->iommu_groups[i] == d->iommu_group)
			return found(what, size, "IommuGroups=%d", d->iommu_group);
	for (size_t i = 0; d->compatible && m->compatibles && m->compatibles[i]; i++)
		if (strv_contains(d->compatible, m->compatibles[i]))
			return found(what, size, "Compatibles=%s", m->compatibles[i]);
	if (d->mdev_type && strv_contains(m->mdev_types, d->mdev_type))
		return found(what, size, "MdevTypes=%s", d->mdev_type);
	return false;
}

static bool gid_listed(const PolicyRule *rule, gid_t gid)
{
	for (size_t i = 0; i < rule->n_gids; i++)
		if (rule->gids[i] == gid)
			return true;
	return false;
}

static bool uid_listed(const PolicyRule *rule, uid_t uid)
{
	for (size_t i = 0; i < rule->n_uids; i++)
		if (rule->uids[i] == uid)
			return true;
	return false;
}

bool policy_rule_match_subject(const PolicyRule *rule, const PolicySubject *s, char *what,
			       size_t size)
{
	if (uid_listed(rule, s->uid))
		return found(what, size, "Users=%u", (unsigned)s->uid);
	/* (gid_t) -1 is never listed: the parser refuses it. */
	if (gid_listed(rule, s->gid))
		return found(what, size, "Groups=%u", (unsigned)s->gid);
	for (size_t i = 0; i < s->n_supplementary_gids; i++)
		if (gid_listed(rule, s->supplementary_gids[i]))
			return found(what, size, "Groups=%u", (unsigned)s->supplementary_gids[i]);
	return false;
}

static bool strv_covers(char *const *a, char *const *b)
{
	for (size_t i = 0; b && b[i]; i++)
		if (!strv_contains(a, b[i]))
			return false;
	return true;
}

bool policy_device_match_covers(const PolicyDeviceMatch *a, const PolicyDeviceMatch *b)
{
	if (!strv_covers(a->addresses, b->addresses) ||
	    !strv_covers(a->compatibles, b->compatibles) ||
	    !strv_covers(a->mdev_types, b->mdev_types))
		return false;
	for (size_t j = 0; j < b->n_ids; j++) {
		const PciIdMatch *e = &b->ids[j];
		bool covered = false;
		/* A pattern covers an entry when it matches everything the entry matches. */
		for (size_t i = 0; i < a->n_ids && !covered; i++)
			covered = (a->ids[i].vendor_id == POLICY_ID_ANY ||
				   a->ids[i].vendor_id == e->vendor_id) &&
				  (a->ids[i].device_id == POLICY_ID_ANY ||
				   a->ids[i].device_id == e->device_id);
		if (!covered)
			return false;
	}
	for (size_t j = 0; j < b->n_classes; j++) {
		const ClassMatch *e = &b->classes[j];
		bool covered = false;
		for (size_t i = 0; i < a->n_classes && !covered; i++)
			covered = (e->mask & a->classes[i].mask) == a->classes[i].mask &&
				  (e->value & a->classes[i].mask) == a->classes[i].value;
		if (!covered)
			return false;
	}
	for (size_t j = 0; j < b->n_iommu_groups; j++) {
		bool covered = false;
		for (size_t i = 0; i < a->n_iommu_groups && !covered; i++)
			covered = a->iommu_groups[i] == b->iommu_groups[j];
		if (!covered)
			return false;
	}
	return true;
}

bool policy_rule_shadows(const PolicyRule *earlier, const PolicyRule *later)
{
	if (!policy_device_match_covers(&earlier->devices, &later->devices))
		return false;
	for (size_t i = 0; i < later->n_uids; i++)
		if (!uid_listed(earlier, later->uids[i]))
			return false;
	for (size_t i = 0; i < later->n_gids; i++)
		if (!gid_listed(earlier, later->gids[i]))
			return false;
	return true;
}

bool policy_manage_decide(const Policy *p, const PolicyDevice *d, char *why, size_t size)
{
	char what[POLICY_NAME_MAX + 32];

	if (p->ignore.file && policy_device_match_find(&p->ignore.devices, d, what, sizeof(what))) {
		found(why, size, "[Ignore] (%s:%u) lists it by %s", p->ignore.file, p->ignore.line,
		      what);
		return false;
	}
	if (p->manage_mode == POLICY_MANAGE_ALL)
		return found(why, size, "[Manage] (%s:%u) says Devices=all", p->manage.file,
			     p->manage.line);
	if (p->manage.file && policy_device_match_find(&p->manage.devices, d, what, sizeof(what)))
		return found(why, size, "[Manage] (%s:%u) lists it by %s", p->manage.file,
			     p->manage.line, what);
	if (p->manage_mode == POLICY_MANAGE_NONE) {
		found(why, size, "[Manage] (%s:%u) says Devices=none and does not list it",
		      p->manage.file, p->manage.line);
		return false;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		if (policy_device_match_find(&p->rules[i].devices, d, what, sizeof(what)))
			return found(why, size, "rule \"%s\" (%s:%u) can grant it by %s",
				     p->rules[i].name, p->rules[i].file, p->rules[i].line, what);
	found(why, size, "no rule's device matchers match it%s",
	      p->manage.file ? ", and [Manage] does not list it" : "");
	return false;
}

bool policy_manages_device(const Policy *p, const PolicyDevice *device)
{
	if (!p || !device)
		return false;
	return policy_manage_decide(p, device, NULL, 0);
}

const PolicyRule *policy_find_rule(const Policy *p, const PolicySubject *subject,
				   const PolicyDevice *device)
{
	if (!p || !subject || !device || !policy_manages_device(p, device))
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++)
		if (policy_device_match_find(&p->rules[i].devices, device, NULL, 0) &&
		    policy_rule_match_subject(&p->rules[i], subject, NULL, 0))
			return &p->rules[i];
	return NULL;
}
