/* SPDX-License-Identifier: MIT */
/*
 * vfioctl policy check --json: the results as one JSON object (json-c), with
 * the field names documented in vfioctl(1). Sizes are bytes, times
 * microseconds (as grace_usec of io.vfiod.Broker1(5)), ids numbers.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>

#include "describe.h"
#include "policy-check.h"
#include "util.h"

/* Adds key: value to o; a NULL value (no memory) or a failed add clears *ok. */
static void put(json_object *o, const char *key, json_object *value, bool *ok)
{
	if (!value || json_object_object_add(o, key, value) < 0) {
		json_object_put(value);
		*ok = false;
	}
}

/* Adds key: null, for what is deliberately absent. */
static void put_null(json_object *o, const char *key, bool *ok)
{
	if (json_object_object_add(o, key, NULL) < 0)
		*ok = false;
}

static void append(json_object *array, json_object *value, bool *ok)
{
	if (!value || json_object_array_add(array, value) < 0) {
		json_object_put(value);
		*ok = false;
	}
}

static json_object *dma_modes_to_json(unsigned modes, bool *ok)
{
	json_object *a = json_object_new_array();

	if (!a) {
		*ok = false;
		return NULL;
	}
	if (modes & DMA_MODE_CONTAINER)
		append(a, json_object_new_string(dma_mode_to_string(DMA_MODE_CONTAINER)), ok);
	if (modes & DMA_MODE_BROKERED)
		append(a, json_object_new_string(dma_mode_to_string(DMA_MODE_BROKERED)), ok);
	return a;
}

static json_object *options_to_json(const PolicyRule *r, bool *ok)
{
	json_object *o = json_object_new_object();

	if (!o) {
		*ok = false;
		return NULL;
	}
	put(o, "dma_modes", dma_modes_to_json(r->dma_modes, ok), ok);
	put(o, "dma_quota", json_object_new_uint64(r->dma_quota), ok);
	put(o, "max_devices", json_object_new_int64(r->max_devices), ok);
	put(o, "require_reset", json_object_new_boolean(r->require_reset), ok);
	put(o, "may_rebind", json_object_new_boolean(r->may_rebind), ok);
	put(o, "revoke_grace_usec", json_object_new_uint64(r->revoke_grace_usec), ok);
	put(o, "revoke_force", json_object_new_boolean(r->revoke_force), ok);
	return o;
}

static json_object *rule_to_json(const PolicyRule *r, bool *ok)
{
	json_object *o = json_object_new_object();

	if (!o) {
		*ok = false;
		return NULL;
	}
	put(o, "name", json_object_new_string(r->name), ok);
	put(o, "file", json_object_new_string(r->file), ok);
	put(o, "line", json_object_new_int64(r->line), ok);
	put(o, "options", options_to_json(r, ok), ok);
	return o;
}

static json_object *grant_to_json(const struct grant *g, bool *ok)
{
	json_object *o = json_object_new_object();

	if (!o) {
		*ok = false;
		return NULL;
	}
	put(o, "dma_modes", dma_modes_to_json(g->dma_modes, ok), ok);
	put(o, "dma_quota", json_object_new_uint64(g->dma_quota), ok);
	put(o, "max_devices", json_object_new_int64(g->max_devices), ok);
	put(o, "require_reset", json_object_new_boolean(g->require_reset), ok);
	put(o, "revoke_grace_usec", json_object_new_uint64(g->revoke_grace_usec), ok);
	put(o, "revoke_force", json_object_new_boolean(g->revoke_force), ok);
	return o;
}

static json_object *strv_to_json(char *const *v, bool *ok)
{
	json_object *a = json_object_new_array();

	if (!a) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; v && v[i]; i++)
		append(a, json_object_new_string(v[i]), ok);
	return a;
}

static json_object *device_to_json_object(const struct device_verdict *v, bool *ok)
{
	json_object *o = json_object_new_object(), *notes = json_object_new_array();
	_cleanup_free_ char *note = NULL;

	if (!o || !notes || device_verdict_note(v, &note) < 0) {
		json_object_put(o);
		json_object_put(notes);
		*ok = false;
		return NULL;
	}
	if (note)
		append(notes, json_object_new_string(note), ok);
	/* The names and forms of list --json where they say the same. */
	put(o, "name", json_object_new_string(v->info.address), ok);
	put(o, "kind", json_object_new_string("pci"), ok);
	put(o, "vendor_id", json_object_new_int(v->info.vendor_id), ok);
	put(o, "device_id", json_object_new_int(v->info.device_id), ok);
	put(o, "subsystem_vendor_id", json_object_new_int(v->info.subsystem_vendor_id), ok);
	put(o, "subsystem_device_id", json_object_new_int(v->info.subsystem_device_id), ok);
	put(o, "class", json_object_new_int64(v->info.class_code), ok);
	put(o, "driver", json_object_new_string(strempty(v->info.driver)), ok);
	put(o, "iommu_group", json_object_new_int(v->info.iommu_group), ok);
	put(o, "description", json_object_new_string(v->description), ok);
	put(o, "managed", json_object_new_boolean(v->managed), ok);
	put(o, "explanation", strv_to_json(v->explanation, ok), ok);
	put(o, "allowed", json_object_new_boolean(v->rule != NULL), ok);
	if (v->rule)
		put(o, "rule", rule_to_json(v->rule, ok), ok);
	else
		put_null(o, "rule", ok);
	put(o, "notes", notes, ok);
	return o;
}

static json_object *user_to_json(const struct subject *s, bool *ok)
{
	json_object *o = json_object_new_object(), *groups = json_object_new_array();

	if (!o || !groups) {
		json_object_put(o);
		json_object_put(groups);
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < s->s.n_supplementary_gids; i++)
		append(groups, json_object_new_int64(s->s.supplementary_gids[i]), ok);
	if (s->name)
		put(o, "name", json_object_new_string(s->name), ok);
	else
		put_null(o, "name", ok);
	put(o, "uid", json_object_new_int64(s->s.uid), ok);
	if (s->s.gid != (gid_t)-1)
		put(o, "gid", json_object_new_int64(s->s.gid), ok);
	else
		put_null(o, "gid", ok);
	put(o, "groups", groups, ok);
	return o;
}

static json_object *policy_to_json(const struct policy_check *c, bool *ok)
{
	json_object *o = json_object_new_object();

	if (!o) {
		*ok = false;
		return NULL;
	}
	put(o, "config", json_object_new_string(c->config), ok);
	put(o, "dropin_dir", json_object_new_string(c->dropins), ok);
	put(o, "rules", json_object_new_uint64(c->policy->n_rules), ok);
	return o;
}

int policy_check_print_json(const struct policy_check *c)
{
	json_object *o = json_object_new_object(), *devices = json_object_new_array();
	bool ok = true;
	int r;

	if (!o || !devices) {
		json_object_put(o);
		json_object_put(devices);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_devices; i++)
		append(devices, device_to_json_object(&c->devices[i], &ok), &ok);
	put(o, "policy", policy_to_json(c, &ok), &ok);
	put(o, "user", user_to_json(&c->subject, &ok), &ok);
	put(o, "devices", devices, &ok);
	put(o, "allowed", json_object_new_boolean(c->status == EXIT_ALLOWED), &ok);
	if (c->status == EXIT_ALLOWED)
		put(o, "grant", grant_to_json(&c->grant, &ok), &ok);
	else
		put_null(o, "grant", &ok);
	r = ok ? json_print(o) : -ENOMEM;
	json_object_put(o);
	return r;
}
