/* SPDX-License-Identifier: MIT */
#include "rebind.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit.h"
#include "bus-error.h"
#include "claim.h"
#include "client.h"
#include "device-monitor.h"
#include "device.h"
#include "driver-bind.h"
#include "group.h"
#include "log.h"

typedef enum RebindState {
	REBIND_CLAIMED, /* moved for a claim that is still alive */
	REBIND_PENDING, /* that claim ended; restore once nobody holds the group's fds */
	REBIND_ADMIN,	/* moved by Bind(); stays until Unbind() */
} RebindState;

/* A device vfiod moved to vfio-pci, and the driver it had. */
typedef struct Rebind {
	char address[PCI_ADDRESS_MAX];
	int group;
	char *driver; /* NULL: it was unbound */
	RebindState state;
	const Claim *claim; /* REBIND_CLAIMED */
	uint64_t claim_id;  /* for the audit trail once the claim is gone */
} Rebind;

struct RebindRegistry {
	Rebind *items;
	size_t n;
	sd_event_source *retry;
	bool retry_counted; /* counted in m->n_pending_work while restores wait */
};

static RebindRegistry *registry_get(Manager *m)
{
	if (!m->rebinds)
		m->rebinds = calloc(1, sizeof(RebindRegistry));
	return m->rebinds;
}

static Rebind *rebind_find(Manager *m, const char *address)
{
	for (size_t i = 0; m->rebinds && i < m->rebinds->n; i++)
		if (streq(m->rebinds->items[i].address, address))
			return m->rebinds->items + i;
	return NULL;
}

static bool group_restore_pending(Manager *m, int group)
{
	for (size_t i = 0; m->rebinds && i < m->rebinds->n; i++)
		if (m->rebinds->items[i].group == group &&
		    m->rebinds->items[i].state == REBIND_PENDING)
			return true;
	return false;
}

/* Remembers that address left driver; replaces a stale entry for it. */
static int rebind_add(Manager *m, const char *address, int group, const char *driver,
		      RebindState state, const Claim *claim)
{
	RebindRegistry *reg = registry_get(m);
	_cleanup_free_ char *copy = NULL;
	Rebind *r;

	if (!reg)
		return -ENOMEM;
	if (driver) {
		copy = strdup(driver);
		if (!copy)
			return -ENOMEM;
	}
	r = rebind_find(m, address);
	if (r)
		free(r->driver);
	else {
		Rebind *grown;

		if (reg->n >= REBIND_MAX)
			return -E2BIG;
		grown = realloc(reg->items, (reg->n + 1) * sizeof(Rebind));
		if (!grown)
			return -ENOMEM;
		reg->items = grown;
		r = reg->items + reg->n++;
		memcpy(r->address, address, PCI_ADDRESS_MAX);
	}
	r->group = group;
	r->driver = TAKE_PTR(copy);
	r->state = state;
	r->claim = claim;
	r->claim_id = 0;
	return 0;
}

static void rebind_remove(Manager *m, Rebind *r)
{
	RebindRegistry *reg = m->rebinds;
	size_t i = (size_t)(r - reg->items);

	free(r->driver);
	memmove(reg->items + i, reg->items + i + 1, (reg->n - i - 1) * sizeof(Rebind));
	reg->n--;
}

/* "e1000e -> vfio-pci", for the audit trail. */
static void format_move(char *buf, size_t size, const char *from, const char *to)
{
	snprintf(buf, size, "%s -> %s", from ?: "(no driver)", to ?: "(no driver)");
}

/*
 * Opens IOMMU group `group`'s chardev to prove that no device fd of the group
 * is open anywhere (device fds keep the group file open, and a group has one
 * opener): -EBUSY when one is. *ret_fd is -EBADF when the group has no
 * chardev (no member on vfio-pci: nothing to wait for).
 */
