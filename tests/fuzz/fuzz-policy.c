/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the policy parser (policy_load_string()).
 *
 * Not built by meson; by hand, from the top of the source tree:
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Icommon -Idaemon tests/fuzz/fuzz-policy.c daemon/policy.c common/pci-address.c \
 *     -linih -o /tmp/fuzz-policy
 *   mkdir -p /tmp/fuzz-policy-corpus
 *   /tmp/fuzz-policy -max_total_time=60 -max_len=4096 /tmp/fuzz-policy-corpus
 *
 * Besides "no crash, no leak", it checks the contract: on success a policy and
 * no message, on failure a message "ORIGIN:..." (or -ENOMEM) and no policy.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

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
		const PolicySubject subject = {1000, 1000, supplementary, 3};
		const PolicyDevice device = {"0000:00:02.0", 0x8086, 0x10d3, 0x020000, 4};
		const PolicyRule *rule;

		if (!policy || error)
			abort();
		rule = policy_find_rule(policy, &subject, &device);
		if (rule && (rule->dma_modes == 0 || rule->dma_quota == 0 ||
			     rule->max_devices == 0 || !rule->name || !rule->file))
			abort();
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
