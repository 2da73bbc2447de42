#!/bin/bash
# The same API on the private socket (busctl speaks to it peer-to-peer), on
# the system bus, and through systemd's socket activation protocol.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_system_bus
start_broker --system-bus
busctl --address="$VFIOD_ADDRESS" tree io.vfiod.Broker1 | grep -q /io/vfiod/Broker1 ||
	fail "busctl tree over the private socket"
busctl --address="$VFIOD_ADDRESS" introspect io.vfiod.Broker1 /io/vfiod/Broker1 |
	grep -q "^\.Claim" || fail "busctl introspect over the private socket"
busctl --system introspect io.vfiod.Broker1 /io/vfiod/Broker1 | grep -q "^\.Claim" ||
	fail "busctl introspect on the system bus"
out=$(run_as 1001 1001 "$PROBE" --system claim "$EDU1") || fail "claim over the system bus: $out"
grep -q "^id 0x010000ed" <<<"$out" || fail "id register over the system bus"
out=$(run_as 1003 1003 "$PROBE" --system claim "$EDU1") && fail "system bus: uid 1003 got it"
grep -q "PermissionDenied" <<<"$out" || fail "system bus: expected PermissionDenied"
stop_vfiod

# Socket activation: systemd-socket-activate passes the listening fd (LISTEN_FDS).
[ ! -e /run/vfiod/broker.sock ] || fail "vfiod left its socket file behind"
systemd-socket-activate -l /run/vfiod/broker.sock \
	"$VFIOD_BIN" --no-system-bus --config "$VFIOD_CONFIG" >/tmp/activate.log 2>&1 &
activator=$!
for _ in $(seq 50); do [ -S /run/vfiod/broker.sock ] && break; sleep 0.1; done
chmod 0666 /run/vfiod/broker.sock
out=$(run_as 1001 1001 "$PROBE" claim "$EDU1") || { cat /tmp/activate.log; fail "activated claim: $out"; }
grep -q "^id 0x010000ed" <<<"$out" || fail "id register via the activated daemon"
kill "$activator" 2>/dev/null; pkill -f "daemon/vfiod" || true
