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
 */
#include "policy.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "pci-address.h"
#include "util.h"

#define RULE_NAME_MAX 64

typedef enum PolicyKey {
	KEY_ADDRESSES,
	KEY_IDS,
	KEY_CLASSES,
	KEY_IOMMU_GROUPS,
	KEY_USERS,
	KEY_GROUPS,
	KEY_DMA_MODES,
	KEY_DMA_QUOTA,
	KEY_MAX_DEVICES,
	_KEY_MAX,
} PolicyKey;

typedef struct Parser Parser;
typedef int (*parse_word_t)(Parser *p, const char *key, const char *word);

static int parse_address(Parser *p, const char *key, const char *word);
static int parse_id(Parser *p, const char *key, const char *word);
static int parse_class(Parser *p, const char *key, const char *word);
static int parse_iommu_group(Parser *p, const char *key, const char *word);
static int parse_user(Parser *p, const char *key, const char *word);
static int parse_group(Parser *p, const char *key, const char *word);
static int parse_dma_mode(Parser *p, const char *key, const char *word);
static int parse_dma_quota(Parser *p, const char *key, const char *word);
static int parse_max_devices(Parser *p, const char *key, const char *word);

static const struct {
	const char *name;
	bool list; /* takes several words, may continue on indented lines */
	parse_word_t parse;
} policy_keys[_KEY_MAX] = {
    [KEY_ADDRESSES] = {"Addresses", true, parse_address},
    [KEY_IDS] = {"Ids", true, parse_id},
    [KEY_CLASSES] = {"Classes", true, parse_class},
    [KEY_IOMMU_GROUPS] = {"IommuGroups", true, parse_iommu_group},
    [KEY_USERS] = {"Users", true, parse_user},
    [KEY_GROUPS] = {"Groups", true, parse_group},
    [KEY_DMA_MODES] = {"DmaModes", true, parse_dma_mode},
    [KEY_DMA_QUOTA] = {"DmaQuota", false, parse_dma_quota},
    [KEY_MAX_DEVICES] = {"MaxDevices", false, parse_max_devices},
};

struct Parser {
	Policy *policy;
	size_t rules_allocated;
	uid_t owner_uid;

	/* The text being parsed. */
	const char *origin;
	const char *next, *end;
	unsigned line;	 /* of the line last handed to inih */
	const char *raw; /* that line, without BOM and line break, not NUL-terminated */
	size_t raw_len;

	/* The rule being built: pushed to policy when the next section or the file starts or ends.
	 */
	bool in_rule;
	PolicyRule rule;
	size_t n_addresses, addresses_allocated, ids_allocated, classes_allocated,
	    iommu_groups_allocated, uids_allocated, gids_allocated;
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

/* Records the first error as "ORIGIN:LINE: message" (line 0: "ORIGIN: message"); returns r. */
_printf_(4, 5) static int parser_error(Parser *p, unsigned line, int r, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int k;

	if (p->r < 0)
		return r;
	p->r = r;
	p->error_found_at = p->line;

	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
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
		k = asprintf(&p->error, "%s:%u: %s", p->origin, line, msg);
	else
		k = asprintf(&p->error, "%s: %s", p->origin, msg);
	if (k < 0) {
		p->error = NULL;
		p->r = -ENOMEM;
	}
	return r;
}

static int parser_oom(Parser *p)
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
	strv_free(rule->addresses);
	free(rule->ids);
	free(rule->classes);
	free(rule->iommu_groups);
	free(rule->uids);
	free(rule->gids);
	*rule = (PolicyRule){};
}

Policy *policy_free(Policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++)
		rule_done(&p->rules[i]);
	free(p->rules);
	free(p);
	return NULL;
}

static void parser_done(Parser *p)
{
	policy_free(p->policy);
	rule_done(&p->rule);
	free(p->error);
}

/* ---- values ---- */

