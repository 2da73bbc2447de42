/* SPDX-License-Identifier: MIT */
#include "claim.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "audit.h"
#include "bus-error.h"
#include "bus-notify.h"
#include "bus-objects.h"
#include "claim-record.h"
#include "client.h"
#include "device-vfio.h"
#include "device.h"
#include "fd-store.h"
#include "group.h"
#include "log.h"
#include "rebind.h"
#include "sysfs.h"
#include "vfio-device.h"

ClaimDevice *claim_find_device(Claim *c, const char *address)
{
	for (size_t i = 0; i < c->n_devices; i++)
		if (streq(c->devices[i].address, address))
			return c->devices + i;
	return NULL;
}

bool claim_holds_group(const Claim *c, int group)
{
	for (size_t i = 0; i < c->n_groups; i++)
		if (c->groups[i] == group)
			return true;
	return false;
}

static void claim_scrub_devices(Claim *c)
{
	for (size_t i = 0; i < c->n_devices; i++) {
		ClaimDevice *d = c->devices + i;
		int r;

		if (d->fd < 0)
			continue;
		if (d->request_source) {
			d->request_source = sd_event_source_disable_unref(d->request_source);
			r = vfio_device_disable_irqs(d->fd, VFIO_PCI_REQ_IRQ_INDEX);
			if (r < 0)
				log_warning_errno(r, "%s: cannot disable the REQ IRQ: %m",
						  d->address);
		}
		if (d->irq_index >= 0) {
			r = vfio_device_disable_irqs(d->fd, d->irq_index);
			if (r < 0)
				log_warning_errno(r, "%s: cannot disable IRQ index %d: %m",
						  d->address, d->irq_index);
		}
		if (d->info.flags & VFIO_DEVICE_FLAGS_RESET) {
			r = vfio_device_reset(d->fd);
			if (r < 0)
				log_warning_errno(r, "%s: reset failed: %m", d->address);
		}
		d->fd = safe_close(d->fd);
	}
}

static void claim_unmap_all(Claim *c)
{
	int r;

	for (size_t i = 0; i < c->dma.n_mappings; i++) {
		DmaMapping *m = c->dma.mappings + i;
		r = c->manager->backend->unmap_dma(c->context, m->iova, m->size);
		if (r < 0)
			log_warning_errno(r,
					  "claim %" PRIu64 ": cannot unmap IOVA 0x%" PRIx64 ": %m",
					  c->id, m->iova);
	}
	/* Unpinned above, so the daemon's views of the memfds may go. */
	dma_views_done(&c->dma_views);
	if (c->client)
		c->client->dma_mapped -= c->dma.mapped;
	/* In container mode the client may have mapped through its own container fd. */
	if (c->context) {
		r = c->manager->backend->unmap_all(c->context);
		if (r < 0)
			log_warning_errno(r, "claim %" PRIu64 ": cannot unmap all DMA: %m", c->id);
	}
}

Claim *claim_free(Claim *c)
{
	if (!c)
		return NULL;

	if (c->detached)
		goto detached;
	if (c->path)
		for (size_t i = 0; i < c->n_devices; i++)
			audit_log(AUDIT_RELEASE, c->client, c->devices[i].address, c->id,
				  "released", NULL);

	c->slot = sd_bus_slot_unref(c->slot);
	c->revoke_timer = sd_event_source_disable_unref(c->revoke_timer);
	claim_scrub_devices(c);
	claim_unmap_all(c);
	c->context = c->manager->backend->context_free(c->context);
	dma_space_done(&c->dma);
	/* Scrubbed: the store's copies of the group fds may go too. */
	claim_unstore(c);

	if (c->client) {
		LIST_REMOVE(client_claims, c->client->claims, c);
		c->client->n_claims--;
		c->client->n_devices -= c->n_devices;
	}
	if (c->path) {
		bus_notify_claim_removed(c->manager, c);
		LIST_REMOVE(claims, c->manager->claims, c);
		c->manager->n_claims--;
		manager_notify_status(c->manager);
		bus_notify_holder_changed(c->manager, c);
	}
	/* Scrubbed, unlisted and its fds closed: the devices may go back to their drivers. */
	rebind_restore_claim(c);
	goto done;

detached:
	/* The kernel state stays as it is: the fd store holds the groups and the container. */
	c->slot = sd_bus_slot_unref(c->slot);
	c->revoke_timer = sd_event_source_disable_unref(c->revoke_timer);
	for (size_t i = 0; i < c->n_devices; i++) {
		c->devices[i].request_source =
		    sd_event_source_disable_unref(c->devices[i].request_source);
		c->devices[i].fd = safe_close(c->devices[i].fd);
	}
	for (size_t i = 0; i < c->dma.n_mappings; i++)
		munmap(c->dma.mappings[i].vaddr, c->dma.mappings[i].size);
	c->context = c->manager->backend->context_free(c->context);
	dma_space_done(&c->dma);
	if (c->client) {
		LIST_REMOVE(client_claims, c->client->claims, c);
		c->client->n_claims--;
		c->client->n_devices -= c->n_devices;
		c->client->dma_mapped -= c->dma.mapped;
	}
	if (c->path) {
		LIST_REMOVE(claims, c->manager->claims, c);
		c->manager->n_claims--;
	}
done:
	safe_close(c->record_fd);
	free(c->devices);
	free(c->groups);
	free(c->path);
	free(c);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Claim *, claim_free)

