#!/bin/bash
# A restart of vfiod loses no claim. Under a service manager with an fd store
# (activate-loop --fdstore --restart, the stand-in for systemd) vfiod keeps
# each claim's container, groups, holder pidfd and record there; SIGTERMed
# and started again, it restores the claims before serving: the holders keep
# using their devices (BAR0, brokered DMA through a mapping made before), the
# bus shows the same holders, another user gets Busy, and a claim ends when
# its holder exits. Without a store (no NOTIFY_SOCKET) a SIGTERM releases as
# before; a corrupted record is refused with a warning and the device released.
# A device moved to vfio-pci for a claim (MayRebind=) goes back to its driver
# when the restored claim ends.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

ACTIVATE_LOOP=$BUILD_DIR/tests/unit/activate-loop
STORE=$VM_ARTIFACTS/activate-loop.log # the stand-in's lines: started, stored, removed ...
LOG=$VM_ARTIFACTS/vfiod-restarts.log # vfiod's log (its stderr)
BUSY=io.vfiod.Error.Busy
mkdir -p /run/vfiod "$VM_ARTIFACTS"

count() { grep -c -- "$1" "$2" 2>/dev/null || true; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }
daemon_pid() { sed -n 's/^started \([0-9]*\)$/\1/p' "$STORE" | tail -1; }

# start_loop [ARGS...]: vfiod under the stand-in, restarted whenever it exits.
start_loop() {
	: >"$LOG"
	: >"$STORE"
	rm -f "$VFIOD_SOCKET"
	"$ACTIVATE_LOOP" --fdstore 64 --restart "$@" "$VFIOD_SOCKET" -- "$VFIOD_BIN" \
		--no-system-bus --config "${CONFIG:-$VFIOD_CONFIG}" --log-level debug >>"$STORE" 2>>"$LOG" </dev/null &
	LOOP=$!
	wait_until 20 at_least "vfiod .* ready" "$LOG" 1 || { cat "$LOG"; fail "vfiod did not start"; }
}
stop_loop() {
	kill -TERM "$LOOP"
	wait "$LOOP" || fail "activate-loop failed"
}
# restart: SIGTERM vfiod; the stand-in starts it again with the store.
restart() {
	local starts
	starts=$(count "^started " "$STORE")
	kill -TERM "$(daemon_pid)"
	wait_until 20 at_least "^started " "$STORE" $((starts + 1)) || fail "vfiod was not restarted"
	wait_until 20 at_least "vfiod .* ready" "$LOG" $((starts + 1)) || { cat "$LOG"; fail "no ready after the restart"; }
}

# hold NAME UID DEVICE MODE: a holder that keeps its fds across the restart.
hold() {
	local name=$1 uid=$2 device=$3 mode=$4
	(exec setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		"$PROBE" claim "$device" --dma "$mode" --hold-across-restart >"/tmp/$name.out" 2>&1) &
	eval "${name}_PID=$!"
	wait_until 20 grep -q '^holding' "/tmp/$name.out" || { cat "/tmp/$name.out"; fail "$name did not get $device"; }
}
# poke NAME N: SIGUSR1 the holder; it reads the id register (N times in all by now).
poke() {
	local pid_var=${1}_PID
	kill -USR1 "${!pid_var}"
	wait_until 20 at_least "^id 0x010000ed" "/tmp/$1.out" "$2" ||
		{ cat "/tmp/$1.out"; fail "$1 cannot read the id register after the restart"; }
}
claim_as_1002() { run_as 1002 1002 "$PROBE" claim "$1" 2>&1 || true; }
claimable() { claim_as_1002 "$1" | grep -q "^id 0x010000ed"; }