/* Exactly n hex digits, the whole string. */
static bool parse_hex(const char *s, size_t n, uint32_t *ret)
{
	uint32_t v = 0;

	if (strlen(s) != n)
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

/* Decimal digits only (no sign, no blanks), value <= max. */
static bool parse_decimal(const char *s, uint64_t max, uint64_t *ret)
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

static int parse_address(Parser *p, const char *key, const char *word)
{
	char *a;
	int r;

	if (!pci_address_is_valid(word))
		return parser_error(
		    p, p->line, -EINVAL,
		    "%s=: \"%s\" is not a PCI address DDDD:BB:DD.F (lower-case hex)", key, word);
	a = strdup(word);
	if (!a)
		return parser_oom(p);
	r = grow(&p->rule.addresses, &p->addresses_allocated, p->n_addresses + 2, sizeof(char *));
	if (r < 0) {
		free(a);
		return parser_oom(p);
	}
	p->rule.addresses[p->n_addresses++] = a;
	p->rule.addresses[p->n_addresses] = NULL;
	return 0;
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
	return parse_hex(buf, 4, ret);
}

static int parse_id(Parser *p, const char *key, const char *word)
{
	const char *colon = strchr(word, ':');
	PciIdMatch m;

	if (!colon || !parse_id_part(word, (size_t)(colon - word), &m.vendor_id) ||
	    !parse_id_part(colon + 1, strlen(colon + 1), &m.device_id))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not VENDOR:DEVICE in hex (use * for any)", key,
				    word);
	if (grow(&p->rule.ids, &p->ids_allocated, p->rule.n_ids + 1, sizeof(PciIdMatch)) < 0)
		return parser_oom(p);
	p->rule.ids[p->rule.n_ids++] = m;
	return 0;
}

static int parse_class(Parser *p, const char *key, const char *word)
{
	size_t n = strlen(word);
	ClassMatch m;
	uint32_t v;

	if ((n != 2 && n != 4 && n != 6) || !parse_hex(word, n, &v))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not a class prefix of 2, 4 or 6 hex digits "
				    "(class, class+subclass, class+subclass+prog-if)",
				    key, word);
	m.value = v << (4 * (6 - n));
	m.mask = (UINT32_C(0xffffff) << (4 * (6 - n))) & UINT32_C(0xffffff);
	if (grow(&p->rule.classes, &p->classes_allocated, p->rule.n_classes + 1,
		 sizeof(ClassMatch)) < 0)
		return parser_oom(p);
	p->rule.classes[p->rule.n_classes++] = m;
	return 0;
}

static int parse_iommu_group(Parser *p, const char *key, const char *word)
{
	uint64_t v;

	if (!parse_decimal(word, INT_MAX, &v))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not an IOMMU group number (decimal, 0 to %d)",
				    key, word, INT_MAX);
	if (grow(&p->rule.iommu_groups, &p->iommu_groups_allocated, p->rule.n_iommu_groups + 1,
		 sizeof(int)) < 0)
		return parser_oom(p);
	p->rule.iommu_groups[p->rule.n_iommu_groups++] = (int)v;
	return 0;
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
		if (!parse_decimal(word, UINT32_MAX - 1, &v))
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
		return parser_oom(p);
	if (r < 0)
		return parser_error(p, p->line, r, "%s=: cannot look up %s \"%s\": %s", key, what,
				    word, strerror(-r));
	if (id == UINT32_MAX)
		return parser_error(p, p->line, -EINVAL, "%s=: %s \"%s\" resolves to id -1", key,
				    what, word);
	*ret = id;
	return 0;
}

static int parse_user(Parser *p, const char *key, const char *word)
{
	uint32_t id = UINT32_MAX;
	int r;

	r = parse_subject(p, key, word, false, &id);
	if (r < 0)
		return r;
	if (grow(&p->rule.uids, &p->uids_allocated, p->rule.n_uids + 1, sizeof(uid_t)) < 0)
		return parser_oom(p);
	p->rule.uids[p->rule.n_uids++] = (uid_t)id;
	return 0;
}

