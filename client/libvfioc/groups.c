/* SPDX-License-Identifier: MIT */
/*
 * IOMMU group and claim objects: vfioc_list_groups() and vfioc_list_claims()
 * from GetManagedObjects(), vfioc_get_group() from Properties.GetAll().
 */
#include <inttypes.h>
#include <stdio.h>

#include "vfioc-private.h"

typedef struct vfioc_group_info GroupInfo;
typedef struct vfioc_claim_info ClaimInfo;

static void *member_free(void *p)
{
	struct vfioc_group_member *g = p;

	if (g) {
		free((char *)g->name);
		free((char *)g->driver);
		free(g);
	}
	return NULL;
}

VFIOC_EXPORT GroupInfo *vfioc_group_info_free(GroupInfo *g)
{
	if (!g)
		return NULL;
	free((char *)g->path);
	ptr_array_free((void *)g->members, g->n_members, member_free);
	strv_free((char **)g->devices);
	free((char *)g->not_viable_reason);
	free((char *)g->claim);
	holder_free((void *)g->holder);
	free(g);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(GroupInfo *, vfioc_group_info_free)

static int read_members(sd_bus_message *m, void *obj)
{
	GroupInfo *g = obj;
	const char *name, *driver;
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ss)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(ss)", &name, &driver)) > 0) {
		struct vfioc_group_member *e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->name = strdup(name);
		e->driver = strdup(driver);
		r = e->name && e->driver ? 0 : -ENOMEM;
		if (r >= 0)
			r = ptr_array_append(&g->members, &g->n_members, e, VFIOC_MAX_ENTRIES);
		if (r < 0) {
			member_free(e);
			return r;
		}
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int read_group_devices(sd_bus_message *m, void *obj)
{
	GroupInfo *g = obj;
	return read_strv(m, 'o', &g->devices, &g->n_devices, VFIOC_MAX_ENTRIES);
}

static int read_group_holder(sd_bus_message *m, void *obj)
{
	GroupInfo *g = obj;
	return read_holder(m, &g->holder);
}

static const struct prop_spec group_props[] = {
    PROP("Number", "u", GroupInfo, number),
    PROP_FN("Members", "a(ss)", read_members),
    PROP_FN("Devices", "ao", read_group_devices),
    PROP("Viable", "b", GroupInfo, viable),
    PROP("NotViableReason", "s", GroupInfo, not_viable_reason),
    PROP("Claim", "o", GroupInfo, claim),
    PROP_FN("Holder", "a{sv}", read_group_holder),
};

static int group_info_new(const char *path, GroupInfo **ret)
{
	GroupInfo *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->path = strdup(path);
	if (!g->path) {
		free(g);
		return -ENOMEM;
	}
	*ret = g;
	return 0;
}

VFIOC_EXPORT struct vfioc_group_list *vfioc_group_list_free(struct vfioc_group_list *list)
{
	if (list) {
		ptr_array_free((void *)list->groups, list->n_groups,
			       (void *(*)(void *))vfioc_group_info_free);
		free(list);
	}
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vfioc_group_list *, vfioc_group_list_free)

static int on_group(sd_bus_message *m, const char *path, void *userdata)
{
	struct vfioc_group_list *list = userdata;
	_cleanup_(vfioc_group_info_freep) GroupInfo *g = NULL;
	int r;

	r = group_info_new(path, &g);
	if (r < 0)
		return r;
	r = props_read(m, group_props, ELEMENTSOF(group_props), g);
	if (r < 0)
		return r;
	r = ptr_array_append(&list->groups, &list->n_groups, g, VFIOC_MAX_OBJECTS);
	if (r < 0)
		return r;
	TAKE_PTR(g);
	return 0;
}

static int group_compare(const void *a, const void *b)
{
	const GroupInfo *x = *(const GroupInfo *const *)a, *y = *(const GroupInfo *const *)b;
	return x->number < y->number ? -1 : x->number > y->number;
}

VFIOC_EXPORT int vfioc_list_groups(struct vfioc_client *client, struct vfioc_group_list **ret)
{
	_cleanup_(vfioc_group_list_freep) struct vfioc_group_list *list = NULL;
	int r;

	if (!client || !ret)
		return -EINVAL;
	list = calloc(1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	r = managed_objects_read(client, VFIOC_GROUP_INTERFACE, on_group, list);
	if (r < 0)
		return r;
	if (list->n_groups > 0)
		qsort((void *)list->groups, list->n_groups, sizeof(void *), group_compare);
	*ret = TAKE_PTR(list);
	return 0;
}

VFIOC_EXPORT int vfioc_get_group(struct vfioc_client *client, uint32_t number, GroupInfo **ret)
{
	_cleanup_(vfioc_group_info_freep) GroupInfo *g = NULL;
	char path[64];
	int r;

	if (!client || !ret)
		return -EINVAL;
	snprintf(path, sizeof(path), VFIOC_MANAGER_PATH "/group/%" PRIu32, number);
	r = group_info_new(path, &g);
	if (r < 0)
		return r;
	r = object_get_all(client, path, VFIOC_GROUP_INTERFACE, group_props,
			   ELEMENTSOF(group_props), g);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(g);
	return 0;
}

/* ---- Claims ---- */

static void *claim_info_free(void *p)
{
	ClaimInfo *c = p;

	if (c) {
		free((char *)c->path);
		strv_free((char **)c->devices);
		free((void *)c->groups);
		free((char *)c->dma_mode);
		free(c);
	}
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ClaimInfo *, claim_info_free)

static int read_claim_devices(sd_bus_message *m, void *obj)
{
	ClaimInfo *c = obj;
	return read_strv(m, 's', &c->devices, &c->n_devices, VFIOC_MAX_ENTRIES);
}

static int read_claim_groups(sd_bus_message *m, void *obj)
{
	ClaimInfo *c = obj;
	return read_number_array(m, 'u', &c->groups, &c->n_groups, VFIOC_MAX_ENTRIES);
}

static const struct prop_spec claim_props[] = {
    PROP_FN("Devices", "as", read_claim_devices),  PROP_FN("IommuGroups", "au", read_claim_groups),
    PROP("HolderUid", "u", ClaimInfo, holder_uid), PROP("HolderPid", "u", ClaimInfo, holder_pid),
    PROP("DmaMode", "s", ClaimInfo, dma_mode),	   PROP("DmaQuota", "t", ClaimInfo, dma_quota),
    PROP("DmaMapped", "t", ClaimInfo, dma_mapped),
};

VFIOC_EXPORT struct vfioc_claim_list *vfioc_claim_list_free(struct vfioc_claim_list *list)
{
	if (list) {
		ptr_array_free((void *)list->claims, list->n_claims, claim_info_free);
		free(list);
	}
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vfioc_claim_list *, vfioc_claim_list_free)

static int on_claim(sd_bus_message *m, const char *path, void *userdata)
{
	struct vfioc_claim_list *list = userdata;
	_cleanup_(claim_info_freep) ClaimInfo *c = NULL;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	if (!c->path)
		return -ENOMEM;
	r = props_read(m, claim_props, ELEMENTSOF(claim_props), c);
	if (r < 0)
		return r;
	r = ptr_array_append(&list->claims, &list->n_claims, c, VFIOC_MAX_OBJECTS);
	if (r < 0)
		return r;
	TAKE_PTR(c);
	return 0;
}

/* Claim paths end in a decimal id: shorter first, then by text, is numeric order. */
static int claim_compare(const void *a, const void *b)
{
	const ClaimInfo *x = *(const ClaimInfo *const *)a, *y = *(const ClaimInfo *const *)b;
	size_t lx = strlen(x->path), ly = strlen(y->path);
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->path, y->path);
}

VFIOC_EXPORT int vfioc_list_claims(struct vfioc_client *client, struct vfioc_claim_list **ret)
{
	_cleanup_(vfioc_claim_list_freep) struct vfioc_claim_list *list = NULL;
	int r;

	if (!client || !ret)
		return -EINVAL;
	list = calloc(1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	r = managed_objects_read(client, VFIOC_CLAIM_INTERFACE, on_claim, list);
	if (r < 0)
		return r;
	if (list->n_claims > 0)
		qsort((void *)list->claims, list->n_claims, sizeof(void *), claim_compare);
	*ret = TAKE_PTR(list);
	return 0;
}
