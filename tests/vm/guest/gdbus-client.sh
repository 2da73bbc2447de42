#!/bin/bash
# A client not written in this project: tests/vm/gdbus-client.py, GLib's GDBus
# through python3-gi, claims an edu over the system bus, takes the device fd
# from the reply's fd list, mmaps BAR0 and checks the id and liveness
# registers, then releases the claim. A refusal reaches it as the
# io.vfiod.Error.* name in the GLib.Error.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

CLIENT=$SOURCE_DIR/tests/vm/gdbus-client.py

# client UID DEVICE [TIMES]: run it; sets OUT and STATUS (77: no python3-gi).
client() {
	local start=${EPOCHREALTIME/./}
	STATUS=0
	OUT=$(run_as "$1" "$1" python3 "$CLIENT" "$2" "${3:-1}" 2>&1) || STATUS=$?
	echo "$OUT"
	note "uid $1: exit $STATUS in $(((${EPOCHREALTIME/./} - start) / 1000)) ms"
	[ "$STATUS" -ne 77 ] || skip "$OUT"
}

start_system_bus
start_broker --system-bus

# Twice on one connection: after Release() the device is free for the next claim.
client 1001 "$EDU1" 2
[ "$STATUS" -eq 0 ] || fail "GDBus client as uid 1001 (exit $STATUS)"
[ "$(grep -c "^claim /io/vfiod/Broker1/claim/[0-9]*$" <<<"$OUT")" -eq 2 ] || fail "two claim paths"
[ "$(grep -c "^bar0 size 0x100000 offset 0x0 flags 0x7$" <<<"$OUT")" -eq 2 ] ||
	fail "BAR0 of edu: 1 MiB at offset 0, read write mmap"
[ "$(grep -c "^id 0x010000ed$" <<<"$OUT")" -eq 2 ] || fail "id register not read through the mmap"
[ "$(grep -c "^liveness ok$" <<<"$OUT")" -eq 2 ] || fail "liveness register"
[ "$(grep -c "^released$" <<<"$OUT")" -eq 2 ] || fail "Release() did not answer"
[ "$(grep -c "Granted .* to uid=1001" "$VM_ARTIFACTS/vfiod.log")" -eq 2 ] ||
	fail "not two grants in the vfiod log"
busctl --system tree io.vfiod.Broker1 | grep -q "claim/" && fail "a claim is left after Release()"

# uid 1003 has no static grant; on the system bus polkit decides for it, and
# polkitd is not running here: the GLib.Error carries vfiod's error name.
client 1003 "$EDU2"
[ "$STATUS" -eq 2 ] || fail "uid 1003: expected exit status 2 (a D-Bus error), got $STATUS"
grep -q "^error io.vfiod.Error.PermissionDenied: No rule .*polkit is not available" <<<"$OUT" ||
	fail "uid 1003: expected io.vfiod.Error.PermissionDenied"
grep -q "^claim" <<<"$OUT" && fail "uid 1003 got a claim"

stop_vfiod || fail "vfiod did not exit cleanly"
