/* SPDX-License-Identifier: MIT */
/*
 * vfioctl policy check: the results of a check (policy.c computes them) and
 * their two renderings, the human text (policy-text.c) and the JSON object
 * of vfioctl(1) (policy-json.c; field names are a stable interface: only ever
 * add).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "sysfs.h"

#define EXIT_ALLOWED 0
#define EXIT_DENIED  1
#define EXIT_ERROR   2

#define POLICY_CHECK_DEVICES_MAX 64

/* The subject being checked, as vfiod would see it; owns its gid array. */
struct subject {
	PolicySubject s;
	gid_t *gids;
	char *name; /* NULL when the uid has no passwd entry */
};

/* Why a claim of an allowed device would still fail, though the policy does not decide it. */
enum device_note {
	DEVICE_NOTE_NONE,
	DEVICE_NOTE_NO_IOMMU_GROUP,
	DEVICE_NOTE_NOT_VFIO_PCI,
};

/* One DEVICE argument and what the policy says about it. */
struct device_verdict {
	char *address; /* as given, made canonical */
	int status;    /* EXIT_ALLOWED, EXIT_DENIED or EXIT_ERROR */
	char *error;   /* EXIT_ERROR: "ADDRESS: why" (NULL without memory); nothing below is set */
	PciDeviceInfo info;
	char *description;	/* policy_device_format() */
	bool managed;		/* policy_manages_device() */
	char **explanation;	/* policy_explain(), one line per step */
	const PolicyRule *rule; /* the deciding rule, in the Policy; NULL: denied */
	char *options;		/* the rule's options as settings; NULL when denied */
	enum device_note note;
};

/* The options one claim of all allowed devices gets: the strictest of their rules, as
 * vfiod's claim combines them (MayRebind is per device and not part of it). */
struct grant {
	unsigned dma_modes;
	uint64_t dma_quota;
	unsigned max_devices;
	bool require_reset;
	uint64_t revoke_grace_usec;
	bool revoke_force;
};

struct policy_check {
	const char *config;
	char *dropins;
	const Policy *policy;
	struct subject subject;
	struct device_verdict devices[POLICY_CHECK_DEVICES_MAX];
	size_t n_devices;
	struct grant grant; /* valid when status is EXIT_ALLOWED */
	int status;	    /* EXIT_ALLOWED, EXIT_DENIED or EXIT_ERROR (a device had an error) */
};

/* policy-text.c: the human text on stdout, and each device's error on stderr in its place.
 * 0 or -EIO. */
int policy_check_print_text(const struct policy_check *c);
/* policy-text.c: "vfioctl: ERROR" on stderr for a device that could not be checked. */
void device_verdict_print_error(const struct device_verdict *v);
/* policy-text.c: the note's sentence, or *ret NULL when there is none. 0 or -ENOMEM. */
int device_verdict_note(const struct device_verdict *v, char **ret);

/* policy-json.c: one JSON object on stdout. Only for a check without device errors.
 * 0, -ENOMEM or -EIO. */
int policy_check_print_json(const struct policy_check *c);
