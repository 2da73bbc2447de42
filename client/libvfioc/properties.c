/* SPDX-License-Identifier: MIT */
/*
 * Reading D-Bus properties into the public metadata structs: a{sv}
 * dictionaries walked against a table of known properties, the
 * ObjectManager's GetManagedObjects() and Properties.GetAll(). Every count is
 * capped and every variant's signature checked before it is read; unknown
 * properties are skipped so a newer broker keeps working.
 */
#include "vfioc-private.h"

int variant_enter(sd_bus_message *m, const char *signature)
{
	const char *contents;
	char type;
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (r < 0)
		return r;
	if (r == 0 || type != SD_BUS_TYPE_VARIANT || !streq(contents, signature))
		return -EBADMSG;
	return sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, signature);
}

int dict_foreach(sd_bus_message *m, dict_entry_fn fn, void *userdata)
{
	const char *key;
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		r = fn(m, key, userdata);
		if (r < 0)
			return r;
		if (r == 0) {
			r = sd_bus_message_skip(m, "v");
			if (r < 0)
				return r;
		}
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

int ptr_array_append(void *array, size_t *n, void *item, size_t cap)
{
	void ***a = array;
	void **p;

	if (*n >= cap)
		return -E2BIG;
	p = reallocarray(*a, *n + 1, sizeof(void *));
	if (!p)
		return -ENOMEM;
	p[(*n)++] = item;
	*a = p;
	return 0;
}

void ptr_array_free(void *array, size_t n, void *(*free_item)(void *))
{
	void **a = array;

	for (size_t i = 0; a && i < n; i++)
		free_item(a[i]);
	free(a);
}

int read_strdup(sd_bus_message *m, char type, const char **field)
{
	const char *s;
	char *copy;
	int r;

	r = sd_bus_message_read_basic(m, type, &s);
	if (r < 0)
		return r;
	if (r == 0)
		return -EBADMSG;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	free((char *)*field);
	*field = copy;
	return 0;
}

int read_strv(sd_bus_message *m, char type, const char *const **ret, size_t *ret_n, size_t cap)
{
	char **l = NULL;
	size_t n = 0;
	const char *s;
	char sig[2] = {type, 0};
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, sig);
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read_basic(m, type, &s)) > 0) {
		char **p;

		if (n >= cap) {
			r = -E2BIG;
			break;
		}
		p = reallocarray(l, n + 2, sizeof(char *));
		if (!p) {
			r = -ENOMEM;
			break;
		}
		l = p;
		l[n] = strdup(s);
		if (!l[n]) {
			r = -ENOMEM;
			break;
		}
		l[++n] = NULL;
	}
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	if (r < 0) {
		strv_free(l);
		return r;
	}
	strv_free((char **)*ret);
	*ret = (const char *const *)l;
	*ret_n = n;
	return 0;
}

int read_number_array(sd_bus_message *m, char type, void *ret, size_t *ret_n, size_t cap)
{
	size_t width = type == SD_BUS_TYPE_UINT16 ? sizeof(uint16_t) : sizeof(uint32_t);
	uint8_t *a = NULL;
	size_t n = 0;
	uint32_t v32;
	uint16_t v16;
	char sig[2] = {type, 0};
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, sig);
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read_basic(
		    m, type, type == SD_BUS_TYPE_UINT16 ? (void *)&v16 : (void *)&v32)) > 0) {
		uint8_t *p;

		if (n >= cap) {
			r = -E2BIG;
			break;
		}
		p = reallocarray(a, n + 1, width);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		a = p;
		memcpy(a + n * width, type == SD_BUS_TYPE_UINT16 ? (void *)&v16 : (void *)&v32,
		       width);
		n++;
	}
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	if (r < 0) {
		free(a);
		return r;
	}
	free(*(void **)ret);
	*(void **)ret = a;
	*ret_n = n;
	return 0;
}

static int holder_entry(sd_bus_message *m, const char *key, void *userdata)
{
	struct vfioc_holder *h = userdata;
	int r;

	if (streq(key, "uid") || streq(key, "pid")) {
		r = variant_enter(m, "u");
		if (r >= 0)
			r = sd_bus_message_read(m, "u", streq(key, "uid") ? &h->uid : &h->pid);
	} else if (streq(key, "claim")) {
		r = variant_enter(m, "o");
		if (r >= 0)
			r = read_strdup(m, SD_BUS_TYPE_OBJECT_PATH, &h->claim);
	} else if (streq(key, "unit") || streq(key, "cgroup")) {
		r = variant_enter(m, "s");
		if (r >= 0)
			r = read_strdup(m, SD_BUS_TYPE_STRING,
					streq(key, "unit") ? &h->unit : &h->cgroup);
	} else
		return 0;
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	return r < 0 ? r : 1;
}

void *holder_free(void *p)
{
	struct vfioc_holder *h = p;

	if (h) {
		free((char *)h->claim);
		free((char *)h->unit);
		free((char *)h->cgroup);
		free(h);
	}
	return NULL;
}

