/* SPDX-License-Identifier: MIT */
#include "devtree.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Most links followed while looking for one node's interrupt controller. */
#define IRQ_PARENT_HOPS_MAX (2 * DEVTREE_DEPTH_MAX)
/* Most cells in an address or a size (the kernel's OF_MAX_ADDR_CELLS). */
#define CELLS_MAX 4

struct DevTree {
	void *blob;
	size_t size;
};

const char *dt_property_to_string(DtProperty p)
{
	switch (p) {
	case DT_PROPERTY_REG:
		return "reg";
	case DT_PROPERTY_RANGES:
		return "ranges";
	case DT_PROPERTY_INTERRUPTS:
		return "interrupts";
	case DT_PROPERTY_INTERRUPTS_EXTENDED:
		return "interrupts-extended";
	}
	return NULL;
}

static int set_error(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *format, ...)
{
	va_list ap;
	int n;

	if (!ret_error)
		return r;
	va_start(ap, format);
	n = vasprintf(ret_error, format, ap);
	va_end(ap);
	if (n < 0) {
		*ret_error = NULL;
		return -ENOMEM;
	}
	return r;
}

/* Printable ASCII, not empty; `space` allows ' ' too. */
static bool string_is_printable(const char *s, size_t n, bool space)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < (space ? ' ' : '!') || s[i] > '~')
			return false;
	return true;
}

DevTree *devtree_free(DevTree *t)
{
	if (t) {
		free(t->blob);
		free(t);
	}
	return NULL;
}

/*
 * Beyond fdt_check_full(): the structure is exactly one root node at offset 0
 * (so that "/" is offset 0, as libfdt assumes), followed only by NOPs, and no
 * node is deeper than DEVTREE_DEPTH_MAX (each ancestor lookup is a scan, and
 * we keep one node's ancestors in an array).
 */
static int check_shape(const void *blob, const char *origin, char **ret_error)
{
	int depth = -1, offset;

	offset = fdt_next_node(blob, -1, &depth);
	if (offset != 0 || depth != 0)
		return set_error(ret_error, -EBADMSG,
				 "%s: the structure does not start with a node", origin);
	while (depth >= 0) {
		offset = fdt_next_node(blob, offset, &depth);
		if (offset < 0)
			return set_error(ret_error, -EBADMSG, "%s: bad structure block: %s", origin,
					 fdt_strerror(offset));
		if (depth > DEVTREE_DEPTH_MAX)
			return set_error(ret_error, -EBADMSG,
					 "%s: nodes nested deeper than %d levels", origin,
					 DEVTREE_DEPTH_MAX);
	}
	/* The root has ended: offset is the tag after its FDT_END_NODE. */
	for (;;) {
		int next;
		uint32_t tag = fdt_next_tag(blob, offset, &next);

		if (tag == FDT_END)
			return 0;
		if (tag != FDT_NOP || next < 0)
			return set_error(ret_error, -EBADMSG, "%s: content after the root node",
					 origin);
		offset = next;
	}
}

/* Takes ownership of blob (malloc()ed, size bytes). */
static int devtree_new(void *blob, size_t size, const char *origin, DevTree **ret, char **ret_error)
{
	_cleanup_free_ void *owned = blob;
	DevTree *t;
	int r;

	if (!origin)
		origin = "device tree";
	if (size > DEVTREE_SIZE_MAX)
		return set_error(ret_error, -EFBIG, "%s: larger than %u bytes", origin,
				 DEVTREE_SIZE_MAX);
	r = fdt_check_full(blob, size);
	if (r < 0)
		return set_error(ret_error, -EBADMSG, "%s: not a valid flattened device tree: %s",
				 origin, fdt_strerror(r));
	r = check_shape(blob, origin, ret_error);
	if (r < 0)
		return r;

	t = malloc(sizeof(DevTree));
	if (!t)
		return -ENOMEM;
	*t = (DevTree){
	    .blob = TAKE_PTR(owned),
	    .size = size,
	};
	*ret = t;
	return 0;
}

