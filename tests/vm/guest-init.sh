#!/bin/bash
# PID 1 of the VM test guest, started by the initramfs' /init through
# switch_root onto the read-only 9p host root. /proc, /sys, /dev (devtmpfs,
# with /dev/pts and /dev/shm), /tmp, /var/tmp, /run and the results share
# (/run/vmtest/results) are mounted, the modules are loaded.
#
# Reads /run/vmtest/results/vm.conf (written by run-vm.sh):
#	SOURCE_DIR BUILD_DIR       source and build trees (same paths as on the host)
#	VM_MODE               tests | demo | shell
#	VM_TESTS              tests mode: names of tests/vm/guest/NAME.sh to run
#	VM_GUEST_DIR          tests mode: where NAME.sh are (default tests/vm/guest)
#	VM_TEST_TIMEOUT       tests mode: seconds per test
# then sets up the guest, binds the devices to the plan in lib.sh, runs the
# mode and powers off.
#
# Results, per test: results/NAME.log (combined output; on failure followed by
# the test's artifacts and new kernel messages) and results/NAME.status
# ("pass|fail|skip EXIT_CODE SECONDS [reason]"). results/vm.booted and
# results/vm.done mark the start and the end of the run.
#
# This is PID 1: it must never exit, so it does not use set -e; everything that
# may fail (lib.sh helpers call exit) runs in a subshell.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C.UTF-8
export PATH LC_ALL
umask 022

RESULTS=/run/vmtest/results
STATE=/run/vmtest

say() {
	local up
	read -r up _ </proc/uptime
	echo "vm[$up]: $*"
}

now_us() {
	echo "${EPOCHREALTIME/./}"
}

# seconds since START_US with 2 decimals
elapsed() {
	local d=$(($(now_us) - $1))
	printf '%d.%02d' $((d / 1000000)) $((d % 1000000 / 10000))
}

power_off() {
	sync
	/bin/busybox umount "$RESULTS" 2>/dev/null
	# busybox-static's poweroff -f calls reboot(2) directly; sysrq as fallback.
	/bin/busybox poweroff -f
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
}

if [ $$ -ne 1 ]; then
	echo "guest-init.sh runs as PID 1 in the test VM only" >&2
	exit 1
fi

boot_us=$(now_us)
# shellcheck source=/dev/null
if ! . "$RESULTS/vm.conf"; then
	say "cannot read $RESULTS/vm.conf"
	power_off
fi
VM_LIB=$SOURCE_DIR/tests/vm/lib.sh
VM_ARTIFACTS=$STATE/artifacts
export SOURCE_DIR BUILD_DIR VM_LIB VM_ARTIFACTS
echo "uptime $(</proc/uptime)" >"$RESULTS/vm.booted"

# --- one-time setup --------------------------------------------------------

# The initramfs mounted the file systems and loaded the modules; check, and
# load what is missing with the host's modprobe.
setup_system() {
	local m
	for m in overlay vfio_pci vfio_iommu_type1 e1000e e1000; do
		[ -d "/sys/module/$m" ] || modprobe "$m" || say "cannot load module $m"
	done
}

# --- per-test state --------------------------------------------------------

# sleep without an exec (every exec costs 50-150 ms under TCG)
nap() {
	read -r -t "$1" _ <> <(:)
}

