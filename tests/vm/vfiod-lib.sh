# Helpers for the guest tests of vfiod itself, on top of the harness's lib.sh.
# shellcheck shell=bash
. "$SOURCE_DIR/tests/vm/lib.sh"

PROBE=$BUILD_DIR/tests/vm/vfiod-probe
VFIOCTL=$BUILD_DIR/client/vfioctl/vfioctl
VFIOD_CONFIG=$SOURCE_DIR/tests/vm/vfiod-test.conf
VFIOD_ADDRESS=unix:path=/run/vfiod/broker.sock
export VFIOD_ADDRESS

# start_broker [--system-bus]: vfiod with the test policy, on the private
# socket only unless --system-bus (then start_system_bus must have run).
start_broker() {
	local bus=--no-system-bus
	[ "${1:-}" = --system-bus ] && bus=
	start_vfiod $bus --config "$VFIOD_CONFIG" --log-level debug
}

# Runs a probe that claims DEVICE as UID and keeps holding it; sets HOLDER_PID
# (the pid vfiod sees: the subshell execs setpriv, which execs the probe) and
# HOLDER_CLAIM (the claim's object path). HOW is the probe's --hold
# (default) or --hold-stubbornly; TRANSPORT "--system" for the system bus.
start_holder() { # UID DEVICE [HOW [TRANSPORT]]
	local uid=$1 device=$2 how=${3:---hold} transport=()
	[ -z "${4:-}" ] || transport=("$4")
	rm -f /tmp/holder.out
	(exec setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		"$PROBE" "${transport[@]}" claim "$device" "$how" >/tmp/holder.out 2>&1) &
	HOLDER_PID=$!
	for _ in $(seq 100); do
		if grep -q '^holding' /tmp/holder.out 2>/dev/null; then
			HOLDER_CLAIM=$(sed -n 's/^claimed \([^ ]*\) .*/\1/p' /tmp/holder.out)
			return 0
		fi
		kill -0 "$HOLDER_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat /tmp/holder.out
	fail "holder (uid $uid) did not get $device"
}

stop_holder() {
	kill -TERM "$HOLDER_PID" 2>/dev/null || true
	wait "$HOLDER_PID" 2>/dev/null || true
}

# How many claims vfiod publishes on its private socket.
claim_count() {
	busctl --address="$VFIOD_ADDRESS" tree io.vfiod.Broker1 | grep -c "/claim/" || true
}

# For wait_until, which must count again on every try (not expand the count once).
claims_are() { # N
	[ "$(claim_count)" -eq "$1" ]
}
