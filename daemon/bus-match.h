/* SPDX-License-Identifier: MIT */
/*
 * D-Bus match rules (org.freedesktop.DBus.AddMatch), parsed as the D-Bus
 * specification writes them and matched against the signals vfiod sends, so
 * the private socket routes broadcast signals as a bus daemon would.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

/* What a client can make the daemon keep: longer rules or more of them -> LimitsExceeded. */
#define BUS_MATCH_MAX_RULE_LENGTH 1024u
#define BUS_MATCH_MAX_RULES	  32u
/* argN: the specification's range, 0..63. */
#define BUS_MATCH_MAX_ARGS 64u

typedef struct BusMatchRule BusMatchRule;

/* One argument of a signal as a rule can see it: 's' (string) or 'o' (object path). */
typedef struct BusMatchArg {
	char type;
	const char *value;
} BusMatchArg;

/* A signal to route. Arguments a rule cannot match (not 's' or 'o') need not be given. */
typedef struct BusSignal {
	const char *const *senders; /* every name the sender owns, NULL-terminated */
	const char *destination;    /* NULL: a broadcast */
	const char *path;
	const char *interface;
	const char *member;
	const BusMatchArg *args; /* args[i] is argument i */
	size_t n_args;
} BusSignal;

/*
 * Parses text. Fails with -EINVAL and org.freedesktop.DBus.Error.MatchRuleInvalid
 * (unknown or repeated key, bad value, bad quoting, eavesdrop='true'),
 * -ENOBUFS and org.freedesktop.DBus.Error.LimitsExceeded (longer than
 * BUS_MATCH_MAX_RULE_LENGTH), or -ENOMEM.
 */
int bus_match_rule_parse(const char *text, BusMatchRule **ret, sd_bus_error *error);
BusMatchRule *bus_match_rule_free(BusMatchRule *rule);
/* The same conditions, however they were written (order of keys, quoting). */
bool bus_match_rule_equal(const BusMatchRule *a, const BusMatchRule *b);
bool bus_match_rule_matches(const BusMatchRule *rule, const BusSignal *signal);

/* The rules of one connection. Zero-initialised is empty. */
typedef struct BusMatchSet {
	BusMatchRule **rules;
	size_t n_rules;
} BusMatchSet;

/*
 * Adds a rule (the same rule twice is kept twice, as dbus-daemon does).
 * Errors as bus_match_rule_parse(), and -ENOBUFS with LimitsExceeded when the
 * set already holds BUS_MATCH_MAX_RULES.
 */
int bus_match_set_add(BusMatchSet *set, const char *text, sd_bus_error *error);
/*
 * Removes one rule equal to text. Errors as bus_match_rule_parse(), and
 * -ENOENT with org.freedesktop.DBus.Error.MatchRuleNotFound.
 */
int bus_match_set_remove(BusMatchSet *set, const char *text, sd_bus_error *error);
/* Whether any rule of the set matches: a connection without rules gets no broadcast. */
bool bus_match_set_matches(const BusMatchSet *set, const BusSignal *signal);
void bus_match_set_clear(BusMatchSet *set);
