/* SPDX-License-Identifier: MIT */
/*
 * The syntax of the policy files, one text at a time (policy.c); the loader
 * (policy-load.c) decides which files and feeds them in order. Internal to
 * the policy library.
 */
#pragma once

#include "policy.h"
#include "util.h"

typedef struct PolicyParser PolicyParser;

/* 0 and a new parser holding an empty policy, or -ENOMEM. */
int policy_parser_new(PolicyParser **ret);
PolicyParser *policy_parser_free(PolicyParser *p);

/*
 * Parses one whole text (a file) into the policy; `origin` names it in
 * messages and must stay valid until the next feed. Returns 0 or the first
 * error, which stays recorded: later feeds do nothing.
 */
int policy_parser_feed(PolicyParser *p, const char *origin, const char *text, size_t size);

/*
 * Records the first error, as "ORIGIN:LINE: message" ("ORIGIN: message" for
 * line 0); a later one is ignored. Returns r.
 */
int policy_parser_error(PolicyParser *p, const char *origin, unsigned line, int r, const char *fmt,
			...) _printf_(5, 6);
/* Records -ENOMEM (without a message) unless an error is recorded; returns -ENOMEM. */
int policy_parser_oom(PolicyParser *p);

/*
 * Checks the policy as a whole (conflicting rules), frees p, and returns 0
 * and the policy in *ret, or the first error with its message in *ret_error
 * (which may be NULL, and is NULL on -ENOMEM).
 */
int policy_parser_finish(PolicyParser *p, Policy **ret, char **ret_error);