static int group_open_exclusive(Manager *m, int group, int *ret_fd)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "vfio/%d", group);
	fd = openat(m->dev_fd, path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0 && errno != ENOENT)
		return negative_errno();
	*ret_fd = fd < 0 ? -EBADF : fd;
	return 0;
}

/*
 * Moves address off vfio-pci to driver (or the kernel's choice) while holding
 * its group's chardev, so that vfio-pci's unbind cannot wait for someone's fd.
 * -EBUSY (nothing done) when a device fd of the group is open.
 */
static int restore_device(Manager *m, const char *address, int group, const char *driver,
			  bool any_driver, char **ret_now, char **ret_reason)
{
	_cleanup_close_ int group_fd = -EBADF;
	int r;

	r = group_open_exclusive(m, group, &group_fd);
	if (r == -EBUSY)
		return r;
	if (r < 0) {
		if (asprintf(ret_reason, "cannot open IOMMU group %d: %s", group, strerror(-r)) < 0)
			*ret_reason = NULL;
		return r;
	}
	/* Synchronous: vfio-pci's remove and the host driver's probe run inside these writes. */
	return driver_bind_restore(m->root_fd, address, driver, any_driver, ret_now, ret_reason);
}

static void rebind_retry_arm(Manager *m);

/*
 * Restores pending entry r. Returns -EBUSY when it has to wait (r stays),
 * else 0 and r is gone (restored, or given up on with a warning).
 */
static int rebind_restore_one(Manager *m, Rebind *r, Client *client)
{
	_cleanup_free_ char *reason = NULL, *now = NULL;
	char address[PCI_ADDRESS_MAX], detail[128], decision[64];
	int k;

	memcpy(address, r->address, sizeof(address));
	/* Claim 0: a claim that failed after its devices moved. */
	if (r->claim_id > 0)
		snprintf(decision, sizeof(decision), "end of claim %" PRIu64, r->claim_id);
	else
		snprintf(decision, sizeof(decision), "claim not made");
	k = restore_device(m, address, r->group, r->driver, false, &now, &reason);
	if (k == -EBUSY)
		return k;
	if (k < 0) {
		log_warning("%s: cannot give it back to %s: %s", address,
			    r->driver ?: "(no driver)", reason ?: strerror(-k));
		audit_log(AUDIT_REBIND_FAILED, client, address, r->claim_id, decision,
			  reason ?: strerror(-k));
	} else {
		format_move(detail, sizeof(detail), VFIO_PCI_DRIVER, now);
		log_info("%s: back on %s (%s)", address, now ?: "(no driver)", decision);
		audit_log(AUDIT_RESTORE, client, address, r->claim_id, decision, detail);
	}
	rebind_remove(m, r);
	device_monitor_refresh(m, address);
	return 0;
}

/* Tries every pending restore whose group nobody holds; re-arms the timer if some must wait. */
static void rebind_restore_pending(Manager *m, Client *client)
{
	bool waiting = false;

	for (size_t i = 0; m->rebinds && i < m->rebinds->n;) {
		Rebind *r = m->rebinds->items + i;

		if (r->state != REBIND_PENDING || manager_find_group_holder(m, r->group)) {
			i++;
			continue;
		}
		if (rebind_restore_one(m, r, client) == -EBUSY) {
			waiting = true;
			i++;
		}
	}
	if (waiting)
		rebind_retry_arm(m);
	else if (m->rebinds && m->rebinds->retry_counted) {
		m->rebinds->retry_counted = false;
		m->n_pending_work--;
	}
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	rebind_restore_pending(userdata, NULL);
	return 0;
}

