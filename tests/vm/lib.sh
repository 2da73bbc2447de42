# Guest-side helpers for the VM tests (bash). A test starts with
#
#	#!/bin/bash
#	. "$VM_LIB"
#
# Sourcing turns on `set -euo pipefail` and an ERR trap that names the failing
# line. guest-init.sh sources it too (for the device plan and the bind helpers).
#
# Environment the runner gives every test:
#	SOURCE_DIR    source tree (read-only, same path as on the host)
#	BUILD_DIR     build tree (read-only, same path as on the host)
#	VM_LIB        this file
#	VM_TEST       the test's name
#	VM_ARTIFACTS  directory for extra logs; its files are appended to the
#	              test's log when the test fails (start_vfiod and
#	              start_system_bus log there)
#
# Each test starts from the device plan below with no vfiod, no dbus-daemon,
# empty /tmp, /run (but /run/vmtest), /var/tmp, /dev/shm and a fresh writable
# overlay on /etc, where uids 1001-1009 have passwd/group entries (vm1001...):
# dbus-daemon refuses connections from uids without one.

set -euo pipefail
trap 'echo "${BASH_SOURCE[0]}:${LINENO}: \"${BASH_COMMAND}\" failed (exit $?)" >&2' ERR

# These helpers mount, bind drivers and start daemons: never on the host.
[ -e /run/vmtest/results/vm.conf ] || {
	echo "${BASH_SOURCE[0]}: not inside the test VM (no /run/vmtest/results/vm.conf)" >&2
	exit 1
}
: "${SOURCE_DIR:?SOURCE_DIR not set}"
: "${BUILD_DIR:?BUILD_DIR not set}"
: "${VM_ARTIFACTS:=/run/vmtest/artifacts}"
export VM_ARTIFACTS

# --- the device plan -------------------------------------------------------
# Fixed by the qemu command line in run-vm.sh; measured numbers in README.md.
# Guest addresses (canonical DDDD:BB:DD.F):
# shellcheck disable=SC2034 # for the tests
EDU1=0000:00:02.0
EDU2=0000:00:03.0
EDU3=0000:00:04.0
# shellcheck disable=SC2034
EDUS=("$EDU1" "$EDU2" "$EDU3")
NVME=0000:00:05.0
E1000E=0000:00:06.0
# shellcheck disable=SC2034
BRIDGE=0000:00:07.0     # conventional pci-bridge, secondary bus 01, no driver
SHARED_EDU=0000:01:01.0 # behind BRIDGE: one IOMMU group with SHARED_NIC
SHARED_NIC=0000:01:02.0 # (and BRIDGE itself); an e1000
# The driver each device is bound to at the start of every test.
VM_PLAN=(
	"$EDU1 vfio-pci"
	"$EDU2 vfio-pci"
	"$EDU3 vfio-pci"
	"$NVME vfio-pci"
	"$E1000E e1000e"
	"$SHARED_EDU vfio-pci"
	"$SHARED_NIC e1000"
)

VFIOD_SOCKET=/run/vfiod/broker.sock
VFIOD_BIN=$BUILD_DIR/daemon/vfiod
VM_CONNECT=$BUILD_DIR/tests/vm/vm-connect
DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
export DBUS_SYSTEM_BUS_ADDRESS

_vm_pids=/run/vmtest/pids

# --- results ---------------------------------------------------------------

# fail MSG...: print "FAIL: MSG" and exit 1. Inside $(...) it only ends the
# subshell, so call it from the test's own shell.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# skip MSG...: the test cannot run here (a genuine reason only); exit 77.
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# note MSG...: progress output for the test log.
note() {
	echo "# $*"
}

# vm_sleep SECONDS: sleep (fractions allowed) without an exec, which costs
# 50-150 ms under TCG: a read with a timeout on a pipe that stays empty.
vm_sleep() {
	read -r -t "$1" _ <> <(:) || true
}

# wait_until SECONDS CMD...: run CMD every 50 ms until it succeeds (0) or
# SECONDS pass (1).
wait_until() {
	local limit=$1 end
	shift
	end=$((${EPOCHREALTIME/./} + limit * 1000000))
	until "$@"; do
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		vm_sleep 0.05
	done
}

# --- PCI devices -----------------------------------------------------------

