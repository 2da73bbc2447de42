#!/bin/bash
# vfiod's system call filter on the real kernel. The LD_PRELOAD shim of the
# unit test (tests/unit/seccomp-probe.c) runs inside vfiod after the filter:
# execve, socket(AF_INET), ptrace, non-VFIO ioctls... fail with EPERM, the
# needed calls work, and vfiod then claims a device as usual. The kernel logs
# each refused call as an audit record of type SECCOMP (1326); with no auditd
# it goes to the kernel log (rate-limited: 10 lines per 5 s), audit enabled
# or not. Last in tests.list: no test before it, all run with the filter,
# may have made vfiod hit it.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

SHIM=$BUILD_DIR/tests/unit/seccomp-probe.so
FORBIDDEN=(execve socket-inet socket-netlink ptrace ioctl-fionbio ioctl-tiocgwinsz
	x32-getpid mmap-exec mprotect-exec fork kill pidfd_getfd prlimit-nofile)
MARKER="vfiod-test: seccomp probes start"

# vfiod_records: the kernel's SECCOMP records of vfiod in this boot.
vfiod_records() {
	dmesg | grep 'type=1326' | grep 'comm="vfiod"' || true
}

earlier=$(vfiod_records)
[ -z "$earlier" ] || fail "vfiod hit its filter in an earlier test of this boot: $earlier"

echo "$MARKER" >/dev/kmsg
export LD_PRELOAD=$SHIM SECCOMP_PROBE_OUTPUT=/tmp/probe.txt
start_broker
unset LD_PRELOAD SECCOMP_PROBE_OUTPUT
wait_until 10 grep -q '^done$' /tmp/probe.txt || fail "the probe did not run: $(cat /tmp/probe.txt)"
for name in "${FORBIDDEN[@]}"; do
	result=$(sed -n "s/^$name //p" /tmp/probe.txt)
	[ "$result" = EPERM ] || fail "$name: '$result', expected EPERM"
done
grep -q '^ioctl-vfio ENOTTY$' /tmp/probe.txt || fail "a VFIO ioctl did not reach the driver"
grep -q '^pidfd_send_signal ok$' /tmp/probe.txt || fail "pidfd_send_signal refused"
out=$(run_as 1001 1001 "$PROBE" claim "$EDU1") || fail "claim under the filter: $out"
grep -q "^id 0x010000ed" <<<"$out" || fail "id register under the filter"
stop_vfiod || fail "vfiod did not exit cleanly"

records=$(dmesg | sed -n "/$MARKER/,\$p" | grep 'type=1326' | grep 'comm="vfiod"' || true)
note "kernel log after the probes:"
echo "$records"
# x86_64: execve 59, socket 41, ptrace 101; code 0x50000 is SECCOMP_RET_ERRNO.
for nr in 59 41 101; do
	grep -q "arch=c000003e syscall=$nr compat=0 .*code=0x50000" <<<"$records" ||
		fail "no SECCOMP record of system call $nr"
done