static void rebind_retry_arm(Manager *m)
{
	RebindRegistry *reg = m->rebinds;
	uint64_t now;
	int r;

	if (!reg->retry_counted) {
		/* No idle exit while a device waits to go back to its driver. */
		reg->retry_counted = true;
		m->n_pending_work++;
		log_info("A previous holder still has a device fd open: the host driver comes "
			 "back once it is closed");
	}
	r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	if (r >= 0 && reg->retry)
		r = sd_event_source_set_time(reg->retry, now + REBIND_RETRY_USEC);
	if (r >= 0 && reg->retry)
		r = sd_event_source_set_enabled(reg->retry, SD_EVENT_ONESHOT);
	else if (r >= 0)
		r = sd_event_add_time(m->event, &reg->retry, CLOCK_MONOTONIC,
				      now + REBIND_RETRY_USEC, 0, on_retry, m);
	if (r < 0)
		log_warning_errno(r, "Cannot schedule the restore of host drivers: %m");
}

void rebind_restore_claim(Claim *c)
{
	Manager *m = c->manager;
	bool any = false;

	for (size_t i = 0; m->rebinds && i < m->rebinds->n; i++) {
		Rebind *r = m->rebinds->items + i;

		if (r->state != REBIND_CLAIMED || r->claim != c)
			continue;
		r->state = REBIND_PENDING;
		r->claim = NULL;
		r->claim_id = c->id;
		any = true;
	}
	if (any)
		rebind_restore_pending(m, c->client);
}

size_t rebind_claim_moves(Manager *m, const Claim *c, ClaimRecordMove *ret, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; m->rebinds && i < m->rebinds->n; i++) {
		const Rebind *r = m->rebinds->items + i;

		if (r->state != REBIND_CLAIMED || r->claim != c)
			continue;
		if (n < max) {
			memcpy(ret[n].address, r->address, sizeof(ret[n].address));
			ret[n].group = r->group;
			snprintf(ret[n].driver, sizeof(ret[n].driver), "%s", r->driver ?: "");
		}
		n++;
	}
	return n;
}

int rebind_restore_move(Manager *m, const Claim *c, const ClaimRecordMove *move)
{
	PciDeviceInfo info;
	bool still;
	int r;

	r = sysfs_read_pci_device(m->root_fd, move->address, &info);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return r;
	still = driver_is_vfio_pci(info.driver) && info.iommu_group == move->group;
	pci_device_info_done(&info);
	if (!still) {
		log_warning("Claim %" PRIu64 ": %s is no longer on vfio-pci in IOMMU group %d; "
			    "vfiod will not move it back to %s",
			    c->id, move->address, move->group,
			    move->driver[0] ? move->driver : "(no driver)");
		return 0;
	}
	r = rebind_add(m, move->address, move->group, move->driver[0] ? move->driver : NULL,
		       REBIND_CLAIMED, c);
	return r < 0 ? r : 1;
}

/* Whether client may have vfiod move member d: managed, and a rule with MayRebind=yes. */
static const PolicyRule *may_rebind(Manager *m, Client *client, Device *d)
{
	PolicySubject subject;
	PolicyDevice device;
	const PolicyRule *rule;

	if (!d || d->id.kind != DEVICE_PCI || !m->policy || !device_is_managed(d))
		return NULL;
	client_policy_subject(client, &subject);
	device_policy_device(d, &device);
	rule = policy_find_rule(m->policy, &subject, &device);
	return rule && rule->may_rebind ? rule : NULL;
}

/*
 * Whether the client may rebind a member of group at all, from the registry:
 * when not, there is nothing to plan and the group's sysfs listing is not
 * needed (a member the registry does not know could not be rebound either).
 */
static bool may_rebind_in_group(Manager *m, Client *client, int group)
{
	for (size_t i = 0; i < m->n_devices; i++)
		if (device_iommu_group(m->devices[i]) == group &&
		    may_rebind(m, client, m->devices[i]))
			return true;
	return false;
}

static bool claims_device(const PciDeviceInfo *infos, size_t n, const char *address)
{
	for (size_t i = 0; i < n; i++)
		if (streq(infos[i].address, address))
			return true;
	return false;
}

