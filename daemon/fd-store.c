/* SPDX-License-Identifier: MIT */
#include "fd-store.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "claim-record.h"
#include "claim.h"
#include "client.h"
#include "log.h"

/* "claim-18446744073709551615-group-2147483647" and then some. */
#define STORE_NAME_MAX 64
/* The seals that keep the record one page: nobody can resize it under the reader. */
#define RECORD_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

typedef struct StoredFd {
	char name[STORE_NAME_MAX];
	int fd;
} StoredFd;

typedef enum EntryKind {
	ENTRY_RECORD,
	ENTRY_HOLDER,
	ENTRY_CONTAINER,
	ENTRY_GROUP,
} EntryKind;

static const char *const entry_suffix[] = {
    [ENTRY_RECORD] = "record",
    [ENTRY_HOLDER] = "holder",
    [ENTRY_CONTAINER] = "container",
    [ENTRY_GROUP] = "group",
};

static void entry_name(char buf[static STORE_NAME_MAX], uint64_t id, EntryKind kind, int group)
{
	if (kind == ENTRY_GROUP)
		snprintf(buf, STORE_NAME_MAX, "claim-%" PRIu64 "-group-%d", id, group);
	else
		snprintf(buf, STORE_NAME_MAX, "claim-%" PRIu64 "-%s", id, entry_suffix[kind]);
}

/* The inverse of entry_name(), exactly (no leading zeros, no trailing junk). */
static int entry_parse(const char *name, uint64_t *ret_id, EntryKind *ret_kind, int *ret_group)
{
	char check[STORE_NAME_MAX];
	unsigned long long id;
	long group = -1;
	const char *p;
	char *end;

	p = startswith(name, "claim-");
	if (!p || *p < '1' || *p > '9')
		return -EINVAL;
	errno = 0;
	id = strtoull(p, &end, 10);
	if (errno != 0 || *end != '-')
		return -EINVAL;
	p = end + 1;
	for (EntryKind k = 0; k < ELEMENTSOF(entry_suffix); k++) {
		const char *rest = startswith(p, entry_suffix[k]);

		if (!rest)
			continue;
		if (k == ENTRY_GROUP) {
			if (*rest != '-' || rest[1] < '0' || rest[1] > '9')
				return -EINVAL;
			errno = 0;
			group = strtol(rest + 1, &end, 10);
			if (errno != 0 || group > INT32_MAX)
				return -EINVAL;
		}
		entry_name(check, id, k, (int)group);
		if (!streq(check, name))
			return -EINVAL;
		*ret_id = id;
		*ret_kind = k;
		*ret_group = (int)group;
		return 0;
	}
	return -EINVAL;
}

/*
 * Claims are stored only under a service manager. systemd >= 254 also says in
 * $FDSTORE how many fds it keeps; 252 does not, and vfiod.service sets
 * FileDescriptorStoreMax=.
 */
static bool store_enabled(void)
{
	const char *max = getenv("FDSTORE");

	return getenv("NOTIFY_SOCKET") && !(max && streq(max, "0"));
}

static int store_push(const char *name, int fd)
{
	char msg[STORE_NAME_MAX + 32];
	int r;

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	r = sd_pid_notify_with_fds(0, false, msg, &fd, 1);
	return r > 0 ? 0 : r == 0 ? -ENOTCONN : r;
}

static void store_remove(const char *name)
{
	char msg[STORE_NAME_MAX + 32];
	int r;

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	r = sd_notify(false, msg);
	if (r < 0)
		log_warning_errno(r, "Cannot remove %s from the fd store: %m", name);
}

static int record_write(Claim *c)
{
	char buf[CLAIM_RECORD_SIZE];
	ClaimRecord record;
	ssize_t n;
	int r;

	claim_to_record(c, &record);
	r = claim_record_format(&record, buf);
	if (r < 0)
		return r;
	n = pwrite(c->record_fd, buf, sizeof(buf), 0);
	if (n < 0)
		return negative_errno();
	return n == sizeof(buf) ? 0 : -EIO;
}