Claim *claim_detach(Claim *c)
{
	if (!c)
		return NULL;
	c->detached = true;
	return claim_free(c);
}

static int on_device_request(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	ClaimDevice *d = userdata;
	uint64_t count;

	(void)read(fd, &count, sizeof(count));
	claim_revoke(d->claim, d->address,
		     "the kernel asks for the device back (driver unbind or hot-unplug)");
	return 0;
}

/*
 * vfio-pci signals the REQ IRQ when the device is to be unbound or removed,
 * and then waits until every fd of it is closed: the daemon listens so that
 * it can end the claim and tell the holder, instead of the unbind hanging.
 */
static int claim_device_watch_requests(Claim *c, ClaimDevice *d)
{
	_cleanup_close_ int efd = -EBADF;
	struct vfio_irq_info info;
	int r;

	if (d->info.num_irqs <= VFIO_PCI_REQ_IRQ_INDEX)
		return 0;
	r = vfio_device_get_irq_info(d->fd, VFIO_PCI_REQ_IRQ_INDEX, &info);
	if (r < 0 || info.count < 1 || !(info.flags & VFIO_IRQ_INFO_EVENTFD))
		return 0;
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return negative_errno();
	r = vfio_device_set_irq_eventfds(d->fd, VFIO_PCI_REQ_IRQ_INDEX, &efd, 1);
	if (r < 0)
		return r;
	r = sd_event_add_io(c->manager->event, &d->request_source, efd, EPOLLIN, on_device_request,
			    d);
	if (r < 0)
		return r;
	(void)sd_event_source_set_io_fd_own(d->request_source, true);
	TAKE_FD(efd);
	return 0;
}

/* The options every device's rule allows, narrowed to the strictest. */
typedef struct Grant {
	unsigned dma_modes;
	uint64_t dma_quota;
	unsigned max_devices;
	bool require_reset; /* some device's rule says RequireReset=yes */
	uint64_t revoke_grace_usec;
	bool revoke_force; /* some device's rule says RevokeForce=yes */
} Grant;

/* "rule NAME (FILE:LINE)" or "polkit: yes", for the audit trail. */
#define CLAIM_DECISION_MAX 256u

/*
 * The device as vfiod knows it: the registry, which udev events keep current
 * (device.h), so the usual claim of a device on vfio-pci reads no sysfs; the
 * kernel has the last word once the device is open (claim_verify_identity()).
 * Any other device is read from sysfs: the registry may not have seen a
 * driver change yet (an administrator binds a device and claims it at once),
 * and sysfs tells why a device is not claimable (gone, no IOMMU group, on a
 * host driver) or what MayRebind= would move.
 */
static int claim_lookup_device(Manager *m, const char *address, PciDeviceInfo *ret)
{
	Device *d = device_find(m, address);

	if (!d || d->id.kind != DEVICE_PCI || !driver_is_vfio_pci(d->id.pci.driver))
		return sysfs_read_pci_device(m->root_fd, address, ret);
	*ret = d->id.pci;
	ret->driver = strdup(d->id.pci.driver);
	return ret->driver ? 0 : -ENOMEM;
}