int read_holder(sd_bus_message *m, const struct vfioc_holder **field)
{
	struct vfioc_holder *h;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = dict_foreach(m, holder_entry, h);
	if (r < 0 || !h->claim) {
		/* An empty dictionary means free. */
		holder_free(h);
		h = NULL;
	}
	if (r < 0)
		return r;
	holder_free((void *)*field);
	*field = h;
	return 0;
}

/* Reads one property whose variant has been entered, as its spec says. */
static int prop_read(sd_bus_message *m, const struct prop_spec *spec, void *obj)
{
	void *field = (uint8_t *)obj + spec->offset;
	int v, r;

	switch (spec->signature[0]) {
	case SD_BUS_TYPE_STRING:
	case SD_BUS_TYPE_OBJECT_PATH:
		return read_strdup(m, spec->signature[0], field);
	case SD_BUS_TYPE_BOOLEAN:
		r = sd_bus_message_read_basic(m, 'b', &v);
		if (r > 0)
			*(bool *)field = v;
		return r < 0 ? r : 0;
	case SD_BUS_TYPE_UINT16:
	case SD_BUS_TYPE_UINT32:
	case SD_BUS_TYPE_INT32:
	case SD_BUS_TYPE_UINT64:
		r = sd_bus_message_read_basic(m, spec->signature[0], field);
		return r < 0 ? r : 0;
	default:
		return -EINVAL; /* complex types have a read function */
	}
}

struct props_walk {
	const struct prop_spec *specs;
	size_t n_specs;
	void *obj;
};

static int props_entry(sd_bus_message *m, const char *key, void *userdata)
{
	struct props_walk *w = userdata;
	int r;

	for (size_t i = 0; i < w->n_specs; i++) {
		const struct prop_spec *s = &w->specs[i];

		if (!streq(key, s->name))
			continue;
		r = variant_enter(m, s->signature);
		if (r < 0)
			return r;
		r = s->read ? s->read(m, w->obj) : prop_read(m, s, w->obj);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		return r < 0 ? r : 1;
	}
	return 0;
}

int props_read(sd_bus_message *m, const struct prop_spec *specs, size_t n_specs, void *obj)
{
	struct props_walk w = {specs, n_specs, obj};
	return dict_foreach(m, props_entry, &w);
}

/* What a failure to read a reply becomes: E2BIG and ENOMEM stay, anything else is malformed. */
int client_reply_error(struct vfioc_client *client, int r, const char *what)
{
	if (r == -ENOMEM)
		return client_errno(client, r, what);
	if (r == -E2BIG)
		return client_errorf(client, -E2BIG, NULL,
				     "%s: the reply has more entries than libvfioc accepts", what);
	return client_errorf(client, -EBADMSG, NULL, "%s: malformed reply (%s)", what,
			     strerror(-r));
}

/* The error of a call on an object that may not exist: an unknown object is -ENODEV. */
static int object_call_error(struct vfioc_client *client, const sd_bus_error *error, int r,
			     const char *what)
{
	r = client_bus_error(client, error, r, what);
	if (sd_bus_error_has_names(error, SD_BUS_ERROR_UNKNOWN_OBJECT,
				   SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_UNKNOWN_METHOD))
		return -ENODEV;
	return r;
}

int object_get_all(struct vfioc_client *client, const char *path, const char *interface,
		   const struct prop_spec *specs, size_t n_specs, void *obj)
{
	_cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = client_new_method_call(client, path, "org.freedesktop.DBus.Properties", "GetAll", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "s", interface);
	if (r < 0)
		return client_errno(client, r, "GetAll");
	r = client_call(client, m, &error, &reply);
	if (r < 0)
		return object_call_error(client, &error, r, "GetAll");
	r = props_read(reply, specs, n_specs, obj);
	if (r < 0)
		return client_reply_error(client, r, "GetAll");
	return 0;
}

int managed_objects_read(struct vfioc_client *client, const char *interface, object_fn fn,
			 void *userdata)
{
	_cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	size_t n = 0;
	int r;

	r = client_new_method_call(client, VFIOC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
				   "GetManagedObjects", &m);
	if (r < 0)
		return r;
	r = client_call(client, m, &error, &reply);
	if (r < 0)
		return client_bus_error(client, &error, r, "GetManagedObjects");

	r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{oa{sa{sv}}}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY,
							     "oa{sa{sv}}")) > 0) {
		const char *path;

		r = sd_bus_message_read(reply, "o", &path);
		if (r >= 0)
			r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sa{sv}}");
		while (r >= 0 && (r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY,
								     "sa{sv}")) > 0) {
			const char *iface;

			r = sd_bus_message_read(reply, "s", &iface);
			if (r < 0)
				break;
			if (streq(iface, interface)) {
				if (++n > VFIOC_MAX_OBJECTS)
					r = -E2BIG;
				else
					r = fn(reply, path, userdata);
			} else
				r = sd_bus_message_skip(reply, "a{sv}");
			if (r >= 0)
				r = sd_bus_message_exit_container(reply);
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	if (r >= 0)
		r = sd_bus_message_exit_container(reply);
	if (r < 0)
		return client_reply_error(client, r, "GetManagedObjects");
	return 0;
}
