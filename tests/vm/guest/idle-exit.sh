#!/bin/bash
# vfiod --exit-idle-time, started the three ways it is in production:
#  1. systemd-socket-activate: the first connection starts it (LISTEN_FDS),
#     and once idle it exits by itself, with status 0;
#  2. activate-loop (what a systemd socket unit does; systemd-socket-activate
#     starts its program once): the next connection starts it again;
#  3. D-Bus activation (dbus-daemon without systemd): a call starts it, it
#     releases the name and exits when idle, and a claim over the bus, which
#     is no peer connection, keeps it alive past the idle time.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

ACTIVATE_LOOP=$BUILD_DIR/tests/unit/activate-loop
IDLE=2

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
gone() { ! kill -0 "$1" 2>/dev/null; }
# count PATTERN FILE: lines of FILE containing PATTERN (no fork).
count() {
	local n=0 line
	[ -e "$2" ] || { echo 0; return; }
	while IFS= read -r line; do [[ $line == *"$1"* ]] && n=$((n + 1)); done <"$2"
	echo "$n"
}
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }

mkdir -p /run/vfiod

note "1. systemd-socket-activate"
log1=$VM_ARTIFACTS/socket-activate.log
systemd-socket-activate -l "$VFIOD_SOCKET" "$VFIOD_BIN" --no-system-bus \
	--config "$VFIOD_CONFIG" --exit-idle-time=$IDLE >"$log1" 2>&1 &
vfiod=$! # systemd-socket-activate execs vfiod in its place
wait_until 10 test -S "$VFIOD_SOCKET" || fail "systemd-socket-activate does not listen"
chmod 0666 "$VFIOD_SOCKET"
out=$(run_as 1001 1001 "$PROBE" claim "$EDU1") || fail "activated claim: $out"
left=$(now_ms)
wait_until 10 gone "$vfiod" || fail "vfiod still runs 10 s after its last client left"
wait "$vfiod" && r=0 || r=$?
took=$(($(now_ms) - left))
[ "$r" -eq 0 ] || fail "idle exit with status $r"
at_least "Idle: exiting" "$log1" 1 || fail "no idle exit in the log"
((took >= IDLE * 1000)) || fail "exited $took ms after the last client left: before the idle time"
note "exited $took ms after the last client left (idle time $IDLE s)"

note "2. activate-loop: the next connection starts it again"
log2=$VM_ARTIFACTS/activate-loop.log
rm -f "$VFIOD_SOCKET"
"$ACTIVATE_LOOP" "$VFIOD_SOCKET" -- "$VFIOD_BIN" --no-system-bus \
	--config "$VFIOD_CONFIG" --exit-idle-time=$IDLE >"$log2" 2>&1 &
loop=$!
wait_until 10 test -S "$VFIOD_SOCKET" || fail "activate-loop does not listen"
out=$(run_as 1001 1001 "$PROBE" claim "$EDU1") || fail "first instance: $out"
wait_until 10 at_least "exited " "$log2" 1 || fail "the first instance did not exit when idle"
out=$(run_as 1002 1002 "$PROBE" claim "$EDU2") || fail "second connection: $out"
grep -q "^id 0x010000ed" <<<"$out" || fail "id register through the second instance"
wait_until 10 at_least "exited " "$log2" 2 || fail "the second instance did not exit when idle"
[ "$(count "started " "$log2")" -eq 2 ] || fail "expected 2 starts: $(<"$log2")"
[ "$(count "Idle: exiting" "$log2")" -eq 2 ] || fail "expected 2 idle exits"
kill "$loop"
wait "$loop" || fail "activate-loop failed"

note "3. D-Bus activation: a call starts it, a claim over the bus keeps it"
mkdir -p /run/vfiod-test/system-services
cat >/run/vfiod-test/system-services/io.vfiod.Broker1.service <<EOF
[D-BUS Service]
Name=io.vfiod.Broker1
Exec=$VFIOD_BIN --config $VFIOD_CONFIG --exit-idle-time=$IDLE
User=root
EOF
start_system_bus
log3=$VM_ARTIFACTS/dbus-daemon.log # activated services write to the bus's output
activations() { count "Activating service name='io.vfiod.Broker1'" "$log3"; }
idle_exits() { count "Idle: exiting" "$log3"; }

out=$(run_as 1001 1001 busctl --system get-property io.vfiod.Broker1 /io/vfiod/Broker1 \
	io.vfiod.Broker1.Manager Version) || fail "bus activation: $out"
[ "$(activations)" -eq 1 ] || fail "expected one activation"
wait_until 10 at_least "Idle: exiting" "$log3" 1 || fail "the bus-activated vfiod did not exit when idle"
# The name is free again: the next call activates a new instance.
(exec setpriv --reuid=1001 --regid=1001 --clear-groups \
	"$PROBE" --system claim "$EDU1" --hold >/tmp/holder.out 2>&1) &
holder=$!
wait_until 20 grep -q '^holding' /tmp/holder.out || fail "bus claim: $(cat /tmp/holder.out)"
[ "$(activations)" -eq 2 ] || fail "the claim did not activate a second instance"
vm_sleep $((IDLE * 2 + 1))
[ "$(idle_exits)" -eq 1 ] || fail "vfiod exited while a claim was held"
kill -0 "$holder" || fail "the holder is gone"
kill -TERM "$holder"
wait "$holder" || true
released=$(now_ms)
wait_until 10 at_least "Idle: exiting" "$log3" 2 || fail "vfiod did not exit after the claim was released"
note "exited $(($(now_ms) - released)) ms after the claim was released"
[ "$(activations)" -eq 2 ] || fail "unexpected activations"
stop_system_bus