static int claim_check_device(Client *client, const char *address, ClaimAuth *auth,
			      PciDeviceInfo *ret_info, Grant *grant, char *ret_decision,
			      sd_bus_error *error)
{
	Manager *m = client->manager;
	PciDeviceInfo info = {0};
	const PolicyRule *rule;
	int r;

	if (!pci_address_is_valid(address))
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ADDRESS,
					 "\"%.32s\" is not a PCI address of the form DDDD:BB:DD.F "
					 "(lower-case hex, e.g. 0000:00:03.0)",
					 address);

	r = claim_lookup_device(m, address, &info);
	if (r == -ENODEV)
		return sd_bus_error_setf(error, VFIOD_ERROR_NO_SUCH_DEVICE,
					 "There is no PCI device %s.", address);
	if (r < 0)
		return sd_bus_error_setf(error, VFIOD_ERROR_FAILED, "Cannot read %s from sysfs: %s",
					 address, strerror(-r));

	PolicySubject subject;
	PolicyDevice device = {
	    .type = POLICY_DEVICE_PCI,
	    .address = info.address,
	    .vendor_id = info.vendor_id,
	    .device_id = info.device_id,
	    .class_code = info.class_code,
	    .iommu_group = info.iommu_group,
	};
	client_policy_subject(client, &subject);
	rule = m->policy ? policy_find_rule(m->policy, &subject, &device) : NULL;

	/* With MayRebind=yes rebind_for_claim() moves it to vfio-pci later. */
	if (!driver_is_vfio_pci(info.driver) && !(rule && rule->may_rebind)) {
		r = sd_bus_error_setf(error, VFIOD_ERROR_NOT_VFIO_DEVICE,
				      "%s is %s%s, not to vfio-pci; an administrator must bind it "
				      "to vfio-pci first (or allow MayRebind= in its rule).",
				      address,
				      info.driver ? "bound to " : "not bound to any driver",
				      info.driver ? info.driver : "");
		goto out;
	}
	if (info.iommu_group < 0) {
		r = sd_bus_error_setf(error, VFIOD_ERROR_NOT_VFIO_DEVICE,
				      "%s is in no IOMMU group (is the IOMMU enabled?).", address);
		goto out;
	}
	if (!rule && auth && strv_contains(auth->polkit_granted, info.address)) {
		grant->dma_modes &= DMA_MODES_ALL;
		if (POLICY_DEFAULT_DMA_QUOTA < grant->dma_quota)
			grant->dma_quota = POLICY_DEFAULT_DMA_QUOTA;
		if (POLICY_DEFAULT_MAX_DEVICES < grant->max_devices)
			grant->max_devices = POLICY_DEFAULT_MAX_DEVICES;
		if (POLICY_DEFAULT_REVOKE_GRACE_USEC < grant->revoke_grace_usec)
			grant->revoke_grace_usec = POLICY_DEFAULT_REVOKE_GRACE_USEC;
		snprintf(ret_decision, CLAIM_DECISION_MAX, "polkit: yes");
		*ret_info = info;
		return 0;
	}
	if (!rule && auth && auth->may_ask_polkit && auth->n_need < CLAIM_MAX_DEVICES) {
		PolkitDevice *d = auth->need + auth->n_need++;

		memcpy(d->address, info.address, sizeof(d->address));
		d->vendor_id = info.vendor_id;
		d->device_id = info.device_id;
		d->iommu_group = info.iommu_group;
		*ret_info = info;
		return 0;
	}
	if (!rule) {
		audit_log(AUDIT_DENIED, client, address, 0, "no policy rule matches", NULL);
		r = sd_bus_error_setf(
		    error, VFIOD_ERROR_PERMISSION_DENIED,
		    "No rule in the vfiod policy grants uid %u the device %s "
		    "(%04x:%04x); ask an administrator to add one (vfiod.conf(5)).",
		    (unsigned)client->uid, address, info.vendor_id, info.device_id);
		goto out;
	}
	grant->dma_modes &= rule->dma_modes;
	if (rule->dma_quota < grant->dma_quota)
		grant->dma_quota = rule->dma_quota;
	if (rule->max_devices < grant->max_devices)
		grant->max_devices = rule->max_devices;
	grant->require_reset |= rule->require_reset;
	if (rule->revoke_grace_usec < grant->revoke_grace_usec)
		grant->revoke_grace_usec = rule->revoke_grace_usec;
	grant->revoke_force |= rule->revoke_force;
	log_debug("%s may claim %s by rule %s (%s:%u)", client->label, address, rule->name,
		  rule->file, rule->line);
	snprintf(ret_decision, CLAIM_DECISION_MAX, "rule %s (%s:%u)", rule->name, rule->file,
		 rule->line);

	*ret_info = info;
	return 0;
