/* SPDX-License-Identifier: MIT */
/* The claim record kept in the fd store: what is written is read back, nothing else is. */
#include <string.h>

#include "claim-record.h"
#include "tap.h"
#include "util.h"

static const char good[] = "vfiod-claim-record 1\n"
			   "id=7\n"
			   "uid=1001\n"
			   "gid=1001\n"
			   "pid=345\n"
			   "dma-mode=brokered\n"
			   "dma-quota=268435456\n"
			   "dma-mapped=4096\n"
			   "revoke-grace-usec=10000000\n"
			   "revoke-force=no\n"
			   "device=0000:00:03.0 12 -1\n";

/* Parses text NUL-padded to the record size. */
static int parse_text(const char *text, ClaimRecord *r, const char **reason)
{
	char buf[CLAIM_RECORD_SIZE] = {0};

	memcpy(buf, text, strnlen(text, sizeof(buf)));
	return claim_record_parse(buf, sizeof(buf), r, reason);
}

/* good with the first occurrence of `from` replaced by `to`, parsed. */
static int parse_edited(const char *from, const char *to)
{
	char text[CLAIM_RECORD_SIZE];
	const char *at = strstr(good, from), *reason = NULL;
	ClaimRecord r;
	int k;

	if (!at)
		return 0; /* the caller's CHECK fails */
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	k = parse_text(text, &r, &reason);
	if (k < 0)
		CHECK(reason != NULL);
	return k;
}

static void test_round_trip(void)
{
	ClaimRecord r =
			{
			    .id = 42,
			    .uid = 1001,
			    .gid = (gid_t)-1,
			    .pid = 999,
			    .dma_mode = DMA_MODE_CONTAINER,
			    .dma_quota = UINT64_MAX,
			    .dma_mapped = 0,
			    .revoke_grace_usec = 5000000,
			    .revoke_force = true,
			},
		    back;
	char buf[CLAIM_RECORD_SIZE];

	for (size_t i = 0; i < CLAIM_MAX_DEVICES; i++) {
		snprintf(r.devices[i].address, sizeof(r.devices[i].address), "0000:%02zx:00.0", i);
		r.devices[i].group = (int)i + 100;
		r.devices[i].irq_index = i % 2 ? 2 : -1;
	}
	r.n_devices = CLAIM_MAX_DEVICES;
	CHECK(claim_record_format(&r, buf) == 0);
	CHECK(claim_record_parse(buf, sizeof(buf), &back, NULL) == 0);
	CHECK(back.id == 42 && back.uid == 1001 && back.gid == (gid_t)-1 && back.pid == 999);
	CHECK(back.dma_mode == DMA_MODE_CONTAINER && back.dma_quota == UINT64_MAX);
	CHECK(back.revoke_grace_usec == 5000000 && back.revoke_force);
	CHECK(back.n_devices == CLAIM_MAX_DEVICES);
	CHECK_STREQ(back.devices[63].address, "0000:3f:00.0");
	CHECK(back.devices[63].group == 163 && back.devices[63].irq_index == 2);
	CHECK(back.devices[0].irq_index == -1);

	CHECK(parse_text(good, &back, NULL) == 0);
	CHECK(back.dma_mode == DMA_MODE_BROKERED && back.dma_mapped == 4096 && !back.revoke_force);
	CHECK(back.n_devices == 1 && back.devices[0].group == 12);
}

static void test_malformed(void)
{
	char buf[CLAIM_RECORD_SIZE] = {0}, big[CLAIM_RECORD_SIZE + 1] = {0};
	const char *reason = NULL;
	ClaimRecord r;

	/* The frame: exact size, text then NULs only, newline-terminated. */
	memcpy(big, good, sizeof(good) - 1);
	CHECK(claim_record_parse(big, sizeof(big), &r, &reason) == -EBADMSG);
	CHECK(claim_record_parse(buf, sizeof(buf) - 1, &r, &reason) == -EBADMSG);
	CHECK(claim_record_parse(buf, sizeof(buf), &r, &reason) == -EBADMSG); /* empty */
	memcpy(buf, good, sizeof(good) - 1);
	buf[sizeof(buf) - 1] = 'x';
	CHECK(claim_record_parse(buf, sizeof(buf), &r, &reason) == -EBADMSG);
	memset(buf, 'a', sizeof(buf)); /* no NUL at all */
	CHECK(claim_record_parse(buf, sizeof(buf), &r, &reason) == -EBADMSG);
	CHECK(parse_edited("revoke-force=no\ndevice=0000:00:03.0 12 -1\n",
			   "revoke-force=no\ndevice=0000:00:03.0 12 -1") == -EBADMSG);

	/* Header, keys, duplicates, missing keys. */
	CHECK(parse_edited("vfiod-claim-record 1", "vfiod-claim-record 2") == -EBADMSG);
	CHECK(parse_edited("uid=1001\n", "") == -EBADMSG);
	CHECK(parse_edited("uid=1001\n", "uid=1001\nuid=1002\n") == -EBADMSG);
	CHECK(parse_edited("uid=1001\n", "uid=1001\ncolour=blue\n") == -EBADMSG);
	CHECK(parse_edited("uid=1001\n", "uid=1001\n\n") == -EBADMSG);
	CHECK(parse_edited("uid=1001\n", "uid 1001\n") == -EBADMSG);
	CHECK(parse_edited("device=0000:00:03.0 12 -1\n", "") == -EBADMSG);

	/* Wrong types and ranges. */
	CHECK(parse_edited("id=7", "id=0") == -EBADMSG);
	CHECK(parse_edited("id=7", "id=seven") == -EBADMSG);
	CHECK(parse_edited("id=7", "id=-7") == -EBADMSG);
	CHECK(parse_edited("id=7", "id=07") == -EBADMSG);
	CHECK(parse_edited("id=7", "id=18446744073709551616") == -EBADMSG);
	CHECK(parse_edited("uid=1001", "uid=4294967295") == -EBADMSG);
	CHECK(parse_edited("uid=1001", "uid=") == -EBADMSG);
	CHECK(parse_edited("pid=345", "pid=0") == -EBADMSG);
	CHECK(parse_edited("pid=345", "pid=2147483648") == -EBADMSG);
	CHECK(parse_edited("pid=345", "pid= 345") == -EBADMSG);
	CHECK(parse_edited("dma-mode=brokered", "dma-mode=both") == -EBADMSG);
	CHECK(parse_edited("revoke-force=no", "revoke-force=1") == -EBADMSG);

	/* Devices. */
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:03.0 12") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:03.0 12 -1 x") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:03.00 12 -1") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:3.0 12 -1") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "../../etc 12 -1") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:03.0 -12 -1") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:03.0 2147483648 -1") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:03.0 12 -2") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:03.0 12 99") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:03.0  12 -1") == -EBADMSG);
	CHECK(parse_edited("device=0000:00:03.0 12 -1\n",
			   "device=0000:00:03.0 12 -1\ndevice=0000:00:03.0 13 -1\n") == -EBADMSG);
	CHECK(parse_edited("0000:00:03.0 12 -1", "0000:00:03.0 12 2") == 0);

	/* The parser fails cleanly, leaving nothing half-filled. */
	CHECK(parse_edited("id=7", "id=x") == -EBADMSG);
	CHECK(parse_text("vfiod-claim-record 1\nid=x\n", &r, &reason) == -EBADMSG);
	CHECK(r.id == 0 && r.n_devices == 0);
}