static int parse_group(Parser *p, const char *key, const char *word)
{
	uint32_t id = UINT32_MAX;
	int r;

	r = parse_subject(p, key, word, true, &id);
	if (r < 0)
		return r;
	if (grow(&p->rule.gids, &p->gids_allocated, p->rule.n_gids + 1, sizeof(gid_t)) < 0)
		return parser_oom(p);
	p->rule.gids[p->rule.n_gids++] = (gid_t)id;
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

static int parse_dma_mode(Parser *p, const char *key, const char *word)
{
	DmaMode m = dma_mode_from_string(word);

	if (m == 0)
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not a DMA mode (container or brokered)", key,
				    word);
	p->rule.dma_modes |= m;
	return 0;
}

static int parse_dma_quota(Parser *p, const char *key, const char *word)
{
	static const char suffixes[] = "KMGT";
	_cleanup_free_ char *digits = strdup(word);
	size_t n = strlen(word);
	unsigned shift = 0;
	const char *s;
	uint64_t v;

	if (!digits)
		return parser_oom(p);
	if (n > 1 && (s = strchr(suffixes, word[n - 1]))) {
		shift = 10 * (unsigned)(s - suffixes + 1);
		digits[n - 1] = 0;
	}
	if (!parse_decimal(digits, UINT64_MAX >> shift, &v))
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is not a size (bytes, or a number followed by "
				    "K, M, G or T)",
				    key, word);
	v <<= shift;
	if (v == 0 || v > POLICY_DMA_QUOTA_MAX)
		return parser_error(p, p->line, -EINVAL,
				    "%s=: \"%s\" is out of range (more than 0, at most 1T)", key,
				    word);
	p->rule.dma_quota = v;
	return 0;
}

static int parse_max_devices(Parser *p, const char *key, const char *word)
{
	uint64_t v;

	if (!parse_decimal(word, UINT64_MAX, &v) || v < 1 || v > POLICY_MAX_DEVICES_MAX)
		return parser_error(p, p->line, -EINVAL, "%s=: \"%s\" is not a number from 1 to %u",
				    key, word, POLICY_MAX_DEVICES_MAX);
	p->rule.max_devices = (unsigned)v;
	return 0;
}

/* ---- rules and sections ---- */