static int record_new(Claim *c)
{
	int r;

	c->record_fd = memfd_create("vfiod-claim-record", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->record_fd < 0)
		return negative_errno();
	r = record_write(c);
	if (r < 0)
		return r;
	if (fcntl(c->record_fd, F_ADD_SEALS, RECORD_SEALS) < 0)
		return negative_errno();
	return 0;
}

/* Whether the process of pidfd has exited (pidfds poll readable then). */
static bool pidfd_exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, 0) != 0;
}

/* Removes every entry of claim c that claim_store() pushes. */
static void claim_remove_entries(Claim *c)
{
	char name[STORE_NAME_MAX];

	for (EntryKind k = ENTRY_RECORD; k < ENTRY_GROUP; k++) {
		entry_name(name, c->id, k, 0);
		store_remove(name);
	}
	for (size_t i = 0; i < c->n_groups; i++) {
		entry_name(name, c->id, ENTRY_GROUP, c->groups[i]);
		store_remove(name);
	}
}

void claim_store(Claim *c)
{
	Manager *m = c->manager;
	VfioContext *ctx = c->context;
	unsigned need = 3 + c->n_groups;
	_cleanup_close_ int pidfd = -EBADF;
	char name[STORE_NAME_MAX];
	int r;

	if (!store_enabled())
		return;
	if (m->n_store_fds + need > FD_STORE_MAX) {
		log_warning("Claim %" PRIu64 ": the fd store is full (%u fds); the claim will "
			    "not survive a restart",
			    c->id, m->n_store_fds);
		return;
	}
	if (c->client->pidfd < 0) {
		log_warning("Claim %" PRIu64 ": no pidfd for %s; the claim will not survive a "
			    "restart",
			    c->id, c->client->label);
		return;
	}
	/* A pidfd of its own: the pid still names the holder while the client's pidfd says it
	 * lives. */
	pidfd = (int)syscall(SYS_pidfd_open, c->client->pid, 0);
	if (pidfd < 0 || pidfd_exited(c->client->pidfd)) {
		log_warning("Claim %" PRIu64
			    ": cannot pin %s; the claim will not survive a restart",
			    c->id, c->client->label);
		return;
	}

	r = record_new(c);
	entry_name(name, c->id, ENTRY_RECORD, 0);
	if (r >= 0)
		r = store_push(name, c->record_fd);
	entry_name(name, c->id, ENTRY_HOLDER, 0);
	if (r >= 0)
		r = store_push(name, pidfd);
	entry_name(name, c->id, ENTRY_CONTAINER, 0);
	if (r >= 0)
		r = store_push(name, m->backend->client_fd(ctx));
	for (size_t i = 0; r >= 0 && i < c->n_groups; i++) {
		entry_name(name, c->id, ENTRY_GROUP, c->groups[i]);
		r = m->backend->group_fd(ctx, c->groups[i]);
		if (r >= 0)
			r = store_push(name, r);
	}
	if (r < 0) {
		log_warning_errno(r,
				  "Claim %" PRIu64 ": cannot keep it in the fd store (%m); it "
				  "will not survive a restart",
				  c->id);
		claim_remove_entries(c);
		c->record_fd = safe_close(c->record_fd);
		return;
	}
	c->stored = true;
	m->n_store_fds += need;
	log_debug("Claim %" PRIu64 ": %u fd(s) in the fd store", c->id, need);
}

void claim_store_update(Claim *c)
{
	int r;

	if (!c->stored)
		return;
	r = record_write(c);
	if (r < 0)
		log_warning_errno(
		    r, "Claim %" PRIu64 ": cannot update its record in the fd store: %m", c->id);
}

void claim_unstore(Claim *c)
{
	if (!c->stored)
		return;
	claim_remove_entries(c);
	c->manager->n_store_fds -= 3 + c->n_groups;
	c->stored = false;
}

