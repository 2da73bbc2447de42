/* SPDX-License-Identifier: MIT */
/*
 * vfioctl policy check: reads the policy files with vfiod's own parser, the
 * devices from sysfs with vfiod's own reader, and says for a user which rule
 * decides each device and why. It needs no running vfiod and changes nothing.
 * Exit status: 0 every device allowed, 1 some device denied, 2 an error (in
 * the policy, the arguments, or reading a device).
 */
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "pci-address.h"
#include "policy-check.h"
#include "policy.h"
#include "sysfs.h"
#include "util.h"
#include "vfioctl.h"

/* Groups looked at per user; getgrouplist() is asked again with more room up to this. */
#define USER_GROUPS_MAX 65536

struct check_args {
	const char *config;
	const char *user;
	const char *root;
	char *devices[POLICY_CHECK_DEVICES_MAX];
	size_t n_devices;
	bool json;
};

static void help(FILE *f)
{
	fprintf(f,
		"Usage: vfioctl policy check [OPTIONS] DEVICE...\n"
		"\n"
		"Reads the vfiod policy and says, for USER and each DEVICE, which rule decides\n"
		"and why, and what a claim would get. Exit status: 0 all allowed, 1 some\n"
		"device denied, 2 an error in the policy, the arguments or sysfs.\n"
		"\n"
		"Options:\n"
		"  -c, --config PATH  the policy file (default %s);\n"
		"                     drop-ins are read from policy.d/ beside it\n"
		"  -u, --user USER    user name or uid to check for (default: the caller,\n"
		"                     with the caller's groups); a user's groups are those\n"
		"                     of the group database (getgrouplist)\n"
		"      --root DIR     read sysfs below DIR instead of / (tests, chroots)\n"
		"  -j, --json         print one JSON object instead (fields in vfioctl(1));\n"
		"                     on an error nothing is printed on stdout\n"
		"  -h, --help         show this help\n"
		"\n"
		"DEVICE is a PCI address, 0000:00:03.0 (00:03.0 means domain 0).\n"
		"See vfioctl(1) and vfiod.conf(5).\n",
		VFIOD_CONFIG_PATH);
}

