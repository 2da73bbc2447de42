/* SPDX-License-Identifier: MIT */
/*
 * The static policy: which devices vfiod manages at all, who may claim which
 * of them, and with which options. Read from vfiod.conf and policy.d/ *.conf
 * (format and semantics: vfiod.conf(5)).
 *
 * policy-load.c reads the files, policy.c parses and checks them,
 * policy-value.c parses and formats the values, policy-match.c decides, and
 * policy-explain.c says why.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum DmaMode {
	DMA_MODE_CONTAINER = 1 << 0, /* client gets the container fd, memlock raised to quota */
	DMA_MODE_BROKERED = 1 << 1,  /* client passes sealed memfds, daemon maps them */
} DmaMode;

#define DMA_MODES_ALL (DMA_MODE_CONTAINER | DMA_MODE_BROKERED)

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC  UINT64_C(1000000)

/* Limits; exceeding one is an error. */
#define POLICY_RULES_MAX	     1024u
#define POLICY_ENTRIES_MAX	     4096u		 /* words per key in one section */
#define POLICY_FILE_SIZE_MAX	     (UINT64_C(1) << 20) /* bytes per file */
#define POLICY_DROPINS_MAX	     1024u		 /* *.conf files in the drop-in directory */
#define POLICY_DMA_QUOTA_MAX	     (UINT64_C(1) << 40)
#define POLICY_MAX_DEVICES_MAX	     1024u
#define POLICY_REVOKE_GRACE_MAX_USEC (UINT64_C(3600) * USEC_PER_SEC)
#define POLICY_NAME_MAX		     128u /* a device name, DT compatible or mdev type */

/* Defaults when a rule does not say. */
#define POLICY_DEFAULT_DMA_QUOTA	 (UINT64_C(256) << 20)
#define POLICY_DEFAULT_MAX_DEVICES	 8u
#define POLICY_DEFAULT_REVOKE_GRACE_USEC (UINT64_C(10) * USEC_PER_SEC)

typedef struct PciIdMatch {
	uint32_t vendor_id; /* POLICY_ID_ANY matches every vendor */
	uint32_t device_id; /* POLICY_ID_ANY matches every device */
} PciIdMatch;
#define POLICY_ID_ANY UINT32_MAX

typedef struct ClassMatch {
	uint32_t value; /* class bits to compare, already shifted into 24-bit position */
	uint32_t mask;	/* 0xff0000, 0xffff00 or 0xffffff */
} ClassMatch;

/* Device matchers, as in a rule, [Manage] or [Ignore]: a device matches when any entry does. */
typedef struct PolicyDeviceMatch {
	char **addresses; /* Addresses=: device names (see PolicyDevice.address), NULL-terminated */
	PciIdMatch *ids;  /* Ids= */
	size_t n_ids;
	ClassMatch *classes; /* Classes= */
	size_t n_classes;
	int *iommu_groups; /* IommuGroups= */
	size_t n_iommu_groups;
	char **compatibles; /* Compatibles=: DT compatible strings, NULL-terminated */
	char **mdev_types;  /* MdevTypes=: mdev type names, NULL-terminated */
} PolicyDeviceMatch;

typedef struct PolicyRule {
	char *name; /* from the section header [Rule NAME] */
	char *file; /* where it was defined, for messages */
	unsigned line;

	PolicyDeviceMatch devices;

	/* A subject matches when its uid is listed or any of its groups is. */
	uid_t *uids;
	size_t n_uids;
	gid_t *gids;
	size_t n_gids;

	/* What a matching subject gets. */
	unsigned dma_modes; /* DmaMode bits, never 0 */
	uint64_t dma_quota; /* bytes a client may have mapped / pinned */
	unsigned max_devices;
	bool require_reset; /* refuse a device the kernel cannot reset (claim.c) */
	/* Parsed and exposed, not yet acted on (see vfiod.conf(5)): */
	bool may_rebind; /* vfiod may bind the device to vfio-pci and restore it after */
	uint64_t
	    revoke_grace_usec; /* how long a holder has to release after a revocation request */
	bool revoke_force;     /* kill the holder by pidfd when the grace period ends */
} PolicyRule;

typedef enum PolicyManageMode {
	POLICY_MANAGE_RULES, /* the devices some rule's device matchers match (the default) */
	POLICY_MANAGE_ALL,   /* every device */
	POLICY_MANAGE_NONE,  /* none but those [Manage] lists */
} PolicyManageMode;

/* A [Manage] or [Ignore] section; file is NULL when the policy has none. */
typedef struct PolicyDeviceSet {
	char *file;
	unsigned line;
	PolicyDeviceMatch devices;
} PolicyDeviceSet;

typedef struct Policy {
	PolicyRule *rules; /* in file order: vfiod.conf first, then policy.d sorted by name */
	size_t n_rules;

	PolicyManageMode manage_mode; /* [Manage] Devices= */
	PolicyDeviceSet manage;	      /* [Manage]: managed in addition to what manage_mode says */
	PolicyDeviceSet ignore;	      /* [Ignore]: never managed, whatever else matches */
} Policy;

typedef enum PolicyDeviceType {
	POLICY_DEVICE_UNKNOWN, /* Ids= and Classes= never match it */
	POLICY_DEVICE_PCI,
	POLICY_DEVICE_PLATFORM,
	POLICY_DEVICE_MDEV,
} PolicyDeviceType;

