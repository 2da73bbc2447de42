/* SPDX-License-Identifier: MIT */
/*
 * libvfioc's metadata calls against the fake broker (fake-broker-objects.c):
 * listings and GetAll() into structs, sorting, unknown properties skipped,
 * and malformed, oversized and unanswered replies refused with the documented
 * errno, without leaking fds.
 */
#include <dirent.h>
#include <inttypes.h>
#include <systemd/sd-bus.h>

#include "fake-broker.h"
#include "tap.h"
#include "util.h"
#include "vfioc.h"

static struct fake_broker broker;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static void set_listing(const char *mode)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, broker.address);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r >= 0)
		r = sd_bus_call_method(bus, NULL, "/io/vfiod/Broker1", "io.vfiod.Test",
				       "SetListing", &error, NULL, "s", mode);
	sd_bus_error_free(&error);
	CHECK(r >= 0);
}

static void test_list_devices(struct vfioc_client *c)
{
	struct vfioc_device_list *list = NULL;
	const struct vfioc_device_info *d;

	CHECK(vfioc_list_devices(c, &list) == 0);
	if (!list)
		return;
	CHECK(list->n_devices == 3);
	if (list->n_devices != 3)
		goto out;
	/* Sorted by name; the broker sent them in reverse. */
	CHECK_STREQ(list->devices[0]->name, "0000:00:02.0");
	CHECK_STREQ(list->devices[1]->name, "0000:00:05.0");
	CHECK_STREQ(list->devices[2]->name, "ffe220000.sata");

	d = list->devices[0];
	CHECK_STREQ(d->path, "/io/vfiod/Broker1/device/pci_0000_00_02_0");
	CHECK_STREQ(d->kind, "pci");
	CHECK(d->vendor_id == 0x1234 && d->device_id == 0x11e8);
	CHECK(d->subsystem_vendor_id == 0x1af4 && d->subsystem_device_id == 0x1100);
	CHECK(d->class_code == 0x00ff00);
	CHECK_STREQ(d->driver, "vfio-pci");
	CHECK(d->iommu_group == 1 && d->numa_node == -1 && d->managed);
	CHECK_STREQ(d->claim_state, "free");
	CHECK_STREQ(d->claim, "/");
	CHECK(d->holder == NULL);
	/* A listing carries no metadata: the broker never opens a device for it. */
	CHECK_STREQ(d->metadata_state, "unread");
	CHECK(d->n_regions == 0 && d->n_irqs == 0 && d->device_flags == 0);

	d = list->devices[1];
	CHECK_STREQ(d->claim_state, "claimed");
	CHECK(d->holder != NULL);
	if (d->holder) {
		CHECK(d->holder->uid == 1001 && d->holder->pid == 345);
		CHECK_STREQ(d->holder->claim, "/io/vfiod/Broker1/claim/1");
		CHECK_STREQ(d->holder->unit, "app.service");
		CHECK(d->holder->cgroup == NULL);
	}

	d = list->devices[2];
	CHECK_STREQ(d->kind, "platform");
	CHECK_STREQ(d->dt_node, "/soc@ffe000000/sata@220000");
	CHECK(d->n_compatible == 2);
	if (d->n_compatible == 2) {
		CHECK_STREQ(d->compatible[0], "fsl,pq-sata-v2");
		CHECK_STREQ(d->compatible[1], "fsl,pq-sata");
		CHECK(d->compatible[2] == NULL);
	}
	CHECK(d->n_dt_resources == 1 && d->n_dt_interrupts == 1);
	if (d->n_dt_resources == 1) {
		const struct vfioc_dt_resource *e = d->dt_resources[0];
		CHECK_STREQ(e->property, "reg");
		CHECK_STREQ(e->name, "ahci");
		CHECK(e->translated && e->address == 0xffe220000 && e->size == 0x1000);
	}
	if (d->n_dt_interrupts == 1)
		CHECK_STREQ(d->dt_interrupts[0]->controller, "/soc@ffe000000/pic@40000");
out:
	CHECK(vfioc_device_list_free(list) == NULL);
}

