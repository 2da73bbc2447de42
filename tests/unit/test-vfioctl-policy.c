/* SPDX-License-Identifier: MIT */
/*
 * vfioctl policy check, the real binary, against policy files in a temporary
 * directory and a fixture sysfs tree: what it prints for allowed, denied and
 * unmanaged devices, and its exit status (0 allowed, 1 denied, 2 error); and
 * its --json output, read back with json-c.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysfs-fixture.h"
#include "tap.h"
#include "util.h"

static char *root;
static char config[512], dropins[512];

static void write_file(const char *path, const char *contents)
{
	FILE *f = fopen(path, "we");

	CHECK(f);
	if (!f)
		return;
	fputs(contents, f);
	CHECK(fclose(f) == 0);
	CHECK(chmod(path, 0644) == 0);
}

/* Drains fd into a new string. */
static char *read_all(int fd)
{
	size_t n = 0, size = 4096;
	char *buf = malloc(size);
	ssize_t k;

	if (!buf)
		abort();
	while ((k = read(fd, buf + n, size - n - 1)) > 0) {
		n += (size_t)k;
		if (n + 1 == size && !(buf = realloc(buf, size *= 2)))
			abort();
	}
	buf[n] = 0;
	return buf;
}

struct result {
	int status; /* exit status, or -1 */
	char *out, *err;
};

/* Runs vfioctl policy check --root ROOT --config CONFIG ARGS...; stdout and stderr as files. */
static struct result run(const char *arg, ...)
{
	const char *argv[32] = {getenv("VFIOCTL"), "policy", "check", "--root", root,
				"--config",	   config};
	struct result res = {.status = -1};
	FILE *out = tmpfile(), *err = tmpfile();
	size_t n = 7;
	va_list ap;
	int status;
	pid_t pid;

	va_start(ap, arg);
	for (const char *a = arg; a && n < ELEMENTSOF(argv) - 1; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	if (!out || !err)
		abort();

	pid = fork();
	if (pid == 0) {
		if (dup2(fileno(out), 1) < 0 || dup2(fileno(err), 2) < 0)
			_exit(127);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		res.status = WEXITSTATUS(status);
	rewind(out);
	rewind(err);
	res.out = read_all(fileno(out));
	res.err = read_all(fileno(err));
	fclose(out);
	fclose(err);
	return res;
}

static void result_done(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* Checks the exit status and that stdout (or stderr, for errors) contains every part. */
static void expect_at(int line, struct result r, int status, const char *part, ...)
{
	const char *text = status == 2 ? r.err : r.out;
	bool bad = r.status != status;
	va_list ap;

	va_start(ap, part);
	for (const char *p = part; p; p = va_arg(ap, const char *))
		if (!strstr(text, p)) {
			fprintf(stderr, "test-vfioctl-policy.c:%d: output lacks \"%s\"\n", line, p);
			bad = true;
		}
	va_end(ap);
	if (bad) {
		fprintf(stderr,
			"test-vfioctl-policy.c:%d: exit %d (expected %d)\n--- stdout\n%s--- "
			"stderr\n%s---\n",
			line, r.status, status, r.out, r.err);
		test_failures++;
	}
	result_done(&r);
}
#define EXPECT(r, status, ...) expect_at(__LINE__, r, status, __VA_ARGS__, NULL)

/* The one JSON object a --json run printed, parsed strictly, when it exited with status and
 * wrote nothing on stderr; else NULL and a failure. */
static json_object *parse_at(int line, struct result r, int status)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = NULL;
	size_t len = strlen(r.out);

	if (!tok)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	if (len > 0 && r.out[len - 1] == '\n')
		len--;
	if (len > 0)
		o = json_tokener_parse_ex(tok, r.out, (int)len);
	if (r.status != status || *r.err || !o || !json_object_is_type(o, json_type_object) ||
	    json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		fprintf(stderr,
			"test-vfioctl-policy.c:%d: exit %d (expected %d), or not one JSON object"
			"\n--- stdout\n%s--- stderr\n%s---\n",
			line, r.status, status, r.out, r.err);
		test_failures++;
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	result_done(&r);
	return o;
}
#define PARSE(r, status) parse_at(__LINE__, r, status)

/* The value at a dotted path of keys and array indexes, "devices.0.rule.name"; NULL when
 * absent (or JSON null). */
static json_object *get(json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); o && k; k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, strtoul(k, NULL, 10));
		else if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	}
	return o;
}

/* Whether the path is there with JSON null. */
static bool is_null(json_object *o, const char *path)
{
	const char *slash = strrchr(path, '.');
	char parent[256];
	json_object *p = o, *v = NULL;

	if (slash) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
		p = get(o, parent);
	}
	return p && json_object_object_get_ex(p, slash ? slash + 1 : path, &v) && !v;
}

