#!/bin/bash
# vfioctl list, show and holders print exactly what tests/vm/golden says for
# the emulated devices (edu, nvme, e1000e, the bridge group), on the private
# socket and on the system bus alike. Only the holder's pid is normalised.
# The outputs of the run are left in results/vfioctl-golden/ for inspection.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

GOLDEN=$SOURCE_DIR/tests/vm/golden
OUT=/run/vmtest/results/vfioctl-golden
mkdir -p "$OUT"

bind_vfio "$E1000E"
cat >/tmp/vfiod.conf <<CONF
[Manage]
Devices=all

[Rule edu]
Ids=1234:11e8
Users=1001
CONF
start_system_bus
start_vfiod --config /tmp/vfiod.conf
start_holder 1001 "$EDU2"

differ=()
check() { # NAME COMMAND...: runs COMMAND, compares its output with golden/NAME
	local name=$1 status=0
	shift
	"$@" >"$OUT/$name" 2>&1 || status=$?
	sed -i -E "s/pid=$HOLDER_PID\b/pid=PID/g; s/^([0-9]+ +1001 +)$HOLDER_PID /\1PID /" "$OUT/$name"
	[ "$status" = 0 ] || { cat "$OUT/$name"; fail "$name: $* exited with $status"; }
	diff -u "$GOLDEN/$name" "$OUT/$name" || differ+=("$name ($*)")
}

# An unprivileged user lists over the private socket, root over the system bus.
check list.txt run_as 1003 1003 "$VFIOCTL" list
check list.txt "$VFIOCTL" --system list
check show-edu.txt "$VFIOCTL" show "$EDU1" "${EDU2#0000:}"
check show-nvme.txt "$VFIOCTL" --system show "$NVME"
check show-e1000e.txt "$VFIOCTL" show "$E1000E"
check show-shared-group.txt "$VFIOCTL" show "$SHARED_EDU"
check holders.txt "$VFIOCTL" holders
[ ${#differ[@]} = 0 ] || fail "differs from the golden file: ${differ[*]}"

# Errors and exit codes of vfioctl(1).
out=$("$VFIOCTL" show 0000:00:1c.0 2>&1) && fail "show of a missing device succeeded: $out"
[ "$out" = "vfioctl: vfiod publishes no device 0000:00:1c.0" ] || fail "missing device: $out"
status=0
"$VFIOCTL" show >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] || fail "show without a device exited with $status, not 2"
status=0
"$VFIOCTL" --address unix:path=/nonexistent list >/dev/null 2>&1 || status=$?
[ "$status" = 1 ] || fail "list without vfiod exited with $status, not 1"
stop_holder
