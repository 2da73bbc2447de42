#!/bin/bash
# Revocation follows the policy: a holder asked for its device back (driver
# unbind) has RevokeGraceSec= to release it; after that vfiod ends the claim,
# and kills the holder by pidfd first where RevokeForce=yes says so. vfioctl
# release asks the same way, for the holder's own uid or root.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

mkdir -p /etc/vfiod
cat >/etc/vfiod/revoke.conf <<CONF
[Rule forced]
Addresses=$EDU1
Users=1001
RevokeGraceSec=2s
RevokeForce=yes

[Rule not-forced]
Addresses=$EDU2
Users=1001
RevokeGraceSec=2s

[Rule patient]
Addresses=$EDU3
Users=1001
RevokeGraceSec=30s
RevokeForce=yes
CONF
chmod 0644 /etc/vfiod/revoke.conf
start_system_bus
start_vfiod --config /etc/vfiod/revoke.conf --log-level debug

# unbind_in_background BDF: the kernel blocks it until every fd is closed.
unbind_in_background() {
	echo "$1" >/sys/bus/pci/drivers/vfio-pci/unbind &
	UNBINDER=$!
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

note "RevokeForce=yes: a holder that ignores the request is killed after 2 s"
start_holder 1001 "$EDU1" --hold-stubbornly
# The request follows the unbind, so this bounds the grace period from below
# however late this shell sees things under TCG.
start=$(now_ms)
unbind_in_background "$EDU1"
wait_until 10 grep -q "^revoked $EDU1" /tmp/holder.out || fail "the holder was not asked"
wait "$HOLDER_PID" && status=0 || status=$?
waited=$(($(now_ms) - start))
note "holder exited with status $status, $waited ms after the unbind began"
[ "$status" -eq 137 ] || fail "the holder was not killed (status $status)"
[ "$waited" -ge 1800 ] || fail "killed after $waited ms, before its 2 s grace period"
wait_until 10 test ! -e "/proc/$UNBINDER" || fail "the unbind did not complete after the kill"
grep -q "Revoked by force $EDU1 .*holder killed (SIGKILL)" "$VM_ARTIFACTS/vfiod.log" ||
	fail "no audit entry for the kill"
[ "$(claim_count)" -eq 0 ] || fail "the killed holder's claim is still there"

note "RevokeForce=no: after 2 s the claim ends, the holder lives and keeps the kernel waiting"
start_holder 1001 "$EDU2" --hold-stubbornly
unbind_in_background "$EDU2"
wait_until 10 grep -q "^revoked $EDU2" /tmp/holder.out || fail "the holder was not asked"
wait_until 10 grep -q "Revoked $EDU2 .*grace period over: the claim ends" \
	"$VM_ARTIFACTS/vfiod.log" || fail "the claim did not end after the grace period"
[ "$(claim_count)" -eq 0 ] || fail "the claim is still published after its grace period"
kill -0 "$HOLDER_PID" || fail "vfiod killed a holder with RevokeForce=no"
test -e "/proc/$UNBINDER" || fail "the unbind completed while the holder had its fds"
grep -q "Revoked by force $EDU2" "$VM_ARTIFACTS/vfiod.log" && fail "a kill was logged for $EDU2"
stop_holder
wait_until 10 test ! -e "/proc/$UNBINDER" || fail "the unbind did not complete after the holder"

note "the same over the system bus: vfiod pinned the holder's pid with a pidfd"
bind_vfio "$EDU1"
start_holder 1001 "$EDU1" --hold-stubbornly --system
unbind_in_background "$EDU1"
wait_until 10 grep -q "^revoked $EDU1" /tmp/holder.out || fail "the bus holder was not asked"
wait "$HOLDER_PID" && status=0 || status=$?
[ "$status" -eq 137 ] || fail "the bus holder was not killed (status $status)"
wait_until 10 test ! -e "/proc/$UNBINDER" || fail "the unbind did not complete after the kill"

note "a holder that releases within its grace period is left alone"
start_holder 1001 "$EDU3"
unbind_in_background "$EDU3"
start=$(now_ms)
wait "$HOLDER_PID" || fail "the polite holder did not exit cleanly"
wait_until 10 test ! -e "/proc/$UNBINDER" || fail "the unbind did not complete after a release"
note "unbind completed $(($(now_ms) - start)) ms after it began (grace period 30 s)"
grep -q "Revoked by force $EDU3" "$VM_ARTIFACTS/vfiod.log" && fail "the polite holder was killed"

note "vfioctl release: a uid may take back its own claim, not another uid's"
bind_vfio "$EDU3"
start_holder 1001 "$EDU3"
out=$(run_as 1002 1002 "$VFIOCTL" release "$EDU3" 2>&1) && fail "uid 1002 released a claim of 1001: $out"
grep -q "PermissionDenied" <<<"$out" || fail "release by another uid: got: $out"
out=$(run_as 1001 1001 "$VFIOCTL" release "$EDU3") || fail "release of its own claim: $out"
echo "$out"
grep -q "grace period 30000 ms, then the holder is killed" <<<"$out" || fail "release: got: $out"
wait "$HOLDER_PID" || fail "the holder did not let go cleanly"
grep -q "^revoked $EDU3: uid 1001 asked vfiod to revoke the claim" /tmp/holder.out ||
	fail "the holder was not told why: $(</tmp/holder.out)"
wait_until 5 claims_are 0 || fail "the released claim is still there"
out=$("$VFIOCTL" release "$EDU3" 2>&1) && fail "released a device nobody holds: $out"
grep -q "Nobody holds $EDU3" <<<"$out" || fail "release of a free device: got: $out"

stop_vfiod || fail "vfiod did not exit cleanly"
