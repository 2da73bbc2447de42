#!/bin/bash
# Two functions share an IOMMU group: while one is on a host driver the other
# cannot be claimed, and the refusal says which device and driver; once both
# are on vfio-pci, the claim takes the whole group.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
[ "$(group_of "$SHARED_EDU")" = "$(group_of "$SHARED_NIC")" ] || fail "fixture: not one group"
start_broker
out=$(run_as 1001 1001 "$PROBE" claim "$SHARED_EDU") && fail "claimed a non-viable group: $out"
echo "$out"
grep -q "io.vfiod.Error.GroupNotViable" <<<"$out" || fail "expected GroupNotViable"
grep -q "$SHARED_NIC" <<<"$out" || fail "the refusal does not name $SHARED_NIC"
grep -q "e1000" <<<"$out" || fail "the refusal does not name the driver"
bind_vfio "$SHARED_NIC"
start_holder 1001 "$SHARED_EDU"
group=$(group_of "$SHARED_EDU")
busctl --address="$VFIOD_ADDRESS" get-property io.vfiod.Broker1 \
	"$HOLDER_CLAIM" io.vfiod.Broker1.Claim IommuGroups | grep -qw "$group" ||
	fail "claim does not list group $group"
# The whole group is held: the other function cannot be claimed by anyone else.
out=$(run_as 1002 1002 "$PROBE" claim "$SHARED_NIC") && fail "claimed a held group's member"
echo "$out"
grep -q "io.vfiod.Error.Busy" <<<"$out" || fail "expected Busy for the other member"
stop_holder
