#!/bin/bash
# The shipped units under a real systemd: systemd runs as PID 1 of a PID
# namespace (container mode; the VM's own PID 1 is guest-init.sh) with
# units/vfiod.socket and the built vfiod.service, hardening and all. Proves
# what the hardening must not break: socket activation and Type=notify, the
# /dev/vfio nodes (a claim in container mode, which raises the client's
# RLIMIT_MEMLOCK with prlimit), CAP_IPC_LOCK (brokered DMA), writing sysfs
# (MayRebind= moves the e1000e to vfio-pci and back), the journal's audit
# fields, reload by SIGHUP, the idle exit with the socket kept by systemd, and
# a claim that survives `systemctl restart` in systemd's fd store.
# The clients run in systemd's PID namespace, so the pids vfiod sees are theirs.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

units=/run/systemd/system
stage=/run/vmtest-units # not /tmp: PrivateTmp= hides it, and CI builds there
mkdir -p "$units" "$stage/policy.d"
cp "$VFIOD_BIN" "$stage/vfiod"
{
	cat "$VFIOD_CONFIG"
	printf '\n[Rule nic-rebind]\nAddresses=%s\nUsers=1001\nMayRebind=yes\n' "$E1000E"
} >"$stage/vfiod.conf"
chmod 0644 "$stage/vfiod.conf"
# The shipped units; only the binary's path and options differ (the policy in
# $stage, no system bus in the guest, a short idle time).
sed -e "s|^ExecStart=.*|ExecStart=$stage/vfiod --config $stage/vfiod.conf --no-system-bus --exit-idle-time=10|" \
	"$BUILD_DIR/units/vfiod.service" >"$units/vfiod.service"
cp "$SOURCE_DIR/units/vfiod.socket" "$units/"
grep -q '^ProtectSystem=strict' "$units/vfiod.service" || fail "not the hardened unit"
# udev would load drivers for every device and rename the NICs behind the plan's back.
for u in systemd-udevd.service systemd-udev-trigger.service systemd-udevd-control.socket \
	systemd-udevd-kernel.socket systemd-udev-settle.service; do
	ln -sf /dev/null "$units/$u"
done
printf '[Unit]\nDescription=vfiod VM test\nDefaultDependencies=no\n' >"$units/vmtest.target"
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "cannot mount cgroup2"

cleanup() {
	[ -z "${SD:-}" ] || kill -KILL "$SD" 2>/dev/null # the namespace's init: all of it goes
	wait 2>/dev/null
	rm -rf "$units" /run/systemd/private /run/systemd/notify "$stage"
}
trap cleanup EXIT

unshare --pid --fork --kill-child --mount-proc env container=vfiod-vmtest \
	/lib/systemd/systemd --system --unit=vmtest.target --log-target=kmsg \
	>"$VM_ARTIFACTS/systemd.log" 2>&1 </dev/null &
sd_pid() { pgrep -f -n '^/lib/systemd/systemd --system'; }
wait_until 60 sd_pid >/dev/null || fail "systemd did not start"
SD=$(sd_pid)
in_ns() { nsenter -t "$SD" -p -m -- "$@"; }
systemctl() { in_ns systemctl "$@"; }
as_user() { in_ns setpriv --reuid="$1" --regid="$1" --clear-groups "${@:2}"; }
journal() { in_ns journalctl --no-pager -u vfiod.service "$@"; }
state() { systemctl show -P ActiveState "$1"; }
state_is() { [ "$(state "$1")" = "$2" ]; }
wait_until 120 systemctl is-system-running --wait >/dev/null ||
	note "system state: $(systemctl is-system-running || true)"

note "socket activation: nothing runs until a client connects"
systemctl start vfiod.socket || fail "vfiod.socket did not start: $(systemctl status vfiod.socket)"
[ "$(stat -c %a "$VFIOD_SOCKET")" = 666 ] || fail "socket mode $(stat -c %a "$VFIOD_SOCKET")"
state_is vfiod.service inactive || fail "vfiod.service runs before any connection"
out=$(as_user 1001 "$VFIOCTL" list) || fail "vfioctl list through the socket: $out"
grep -q "^$EDU1 " <<<"$out" || fail "list lacks $EDU1: $out"
state_is vfiod.service active || fail "vfiod.service is $(state vfiod.service)"
status=$(systemctl show -P StatusText vfiod.service)
# Either line vfiod sends with STATUS=: its counts, or (on a slow guest, after
# the idle time) the one it exits with.
[[ $status == *"claim(s)"* || $status == "Idle, exiting" ]] ||
	fail "no status line from sd_notify: '$status'"

note "claims through the hardened service: container mode (prlimit), brokered DMA (CAP_IPC_LOCK)"
as_user 1001 "$BUILD_DIR/examples/edu-demo" --dma container "$EDU1" >"$VM_ARTIFACTS/container.out" 2>&1 ||
	fail "container-mode demo failed: $(<"$VM_ARTIFACTS/container.out")"
