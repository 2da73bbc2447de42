/* SPDX-License-Identifier: MIT */
/*
 * vfioctl policy check for humans: the policy, the user, then per device its
 * description, the explanation, the deciding rule or the denial and a note;
 * for several allowed devices the grant of one claim of all of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-check.h"
#include "policy-value.h"
#include "util.h"

void device_verdict_print_error(const struct device_verdict *v)
{
	if (v->status == EXIT_ERROR)
		fprintf(stderr, "vfioctl: %s\n", v->error ?: "out of memory");
}

int device_verdict_note(const struct device_verdict *v, char **ret)
{
	const char *driver = v->info.driver;
	int k = 0;

	*ret = NULL;
	switch (v->note) {
	case DEVICE_NOTE_NONE:
		return 0;
	case DEVICE_NOTE_NO_IOMMU_GROUP:
		*ret = strdup("it is in no IOMMU group; a claim fails until the IOMMU is on");
		break;
	case DEVICE_NOTE_NOT_VFIO_PCI:
		k = asprintf(ret,
			     "it is %s%s, not to vfio-pci; a claim fails until an administrator "
			     "binds it to vfio-pci",
			     driver ? "bound to " : "not bound to any driver", driver ?: "");
		break;
	}
	if (k < 0 || !*ret) {
		*ret = NULL;
		return -ENOMEM;
	}
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

static int print_device(const struct device_verdict *v)
{
	_cleanup_free_ char *note = NULL;
	const char *driver = v->info.driver;

	if (v->status == EXIT_ERROR) {
		device_verdict_print_error(v);
		return 0;
	}
	printf("\n%s, %s%s\n", v->description, driver ? "driver " : "no driver", driver ?: "");
	for (size_t i = 0; v->explanation[i]; i++)
		printf("  %s\n", v->explanation[i]);
	if (v->rule)
		printf("  allowed by rule %s (%s:%u): %s\n", v->rule->name, v->rule->file,
		       v->rule->line, v->options);
	else
		printf("  denied: no rule allows it\n");
	if (device_verdict_note(v, &note) < 0)
		return -ENOMEM;
	if (note)
		printf("  note: %s\n", note);
	return 0;
}

static void print_grant(const struct grant *g, size_t n_devices)
{
	char quota[POLICY_VALUE_FORMAT_MAX];
	const char *modes = g->dma_modes == DMA_MODES_ALL ? "container brokered"
			    : g->dma_modes		  ? dma_mode_to_string(g->dma_modes)
							  : "none (the claim fails)";

	printf("\na claim of all %zu devices gets the strictest combination: DmaModes=%s "
	       "DmaQuota=%s MaxDevices=%u RequireReset=%s\n",
	       n_devices, modes, policy_format_size(g->dma_quota, quota), g->max_devices,
	       g->require_reset ? "yes" : "no");
}

int policy_check_print_text(const struct policy_check *c)
{
	int r;

	printf("policy: %s and %s/*.conf, %zu rule(s), valid\n", c->config, c->dropins,
	       c->policy->n_rules);
	print_subject(&c->subject);
	for (size_t i = 0; i < c->n_devices; i++) {
		r = print_device(&c->devices[i]);
		if (r < 0)
			return r;
	}
	if (c->status == EXIT_ALLOWED && c->n_devices > 1)
		print_grant(&c->grant, c->n_devices);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -EIO;
}