static const char *str(json_object *o, const char *path)
{
	json_object *v = get(o, path);
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* An integer, or -12345 when it is not one. */
static int64_t num(json_object *o, const char *path)
{
	json_object *v = get(o, path);
	return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -12345;
}

/* 1 true, 0 false, -1 not a boolean. */
static int boolean(json_object *o, const char *path)
{
	json_object *v = get(o, path);
	return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : -1;
}

static size_t length(json_object *o, const char *path)
{
	json_object *v = get(o, path);
	return json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 12345;
}

/* The text runs above, as JSON. */
static void test_json(void)
{
	json_object *o;
	const char *line;

	/* Allowed: the deciding rule with its options as numbers and booleans. */
	o = PARSE(run("--json", "--user", "0", "0000:00:03.0", NULL), 0);
	CHECK_STREQ(str(o, "policy.config"), config);
	CHECK_STREQ(str(o, "policy.dropin_dir"), dropins);
	CHECK(num(o, "policy.rules") == 3);
	CHECK_STREQ(str(o, "user.name"), "root");
	CHECK(num(o, "user.uid") == 0);
	CHECK(num(o, "user.gid") == 0);
	CHECK(length(o, "user.groups") >= 1 && num(o, "user.groups.0") == 0);
	CHECK(length(o, "devices") == 1);
	CHECK_STREQ(str(o, "devices.0.name"), "0000:00:03.0");
	CHECK_STREQ(str(o, "devices.0.kind"), "pci");
	CHECK(num(o, "devices.0.vendor_id") == 0x1234);
	CHECK(num(o, "devices.0.device_id") == 0x11e8);
	CHECK(num(o, "devices.0.class") == 0x00ff00);
	CHECK_STREQ(str(o, "devices.0.driver"), "vfio-pci");
	CHECK(num(o, "devices.0.iommu_group") == 3);
	CHECK_STREQ(str(o, "devices.0.description"),
		    "0000:00:03.0 (PCI 1234:11e8, class 00ff00, IOMMU group 3)");
	CHECK(boolean(o, "devices.0.managed") == 1);
	CHECK(length(o, "devices.0.explanation") == 1);
	line = str(o, "devices.0.explanation.0");
	CHECK(line && strstr(line, "allows: device by Ids=1234:11e8, subject by Users=0"));
	CHECK(boolean(o, "devices.0.allowed") == 1);
	CHECK_STREQ(str(o, "devices.0.rule.name"), "edu");
	CHECK_STREQ(str(o, "devices.0.rule.file"), config);
	CHECK(num(o, "devices.0.rule.line") == 1);
	CHECK(length(o, "devices.0.rule.options.dma_modes") == 2);
	CHECK_STREQ(str(o, "devices.0.rule.options.dma_modes.0"), "container");
	CHECK_STREQ(str(o, "devices.0.rule.options.dma_modes.1"), "brokered");
	CHECK(num(o, "devices.0.rule.options.dma_quota") == 256 << 20);
	CHECK(num(o, "devices.0.rule.options.max_devices") == 8);
	CHECK(boolean(o, "devices.0.rule.options.require_reset") == 0);
	CHECK(boolean(o, "devices.0.rule.options.may_rebind") == 0);
	CHECK(num(o, "devices.0.rule.options.revoke_grace_usec") == 30000000);
	CHECK(boolean(o, "devices.0.rule.options.revoke_force") == 0);
	CHECK(length(o, "devices.0.notes") == 0);
	CHECK(boolean(o, "allowed") == 1);
	CHECK(num(o, "grant.dma_quota") == 256 << 20);
	CHECK(num(o, "grant.revoke_grace_usec") == 30000000);
	json_object_put(o);

	/* Several devices: the grant combines them as vfiod's claim does; a note. */
	o = PARSE(run("-j", "-u", "root", "0000:00:03.0", "00:04.0", NULL), 0);
	CHECK(length(o, "devices") == 2);
	CHECK_STREQ(str(o, "devices.1.name"), "0000:00:04.0");
	CHECK_STREQ(str(o, "devices.1.rule.name"), "nics");
	CHECK(num(o, "devices.1.rule.options.dma_quota") == 1 << 30);
	CHECK(length(o, "devices.1.explanation") == 2);
	CHECK(length(o, "devices.1.notes") == 1);
	line = str(o, "devices.1.notes.0");
	CHECK(line && strstr(line, "it is bound to e1000e, not to vfio-pci"));
	CHECK(boolean(o, "allowed") == 1);
	CHECK(length(o, "grant.dma_modes") == 1);
	CHECK_STREQ(str(o, "grant.dma_modes.0"), "brokered");
	CHECK(num(o, "grant.dma_quota") == 256 << 20);
	CHECK(num(o, "grant.max_devices") == 8);
	CHECK(boolean(o, "grant.require_reset") == 0);
	CHECK(num(o, "grant.revoke_grace_usec") == 10000000); /* nics has the default, 10s */
	CHECK(boolean(o, "grant.revoke_force") == 0);
	CHECK(!get(o, "grant.may_rebind"));
	json_object_put(o);

	/* Denied, for a uid without a passwd entry: no name, no gid, no groups, no grant. */
	o = PARSE(run("--json", "--user", "1234", "0000:00:05.0", NULL), 1);
	CHECK(is_null(o, "user.name"));
	CHECK(num(o, "user.uid") == 1234);
	CHECK(is_null(o, "user.gid"));
	CHECK(length(o, "user.groups") == 0);
	CHECK(boolean(o, "devices.0.managed") == 1);
	CHECK(boolean(o, "devices.0.allowed") == 0);
	CHECK(is_null(o, "devices.0.rule"));
	CHECK(length(o, "devices.0.explanation") == 3);
	CHECK(boolean(o, "allowed") == 0);
	CHECK(is_null(o, "grant"));
	json_object_put(o);

	/* One denied device of two: the other still has its rule, the whole check is denied. */
	o = PARSE(run("--json", "--user", "4000000", "0000:00:05.0", "0000:00:03.0", NULL), 1);
	CHECK(boolean(o, "devices.0.allowed") == 1);
	CHECK_STREQ(str(o, "devices.0.rule.name"), "nvme");
	CHECK(boolean(o, "devices.0.rule.options.require_reset") == 1);
	CHECK(num(o, "devices.0.rule.options.max_devices") == 1);
	CHECK(boolean(o, "devices.1.allowed") == 0);
	CHECK(boolean(o, "allowed") == 0);
	CHECK(is_null(o, "grant"));
	json_object_put(o);
}

/* With --json an error prints nothing on stdout, only the error on stderr, and exits 2. */
static void expect_json_error_at(int line, struct result r, const char *part)
{
	if (r.status != 2 || *r.out || !strstr(r.err, part)) {
		fprintf(
		    stderr,
		    "test-vfioctl-policy.c:%d: exit %d (expected 2), stdout not empty or stderr "
		    "lacks \"%s\"\n--- stdout\n%s--- stderr\n%s---\n",
		    line, r.status, part, r.out, r.err);
		test_failures++;
	}
	result_done(&r);
}
#define EXPECT_JSON_ERROR(r, part) expect_json_error_at(__LINE__, r, part)

int main(void)
{
	char path[600], where[1400];

	if (geteuid() != 0) {
		/* vfioctl reads policy files only when root owns them, as vfiod does. */
		fprintf(stderr, "skipped: needs root\n");
		return 77;
	}
	CHECK(fixture_new(&root) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:03.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00,
				     "vfio-pci", 3, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:04.0", 0x8086, 0x10d3, 0x8086, 0, 0x020000,
				     "e1000e", 4, -1) == 0);
	CHECK(fixture_add_pci_device(root, "0000:00:05.0", 0x1b36, 0x0010, 0x1af4, 0, 0x010802,
				     "vfio-pci", 5, -1) == 0);
	snprintf(config, sizeof(config), "%s/etc/vfiod.conf", root);
	snprintf(dropins, sizeof(dropins), "%s/etc/policy.d", root);
	snprintf(path, sizeof(path), "%s/etc", root);
	CHECK(mkdir(path, 0755) == 0 && mkdir(dropins, 0755) == 0);
	write_file(config, "[Rule edu]\n"
			   "Ids=1234:11e8\n"
			   "Users=0\n"
			   "RevokeGraceSec=30s\n"
			   "\n"
			   "[Rule nics]\n"
			   "Classes=02\n"
			   "Groups=root\n"
			   "DmaModes=brokered\n"
			   "DmaQuota=1G\n");
	snprintf(path, sizeof(path), "%s/10-nvme.conf", dropins);
	write_file(path, "[Rule nvme]\nAddresses=0000:00:05.0\nUsers=4000000\nMaxDevices=1\n"
			 "RequireReset=yes\n");

	/* Allowed: the deciding rule, where it is, what it grants, and why the others did not. */
	snprintf(where, sizeof(where),
		 "allowed by rule edu (%s:1): DmaModes=container brokered DmaQuota=256M "
		 "MaxDevices=8 RequireReset=no MayRebind=no RevokeGraceSec=30s RevokeForce=no",
		 config);
	EXPECT(run("--user", "0", "0000:00:03.0", NULL), 0, "user: root, uid 0, gid 0",
	       "0000:00:03.0 (PCI 1234:11e8, class 00ff00, IOMMU group 3), driver vfio-pci",
	       "allows: device by Ids=1234:11e8, subject by Users=0", where);
	/* By group name; the short address form; a note about the driver. */
	snprintf(where, sizeof(where), "rule edu (%s:1): the device matches none of Ids=", config);
	EXPECT(run("--user", "root", "00:04.0", NULL), 0, where,
	       "allows: device by Classes=02, subject by Groups=0",
	       "note: it is bound to e1000e, not to vfio-pci");
	/* Several devices: the strictest combination. */
	EXPECT(run("-u", "root", "0000:00:03.0", "0000:00:04.0", NULL), 0,
	       "a claim of all 2 devices gets the strictest combination: DmaModes=brokered "
	       "DmaQuota=256M MaxDevices=8 RequireReset=no");

	/* Denied: a user no rule names, every rule's reason. */
	snprintf(where, sizeof(where),
		 "rule nvme (%s/10-nvme.conf:1): uid 1234 (no gids) is not in Users=", dropins);
	EXPECT(run("--user", "1234", "0000:00:05.0", NULL), 1,
	       "uid 1234, gid none (no passwd entry: only Users= can match)", where,
	       "denied: no rule allows it");
	/* One denied device makes the whole check fail. */
	EXPECT(run("--user", "4000000", "0000:00:05.0", "0000:00:03.0", NULL), 1,
	       "allowed by rule nvme", "RequireReset=yes", "denied: no rule allows it");
	test_json();

	/* Unmanaged: [Ignore] wins over the rule. */
	snprintf(path, sizeof(path), "%s/20-ignore.conf", dropins);
	write_file(path, "[Ignore]\nAddresses=0000:00:03.0\n");
	snprintf(where, sizeof(where),
		 "not managed by vfiod: [Ignore] (%s:1) lists it by Addresses=0000:00:03.0", path);
	EXPECT(run("--user", "0", "0000:00:03.0", NULL), 1, where, "denied: no rule allows it");

	/* Errors, exit 2: a broken drop-in names its line, a world-writable one is refused. */
	write_file(path, "[Ignore]\nAddresses=0000:00:03.0\n\nIds=1234\n");
	snprintf(where, sizeof(where), "%s:4: Ids=: \"1234\" is not VENDOR:DEVICE", path);
	EXPECT(run("0000:00:03.0", NULL), 2, "vfioctl: the policy is invalid: ", where);
	EXPECT_JSON_ERROR(run("--json", "0000:00:03.0", NULL), where);
	write_file(path, "[Ignore]\nAddresses=0000:00:03.0\n");
	CHECK(chmod(path, 0666) == 0);
	EXPECT(run("0000:00:03.0", NULL), 2,
	       "20-ignore.conf: refusing to read: writable by others");
	CHECK(unlink(path) == 0);
	/* A shadowed rule is a conflict. */
	write_file(path, "[Rule edu-again]\nIds=1234:11e8\nUsers=0\n");
	snprintf(where, sizeof(where),
		 "%s:1: rule \"edu-again\" can never match: rule \"edu\" (%s:1) comes first", path,
		 config);
	EXPECT(run("0000:00:03.0", NULL), 2, where);
	CHECK(unlink(path) == 0);
	/* Devices and users that are not there, usage. */
	EXPECT(run("--user", "0", "0000:00:1f.0", NULL), 2,
	       "0000:00:1f.0: there is no such PCI device");
	/* A device error after a device that was fine: still no partial JSON. */
	EXPECT_JSON_ERROR(run("--json", "--user", "0", "0000:00:03.0", "0000:00:1f.0", NULL),
			  "vfioctl: 0000:00:1f.0: there is no such PCI device");
	EXPECT_JSON_ERROR(run("--json", "--user", "vfiod-no-such-user", "0000:00:03.0", NULL),
			  "no such user");
	EXPECT(run("--user", "0", "ff100000.dma", NULL), 2, "only PCI devices can be checked");
	EXPECT(run("--user", "vfiod-no-such-user", "0000:00:03.0", NULL), 2,
	       "--user vfiod-no-such-user: no such user");
	EXPECT(run("--user", "4294967295", "0000:00:03.0", NULL), 2, "no such user");
	EXPECT(run(NULL), 2, "no DEVICE to check");
	EXPECT(run("--bogus", "0000:00:03.0", NULL), 2, "Try 'vfioctl policy check --help'");

	/* Still fine after all that. */
	EXPECT(run("--user", "0", "0000:00:03.0", NULL), 0, "allowed by rule edu");
	fixture_free(root);
	return test_exit();
}