/* Puts the devices of moved[0..n) back, last first (a claim that could not be made). */
static void rebind_undo(Claim *c, char **moved, size_t n)
{
	Manager *m = c->manager;

	while (n > 0) {
		Rebind *r = rebind_find(m, moved[--n]);

		if (r && r->claim == c) {
			r->state = REBIND_PENDING;
			r->claim = NULL;
		}
	}
	rebind_restore_pending(m, NULL);
}

/*
 * The members of group that must move for the claim, in *ret_todo; those the
 * client may not move, as "ADDRESS (DRIVER)" in *ret_refused.
 */
static int group_plan(Manager *m, Client *client, int group, const PciDeviceInfo *infos, size_t n,
		      char ***ret_todo, char **ret_refused)
{
	_cleanup_strv_free_ char **members = NULL, **todo = NULL;
	_cleanup_free_ char *refused = NULL;
	size_t n_todo = 0;
	int r;

	r = sysfs_iommu_group_members(m->root_fd, group, &members);
	if (r < 0)
		return r;
	todo = calloc(strv_length(members) + 1, sizeof(char *));
	if (!todo)
		return -ENOMEM;

	for (char **member = members; *member; member++) {
		_cleanup_free_ char *driver = NULL;
		bool claimed = claims_device(infos, n, *member);

		r = sysfs_iommu_group_member_driver(m->root_fd, group, *member, &driver);
		if (r == -ENODEV)
			continue; /* unplugged since the listing */
		if (r < 0)
			return r;
		if (claimed ? driver_is_vfio_pci(driver) : driver_keeps_group_viable(driver))
			continue;
		if (may_rebind(m, client, device_find(m, *member))) {
			todo[n_todo] = strdup(*member);
			if (!todo[n_todo++])
				return -ENOMEM;
			continue;
		}
		char *grown;

		if (asprintf(&grown, "%s%s%s (%s)", refused ?: "", refused ? ", " : "", *member,
			     driver ?: "no driver") < 0)
			return -ENOMEM;
		free(refused);
		refused = grown;
	}
	*ret_todo = TAKE_PTR(todo);
	*ret_refused = TAKE_PTR(refused);
	return 0;
}

static int claim_rebind_device(Claim *c, Client *client, const char *address, int group,
			       sd_bus_error *error)
{
	Manager *m = c->manager;
	_cleanup_free_ char *previous = NULL, *reason = NULL;
	const PolicyRule *rule = may_rebind(m, client, device_find(m, address));
	char detail[128], decision[256];
	int r;

	snprintf(decision, sizeof(decision), "rule %s (%s:%u) MayRebind=yes",
		 rule ? rule->name : "?", rule ? rule->file : "?", rule ? rule->line : 0);
	r = driver_bind_vfio(m->root_fd, address, &previous, &reason);
	if (r < 0) {
		audit_log(AUDIT_REBIND_FAILED, client, address, 0, decision, reason);
		return sd_bus_error_setf(error, r == -EBUSY ? VFIOD_ERROR_BUSY : VFIOD_ERROR_FAILED,
					 "Cannot bind %s to vfio-pci for the claim: %s.", address,
					 reason ?: strerror(-r));
	}
	if (streq_ptr(previous, VFIO_PCI_DRIVER))
		return 0; /* someone bound it meanwhile: nothing to give back */
	r = rebind_add(m, address, group, previous, REBIND_CLAIMED, c);
	if (r < 0) {
		/* Unlikely (memory, REBIND_MAX); put it back at once rather than forget it. */
		_cleanup_free_ char *ignored = NULL;

		(void)restore_device(m, address, group, previous, false, NULL, &ignored);
		return sd_bus_error_setf(error, VFIOD_ERROR_FAILED,
					 "Cannot remember the driver of %s: %s", address,
					 strerror(-r));
	}
	format_move(detail, sizeof(detail), previous, VFIO_PCI_DRIVER);
	log_info("%s: moved from %s to vfio-pci for %s", address, previous ?: "(no driver)",
		 client->label);
	audit_log(AUDIT_REBIND, client, address, 0, decision, detail);
	device_monitor_refresh(m, address);
	return 0;
}

