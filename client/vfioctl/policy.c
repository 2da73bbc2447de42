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
#include "policy-value.h"
#include "policy.h"
#include "sysfs.h"
#include "util.h"
#include "vfioctl.h"

#define EXIT_ALLOWED 0
#define EXIT_DENIED  1
#define EXIT_ERROR   2

/* Groups looked at per user; getgrouplist() is asked again with more room up to this. */
#define USER_GROUPS_MAX 65536
#define DEVICES_MAX	64

struct check_args {
	const char *config;
	const char *user;
	const char *root;
	char *devices[DEVICES_MAX];
	size_t n_devices;
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
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:u:h", options, NULL)) != -1)
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
		case 'h':
			help(stdout);
			return -1;
		default:
			fprintf(stderr, "Try 'vfioctl policy check --help'.\n");
			return EXIT_ERROR;
		}
	if (optind >= argc)
		return error("no DEVICE to check. Try 'vfioctl policy check --help'.");
	if (argc - optind > DEVICES_MAX)
		return error("at most %d devices at a time", DEVICES_MAX);
	for (int i = optind; i < argc; i++) {
		a->devices[a->n_devices] = canonical_device(argv[i]);
		if (!a->devices[a->n_devices])
			return error("out of memory");
		a->n_devices++;
	}
	return 0;
}

/* The subject being checked, as vfiod would see it; owns its gid array. */
struct subject {
	PolicySubject s;
	gid_t *gids;
	char *name; /* NULL when the uid has no passwd entry */
};

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

static void print_subject(const struct subject *s)
{
	printf("user: %s%suid %u, gid ", s->name ?: "", s->name ? ", " : "", (unsigned)s->s.uid);
	if (s->s.gid == (gid_t)-1)
		printf("none (no passwd entry: only Users= can match)");
	else
		printf("%u", (unsigned)s->s.gid);
	if (s->s.n_supplementary_gids > 0) {
		printf(", groups");
		for (size_t i = 0; i < s->s.n_supplementary_gids; i++)
			printf(" %u", (unsigned)s->s.supplementary_gids[i]);
	}
	printf("\n");
}

/* The options a claim of all allowed devices gets: the strictest of their rules. */
struct grant {
	PolicyRule rule;
	bool any;
};

static void grant_add(struct grant *g, const PolicyRule *r)
{
	if (!g->any) {
		g->rule = (PolicyRule){.dma_modes = r->dma_modes,
				       .dma_quota = r->dma_quota,
				       .max_devices = r->max_devices,
				       .require_reset = r->require_reset,
				       .may_rebind = r->may_rebind,
				       .revoke_grace_usec = r->revoke_grace_usec,
				       .revoke_force = r->revoke_force};
		g->any = true;
		return;
	}
	g->rule.dma_modes &= r->dma_modes;
	if (r->dma_quota < g->rule.dma_quota)
		g->rule.dma_quota = r->dma_quota;
	if (r->max_devices < g->rule.max_devices)
		g->rule.max_devices = r->max_devices;
	g->rule.require_reset |= r->require_reset;
}

/* What claim.c makes of several rules: only the DMA modes all allow, the least quota, ... */
static void print_grant(const struct grant *g, size_t n_devices)
{
	char quota[POLICY_VALUE_FORMAT_MAX];
	const char *modes = g->rule.dma_modes == DMA_MODES_ALL ? "container brokered"
			    : g->rule.dma_modes ? dma_mode_to_string(g->rule.dma_modes)
						: "none (the claim fails)";

	printf("\na claim of all %zu devices gets the strictest combination: DmaModes=%s "
	       "DmaQuota=%s MaxDevices=%u RequireReset=%s\n",
	       n_devices, modes, policy_format_size(g->rule.dma_quota, quota), g->rule.max_devices,
	       g->rule.require_reset ? "yes" : "no");
}