# Processes other than PID 1 and this shell (kernel threads have no exe,
# zombies neither).
user_processes() {
	local p
	for p in /proc/[0-9]*; do
		case ${p#/proc/} in 1 | "$BASHPID") continue ;; esac
		[ -e "$p/exe" ] && return 0
	done
	return 1
}

# SIGTERM, then SIGKILL, every process but PID 1.
kill_everything() {
	local sig i
	for sig in TERM KILL; do
		kill -"$sig" -1 2>/dev/null
		for ((i = 0; i < 40; i++)); do
			wait 2>/dev/null
			user_processes || return 0
			nap 0.05
		done
	done
	echo "vm: processes survive SIGKILL:"
	ps -ef
	return 1
}

# util-linux mount and umount take ~1 s each in this guest, busybox's 50 ms.
bb_mount() {
	/bin/busybox mount "$@"
}

bb_umount() {
	/bin/busybox umount "$@"
}

# children DIR EXCLUDED...: add DIR's entries but the EXCLUDED paths to the
# array "dirty" (no exec).
children() {
	local dir=$1 e x
	shift
	for e in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		for x in "$@"; do
			[ "$e" = "$x" ] && continue 2
		done
		dirty+=("$e")
	done
}

# Source and build trees under /tmp, /var/tmp or /run are bound in by the
# initramfs (CI may clone there): the reset must leave their top entries alone.
KEEP=()
for d in "$SOURCE_DIR" "$BUILD_DIR"; do
	case $d in
	/tmp/* | /var/tmp/* | /run/*)
		rel=${d#/tmp/}
		[ "$rel" != "$d" ] || rel=${d#/var/tmp/}
		[ "$rel" != "$d" ] || rel=${d#/run/}
		KEEP+=("${d%"/$rel"}/${rel%%/*}")
		;;
	esac
done

# Back to the start state: empty /tmp, /var/tmp, /dev/shm and /run (but
# /run/vmtest), a fresh writable overlay on /etc, the device plan. A test that
# leaves a mount under them makes this fail (find cannot remove it). Only
# what changed is redone: every exec costs under TCG.
# Runs in a subshell: lib.sh helpers exit on failure.
reset_state() {
	local dirty=()
	if etc_dirty; then
		fresh_etc || return 1
	fi
	children /tmp "${KEEP[@]}"
	children /var/tmp "${KEEP[@]}"
	children /dev/shm
	children /run /run/vmtest "${KEEP[@]}"
	children "$STATE" "$RESULTS" "$STATE/etc" "$STATE/etc.stamp" "$VM_ARTIFACTS" "$STATE/guest-init.trace"
	children "$VM_ARTIFACTS"
	if [ ${#dirty[@]} -gt 0 ]; then
		find "${dirty[@]}" -xdev -depth -delete || return 1
	fi
	[ -d "$VM_ARTIFACTS" ] || mkdir -p "$VM_ARTIFACTS" || return 1
	(
		# shellcheck source=tests/vm/lib.sh
		. "$VM_LIB"
		apply_plan
	)
}

# Test uids: plain numbers, but dbus-daemon refuses connections from uids
# without a passwd entry (it cannot look up their groups). So 1001-1009 get
# entries (vm1001:x:1001:1001:...) unless the host's /etc has them already.
TEST_UIDS=(1001 1002 1003 1004 1005 1006 1007 1008 1009)

add_test_users() {
	local uid name rest known=" "
	while IFS=: read -r name _ uid rest; do
		known+="$uid "
	done </etc/passwd
	for uid in "${TEST_UIDS[@]}"; do
		[[ $known == *" $uid "* ]] && continue
		echo "vm$uid:x:$uid:$uid:vfiod VM test user:/nonexistent:/usr/sbin/nologin" >>/etc/passwd
		echo "vm$uid:x:$uid:" >>/etc/group
	done
}

# A fresh writable /etc: an overlay with a tmpfs upper layer on the host's.
fresh_etc() {
	bb_umount -l /etc 2>/dev/null
	if [ -e "$STATE/etc" ]; then
		rm -rf "${STATE:?}/etc" || return 1
	fi
	mkdir -p "$STATE/etc/upper" "$STATE/etc/work" || return 1
	bb_mount -t overlay -o "lowerdir=/etc,upperdir=$STATE/etc/upper,workdir=$STATE/etc/work" \
		overlay /etc || return 1
	add_test_users || return 1
	: >"$STATE/etc.stamp"
}

# true unless /etc is our overlay holding only the passwd and group entries
# fresh_etc added
etc_dirty() {
	local e
	mountpoint_etc || return 0
	for e in "$STATE/etc/upper"/* "$STATE/etc/upper"/.[!.]* "$STATE/etc/upper"/..?*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		case ${e##*/} in
		passwd | group) [ "$e" -nt "$STATE/etc.stamp" ] && return 0 ;;
		*) return 0 ;;
		esac
	done
	return 1
}

# true if /etc is our overlay
mountpoint_etc() {
	local mnt type
	while read -r _ mnt type _; do
		[ "$mnt" = /etc ] && [ "$type" = overlay ] && return 0
	done </proc/mounts
	return 1
}

# cleanup: after a test (or the demo), kill everything and reset; output on
# stdout, fails if the state could not be restored.
cleanup() {
	kill_everything && reset_state
}

# --- modes -----------------------------------------------------------------