int rebind_for_claim(Claim *c, Client *client, const PciDeviceInfo *infos, size_t n,
		     sd_bus_error *error)
{
	Manager *m = c->manager;
	_cleanup_strv_free_ char **moved = NULL;
	size_t n_moved = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		_cleanup_strv_free_ char **todo = NULL;
		_cleanup_free_ char *refused = NULL;
		int group = infos[i].iommu_group;
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen |= infos[j].iommu_group == group;
		if (seen || manager_find_group_holder(m, group))
			continue; /* the group check says who holds it */
		if (group_restore_pending(m, group)) {
			r = sd_bus_error_setf(
			    error, VFIOD_ERROR_BUSY,
			    "IOMMU group %d is not free yet: its previous holder "
			    "still has a device fd open, and vfiod gives the "
			    "devices back to their host drivers once it is closed.",
			    group);
			goto fail;
		}
		if (!may_rebind_in_group(m, client, group))
			continue; /* nothing to move: the kernel decides whether it is viable */
		r = group_plan(m, client, group, infos, n, &todo, &refused);
		if (r < 0) {
			r = sd_bus_error_setf(error, VFIOD_ERROR_FAILED,
					      "Cannot read IOMMU group %d: %s", group,
					      strerror(-r));
			goto fail;
		}
		if (!todo[0])
			continue; /* nothing vfiod may move: the group check decides */
		if (refused) {
			r = sd_bus_error_setf(error, VFIOD_ERROR_GROUP_NOT_VIABLE,
					      "IOMMU group %d is not viable: %s %s bound to a host "
					      "driver, and no rule lets uid %u rebind %s "
					      "(MayRebind=yes); vfiod rebinds a group only when it "
					      "may rebind every member that needs it.",
					      group, refused, strchr(refused, ',') ? "are" : "is",
					      (unsigned)client->uid,
					      strchr(refused, ',') ? "them" : "it");
			goto fail;
		}
		for (char **t = todo; *t; t++) {
			char **grown = realloc(moved, (n_moved + 2) * sizeof(char *));

			if (!grown) {
				r = -ENOMEM;
				goto fail;
			}
			moved = grown;
			moved[n_moved] = NULL;
			r = claim_rebind_device(c, client, *t, group, error);
			if (r < 0)
				goto fail;
			moved[n_moved++] = TAKE_PTR(*t);
			moved[n_moved] = NULL;
		}
	}
	return 0;
fail:
	rebind_undo(c, moved, n_moved);
	return r;
}

/* Bind()/Unbind(): the device, which must be a managed PCI device nobody holds. */
static int admin_device(Manager *m, const char *address, Device **ret, sd_bus_error *error)
{
	Device *d;
	Claim *holder;

	if (!pci_address_is_valid(address))
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ADDRESS,
					 "\"%.32s\" is not a PCI address of the form DDDD:BB:DD.F "
					 "(lower-case hex, e.g. 0000:00:03.0)",
					 address);
	d = device_find(m, address);
	if (!d)
		return sd_bus_error_setf(error, VFIOD_ERROR_NO_SUCH_DEVICE,
					 "There is no PCI device %s in an IOMMU group.", address);
	if (!device_is_managed(d))
		return sd_bus_error_setf(error, VFIOD_ERROR_NOT_MANAGED,
					 "vfiod does not manage %s (see [Manage] in "
					 "vfiod.conf(5)); it never rebinds such a device.",
					 address);
	holder = device_holder(d);
	if (holder)
		return sd_bus_error_setf(error, VFIOD_ERROR_BUSY,
					 "%s is held by %s (claim %" PRIu64 ", IOMMU group %d).",
					 address, holder->client ? holder->client->label : "?",
					 holder->id, device_iommu_group(d));
	*ret = d;
	return 0;
}

