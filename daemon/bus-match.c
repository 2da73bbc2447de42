/* SPDX-License-Identifier: MIT */
/*
 * Match rules as the D-Bus specification defines them: comma-separated
 * key=value pairs; a value may be quoted with apostrophes, inside which a
 * backslash is itself, and outside which \' is an apostrophe. Strict: an
 * unknown or repeated key or a malformed value refuses the whole rule, so a
 * client never believes it asked for something it does not get.
 */
#include "bus-match.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef enum ArgKind {
	ARG_EQUAL,     /* argN: string equality */
	ARG_PATH,      /* argNpath: equal, or a '/'-terminated prefix either way */
	ARG_NAMESPACE, /* arg0namespace: the bus name or one under it */
} ArgKind;

typedef struct ArgCondition {
	unsigned index;
	ArgKind kind;
	char *value;
} ArgCondition;

struct BusMatchRule {
	char *type;
	char *sender;
	char *destination;
	char *interface;
	char *member;
	char *path;
	char *path_namespace;
	bool eavesdrop_given; /* eavesdrop='false': allowed, and only once */
	ArgCondition *args;   /* sorted by index, at most one per index */
	size_t n_args;
};

BusMatchRule *bus_match_rule_free(BusMatchRule *rule)
{
	if (!rule)
		return NULL;
	free(rule->type);
	free(rule->sender);
	free(rule->destination);
	free(rule->interface);
	free(rule->member);
	free(rule->path);
	free(rule->path_namespace);
	for (size_t i = 0; i < rule->n_args; i++)
		free(rule->args[i].value);
	free(rule->args);
	free(rule);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(BusMatchRule *, bus_match_rule_free)

static int type_is_valid(const char *s)
{
	return streq(s, "signal") || streq(s, "method_call") || streq(s, "method_return") ||
	       streq(s, "error");
}

static int unique_name_is_valid(const char *s)
{
	return s[0] == ':' && sd_bus_service_name_is_valid(s) > 0;
}

/* A bus name or a prefix of one (one element is enough): "org.example", "com". */
static bool name_namespace_is_valid(const char *s)
{
	const char *element = s;

	if (!*s || strlen(s) > 255)
		return false;
	for (const char *p = s;; p++) {
		if (*p == '.' || !*p) {
			if (p == element || (*element >= '0' && *element <= '9'))
				return false;
			if (!*p)
				return true;
			element = p + 1;
		} else if (!strchr(
			       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
			       *p))
			return false;
	}
}

typedef struct KeySpec {
	const char *key;
	size_t offset;
	int (*is_valid)(const char *value);
	const char *expected;
} KeySpec;

static const KeySpec key_specs[] = {
    {"type", offsetof(BusMatchRule, type), type_is_valid,
     "signal, method_call, method_return or error"},
    {"sender", offsetof(BusMatchRule, sender), sd_bus_service_name_is_valid, "a bus name"},
    {"destination", offsetof(BusMatchRule, destination), unique_name_is_valid, "a unique bus name"},
    {"interface", offsetof(BusMatchRule, interface), sd_bus_interface_name_is_valid,
     "an interface name"},
    {"member", offsetof(BusMatchRule, member), sd_bus_member_name_is_valid, "a member name"},
    {"path", offsetof(BusMatchRule, path), sd_bus_object_path_is_valid, "an object path"},
    {"path_namespace", offsetof(BusMatchRule, path_namespace), sd_bus_object_path_is_valid,
     "an object path"},
};

/* Sets MatchRuleInvalid; returns -EINVAL. */
_printf_(2, 3) static int invalid(sd_bus_error *error, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = sd_bus_error_setfv(error, SD_BUS_ERROR_MATCH_RULE_INVALID, format, ap);
	va_end(ap);
	return r;
}

/* Reads "key=" at *p. */
static int read_key(const char **p, char **ret, sd_bus_error *error)
{
	size_t n = strcspn(*p, "=,");

	if ((*p)[n] != '=')
		return invalid(error, "Key '%.*s' of the match rule has no value.", (int)n, *p);
	if (n == 0)
		return invalid(error, "The match rule has a value with no key.");
	*ret = strndup(*p, n);
	if (!*ret)
		return -ENOMEM;
	*p += n + 1;
	return 0;
}

/* Reads the value at *p up to the next unquoted ',' (or the end), unquoting it. */
static int read_value(const char **p, const char *key, char **ret, sd_bus_error *error)
{
	_cleanup_free_ char *value = malloc(strlen(*p) + 1);
	bool quoted = false;
	const char *s = *p;
	size_t n = 0;

	if (!value)
		return -ENOMEM;
	for (; *s && (quoted || *s != ','); s++) {
		if (*s == '\'')
			quoted = !quoted;
		else if (!quoted && s[0] == '\\' && s[1] == '\'')
			value[n++] = *++s;
		else
			value[n++] = *s;
	}
	if (quoted)
		return invalid(error,
			       "The value of '%s' in the match rule has an unbalanced quote.", key);
	value[n] = '\0';
	*p = s;
	*ret = TAKE_PTR(value);
	return 0;
}

/* "argN", "argNpath", "arg0namespace"; N without leading zeros. */
static int add_arg(BusMatchRule *rule, const char *key, char **value, sd_bus_error *error)
{
	const char *p = key + strlen("arg");
	unsigned index = 0;
	ArgCondition *args;
	ArgKind kind;
	size_t at;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return invalid(error, "Unknown key '%s' in the match rule.", key);
	for (; *p >= '0' && *p <= '9' && index < BUS_MATCH_MAX_ARGS; p++)
		index = index * 10 + (unsigned)(*p - '0');
	if (index >= BUS_MATCH_MAX_ARGS)
		return invalid(error, "'%s': arguments are numbered 0 to %u.", key,
			       BUS_MATCH_MAX_ARGS - 1);
	if (!*p)
		kind = ARG_EQUAL;
	else if (streq(p, "path"))
		kind = ARG_PATH;
	else if (streq(p, "namespace") && index == 0)
		kind = ARG_NAMESPACE;
	else
		return invalid(error, "Unknown key '%s' in the match rule.", key);

	if (kind == ARG_PATH && (*value)[0] != '/')
		return invalid(error, "'%s' must be a path starting with '/'.", key);
	if (kind == ARG_NAMESPACE && !name_namespace_is_valid(*value))
		return invalid(error, "'%s' must be a bus or interface name or a prefix of one.",
			       key);

	for (at = 0; at < rule->n_args && rule->args[at].index <= index; at++)
		if (rule->args[at].index == index)
			return invalid(error, "Argument %u is matched twice in the match rule.",
				       index);
	args = reallocarray(rule->args, rule->n_args + 1, sizeof(*args));
	if (!args)
		return -ENOMEM;
	rule->args = args;
	memmove(args + at + 1, args + at, (rule->n_args - at) * sizeof(*args));
	args[at] = (ArgCondition){.index = index, .kind = kind, .value = TAKE_PTR(*value)};
	rule->n_args++;
	return 0;
}

/* Takes *value on success. */
static int add_condition(BusMatchRule *rule, const char *key, char **value, sd_bus_error *error)
{
	if (streq(key, "eavesdrop")) {
		if (rule->eavesdrop_given)
			return invalid(error, "Key 'eavesdrop' appears twice in the match rule.");
		if (streq(*value, "true"))
			return invalid(error, "eavesdrop='true' is not supported: no connection "
					      "receives messages addressed to another.");
		if (!streq(*value, "false"))
			return invalid(error, "'eavesdrop' must be 'true' or 'false'.");
		rule->eavesdrop_given = true;
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(key_specs); i++) {
		const KeySpec *spec = &key_specs[i];
		char **field = (char **)((char *)rule + spec->offset);

		if (!streq(key, spec->key))
			continue;
		if (*field)
			return invalid(error, "Key '%s' appears twice in the match rule.", key);
		if (spec->is_valid(*value) <= 0)
			return invalid(error, "'%s' must be %s, not '%s'.", key, spec->expected,
				       *value);
		*field = TAKE_PTR(*value);
		return 0;
	}
	if (startswith(key, "arg"))
		return add_arg(rule, key, value, error);
	return invalid(error, "Unknown key '%s' in the match rule.", key);
}

int bus_match_rule_parse(const char *text, BusMatchRule **ret, sd_bus_error *error)
{
	_cleanup_(bus_match_rule_freep) BusMatchRule *rule = NULL;
	const char *p = text;
	int r;

	if (strlen(text) > BUS_MATCH_MAX_RULE_LENGTH)
		return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
					 "A match rule may be %u bytes long.",
					 BUS_MATCH_MAX_RULE_LENGTH);
	rule = calloc(1, sizeof(*rule));
	if (!rule)
		return -ENOMEM;
	for (;;) {
		_cleanup_free_ char *key = NULL, *value = NULL;

		p += strspn(p, " \t\r\n");
		if (!*p)
			break;
		r = read_key(&p, &key, error);
		if (r >= 0)
			r = read_value(&p, key, &value, error);
		if (r >= 0)
			r = add_condition(rule, key, &value, error);
		if (r < 0)
			return r;
		if (*p == ',')
			p++;
	}
	if (rule->path && rule->path_namespace)
		return invalid(error, "A match rule cannot have both 'path' and 'path_namespace'.");
	*ret = TAKE_PTR(rule);
	return 0;
}

