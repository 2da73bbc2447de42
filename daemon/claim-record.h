/* SPDX-License-Identifier: MIT */
/*
 * What vfiod keeps of a claim across a restart (fd-store.h): the facts the
 * fds cannot tell, as key=value lines in one page (a memfd in the systemd fd
 * store, sealed against resizing and rewritten in place when the claim
 * changes). A record read back is input: claim_record_parse() accepts only
 * what claim_record_format() writes, every field once, within its range.
 *
 *   vfiod-claim-record 1
 *   id=7
 *   uid=1001
 *   gid=1001
 *   pid=345
 *   dma-mode=brokered
 *   dma-quota=268435456
 *   dma-mapped=4096
 *   revoke-grace-usec=10000000
 *   revoke-force=no
 *   device=0000:00:03.0 12 -1        (address, IOMMU group, enabled IRQ index)
 *   moved=0000:00:06.0 5 e1000e      (0 or more: moved to vfio-pci for the claim,
 *                                     IOMMU group, the driver it had or "-")
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "manager.h"
#include "pci-address.h"
#include "policy.h"

/* The record's fixed size: one page, NUL-padded. */
#define CLAIM_RECORD_SIZE 4096u

typedef struct ClaimRecordDevice {
	char address[PCI_ADDRESS_MAX];
	int group;
	int irq_index; /* -1: none */
} ClaimRecordDevice;

/* A device vfiod moved to vfio-pci for the claim (MayRebind=), to move back at its end. */
#define CLAIM_RECORD_MAX_MOVES	32u
#define CLAIM_RECORD_DRIVER_MAX 64u
typedef struct ClaimRecordMove {
	char address[PCI_ADDRESS_MAX];
	int group;
	char driver[CLAIM_RECORD_DRIVER_MAX]; /* "" when it was bound to none */
} ClaimRecordMove;

typedef struct ClaimRecord {
	uint64_t id;
	uid_t uid;
	gid_t gid; /* (gid_t)-1 when unknown */
	pid_t pid;
	DmaMode dma_mode;
	uint64_t dma_quota;
	uint64_t dma_mapped;
	uint64_t revoke_grace_usec;
	bool revoke_force;
	ClaimRecordDevice devices[CLAIM_MAX_DEVICES];
	size_t n_devices;
	ClaimRecordMove moves[CLAIM_RECORD_MAX_MOVES];
	size_t n_moves;
} ClaimRecord;

/* Writes r into buf (CLAIM_RECORD_SIZE bytes, NUL-padded); -E2BIG if it does not fit. */
int claim_record_format(const ClaimRecord *r, char buf[static CLAIM_RECORD_SIZE]);

/*
 * Parses a record of `size` bytes (CLAIM_RECORD_SIZE, text then only NULs).
 * Returns 0, or -EBADMSG with *ret_reason (static) saying what is wrong.
 */
int claim_record_parse(const char *buf, size_t size, ClaimRecord *ret, const char **ret_reason);