/* Devices moved to vfio-pci for the claim: the driver they had, or none. */
static void test_moves(void)
{
	ClaimRecord r = {.id = 3, .uid = 1, .gid = 1, .pid = 2, .dma_mode = DMA_MODE_BROKERED},
		    back;
	char buf[CLAIM_RECORD_SIZE];

	snprintf(r.devices[0].address, sizeof(r.devices[0].address), "0000:00:06.0");
	r.devices[0].group = 5;
	r.devices[0].irq_index = -1;
	r.n_devices = 1;
	snprintf(r.moves[0].address, sizeof(r.moves[0].address), "0000:00:06.0");
	r.moves[0].group = 5;
	snprintf(r.moves[0].driver, sizeof(r.moves[0].driver), "e1000e");
	snprintf(r.moves[1].address, sizeof(r.moves[1].address), "0000:00:06.1");
	r.moves[1].group = 5; /* it had no driver */
	r.n_moves = 2;
	CHECK(claim_record_format(&r, buf) == 0);
	CHECK(strstr(buf, "moved=0000:00:06.0 5 e1000e\nmoved=0000:00:06.1 5 -\n") != NULL);
	CHECK(claim_record_parse(buf, sizeof(buf), &back, NULL) == 0);
	CHECK(back.n_moves == 2 && back.moves[1].group == 5);
	CHECK_STREQ(back.moves[0].driver, "e1000e");
	CHECK_STREQ(back.moves[1].driver, "");
	CHECK_STREQ(back.moves[1].address, "0000:00:06.1");

	CHECK(parse_edited("-1\n", "-1\nmoved=0000:00:06.0 5 snd_hda_intel\n") == 0);
	CHECK(parse_edited("-1\n", "-1\nmoved=0000:00:06.0 5 e1000e\nmoved=0000:00:06.0 5 -\n") ==
	      -EBADMSG);
	CHECK(parse_edited("-1\n", "-1\nmoved=0000:00:06.0 5\n") == -EBADMSG);
	CHECK(parse_edited("-1\n", "-1\nmoved=0000:00:06.0 5 \n") == -EBADMSG);
	CHECK(parse_edited("-1\n", "-1\nmoved=0000:00:06.0 -5 e1000e\n") == -EBADMSG);
	CHECK(parse_edited("-1\n", "-1\nmoved=0000:0:06.0 5 e1000e\n") == -EBADMSG);
	CHECK(parse_edited("-1\n", "-1\nmoved=0000:00:06.0 5 ../e1000e\n") == -EBADMSG);
	CHECK(parse_edited("-1\n", "-1\nmoved=0000:00:06.0 5 e1000 e\n") == -EBADMSG);
	CHECK(parse_edited("-1\n",
			   "-1\nmoved=0000:00:06.0 5 "
			   "a123456789012345678901234567890123456789012345678901234567890123\n") ==
	      -EBADMSG);
}

static void test_too_many_devices(void)
{
	char text[CLAIM_RECORD_SIZE], *p = text;
	const char *reason = NULL;
	ClaimRecord r;

	p += snprintf(p, sizeof(text), "%s", good);
	/* 65 devices in all; the record still fits the page. */
	for (int i = 0; i < (int)CLAIM_MAX_DEVICES; i++)
		p +=
		    snprintf(p, text + sizeof(text) - p, "device=0000:%02x:00.0 %d -1\n", i + 1, i);
	CHECK(parse_text(text, &r, &reason) == -EBADMSG);
	CHECK_STREQ(reason, "too many devices");
}

int main(void)
{
	test_round_trip();
	test_malformed();
	test_moves();
	test_too_many_devices();
	return test_exit();
}
