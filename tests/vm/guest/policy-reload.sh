#!/bin/bash
# Policy reload in the real daemon with a held claim: the claim survives every
# reload (a good one that no longer grants it, a broken one, a refused one);
# new claims follow the policy in force; a broken or world-writable policy is
# refused with FILE:LINE and the old one stays (vfioctl reload, SIGHUP); a
# non-root caller may not reload. Then RequireReset=yes refuses the edu (no
# reset) and lets the nvme (FLR) through.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
dir=/run/vfiod-policy
conf=$dir/vfiod.conf
bad=$dir/policy.d/50-bad.conf
mkdir -p -m 0755 "$dir" "$dir/policy.d"
install -m 0644 "$VFIOD_CONFIG" "$conf"
start_vfiod --no-system-bus --config "$conf" --log-level debug

# The holder's claim is alive when uid 1002, whom the policy grants the edu, gets Busy.
expect_held() {
	local out
	out=$(run_as 1002 1002 "$PROBE" claim "$EDU1") && fail "$1: the held edu was claimed again"
	grep -q "io.vfiod.Error.Busy" <<<"$out" || fail "$1: expected Busy, got: $out"
	grep -q "pid=$HOLDER_PID" <<<"$out" || fail "$1: Busy does not name the holder: $out"
}
expect_denied_1001() {
	local out
	out=$(run_as 1001 1001 "$PROBE" claim "$EDU2") && fail "$1: uid 1001 got $EDU2"
	grep -q "io.vfiod.Error.PermissionDenied" <<<"$out" || fail "$1: expected PermissionDenied: $out"
}

start_holder 1001 "$EDU1"
expect_held "start"

# A new policy takes uid 1001's grant away: its new claims are refused, its claim stays.
printf '[Rule edu-1002]\nIds=1234:11e8\nUsers=1002\n' >"$conf"
"$VFIOCTL" reload || fail "root could not reload a good policy"
expect_denied_1001 "after reload"
expect_held "after reload"

# A broken drop-in: vfioctl reload says where, and the policy in force stays.
printf '[Rule bad]\nIds=1234\nUsers=1001\n' >"$bad"
chmod 0644 "$bad"
out=$("$VFIOCTL" reload 2>&1) && fail "a broken policy was accepted"
echo "$out"
grep -q "$bad:2: Ids=" <<<"$out" || fail "the error does not name $bad:2"
grep -q "io.vfiod.Error.InvalidPolicy" <<<"$out" || fail "expected InvalidPolicy"
expect_denied_1001 "after a broken reload"
expect_held "after a broken reload"

# A world-writable drop-in that would grant uid 1001 the edu again is refused.
printf '[Rule edu-1001]\nIds=1234:11e8\nUsers=1001\n' >"$bad"
chmod 0666 "$bad"
out=$("$VFIOCTL" reload 2>&1) && fail "a world-writable drop-in was accepted"
grep -q "$bad: refusing to read: writable by others" <<<"$out" || fail "unexpected error: $out"
expect_denied_1001 "after a world-writable drop-in"

# SIGHUP with the same file: still refused.
kill -HUP "$(vfiod_pid)"
vm_sleep 0.5
expect_denied_1001 "after SIGHUP"
expect_held "after SIGHUP"

# Only root may reload, even a good policy.
chmod 0644 "$bad"
out=$(run_as 1001 1001 "$VFIOCTL" reload 2>&1) && fail "uid 1001 reloaded the policy"
grep -q "io.vfiod.Error.PermissionDenied" <<<"$out" || fail "expected PermissionDenied: $out"
expect_denied_1001 "after a refused reload"

# Now root reloads it: uid 1001 may claim again; the holder still holds.
"$VFIOCTL" reload || fail "root could not reload"
out=$(run_as 1001 1001 "$PROBE" claim "$EDU2") || fail "uid 1001 was refused after the reload: $out"
expect_held "at the end"
stop_holder
run_as 1002 1002 "$PROBE" claim "$EDU1" || fail "the edu was not free after the holder exited"

# RequireReset=yes: the edu cannot be reset, the nvme can (FLR).
rm -f "$bad"
printf '[Rule reset]\nIds=1234:11e8 1b36:0010\nUsers=1001\nDmaModes=brokered\nRequireReset=yes\n' >"$conf"
"$VFIOCTL" reload || fail "reload with RequireReset failed"
[ ! -e "/sys/bus/pci/devices/$EDU2/reset" ] || fail "the edu has a reset method now; pick another device"
[ -e "/sys/bus/pci/devices/$NVME/reset" ] || fail "the nvme has no reset method"
out=$(run_as 1001 1001 "$PROBE" claim "$EDU2") && fail "RequireReset=yes let the edu through"
echo "$out"
grep -q "io.vfiod.Error.ResetUnsupported" <<<"$out" || fail "expected ResetUnsupported"
grep -q "cannot reset $EDU2" <<<"$out" || fail "the message does not name the device"
out=$(run_as 1001 1001 "$PROBE" claim "$NVME" 2>&1) || true
echo "$out"
grep -q "^claimed " <<<"$out" || fail "RequireReset=yes refused the nvme, which has FLR"
# Nothing stays claimed from the refused edu: without the requirement it is free.
printf '[Rule edu]\nIds=1234:11e8\nUsers=1001\n' >"$conf"
"$VFIOCTL" reload || fail "reload failed"
run_as 1001 1001 "$PROBE" claim "$EDU2" || fail "the edu was left claimed by the refused claim"
stop_vfiod || fail "vfiod did not stop cleanly"