# _vm_driver BDF: sets _vm_r to BDF's driver name ("" if unbound), no fork.
_vm_driver() {
	local line
	_vm_r=
	[ -e "/sys/bus/pci/devices/$1" ] || { echo "no PCI device $1" >&2; return 1; }
	while read -r line; do
		case $line in DRIVER=*) _vm_r=${line#DRIVER=} ;; esac
	done <"/sys/bus/pci/devices/$1/uevent"
}

# _vm_group BDF: sets _vm_r to BDF's IOMMU group number, no fork.
_vm_group() {
	local link=/sys/bus/pci/devices/$1/iommu_group g
	_vm_r=
	[ -e "/sys/bus/pci/devices/$1" ] || { echo "no PCI device $1" >&2; return 1; }
	[ -e "$link" ] || { echo "$1 has no IOMMU group" >&2; return 1; }
	for g in /sys/kernel/iommu_groups/*; do
		if [ "$link" -ef "$g" ]; then
			_vm_r=${g##*/}
			return 0
		fi
	done
	echo "$1: IOMMU group not found" >&2
	return 1
}

# driver_of BDF: prints the bound driver's name, or nothing if unbound.
driver_of() {
	_vm_driver "$1" || return 1
	[ -z "$_vm_r" ] || echo "$_vm_r"
}

# group_of BDF: prints the IOMMU group number (fails if there is none).
group_of() {
	_vm_group "$1" || return 1
	echo "$_vm_r"
}

# group_members GROUP: prints the addresses in IOMMU group GROUP, one a line.
group_members() {
	local f
	for f in "/sys/kernel/iommu_groups/$1/devices/"*; do
		[ -e "$f" ] && echo "${f##*/}"
	done
}

# unbind BDF: detach BDF from its driver, if any.
unbind() {
	_vm_driver "$1" || return 1
	[ -z "$_vm_r" ] || echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
}

# bind_vfio BDF: bind BDF to vfio-pci (driver_override + drivers_probe) and
# wait for /dev/vfio/GROUP. Fails if that does not happen.
bind_vfio() {
	local bdf=$1
	_vm_driver "$bdf" || fail "bind_vfio: no PCI device $bdf"
	[ -d /sys/bus/pci/drivers/vfio-pci ] || modprobe vfio-pci
	echo vfio-pci >"/sys/bus/pci/devices/$bdf/driver_override"
	if [ "$_vm_r" != vfio-pci ]; then
		unbind "$bdf"
		echo "$bdf" >/sys/bus/pci/drivers_probe
		_vm_driver "$bdf"
		[ "$_vm_r" = vfio-pci ] || fail "bind_vfio $bdf: bound to '$_vm_r', not vfio-pci"
	fi
	_vm_group "$bdf" || fail "bind_vfio $bdf: no IOMMU group"
	wait_until 5 test -c "/dev/vfio/$_vm_r" || fail "bind_vfio $bdf: /dev/vfio/$_vm_r did not appear"
}

# bind_host BDF DRIVER: clear driver_override and bind BDF to the host driver
# DRIVER (loading its module), through DRIVER's bind file.
bind_host() {
	local bdf=$1 drv=$2
	_vm_driver "$bdf" || fail "bind_host: no PCI device $bdf"
	echo >"/sys/bus/pci/devices/$bdf/driver_override"
	if [ "$_vm_r" != "$drv" ]; then
		unbind "$bdf"
		[ -d "/sys/bus/pci/drivers/$drv" ] || modprobe "$drv"
		echo "$bdf" >"/sys/bus/pci/drivers/$drv/bind" || fail "bind_host $bdf $drv: bind failed"
		_vm_driver "$bdf"
		[ "$_vm_r" = "$drv" ] || fail "bind_host $bdf $drv: bound to '$_vm_r'"
	fi
}

# apply_plan: bind every device of VM_PLAN to its planned driver.
apply_plan() {
	local entry bdf drv
	for entry in "${VM_PLAN[@]}"; do
		read -r bdf drv <<<"$entry"
		if [ "$drv" = vfio-pci ]; then
			bind_vfio "$bdf"
		else
			bind_host "$bdf" "$drv"
		fi
	done
}

# --- users -----------------------------------------------------------------

