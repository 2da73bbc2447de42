#!/bin/bash
# run-vm.sh --build DIR [options] [TEST...]
#
# Boots the VM test guest once (qemu TCG, q35, virtual Intel IOMMU, the fixed
# device set below, the host root over 9p) and runs guest tests, the demo or a
# shell in it. The guest powers off at the end; qemu is killed after
# --timeout seconds.
#
#   --build DIR      meson build directory (required)
#   --src DIR        source tree (default: the one holding this script)
#   --results DIR    results share (default: BUILD/tests/vm/results); emptied
#   --console FILE   console log (default: RESULTS/../console.log)
#   --mode MODE      tests (default) | demo | shell
#   --timeout SEC    whole run (default: $VFIOD_VM_TIMEOUT or 1500)
#   --test-timeout SEC   per guest test (default 480)
#   --quiet          do not print the per-test summary
#   --guest-dir DIR  where the guest scripts NAME.sh are (default: tests/vm/guest;
#                    tools/bench passes bench/vm/guest)
#
# Only one VM runs at a time on the machine (flock on /tmp/vfiod-vm.lock,
# or $VFIOD_VM_LOCK). TESTS default to all of tests/vm/tests.list. Console: RESULTS/../console.log
# (tests mode: only there; demo/shell: also on the terminal). Exit status: 0
# if the guest ran to its end (test results are in RESULTS/NAME.status), 1 if
# it did not boot, timed out or crashed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh
. "$here/host-lib.sh"

build=
src=$(cd "$here/../.." && pwd)
results=
console=
mode=tests
timeout=${VFIOD_VM_TIMEOUT:-1500}
test_timeout=480
quiet=0
guest_dir=
tests=()

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--src) src=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--console) console=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--test-timeout) test_timeout=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--guest-dir) guest_dir=$2; shift 2 ;;
	--) shift; tests+=("$@"); break ;;
	-*) vm_die "unknown option $1" ;;
	*) tests+=("$1"); shift ;;
	esac
done
[ -n "$build" ] || vm_die "--build DIR is required"
build=$(cd "$build" && pwd)
src=$(cd "$src" && pwd)
if [ -n "$guest_dir" ]; then
	guest_dir=$(cd "$guest_dir" && pwd)
else
	guest_dir=$src/tests/vm/guest