int devtree_from_blob(const void *data, size_t size, const char *origin, DevTree **ret,
		      char **ret_error)
{
	void *blob;

	if (!ret || (!data && size > 0))
		return -EINVAL;
	if (size > DEVTREE_SIZE_MAX)
		return set_error(ret_error, -EFBIG, "%s: larger than %u bytes",
				 origin ? origin : "device tree", DEVTREE_SIZE_MAX);
	/* A copy of our own: malloc() aligns it as libfdt wants, and nobody changes it. */
	blob = malloc(size > 0 ? size : 1);
	if (!blob)
		return -ENOMEM;
	if (size > 0)
		memcpy(blob, data, size);
	return devtree_new(blob, size, origin, ret, ret_error);
}

int devtree_load(int dir_fd, const char *path, DevTree **ret, char **ret_error)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0, allocated;
	struct stat st;

	if (!path || !ret)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO put in its place must not hang us; it is refused below. */
	fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int r = negative_errno();
		return set_error(ret_error, r, "%s: cannot open: %s", path, strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		int r = negative_errno();
		return set_error(ret_error, r, "%s: cannot stat: %s", path, strerror(-r));
	}
	if (!S_ISREG(st.st_mode))
		return set_error(ret_error, -EINVAL, "%s: not a regular file", path);
	if (st.st_size > (off_t)DEVTREE_SIZE_MAX)
		return set_error(ret_error, -EFBIG, "%s: larger than %u bytes", path,
				 DEVTREE_SIZE_MAX);

	/* sysfs reports the blob's size; read one byte more to see the end either way. */
	allocated = (size_t)st.st_size + 1;
	buf = malloc(allocated);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k;

		if (n == allocated) {
			size_t want = allocated < 65536 ? 65536 : allocated * 2;
			char *grown;

			if (allocated > DEVTREE_SIZE_MAX)
				return set_error(ret_error, -EFBIG, "%s: larger than %u bytes",
						 path, DEVTREE_SIZE_MAX);
			if (want > (size_t)DEVTREE_SIZE_MAX + 1)
				want = (size_t)DEVTREE_SIZE_MAX + 1;
			grown = realloc(buf, want);
			if (!grown)
				return -ENOMEM;
			buf = grown;
			allocated = want;
		}
		k = read(fd, buf + n, allocated - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = negative_errno();
			return set_error(ret_error, r, "%s: cannot read: %s", path, strerror(-r));
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	return devtree_new(TAKE_PTR(buf), n, path, ret, ret_error);
}

void dt_device_info_done(DtDeviceInfo *info)
{
	if (!info)
		return;
	free(info->path);
	strv_free(info->compatible);
	for (size_t i = 0; i < info->n_resources; i++) {
		free(info->resources[i].node);
		free(info->resources[i].name);
	}
	free(info->resources);
	for (size_t i = 0; i < info->n_interrupts; i++) {
		free(info->interrupts[i].node);
		free(info->interrupts[i].name);
		free(info->interrupts[i].controller);
	}
	free(info->interrupts);
	*info = (DtDeviceInfo){};
}

/* The state of one devtree_describe(). */
typedef struct Describe {
	const void *blob;
	char **ret_error;
	int chain[DEVTREE_DEPTH_MAX + 1]; /* chain[0] is the root, chain[depth] the node */
	int depth;
	DtDeviceInfo info;
	size_t resources_allocated, interrupts_allocated;
	unsigned children_seen; /* children whose reg (or interrupts) were read so far */
	/* The last phandle looked up and the last controller's path: each is a scan. */
	uint32_t last_phandle;
	int last_phandle_node;
	int last_controller;
	char *last_controller_path;
} Describe;

/* The path of node for a message: "?" when there is none, unprintable bytes as '?'. */
static void node_for_message(const void *blob, int node, char *buf, size_t size)
{
	if (fdt_get_path(blob, node, buf, (int)size) < 0) {
		snprintf(buf, size, "?");
		return;
	}
	for (char *p = buf; *p; p++)
		if (*p < ' ' || *p > '~')
			*p = '?';
}

/* Records "<node path>: <message>" and returns r. */
static int fail(Describe *d, int r, int node, const char *format, ...) _printf_(4, 5);
static int fail(Describe *d, int r, int node, const char *format, ...)
{
	_cleanup_free_ char *message = NULL;
	char path[DEVTREE_PATH_MAX];
	va_list ap;
	int n;

	if (!d->ret_error)
		return r;
	va_start(ap, format);
	n = vasprintf(&message, format, ap);
	va_end(ap);
	if (n < 0) {
		message = NULL;
		return -ENOMEM;
	}
	node_for_message(d->blob, node, path, sizeof(path));
	return set_error(d->ret_error, r, "%s: %s", path, message);
}