# run_as UID GID CMD...: run CMD with uid and gid UID/GID and no
# supplementary groups. No passwd entry is needed.
run_as() {
	local uid=$1 gid=$2
	shift 2
	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
}

# run_as_groups UID GID GROUPS CMD...: like run_as with the supplementary
# groups GROUPS (comma-separated gids).
run_as_groups() {
	local uid=$1 gid=$2 groups=$3
	shift 3
	setpriv --reuid="$uid" --regid="$gid" --groups="$groups" -- "$@"
}

# add_user NAME UID GID: give UID a passwd and group entry in the writable /etc
# overlay (1001-1009 have one already).
add_user() {
	echo "$1:x:$2:$3::/nonexistent:/usr/sbin/nologin" >>/etc/passwd
	grep -q "^[^:]*:[^:]*:$3:" /etc/group || echo "$1:x:$3:" >>/etc/group
}

# --- daemons ---------------------------------------------------------------

# _vm_alive PID: true if PID exists and is not a zombie.
_vm_alive() {
	local state
	# Not $(<file): under set -e, bash 5.2 exits the whole shell when that
	# redirection fails, and the process may exit between a check and the read.
	{ read -r state <"/proc/$1/stat"; } 2>/dev/null || return 1
	state=${state##*) }
	[ "${state%% *}" != Z ]
}

# socket_accepts PATH: true if a UNIX stream socket at PATH accepts a connection.
socket_accepts() {
	"$VM_CONNECT" "$1"
}

# _vm_start NAME SOCKET CMD...: start CMD in the background (stdout and stderr
# to $VM_ARTIFACTS/NAME.log), wait up to $VM_START_TIMEOUT s (default 20) for
# SOCKET to accept connections; on failure print the log and fail.
_vm_start() {
	local name=$1 sock=$2 pid log limit=${VM_START_TIMEOUT:-20} end
	shift 2
	log=$VM_ARTIFACTS/$name.log
	mkdir -p "$VM_ARTIFACTS" "$_vm_pids"
	if [ -e "$_vm_pids/$name" ] && _vm_alive "$(<"$_vm_pids/$name")"; then
		fail "$name is already running"
	fi
	"$@" >>"$log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$_vm_pids/$name"
	end=$((${EPOCHREALTIME/./} + limit * 1000000))
	until socket_accepts "$sock" 2>/dev/null; do
		if ! _vm_alive "$pid"; then
			wait "$pid" && r=0 || r=$?
			echo "--- $log" >&2
			cat "$log" >&2
			fail "$name exited (status $r) before $sock accepted connections"
		fi
		if [ "${EPOCHREALTIME/./}" -ge "$end" ]; then
			kill -KILL "$pid" 2>/dev/null || true
			echo "--- $log" >&2
			cat "$log" >&2
			fail "$name: $sock did not accept connections within $limit s"
		fi
		vm_sleep 0.05
	done
}

# _vm_stop NAME: SIGTERM the daemon NAME, wait up to 10 s, then SIGKILL.
# Returns its exit status; 1 if it had to be killed or was not running.
_vm_stop() {
	local name=$1 pid i r
	[ -e "$_vm_pids/$name" ] || { echo "$name is not running" >&2; return 1; }
	pid=$(<"$_vm_pids/$name")
	rm -f "$_vm_pids/$name"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		_vm_alive "$pid" || break
		vm_sleep 0.05
	done
	if _vm_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		echo "$name (pid $pid) ignored SIGTERM for 10 s: killed" >&2
		return 1
	fi
	# Our child unless started from another shell: then the status is lost.
	wait "$pid" 2>/dev/null && r=0 || r=$?
	[ "$r" -ne 127 ] || r=0
	return "$r"
}

# start_system_bus: start a dbus-daemon on the standard system bus socket
# /run/dbus/system_bus_socket with tests/vm/system-bus.conf (root may own
# io.vfiod.Broker1; anyone may talk to it). Log: $VM_ARTIFACTS/dbus-daemon.log.
start_system_bus() {
	mkdir -p /run/dbus
	_vm_start dbus-daemon /run/dbus/system_bus_socket \
		dbus-daemon --nofork --nopidfile --nosyslog \
		--config-file="$SOURCE_DIR/tests/vm/system-bus.conf"
}

# stop_system_bus: stop the dbus-daemon start_system_bus started.
stop_system_bus() {
	_vm_stop dbus-daemon
}

# start_vfiod ARGS...: start $BUILD_DIR/daemon/vfiod ARGS... in the background
# (output to $VM_ARTIFACTS/vfiod.log) and wait until /run/vfiod/broker.sock
# accepts connections; fails after $VM_START_TIMEOUT s (default 20) printing
# the log.
start_vfiod() {
	[ -x "$VFIOD_BIN" ] || fail "$VFIOD_BIN not built"
	_vm_start vfiod "$VFIOD_SOCKET" "$VFIOD_BIN" "$@"
}

# vfiod_pid: print the pid of the vfiod start_vfiod started; fails if it is
# not running.
vfiod_pid() {
	local pid
	[ -e "$_vm_pids/vfiod" ] || { echo "vfiod was not started" >&2; return 1; }
	pid=$(<"$_vm_pids/vfiod")
	_vm_alive "$pid" || { echo "vfiod (pid $pid) is not running" >&2; return 1; }
	echo "$pid"
}

# start_udevd: start systemd-udevd, which vfiod's device monitor listens to,
# with module autoloading masked (it would bind host drivers behind the
# plan's back). Waits for its control socket. Log: $VM_ARTIFACTS/udevd.log.
start_udevd() {
	mkdir -p /etc/udev/rules.d "$VM_ARTIFACTS"
	ln -sf /dev/null /etc/udev/rules.d/80-drivers.rules
	/lib/systemd/systemd-udevd --resolve-names=never >>"$VM_ARTIFACTS/udevd.log" 2>&1 </dev/null &
	wait_until 10 test -S /run/udev/control || fail "systemd-udevd did not start"
}

# stop_vfiod: SIGTERM vfiod and wait for it (10 s, then SIGKILL). Returns the
# daemon's exit status (0 on a clean shutdown).
stop_vfiod() {
	_vm_stop vfiod
}

# start_polkitd: start the host's polkitd on the test system bus
# (start_system_bus first) with vfiod's actions from the source tree and the
# rules in /etc/polkit-1/rules.d (writable /etc overlay). polkitd reads its
# actions only from /usr/share/polkit-1/actions, which is the host's read-only
# root here: it runs in its own mount namespace (unshare -m) where a tmpfs copy
# with io.vfiod.policy added is bind-mounted over that directory. Skips (77)
# when polkitd is not installed. Log: $VM_ARTIFACTS/polkitd.log.
start_polkitd() {
	local actions=/run/polkit-test-actions
	[ -x /usr/lib/polkit-1/polkitd ] || skip "polkitd is not installed (tools/install-deps)"
	mkdir -p "$actions" /etc/polkit-1/rules.d "$VM_ARTIFACTS"
	cp /usr/share/polkit-1/actions/*.policy "$actions"/ 2>/dev/null || true
	cp "$SOURCE_DIR/policy/io.vfiod.policy" "$actions"/
	mkdir -p "$_vm_pids"
	unshare -m --propagation private sh -c \
		"mount --bind $actions /usr/share/polkit-1/actions && exec /usr/lib/polkit-1/polkitd" \
		>>"$VM_ARTIFACTS/polkitd.log" 2>&1 </dev/null &
	echo $! >"$_vm_pids/polkitd"
	# Not `busctl status`: it fails without logind. polkitd drops to its
	# user and owns the name as the bus policy allows the polkitd user.
	wait_until 10 polkitd_owns_name ||
		{ cat "$VM_ARTIFACTS/polkitd.log" >&2; fail "polkitd did not take its bus name"; }
}

# polkitd_owns_name: whether org.freedesktop.PolicyKit1 has an owner.
polkitd_owns_name() {
	[ "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus NameHasOwner s org.freedesktop.PolicyKit1 2>/dev/null)" = "b true" ]
}

# stop_polkitd: stop the polkitd start_polkitd started.
stop_polkitd() {
	local r=0
	# polkitd has no SIGTERM handler: dying of it (128 + 15) is its clean exit.
	_vm_stop polkitd || r=$?
	[ "$r" -eq 0 ] || [ "$r" -eq 143 ]
}