fi
[ -n "$results" ] || results=$build/tests/vm/results
case $mode in tests | demo | shell) ;; *) vm_die "unknown --mode $mode" ;; esac
[[ $timeout =~ ^[1-9][0-9]*$ ]] || vm_die "bad --timeout $timeout"
[[ $test_timeout =~ ^[1-9][0-9]*$ ]] || vm_die "bad --test-timeout $test_timeout"
if [ ${#tests[@]} -eq 0 ] && [ "$mode" = tests ]; then
	mapfile -t tests < <(vm_list_tests "$src")
fi
for t in "${tests[@]}"; do
	[[ $t =~ ^[A-Za-z0-9_.-]+$ ]] || vm_die "bad test name '$t'"
	[ -f "$guest_dir/$t.sh" ] || vm_die "no test $guest_dir/$t.sh"
done

vm_need_cmd qemu-system-x86_64 qemu-system-x86
vm_need_cmd timeout coreutils
[ -x /bin/busybox ] || vm_die "/bin/busybox missing: install the Debian package busybox-static"
kernel=$(vm_find_kernel) || exit 1
kver=$(vm_kernel_version "$kernel")
[ -d "/lib/modules/$kver/kernel/drivers/vfio" ] || vm_die "kernel $kver has no VFIO modules"

vmdir=$build/tests/vm
mkdir -p "$vmdir"
initrd=$vmdir/initramfs.img
"$here/mkinitramfs.sh" "$initrd" "$kver"

# The results share: emptied, so nothing from an earlier run can be mistaken
# for a result of this one.
rm -rf "$results"
mkdir -p "$results"
[ -n "$console" ] || console=$(dirname "$results")/console.log
mkdir -p "$(dirname "$console")"
# write_conf TEST...: the guest's instructions for one boot.
write_conf() {
	{
		echo "SOURCE_DIR=$(vm_quote "$src")"
		echo "BUILD_DIR=$(vm_quote "$build")"
		echo "VM_MODE=$mode"
		echo "VM_TESTS='$*'"
		echo "VM_GUEST_DIR=$(vm_quote "$guest_dir")"
		echo "VM_TEST_TIMEOUT=$test_timeout"
		echo "VM_DEBUG=${VFIOD_VM_DEBUG:-}"
	} >"$results/vm.conf"
}
write_conf "${tests[@]}"

# shellcheck disable=SC2054 # qemu options are comma-separated
# The fixed device set. Guest addresses and IOMMU groups are in README.md and
# lib.sh (VM_PLAN); change all three together.
devices=(
	-device intel-iommu
	# three edu: 00:02.0 00:03.0 00:04.0, one group each
	-device edu,addr=02.0
	-device edu,addr=03.0
	-device edu,addr=04.0
	# nvme 00:05.0 on a 64 MiB null block device (reads zeroes, no file)
	-blockdev null-co,node-name=nvm0,size=67108864,read-zeroes=on
	-device nvme,drive=nvm0,serial=vfiod-vm-nvme,addr=05.0
	# e1000e 00:06.0 (its network: slirp, restricted, nothing reachable)
	-netdev user,id=net0,restrict=on
	-device e1000e,netdev=net0,mac=52:54:00:00:00:06,addr=06.0
	# a conventional PCI bridge 00:07.0 (bus 01) with an edu 01:01.0 and an
	# e1000 01:02.0 behind it: one IOMMU group (the bridge is in it too)
	-device pci-bridge,id=br0,chassis_nr=1,shpc=off,addr=07.0
	-device edu,bus=br0,addr=01.0
	-netdev user,id=net1,restrict=on
	-device e1000,netdev=net1,mac=52:54:00:00:01:02,bus=br0,addr=02.0
	# 9p: host root (read-only) 00:10.0, results 00:11.0
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot,addr=10.0
	-fsdev "local,id=results,path=$results,security_model=none"
	-device virtio-9p-pci,fsdev=results,mount_tag=results,addr=11.0
)
case $results in *,*) vm_die "the results path must not contain a comma: $results" ;; esac

# Extra qemu arguments for experiments, split on whitespace.
read -r -a extra <<<"${VFIOD_VM_QEMU_EXTRA:-}"
# shellcheck disable=SC2054
qemu=(
	qemu-system-x86_64
	-M q35 -accel tcg -m 1G -smp 2
	# RDRAND: the kernel's RNG is ready at once. Without it getrandom()
	# (dbus-daemon's GUID, ...) blocks for seconds until the crng is seeded.
	-cpu qemu64,+rdrand
	"${extra[@]}"
	-nodefaults -display none -no-reboot
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 quiet intel_iommu=on panic=-1 no_timer_check"
	"${devices[@]}"
)

# One VM at a time on this machine (2 cores; TCG wants both), whatever the
# build directory: a machine-wide lock, held until qemu exits.
vm_need_cmd flock util-linux
lock=${VFIOD_VM_LOCK:-/tmp/vfiod-vm.lock}
(umask 0; : >>"$lock") 2>/dev/null || true
exec {lockfd}<"$lock" || vm_die "cannot open the lock file $lock"
if ! flock -n "$lockfd"; then
	echo "vm: waiting for another VM run to finish (lock $lock)" >&2
	flock -w 900 "$lockfd" || vm_die "another VM run held $lock for 900 s"
fi

start=$(date +%s.%N)
rc=0
if [ "$mode" = tests ]; then
	# Under TCG on a loaded host the guest kernel has crashed (a timer
	# self-test at boot, a fault in enqueue_timer), which ends every test
	# that had not run yet. If the guest dies before its end (but not at the
	# timeout), it boots once more for the tests without a result, the one
	# that was running included; the first console is kept as CONSOLE.1 and
	# results/vm.resumed says what happened, so every test reports it.
	for attempt in 1 2; do
		rc=0
		timeout -k 10 "$timeout" "${qemu[@]}" -serial stdio \
			</dev/null >"$console" 2>&1 || rc=$?
		[ ! -f "$results/vm.done" ] && [ "$attempt" -eq 1 ] &&
			[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || break
		left=()
		for t in "${tests[@]}"; do
			[ -f "$results/$t.status" ] || left+=("$t")
		done
		mv "$console" "$console.1"
		{
			echo "The first boot of the guest died before its end (qemu status $rc);"
			echo "the guest booted again for: ${left[*]}"
			echo "--- last 30 lines of the first console ($console.1):"
			tail -n 30 "$console.1"
			echo
		} >"$results/vm.resumed"
		echo "vm: the guest died before its end (qemu status $rc, console: $console.1);" \
			"booting again for ${#left[@]} tests without a result" >&2
		rm -f "$results/vm.booted"
		write_conf "${left[@]}"
	done
else
	# Console on the terminal (Ctrl-C ends qemu) and in the log.
	timeout -k 10 --foreground "$timeout" "${qemu[@]}" \
		-chardev "stdio,id=con0,signal=on,logfile=$console" -serial chardev:con0 || rc=$?
	echo
fi
secs=$(echo "$start $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }')

ok=1
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "vm: qemu killed after the timeout of $timeout s (console: $console)" >&2
	ok=0
elif [ "$rc" -ne 0 ]; then
	echo "vm: qemu failed with status $rc (console: $console)" >&2
	ok=0
elif [ ! -f "$results/vm.booted" ]; then
	echo "vm: the guest did not start guest-init.sh (console: $console)" >&2
	ok=0
elif [ ! -f "$results/vm.done" ]; then
	echo "vm: the guest did not run to its end (console: $console)" >&2
	ok=0
fi
echo "vm: qemu ran $secs s" >&2
if [ "$ok" -eq 0 ]; then
	echo "--- last 40 lines of $console" >&2
	tail -n 40 "$console" >&2 || true
	exit 1
fi
if [ "$mode" != tests ]; then
	read -r result _ <"$results/$mode.status" 2>/dev/null || result=fail
	[ "$result" = pass ]
	exit
fi
if [ "$quiet" -eq 0 ]; then
	for t in "${tests[@]}"; do
		if [ -f "$results/$t.status" ]; then
			echo "$t: $(<"$results/$t.status")"
		else
			echo "$t: missing"
		fi
	done
fi