out:
	pci_device_info_done(&info);
	return r;
}

/* Is the group free? Decided from the claims; whether it is viable is the kernel's answer. */
static int claim_check_group_free(Manager *m, int group, sd_bus_error *error)
{
	Claim *holder = manager_find_group_holder(m, group);

	if (holder)
		return sd_bus_error_setf(error, VFIOD_ERROR_BUSY,
					 "IOMMU group %d (%s) is held by %s (claim %" PRIu64 ").",
					 group, holder->devices[0].address, holder->client->label,
					 holder->id);
	return 0;
}

/*
 * Why the kernel would not give the claim group `group`: when sysfs shows a
 * member on a host driver, that is the answer (GroupNotViable); else the
 * kernel's error r, described by what.
 */
static int claim_group_error(Manager *m, int group, int r, const char *what, sd_bus_error *error)
{
	_cleanup_free_ char *reason = NULL;

	if (iommu_group_check_viable(m->root_fd, group, &reason) == -EBUSY)
		return sd_bus_error_setf(error, VFIOD_ERROR_GROUP_NOT_VIABLE,
					 "IOMMU group %d is not viable: %s.", group, reason);
	if (r == -EBUSY)
		return sd_bus_error_setf(error, VFIOD_ERROR_BUSY,
					 "IOMMU group %d is open elsewhere: another VFIO user on "
					 "this host, or a previous holder still has one of its "
					 "device fds open.",
					 group);
	if (r == -EXDEV)
		return sd_bus_error_setf(error, VFIOD_ERROR_GROUP_NOT_VIABLE,
					 "The kernel refuses IOMMU group %d: not every member is "
					 "bound to vfio-pci or unbound.",
					 group);
	return sd_bus_error_setf(error, VFIOD_ERROR_FAILED, "%s: %s", what, strerror(-r));
}

static int claim_attach_group(Claim *c, int group, sd_bus_error *error)
{
	char what[64];
	int r;

	if (claim_holds_group(c, group))
		return 0;

	r = c->manager->backend->attach_group(c->context, group);
	if (r < 0) {
		snprintf(what, sizeof(what), "Cannot attach IOMMU group %d", group);
		return claim_group_error(c->manager, group, r, what, error);
	}
	c->groups[c->n_groups++] = group;
	return 0;
}

/*
 * The policy decided on the registry's vendor and device ids; the device fd
 * must be that device (it may have been replaced since). The class is not
 * compared: PCI quirks may correct it in sysfs but not in config space, and
 * it follows from the ids.
 */
static int claim_verify_identity(const ClaimDevice *d, const PciDeviceInfo *info,
				 sd_bus_error *error)
{
	uint16_t vendor, device;
	uint32_t class_code;
	int r;

	r = vfio_pci_read_identity(d->fd, &vendor, &device, &class_code);
	if (r < 0)
		return sd_bus_error_setf(error, VFIOD_ERROR_FAILED,
					 "Cannot read the config space of %s: %s", d->address,
					 strerror(-r));
	if (vendor != info->vendor_id || device != info->device_id)
		return sd_bus_error_setf(error, VFIOD_ERROR_NO_SUCH_DEVICE,
					 "%s is now a %04x:%04x, not the %04x:%04x the policy "
					 "decided on; it was replaced meanwhile.",
					 d->address, vendor, device, info->vendor_id,
					 info->device_id);
	return 0;
}

/* Raises the client's RLIMIT_MEMLOCK to at least quota; never lowers it. */
static int client_raise_memlock(Client *client, uint64_t quota)
{
	struct rlimit old, new;

	if (prlimit(client->pid, RLIMIT_MEMLOCK, NULL, &old) < 0)
		return negative_errno();
	new.rlim_cur =
	    old.rlim_cur == RLIM_INFINITY || old.rlim_cur >= quota ? old.rlim_cur : quota;
	new.rlim_max = old.rlim_max == RLIM_INFINITY || old.rlim_max >= new.rlim_cur ? old.rlim_max
										     : new.rlim_cur;
	if (new.rlim_cur == old.rlim_cur &&new.rlim_max == old.rlim_max)
		return 0;
	if (prlimit(client->pid, RLIMIT_MEMLOCK, &new, NULL) < 0)
		return negative_errno();
	return 0;
}

int claim_new(Client *client, char **addresses, DmaMode requested_mode, Claim **ret,
	      sd_bus_error *error)
{
	return claim_new_full(client, addresses, requested_mode, NULL, ret, error);
}

