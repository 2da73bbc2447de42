/* SPDX-License-Identifier: MIT */
/*
 * The static policy: vfiod.conf and policy.d/ *.conf, INI files parsed with
 * libinih. The format is documented in vfiod.conf(5).
 *
 * inih does the tokenising (comments, KEY=VALUE splitting, inline "; comment"
 * stripping); we feed it one line at a time through our own reader, which
 * lets us see every raw line and work around what inih would otherwise do
 * silently:
 *  - inih splits a line longer than its buffer (INI_MAX_LINE, 200 bytes in
 *    Debian's build) into pieces and parses the rest as a new line; the reader
 *    refuses such a line instead.
 *  - inih truncates section names to 49 characters, ignores text after "]",
 *    and never calls the handler for a section without keys; the reader parses
 *    section headers itself, so a [Rule NAME] is seen even when empty.
 *  - with INI_ALLOW_MULTILINE (Debian: on) an indented line continues the
 *    previous key, even when it looks like "Key=value" or "[Section]"; we
 *    allow that only for list keys and refuse indented keys and headers.
 *
 * Once every file is read, the policy as a whole is checked for rules that
 * can never match (policy_check_conflicts() below).
 */
#include "policy.h"

#include <ctype.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>

#include "policy-match.h"
#include "policy-parser.h"
#include "policy-value.h"
#include "util.h"

#define RULE_NAME_MAX 64

typedef enum SectionType {
	SECTION_NONE,
	SECTION_RULE,
	SECTION_MANAGE,
	SECTION_IGNORE,
} SectionType;

#define IN_RULE	   (1u << SECTION_RULE)
#define IN_MANAGE  (1u << SECTION_MANAGE)
#define IN_IGNORE  (1u << SECTION_IGNORE)
#define IN_MATCHER (IN_RULE | IN_MANAGE | IN_IGNORE)

typedef enum PolicyKey {
	KEY_ADDRESSES,
	KEY_IDS,
	KEY_CLASSES,
	KEY_IOMMU_GROUPS,
	KEY_COMPATIBLES,
	KEY_MDEV_TYPES,
	KEY_USERS,
	KEY_GROUPS,
	KEY_DMA_MODES,
	KEY_DMA_QUOTA,
	KEY_MAX_DEVICES,
	KEY_REQUIRE_RESET,
	KEY_MAY_REBIND,
	KEY_REVOKE_GRACE_SEC,
	KEY_REVOKE_FORCE,
	KEY_DEVICES,
	_KEY_MAX,
} PolicyKey;

/* The device matcher keys are the first ones. */
#define KEY_DEVICE_MATCHER_LAST KEY_MDEV_TYPES

typedef PolicyParser Parser;
typedef int (*parse_word_t)(Parser *p, PolicyKey k, const char *key, const char *word);

