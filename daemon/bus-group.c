/* SPDX-License-Identifier: MIT */
/*
 * io.vfiod.Broker1.IommuGroup on /io/vfiod/Broker1/group/<number>: one object
 * per IOMMU group that holds at least one published device. Members and
 * viability are read from sysfs when asked, so they are never stale.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bus-objects.h"
#include "claim.h"
#include "device.h"
#include "group.h"
#include "log.h"
#include "sysfs.h"

int bus_group_path(int group, char **ret)
{
	if (group < 0)
		return -EINVAL;
	return asprintf(ret, "%s/%d", BROKER_GROUP_PREFIX, group) < 0 ? -ENOMEM : 0;
}

/* The group number of an object path, or -1. */
static int group_from_path(const char *path)
{
	const char *s = startswith(path, BROKER_GROUP_PREFIX "/");
	char *end;
	long v;

	if (!s || !*s || (*s == '0' && s[1]) || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > INT32_MAX)
		return -1;
	return (int)v;
}

static int group_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
			     void **ret_found, sd_bus_error *error)
{
	int number = group_from_path(path);
	IommuGroup *g = number < 0 ? NULL : iommu_group_find(userdata, number);

	if (!g)
		return 0;
	*ret_found = g;
	return 1;
}

static int group_node_enumerator(sd_bus *bus, const char *prefix, void *userdata, char ***ret,
				 sd_bus_error *error)
{
	Manager *m = userdata;
	_cleanup_strv_free_ char **l = NULL;
	int r;

	l = calloc(m->n_groups + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_groups; i++) {
		r = bus_group_path(m->groups[i]->number, l + i);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

static int property_get_number(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	IommuGroup *g = userdata;
	return sd_bus_message_append(reply, "u", (uint32_t)g->number);
}

/*
 * The members of one group as sysfs showed them, shared by the properties of
 * one GetAll() or GetManagedObjects() answer: that answer reads the group once
 * instead of once per property (Members, Devices, Viable, NotViableReason).
 * Only those read-only calls share it, and only while the call is being
 * dispatched (manager_dispatch_generation(): the message pointer alone could
 * be another call's), so no answer is staler than a single read would be.
 */
static struct {
	sd_bus_message *message;
	uint64_t generation;
	int group;
	int error; /* listing the group failed */
	GroupMember *members;
	size_t n;
} snapshot;

static void snapshot_clear(void)
{
	group_members_free(snapshot.members, snapshot.n);
	snapshot.members = NULL;
	snapshot.n = 0;
	snapshot.message = NULL;
}

static bool snapshot_key(sd_bus *bus, Manager *manager, sd_bus_message **ret_message,
			 uint64_t *ret_generation)
{
	sd_bus_message *m = sd_bus_get_current_message(bus);

	if (!m)
		return false;
	*ret_message = m;
	*ret_generation = manager_dispatch_generation(manager);
	return sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "GetAll") ||
	       sd_bus_message_is_method_call(m, "org.freedesktop.DBus.ObjectManager",
					     "GetManagedObjects");
}

/* The members of g for this call: 0, or the negative errno of listing them (-ENOENT: gone). */
static int group_members(sd_bus *bus, IommuGroup *g)
{
	sd_bus_message *m = NULL;
	uint64_t generation = 0;
	bool shared = snapshot_key(bus, g->manager, &m, &generation);

	if (shared && snapshot.message == m && snapshot.generation == generation &&
	    snapshot.group == g->number)
		return snapshot.error;
	snapshot_clear();
	snapshot.error = iommu_group_read_members(g->manager->root_fd, g->number, &snapshot.members,
						  &snapshot.n);
	/* Not shared: the next property reads again. */
	snapshot.message = shared ? m : NULL;
	snapshot.generation = generation;
	snapshot.group = g->number;
	return snapshot.error;
}

/* Members as (name, driver) or, for "Devices", the objects of the published ones. */
static int property_get_members(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	IommuGroup *g = userdata;
	Manager *m = g->manager;
	bool devices = streq(property, "Devices");
	int r;

	r = group_members(bus, g);
	if (r == -ENOENT)
		r = 0; /* the group is going away; its removal is announced separately */
	else if (r < 0)
		return sd_bus_error_set_errnof(error, -r, "Cannot read IOMMU group %d: %m",
					       g->number);

	r = sd_bus_message_open_container(reply, 'a', devices ? "o" : "(ss)");
	for (size_t i = 0; r >= 0 && i < snapshot.n; i++) {
		const GroupMember *member = snapshot.members + i;

		if (devices) {
			Device *d = device_find(m, member->name);
			if (d)
				r = sd_bus_message_append(reply, "o", d->path);
		} else {
			if (member->error == -ENODEV)
				continue; /* unplugged between listing and reading */
			if (member->error < 0)
				return sd_bus_error_set_errnof(error, -member->error,
							       "Cannot read %s: %m", member->name);
			r = sd_bus_message_append(reply, "(ss)", member->name,
						  member->driver ?: "");
		}
	}
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_viability(sd_bus *bus, const char *path, const char *interface,
				  const char *property, sd_bus_message *reply, void *userdata,
				  sd_bus_error *error)
{
	IommuGroup *g = userdata;
	_cleanup_free_ char *reason = NULL;
	int r;

	r = group_members(bus, g);
	if (r >= 0)
		r = iommu_group_members_viable(g->number, snapshot.members, snapshot.n, &reason);
	if (r < 0 && r != -EBUSY && r != -ENOENT)
		return sd_bus_error_set_errnof(error, -r, "Cannot read IOMMU group %d: %m",
					       g->number);
	if (streq(property, "Viable"))
		return sd_bus_message_append(reply, "b", r == 0);
	return sd_bus_message_append(reply, "s", r == -EBUSY ? reason : "");
}

static int property_get_claim(sd_bus *bus, const char *path, const char *interface,
			      const char *property, sd_bus_message *reply, void *userdata,
			      sd_bus_error *error)
{
	IommuGroup *g = userdata;
	Claim *c = manager_find_group_holder(g->manager, g->number);
	return sd_bus_message_append(reply, "o", c ? c->path : "/");
}

static int property_get_holder(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	IommuGroup *g = userdata;
	return bus_append_holder(reply, manager_find_group_holder(g->manager, g->number));
}

const sd_bus_vtable bus_group_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Number", "u", property_get_number, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Members", "a(ss)", property_get_members, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Devices", "ao", property_get_members, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Viable", "b", property_get_viability, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("NotViableReason", "s", property_get_viability, 0,
		    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Claim", "o", property_get_claim, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Holder", "a{sv}", property_get_holder, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END,
};

int bus_group_add(sd_bus *bus, Manager *m)
{
	int r;

	r = sd_bus_add_fallback_vtable(bus, NULL, BROKER_GROUP_PREFIX, BROKER_GROUP_INTERFACE,
				       bus_group_vtable, group_object_find, m);
	if (r < 0)
		return r;
	return sd_bus_add_node_enumerator(bus, NULL, BROKER_GROUP_PREFIX, group_node_enumerator, m);
}
