/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the policy parser (policy_load_string()).
 *
 * Not built by meson; by hand, from the top of the source tree:
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Icommon -Idaemon tests/fuzz/fuzz-policy.c daemon/policy*.c common/pci-address.c \
 *     -linih -o /tmp/fuzz-policy
 *   mkdir -p /tmp/fuzz-policy-corpus
 *   /tmp/fuzz-policy -max_total_time=60 -max_len=4096 /tmp/fuzz-policy-corpus
 *
 * Besides "no crash, no leak", it checks the contract: on success a policy and
 * no message, on failure a message "ORIGIN:..." (or -ENOMEM) and no policy;
 * and that policy_explain() decides as policy_find_rule() does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const gid_t supplementary[] = {0, 100, 1000};
	Policy *policy = NULL;
	char *text, *error = NULL;
	int r;

	/* The parser takes a C string: anything after a NUL is not seen. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;

	r = policy_load_string(text, "fuzz", &policy, &error);
	if (r == 0) {
		char *compatible[] = {"vendor,board-dma", "arm,pl330", NULL};
		const PolicySubject subject = {1000, 1000, supplementary, 3};
		const PolicyDevice devices[] = {
		    {.type = POLICY_DEVICE_PCI,
		     .address = "0000:00:02.0",
		     .vendor_id = 0x8086,
		     .device_id = 0x10d3,
		     .class_code = 0x020000,
		     .iommu_group = 4},
		    {.type = POLICY_DEVICE_PLATFORM,
		     .address = "ff100000.dma",
		     .iommu_group = 2,
		     .compatible = compatible},
		    {.type = POLICY_DEVICE_MDEV,
		     .address = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
		     .iommu_group = -1,
		     .mdev_type = "i915-GVTg_V5_4"},
		};

		if (!policy || error)
			abort();
		for (size_t i = 0; i < ELEMENTSOF(devices); i++) {
			const PolicyRule *rule = policy_find_rule(policy, &subject, &devices[i]);
			const PolicyRule *explained = NULL;
			char **lines = NULL;

			if (rule && (rule->dma_modes == 0 || rule->dma_quota == 0 ||
				     rule->max_devices == 0 || !rule->name || !rule->file))
				abort();
			if (rule && !policy_manages_device(policy, &devices[i]))
				abort();
			r = policy_explain(policy, &subject, &devices[i], &explained, &lines);
			if (r == 0 && (explained != rule || !lines))
				abort();
			strv_free(lines);
		}
		policy_free(policy);
	} else {
		if (r > 0 || policy)
			abort();
		if (r != -ENOMEM && (!error || strncmp(error, "fuzz:", 5) != 0))
			abort();
		free(error);
	}
	free(text);
	return 0;
}