int claim_new_full(Client *client, char **addresses, DmaMode requested_mode, ClaimAuth *auth,
		   Claim **ret, sd_bus_error *error)
{
	Manager *m = client->manager;
	_cleanup_(claim_freep) Claim *c = NULL;
	size_t n = strv_length(addresses);
	Grant grant = {DMA_MODES_ALL, UINT64_MAX, UINT_MAX, false, UINT64_MAX, false};
	PciDeviceInfo *infos = NULL;
	_cleanup_free_ char *decisions = NULL;
	int r;

	if (n == 0)
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
					 "Name at least one device to claim.");
	if (n > CLAIM_MAX_DEVICES)
		return sd_bus_error_setf(error, VFIOD_ERROR_LIMIT_EXCEEDED,
					 "A claim may name at most %u devices.", CLAIM_MAX_DEVICES);
	if (client->n_claims >= CLIENT_MAX_CLAIMS)
		return sd_bus_error_setf(error, VFIOD_ERROR_LIMIT_EXCEEDED,
					 "A client may hold at most %u claims.", CLIENT_MAX_CLAIMS);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (streq(addresses[i], addresses[j]))
				return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
							 "%.32s is named twice.", addresses[i]);

	c = calloc(1, sizeof(*c));
	infos = calloc(n, sizeof(*infos));
	decisions = calloc(n, CLAIM_DECISION_MAX);
	if (!c || !infos || !decisions) {
		free(infos);
		return -ENOMEM;
	}
	c->manager = m;
	c->record_fd = -EBADF;
	c->devices = calloc(n, sizeof(*c->devices));
	c->groups = calloc(n, sizeof(*c->groups));
	if (!c->devices || !c->groups) {
		r = -ENOMEM;
		goto finish;
	}

	/* Everything that can be decided from sysfs and the policy, before any kernel state. */
	for (size_t i = 0; i < n; i++) {
		r = claim_check_device(client, addresses[i], auth, infos + i, &grant,
				       decisions + i * CLAIM_DECISION_MAX, error);
		if (r < 0)
			goto finish;
	}
	if (auth && auth->n_need > 0) {
		r = sd_bus_error_setf(error, VFIOD_ERROR_PERMISSION_DENIED,
				      "No rule in the vfiod policy grants uid %u %zu of the "
				      "devices; polkit decides.",
				      (unsigned)client->uid, auth->n_need);
		goto finish;
	}
	if (client->n_devices + n > grant.max_devices) {
		r = sd_bus_error_setf(error, VFIOD_ERROR_LIMIT_EXCEEDED,
				      "The policy allows uid %u at most %u claimed device(s); "
				      "it holds %u.",
				      (unsigned)client->uid, grant.max_devices, client->n_devices);
		goto finish;
	}
	if (requested_mode == 0)
		requested_mode =
		    (grant.dma_modes & DMA_MODE_CONTAINER) ? DMA_MODE_CONTAINER : DMA_MODE_BROKERED;
	if (!(grant.dma_modes & requested_mode)) {
		r = sd_bus_error_setf(error, VFIOD_ERROR_DMA_MODE_NOT_ALLOWED,
				      "The policy does not allow %s DMA for these devices.",
				      dma_mode_to_string(requested_mode));
		goto finish;
	}
	c->dma_mode = requested_mode;
	c->dma_quota = grant.dma_quota;
	c->revoke_grace_usec = grant.revoke_grace_usec;
	c->revoke_force = grant.revoke_force;
	r = rebind_for_claim(c, client, infos, n, error);
	if (r < 0)
		goto finish;
	for (size_t i = 0; i < n; i++) {
		r = claim_check_group_free(m, infos[i].iommu_group, error);
		if (r < 0)
			goto finish;
	}

	r = m->backend->context_new(m->dev_fd, &c->context);
	if (r < 0) {
		char what[64];

		snprintf(what, sizeof(what), "Cannot create a VFIO context (%s back end)",
			 m->backend->name);
		r = claim_group_error(m, infos[0].iommu_group, r, what, error);
		goto finish;
	}

	for (size_t i = 0; i < n; i++) {
		r = claim_attach_group(c, infos[i].iommu_group, error);
		if (r < 0)
			goto finish;
	}

	for (size_t i = 0; i < n; i++) {
		ClaimDevice *d = c->devices + i;

		memcpy(d->address, infos[i].address, sizeof(d->address));
		d->claim = c;
		d->group = infos[i].iommu_group;
		d->irq_index = -1;
		d->fd = -EBADF;
		c->n_devices++;
		r = m->backend->open_device(c->context, d->group, d->address, &d->fd);
		if (r >= 0)
			r = vfio_device_get_info(d->fd, &d->info);
		if (r >= 0)
			r = claim_device_watch_requests(c, d);
		if (r >= 0)
			device_cache_vfio_info(m, d->address, d->fd);
		if (r < 0) {
			r = sd_bus_error_setf(
			    error, r == -EBUSY ? VFIOD_ERROR_BUSY : VFIOD_ERROR_FAILED,
			    "Cannot open VFIO device %s: %s", d->address, strerror(-r));
			goto finish;
		}
		r = claim_verify_identity(d, infos + i, error);
		if (r < 0)
			goto finish;
		/* Scrubbing relies on the reset; only the opened device can tell. */
		if (grant.require_reset && !(d->info.flags & VFIO_DEVICE_FLAGS_RESET)) {
			r = sd_bus_error_setf(error, VFIOD_ERROR_RESET_UNSUPPORTED,
					      "The policy requires a device reset (RequireReset=), "
					      "and the kernel cannot reset %s.",
					      d->address);
			goto finish;
		}
	}

	r = m->backend->iova_info(c->context, &c->dma.ranges, &c->dma.n_ranges, &c->dma.pgsizes);
	if (r < 0) {
		r = sd_bus_error_setf(error, VFIOD_ERROR_FAILED, "Cannot read the IOVA ranges: %s",
				      strerror(-r));
		goto finish;
	}
	c->dma.quota = c->dma_quota;

	if (c->dma_mode == DMA_MODE_CONTAINER) {
		r = client_raise_memlock(client, c->dma_quota);
		if (r < 0) {
			r = sd_bus_error_setf(error, VFIOD_ERROR_FAILED,
					      "Cannot raise RLIMIT_MEMLOCK of pid %d: %s",
					      (int)client->pid, strerror(-r));
			goto finish;
		}
	}

	c->id = ++m->next_claim_id;
	if (asprintf(&c->path, BROKER_CLAIM_PREFIX "/%" PRIu64, c->id) < 0) {
		c->path = NULL;
		r = -ENOMEM;
		goto finish;
	}
	c->client = client;
	LIST_PREPEND(claims, m->claims, c);
	m->n_claims++;
	LIST_PREPEND(client_claims, client->claims, c);
	client->n_claims++;
	client->n_devices += c->n_devices;
	manager_notify_status(m);
	bus_notify_claim_added(m, c);
	bus_notify_holder_changed(m, c);
	claim_store(c);

	log_info("Claim %" PRIu64 ": %s got %zu device(s) starting with %s, %s DMA, quota %" PRIu64,
		 c->id, client->label, c->n_devices, c->devices[0].address,
		 dma_mode_to_string(c->dma_mode), c->dma_quota);
	for (size_t i = 0; i < c->n_devices; i++)
		audit_log(AUDIT_CLAIM, client, c->devices[i].address, c->id,
			  decisions + i * CLAIM_DECISION_MAX, dma_mode_to_string(c->dma_mode));
	*ret = TAKE_PTR(c);
	r = 0;
