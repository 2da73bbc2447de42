#!/bin/bash
# A uid that no rule names is refused with PermissionDenied; so is a device
# the uid's rule does not cover, and a DMA mode the rule does not allow.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
out=$(run_as 1003 1003 "$PROBE" claim "$EDU1") && fail "uid 1003 got a device: $out"
echo "$out"
grep -q "io.vfiod.Error.PermissionDenied" <<<"$out" || fail "expected PermissionDenied"
grep -q "uid 1003" <<<"$out" || fail "message does not name the uid"
out=$(run_as 1002 1002 "$PROBE" claim "$NVME") && fail "uid 1002 got the nvme: $out"
grep -q "io.vfiod.Error.PermissionDenied" <<<"$out" || fail "expected PermissionDenied for nvme"
out=$(run_as 1001 1001 "$PROBE" claim "$NVME" --dma container) && fail "container DMA allowed"
echo "$out"
grep -q "io.vfiod.Error.DmaModeNotAllowed" <<<"$out" || fail "expected DmaModeNotAllowed"
# Devices not on vfio-pci and malformed addresses.
out=$(run_as 1001 1001 "$PROBE" claim "$E1000E") && fail "claimed a host-driver device"
echo "$out"
grep -q "io.vfiod.Error.NotVfioDevice" <<<"$out" || fail "expected NotVfioDevice"
grep -q "e1000e" <<<"$out" || fail "message does not name the driver"
out=$(run_as 1001 1001 "$PROBE" claim "../../../dev/mem") && fail "bad address accepted"
grep -q "io.vfiod.Error.InvalidAddress" <<<"$out" || fail "expected InvalidAddress"
out=$(run_as 1001 1001 "$PROBE" claim "0000:0f:1f.7") && fail "absent device claimed"
grep -q "io.vfiod.Error.NoSuchDevice" <<<"$out" || fail "expected NoSuchDevice"
true