/* The canonical path of node, validated: each name printable, no longer than DEVTREE_PATH_MAX. */
static int node_path(Describe *d, int node, char **ret)
{
	char buf[DEVTREE_PATH_MAX];
	char *s;
	int r;

	r = fdt_get_path(d->blob, node, buf, sizeof(buf));
	if (r == -FDT_ERR_NOSPACE)
		return fail(d, -EBADMSG, node, "path longer than %d bytes", DEVTREE_PATH_MAX - 1);
	if (r < 0)
		return fail(d, -EBADMSG, node, "cannot build the path: %s", fdt_strerror(r));
	if (!string_is_printable(buf, strlen(buf), false))
		return fail(d, -EBADMSG, node, "node name is not printable ASCII");
	s = strdup(buf);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* A property of exactly one cell. 0, -ENOENT (no message) when absent, -EBADMSG otherwise. */
static int get_u32(Describe *d, int node, const char *name, uint32_t *ret)
{
	const fdt32_t *p;
	int len;

	p = fdt_getprop(d->blob, node, name, &len);
	if (!p) {
		if (len == -FDT_ERR_NOTFOUND)
			return -ENOENT;
		return fail(d, -EBADMSG, node, "cannot read %s: %s", name, fdt_strerror(len));
	}
	if (len != sizeof(fdt32_t))
		return fail(d, -EBADMSG, node, "%s is %d bytes long, not one cell", name, len);
	*ret = fdt32_ld(p);
	return 0;
}

/*
 * A cell count (#address-cells, #size-cells, #interrupt-cells), required and
 * within min..max. `user` is the node whose property needs it, for the message.
 */
static int get_cell_count(Describe *d, int node, const char *name, uint32_t min, uint32_t max,
			  int user, const char *what, unsigned *ret)
{
	uint32_t v;
	int r;

	r = get_u32(d, node, name, &v);
	if (r == -ENOENT) {
		char owner[256];

		node_for_message(d->blob, node, owner, sizeof(owner));
		return fail(d, -EBADMSG, user, "%s needs %s, which %s does not have", what, name,
			    owner);
	}
	if (r < 0)
		return r;
	if (v < min || v > max)
		return fail(d, -EBADMSG, node, "%s is %u, not within %u..%u", name, v, min, max);
	*ret = v;
	return 0;
}

/*
 * A property as an array of cells, whose length must be a multiple of `unit`
 * cells. Returns the cell count, 0 (*ret NULL) when absent, or -EBADMSG.
 */
static int get_cells(Describe *d, int node, const char *name, unsigned unit, const fdt32_t **ret)
{
	const fdt32_t *p;
	int len;

	p = fdt_getprop(d->blob, node, name, &len);
	if (!p) {
		if (len != -FDT_ERR_NOTFOUND)
			return fail(d, -EBADMSG, node, "cannot read %s: %s", name,
				    fdt_strerror(len));
		*ret = NULL;
		return 0;
	}
	if (len % sizeof(fdt32_t) != 0)
		return fail(d, -EBADMSG, node, "%s is %d bytes long, not a whole number of cells",
			    name, len);
	if (unit > 0 && (len / sizeof(fdt32_t)) % unit != 0)
		return fail(d, -EBADMSG, node,
			    "%s has %zu cells, not a whole number of %u-cell entries", name,
			    len / sizeof(fdt32_t), unit);
	*ret = p;
	return (int)(len / sizeof(fdt32_t));
}

/* n big-endian cells as one number; false when it needs more than 64 bits. */
static bool read_number(const fdt32_t *cells, unsigned n, uint64_t *ret)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (v >> 32)
			return false;
		v = v << 32 | fdt32_ld(&cells[i]);
	}
	*ret = v;
	return true;
}

/*
 * A NUL-separated list of printable strings ("compatible", "reg-names") as a
 * strv; an absent property is an empty list. -EBADMSG when malformed.
 */