# run_test NAME: run tests/vm/guest/NAME.sh, write NAME.log and NAME.status.
run_test() {
	local name=$1 file log status start kstart rc result reason=""
	file=${VM_GUEST_DIR:-$SOURCE_DIR/tests/vm/guest}/$name.sh
	log=$RESULTS/$name.log
	status=$RESULTS/$name.status

	[ -z "${VM_DEBUG:-}" ] || say "$name: start"
	read -r kstart _ </proc/uptime
	start=$(now_us)
	(
		cd /tmp || exit 1
		export VM_TEST=$name
		if [ -x "$file" ]; then
			exec timeout -k 5 "$VM_TEST_TIMEOUT" "$file"
		else
			exec timeout -k 5 "$VM_TEST_TIMEOUT" bash "$file"
		fi
	) >"$log" 2>&1 </dev/null
	rc=$?
	case $rc in
	0) result=pass ;;
	77) result=skip ;;
	124 | 137)
		result=fail
		reason="timeout after $VM_TEST_TIMEOUT s"
		;;
	*) result=fail ;;
	esac
	[ -z "${VM_DEBUG:-}" ] || say "$name: exit $rc, cleanup"
	if [ "$result" = fail ]; then
		{
			[ -z "$reason" ] || echo "vm: $name: $reason"
			for f in "$VM_ARTIFACTS"/*; do
				[ -f "$f" ] || continue
				echo "--- artifact ${f##*/}"
				cat "$f"
			done
			echo "--- kernel messages since the test started ($kstart s)"
			dmesg | awk -v t="$kstart" '{ s = $0; sub(/^\[ */, "", s); if (s + 0 >= t) print }'
		} >>"$log" 2>&1
	fi
	if ! cleanup >>"$log" 2>&1; then
		echo "vm: the harness could not restore the start state after this test" >>"$log"
		result=fail
		reason="${reason:+$reason, }left a state the harness could not clean up"
	fi
	echo "$result $rc $(elapsed "$start")${reason:+ $reason}" >"$status"
	say "$name: $result $rc $(elapsed "$start")${reason:+ ($reason)}"
}

run_tests() {
	local name out=$RESULTS/setup.log
	if ! cleanup >"$out" 2>&1; then
		say "cannot set up the start state:"
		cat "$out"
		for name in $VM_TESTS; do
			{
				echo "vm: cannot set up the start state before the first test:"
				cat "$out"
			} >"$RESULTS/$name.log"
			echo "fail 1 0.00 no start state" >"$RESULTS/$name.status"
		done
		return
	fi
	for name in $VM_TESTS; do
		run_test "$name"
	done
}

# demo/shell: output to the console; status in results/MODE.status.
run_console() {
	local rc
	if ! cleanup; then
		say "could not set up the start state"
		echo "fail 1" >"$RESULTS/$VM_MODE.status"
		return
	fi
	cd /tmp || return
	if [ "$VM_MODE" = demo ]; then
		"$SOURCE_DIR/tests/vm/guest-demo.sh"
	else
		say "interactive shell with lib.sh loaded; exit it to power off"
		# lib.sh turns on set -e, which would end an interactive shell at
		# the first failing command
		printf '%s\n' ". \"\$VM_LIB\"" "set +euo pipefail" "trap - ERR" >"$STATE/shellrc"
		setsid -c bash --rcfile "$STATE/shellrc" -i <>/dev/ttyS0 >&0 2>&0
	fi
	rc=$?
	cd / || return
	echo "$([ "$rc" -eq 0 ] && echo pass || echo fail) $rc" >"$RESULTS/$VM_MODE.status"
	kill_everything
}

if [ "${VM_DEBUG:-}" = 2 ]; then
	# trace guest-init with timestamps into the results
	exec {BASH_XTRACEFD}>"$STATE/guest-init.trace"
	PS4='+${EPOCHREALTIME} '
	set -x
fi
setup_system
say "guest ready after $(elapsed "$boot_us") s"
case $VM_MODE in
tests) run_tests ;;
demo | shell) run_console ;;
*) say "unknown VM_MODE '$VM_MODE'" ;;
esac
echo "uptime $(</proc/uptime)" >"$RESULTS/vm.done"
[ "${VM_DEBUG:-}" != 2 ] || cp "$STATE/guest-init.trace" "$RESULTS/"
say "done after $(elapsed "$boot_us") s"
power_off