as_user 1002 "$BUILD_DIR/examples/edu-demo" --dma brokered "$EDU2" >"$VM_ARTIFACTS/brokered.out" 2>&1 ||
	fail "brokered demo failed: $(<"$VM_ARTIFACTS/brokered.out")"

note "sysfs writes: MayRebind= moves the e1000e to vfio-pci and back"
as_user 1001 "$VFIOCTL" claim "$E1000E" -- true || fail "claim of the e1000e with MayRebind=yes"
e1000e_back() { [ "$(driver_of "$E1000E")" = e1000e ]; }
wait_until 10 e1000e_back || fail "e1000e not restored: on '$(driver_of "$E1000E")'"

note "the journal has the audit entries with their fields"
claims=$(journal -o verbose MESSAGE_ID=2ddb0948a0a84fdfbe06866f1c533842)
grep -q "^ *DEVICE=$EDU1$" <<<"$claims" || fail "no claim audit entry for $EDU1: $claims"
grep -q "^ *DEVICE=$E1000E$" <<<"$claims" || fail "no claim audit entry for $E1000E: $claims"
grep -q "_SYSTEMD_UNIT=vfiod.service" <<<"$claims" || fail "audit entries not from vfiod.service"
journal -o verbose MESSAGE_ID=e9bb7604ae82419eb733d97ce3f11d6d | grep -q "^ *DEVICE=$E1000E$" ||
	fail "no rebind audit entry"

note "systemctl reload: SIGHUP reloads the policy"
# A connected peer keeps vfiod from its idle exit meanwhile, however slow the guest.
(exec nsenter -t "$SD" -p -m -- setpriv --reuid=1001 --regid=1001 --clear-groups \
	"$PROBE" watch 120 >/tmp/watch.out 2>&1) &
wait_until 30 grep -q watching /tmp/watch.out || fail "no peer to keep vfiod running: $(</tmp/watch.out)"
loads() { journal | grep -c "Policy loaded" || true; }
before=$(loads)
systemctl reload vfiod.service || fail "systemctl reload"
reloaded() { [ "$(loads)" -gt "$before" ]; }
wait_until 10 reloaded || fail "no policy reload in the journal"
pkill -TERM -f "^$PROBE watch 120"

note "idle exit: the service stops, the socket stays, the next client starts it again"
wait_until 60 state_is vfiod.service inactive || fail "vfiod.service still $(state vfiod.service) when idle"
[ "$(systemctl show -P Result vfiod.service)" = success ] ||
	fail "idle exit result: $(systemctl show -P Result vfiod.service)"
state_is vfiod.socket active || fail "vfiod.socket is $(state vfiod.socket)"
out=$(as_user 1001 "$VFIOCTL" show "$EDU1") || fail "show after the idle exit: $out"
state_is vfiod.service active || fail "the next connection did not start vfiod.service"
[ "$(systemctl show -P NRestarts vfiod.service)" = 0 ] || fail "vfiod.service was restarted"

note "systemctl restart with a claim held: systemd's fd store keeps it"
(exec nsenter -t "$SD" -p -m -- setpriv --reuid=1001 --regid=1001 --clear-groups \
	"$PROBE" claim "$EDU3" --dma brokered --hold-across-restart >/tmp/held.out 2>&1) &
wait_until 30 grep -q '^holding' /tmp/held.out || fail "no holder: $(</tmp/held.out)"
grep -q '^dma ok' /tmp/held.out || fail "brokered DMA before the restart: $(</tmp/held.out)"
main_before=$(systemctl show -P MainPID vfiod.service)
systemctl restart vfiod.service || fail "systemctl restart"
[ "$(systemctl show -P MainPID vfiod.service)" != "$main_before" ] || fail "vfiod was not restarted"
journal | grep -q "Claim [0-9]*: restored for uid=1001" || fail "no claim restored from the store"
pkill -USR1 -f "^$PROBE claim $EDU3"
dma_twice() { [ "$(grep -c '^dma ok' /tmp/held.out)" -ge 2 ]; }
wait_until 20 dma_twice || fail "the holder's DMA after the restart: $(</tmp/held.out)"
out=$(as_user 1002 "$PROBE" claim "$EDU3" 2>&1) && fail "uid 1002 got the held $EDU3: $out"
grep -q "io.vfiod.Error.Busy" <<<"$out" || fail "expected Busy after the restart: $out"
pkill -TERM -f "^$PROBE claim $EDU3"
claimable() { as_user 1002 "$PROBE" claim "$EDU3" >/dev/null 2>&1; }
wait_until 20 claimable || fail "$EDU3 not claimable once its restored holder exited"

journal >"$VM_ARTIFACTS/journal.txt"
systemctl stop vfiod.service vfiod.socket || fail "systemctl stop"

if grep -E "seccomp|Operation not permitted|Permission denied|Read-only file system" \
	"$VM_ARTIFACTS/journal.txt"; then
	fail "the hardened service ran into a refusal"
fi