/* Checks and stores the rule being built, if any. */
static int parser_finish_rule(Parser *p)
{
	PolicyRule *rule = &p->rule;

	if (!p->in_rule)
		return 0;
	p->in_rule = false;

	if (!rule->addresses && rule->n_ids == 0 && rule->n_classes == 0 &&
	    rule->n_iommu_groups == 0)
		return parser_error(p, rule->line, -EINVAL,
				    "rule \"%s\" has no device matcher "
				    "(it needs Addresses=, Ids=, Classes= or IommuGroups=)",
				    rule->name);
	if (rule->n_uids == 0 && rule->n_gids == 0)
		return parser_error(
		    p, rule->line, -EINVAL,
		    "rule \"%s\" has no subject matcher (it needs Users= or Groups=)", rule->name);

	if (grow(&p->policy->rules, &p->rules_allocated, p->policy->n_rules + 1,
		 sizeof(PolicyRule)) < 0)
		return parser_oom(p);
	p->policy->rules[p->policy->n_rules++] = *rule;
	*rule = (PolicyRule){};
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

/* A line starting with '[' (p->raw): "[Rule NAME]", then blanks or a "; comment". */
static int parser_section(Parser *p)
{
	const char *s = p->raw, *e = p->raw + p->raw_len, *close, *name;
	size_t n;
	int r;

	r = parser_finish_rule(p);
	if (r < 0)
		return r;

	close = memchr(s, ']', p->raw_len);
	if (!close)
		return parser_error(p, p->line, -EINVAL,
				    "section header without \"]\"; expected [Rule NAME]");
	for (const char *c = close + 1; c < e && *c != ';'; c++)
		if (!is_space(*c))
			return parser_error(p, p->line, -EINVAL,
					    "unexpected text after \"]\" (only a \"; comment\" "
					    "may follow a section header)");

	if ((size_t)(close - s) < 6 || memcmp(s, "[Rule ", 6) != 0)
		return parser_error(p, p->line, -EINVAL,
				    "unknown section \"%.*s\"; expected [Rule NAME]",
				    (int)(close - s + 1), s);
	name = s + 6;
	n = (size_t)(close - name);
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
	};
	p->n_addresses = p->addresses_allocated = p->ids_allocated = p->classes_allocated =
	    p->iommu_groups_allocated = p->uids_allocated = p->gids_allocated = 0;
	memset(p->key_line, 0, sizeof(p->key_line));
	memset(p->n_words, 0, sizeof(p->n_words));
	p->prev_key = -1;
	p->in_rule = true;

	p->rule.name = strndup(name, n);
	p->rule.file = strdup(p->origin);
	if (!p->rule.name || !p->rule.file)
		return parser_oom(p);
	return 0;
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

static int parser_key(Parser *p, const char *name, const char *value)
{
	_cleanup_free_ char *words = strdup(value);
	const char *key;
	char *w, *save = NULL;
	int k, r;

	if (!words)
		return parser_oom(p);

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
		size_t n = strlen(name);
		const char *s;

		if (!p->in_rule)
			return parser_error(p, p->line, -EINVAL,
					    "\"%s=\" outside a section; keys belong in a "
					    "[Rule NAME] section",
					    name);
		if (n == 0)
			return parser_error(p, p->line, -EINVAL, "no key before \"=\"");
		k = parser_lookup_key(name);
		if (k < 0)
			return parser_error(p, p->line, -EINVAL,
					    "unknown key \"%s=\" (expected Addresses=, Ids=, "
					    "Classes=, IommuGroups=, Users=, Groups=, DmaModes=, "
					    "DmaQuota= or MaxDevices=)",
					    name);
		key = policy_keys[k].name;
		/* inih also splits at ':'; only '=' is the format. */
		s = p->raw + n;
		while (s < p->raw + p->raw_len && is_space(*s))
			s++;
		if (p->raw_len < n || memcmp(p->raw, name, n) != 0 || s >= p->raw + p->raw_len ||
		    *s != '=')
			return parser_error(p, p->line, -EINVAL, "%s: expected \"%s=VALUE\"", key,
					    key);
		if (p->key_line[k] > 0)
			return parser_error(p, p->line, -EINVAL,
					    "%s= is already set on line %u for rule \"%s\" "
					    "(list all values on one key)",
					    key, p->key_line[k], p->rule.name);
		p->key_line[k] = p->line;
		p->prev_key = k;
		if (!*value)
			return parser_error(p, p->line, -EINVAL, "%s=: empty value", key);
		if (k == KEY_DMA_MODES)
			p->rule.dma_modes = 0;
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
		r = policy_keys[k].parse(p, key, w);
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

/* ---- texts and files ---- */

static int parser_parse(Parser *p, const char *origin, const char *text, size_t size)
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
		return parser_oom(p);
	if (k > 0 && (p->r >= 0 || (unsigned)k < p->error_found_at)) {
		/* inih found a line it could not parse before we found anything. */
		free(p->error);
		p->error = NULL;
		p->r = 0;
		p->line = (unsigned)k;
		return parser_error(p, (unsigned)k, -EINVAL,
				    "expected [Rule NAME], KEY=VALUE, or a comment");
	}
	if (p->r < 0)
		return p->r;
	p->line++;
	return parser_finish_rule(p);
}

static Parser parser_new(uid_t owner_uid)
{
	return (Parser){.owner_uid = owner_uid, .prev_key = -1};
}

static int parser_start(Parser *p)
{
	p->policy = calloc(1, sizeof(Policy));
	return p->policy ? 0 : -ENOMEM;
}

/* Hands over the result, or the error, and clears the parser. */
static int parser_return(Parser *p, Policy **ret, char **ret_error)
{
	int r = p->r;

	if (r < 0) {
		if (ret_error)
			*ret_error = TAKE_PTR(p->error);
		parser_done(p);
		return r;
	}
	*ret = TAKE_PTR(p->policy);
	parser_done(p);
	return 0;
}

static bool stat_check(Parser *p, const struct stat *st)
{
	if (st->st_uid != p->owner_uid) {
		parser_error(p, 0, -EPERM, "refusing to read: owned by uid %u, not %u",
			     (unsigned)st->st_uid, (unsigned)p->owner_uid);
		return false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		parser_error(p, 0, -EPERM,
			     "refusing to read: writable by %s (mode %04o); "
			     "only its owner may write it",
			     st->st_mode & S_IWOTH ? "others" : "group",
			     (unsigned)(st->st_mode & 07777));
		return false;
	}
	return true;
}

/* Reads and parses one file; a missing file is no error. */
static int parser_load_file(Parser *p, int dir_fd, const char *name, const char *path)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, allocated;
	struct stat st;

	p->origin = path;
	p->line = 0;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int r = negative_errno();
		if (r == -ENOENT)
			return 0;
		if (r == -ELOOP)
			return parser_error(p, 0, r,
					    "refusing to read: is a symbolic link (not followed)");
		return parser_error(p, 0, r, "cannot open: %s", strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		int r = negative_errno();
		return parser_error(p, 0, r, "cannot stat: %s", strerror(-r));
	}
	if (!S_ISREG(st.st_mode))
		return parser_error(p, 0, -EINVAL, "refusing to read: not a regular file");
	if (!stat_check(p, &st))
		return p->r;
	if ((uint64_t)st.st_size > POLICY_FILE_SIZE_MAX)
		return parser_error(p, 0, -EFBIG, "larger than 1 MiB");

	/* One byte more than the limit, to see a file that grew since fstat(). */
	allocated = (size_t)st.st_size + 1;
	buf = malloc(allocated + 1);
	if (!buf)
		return parser_oom(p);
	for (;;) {
		ssize_t n;

		if (size == allocated) {
			char *b;
			if (allocated > POLICY_FILE_SIZE_MAX)
				return parser_error(p, 0, -EFBIG, "larger than 1 MiB");
			allocated = allocated * 2 > POLICY_FILE_SIZE_MAX + 1
					? POLICY_FILE_SIZE_MAX + 1
					: allocated * 2;
			b = realloc(buf, allocated + 1);
			if (!b)
				return parser_oom(p);
			buf = b;
		}
		n = read(fd, buf + size, allocated - size);
		if (n < 0) {
			int r = negative_errno();
			if (r == -EINTR)
				continue;
			return parser_error(p, 0, r, "cannot read: %s", strerror(-r));
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	buf[size] = 0;

	return parser_parse(p, path, buf, size);
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin_name(const char *s)
{
	size_t n = strlen(s);
	return s[0] != '.' && n > 5 && streq(s + n - 5, ".conf");
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int parser_load_dir(Parser *p, const char *dir)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0, allocated = 0;
	struct stat st;
	int fd;

	p->origin = dir;
	p->line = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int r = negative_errno();
		if (r == -ENOENT)
			return 0;
		return parser_error(p, 0, r, "cannot open directory: %s", strerror(-r));
	}
	d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		safe_close(fd);
		return parser_error(p, 0, r, "cannot open directory: %s", strerror(-r));
	}
	if (fstat(dirfd(d), &st) < 0) {
		int r = negative_errno();
		return parser_error(p, 0, r, "cannot stat: %s", strerror(-r));
	}
	if (!stat_check(p, &st))
		return p->r;

	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0) {
				int r = negative_errno();
				return parser_error(p, 0, r, "cannot read directory: %s",
						    strerror(-r));
			}
			break;
		}
		if (!is_dropin_name(de->d_name))
			continue;
		if (n >= POLICY_DROPINS_MAX)
			return parser_error(p, 0, -EINVAL, "more than %u *.conf files",
					    POLICY_DROPINS_MAX);
		if (grow(&names, &allocated, n + 2, sizeof(char *)) < 0)
			return parser_oom(p);
		names[n] = strdup(de->d_name);
		if (!names[n])
			return parser_oom(p);
		names[++n] = NULL;
	}
	if (n == 0)
		return 0;
	qsort(names, n, sizeof(char *), strcmp_ptr);

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;
		size_t l = strlen(dir);
		int r;

		if (asprintf(&path, "%s%s%s", dir, l > 0 && dir[l - 1] == '/' ? "" : "/",
			     names[i]) < 0)
			return parser_oom(p);
		r = parser_load_file(p, dirfd(d), names[i], path);
		if (r < 0)
			return r;
	}
	return 0;
}

