#!/bin/bash
# vm-test.sh --build DIR --src DIR NAME
#
# One meson test of the vm suite. The VM boots once per `meson test` run: the
# first vm test to get the lock boots it with run-vm.sh, which runs ALL guest
# tests (tests/vm/tests.list), and records the session key; every vm test then
# reports its own result from BUILD/tests/vm/results.
#
# Session key: the pid of our parent (meson's process) and its start time
# (field 22 of /proc/PPID/stat), so a new `meson test` always boots a new VM.
#
# Output: the test's log. Exit: 0 pass, 77 skip (the guest test exited 77),
# 1 fail. A test without a result (the VM did not boot, or died before the
# test ran even after run-vm.sh booted it again) fails and shows the run log
# with the tail of the console.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh
. "$here/host-lib.sh"

build=
src=$(cd "$here/../.." && pwd)
name=
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--src) src=$2; shift 2 ;;
	-*) vm_die "unknown option $1" ;;
	*) [ -z "$name" ] || vm_die "one test name only"; name=$1; shift ;;
	esac
done
[ -n "$build" ] && [ -n "$name" ] || vm_die "usage: vm-test.sh --build DIR [--src DIR] NAME"

vmdir=$build/tests/vm
results=$vmdir/results
session_file=$vmdir/session
run_log=$vmdir/run.log
mkdir -p "$vmdir"

# The session key of this `meson test` run.
session_key() {
	local stat rest
	stat=$(<"/proc/$PPID/stat") || vm_die "cannot read /proc/$PPID/stat"
	rest=${stat##*) } # fields 3.. (the command name may hold spaces and parens)
	read -r -a f <<<"$rest"
	echo "$PPID ${f[19]}" # field 22
}
key=$(session_key)

vm_need_cmd flock util-linux
exec {lockfd}>>"$vmdir/lock"
flock "$lockfd"

if [ ! -f "$session_file" ] || [ "$(head -n 1 "$session_file")" != "$key" ]; then
	rm -f "$session_file"
	echo "vm-test: booting the VM for all vm tests (session $key)" >&2
	run_rc=0
	# No result of an earlier session may be taken for one of this session,
	# even if run-vm.sh stops before it empties the results share.
	rm -rf "$results"
	"$here/run-vm.sh" --build "$build" --src "$src" --results "$results" --quiet \
		>"$run_log" 2>&1 || run_rc=$?
	printf '%s\n%s\n' "$key" "$run_rc" >"$session_file.tmp"
	mv "$session_file.tmp" "$session_file"
fi
run_rc=$(sed -n 2p "$session_file")
flock -u "$lockfd"

log=$results/$name.log
status_file=$results/$name.status

# A test with a result reports it even when the VM died later; the others
# fail with the run log, which ends with the tail of the console.
if [ ! -f "$status_file" ]; then
	[ ! -f "$log" ] || { echo "--- $name.log"; cat "$log"; }
	echo "--- $run_log (run-vm.sh exit $run_rc):"
	cat "$run_log"
	if [ "$run_rc" = 0 ]; then
		echo "vm-test: $name: FAIL (no result: is it in tests/vm/tests.list?)"
	else
		echo "vm-test: $name: FAIL (the VM did not boot or did not run to its end)"
	fi
	exit 1
fi
if [ -f "$results/vm.resumed" ]; then
	echo "--- note: $results/vm.resumed"
	cat "$results/vm.resumed"
	echo "---"
fi

cat "$log" 2>/dev/null || echo "vm-test: $name: no log"
read -r result code secs reason <"$status_file" || true
echo "vm-test: $name: $result (exit $code, $secs s in the guest)${reason:+: $reason}"
case $result in
pass) exit 0 ;;
skip) exit 77 ;;
*) exit 1 ;;
esac