finish:
	for (size_t i = 0; i < n; i++)
		pci_device_info_done(infos + i);
	free(infos);
	return r;
}

static bool irq_index_is_interrupt(unsigned index)
{
	return index == VFIO_PCI_INTX_IRQ_INDEX || index == VFIO_PCI_MSI_IRQ_INDEX ||
	       index == VFIO_PCI_MSIX_IRQ_INDEX;
}

int claim_set_irqs(Claim *c, const char *address, unsigned index, unsigned count, int **ret_fds,
		   sd_bus_error *error)
{
	struct vfio_irq_info info;
	ClaimDevice *d;
	_cleanup_free_ int *fds = NULL;
	size_t made = 0;
	int r;

	d = claim_find_device(c, address);
	if (!d)
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
					 "Device %.32s is not part of this claim.", address);
	if (index == VFIO_PCI_REQ_IRQ_INDEX)
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
					 "IRQ index %u (REQ) is reserved for vfiod's release "
					 "requests.",
					 index);
	if (index >= d->info.num_irqs)
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
					 "%s has IRQ indexes 0-%u; %u is not one.", address,
					 d->info.num_irqs - 1, index);
	r = vfio_device_get_irq_info(d->fd, index, &info);
	if (r < 0)
		return sd_bus_error_setf(error, VFIOD_ERROR_FAILED,
					 "Cannot read IRQ index %u of %s: %s", index, address,
					 strerror(-r));
	if (!(info.flags & VFIO_IRQ_INFO_EVENTFD))
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
					 "IRQ index %u of %s cannot signal an eventfd.", index,
					 address);
	if (count > info.count)
		return sd_bus_error_setf(error, VFIOD_ERROR_INVALID_ARGUMENT,
					 "IRQ index %u of %s has %u vector(s); %u asked for.",
					 index, address, info.count, count);
	if (count > SET_IRQS_MAX_FDS)
		return sd_bus_error_setf(error, VFIOD_ERROR_LIMIT_EXCEEDED,
					 "At most %u eventfds per SetIrqs call.", SET_IRQS_MAX_FDS);
	if (c->client->n_irq_fds + count > CLIENT_MAX_IRQ_FDS)
		return sd_bus_error_setf(error, VFIOD_ERROR_LIMIT_EXCEEDED,
					 "A client may receive at most %u IRQ eventfds.",
					 CLIENT_MAX_IRQ_FDS);

	/* INTx, MSI and MSI-X exclude each other; a resize needs a disable first too. */
	if (d->irq_index >= 0 &&
	    (irq_index_is_interrupt(index) || (unsigned)d->irq_index == index)) {
		r = vfio_device_disable_irqs(d->fd, d->irq_index);
		if (r < 0)
			return sd_bus_error_setf(error, VFIOD_ERROR_FAILED,
						 "Cannot disable IRQ index %d of %s: %s",
						 d->irq_index, address, strerror(-r));
		d->irq_index = -1;
	}
	if (count == 0) {
		r = vfio_device_disable_irqs(d->fd, index);
		if (r < 0)
			return sd_bus_error_setf(error, VFIOD_ERROR_FAILED,
						 "Cannot disable IRQ index %u of %s: %s", index,
						 address, strerror(-r));
		*ret_fds = NULL;
		return 0;
	}

	fds = calloc(count, sizeof(int));
	if (!fds)
		return -ENOMEM;
	for (; made < count; made++) {
		fds[made] = eventfd(0, EFD_CLOEXEC);
		if (fds[made] < 0) {
			r = negative_errno();
			goto fail;
		}
	}
	r = vfio_device_set_irq_eventfds(d->fd, index, fds, count);
	if (r < 0)
		goto fail;
	if (irq_index_is_interrupt(index))
		d->irq_index = index;
	c->client->n_irq_fds += count;
	claim_store_update(c);
	log_debug("Claim %" PRIu64 ": %s IRQ index %u (%s) wired to %u eventfd(s)", c->id, address,
		  index, vfio_pci_irq_name(index) ?: "?", count);
	*ret_fds = TAKE_PTR(fds);
	return 0;
