/* SPDX-License-Identifier: MIT */
/*
 * The static policy: who may claim which device, with which options.
 * Read from vfiod.conf and policy.d/ *.conf (format: vfiod.conf(5)).
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

/* Limits; exceeding one is an error. */
#define POLICY_RULES_MAX       1024u
#define POLICY_ENTRIES_MAX     4096u		   /* words per key in one rule */
#define POLICY_FILE_SIZE_MAX   (UINT64_C(1) << 20) /* bytes per file */
#define POLICY_DROPINS_MAX     1024u		   /* *.conf files in the drop-in directory */
#define POLICY_DMA_QUOTA_MAX   (UINT64_C(1) << 40)
#define POLICY_MAX_DEVICES_MAX 1024u

/* Defaults when a rule does not say. */
#define POLICY_DEFAULT_DMA_QUOTA   (UINT64_C(256) << 20)
#define POLICY_DEFAULT_MAX_DEVICES 8u

typedef struct PciIdMatch {
	uint32_t vendor_id; /* POLICY_ID_ANY matches every vendor */
	uint32_t device_id; /* POLICY_ID_ANY matches every device */
} PciIdMatch;
#define POLICY_ID_ANY UINT32_MAX

typedef struct ClassMatch {
	uint32_t value; /* class bits to compare, already shifted into 24-bit position */
	uint32_t mask;	/* 0xff0000, 0xffff00 or 0xffffff */
} ClassMatch;

typedef struct PolicyRule {
	char *name; /* from the section header [Rule NAME] */
	char *file; /* where it was defined, for messages */
	unsigned line;

	/* A device matches when any listed matcher matches it. */
	char **addresses; /* NULL-terminated, canonical PCI addresses */
	PciIdMatch *ids;
	size_t n_ids;
	ClassMatch *classes;
	size_t n_classes;
	int *iommu_groups;
	size_t n_iommu_groups;

	/* A subject matches when its uid is listed or any of its groups is. */
	uid_t *uids;
	size_t n_uids;
	gid_t *gids;
	size_t n_gids;

	/* What a matching subject gets. */
	unsigned dma_modes; /* DmaMode bits, never 0 */
	uint64_t dma_quota; /* bytes a client may have mapped / pinned */
	unsigned max_devices;
} PolicyRule;

typedef struct Policy {
	PolicyRule *rules; /* in file order: vfiod.conf first, then policy.d sorted by name */
	size_t n_rules;
} Policy;

/* What a device looks like to the policy. */
typedef struct PolicyDevice {
	const char *address;
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t class_code;
	int iommu_group;
} PolicyDevice;

/* Who asks; every field comes from the kernel (SO_PEERCRED, SO_PEERGROUPS, bus creds). */
typedef struct PolicySubject {
	uid_t uid;
	gid_t gid;
	const gid_t *supplementary_gids;
	size_t n_supplementary_gids;
} PolicySubject;

/*
 * Loads config_path and then every "*.conf" in dropin_dir (sorted; a missing
 * file or directory is an empty policy, not an error). On a parse error returns
 * -EINVAL (or the errno of a failed read) and sets *ret_error to
 * "FILE:LINE: what is wrong"; nothing is returned then. Returns 0 and a new
 * Policy on success.
 *
 * Other errors, each with "FILE: what is wrong" in *ret_error: -EPERM for a
 * file or directory not owned by root or writable by group or others, -ELOOP
 * for a symbolic link, -EINVAL for something that is not a regular file,
 * -EFBIG for a file over POLICY_FILE_SIZE_MAX. On -ENOMEM *ret_error may be
 * NULL. ret_error may be NULL; *ret_error is written only on failure.
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

Policy *policy_free(Policy *p);

/* The first rule that matches both subject and device, or NULL (deny). */
const PolicyRule *policy_find_rule(const Policy *p, const PolicySubject *subject,
				   const PolicyDevice *device);

/* Parses "container" / "brokered"; returns the DmaMode bit or 0. */
DmaMode dma_mode_from_string(const char *s);
const char *dma_mode_to_string(DmaMode m);
