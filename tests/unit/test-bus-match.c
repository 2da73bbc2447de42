/* SPDX-License-Identifier: MIT */
/*
 * D-Bus match rules (daemon/bus-match.c): the D-Bus specification's examples
 * parse and match as it says, malformed rules are refused with
 * MatchRuleInvalid, and the caps answer LimitsExceeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-match.h"
#include "tap.h"
#include "util.h"

#define INVALID "org.freedesktop.DBus.Error.MatchRuleInvalid"
#define LIMITS	"org.freedesktop.DBus.Error.LimitsExceeded"

static const char *const broker_names[] = {"io.vfiod.Broker1", ":1.0", NULL};

/* A broadcast signal from the broker with up to four arguments of type `types`. */
static BusSignal signal_of(const char *path, const char *interface, const char *member,
			   const char *types, const char *const *values, BusMatchArg *args)
{
	size_t n = types ? strlen(types) : 0;

	for (size_t i = 0; i < n; i++)
		args[i] = (BusMatchArg){types[i], values[i]};
	return (BusSignal){.senders = broker_names,
			   .path = path,
			   .interface = interface,
			   .member = member,
			   .args = args,
			   .n_args = n};
}

static const BusSignal *props_changed(const char *path, const char *interface)
{
	static BusMatchArg args[1];
	static BusSignal s;

	s = signal_of(path, "org.freedesktop.DBus.Properties", "PropertiesChanged", "s",
		      (const char *[]){interface}, args);
	return &s;
}

/* One argument of type `type`, on a fixed signal. */
static const BusSignal *arg0_of(char type, const char *value)
{
	static BusMatchArg args[1];
	static BusSignal s;

	s = signal_of("/a", "org.example.I", "M", (char[]){type, 0}, (const char *[]){value}, args);
	return &s;
}

/* Parses rule, which must be valid; NULL when it was not (a failure is counted). */
static BusMatchRule *parse(const char *rule)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	BusMatchRule *r = NULL;

	if (bus_match_rule_parse(rule, &r, &e) < 0) {
		fprintf(stderr, "refused \"%s\": %s\n", rule, e.message);
		test_failures++;
	}
	sd_bus_error_free(&e);
	return r;
}

static bool matches(const char *rule, const BusSignal *s)
{
	BusMatchRule *r = parse(rule);
	bool m = r && bus_match_rule_matches(r, s);

	bus_match_rule_free(r);
	return m;
}

static void expect_refused(const char *rule, const char *error)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	BusMatchRule *r = NULL;

	if (bus_match_rule_parse(rule, &r, &e) >= 0 || !sd_bus_error_has_name(&e, error) ||
	    !e.message || !*e.message) {
		fprintf(stderr, "\"%.80s\": expected %s, got %s\n", rule, error,
			r ? "success" : e.name);
		test_failures++;
	}
	bus_match_rule_free(r);
	sd_bus_error_free(&e);
}

static bool equal(const char *a, const char *b)
{
	BusMatchRule *ra = parse(a), *rb = parse(b);
	bool eq = ra && rb && bus_match_rule_equal(ra, rb);

	bus_match_rule_free(ra);
	bus_match_rule_free(rb);
	return eq;
}