static void test_get_device(struct vfioc_client *c)
{
	struct vfioc_device_info *d = NULL;
	const struct vfioc_device_region *g;

	CHECK(vfioc_get_device(c, "0000:00:02.0", &d) == 0);
	if (!d)
		return;
	CHECK_STREQ(d->metadata_state, "read");
	CHECK(d->device_flags == VFIOC_DEVICE_FLAG_PCI && !d->reset_supported);
	CHECK(d->n_regions == 10 && d->n_irqs == 4);
	if (d->n_regions == 10) {
		g = d->regions[0];
		CHECK(g->index == 0 && g->size == 0x100000 && g->offset == 0);
		CHECK(g->flags == (VFIOC_REGION_READ | VFIOC_REGION_WRITE | VFIOC_REGION_MMAP));
		CHECK_STREQ(g->name, "BAR0");
		CHECK(!g->absent && !g->has_type && g->n_sparse == 0 && g->dt == NULL);
		CHECK(d->regions[7]->size == 256 && d->regions[7]->offset == (uint64_t)7 << 40);
		CHECK(d->regions[8]->absent);
		g = d->regions[9];
		CHECK_STREQ(g->name, "IGD OpRegion");
		CHECK(g->flags & VFIOC_REGION_CAPS);
		CHECK(g->sparse_mmap && g->n_sparse == 2);
		if (g->n_sparse == 2) {
			CHECK(g->sparse[0]->offset == 0 && g->sparse[0]->size == 0x1000);
			CHECK(g->sparse[1]->offset == 0x1000 && g->sparse[1]->size == 0x800);
		}
		CHECK(g->has_type && g->type == 0x80008086 && g->subtype == 3);
		CHECK_STREQ(g->type_name, "Intel");
		CHECK_STREQ(g->subtype_name, "IGD OpRegion");
		CHECK(g->n_caps == 2 && g->caps[0] == 1 && g->caps[1] == 2);
		CHECK(!g->msix_mappable);
	}
	if (d->n_irqs == 4) {
		CHECK_STREQ(d->irqs[0]->name, "INTx");
		CHECK(d->irqs[0]->count == 1 &&
		      d->irqs[0]->flags ==
			  (VFIOC_IRQ_EVENTFD | VFIOC_IRQ_MASKABLE | VFIOC_IRQ_AUTOMASKED));
		CHECK(d->irqs[1]->flags == (VFIOC_IRQ_EVENTFD | VFIOC_IRQ_NORESIZE));
		CHECK(d->irqs[2]->index == 3 && d->irqs[2]->absent);
		CHECK(d->irqs[3]->index == 4 && !d->irqs[3]->absent);
	}
	d = vfioc_device_info_free(d);

	CHECK(vfioc_get_device(c, "0000:00:05.0", &d) == 0);
	if (d) {
		CHECK(d->reset_supported && (d->device_flags & VFIOC_DEVICE_FLAG_RESET));
		CHECK(d->n_regions == 9 && d->regions[0]->msix_mappable);
		CHECK(d->n_regions == 9 && d->regions[7]->size == 4096);
		d = vfioc_device_info_free(d);
	}

	/* A platform device: its path is escaped, its regions and IRQs placed in the tree. */
	CHECK(vfioc_get_device(c, "ffe220000.sata", &d) == 0);
	if (d) {
		CHECK_STREQ(d->path, "/io/vfiod/Broker1/device/platform_ffe220000_2esata");
		CHECK(d->device_flags == VFIOC_DEVICE_FLAG_PLATFORM);
		CHECK(d->n_regions == 1 && d->regions[0]->dt != NULL);
		if (d->n_regions == 1 && d->regions[0]->dt) {
			CHECK_STREQ(d->regions[0]->dt->node, "/soc@ffe000000/sata@220000");
			CHECK_STREQ(d->regions[0]->dt->property, "reg");
			CHECK_STREQ(d->regions[0]->dt->name, "ahci");
			CHECK(d->regions[0]->dt->entry == 0);
		}
		CHECK(d->n_irqs == 1 && d->irqs[0]->dt != NULL);
		if (d->n_irqs == 1 && d->irqs[0]->dt)
			CHECK_STREQ(d->irqs[0]->dt->property, "interrupts");
		d = vfioc_device_info_free(d);
	}
}

static void test_get_device_errors(struct vfioc_client *c)
{
	struct vfioc_device_info *d = NULL;

	CHECK(vfioc_get_device(c, "0000:00:09.0", &d) == -ENODEV && !d);
	CHECK(vfioc_get_device(c, "", &d) == -EINVAL && !d);
	CHECK(vfioc_get_device(c, "a/b", &d) == -EINVAL && !d);
	CHECK(vfioc_get_device(c, NULL, &d) == -EINVAL);
	CHECK(vfioc_get_device(NULL, "0000:00:02.0", &d) == -EINVAL);
	CHECK(vfioc_get_device(c, "0000:00:02.0", NULL) == -EINVAL);

	/* Malformed and oversized replies. */
	CHECK(vfioc_get_device(c, "0000:00:1a.0", &d) == -EBADMSG && !d);
	CHECK(strstr(vfioc_client_last_error(c) ?: "", "malformed") != NULL);
	CHECK(vfioc_get_device(c, "0000:00:1d.0", &d) == -EBADMSG && !d);
	CHECK(vfioc_get_device(c, "0000:00:1b.0", &d) == -E2BIG && !d);
	CHECK(vfioc_get_device(c, "0000:00:1c.0", &d) == -E2BIG && !d);
	CHECK_STREQ(vfioc_client_last_error_name(c), "System.Error.E2BIG");

	/* The client's timeout applies. */
	CHECK(vfioc_set_timeout(c, 200 * 1000) == 0);
	CHECK(vfioc_get_device(c, "0000:00:1f.7", &d) == -ETIMEDOUT && !d);
	CHECK(vfioc_set_timeout(c, 0) == 0);
}