int fd_store_collect(Manager *m, int *ret_listen_fd)
{
	_cleanup_strv_free_ char **names = NULL;
	int listen_fd = -EBADF, n;

	n = sd_listen_fds_with_names(true, &names);
	if (n < 0)
		return log_error_errno(n, "Cannot read the fds passed by the service manager: %m");
	if (n > 0) {
		m->stored = calloc(n, sizeof(StoredFd));
		if (!m->stored)
			return log_oom();
	}
	for (int i = 0; i < n; i++) {
		const char *name = names && names[i] ? names[i] : "unknown";
		int fd = SD_LISTEN_FDS_START + i;

		if (!startswith(name, "claim-")) {
			if (listen_fd >= 0)
				return log_error_errno(EINVAL, "Got more than one socket (%s)",
						       name);
			listen_fd = fd;
			continue;
		}
		if (strlen(name) >= STORE_NAME_MAX || m->n_stored >= FD_STORE_MAX) {
			log_warning("Dropping stored fd \"%.64s\": too long a name or too many",
				    name);
			safe_close(fd);
			store_remove(name);
			continue;
		}
		snprintf(m->stored[m->n_stored].name, STORE_NAME_MAX, "%s", name);
		m->stored[m->n_stored++].fd = fd;
	}
	*ret_listen_fd = listen_fd;
	return 0;
}

/* Reads and checks a record memfd: one page, sealed against resizing, well-formed. */
static int record_read(int fd, ClaimRecord *ret, const char **reason)
{
	char buf[CLAIM_RECORD_SIZE];
	struct stat st;
	int seals;

	seals = fcntl(fd, F_GET_SEALS);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || seals < 0 ||
	    (seals & RECORD_SEALS) != RECORD_SEALS || st.st_size != CLAIM_RECORD_SIZE) {
		*reason = "the record is not a sealed page";
		return -EBADMSG;
	}
	if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf)) {
		*reason = "cannot read the record";
		return -EIO;
	}
	return claim_record_parse(buf, sizeof(buf), ret, reason);
}

/* The pid a pidfd names, from its fdinfo (the kernel's word); -1 once reaped. */
static int pidfd_get_pid(int pidfd, pid_t *ret)
{
	char path[64], buf[512];
	_cleanup_close_ int fd = -EBADF;
	const char *p;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = '\0';
	p = strstr(buf, "\nPid:\t");
	if (!p)
		return -EBADF;
	*ret = (pid_t)strtol(p + 6, NULL, 10);
	return 0;
}

typedef struct RestoreSet {
	uint64_t id;
	StoredFd *record, *holder, *container;
	StoredFd *groups[CLAIM_MAX_DEVICES];
	int group_ids[CLAIM_MAX_DEVICES];
	size_t n_groups;
} RestoreSet;

/* Collects the entries of claim `id`; NULL reason when each is there exactly once. */
static const char *restore_set_collect(Manager *m, uint64_t id, RestoreSet *set)
{
	const char *reason = NULL;

	*set = (RestoreSet){.id = id};
	for (size_t i = 0; i < m->n_stored; i++) {
		StoredFd *e = m->stored + i, **slot;
		EntryKind kind;
		uint64_t eid;
		int group;

		if (e->fd < 0 || entry_parse(e->name, &eid, &kind, &group) < 0 || eid != id)
			continue;
		switch (kind) {
		case ENTRY_RECORD:
			slot = &set->record;
			break;
		case ENTRY_HOLDER:
			slot = &set->holder;
			break;
		case ENTRY_CONTAINER:
			slot = &set->container;
			break;
		default:
			if (set->n_groups >= CLAIM_MAX_DEVICES) {
				reason = "too many groups";
				continue;
			}
			for (size_t j = 0; j < set->n_groups; j++)
				if (set->group_ids[j] == group)
					reason = "a group is stored twice";
			set->group_ids[set->n_groups] = group;
			set->groups[set->n_groups++] = e;
			continue;
		}
		if (*slot)
			reason = "an entry is stored twice";
		*slot = e;
	}
	if (!reason && (!set->record || !set->holder || !set->container || set->n_groups == 0))
		reason = "an entry is missing";
	return reason;
}

/* Whether the record's devices use exactly the stored groups. */
static bool restore_set_matches(const RestoreSet *set, const ClaimRecord *record)
{
	for (size_t i = 0; i < set->n_groups; i++) {
		bool used = false;

		for (size_t j = 0; j < record->n_devices; j++)
			used |= record->devices[j].group == set->group_ids[i];
		if (!used)
			return false;
	}
	for (size_t j = 0; j < record->n_devices; j++) {
		bool stored = false;

		for (size_t i = 0; i < set->n_groups; i++)
			stored |= record->devices[j].group == set->group_ids[i];
		if (!stored)
			return false;
	}
	return true;
}