/* What a device looks like to the policy; every field comes from sysfs (or the DT). */
typedef struct PolicyDevice {
	PolicyDeviceType type;
	/*
	 * The device's name in sysfs, as Addresses= lists it: a PCI address
	 * (0000:01:00.0), a platform device name (ff100000.dma) or an mdev UUID.
	 * NULL matches no Addresses=.
	 */
	const char *address;
	uint16_t vendor_id;    /* PCI only */
	uint16_t device_id;    /* PCI only */
	uint32_t class_code;   /* PCI only: 24 bits */
	int iommu_group;       /* -1 when none */
	char **compatible;     /* DT compatible list, most specific first; NULL when none */
	const char *mdev_type; /* mdev type name (i915-GVTg_V5_4); NULL for other devices */
} PolicyDevice;

/* Who asks; every field comes from the kernel (SO_PEERCRED, SO_PEERGROUPS, bus creds). */
typedef struct PolicySubject {
	uid_t uid;
	gid_t gid; /* (gid_t) -1 when unknown: matches no Groups= */
	const gid_t *supplementary_gids;
	size_t n_supplementary_gids;
} PolicySubject;

/*
 * Loads config_path and then every "*.conf" in dropin_dir (sorted; a missing
 * file or directory is an empty policy, not an error). On a parse error or a
 * conflict returns -EINVAL (or the errno of a failed read) and sets *ret_error
 * to "FILE:LINE: what is wrong"; nothing is returned then. Returns 0 and a new
 * Policy on success.
 *
 * Other errors, each with "FILE: what is wrong" in *ret_error: -EPERM for a
 * file or directory not owned by root or writable by group or others, -ELOOP
 * for a symbolic link, -EINVAL for something that is not a regular file,
 * -EFBIG for a file over POLICY_FILE_SIZE_MAX. On -ENOMEM *ret_error may be
 * NULL. ret_error may be NULL; *ret_error is written only on failure.
 *
 * User and group names are resolved with getpwnam_r()/getgrnam_r() now, so a
 * reload needs NSS to work in the daemon's sandbox as it did at start.
 */
int policy_load(const char *config_path, const char *dropin_dir, Policy **ret, char **ret_error);

/*
 * policy_load() with the owner every file and the drop-in directory must have
 * (policy_load() passes 0, root); lets tests run with files they own.
 */
int policy_load_full(const char *config_path, const char *dropin_dir, uid_t owner_uid, Policy **ret,
		     char **ret_error);

/* Same, from a string; `origin` names it in messages. For tests. */
int policy_load_string(const char *text, const char *origin, Policy **ret, char **ret_error);

/* The drop-in directory that goes with a config file: "policy.d" beside it. */
int policy_dropin_dir_for(const char *config_path, char **ret);

Policy *policy_free(Policy *p);

/*
 * Whether vfiod manages the device at all: publishes it, opens its IOMMU group
 * to read VFIO metadata, and lets rules grant it. False for a device in
 * [Ignore]; else true for Devices=all, for a device [Manage] lists, and (with
 * Devices=rules, the default) for a device some rule's device matchers match,
 * whoever the rule's subjects are. False for a NULL policy or device.
 */
bool policy_manages_device(const Policy *p, const PolicyDevice *device);

/*
 * The first rule that matches both subject and device, or NULL (deny). NULL
 * too for a device the policy does not manage.
 */
const PolicyRule *policy_find_rule(const Policy *p, const PolicySubject *subject,
				   const PolicyDevice *device);

/*
 * Says why policy_find_rule() decides as it does, one line per step: for a
 * device vfiod does not manage, one line saying why; otherwise one line per
 * rule consulted, in order, with the first reason each did not match, "rule
 * NAME (FILE:LINE): uid 1003 (gids 1003 27) is not in Users= or Groups=",
 * ending with the rule that matched, "rule NAME (FILE:LINE): allows: device
 * by Ids=8086:*, subject by Groups=27", if one did. No line ends in '\n'.
 *
 * Returns 0, *ret_rule the deciding rule (NULL: denied) and *ret_lines a
 * NULL-terminated array to free with strv_free(); -EINVAL for a NULL argument,
 * -ENOMEM. Nothing is written on failure.
 */
int policy_explain(const Policy *p, const PolicySubject *subject, const PolicyDevice *device,
		   const PolicyRule **ret_rule, char ***ret_lines);

/*
 * The options a rule grants, as settings: "DmaModes=container brokered
 * DmaQuota=256M MaxDevices=8 RequireReset=no MayRebind=no RevokeGraceSec=10s
 * RevokeForce=no". Returns 0 and a new string, or -ENOMEM.
 */
int policy_rule_format_options(const PolicyRule *rule, char **ret);

/* "0000:00:03.0 (PCI 1234:11e8, class 00ff00, IOMMU group 3)"; 0 or -ENOMEM. */
int policy_device_format(const PolicyDevice *device, char **ret);

/* Parses "container" / "brokered"; returns the DmaMode bit or 0. */
DmaMode dma_mode_from_string(const char *s);
const char *dma_mode_to_string(DmaMode m);
