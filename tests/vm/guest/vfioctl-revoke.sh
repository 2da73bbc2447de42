#!/bin/bash
# vfioctl claim passes a revocation on to PROGRAM: SIGTERM as soon as vfiod
# asks (long before the grace period ends), so the unbind completes; and a
# PROGRAM that ignores SIGTERM gets SIGKILL once vfiod ends the claim, since
# nobody vouches for its device fds any more. The same over the system bus
# (--system), where the library believes only vfiod's unique name.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

mkdir -p /etc/vfiod
cat >/etc/vfiod/revoke.conf <<CONF
[Rule patient]
Addresses=$EDU1
Users=1001
RevokeGraceSec=60s

[Rule short]
Addresses=$EDU2
Users=1001
RevokeGraceSec=2s

[Rule bus]
Addresses=$EDU3
Users=1001
RevokeGraceSec=60s
CONF
chmod 0644 /etc/vfiod/revoke.conf
start_system_bus
start_vfiod --config /etc/vfiod/revoke.conf --log-level debug

unbind_in_background() {
	echo "$1" >/sys/bus/pci/drivers/vfio-pci/unbind &
	UNBINDER=$!
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

note "a revoked claim: PROGRAM gets SIGTERM at once"
run_as 1001 1001 "$VFIOCTL" claim "$EDU1" -- sleep 1000 >/tmp/claim1.out 2>&1 &
VFIOCTL_PID=$!
wait_until 20 claims_are 1 || fail "no claim appeared: $(</tmp/claim1.out)"
start=$(now_ms)
unbind_in_background "$EDU1"
wait "$VFIOCTL_PID" && status=0 || status=$?
waited=$(($(now_ms) - start))
cat /tmp/claim1.out
note "vfioctl exited with status $status, $waited ms after the unbind began (grace 60 s)"
[ "$status" -eq 143 ] || fail "expected 143 (PROGRAM ended by SIGTERM), got $status"
[ "$waited" -lt 30000 ] || fail "PROGRAM was stopped only after $waited ms"
grep -Eq "^vfioctl: $EDU1 revoked \(.+\): sending SIGTERM to sleep pid [0-9]+$" /tmp/claim1.out ||
	fail "no revocation line from vfioctl"
wait_until 20 test ! -e "/proc/$UNBINDER" || fail "the unbind did not complete"
wait_until 10 claims_are 0 || fail "the claim is still there"
grep -q "Revoked by force $EDU1" "$VM_ARTIFACTS/vfiod.log" && fail "vfiod had to force $EDU1"

note "PROGRAM ignores SIGTERM: SIGKILL once vfiod ends the claim"
# No child process, so nothing else inherits the device fds: bash blocks in read on a fifo.
mkfifo -m 0666 /tmp/never
run_as 1001 1001 "$VFIOCTL" claim "$EDU2" -- \
	bash -c 'trap "" TERM; exec 9<>/tmp/never; read -r -u 9' >/tmp/claim2.out 2>&1 &
VFIOCTL_PID=$!
wait_until 20 claims_are 1 || fail "no claim appeared: $(</tmp/claim2.out)"
start=$(now_ms)
unbind_in_background "$EDU2"
wait "$VFIOCTL_PID" && status=0 || status=$?
waited=$(($(now_ms) - start))
cat /tmp/claim2.out
note "vfioctl exited with status $status, $waited ms after the unbind began (grace 2 s)"
[ "$status" -eq 137 ] || fail "expected 137 (PROGRAM killed by SIGKILL), got $status"
[ "$waited" -ge 1800 ] || fail "PROGRAM was killed after $waited ms, before the grace period ended"
grep -Eq "^vfioctl: $EDU2 revoked \(.+\): sending SIGTERM to bash pid [0-9]+$" /tmp/claim2.out ||
	fail "no revocation line from vfioctl"
grep -Eq "^vfioctl: vfiod ended the claim \(.+\): sending SIGKILL to bash pid [0-9]+$" \
	/tmp/claim2.out || fail "no SIGKILL line from vfioctl"
wait_until 20 test ! -e "/proc/$UNBINDER" || fail "the unbind did not complete after the kill"
[ "$(claim_count)" -eq 0 ] || fail "the claim is still there"

note "--system: claim, revocation by vfioctl release, reload"
run_as 1001 1001 "$VFIOCTL" --system claim "$EDU3" -- sleep 1000 >/tmp/claim3.out 2>&1 &
VFIOCTL_PID=$!
wait_until 20 claims_are 1 || fail "no claim over the system bus: $(</tmp/claim3.out)"
"$VFIOCTL" --system release "$EDU3" || fail "vfioctl --system release failed"
wait "$VFIOCTL_PID" && status=0 || status=$?
cat /tmp/claim3.out
[ "$status" -eq 143 ] || fail "expected 143 over the system bus, got $status"
grep -Eq "^vfioctl: $EDU3 revoked \(.+\): sending SIGTERM to sleep pid [0-9]+$" /tmp/claim3.out ||
	fail "no revocation line over the system bus"
wait_until 10 claims_are 0 || fail "the bus claim is still there"
"$VFIOCTL" --system --verbose reload || fail "vfioctl --system reload failed"

stop_vfiod || fail "vfiod did not exit cleanly"