/* Closes and removes from the store every entry of the set still open. */
static void restore_set_drop(RestoreSet *set)
{
	StoredFd *all[3] = {set->record, set->holder, set->container};

	for (size_t i = 0; i < ELEMENTSOF(all); i++)
		if (all[i]) {
			all[i]->fd = safe_close(all[i]->fd);
			store_remove(all[i]->name);
		}
	for (size_t i = 0; i < set->n_groups; i++) {
		set->groups[i]->fd = safe_close(set->groups[i]->fd);
		store_remove(set->groups[i]->name);
	}
}

static int restore_claim(Manager *m, uint64_t id)
{
	RestoreSet set;
	ClaimRecord record;
	VfioContext *context = NULL;
	Client *client = NULL;
	Claim *c = NULL;
	int group_fds[CLAIM_MAX_DEVICES];
	const char *reason;
	pid_t pid;
	int r = -EBADMSG;

	reason = restore_set_collect(m, id, &set);
	if (!reason)
		r = record_read(set.record->fd, &record, &reason);
	if (r >= 0 && (record.id != id || !restore_set_matches(&set, &record))) {
		reason = "the record does not match the stored fds";
		r = -EBADMSG;
	}
	/* A holder that exited meanwhile is restored too: its pidfd ends the claim at once. */
	if (r >= 0 && !pidfd_exited(set.holder->fd) &&
	    (pidfd_get_pid(set.holder->fd, &pid) < 0 || pid != record.pid)) {
		reason = "the holder's pidfd names another process";
		r = -EBADMSG;
	}
	if (r >= 0) {
		for (size_t i = 0; i < set.n_groups; i++) {
			group_fds[i] = set.groups[i]->fd;
			set.groups[i]->fd = -EBADF;
		}
		r = m->backend->context_adopt(m->dev_fd, set.container->fd, set.group_ids,
					      group_fds, set.n_groups, &context);
		set.container->fd = -EBADF;
		if (r < 0)
			reason = "the container or a group is not what its name says";
	}
	if (r >= 0) {
		r = client_new_restored(m, record.uid, record.gid, record.pid, set.holder->fd,
					&client);
		set.holder->fd = -EBADF;
		if (r < 0) {
			reason = "cannot make its holder a client";
			m->backend->context_free(context);
		}
	}
	if (r >= 0) {
		r = claim_restore(client, &record, context, &c, &reason);
		if (r < 0)
			client_free(client);
	}
	if (r < 0) {
		log_warning("Stored claim %" PRIu64 " is not restored: %s; its fds are released",
			    id, reason ?: strerror(-r));
		restore_set_drop(&set);
		return r;
	}
	c->record_fd = set.record->fd;
	set.record->fd = -EBADF;
	c->stored = true;
	m->n_store_fds += 3 + c->n_groups;
	return 0;
}

int fd_store_restore(Manager *m)
{
	unsigned restored = 0, failed = 0;

	for (size_t i = 0; i < m->n_stored; i++) {
		StoredFd *e = m->stored + i;
		EntryKind kind;
		uint64_t id;
		int group;

		if (e->fd < 0)
			continue;
		if (entry_parse(e->name, &id, &kind, &group) < 0) {
			log_warning("Dropping stored fd \"%s\": not a name vfiod gives", e->name);
			e->fd = safe_close(e->fd);
			store_remove(e->name);
			continue;
		}
		if (restore_claim(m, id) < 0)
			failed++;
		else
			restored++;
	}
	if (restored + failed > 0)
		log_info("Restored %u claim(s) from the fd store, released %u", restored, failed);
	fd_store_done(m);
	return 0;
}

void fd_store_done(Manager *m)
{
	for (size_t i = 0; i < m->n_stored; i++)
		safe_close(m->stored[i].fd);
	m->stored = mfree(m->stored);
	m->n_stored = 0;
}
