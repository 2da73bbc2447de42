/* SPDX-License-Identifier: MIT */
/*
 * vfioctl: the command-line client of vfiod. main() parses the global options
 * and hands the rest to one command of the table below.
 */
#include <getopt.h>
#include <stdio.h>
#include <syslog.h>

#include "config.h"
#include "util.h"
#include "vfioc.h"
#include "vfioctl.h"

static const struct command {
	const char *name;
	int (*run)(const struct vfioctl *ctx, int argc, char **argv);
	const char *synopsis;
	const char *summary;
} commands[] = {
    {"claim", cmd_claim, "[--dma MODE] [--irq DEVICE:INDEX:COUNT]... DEVICE... -- PROGRAM [ARG...]",
     "claim devices and run PROGRAM with their fds"},
    {"policy", cmd_policy, "check [--config PATH] [--user USER] [--json] DEVICE...",
     "say which policy rule decides USER's claim of each DEVICE, and why"},
    {"reload", cmd_reload, "", "make vfiod reload its policy (root only)"},
    {"list", cmd_list, "[--json]", "list the devices vfiod publishes, like lspci"},
    {"show", cmd_show, "[--json] DEVICE...", "show everything vfiod knows about devices"},
    {"holders", cmd_holders, "[--json]", "show which process holds which devices"},
    {"release", cmd_release, "DEVICE...",
     "ask vfiod to take back the claims holding devices (own uid, else root)"},
    {"bind", cmd_bind, "DEVICE...", "move devices to vfio-pci, noting their driver (root only)"},
    {"unbind", cmd_unbind, "DEVICE...", "give devices back to their driver (root only)"},
};

void log_to_stderr(int priority, const char *message, void *userdata)
{
	fprintf(stderr, "libvfioc%s: %s\n", priority <= LOG_ERR ? " error" : "", message);
}

static void help(FILE *f)
{
	fprintf(f,
		"Usage: vfioctl [--address ADDRESS | --system] [--verbose] COMMAND [ARGS...]\n"
		"\n"
		"The command-line client of vfiod, the VFIO device broker.\n"
		"\n"
		"Options:\n"
		"  -a, --address ADDRESS  D-Bus address of vfiod (default: $VFIOD_ADDRESS, else\n"
		"                         %s)\n"
		"      --system           talk to vfiod on the system bus\n"
		"  -v, --verbose          say what happens, with libvfioc's debug messages\n"
		"  -h, --help             show this help\n"
		"      --version          show the version\n"
		"\n"
		"Commands:\n",
		VFIOC_DEFAULT_ADDRESS);
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		fprintf(f, "  %s %s\n      %s\n", commands[i].name, commands[i].synopsis,
			commands[i].summary);
	fprintf(f, "\nSee vfioctl(1).\n");
}

int main(int argc, char **argv)
{
	enum {
		ARG_VERSION = 0x100,
		ARG_SYSTEM,
	};
	static const struct option options[] = {
	    {"address", required_argument, NULL, 'a'}, {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},	       {"version", no_argument, NULL, ARG_VERSION},
	    {"system", no_argument, NULL, ARG_SYSTEM}, {},
	};
	struct vfioctl ctx = {};
	int c;

	/* '+': stop at the command name; the command parses the rest. */
	while ((c = getopt_long(argc, argv, "+a:vh", options, NULL)) != -1)
		switch (c) {
		case 'a':
			ctx.address = optarg;
			break;
		case 'v':
			ctx.verbose = true;
			break;
		case 'h':
			help(stdout);
			return 0;
		case ARG_VERSION:
			printf("vfioctl %s\n", VFIOD_VERSION);
			return 0;
		case ARG_SYSTEM:
			ctx.system = true;
			break;
		default:
			fprintf(stderr, "Try 'vfioctl --help'.\n");
			return 1;
		}

	if (ctx.system && ctx.address) {
		fprintf(stderr, "vfioctl: --system and --address exclude each other.\n");
		return 1;
	}
	if (optind >= argc) {
		help(stderr);
		return 1;
	}
	if (ctx.verbose)
		vfioc_set_log_fn(log_to_stderr, NULL);

	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (streq(argv[optind], commands[i].name)) {
			int n = argc - optind;
			char **sub = argv + optind;
			optind = 0; /* let the command's getopt start afresh */
			return commands[i].run(&ctx, n, sub);
		}

	fprintf(stderr, "vfioctl: unknown command '%s'. Try 'vfioctl --help'.\n", argv[optind]);
	return 1;
}