bool bus_match_rule_equal(const BusMatchRule *a, const BusMatchRule *b)
{
	for (size_t i = 0; i < ELEMENTSOF(key_specs); i++) {
		size_t offset = key_specs[i].offset;

		if (!streq_ptr(*(char *const *)((const char *)a + offset),
			       *(char *const *)((const char *)b + offset)))
			return false;
	}
	if (a->n_args != b->n_args)
		return false;
	for (size_t i = 0; i < a->n_args; i++)
		if (a->args[i].index != b->args[i].index || a->args[i].kind != b->args[i].kind ||
		    !streq(a->args[i].value, b->args[i].value))
			return false;
	return true;
}

static bool path_in_namespace(const char *path, const char *namespace)
{
	const char *rest = startswith(path, namespace);

	return streq(namespace, "/") || (rest && (*rest == '\0' || *rest == '/'));
}

static bool ends_with_slash(const char *s)
{
	return *s && s[strlen(s) - 1] == '/';
}

/* argNpath: equal, or one of them ends with '/' and is a prefix of the other. */
static bool arg_path_matches(const char *arg, const char *rule)
{
	return streq(arg, rule) || (ends_with_slash(rule) && startswith(arg, rule)) ||
	       (ends_with_slash(arg) && startswith(rule, arg));
}