fail:
	for (size_t i = 0; i < made; i++)
		safe_close(fds[i]);
	return sd_bus_error_setf(error, VFIOD_ERROR_FAILED,
				 "Cannot wire IRQ index %u of %s to eventfds: %s", index, address,
				 strerror(-r));
}

void claim_to_record(const Claim *c, ClaimRecord *ret)
{
	*ret = (ClaimRecord){
	    .id = c->id,
	    .uid = c->client->uid,
	    .gid = c->client->gid,
	    .pid = c->client->pid,
	    .dma_mode = c->dma_mode,
	    .dma_quota = c->dma_quota,
	    .dma_mapped = c->dma.mapped,
	    .revoke_grace_usec = c->revoke_grace_usec,
	    .revoke_force = c->revoke_force,
	    .n_devices = c->n_devices,
	};
	ret->n_moves = rebind_claim_moves(c->manager, c, ret->moves, CLAIM_RECORD_MAX_MOVES);
	for (size_t i = 0; i < c->n_devices; i++) {
		memcpy(ret->devices[i].address, c->devices[i].address,
		       sizeof(ret->devices[i].address));
		ret->devices[i].group = c->devices[i].group;
		ret->devices[i].irq_index = c->devices[i].irq_index;
	}
}

/* Reopens a device of a restored claim through its group, as claim_new_full() opened it. */
static int claim_reopen_device(Claim *c, const ClaimRecordDevice *rd, const char **reason)
{
	Manager *m = c->manager;
	ClaimDevice *d = c->devices + c->n_devices;
	PciDeviceInfo info = {0};
	int r;

	r = sysfs_read_pci_device(m->root_fd, rd->address, &info);
	if (r < 0 || info.iommu_group != rd->group) {
		pci_device_info_done(&info);
		*reason = r < 0 ? "a device is gone" : "a device changed its IOMMU group";
		return r < 0 ? r : -ENODEV;
	}
	pci_device_info_done(&info);
	memcpy(d->address, rd->address, sizeof(d->address));
	d->claim = c;
	d->group = rd->group;
	d->irq_index = rd->irq_index;
	d->fd = -EBADF;
	c->n_devices++;
	if (!claim_holds_group(c, d->group))
		c->groups[c->n_groups++] = d->group;
	r = m->backend->open_device(c->context, d->group, d->address, &d->fd);
	if (r >= 0)
		r = vfio_device_get_info(d->fd, &d->info);
	if (r >= 0 && (d->irq_index >= (int)d->info.num_irqs || d->info.num_irqs == 0))
		d->irq_index = -1;
	/* The REQ trigger still points at the previous instance's eventfd: replace it. */
	if (r >= 0)
		r = claim_device_watch_requests(c, d);
	if (r < 0) {
		*reason = "a device cannot be reopened";
		return r;
	}
	device_cache_vfio_info(m, d->address, d->fd);
	return 0;
}