static int error(const char *format, ...) _printf_(1, 2);
static int error(const char *format, ...)
{
	va_list ap;

	fputs("vfioctl: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERROR;
}

static void check_args_done(struct check_args *a)
{
	for (size_t i = 0; i < a->n_devices; i++)
		free(a->devices[i]);
}

/* Returns 0 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct check_args *a)
{
	enum {
		ARG_ROOT = 0x100
	};
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"user", required_argument, NULL, 'u'},
	    {"root", required_argument, NULL, ARG_ROOT},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:u:jh", options, NULL)) != -1)
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'u':
			a->user = optarg;
			break;
		case ARG_ROOT:
			a->root = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			help(stdout);
			return -1;
		default:
			fprintf(stderr, "Try 'vfioctl policy check --help'.\n");
			return EXIT_ERROR;
		}
	if (optind >= argc)
		return error("no DEVICE to check. Try 'vfioctl policy check --help'.");
	if (argc - optind > POLICY_CHECK_DEVICES_MAX)
		return error("at most %d devices at a time", POLICY_CHECK_DEVICES_MAX);
	for (int i = optind; i < argc; i++) {
		a->devices[a->n_devices] = canonical_device(argv[i]);
		if (!a->devices[a->n_devices])
			return error("out of memory");
		a->n_devices++;
	}
	return 0;
}

static void subject_done(struct subject *s)
{
	free(s->gids);
	free(s->name);
}

/* The caller itself: the kernel's view, as SO_PEERCRED and SO_PEERGROUPS give it to vfiod. */
static int subject_from_caller(struct subject *s)
{
	struct passwd *pw;
	int n = getgroups(0, NULL);

	if (n < 0)
		return negative_errno();
	s->gids = calloc((size_t)n + 1, sizeof(gid_t));
	if (!s->gids)
		return -ENOMEM;
	n = getgroups(n, s->gids);
	if (n < 0)
		return negative_errno();
	s->s = (PolicySubject){.uid = getuid(),
			       .gid = getgid(),
			       .supplementary_gids = s->gids,
			       .n_supplementary_gids = (size_t)n};
	pw = getpwuid(getuid());
	if (pw && !(s->name = strdup(pw->pw_name)))
		return -ENOMEM;
	return 0;
}

/* USER by name or uid, with the groups of the group database. */
static int subject_from_user(const char *user, struct subject *s)
{
	struct passwd *pw;
	uint64_t uid = 0;
	int n = 64;

	errno = 0;
	if (user[0] >= '0' && user[0] <= '9') {
		for (const char *c = user; *c; c++) {
			if (*c < '0' || *c > '9' ||
			    uid > (UINT32_MAX - 1 - (uint64_t)(*c - '0')) / 10)
				return -EINVAL;
			uid = uid * 10 + (uint64_t)(*c - '0');
		}
		pw = getpwuid((uid_t)uid);
	} else {
		pw = getpwnam(user);
		if (!pw)
			return errno > 0 ? -errno : -ESRCH;
	}
	if (!pw) {
		/* A uid without a passwd entry has no groups vfiod could see but its own. */
		s->s = (PolicySubject){.uid = (uid_t)uid, .gid = (gid_t)-1};
		return 0;
	}
	s->name = strdup(pw->pw_name);
	if (!s->name)
		return -ENOMEM;
	for (;;) {
		int have = n;

		free(s->gids);
		s->gids = calloc((size_t)n, sizeof(gid_t));
		if (!s->gids)
			return -ENOMEM;
		if (getgrouplist(pw->pw_name, pw->pw_gid, s->gids, &n) >= 0)
			break;
		if (n <= have)
			n = have * 2;
		if (n > USER_GROUPS_MAX)
			return -E2BIG;
	}
	s->s = (PolicySubject){.uid = pw->pw_uid,
			       .gid = pw->pw_gid,
			       .supplementary_gids = s->gids,
			       .n_supplementary_gids = (size_t)n};
	return 0;
}

/* vfiod's claim combines several rules this way: only the DMA modes all allow, the least
 * quota, device count and grace period, reset and forced revocation if any rule wants them. */
static void grant_add(struct grant *g, const PolicyRule *r, bool first)
{
	if (first) {
		*g = (struct grant){.dma_modes = r->dma_modes,
				    .dma_quota = r->dma_quota,
				    .max_devices = r->max_devices,
				    .require_reset = r->require_reset,
				    .revoke_grace_usec = r->revoke_grace_usec,
				    .revoke_force = r->revoke_force};
		return;
	}
	g->dma_modes &= r->dma_modes;
	if (r->dma_quota < g->dma_quota)
		g->dma_quota = r->dma_quota;
	if (r->max_devices < g->max_devices)
		g->max_devices = r->max_devices;
	g->require_reset |= r->require_reset;
	if (r->revoke_grace_usec < g->revoke_grace_usec)
		g->revoke_grace_usec = r->revoke_grace_usec;
	g->revoke_force |= r->revoke_force;
}

static void device_verdict_done(struct device_verdict *v)
{
	free(v->address);
	free(v->error);
	pci_device_info_done(&v->info);
	free(v->description);
	strv_free(v->explanation);
	free(v->options);
}

static int device_error(struct device_verdict *v, const char *format, ...) _printf_(2, 3);
static int device_error(struct device_verdict *v, const char *format, ...)
{
	va_list ap;
	int k;

	va_start(ap, format);
	k = vasprintf(&v->error, format, ap);
	va_end(ap);
	if (k < 0)
		v->error = NULL; /* policy-text.c says "out of memory" then */
	return EXIT_ERROR;
}

/* Checks v->address; returns EXIT_ALLOWED, EXIT_DENIED or EXIT_ERROR (v->error says why). */
static int check_device(const Policy *policy, const struct subject *subject, int root_fd,
			struct device_verdict *v)
{
	PolicyDevice device;
	int r;

	if (!pci_address_is_valid(v->address))
		return device_error(v,
				    "%s: not a PCI address DDDD:BB:DD.F (only PCI devices can be "
				    "checked so far)",
				    v->address);
	r = sysfs_read_pci_device(root_fd, v->address, &v->info);
	if (r == -ENODEV)
		return device_error(v, "%s: there is no such PCI device", v->address);
	if (r < 0)
		return device_error(v, "%s: cannot read it from sysfs: %s", v->address,
				    strerror(-r));

	device = (PolicyDevice){
	    .type = POLICY_DEVICE_PCI,
	    .address = v->info.address,
	    .vendor_id = v->info.vendor_id,
	    .device_id = v->info.device_id,
	    .class_code = v->info.class_code,
	    .iommu_group = v->info.iommu_group,
	};
	v->managed = policy_manages_device(policy, &device);
	r = policy_device_format(&device, &v->description);
	if (r >= 0)
		r = policy_explain(policy, &subject->s, &device, &v->rule, &v->explanation);
	if (r >= 0 && v->rule)
		r = policy_rule_format_options(v->rule, &v->options);
	if (r < 0)
		return device_error(v, "%s: %s", v->address, strerror(-r));

	if (!v->rule)
		return EXIT_DENIED;
	if (v->info.iommu_group < 0)
		v->note = DEVICE_NOTE_NO_IOMMU_GROUP;
	else if (!streq_ptr(v->info.driver, "vfio-pci"))
		v->note = DEVICE_NOTE_NOT_VFIO_PCI;
	return EXIT_ALLOWED;
}

/* Checks every device of a; c->status is the worst verdict. */
static void check_devices(struct policy_check *c, struct check_args *a, int root_fd)
{
	bool first = true;

	c->status = EXIT_ALLOWED;
	for (size_t i = 0; i < a->n_devices; i++) {
		struct device_verdict *v = &c->devices[c->n_devices++];
		int r;

		v->address = TAKE_PTR(a->devices[i]);
		r = v->status = check_device(c->policy, &c->subject, root_fd, v);
		if (r > c->status)
			c->status = r;
		if (r == EXIT_ALLOWED) {
			grant_add(&c->grant, v->rule, first);
			first = false;
		}
	}
}

static int policy_check(int argc, char **argv)
{
	_cleanup_free_ char *error_text = NULL;
	_cleanup_close_ int root_fd = -EBADF;
	struct check_args a = {.config = VFIOD_CONFIG_PATH};
	struct policy_check c = {};
	Policy *policy = NULL;
	int r, ret;

	ret = parse_args(argc, argv, &a);
	if (ret != 0)
		goto out;
	ret = EXIT_ERROR;

	c.config = a.config;
	r = policy_dropin_dir_for(a.config, &c.dropins);
	if (r < 0) {
		error("out of memory");
		goto out;
	}
	r = policy_load(a.config, c.dropins, &policy, &error_text);
	if (r < 0) {
		error("the policy is invalid: %s", error_text ?: strerror(-r));
		goto out;
	}
	c.policy = policy;
	r = a.user ? subject_from_user(a.user, &c.subject) : subject_from_caller(&c.subject);
	if (r == -ESRCH || r == -EINVAL) {
		error("--user %s: no such user (a name or a uid 0-4294967294)", a.user);
		goto out;
	}
	if (r < 0) {
		error("cannot look up the user: %s", strerror(-r));
		goto out;
	}
	root_fd = open(a.root ?: "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		error("cannot open %s: %m", a.root ?: "/");
		goto out;
	}

	check_devices(&c, &a, root_fd);
	ret = c.status;
	if (!a.json)
		r = policy_check_print_text(&c);
	else if (c.status == EXIT_ERROR) {
		/* No partial JSON: only the errors, as the text would have them. */
		for (size_t i = 0; i < c.n_devices; i++)
			device_verdict_print_error(&c.devices[i]);
		r = 0;
	} else
		r = policy_check_print_json(&c);
	if (r < 0)
		ret = error("cannot print the result: %s", strerror(-r));
out:
	for (size_t i = 0; i < c.n_devices; i++)
		device_verdict_done(&c.devices[i]);
	free(c.dropins);
	subject_done(&c.subject);
	policy_free(policy);
	check_args_done(&a);
	return ret < 0 ? EXIT_ALLOWED : ret;
}

int cmd_policy(const struct vfioctl *ctx, int argc, char **argv)
{
	if (argc >= 2 && streq(argv[1], "check")) {
		optind = 0;
		return policy_check(argc - 1, argv + 1);
	}
	if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		help(stdout);
		return 0;
	}
	return error("'vfioctl policy' takes a subcommand: check. Try 'vfioctl policy check "
		     "--help'.");
}