/* Checks one device; returns EXIT_ALLOWED, EXIT_DENIED or EXIT_ERROR. */
static int check_device(const Policy *policy, const struct subject *subject, int root_fd,
			const char *address, struct grant *grant)
{
	_cleanup_strv_free_ char **lines = NULL;
	_cleanup_free_ char *what = NULL, *options = NULL;
	PciDeviceInfo info = {};
	const PolicyRule *rule;
	PolicyDevice device;
	int r;

	if (!pci_address_is_valid(address))
		return error("%s: not a PCI address DDDD:BB:DD.F (only PCI devices can be checked "
			     "so far)",
			     address);
	r = sysfs_read_pci_device(root_fd, address, &info);
	if (r == -ENODEV)
		return error("%s: there is no such PCI device", address);
	if (r < 0)
		return error("%s: cannot read it from sysfs: %s", address, strerror(-r));

	device = (PolicyDevice){
	    .type = POLICY_DEVICE_PCI,
	    .address = info.address,
	    .vendor_id = info.vendor_id,
	    .device_id = info.device_id,
	    .class_code = info.class_code,
	    .iommu_group = info.iommu_group,
	};
	r = policy_device_format(&device, &what);
	if (r >= 0)
		r = policy_explain(policy, &subject->s, &device, &rule, &lines);
	if (r >= 0 && rule)
		r = policy_rule_format_options(rule, &options);
	if (r < 0) {
		pci_device_info_done(&info);
		return error("%s: %s", address, strerror(-r));
	}

	printf("\n%s, %s%s\n", what, info.driver ? "driver " : "no driver", info.driver ?: "");
	for (size_t i = 0; lines[i]; i++)
		printf("  %s\n", lines[i]);
	if (rule) {
		printf("  allowed by rule %s (%s:%u): %s\n", rule->name, rule->file, rule->line,
		       options);
		grant_add(grant, rule);
	} else
		printf("  denied: no rule allows it\n");
	/* What the policy does not decide, but a claim would still run into. */
	if (rule && info.iommu_group < 0)
		printf("  note: it is in no IOMMU group; a claim fails until the IOMMU is on\n");
	else if (rule && !streq_ptr(info.driver, "vfio-pci"))
		printf("  note: it is %s%s, not to vfio-pci; a claim fails until an "
		       "administrator binds it to vfio-pci\n",
		       info.driver ? "bound to " : "not bound to any driver", info.driver ?: "");
	pci_device_info_done(&info);
	return rule ? EXIT_ALLOWED : EXIT_DENIED;
}

static int policy_check(int argc, char **argv)
{
	_cleanup_free_ char *dropins = NULL, *error_text = NULL;
	_cleanup_close_ int root_fd = -EBADF;
	struct check_args a = {.config = VFIOD_CONFIG_PATH};
	struct subject subject = {};
	struct grant grant = {};
	Policy *policy = NULL;
	int r, ret;

	ret = parse_args(argc, argv, &a);
	if (ret != 0)
		goto out;
	ret = EXIT_ERROR;

	r = policy_dropin_dir_for(a.config, &dropins);
	if (r < 0) {
		error("out of memory");
		goto out;
	}
	r = policy_load(a.config, dropins, &policy, &error_text);
	if (r < 0) {
		error("the policy is invalid: %s", error_text ?: strerror(-r));
		goto out;
	}
	r = a.user ? subject_from_user(a.user, &subject) : subject_from_caller(&subject);
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

	printf("policy: %s and %s/*.conf, %zu rule(s), valid\n", a.config, dropins,
	       policy->n_rules);
	print_subject(&subject);

	ret = EXIT_ALLOWED;
	for (size_t i = 0; i < a.n_devices; i++) {
		r = check_device(policy, &subject, root_fd, a.devices[i], &grant);
		if (r > ret)
			ret = r;
	}
	if (ret == EXIT_ALLOWED && a.n_devices > 1)
		print_grant(&grant, a.n_devices);
out:
	policy_free(policy);
	subject_done(&subject);
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