static int parse_address(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_id(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_class(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_iommu_group(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_compatible(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_mdev_type(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_user(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_group(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_dma_mode(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_dma_quota(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_max_devices(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_bool(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_revoke_grace(Parser *p, PolicyKey k, const char *key, const char *word);
static int parse_manage_devices(Parser *p, PolicyKey k, const char *key, const char *word);

static const struct {
	const char *name;
	bool list;	   /* takes several words, may continue on indented lines */
	unsigned sections; /* IN_* where the key is allowed */
	parse_word_t parse;
} policy_keys[_KEY_MAX] = {
    [KEY_ADDRESSES] = {"Addresses", true, IN_MATCHER, parse_address},
    [KEY_IDS] = {"Ids", true, IN_MATCHER, parse_id},
    [KEY_CLASSES] = {"Classes", true, IN_MATCHER, parse_class},
    [KEY_IOMMU_GROUPS] = {"IommuGroups", true, IN_MATCHER, parse_iommu_group},
    [KEY_COMPATIBLES] = {"Compatibles", true, IN_MATCHER, parse_compatible},
    [KEY_MDEV_TYPES] = {"MdevTypes", true, IN_MATCHER, parse_mdev_type},
    [KEY_USERS] = {"Users", true, IN_RULE, parse_user},
    [KEY_GROUPS] = {"Groups", true, IN_RULE, parse_group},
    [KEY_DMA_MODES] = {"DmaModes", true, IN_RULE, parse_dma_mode},
    [KEY_DMA_QUOTA] = {"DmaQuota", false, IN_RULE, parse_dma_quota},
    [KEY_MAX_DEVICES] = {"MaxDevices", false, IN_RULE, parse_max_devices},
    [KEY_REQUIRE_RESET] = {"RequireReset", false, IN_RULE, parse_bool},
    [KEY_MAY_REBIND] = {"MayRebind", false, IN_RULE, parse_bool},
    [KEY_REVOKE_GRACE_SEC] = {"RevokeGraceSec", false, IN_RULE, parse_revoke_grace},
    [KEY_REVOKE_FORCE] = {"RevokeForce", false, IN_RULE, parse_bool},
    [KEY_DEVICES] = {"Devices", false, IN_MANAGE, parse_manage_devices},
};

struct PolicyParser {
	Policy *policy;
	size_t rules_allocated;

	/* The text being parsed. */
	const char *origin;
	const char *next, *end;
	unsigned line;	 /* of the line last handed to inih */
	const char *raw; /* that line, without BOM and line break, not NUL-terminated */
	size_t raw_len;

	/*
	 * The section being built: stored in the policy when the next section
	 * or the file starts or ends. A rule fills `rule`, [Manage] and [Ignore]
	 * fill `set`; `match` points at the device matchers of either.
	 */
	SectionType section;
	PolicyRule rule;
	PolicyDeviceSet set;
	PolicyManageMode manage_mode;
	PolicyDeviceMatch *match;
	size_t allocated[_KEY_MAX];  /* capacity of each key's array */
	size_t n_strings[_KEY_MAX];  /* entries of each string-list key */
	unsigned key_line[_KEY_MAX]; /* where each key was set, 0 if not */
	size_t n_words[_KEY_MAX];
	int prev_key; /* what an indented line continues, -1 if none */

	/* The first error. */
	int r;
	unsigned
	    error_found_at; /* line being read when it was found (it may name an earlier one) */
	char *error;
};

static bool is_space(char c)
{
	return isspace((unsigned char)c);
}

static int grow(void *array, size_t *allocated, size_t need, size_t size)
{
	void **p = array;
	size_t n;
	void *q;

	if (need <= *allocated)
		return 0;
	n = need < 8 ? 8 : need * 2;
	if (n > SIZE_MAX / size)
		return -ENOMEM;
	q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*allocated = n;
	return 0;
}

_printf_(5, 0) static int parser_verror(Parser *p, const char *origin, unsigned line, int r,
					const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = NULL;
	int k;

	if (p->r < 0)
		return r;
	p->r = r;
	p->error_found_at = p->line;

	k = vasprintf(&msg, fmt, ap);
	if (k < 0) {
		msg = NULL;
		p->r = -ENOMEM;
		return r;
	}
	/* Values are echoed in messages: keep control characters out of logs. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';

	if (line > 0)
		k = asprintf(&p->error, "%s:%u: %s", origin, line, msg);
	else
		k = asprintf(&p->error, "%s: %s", origin, msg);
	if (k < 0) {
		p->error = NULL;
		p->r = -ENOMEM;
	}
	return r;
}

/* Records the first error as "ORIGIN:LINE: message" (line 0: "ORIGIN: message"); returns r. */
_printf_(4, 5) static int parser_error(Parser *p, unsigned line, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r = parser_verror(p, p->origin, line, r, fmt, ap);
	va_end(ap);
	return r;
}

int policy_parser_error(PolicyParser *p, const char *origin, unsigned line, int r, const char *fmt,
			...)
{
	va_list ap;

	va_start(ap, fmt);
	r = parser_verror(p, origin, line, r, fmt, ap);
	va_end(ap);
	return r;
}

int policy_parser_oom(PolicyParser *p)
{
	if (p->r >= 0) {
		p->r = -ENOMEM;
		p->error_found_at = p->line;
	}
	return -ENOMEM;
}

static void rule_done(PolicyRule *rule)
{
	free(rule->name);
	free(rule->file);
	policy_device_match_done(&rule->devices);
	free(rule->uids);
	free(rule->gids);
	*rule = (PolicyRule){};
}

static void device_set_done(PolicyDeviceSet *s)
{
	free(s->file);
	policy_device_match_done(&s->devices);
	*s = (PolicyDeviceSet){};
}

Policy *policy_free(Policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++)
		rule_done(&p->rules[i]);
	free(p->rules);
	device_set_done(&p->manage);
	device_set_done(&p->ignore);
	free(p);
	return NULL;
}

/* ---- values ---- */

/* Appends an entry of `size` bytes to the array of key k; NULL when out of memory. */
static void *parser_push(Parser *p, PolicyKey k, void *array, size_t *n, size_t size)
{
	char **a = array;

	if (grow(array, &p->allocated[k], *n + 1, size) < 0) {
		policy_parser_oom(p);
		return NULL;
	}
	return *a + size * (*n)++;
}

/* Appends a copy of word to the NULL-terminated list of key k. */
static int parser_push_string(Parser *p, PolicyKey k, char ***list, const char *word)
{
	size_t *n = &p->n_strings[k];
	char *s = strdup(word);

	if (!s || grow(list, &p->allocated[k], *n + 2, sizeof(char *)) < 0) {
		free(s);
		return policy_parser_oom(p);
	}
	(*list)[(*n)++] = s;
	(*list)[*n] = NULL;
	return 0;
}

static int parse_address(Parser *p, PolicyKey k, const char *key, const char *word)
{
	const char *reason = policy_device_name_invalid_reason(word);

	if (reason)
		return parser_error(p, p->line, -EINVAL, "%s=: \"%s\" %s", key, word, reason);
	return parser_push_string(p, k, &p->match->addresses, word);
}

static bool parse_id_part(const char *s, size_t n, uint32_t *ret)
{
	char buf[5];

	if (n == 1 && s[0] == '*') {
		*ret = POLICY_ID_ANY;
		return true;
	}
	if (n != 4)
		return false;
	memcpy(buf, s, 4);
	buf[4] = 0;
	return policy_parse_hex(buf, 4, ret);
}

static int parse_id(Parser *p, PolicyKey k, const char *key, const char *word)
{
	const char *colon = strchr(word, ':');
	PciIdMatch m, *slot;

	if (!colon || !parse_id_part(word, (size_t)(colon - word), &m.vendor_id) ||
	    !parse_id_part(colon + 1, strlen(colon + 1), &m.device_id))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not VENDOR:DEVICE in hex (use * for any)", key,
				    word);
	slot = parser_push(p, k, &p->match->ids, &p->match->n_ids, sizeof(PciIdMatch));
	if (!slot)
		return -ENOMEM;
	*slot = m;
	return 0;
}

static int parse_class(Parser *p, PolicyKey k, const char *key, const char *word)
{
	size_t n = strlen(word);
	ClassMatch *slot;
	uint32_t v;

	if ((n != 2 && n != 4 && n != 6) || !policy_parse_hex(word, n, &v))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not a class prefix of 2, 4 or 6 hex digits "
				    "(class, class+subclass, class+subclass+prog-if)",
				    key, word);
	slot = parser_push(p, k, &p->match->classes, &p->match->n_classes, sizeof(ClassMatch));
	if (!slot)
		return -ENOMEM;
	slot->value = v << (4 * (6 - n));
	slot->mask = (UINT32_C(0xffffff) << (4 * (6 - n))) & UINT32_C(0xffffff);
	return 0;
}

static int parse_iommu_group(Parser *p, PolicyKey k, const char *key, const char *word)
{
	uint64_t v;
	int *slot;

	if (!policy_parse_decimal(word, INT_MAX, &v))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not an IOMMU group number (decimal, 0 to %d)",
				    key, word, INT_MAX);
	slot = parser_push(p, k, &p->match->iommu_groups, &p->match->n_iommu_groups, sizeof(int));
	if (!slot)
		return -ENOMEM;
	*slot = (int)v;
	return 0;
}

static int parse_compatible(Parser *p, PolicyKey k, const char *key, const char *word)
{
	if (!policy_compatible_is_valid(word))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not a device-tree compatible string (1 to %u "
				    "characters from A-Z a-z 0-9 , . _ + -, e.g. arm,pl330)",
				    key, word, POLICY_NAME_MAX);
	return parser_push_string(p, k, &p->match->compatibles, word);
}

static int parse_mdev_type(Parser *p, PolicyKey k, const char *key, const char *word)
{
	if (!policy_mdev_type_is_valid(word))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not an mdev type name (1 to %u characters from "
				    "A-Z a-z 0-9 _ . : + -, e.g. i915-GVTg_V5_4)",
				    key, word, POLICY_NAME_MAX);
	return parser_push_string(p, k, &p->match->mdev_types, word);
}

/* Resolves a user (group=false) or group name; -ESRCH when there is none. */
static int lookup_name(const char *name, bool group, uint32_t *ret)
{
	long l = sysconf(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
	size_t size = l > 0 && l < (1 << 20) ? (size_t)l : 4096;

	for (;;) {
		_cleanup_free_ char *buf = malloc(size);
		struct passwd pw, *pwr = NULL;
		struct group gr, *grr = NULL;
		int k;

		if (!buf)
			return -ENOMEM;
		if (group)
			k = getgrnam_r(name, &gr, buf, size, &grr);
		else
			k = getpwnam_r(name, &pw, buf, size, &pwr);
		if (k == 0) {
			if (group ? !grr : !pwr)
				return -ESRCH;
			*ret = group ? grr->gr_gid : pwr->pw_uid;
			return 0;
		}
		/* "Not found" as some NSS modules spell it. */
		if (k == ENOENT || k == ESRCH)
			return -ESRCH;
		if (k != ERANGE || size >= (1 << 20))
			return k > 0 ? -k : -EIO;
		size *= 2;
	}
}

static int parse_subject(Parser *p, const char *key, const char *word, bool group, uint32_t *ret)
{
	const char *what = group ? "group" : "user";
	uint32_t id = UINT32_MAX; /* refused below, should a lookup ever not set it */
	uint64_t v = 0;
	int r;

	if (word[0] >= '0' && word[0] <= '9') {
		if (!policy_parse_decimal(word, UINT32_MAX - 1, &v))
			return parser_error(p, p->line, -EINVAL,
					    "%s=: \"%s\" is not a numeric %cid (0 to 4294967294)",
					    key, word, group ? 'g' : 'u');
		*ret = (uint32_t)v;
		return 0;
	}
	r = lookup_name(word, group, &id);
	if (r == -ESRCH)
		return parser_error(p, p->line, -EINVAL, "%s=: no such %s \"%s\"", key, what, word);
	if (r == -ENOMEM)
		return policy_parser_oom(p);
	if (r < 0)
		return parser_error(p, p->line, r, "%s=: cannot look up %s \"%s\": %s", key, what,
				    word, strerror(-r));
	if (id == UINT32_MAX)
		return parser_error(p, p->line, -EINVAL, "%s=: %s \"%s\" resolves to id -1", key,
				    what, word);
	*ret = id;
	return 0;
}

static int parse_user(Parser *p, PolicyKey k, const char *key, const char *word)
{
	uint32_t id = UINT32_MAX;
	uid_t *slot;
	int r;

	r = parse_subject(p, key, word, false, &id);
	if (r < 0)
		return r;
	slot = parser_push(p, k, &p->rule.uids, &p->rule.n_uids, sizeof(uid_t));
	if (!slot)
		return -ENOMEM;
	*slot = (uid_t)id;
	return 0;
}

static int parse_group(Parser *p, PolicyKey k, const char *key, const char *word)
{
	uint32_t id = UINT32_MAX;
	gid_t *slot;
	int r;

	r = parse_subject(p, key, word, true, &id);
	if (r < 0)
		return r;
	slot = parser_push(p, k, &p->rule.gids, &p->rule.n_gids, sizeof(gid_t));
	if (!slot)
		return -ENOMEM;
	*slot = (gid_t)id;
	return 0;
}

DmaMode dma_mode_from_string(const char *s)
{
	if (streq_ptr(s, "container"))
		return DMA_MODE_CONTAINER;
	if (streq_ptr(s, "brokered"))
		return DMA_MODE_BROKERED;
	return 0;
}

const char *dma_mode_to_string(DmaMode m)
{
	switch (m) {
	case DMA_MODE_CONTAINER:
		return "container";
	case DMA_MODE_BROKERED:
		return "brokered";
	}
	return NULL;
}

static int parse_dma_mode(Parser *p, PolicyKey k, const char *key, const char *word)
{
	DmaMode m = dma_mode_from_string(word);

	if (m == 0)
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not a DMA mode (container or brokered)", key,
				    word);
	p->rule.dma_modes |= m;
	return 0;
}

static int parse_dma_quota(Parser *p, PolicyKey k, const char *key, const char *word)
{
	uint64_t v;

	if (!policy_parse_size(word, &v))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not a size (bytes, or a number followed by "
				    "K, M, G or T)",
				    key, word);
	if (v == 0 || v > POLICY_DMA_QUOTA_MAX)
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is out of range (more than 0, at most 1T)", key,
				    word);
	p->rule.dma_quota = v;
	return 0;
}

static int parse_max_devices(Parser *p, PolicyKey k, const char *key, const char *word)
{
	uint64_t v;

	if (!policy_parse_decimal(word, UINT64_MAX, &v) || v < 1 || v > POLICY_MAX_DEVICES_MAX)
		return parser_error(p, p->line, -EINVAL, "%s=: \"%s\" is not a number from 1 to %u",
				    key, word, POLICY_MAX_DEVICES_MAX);
	p->rule.max_devices = (unsigned)v;
	return 0;
}

static int parse_bool(Parser *p, PolicyKey k, const char *key, const char *word)
{
	int b = policy_parse_boolean(word);

	if (b < 0)
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not a boolean (yes, no, true, false, on, off, "
				    "1 or 0)",
				    key, word);
	if (k == KEY_REQUIRE_RESET)
		p->rule.require_reset = b;
	else if (k == KEY_MAY_REBIND)
		p->rule.may_rebind = b;
	else
		p->rule.revoke_force = b;
	return 0;
}

static int parse_revoke_grace(Parser *p, PolicyKey k, const char *key, const char *word)
{
	uint64_t usec;

	if (!policy_parse_timespan(word, &usec))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not a time span (e.g. 30s, 500ms, 1min30s; "
				    "no blanks)",
				    key, word);
	if (usec > POLICY_REVOKE_GRACE_MAX_USEC)
		return parser_error(p, p->line, -EINVAL, "%s=: \"%s\" is more than 1h", key, word);
	p->rule.revoke_grace_usec = usec;
	return 0;
}

static int parse_manage_devices(Parser *p, PolicyKey k, const char *key, const char *word)
{
	if (streq(word, "rules"))
		p->manage_mode = POLICY_MANAGE_RULES;
	else if (streq(word, "all"))
		p->manage_mode = POLICY_MANAGE_ALL;
	else if (streq(word, "none"))
		p->manage_mode = POLICY_MANAGE_NONE;
	else
		return parser_error(p, p->line, -EINVAL, "%s=: \"%s\" is not rules, all or none",
				    key, word);
	return 0;
}

/* ---- sections ---- */

static const char *section_name(SectionType t)
{
	switch (t) {
	case SECTION_RULE:
		return "[Rule]";
	case SECTION_MANAGE:
		return "[Manage]";
	case SECTION_IGNORE:
		return "[Ignore]";
	case SECTION_NONE:
		break;
	}
	return "no section";
}

/* "Addresses=, Ids=, ... or MdevTypes=": the keys allowed in section t. */
static int keys_in_section(SectionType t, bool device_matchers_only, char **ret)
{
	_cleanup_free_ char *s = NULL;
	size_t n = 0, i_last = 0, len = 0;

	for (size_t i = 0; i < _KEY_MAX; i++)
		if ((policy_keys[i].sections & (1u << t)) &&
		    (!device_matchers_only || i <= KEY_DEVICE_MATCHER_LAST)) {
			i_last = i;
			n++;
		}
	s = malloc(_KEY_MAX * 24);
	if (!s)
		return -ENOMEM;
	s[0] = 0;
	for (size_t i = 0, j = 0; i < _KEY_MAX; i++) {
		if (!(policy_keys[i].sections & (1u << t)) ||
		    (device_matchers_only && i > KEY_DEVICE_MATCHER_LAST))
			continue;
		len += (size_t)snprintf(s + len, _KEY_MAX * 24 - len, "%s%s=",
					j == 0	      ? ""
					: i == i_last ? " or "
						      : ", ",
					policy_keys[i].name);
		j++;
	}
	*ret = TAKE_PTR(s);
	return n > 0 ? 0 : -EINVAL;
}

/* Checks and stores a finished rule. */
static int parser_finish_rule(Parser *p)
{
	PolicyRule *rule = &p->rule;

	if (policy_device_match_is_empty(&rule->devices)) {
		_cleanup_free_ char *keys = NULL;
		if (keys_in_section(SECTION_RULE, true, &keys) < 0)
			return policy_parser_oom(p);
		return parser_error(p, rule->line, -EINVAL,
				    "rule \"%s\" has no device matcher (it needs %s)", rule->name,
				    keys);
	}
	if (rule->n_uids == 0 && rule->n_gids == 0)
		return parser_error(
		    p, rule->line, -EINVAL,
		    "rule \"%s\" has no subject matcher (it needs Users= or Groups=)", rule->name);

	if (grow(&p->policy->rules, &p->rules_allocated, p->policy->n_rules + 1,
		 sizeof(PolicyRule)) < 0)
		return policy_parser_oom(p);
	p->policy->rules[p->policy->n_rules++] = *rule;
	*rule = (PolicyRule){};
	return 0;
}

/* Checks and stores a finished [Manage] or [Ignore]. */
static int parser_finish_device_set(Parser *p, SectionType t)
{
	bool empty = policy_device_match_is_empty(&p->set.devices);

	if (t == SECTION_MANAGE) {
		if (empty && !p->key_line[KEY_DEVICES])
			return parser_error(p, p->set.line, -EINVAL,
					    "[Manage] is empty (it needs Devices= or device "
					    "matchers)");
		if (!empty && p->manage_mode == POLICY_MANAGE_ALL) {
			unsigned line = 0;
			for (int k = 0; k <= KEY_DEVICE_MATCHER_LAST; k++)
				if (p->key_line[k] && (!line || p->key_line[k] < line))
					line = p->key_line[k];
			return parser_error(p, line, -EINVAL,
					    "[Manage] has Devices=all, which manages every device; "
					    "device matchers would add nothing");
		}
		p->policy->manage_mode = p->manage_mode;
		p->policy->manage = p->set;
	} else {
		if (empty)
			return parser_error(p, p->set.line, -EINVAL,
					    "[Ignore] is empty (it needs device matchers)");
		p->policy->ignore = p->set;
	}
	p->set = (PolicyDeviceSet){};
	return 0;
}

static int parser_finish_section(Parser *p)
{
	SectionType t = p->section;

	p->section = SECTION_NONE;
	p->match = NULL;
	switch (t) {
	case SECTION_RULE:
		return parser_finish_rule(p);
	case SECTION_MANAGE:
	case SECTION_IGNORE:
		return parser_finish_device_set(p, t);
	case SECTION_NONE:
		break;
	}
	return 0;
}

static bool rule_name_is_valid(const char *s, size_t n)
{
	if (n < 1 || n > RULE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || strchr("_.-", s[i])))
			return false;
	return true;
}

static int parser_start_rule(Parser *p, const char *name, size_t n)
{
	if (!rule_name_is_valid(name, n))
		return parser_error(p, p->line, -EINVAL,
				    "invalid rule name \"%.*s\" (use 1 to %d characters from "
				    "A-Z a-z 0-9 _ . -)",
				    (int)n, name, RULE_NAME_MAX);

	for (size_t i = 0; i < p->policy->n_rules; i++) {
		const PolicyRule *o = &p->policy->rules[i];
		if (strlen(o->name) == n && memcmp(o->name, name, n) == 0)
			return parser_error(p, p->line, -EINVAL,
					    "rule \"%s\" is already defined at %s:%u", o->name,
					    o->file, o->line);
	}
	if (p->policy->n_rules >= POLICY_RULES_MAX)
		return parser_error(p, p->line, -EINVAL, "too many rules (at most %u)",
				    POLICY_RULES_MAX);

	p->rule = (PolicyRule){
	    .line = p->line,
	    .dma_modes = DMA_MODES_ALL,
	    .dma_quota = POLICY_DEFAULT_DMA_QUOTA,
	    .max_devices = POLICY_DEFAULT_MAX_DEVICES,
	    .revoke_grace_usec = POLICY_DEFAULT_REVOKE_GRACE_USEC,
	};
	p->match = &p->rule.devices;
	p->section = SECTION_RULE;
	p->rule.name = strndup(name, n);
	p->rule.file = strdup(p->origin);
	if (!p->rule.name || !p->rule.file)
		return policy_parser_oom(p);
	return 0;
}

static int parser_start_device_set(Parser *p, SectionType t)
{
	const PolicyDeviceSet *old = t == SECTION_MANAGE ? &p->policy->manage : &p->policy->ignore;

	if (old->file)
		return parser_error(p, p->line, -EINVAL,
				    "%s is already defined at %s:%u (one for all files together)",
				    section_name(t), old->file, old->line);
	p->set = (PolicyDeviceSet){.line = p->line};
	p->manage_mode = POLICY_MANAGE_RULES;
	p->match = &p->set.devices;
	p->section = t;
	p->set.file = strdup(p->origin);
	if (!p->set.file)
		return policy_parser_oom(p);
	return 0;
}

/* A line starting with '[' (p->raw): "[Rule NAME]", "[Manage]" or "[Ignore]", then blanks or a
 * "; comment". */
static int parser_section(Parser *p)
{
	const char *s = p->raw, *e = p->raw + p->raw_len, *close;
	size_t n;
	int r;

	r = parser_finish_section(p);
	if (r < 0)
		return r;

	close = memchr(s, ']', p->raw_len);
	if (!close)
		return parser_error(p, p->line, -EINVAL,
				    "section header without \"]\"; expected [Rule NAME], "
				    "[Manage] or [Ignore]");
	for (const char *c = close + 1; c < e && *c != ';'; c++)
		if (!is_space(*c))
			return parser_error(p, p->line, -EINVAL,
					    "unexpected text after \"]\" (only a \"; comment\" "
					    "may follow a section header)");

	memset(p->key_line, 0, sizeof(p->key_line));
	memset(p->n_words, 0, sizeof(p->n_words));
	memset(p->allocated, 0, sizeof(p->allocated));
	memset(p->n_strings, 0, sizeof(p->n_strings));
	p->prev_key = -1;

	n = (size_t)(close - s + 1);
	if (n == strlen("[Manage]") && memcmp(s, "[Manage]", n) == 0)
		return parser_start_device_set(p, SECTION_MANAGE);
	if (n == strlen("[Ignore]") && memcmp(s, "[Ignore]", n) == 0)
		return parser_start_device_set(p, SECTION_IGNORE);
	if (n < 7 || memcmp(s, "[Rule ", 6) != 0)
		return parser_error(p, p->line, -EINVAL,
				    "unknown section \"%.*s\"; expected [Rule NAME], [Manage] or "
				    "[Ignore]",
				    (int)n, s);
	return parser_start_rule(p, s + 6, (size_t)(close - (s + 6)));
}

/* ---- inih callbacks ---- */

/* Hands inih one whole line, refusing lines it would split; handles section headers itself. */
static char *parser_read_line(char *buf, int size, void *userdata)
{
	Parser *p = userdata;
	const char *nl;
	size_t len, max;

	if (p->r < 0 || p->next >= p->end)
		return NULL;

	nl = memchr(p->next, '\n', (size_t)(p->end - p->next));
	len = nl ? (size_t)(nl - p->next) : (size_t)(p->end - p->next);
	p->line++;
	p->raw = p->next;
	p->raw_len = len;
	if (p->line == 1 && len >= 3 && memcmp(p->raw, "\xef\xbb\xbf", 3) == 0) {
		p->raw += 3;
		p->raw_len -= 3;
	}

	/* inih needs room for the line, its '\n' and a NUL. */
	max = size > 2 ? (size_t)size - 2 : 0;
	if (len > max) {
		parser_error(p, p->line, -EINVAL,
			     "line is too long (%zu bytes, at most %zu; "
			     "continue a list on an indented line)",
			     len, max);
		return NULL;
	}
	memcpy(buf, p->next, len);
	if (nl)
		buf[len++] = '\n';
	buf[len] = 0;
	p->next = nl ? nl + 1 : p->end;

	if (p->raw_len > 0 && p->raw[0] == '[') {
		if (parser_section(p) < 0)
			return NULL;
	} else if (p->raw_len > 0 && is_space(p->raw[0])) {
		const char *c = p->raw;
		while (c < p->raw + p->raw_len && is_space(*c))
			c++;
		if (c < p->raw + p->raw_len && *c == '[') {
			parser_error(p, p->line, -EINVAL,
				     "a section header must start at the beginning of the line");
			return NULL;
		}
	}
	return buf;
}

static int parser_lookup_key(const char *name)
{
	for (int i = 0; i < _KEY_MAX; i++)
		if (streq(policy_keys[i].name, name))
			return i;
	return -1;
}

/* Cuts s at a ';' that follows a blank, as inih does for values but not for continuation lines. */
static void strip_inline_comment(char *s)
{
	for (char *c = s; *c; c++)
		if (*c == ';' && c > s && is_space(c[-1])) {
			*c = 0;
			break;
		}
}

/* A key at the start of a line: checks it may be set here, and records where it is. */
static int parser_new_key(Parser *p, const char *name, const char *value)
{
	size_t n = strlen(name);
	const char *key, *s;
	int k;

	if (p->section == SECTION_NONE)
		return parser_error(p, p->line, -EINVAL,
				    "\"%s=\" outside a section; keys belong in a [Rule NAME], "
				    "[Manage] or [Ignore] section",
				    name);
	if (n == 0)
		return parser_error(p, p->line, -EINVAL, "no key before \"=\"");
	k = parser_lookup_key(name);
	if (k < 0 || !(policy_keys[k].sections & (1u << p->section))) {
		_cleanup_free_ char *keys = NULL;
		if (keys_in_section(p->section, false, &keys) < 0)
			return policy_parser_oom(p);
		if (k >= 0)
			return parser_error(p, p->line, -EINVAL,
					    "%s= does not belong in %s (expected %s)", name,
					    section_name(p->section), keys);
		return parser_error(p, p->line, -EINVAL, "unknown key \"%s=\" in %s (expected %s)",
				    name, section_name(p->section), keys);
	}
	key = policy_keys[k].name;
	/* inih also splits at ':'; only '=' is the format. */
	s = p->raw + n;
	while (s < p->raw + p->raw_len && is_space(*s))
		s++;
	if (p->raw_len < n || memcmp(p->raw, name, n) != 0 || s >= p->raw + p->raw_len || *s != '=')
		return parser_error(p, p->line, -EINVAL, "%s: expected \"%s=VALUE\"", key, key);
	if (p->key_line[k] > 0)
		return parser_error(p, p->line, -EINVAL,
				    "%s= is already set on line %u in %s%s%s (list all values on "
				    "one key)",
				    key, p->key_line[k],
				    p->section == SECTION_RULE ? "rule \""
							       : section_name(p->section),
				    p->section == SECTION_RULE ? p->rule.name : "",
				    p->section == SECTION_RULE ? "\"" : "");
	p->key_line[k] = p->line;
	p->prev_key = k;
	if (!*value)
		return parser_error(p, p->line, -EINVAL, "%s=: empty value", key);
	if (k == KEY_DMA_MODES)
		p->rule.dma_modes = 0;
	return k;
}

static int parser_key(Parser *p, const char *name, const char *value)
{
	_cleanup_free_ char *words = strdup(value);
	const char *key;
	char *w, *save = NULL;
	int k, r;

	if (!words)
		return policy_parser_oom(p);

	if (p->raw_len > 0 && is_space(p->raw[0])) {
		/* inih hands us an indented line as a continuation of the previous key. */
		if (p->prev_key < 0)
			return parser_error(p, p->line, -EINVAL,
					    "indented line, but no list to continue "
					    "(keys must start at the beginning of the line)");
		k = p->prev_key;
		key = policy_keys[k].name;
		if (!policy_keys[k].list)
			return parser_error(p, p->line, -EINVAL,
					    "%s= takes a single value; an indented line cannot "
					    "continue it",
					    key);
		strip_inline_comment(words);
		if (strchr(words, '='))
			return parser_error(p, p->line, -EINVAL,
					    "%s=: indented line \"%s\" would continue the list of "
					    "%s=; keys must start at the beginning of the line",
					    key, value, key);
	} else {
		k = parser_new_key(p, name, value);
		if (k < 0)
			return k;
		key = policy_keys[k].name;
	}

	for (w = strtok_r(words, " \t\r\n\v\f", &save); w;
	     w = strtok_r(NULL, " \t\r\n\v\f", &save)) {
		if (++p->n_words[k] > 1 && !policy_keys[k].list)
			return parser_error(p, p->line, -EINVAL,
					    "%s=: \"%s\" is more than one value", key, value);
		if (p->n_words[k] > POLICY_ENTRIES_MAX)
			return parser_error(p, p->line, -EINVAL,
					    "%s=: too many entries (at most %u)", key,
					    POLICY_ENTRIES_MAX);
		r = policy_keys[k].parse(p, (PolicyKey)k, key, w);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parser_handler(void *userdata, const char *section, const char *name, const char *value)
{
	Parser *p = userdata;

	if (p->r < 0)
		return 0;
	if (!name || !value)
		return 1; /* a section start, should inih ever be built to report one */
	return parser_key(p, name, value) >= 0;
}

/* ---- the policy as a whole ---- */

/*
 * Conflicts are rules that can never match, reported at the rule:
 *  - a rule shadowed by an earlier one (policy_rule_shadows());
 *  - a rule all of whose device matchers [Ignore] covers;
 *  - any rule when Devices=none and [Manage] lists no device.
 * Rule names are unique already (parser_start_rule()).
 */
static int policy_check_conflicts(Parser *p)
{
	const Policy *policy = p->policy;

	for (size_t j = 0; j < policy->n_rules; j++) {
		const PolicyRule *later = &policy->rules[j];

		for (size_t i = 0; i < j; i++) {
			const PolicyRule *earlier = &policy->rules[i];
			if (policy_rule_shadows(earlier, later))
				return policy_parser_error(
				    p, later->file, later->line, -EINVAL,
				    "rule \"%s\" can never match: rule \"%s\" (%s:%u) comes "
				    "first and matches every device and subject it does",
				    later->name, earlier->name, earlier->file, earlier->line);
		}
		if (policy->ignore.file &&
		    policy_device_match_covers(&policy->ignore.devices, &later->devices))
			return policy_parser_error(p, later->file, later->line, -EINVAL,
						   "rule \"%s\" can never match: [Ignore] (%s:%u) "
						   "covers every device it matches",
						   later->name, policy->ignore.file,
						   policy->ignore.line);
		if (policy->manage_mode == POLICY_MANAGE_NONE &&
		    policy_device_match_is_empty(&policy->manage.devices))
			return policy_parser_error(p, later->file, later->line, -EINVAL,
						   "rule \"%s\" can never match: [Manage] (%s:%u) "
						   "says Devices=none and lists no device",
						   later->name, policy->manage.file,
						   policy->manage.line);
	}
	return 0;
}

/* ---- texts ---- */

int policy_parser_feed(PolicyParser *p, const char *origin, const char *text, size_t size)
{
	const char *nul;
	int k;

	p->origin = origin;
	p->next = text;
	p->end = text + size;
	p->line = 0;
	p->raw = NULL;
	p->raw_len = 0;
	p->prev_key = -1;

	if (size > POLICY_FILE_SIZE_MAX)
		return parser_error(p, 0, -EFBIG, "larger than 1 MiB");
	nul = memchr(text, 0, size);
	if (nul) {
		unsigned line = 1;
		for (const char *c = text; c < nul; c++)
			line += *c == '\n';
		return parser_error(p, line, -EINVAL, "NUL byte; this is not a text file");
	}

	k = ini_parse_stream(parser_read_line, p, parser_handler, p);
	if (k < 0)
		return policy_parser_oom(p);
	if (k > 0 && (p->r >= 0 || (unsigned)k < p->error_found_at)) {
		/* inih found a line it could not parse before we found anything. */
		free(p->error);
		p->error = NULL;
		p->r = 0;
		p->line = (unsigned)k;
		return parser_error(p, (unsigned)k, -EINVAL,
				    "expected [Rule NAME], [Manage], [Ignore], KEY=VALUE, or a "
				    "comment");
	}
	if (p->r < 0)
		return p->r;
	p->line++;
	return parser_finish_section(p);
}

int policy_parser_new(PolicyParser **ret)
{
	_cleanup_free_ PolicyParser *p = calloc(1, sizeof(PolicyParser));

	if (!p)
		return -ENOMEM;
	p->prev_key = -1;
	p->policy = calloc(1, sizeof(Policy));
	if (!p->policy)
		return -ENOMEM;
	*ret = TAKE_PTR(p);
	return 0;
}

PolicyParser *policy_parser_free(PolicyParser *p)
{
	if (!p)
		return NULL;
	policy_free(p->policy);
	rule_done(&p->rule);
	device_set_done(&p->set);
	free(p->error);
	free(p);
	return NULL;
}

int policy_parser_finish(PolicyParser *p, Policy **ret, char **ret_error)
{
	int r;

	if (p->r >= 0)
		(void)policy_check_conflicts(p);
	r = p->r;
	if (r < 0) {
		if (ret_error)
			*ret_error = TAKE_PTR(p->error);
	} else
		*ret = TAKE_PTR(p->policy);
	policy_parser_free(p);
	return r;
}