static bool name_in_namespace(const char *name, const char *namespace)
{
	const char *rest = startswith(name, namespace);

	return rest && (*rest == '\0' || *rest == '.');
}

static bool arg_matches(const ArgCondition *condition, const BusSignal *signal)
{
	const BusMatchArg *arg;

	if (condition->index >= signal->n_args)
		return false;
	arg = &signal->args[condition->index];
	if (!arg->value)
		return false;
	switch (condition->kind) {
	case ARG_EQUAL:
		return arg->type == 's' && streq(arg->value, condition->value);
	case ARG_PATH:
		return (arg->type == 's' || arg->type == 'o') &&
		       arg_path_matches(arg->value, condition->value);
	case ARG_NAMESPACE:
		return arg->type == 's' && name_in_namespace(arg->value, condition->value);
	}
	return false;
}

bool bus_match_rule_matches(const BusMatchRule *rule, const BusSignal *signal)
{
	if (rule->type && !streq(rule->type, "signal"))
		return false;
	if (rule->sender && !strv_contains((char *const *)signal->senders, rule->sender))
		return false;
	if (rule->destination && !streq_ptr(rule->destination, signal->destination))
		return false;
	if (rule->interface && !streq_ptr(rule->interface, signal->interface))
		return false;
	if (rule->member && !streq_ptr(rule->member, signal->member))
		return false;
	if (rule->path && !streq_ptr(rule->path, signal->path))
		return false;
	if (rule->path_namespace &&
	    !(signal->path && path_in_namespace(signal->path, rule->path_namespace)))
		return false;
	for (size_t i = 0; i < rule->n_args; i++)
		if (!arg_matches(&rule->args[i], signal))
			return false;
	return true;
}

int bus_match_set_add(BusMatchSet *set, const char *text, sd_bus_error *error)
{
	_cleanup_(bus_match_rule_freep) BusMatchRule *rule = NULL;
	BusMatchRule **rules;
	int r;

	r = bus_match_rule_parse(text, &rule, error);
	if (r < 0)
		return r;
	if (set->n_rules >= BUS_MATCH_MAX_RULES)
		return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
					 "A connection may have %u match rules.",
					 BUS_MATCH_MAX_RULES);
	rules = reallocarray(set->rules, set->n_rules + 1, sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	set->rules = rules;
	rules[set->n_rules++] = TAKE_PTR(rule);
	return 0;
}

int bus_match_set_remove(BusMatchSet *set, const char *text, sd_bus_error *error)
{
	_cleanup_(bus_match_rule_freep) BusMatchRule *rule = NULL;
	int r;

	r = bus_match_rule_parse(text, &rule, error);
	if (r < 0)
		return r;
	/* The newest first, as dbus-daemon does; equal rules are interchangeable anyway. */
	for (size_t i = set->n_rules; i-- > 0;) {
		if (!bus_match_rule_equal(set->rules[i], rule))
			continue;
		bus_match_rule_free(set->rules[i]);
		memmove(set->rules + i, set->rules + i + 1,
			(set->n_rules - i - 1) * sizeof(*set->rules));
		set->n_rules--;
		return 0;
	}
	return sd_bus_error_setf(error, SD_BUS_ERROR_MATCH_RULE_NOT_FOUND,
				 "The connection has no match rule '%s'.", text);
}

bool bus_match_set_matches(const BusMatchSet *set, const BusSignal *signal)
{
	for (size_t i = 0; i < set->n_rules; i++)
		if (bus_match_rule_matches(set->rules[i], signal))
			return true;
	return false;
}

void bus_match_set_clear(BusMatchSet *set)
{
	for (size_t i = 0; i < set->n_rules; i++)
		bus_match_rule_free(set->rules[i]);
	set->rules = mfree(set->rules);
	set->n_rules = 0;
}