int policy_load_full(const char *config_path, const char *dropin_dir, uid_t owner_uid, Policy **ret,
		     char **ret_error)
{
	Parser p = parser_new(owner_uid);

	if (!ret)
		return -EINVAL;
	if (parser_start(&p) < 0)
		parser_oom(&p);
	if (p.r >= 0 && config_path)
		(void)parser_load_file(&p, AT_FDCWD, config_path, config_path);
	if (p.r >= 0 && dropin_dir)
		(void)parser_load_dir(&p, dropin_dir);
	return parser_return(&p, ret, ret_error);
}

int policy_load(const char *config_path, const char *dropin_dir, Policy **ret, char **ret_error)
{
	return policy_load_full(config_path, dropin_dir, 0, ret, ret_error);
}

int policy_load_string(const char *text, const char *origin, Policy **ret, char **ret_error)
{
	Parser p = parser_new(0);

	if (!text || !ret)
		return -EINVAL;
	if (parser_start(&p) < 0)
		parser_oom(&p);
	else
		(void)parser_parse(&p, origin ?: "(string)", text, strlen(text));
	return parser_return(&p, ret, ret_error);
}

/* ---- matching ---- */

static bool rule_matches_device(const PolicyRule *rule, const PolicyDevice *device)
{
	if (device->address && strv_contains(rule->addresses, device->address))
		return true;
	for (size_t i = 0; i < rule->n_ids; i++) {
		const PciIdMatch *m = &rule->ids[i];
		if ((m->vendor_id == POLICY_ID_ANY || m->vendor_id == device->vendor_id) &&
		    (m->device_id == POLICY_ID_ANY || m->device_id == device->device_id))
			return true;
	}
	for (size_t i = 0; i < rule->n_classes; i++)
		if ((device->class_code & rule->classes[i].mask) == rule->classes[i].value)
			return true;
	for (size_t i = 0; i < rule->n_iommu_groups; i++)
		if (device->iommu_group >= 0 && rule->iommu_groups[i] == device->iommu_group)
			return true;
	return false;
}

static bool gid_listed(const PolicyRule *rule, gid_t gid)
{
	for (size_t i = 0; i < rule->n_gids; i++)
		if (rule->gids[i] == gid)
			return true;
	return false;
}

static bool rule_matches_subject(const PolicyRule *rule, const PolicySubject *subject)
{
	for (size_t i = 0; i < rule->n_uids; i++)
		if (rule->uids[i] == subject->uid)
			return true;
	if (gid_listed(rule, subject->gid))
		return true;
	for (size_t i = 0; i < subject->n_supplementary_gids; i++)
		if (gid_listed(rule, subject->supplementary_gids[i]))
			return true;
	return false;
}

const PolicyRule *policy_find_rule(const Policy *p, const PolicySubject *subject,
				   const PolicyDevice *device)
{
	if (!p || !subject || !device)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++)
		if (rule_matches_subject(&p->rules[i], subject) &&
		    rule_matches_device(&p->rules[i], device))
			return &p->rules[i];
	return NULL;
}