static void test_groups_and_claims(struct vfioc_client *c)
{
	struct vfioc_group_list *groups = NULL;
	struct vfioc_claim_list *claims = NULL;
	struct vfioc_group_info *g = NULL;

	CHECK(vfioc_list_groups(c, &groups) == 0);
	if (groups) {
		CHECK(groups->n_groups == 2);
		if (groups->n_groups == 2) {
			CHECK(groups->groups[0]->number == 1 && groups->groups[0]->viable);
			CHECK(groups->groups[1]->number == 6 && !groups->groups[1]->viable);
			CHECK(groups->groups[1]->n_members == 3);
		}
		vfioc_group_list_free(groups);
	}

	CHECK(vfioc_get_group(c, 6, &g) == 0);
	if (g) {
		CHECK_STREQ(g->path, "/io/vfiod/Broker1/group/6");
		CHECK(g->number == 6 && !g->viable && g->n_members == 3);
		if (g->n_members == 3) {
			CHECK_STREQ(g->members[0]->name, "0000:00:07.0");
			CHECK_STREQ(g->members[0]->driver, "");
			CHECK_STREQ(g->members[2]->driver, "e1000");
		}
		CHECK(g->n_devices == 1);
		CHECK_STREQ(g->not_viable_reason,
			    "device 0000:01:02.0 in IOMMU group 6 is bound to e1000");
		CHECK_STREQ(g->claim, "/");
		CHECK(g->holder == NULL);
		vfioc_group_info_free(g);
	}
	g = NULL;
	CHECK(vfioc_get_group(c, 77, &g) == -ENODEV && !g);

	CHECK(vfioc_list_claims(c, &claims) == 0);
	if (claims) {
		CHECK(claims->n_claims == 1);
		if (claims->n_claims == 1) {
			const struct vfioc_claim_info *ci = claims->claims[0];
			CHECK_STREQ(ci->path, "/io/vfiod/Broker1/claim/1");
			CHECK(ci->n_devices == 1 && ci->n_groups == 1 && ci->groups[0] == 4);
			CHECK_STREQ(ci->devices[0], "0000:00:05.0");
			CHECK(ci->holder_uid == 1001 && ci->holder_pid == 345);
			CHECK_STREQ(ci->dma_mode, "brokered");
			CHECK(ci->dma_quota == 1 << 20 && ci->dma_mapped == 8192);
		}
		vfioc_claim_list_free(claims);
	}
}

static void test_bad_listings(struct vfioc_client *c)
{
	struct vfioc_device_list *list = NULL;

	set_listing("huge");
	CHECK(vfioc_list_devices(c, &list) == -E2BIG && !list);
	set_listing("malformed");
	CHECK(vfioc_list_devices(c, &list) == -EBADMSG && !list);
	set_listing("normal");
	CHECK(vfioc_list_devices(c, &list) == 0);
	vfioc_device_list_free(list);

	CHECK(vfioc_list_devices(NULL, &list) == -EINVAL);
	CHECK(vfioc_list_groups(c, NULL) == -EINVAL);
	CHECK(vfioc_device_info_free(NULL) == NULL);
	CHECK(vfioc_claim_list_free(NULL) == NULL);
}

int main(void)
{
	struct vfioc_client *c = NULL;
	int fds;

	if (fake_broker_start(&broker) < 0) {
		fprintf(stderr, "cannot start the fake broker\n");
		return 1;
	}
	fds = count_fds();
	CHECK(vfioc_connect(broker.address, &c) == 0);
	if (c) {
		test_list_devices(c);
		test_get_device(c);
		test_get_device_errors(c);
		test_groups_and_claims(c);
		test_bad_listings(c);
		vfioc_client_free(c);
	}
	CHECK(count_fds() == fds);
	CHECK(fake_broker_stop(&broker) == 0);
	return test_exit();
}
