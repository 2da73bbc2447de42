#!/bin/bash
# Driver rebinding: a claim whose rule says MayRebind=yes takes the e1000e off
# its host driver and gives it back after release and after SIGKILL of the
# holder; without MayRebind it is refused; a group member is moved with the
# device claimed; vfioctl bind/unbind work for root, not for uid 1001 on the
# socket, not for a held or unmanaged device; a failed move (vfio-pci
# unloaded) leaves the device on e1000e.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
conf=/run/vfiod-rebind.conf
cat >"$conf" <<EOF
[Rule nic-rebind]
Addresses=$E1000E
Users=1001
MayRebind=yes

[Rule nic-no-rebind]
Addresses=$E1000E
Users=1002

[Rule shared-group]
Addresses=$SHARED_EDU $SHARED_NIC
Users=1001
MayRebind=yes
EOF
chmod 0644 "$conf"
start_vfiod --no-system-bus --config "$conf" --log-level debug
log=$VM_ARTIFACTS/vfiod.log

driver_is() { # BDF DRIVER ("" for none)
	[ "$(driver_of "$1")" = "$2" ]
}
expect_driver() { # BDF DRIVER WHEN
	wait_until 5 driver_is "$1" "$2" || fail "$3: $1 is on '$(driver_of "$1")', not '$2'"
}
override_of() {
	local v
	v=$(<"/sys/bus/pci/devices/$1/driver_override")
	echo "$v"
}

note "without MayRebind= the e1000e is refused, untouched"
out=$(run_as 1002 1002 "$PROBE" claim "$E1000E") && fail "uid 1002 got the e1000e: $out"
grep -q "io.vfiod.Error.NotVfioDevice" <<<"$out" || fail "expected NotVfioDevice: $out"
driver_is "$E1000E" e1000e || fail "the refused claim moved the e1000e"

note "MayRebind=yes: claim, release, e1000e is back"
# vfioctl, since the probe checks for an edu; `true` has the fds and exits.
run_as 1001 1001 "$VFIOCTL" claim "$E1000E" -- true || fail "uid 1001 could not claim the e1000e"
expect_driver "$E1000E" e1000e "after release"
[ "$(override_of "$E1000E")" = "(null)" ] || fail "driver_override left set: $(override_of "$E1000E")"
grep -q "Rebound $E1000E for uid=1001" "$log" || fail "no audit entry for the rebind"
grep -q "Restored $E1000E for uid=1001" "$log" || fail "no audit entry for the restore"

note "held: on vfio-pci; unbind refused (Busy); SIGKILL of the holder brings e1000e back"
start_holder 1001 "$E1000E" # holds, though the id it reads is not an edu's
driver_is "$E1000E" vfio-pci || fail "held e1000e is on '$(driver_of "$E1000E")'"
out=$("$VFIOCTL" unbind "$E1000E" 2>&1) && fail "unbind of a held device succeeded: $out"
grep -q "io.vfiod.Error.Busy" <<<"$out" || fail "expected Busy: $out"
grep -q "pid=$HOLDER_PID" <<<"$out" || fail "Busy does not name the holder: $out"
kill -KILL "$HOLDER_PID"
wait "$HOLDER_PID" 2>/dev/null || true
expect_driver "$E1000E" e1000e "after SIGKILL of the holder"

note "a group member is moved with the claimed device, and back"
run_as 1001 1001 "$PROBE" claim "$SHARED_EDU" || fail "uid 1001 could not claim $SHARED_EDU"
grep -q "Rebound $SHARED_NIC for uid=1001" "$log" || fail "$SHARED_NIC was not rebound"
expect_driver "$SHARED_NIC" e1000 "after the shared group's release"
driver_is "$SHARED_EDU" vfio-pci || fail "$SHARED_EDU left vfio-pci"

note "vfioctl bind/unbind: root may, uid 1001 may not, unmanaged devices never"
out=$(run_as 1001 1001 "$VFIOCTL" bind "$E1000E" 2>&1) && fail "uid 1001 could bind: $out"
grep -q "io.vfiod.Error.PermissionDenied" <<<"$out" || fail "expected PermissionDenied: $out"
driver_is "$E1000E" e1000e || fail "a refused bind moved the e1000e"
out=$("$VFIOCTL" bind "$NVME" 2>&1) && fail "bind of an unmanaged device succeeded: $out"
grep -q "io.vfiod.Error.NotManaged" <<<"$out" || fail "expected NotManaged: $out"
# No udevd here: the Driver change is announced by vfiod itself.
"$PROBE" watch 4 >/tmp/watch.out 2>&1 &
watcher=$!
wait_until 5 grep -q watching /tmp/watch.out || fail "the watcher did not start"
out=$("$VFIOCTL" bind "$E1000E") || fail "root could not bind: $out"
[ "$out" = "$E1000E: e1000e -> vfio-pci" ] || fail "bind said: $out"
driver_is "$E1000E" vfio-pci || fail "bind left the e1000e on '$(driver_of "$E1000E")'"
wait "$watcher" || true
grep -q "PropertiesChanged /io/vfiod/Broker1/device/pci_0000_00_06_0 .*Driver" /tmp/watch.out ||
	{ cat /tmp/watch.out; fail "no PropertiesChanged for Driver after the bind"; }
# Bound by the admin: uid 1002, whose rule does not allow rebinding, may claim it now.
run_as 1002 1002 "$VFIOCTL" claim "$E1000E" -- true || fail "uid 1002 could not claim the bound e1000e"
driver_is "$E1000E" vfio-pci || fail "a claim's release undid the admin's bind"
out=$(run_as 1001 1001 "$VFIOCTL" unbind "$E1000E" 2>&1) && fail "uid 1001 could unbind: $out"
grep -q "io.vfiod.Error.PermissionDenied" <<<"$out" || fail "expected PermissionDenied: $out"
out=$("$VFIOCTL" unbind "$E1000E") || fail "root could not unbind: $out"
[ "$out" = "$E1000E: vfio-pci -> e1000e" ] || fail "unbind said: $out"
driver_is "$E1000E" e1000e || fail "unbind left the e1000e on '$(driver_of "$E1000E")'"

note "a failed move leaves the device on e1000e: vfio-pci unloaded"
rmmod vfio_pci || fail "cannot unload vfio-pci"
out=$("$VFIOCTL" bind "$E1000E" 2>&1) && fail "bind without vfio-pci succeeded: $out"
echo "$out"
grep -q "rolled back, it is on e1000e again" <<<"$out" || fail "no rollback in: $out"
driver_is "$E1000E" e1000e || fail "failed bind left the e1000e on '$(driver_of "$E1000E")'"
out=$(run_as 1001 1001 "$PROBE" claim "$E1000E") && fail "claim without vfio-pci succeeded: $out"
grep -q "io.vfiod.Error.Failed" <<<"$out" || fail "expected Failed: $out"
driver_is "$E1000E" e1000e || fail "failed claim left the e1000e on '$(driver_of "$E1000E")'"
[ "$(override_of "$E1000E")" = "(null)" ] || fail "driver_override left set: $(override_of "$E1000E")"
grep -q "Failed to rebind $E1000E for uid=1001" "$log" || fail "no audit entry for the failure"
modprobe vfio-pci || fail "cannot load vfio-pci again"