static void test_spec_examples(void)
{
	const BusSignal *s = props_changed("/bar/foo", "org.example.Foo");

	CHECK(matches("", s));
	CHECK(matches("type='signal'", s));
	CHECK(matches("type='signal',sender='io.vfiod.Broker1'", s));
	CHECK(matches("sender=':1.0'", s));
	CHECK(!matches("type='signal',sender='org.freedesktop.DBus'", s));
	CHECK(matches("type='signal',interface='org.freedesktop.DBus.Properties'", s));
	CHECK(!matches("type='signal',interface='org.freedesktop.DBus'", s));
	CHECK(!matches("type='method_call'", s));
	CHECK(!matches("type='error'", s));
	CHECK(matches("member='PropertiesChanged',path='/bar/foo',arg0='org.example.Foo'", s));
	CHECK(!matches("member='PropertiesChanged',path='/bar/foo',arg0='org.example.Fo'", s));
	/* The specification's long example parses; its destination never matches a broadcast. */
	CHECK(
	    !matches("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
		     "member='Foo',path='/bar/foo',destination=':452345.34',arg2='bar'",
		     s));
	CHECK(!matches("destination=':1.1'", s));
	/* arg1 does not exist (or is no string) in this description. */
	CHECK(!matches("arg1=''", s));

	/* path_namespace */
	CHECK(matches("path_namespace='/com/example/foo'",
		      props_changed("/com/example/foo", "org.example.I")));
	CHECK(matches("path_namespace='/com/example/foo'",
		      props_changed("/com/example/foo/bar", "org.example.I")));
	CHECK(!matches("path_namespace='/com/example/foo'",
		       props_changed("/com/example/foobar", "org.example.I")));
	CHECK(matches("path_namespace='/'", props_changed("/x", "org.example.I")));

	/* arg0namespace: strings only */
	CHECK(
	    matches("arg0namespace='com.example.backend1'", arg0_of('s', "com.example.backend1")));
	CHECK(matches("arg0namespace='com.example.backend1'",
		      arg0_of('s', "com.example.backend1.foo")));
	CHECK(matches("arg0namespace='com.example.backend1'",
		      arg0_of('s', "com.example.backend1.foo.bar")));
	CHECK(!matches("arg0namespace='com.example.backend1'",
		       arg0_of('s', "com.example.backend10")));
	CHECK(
	    !matches("arg0namespace='com.example.backend1'", arg0_of('s', "com.example.backend")));
	CHECK(matches("arg0namespace='com'", arg0_of('s', "com.example")));

	/* argNpath: strings and object paths */
	static const char *const path_matches[] = {"/", "/aa/", "/aa/bb/", "/aa/bb/cc/",
						   "/aa/bb/cc"};
	static const char *const path_misses[] = {"/aa/b", "/aa", "/aa/bb"};
	for (size_t i = 0; i < ELEMENTSOF(path_matches); i++) {
		CHECK(matches("arg0path='/aa/bb/'", arg0_of('s', path_matches[i])));
		CHECK(matches("arg0path='/aa/bb/'", arg0_of('o', path_matches[i])));
	}
	for (size_t i = 0; i < ELEMENTSOF(path_misses); i++)
		CHECK(!matches("arg0path='/aa/bb/'", arg0_of('s', path_misses[i])));
	CHECK(matches("arg0path='/aa/bb'", arg0_of('o', "/aa/")));
	CHECK(!matches("arg0path='/aa/bb'", arg0_of('o', "/aa/bb/cc")));

	/* argN: strings only, not object paths */
	CHECK(matches("arg0='/a/b'", arg0_of('s', "/a/b")));
	CHECK(!matches("arg0='/a/b'", arg0_of('o', "/a/b")));
	CHECK(!matches("arg0namespace='a.b'", arg0_of('o', "/a/b")));
	CHECK(matches("arg0=''", arg0_of('s', "")));
	CHECK(!matches("arg63='x'", arg0_of('s', "x")));
}

/* The specification's quoting example: both spellings mean the same four arguments. */
static void test_quoting(void)
{
	static const char quoted[] = "arg0=''\\''',arg1='\\',arg2=',',arg3='\\\\'";
	static const char unquoted[] = "arg0=\\',arg1=\\,arg2=',',arg3=\\\\";
	BusMatchArg args[4];
	BusSignal s = signal_of("/a", "org.example.I", "M", "ssss",
				(const char *[]){"'", "\\", ",", "\\\\"}, args);
	BusMatchArg other_args[4];
	BusSignal other = signal_of("/a", "org.example.I", "M", "ssss",
				    (const char *[]){"'", "\\", ",", "\\"}, other_args);

	CHECK(matches(quoted, &s));
	CHECK(matches(unquoted, &s));
	CHECK(!matches(quoted, &other));
	CHECK(equal(quoted, unquoted));
	/* Quoted and unquoted parts join: it'sme. */
	CHECK(matches("arg0=it\\''s'me", arg0_of('s', "it'sme")));
	CHECK(equal("type='signal',member='M'", " member=M,type=signal,"));
	CHECK(!equal("member='M'", "member='M',arg0=''"));
	CHECK(!equal("arg0path='/a/'", "arg0='/a/'"));
	CHECK(equal("eavesdrop='false',member='M'", "member='M'"));
}

