/* SPDX-License-Identifier: MIT */
/*
 * The matching primitives shared by the loader (conflict checks), the
 * decisions and the explanations. Internal to the policy library.
 */
#pragma once

#include "policy.h"

void policy_device_match_done(PolicyDeviceMatch *m);
bool policy_device_match_is_empty(const PolicyDeviceMatch *m);

/*
 * Whether m matches device d. When it does and `what` is not NULL, writes the
 * entry that matched there, as a setting ("Ids=8086:*"), cut to `size`.
 */
bool policy_device_match_find(const PolicyDeviceMatch *m, const PolicyDevice *d, char *what,
			      size_t size);

/* Whether the rule's Users= or Groups= match s; `what` as above ("Groups=27"). */
bool policy_rule_match_subject(const PolicyRule *rule, const PolicySubject *s, char *what,
			       size_t size);

/*
 * Whether every entry of b is covered by an entry of a for the same key: an
 * equal address, group, compatible or mdev type; an Ids= pattern equal to the
 * entry or with * where it has a value; a Classes= prefix that the entry
 * starts with. Then every device b matches, a matches too. (The converse does
 * not hold: an address b lists may be covered by a's Ids= without this
 * knowing, since that depends on the device.)
 */
bool policy_device_match_covers(const PolicyDeviceMatch *a, const PolicyDeviceMatch *b);

/*
 * Whether `later` can never match because `earlier` does first: earlier's
 * device matchers cover later's, and every uid and gid later lists, earlier
 * lists too.
 */
bool policy_rule_shadows(const PolicyRule *earlier, const PolicyRule *later);

/*
 * Whether the policy manages d; when `why` is not NULL, writes the reason
 * there in either case ("[Ignore] (FILE:LINE) lists it by Addresses=...").
 */
bool policy_manage_decide(const Policy *p, const PolicyDevice *d, char *why, size_t size);