static const char *admin_decision(const Client *client)
{
	return client->uid == 0 ? "manage: uid 0" : "manage: polkit io.vfiod.manage";
}

int rebind_bind(Manager *m, Client *client, const char *address, char **ret_previous,
		sd_bus_error *error)
{
	_cleanup_free_ char *previous = NULL, *reason = NULL;
	char detail[128];
	Rebind *old;
	Device *d;
	int r;

	r = admin_device(m, address, &d, error);
	if (r < 0)
		return r;
	r = driver_bind_vfio(m->root_fd, address, &previous, &reason);
	if (r < 0) {
		audit_log(AUDIT_REBIND_FAILED, client, address, 0, admin_decision(client), reason);
		return sd_bus_error_setf(error, r == -EBUSY ? VFIOD_ERROR_BUSY : VFIOD_ERROR_FAILED,
					 "Cannot bind %s to vfio-pci: %s.", address,
					 reason ?: strerror(-r));
	}

	old = rebind_find(m, address);
	if (streq_ptr(previous, VFIO_PCI_DRIVER)) {
		/* Already there. A restore still waiting becomes the admin's binding. */
		if (old && old->state == REBIND_PENDING)
			old->state = REBIND_ADMIN;
	} else {
		r = rebind_add(m, address, device_iommu_group(d), previous, REBIND_ADMIN, NULL);
		if (r < 0)
			log_warning_errno(r, "%s: cannot remember its driver %s: %m", address,
					  previous ?: "(none)");
		format_move(detail, sizeof(detail), previous, VFIO_PCI_DRIVER);
		audit_log(AUDIT_REBIND, client, address, 0, admin_decision(client), detail);
		device_monitor_refresh(m, address);
	}
	*ret_previous = previous ? TAKE_PTR(previous) : strdup("");
	return *ret_previous ? 0 : -ENOMEM;
}

int rebind_unbind(Manager *m, Client *client, const char *address, char **ret_now,
		  sd_bus_error *error)
{
	_cleanup_free_ char *now = NULL, *reason = NULL;
	char detail[128];
	Rebind *old;
	Device *d;
	int r;

	r = admin_device(m, address, &d, error);
	if (r < 0)
		return r;
	old = rebind_find(m, address);
	r = restore_device(m, address, device_iommu_group(d), old ? old->driver : NULL, !old, &now,
			   &reason);
	if (r == -EBUSY)
		return sd_bus_error_setf(
		    error, VFIOD_ERROR_BUSY,
		    "IOMMU group %d of %s is open elsewhere: a previous holder "
		    "or another VFIO user still has a device fd.",
		    device_iommu_group(d), address);
	if (r < 0) {
		audit_log(AUDIT_REBIND_FAILED, client, address, 0, admin_decision(client), reason);
		return sd_bus_error_setf(error, VFIOD_ERROR_FAILED,
					 "Cannot move %s off vfio-pci: %s.", address,
					 reason ?: strerror(-r));
	}
	if (old)
		rebind_remove(m, old);
	format_move(detail, sizeof(detail), VFIO_PCI_DRIVER, now);
	audit_log(AUDIT_RESTORE, client, address, 0, admin_decision(client), detail);
	device_monitor_refresh(m, address);
	*ret_now = now ? TAKE_PTR(now) : strdup("");
	return *ret_now ? 0 : -ENOMEM;
}

void rebind_registry_free(Manager *m)
{
	RebindRegistry *reg = m->rebinds;

	if (!reg)
		return;
	for (size_t i = 0; i < reg->n; i++) {
		Rebind *r = reg->items + i;

		if (r->state != REBIND_ADMIN)
			log_warning("%s stays on vfio-pci: its previous holder still has it open "
				    "(it was on %s)",
				    r->address, r->driver ?: "no driver");
		free(r->driver);
	}
	if (reg->retry_counted)
		m->n_pending_work--;
	sd_event_source_disable_unref(reg->retry);
	free(reg->items);
	m->rebinds = mfree(reg);
}