note "1. with the fd store: two claims survive a restart"
start_loop
hold A 1001 "$EDU1" container
hold B 1001 "$EDU2" brokered
grep -q "^dma ok" /tmp/B.out || { cat /tmp/B.out; fail "brokered DMA before the restart"; }
at_least "^stored claim-.*-group-" "$STORE" 2 || fail "the groups are not in the store"
holders_before=$("$VFIOCTL" holders | grep -c " 1001 ")
[ "$holders_before" -eq 2 ] || fail "expected 2 holders: $("$VFIOCTL" holders)"
restart
wait_until 10 grep -q '^disconnected' /tmp/A.out || fail "holder A never saw vfiod go"
at_least "Claim [0-9]*: restored for uid=1001 pid=$A_PID" "$LOG" 1 || fail "claim of A not restored"
at_least "Claim [0-9]*: restored for uid=1001 pid=$B_PID" "$LOG" 1 || fail "claim of B not restored"
! grep -q "Released $EDU1" "$LOG" || fail "$EDU1 was released by the restart"
poke A 2
poke B 2
wait_until 20 at_least "^dma ok" /tmp/B.out 2 || { cat /tmp/B.out; fail "brokered DMA after the restart"; }
holders=$("$VFIOCTL" holders)
note "after the restart:"$'\n'"$holders"
grep -q "1001 *$A_PID .*$EDU1" <<<"$holders" || fail "holders does not show A on $EDU1"
grep -q "1001 *$B_PID .*$EDU2" <<<"$holders" || fail "holders does not show B on $EDU2"
out=$(claim_as_1002 "$EDU1")
grep -q "^error: $BUSY" <<<"$out" || fail "a second user's claim of $EDU1 was not refused Busy: $out"
kill -TERM "$A_PID"
wait "$A_PID" || fail "holder A did not exit cleanly"
wait_until 10 grep -q "Holder uid=1001 pid=$A_PID of a restored claim exited" "$LOG" ||
	fail "vfiod did not see holder A exit"
wait_until 10 at_least "^removed claim-1-record" "$STORE" 1 || fail "claim 1 is still in the store"
out=$(claim_as_1002 "$EDU1")
grep -q "^id 0x010000ed" <<<"$out" || fail "$EDU1 not claimable after its holder exited: $out"
note "a second restart restores the remaining claim again"
restart
poke B 3
kill -TERM "$B_PID"
wait "$B_PID" || fail "holder B did not exit cleanly"
wait_until 10 at_least "^removed claim-2-record" "$STORE" 1 || fail "claim 2 is still in the store"
out=$(claim_as_1002 "$EDU2")
grep -q "^id 0x010000ed" <<<"$out" || fail "$EDU2 not claimable after its holder exited: $out"
stop_loop

note "2. without a store a SIGTERM releases the claims, as before"
start_broker
hold C 1001 "$EDU3" container
stop_vfiod || fail "vfiod did not stop cleanly"
grep -q "Released $EDU3" "$VM_ARTIFACTS/vfiod.log" || fail "no release at exit without a store"
wait_until 10 grep -q '^disconnected' /tmp/C.out || fail "holder C never saw vfiod go"
start_broker
[ "$("$VFIOCTL" holders | grep -c " 1001 ")" -eq 0 ] || fail "a claim came back without a store"
kill -TERM "$C_PID"
wait "$C_PID" || true
wait_until 10 claimable "$EDU3" ||
	fail "$EDU3 not claimable after its holder exited"
stop_vfiod || true

note "3. a corrupted record is refused with a warning; the device ends up released"
start_loop --corrupt-records
hold D 1001 "$EDU1" container
restart
at_least "^corrupted claim-1-record" "$STORE" 1 || fail "the stand-in did not corrupt the record"
at_least "Stored claim 1 is not restored: unknown header" "$LOG" 1 ||
	{ cat "$LOG"; fail "no warning for the corrupted record"; }
at_least "^removed claim-1-group-" "$STORE" 1 || fail "the refused claim's group is still in the store"
[ "$("$VFIOCTL" holders | grep -c " 1001 ")" -eq 0 ] || fail "a corrupted claim was published"
kill -TERM "$D_PID"
wait "$D_PID" || true
wait_until 10 claimable "$EDU1" ||
	fail "$EDU1 not claimable after the refused claim's holder exited"
stop_loop

note "4. a device moved to vfio-pci for a claim goes back once its restored claim ends"
conf=/run/vfiod-fdstore-rebind.conf
{
	cat "$VFIOD_CONFIG"
	printf '\n[Rule nic-rebind]\nAddresses=%s\nUsers=1001\nMayRebind=yes\n' "$E1000E"
} >"$conf"
chmod 0644 "$conf"
on_driver() { [ "$(driver_of "$E1000E")" = "$1" ]; }
on_driver e1000e || fail "fixture: $E1000E is on '$(driver_of "$E1000E")', not e1000e"
CONFIG=$conf start_loop
hold E 1001 "$E1000E" container
on_driver vfio-pci || fail "$E1000E was not moved to vfio-pci for the claim"
restart
at_least "Claim [0-9]*: restored for uid=1001 pid=$E_PID" "$LOG" 1 || fail "the claim of $E1000E was not restored"
on_driver vfio-pci || fail "$E1000E left vfio-pci while its claim was held"
kill -TERM "$E_PID"
wait "$E_PID" || true
wait_until 20 on_driver e1000e ||
	fail "$E1000E not back on e1000e after its restored claim ended: on '$(driver_of "$E1000E")'"
stop_loop
