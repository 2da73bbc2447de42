#!/bin/bash
# vfioctl list, show and holders print exactly what tests/vm/golden says for
# the emulated devices (edu, nvme, e1000e, the bridge group), on the private
# socket and on the system bus alike. Only the holder's pid is normalised (and
# with it the width of the columns, whose alignment is checked on its own).
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

# misaligned FILE: the lines whose fields (separated by two spaces or more)
# start elsewhere than those of the first line.
misaligned() {
	awk '{ s = ""; for (i = 1; i <= length($0); i++)
		if (substr($0, i, 1) != " " && (i == 1 || substr($0, i - 2, 2) == "  ")) s = s " " i
	       if (NR == 1) head = s; else if (s != head) print }' "$1"
}

differ=()
check() { # NAME COMMAND...: runs COMMAND, compares its output with golden/NAME
	local name=$1 status=0
	shift
	"$@" >"$OUT/$name" 2>&1 || status=$?
	[ "$status" = 0 ] || { cat "$OUT/$name"; fail "$name: $* exited with $status"; }
	# The holder's pid sets the width of its column: check the alignment
	# here, then compare with runs of spaces squeezed.
	case $name in list.txt | holders.txt)
		[ -z "$(misaligned "$OUT/$name")" ] || { cat "$OUT/$name"; fail "$name: columns not aligned"; } ;;
	esac
	sed -i -E "s/pid=$HOLDER_PID\b/pid=PID/g; s/^([0-9]+ +1001 +)$HOLDER_PID /\1PID /; s/  +/  /g" "$OUT/$name"
	sed -E 's/  +/  /g' "$GOLDEN/$name" >"$OUT/$name.golden"
	diff -u "$OUT/$name.golden" "$OUT/$name" || differ+=("$name ($*)")
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