int claim_restore(Client *client, const ClaimRecord *record, VfioContext *context, Claim **ret,
		  const char **ret_reason)
{
	Manager *m = client->manager;
	_cleanup_(claim_freep) Claim *c = NULL;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c) {
		m->backend->context_free(context);
		return -ENOMEM;
	}
	c->manager = m;
	c->record_fd = -EBADF;
	c->context = context;
	c->devices = calloc(record->n_devices, sizeof(*c->devices));
	c->groups = calloc(record->n_devices, sizeof(*c->groups));
	if (!c->devices || !c->groups)
		return -ENOMEM;
	c->id = record->id;
	c->dma_mode = record->dma_mode;
	c->dma_quota = record->dma_quota;
	c->revoke_grace_usec = record->revoke_grace_usec;
	c->revoke_force = record->revoke_force;
	for (size_t i = 0; i < record->n_devices; i++) {
		r = claim_reopen_device(c, record->devices + i, ret_reason);
		if (r < 0)
			return r;
	}
	r = m->backend->iova_info(c->context, &c->dma.ranges, &c->dma.n_ranges, &c->dma.pgsizes);
	if (r < 0) {
		*ret_reason = "cannot read the IOVA ranges";
		return r;
	}
	/*
	 * The mappings stay in the container, but the daemon's views of the
	 * memfds went with the previous instance: only the total is known, and
	 * the release unmaps everything at once.
	 */
	c->dma.quota = c->dma_quota;
	c->dma.mapped = record->dma_mapped;

	if (asprintf(&c->path, BROKER_CLAIM_PREFIX "/%" PRIu64, c->id) < 0) {
		c->path = NULL;
		return -ENOMEM;
	}
	if (c->id > m->next_claim_id)
		m->next_claim_id = c->id;
	c->client = client;
	LIST_PREPEND(claims, m->claims, c);
	m->n_claims++;
	LIST_PREPEND(client_claims, client->claims, c);
	client->n_claims++;
	client->n_devices += c->n_devices;
	client->dma_mapped += c->dma.mapped;
	manager_notify_status(m);
	bus_notify_claim_added(m, c);
	bus_notify_holder_changed(m, c);

	log_info("Claim %" PRIu64 ": restored for %s, %zu device(s) starting with %s, %s DMA",
		 c->id, client->label, c->n_devices, c->devices[0].address,
		 dma_mode_to_string(c->dma_mode));
	for (size_t i = 0; i < c->n_devices; i++)
		audit_log(AUDIT_CLAIM, client, c->devices[i].address, c->id,
			  "restored from the fd store", dma_mode_to_string(c->dma_mode));
	/* Last: from here on, the claim's end moves these devices back. */
	for (size_t i = 0; i < record->n_moves; i++) {
		r = rebind_restore_move(m, c, record->moves + i);
		if (r < 0)
			log_warning_errno(r,
					  "Claim %" PRIu64 ": cannot remember that %s goes back "
					  "to %s: %m",
					  c->id, record->moves[i].address,
					  record->moves[i].driver[0] ? record->moves[i].driver
								     : "(no driver)");
	}
	*ret = TAKE_PTR(c);
	return 0;
}