static int get_strings(Describe *d, int node, const char *name, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	const char *p;
	size_t n = 0, count = 0;
	int len;

	p = fdt_getprop(d->blob, node, name, &len);
	if (!p && len != -FDT_ERR_NOTFOUND)
		return fail(d, -EBADMSG, node, "cannot read %s: %s", name, fdt_strerror(len));
	if (p && len > 0 && p[len - 1] != '\0')
		return fail(d, -EBADMSG, node, "%s does not end in a NUL", name);
	for (int i = 0; p && i < len; i++)
		count += p[i] == '\0';
	if (count > DEVTREE_ENTRIES_MAX)
		return fail(d, -E2BIG, node, "%s has more than %d strings", name,
			    DEVTREE_ENTRIES_MAX);

	l = calloc(count + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (int i = 0; p && i < len; n++) {
		size_t k = strlen(p + i);

		if (!string_is_printable(p + i, k, true))
			return fail(d, -EBADMSG, node,
				    "%s: string %zu is empty or not printable ASCII", name, n);
		l[n] = strndup(p + i, k);
		if (!l[n])
			return -ENOMEM;
		i += (int)k + 1;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* Entry `index` of a names list, copied, or NULL (*ret) when the list is shorter. */
static int copy_name(char *const *names, unsigned index, char **ret)
{
	if (index >= strv_length(names)) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(names[index]);
	return *ret ? 0 : -ENOMEM;
}

/* True when addresses below this bus are not plain numbers (PCI, ISA). */
static bool bus_has_special_addressing(const void *blob, int bus)
{
	const char *type;
	int len;

	type = fdt_getprop(blob, bus, "device_type", &len);
	if (!type || len <= 0 || type[len - 1] != '\0')
		return false;
	return streq(type, "pci") || streq(type, "pciex") || streq(type, "isa");
}

/*
 * Translates addr, an address in the address space that chain[level] gives
 * its children, to a CPU physical address. Returns 1 and *ret; 0 when it does
 * not translate (a bus without `ranges` or with special addressing, no window
 * holds it, more than 64 bits); or -EBADMSG.
 */
static int translate(Describe *d, int level, uint64_t addr, uint64_t *ret)
{
	for (; level > 0; level--) {
		int bus = d->chain[level], parent = d->chain[level - 1];
		const fdt32_t *ranges;
		unsigned na, pna, ns, rone;
		bool found = false;
		int n, r;

		if (bus_has_special_addressing(d->blob, bus))
			return 0;
		if (!fdt_getprop(d->blob, bus, "ranges", &n)) {
			if (n == -FDT_ERR_NOTFOUND)
				return 0; /* not memory-mapped beyond this bus */
			return fail(d, -EBADMSG, bus, "cannot read ranges: %s", fdt_strerror(n));
		}
		if (n == 0)
			continue; /* empty ranges: 1:1 */

		r = get_cell_count(d, bus, "#address-cells", 1, CELLS_MAX, bus, "ranges", &na);
		if (r < 0)
			return r;
		r = get_cell_count(d, bus, "#size-cells", 0, CELLS_MAX, bus, "ranges", &ns);
		if (r < 0)
			return r;
		r = get_cell_count(d, parent, "#address-cells", 1, CELLS_MAX, bus, "ranges", &pna);
		if (r < 0)
			return r;
		rone = na + pna + ns;
		n = get_cells(d, bus, "ranges", rone, &ranges);
		if (n < 0)
			return n;

		for (int i = 0; i < n; i += (int)rone) {
			uint64_t child, up, size;

			if (!read_number(ranges + i, na, &child) ||
			    !read_number(ranges + i + na, pna, &up) ||
			    !read_number(ranges + i + na + pna, ns, &size))
				continue;
			if (addr >= child && addr - child < size) {
				if (UINT64_MAX - up < addr - child)
					return 0;
				addr = up + (addr - child);
				found = true;
				break;
			}
		}
		if (!found)
			return 0;
	}
	*ret = addr;
	return 1;
}

static int add_resource(Describe *d, DtResource *res)
{
	if (d->info.n_resources >= DEVTREE_ENTRIES_MAX)
		return fail(d, -E2BIG, d->chain[d->depth], "more than %d reg and ranges entries",
			    DEVTREE_ENTRIES_MAX);
	if (d->info.n_resources == d->resources_allocated) {
		size_t want = d->resources_allocated ? d->resources_allocated * 2 : 8;
		DtResource *grown = realloc(d->info.resources, want * sizeof(DtResource));

		if (!grown)
			return -ENOMEM;
		d->info.resources = grown;
		d->resources_allocated = want;
	}
	d->info.resources[d->info.n_resources++] = *res;
	*res = (DtResource){};
	return 0;
}

/*
 * The `reg` entries of node, whose path is `path` and whose parent is
 * chain[level] (the bus whose address space reg is in).
 */
static int add_reg(Describe *d, int node, const char *path, int level)
{
	_cleanup_strv_free_ char **names = NULL;
	const fdt32_t *reg;
	unsigned na, ns;
	int bus = d->chain[level], n, r;
	bool mapped;

	if (!fdt_getprop(d->blob, node, "reg", &n) && n == -FDT_ERR_NOTFOUND)
		return 0;
	r = get_cell_count(d, bus, "#address-cells", 1, CELLS_MAX, node, "reg", &na);
	if (r < 0)
		return r;
	r = get_cell_count(d, bus, "#size-cells", 0, CELLS_MAX, node, "reg", &ns);
	if (r < 0)
		return r;
	n = get_cells(d, node, "reg", na + ns, &reg);
	if (n < 0)
		return n;
	r = get_strings(d, node, "reg-names", &names);
	if (r < 0)
		return r;
	/* Like the kernel, no CPU address for a bus without sizes (i2c, spi, cpus). */
	mapped = ns > 0;

	for (int i = 0; i < n; i += (int)(na + ns)) {
		DtResource res = {
		    .property = DT_PROPERTY_REG,
		    .index = (unsigned)i / (na + ns),
		};
		uint64_t addr, size;

		if (read_number(reg + i, na, &addr) && read_number(reg + i + na, ns, &size)) {
			res.size = size;
			if (mapped) {
				r = translate(d, level, addr, &res.address);
				if (r < 0)
					return r;
				res.translated = r > 0;
			}
		}
		res.node = strdup(path);
		if (!res.node)
			return -ENOMEM;
		r = copy_name(names, res.index, &res.name);
		if (r >= 0)
			r = add_resource(d, &res);
		if (r < 0) {
			free(res.node);
			free(res.name);
			return r;
		}
	}
	return 0;
}

/* The node's own `ranges` windows, mapped from its parent's address space. */
static int add_ranges(Describe *d)
{
	int node = d->chain[d->depth], parent, n, r;
	const fdt32_t *ranges;
	unsigned na, pna, ns, rone;

	if (d->depth == 0 || !fdt_getprop(d->blob, node, "ranges", &n) || n == 0)
		return 0; /* absent, or empty (1:1, no window of its own) */
	parent = d->chain[d->depth - 1];
	r = get_cell_count(d, node, "#address-cells", 1, CELLS_MAX, node, "ranges", &na);
	if (r < 0)
		return r;
	r = get_cell_count(d, node, "#size-cells", 0, CELLS_MAX, node, "ranges", &ns);
	if (r < 0)
		return r;
	r = get_cell_count(d, parent, "#address-cells", 1, CELLS_MAX, node, "ranges", &pna);
	if (r < 0)
		return r;
	rone = na + pna + ns;
	n = get_cells(d, node, "ranges", rone, &ranges);
	if (n < 0)
		return n;

	for (int i = 0; i < n; i += (int)rone) {
		DtResource res = {
		    .property = DT_PROPERTY_RANGES,
		    .index = (unsigned)i / rone,
		};
		uint64_t up, size;

		if (read_number(ranges + i + na, pna, &up) &&
		    read_number(ranges + i + na + pna, ns, &size)) {
			res.size = size;
			r = translate(d, d->depth - 1, up, &res.address);
			if (r < 0)
				return r;
			res.translated = r > 0;
		}
		res.node = strdup(d->info.path);
		if (!res.node)
			return -ENOMEM;
		r = add_resource(d, &res);
		if (r < 0) {
			free(res.node);
			return r;
		}
	}
	return 0;
}

/* parent_path + "/" + the child's name, validated. */
static int child_path(Describe *d, int child, char **ret)
{
	const char *name;
	char *s;
	int len;

	name = fdt_get_name(d->blob, child, &len);
	if (!name)
		return fail(d, -EBADMSG, d->chain[d->depth], "cannot read a child's name: %s",
			    fdt_strerror(len));
	if (!string_is_printable(name, (size_t)len, false) || memchr(name, '/', (size_t)len))
		return fail(d, -EBADMSG, d->chain[d->depth], "a child's name is not printable");
	if (strlen(d->info.path) + 1 + (size_t)len >= DEVTREE_PATH_MAX)
		return fail(d, -EBADMSG, child, "path longer than %d bytes", DEVTREE_PATH_MAX - 1);
	if (asprintf(&s, "%s%s%.*s", d->info.path, streq(d->info.path, "/") ? "" : "/", len, name) <
	    0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* Counts a child whose properties are read; each read scans the tree, so there is a cap. */
static int see_child(Describe *d)
{
	if (++d->children_seen > DEVTREE_ENTRIES_MAX)
		return fail(d, -E2BIG, d->chain[d->depth],
			    "more than %d children with reg or interrupts", DEVTREE_ENTRIES_MAX);
	return 0;
}

static int add_children_reg(Describe *d)
{
	int node = d->chain[d->depth], child;

	fdt_for_each_subnode(child, d->blob, node)
	{
		_cleanup_free_ char *path = NULL;
		int r;

		if (!fdt_getprop(d->blob, child, "reg", NULL))
			continue;
		r = see_child(d);
		if (r < 0)
			return r;
		r = child_path(d, child, &path);
		if (r < 0)
			return r;
		r = add_reg(d, child, path, d->depth);
		if (r < 0)
			return r;
	}
	if (child != -FDT_ERR_NOTFOUND)
		return fail(d, -EBADMSG, node, "cannot list children: %s", fdt_strerror(child));
	return 0;
}

static int add_interrupt(Describe *d, DtInterrupt *irq)
{
	if (d->info.n_interrupts >= DEVTREE_ENTRIES_MAX)
		return fail(d, -E2BIG, d->chain[d->depth], "more than %d interrupts",
			    DEVTREE_ENTRIES_MAX);
	if (d->info.n_interrupts == d->interrupts_allocated) {
		size_t want = d->interrupts_allocated ? d->interrupts_allocated * 2 : 8;
		DtInterrupt *grown = realloc(d->info.interrupts, want * sizeof(DtInterrupt));

		if (!grown)
			return -ENOMEM;
		d->info.interrupts = grown;
		d->interrupts_allocated = want;
	}
	d->info.interrupts[d->info.n_interrupts++] = *irq;
	*irq = (DtInterrupt){};
	return 0;
}

/* The node a phandle names. */
static int resolve_phandle(Describe *d, int user, const char *property, uint32_t phandle, int *ret)
{
	int node;

	if (phandle != 0 && phandle == d->last_phandle) {
		*ret = d->last_phandle_node;
		return 0;
	}
	node = fdt_node_offset_by_phandle(d->blob, phandle);
	if (node < 0)
		return fail(d, -EBADMSG, user, "%s names phandle 0x%x, which no node has", property,
			    phandle);
	d->last_phandle = phandle;
	d->last_phandle_node = node;
	*ret = node;
	return 0;
}

/* The parent node of node; -ENOENT (no message) for the root. */
static int parent_of(Describe *d, int node, int *ret)
{
	int p = fdt_parent_offset(d->blob, node);

	if (p == -FDT_ERR_NOTFOUND)
		return -ENOENT;
	if (p < 0)
		return fail(d, -EBADMSG, node, "cannot find the parent: %s", fdt_strerror(p));
	*ret = p;
	return 0;
}

/*
 * The interrupt controller decoding node's `interrupts`, as the kernel's
 * of_irq_find_parent(): follow `interrupt-parent` where present, the tree
 * parent otherwise, until a node with #interrupt-cells.
 */
static int find_interrupt_parent(Describe *d, int node, int *ret)
{
	int visited[IRQ_PARENT_HOPS_MAX];
	int cur = node;

	for (unsigned hops = 0;; hops++) {
		uint32_t phandle;
		int next = -1, r;

		r = get_u32(d, cur, "interrupt-parent", &phandle);
		if (r == 0)
			r = resolve_phandle(d, cur, "interrupt-parent", phandle, &next);
		else if (r == -ENOENT) {
			r = parent_of(d, cur, &next);
			if (r == -ENOENT)
				return fail(
				    d, -EBADMSG, node,
				    "no interrupt controller for interrupts: no "
				    "interrupt-parent and no ancestor with #interrupt-cells");
		}
		if (r < 0)
			return r;
		if (fdt_getprop(d->blob, next, "#interrupt-cells", NULL)) {
			*ret = next;
			return 0;
		}
		for (unsigned i = 0; i < hops; i++)
			if (visited[i] == next)
				return fail(d, -ELOOP, node,
					    "the interrupt-parent chain loops without reaching a "
					    "node with #interrupt-cells");
		if (hops == IRQ_PARENT_HOPS_MAX)
			return fail(d, -ELOOP, node,
				    "no interrupt controller within %d interrupt-parent hops",
				    IRQ_PARENT_HOPS_MAX);
		visited[hops] = next;
		cur = next;
	}
}

static int interrupt_cells(Describe *d, int controller, int user, unsigned *ret)
{
	return get_cell_count(d, controller, "#interrupt-cells", 1, DEVTREE_IRQ_CELLS_MAX, user,
			      "interrupts", ret);
}

/* Fills the node, controller and name of irq, then adds it. */
static int add_interrupt_entry(Describe *d, const char *path, int controller, char *const *names,
			       DtInterrupt *irq)
{
	int r;

	if (controller != d->last_controller || !d->last_controller_path) {
		free(d->last_controller_path);
		d->last_controller_path = NULL;
		r = node_path(d, controller, &d->last_controller_path);
		if (r < 0)
			return r;
		d->last_controller = controller;
	}
	irq->node = strdup(path);
	irq->controller = strdup(d->last_controller_path);
	if (!irq->node || !irq->controller)
		r = -ENOMEM;
	else
		r = copy_name(names, irq->index, &irq->name);
	if (r >= 0)
		r = add_interrupt(d, irq);
	if (r < 0) {
		free(irq->node);
		free(irq->controller);
		free(irq->name);
		*irq = (DtInterrupt){};
	}
	return r;
}

/*
 * The interrupts of node (path `path`): its interrupts-extended, else its
 * interrupts. Returns the number of entries added.
 */
static int add_node_interrupts(Describe *d, int node, const char *path)
{
	_cleanup_strv_free_ char **names = NULL;
	const fdt32_t *cells;
	int n, r;

	n = get_cells(d, node, "interrupts-extended", 0, &cells);
	if (n < 0)
		return n;
	if (cells) {
		unsigned index = 0;

		r = get_strings(d, node, "interrupt-names", &names);
		if (r < 0)
			return r;
		for (int i = 0; i < n; index++) {
			DtInterrupt irq = {.property = DT_PROPERTY_INTERRUPTS_EXTENDED,
					   .index = index};
			unsigned icells;
			int controller = -1;

			r = resolve_phandle(d, node, "interrupts-extended", fdt32_ld(&cells[i]),
					    &controller);
			if (r < 0)
				return r;
			r = interrupt_cells(d, controller, node, &icells);
			if (r < 0)
				return r;
			if ((unsigned)(n - i - 1) < icells)
				return fail(d, -EBADMSG, node,
					    "interrupts-extended entry %u is cut short", index);
			for (unsigned k = 0; k < icells; k++)
				irq.cells[k] = fdt32_ld(&cells[i + 1 + (int)k]);
			irq.n_cells = icells;
			r = add_interrupt_entry(d, path, controller, names, &irq);
			if (r < 0)
				return r;
			i += 1 + (int)icells;
		}
		return (int)index;
	}

	if (!fdt_getprop(d->blob, node, "interrupts", NULL))
		return 0;
	{
		unsigned icells;
		int controller = -1;

		r = find_interrupt_parent(d, node, &controller);
		if (r < 0)
			return r;
		r = interrupt_cells(d, controller, node, &icells);
		if (r < 0)
			return r;
		n = get_cells(d, node, "interrupts", icells, &cells);
		if (n < 0)
			return n;
		r = get_strings(d, node, "interrupt-names", &names);
		if (r < 0)
			return r;
		for (int i = 0; i < n; i += (int)icells) {
			DtInterrupt irq = {
			    .property = DT_PROPERTY_INTERRUPTS,
			    .index = (unsigned)i / icells,
			    .n_cells = icells,
			};

			for (unsigned k = 0; k < icells; k++)
				irq.cells[k] = fdt32_ld(&cells[i + (int)k]);
			r = add_interrupt_entry(d, path, controller, names, &irq);
			if (r < 0)
				return r;
		}
		return n / (int)icells;
	}
}

static bool has_interrupts(const void *blob, int node)
{
	return fdt_getprop(blob, node, "interrupts-extended", NULL) ||
	       fdt_getprop(blob, node, "interrupts", NULL);
}

static int add_interrupts(Describe *d)
{
	int node = d->chain[d->depth], child, r;

	if (has_interrupts(d->blob, node)) {
		r = add_node_interrupts(d, node, d->info.path);
		return r < 0 ? r : 0;
	}

	/* None of its own: its children's, in tree order. */
	d->children_seen = 0;
	fdt_for_each_subnode(child, d->blob, node)
	{
		_cleanup_free_ char *path = NULL;

		if (!has_interrupts(d->blob, child))
			continue;
		r = see_child(d);
		if (r < 0)
			return r;
		r = child_path(d, child, &path);
		if (r < 0)
			return r;
		r = add_node_interrupts(d, child, path);
		if (r < 0)
			return r;
	}
	if (child != -FDT_ERR_NOTFOUND)
		return fail(d, -EBADMSG, node, "cannot list children: %s", fdt_strerror(child));
	return 0;
}

int devtree_describe(const DevTree *t, const char *node_path_in, DtDeviceInfo *ret,
		     char **ret_error)
{
	Describe d = {};
	int node, r;

	if (!t || !ret || !node_path_in || node_path_in[0] != '/' ||
	    strnlen(node_path_in, DEVTREE_PATH_MAX) >= DEVTREE_PATH_MAX)
		return -EINVAL;
	d.blob = t->blob;
	d.ret_error = ret_error;
	d.last_controller = -1;

	node = fdt_path_offset(d.blob, node_path_in);
	if (node == -FDT_ERR_NOTFOUND)
		return set_error(ret_error, -ENOENT, "%s: no such node in the device tree",
				 string_is_printable(node_path_in, strlen(node_path_in), true)
				     ? node_path_in
				     : "(unprintable path)");
	if (node == -FDT_ERR_BADPATH)
		return -EINVAL;
	if (node < 0)
		return set_error(ret_error, -EBADMSG, "cannot look up a node: %s",
				 fdt_strerror(node));

	/* The ancestors, once: each lookup scans the tree from the start. */
	d.depth = fdt_node_depth(d.blob, node);
	if (d.depth < 0 || d.depth > DEVTREE_DEPTH_MAX)
		return fail(&d, -EBADMSG, node, "cannot find the depth: %s",
			    d.depth < 0 ? fdt_strerror(d.depth) : "too deep");
	for (int level = 0; level < d.depth; level++) {
		d.chain[level] = fdt_supernode_atdepth_offset(d.blob, node, level, NULL);
		if (d.chain[level] < 0)
			return fail(&d, -EBADMSG, node, "cannot find the ancestors: %s",
				    fdt_strerror(d.chain[level]));
	}
	d.chain[d.depth] = node;

	r = node_path(&d, node, &d.info.path);
	if (r >= 0)
		r = get_strings(&d, node, "compatible", &d.info.compatible);
	if (r >= 0 && d.depth > 0)
		r = add_reg(&d, node, d.info.path, d.depth - 1);
	if (r >= 0)
		r = add_ranges(&d);
	if (r >= 0)
		r = add_children_reg(&d);
	if (r >= 0)
		r = add_interrupts(&d);
	free(d.last_controller_path);
	if (r < 0) {
		dt_device_info_done(&d.info);
		return r;
	}
	*ret = d.info;
	return 0;
}

const DtResource *devtree_region_source(const DtDeviceInfo *info, unsigned region,
					const DtRegionLocation *location)
{
	unsigned n = 0;

	if (!info)
		return NULL;
	if (location && location->known) {
		for (size_t i = 0; i < info->n_resources; i++) {
			const DtResource *res = &info->resources[i];

			if (res->translated && res->address == location->address &&
			    (location->size == 0 || res->size == location->size))
				return res;
		}
		return NULL;
	}
	for (size_t i = 0; i < info->n_resources; i++) {
		const DtResource *res = &info->resources[i];

		if (res->property != DT_PROPERTY_REG || !streq(res->node, info->path))
			continue;
		if (n++ == region)
			return res;
	}
	return NULL;
}

const DtInterrupt *devtree_irq_source(const DtDeviceInfo *info, unsigned irq)
{
	if (!info || irq >= info->n_interrupts)
		return NULL;
	return &info->interrupts[irq];
}