static void test_malformed(void)
{
	static const char *const invalid[] = {
	    "type='signal",
	    "type",
	    "type='signal',member",
	    "='x'",
	    ",type='signal'",
	    "foo='bar'",
	    "Type='signal'",
	    "type = 'signal'",
	    "type='signal' ",
	    "type='bogus'",
	    "type='signal',type='signal'",
	    "sender='not a name'",
	    "sender=''",
	    "interface='noDots'",
	    "interface='org.example.'",
	    "member='a.b'",
	    "member=''",
	    "path='/a/'",
	    "path='a'",
	    "path_namespace='//'",
	    "path='/a',path_namespace='/b'",
	    "destination='org.example.Name'",
	    "arg64='x'",
	    "arg99999999999999999999='x'",
	    "arg01='x'",
	    "arg='x'",
	    "argx='x'",
	    "arg0foo='x'",
	    "arg1namespace='a.b'",
	    "arg0namespace=''",
	    "arg0namespace='a..b'",
	    "arg0namespace='a.1b'",
	    "arg0namespace='a/b'",
	    "arg0path='relative'",
	    "arg0path=''",
	    "arg0='a',arg0path='/a'",
	    "arg3='a',arg3='b'",
	    "eavesdrop='true'",
	    "eavesdrop='maybe'",
	    "eavesdrop='false',eavesdrop='false'",
	};
	char rule[BUS_MATCH_MAX_RULE_LENGTH + 2];

	for (size_t i = 0; i < ELEMENTSOF(invalid); i++)
		expect_refused(invalid[i], INVALID);

	/* The length cap, on the rule's own bytes. */
	memset(rule, 0, sizeof(rule));
	strcpy(rule, "arg0='");
	memset(rule + 6, 'x', BUS_MATCH_MAX_RULE_LENGTH - 7);
	strcat(rule, "'");
	CHECK(strlen(rule) == BUS_MATCH_MAX_RULE_LENGTH);
	bus_match_rule_free(parse(rule));
	strcat(rule, " ");
	expect_refused(rule, LIMITS);
}

static void test_set(void)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	BusMatchSet set = {};
	char rule[64];

	CHECK(!bus_match_set_matches(&set, props_changed("/a", "org.example.I")));
	for (unsigned i = 0; i < BUS_MATCH_MAX_RULES; i++) {
		snprintf(rule, sizeof(rule), "path='/p%u'", i);
		CHECK(bus_match_set_add(&set, rule, &e) == 0);
	}
	CHECK(bus_match_set_matches(&set, props_changed("/p7", "org.example.I")));
	CHECK(!bus_match_set_matches(&set, props_changed("/q", "org.example.I")));
	CHECK(bus_match_set_add(&set, "path='/q'", &e) == -ENOBUFS);
	CHECK(sd_bus_error_has_name(&e, LIMITS));
	sd_bus_error_free(&e);
	CHECK(bus_match_set_add(&set, "path=", &e) == -EINVAL);
	CHECK(sd_bus_error_has_name(&e, INVALID));
	sd_bus_error_free(&e);

	CHECK(bus_match_set_remove(&set, "path='/nowhere'", &e) == -ENOENT);
	CHECK(sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.MatchRuleNotFound"));
	sd_bus_error_free(&e);
	CHECK(bus_match_set_remove(&set, "path=/p7", &e) == 0);
	CHECK(!bus_match_set_matches(&set, props_changed("/p7", "org.example.I")));
	CHECK(bus_match_set_matches(&set, props_changed("/p8", "org.example.I")));
	CHECK(set.n_rules == BUS_MATCH_MAX_RULES - 1);

	/* The same rule twice is two rules: one removal leaves the other. */
	CHECK(bus_match_set_add(&set, "path='/q'", &e) == 0);
	CHECK(bus_match_set_remove(&set, "path='/p8'", &e) == 0);
	CHECK(bus_match_set_add(&set, "path='/q'", &e) == 0);
	CHECK(bus_match_set_remove(&set, "path='/q'", &e) == 0);
	CHECK(bus_match_set_matches(&set, props_changed("/q", "org.example.I")));
	CHECK(bus_match_set_remove(&set, "path='/q'", &e) == 0);
	CHECK(!bus_match_set_matches(&set, props_changed("/q", "org.example.I")));
	bus_match_set_clear(&set);
	CHECK(set.n_rules == 0 && !set.rules);
	sd_bus_error_free(&e);
}

int main(void)
{
	test_spec_examples();
	test_quoting();
	test_malformed();
	test_set();
	return test_exit();
}
