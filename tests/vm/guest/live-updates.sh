#!/bin/bash
# Device objects follow the kernel live: unbind/rebind and sysfs remove/rescan
# show up as PropertiesChanged and InterfacesRemoved/Added within a second, on
# the private socket and on the system bus; a claimed device that is unbound
# ends its claim and the holder is told (Claim.Revoked).
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

DEVICE_IFACE=io.vfiod.Broker1.Device
path_of() { echo "/io/vfiod/Broker1/device/pci_$(tr ':.' '__' <<<"$1")"; }

# get_property TRANSPORT PATH PROPERTY: the value busctl prints, without the type.
get_property() {
	local transport=$1
	busctl "$transport" get-property io.vfiod.Broker1 "$2" "$DEVICE_IFACE" "$3" 2>&1 |
		sed 's/^[a-z]* //'
}

# within_a_second WHAT CMD...: CMD succeeds within 1 s (plus the TCG cost of one run).
within_a_second() {
	local what=$1 start
	shift
	start=${EPOCHREALTIME/./}
	wait_until 1 "$@" || fail "$what: not seen within a second"
	note "$what: $(((${EPOCHREALTIME/./} - start) / 1000)) ms"
}

# seen SIGNAL_LINE: the watcher printed a line starting with it.
seen() { grep -q "^$1" /tmp/watch-"$2".out; }

start_udevd
start_system_bus
start_broker --system-bus
# One watcher per transport, for the whole test.
"$PROBE" watch 60 >/tmp/watch-socket.out 2>&1 &
"$PROBE" --system watch 60 >/tmp/watch-system.out 2>&1 &
wait_until 5 grep -q watching /tmp/watch-socket.out /tmp/watch-system.out

edu2=$(path_of "$EDU2")
driver_is() { [ "$(get_property "$1" "$edu2" Driver)" = "$2" ]; }
[ "$(get_property --system "$edu2" Driver)" = '"vfio-pci"' ] || fail "EDU2 is not on vfio-pci"

note "unbind $EDU2"
unbind "$EDU2"
within_a_second "Driver \"\" on the system bus" driver_is --system '""'
within_a_second "Driver \"\" on the socket" driver_is --address="$VFIOD_ADDRESS" '""'
for t in socket system; do
	within_a_second "PropertiesChanged ($t)" seen "PropertiesChanged $edu2 Driver" $t
done

note "rebind $EDU2 to vfio-pci"
bind_vfio "$EDU2"
within_a_second "Driver vfio-pci again" driver_is --system '"vfio-pci"'

note "remove $EDU3 in sysfs"
edu3=$(path_of "$EDU3")
group3=$(group_of "$EDU3")
echo 1 >"/sys/bus/pci/devices/$EDU3/remove"
for t in socket system; do
	within_a_second "InterfacesRemoved device ($t)" seen "InterfacesRemoved $edu3" $t
	within_a_second "InterfacesRemoved group ($t)" \
		seen "InterfacesRemoved /io/vfiod/Broker1/group/$group3" $t
done
out=$(get_property --system "$edu3" Name) && fail "removed device still answers: $out"

note "rescan"
echo 1 >/sys/bus/pci/rescan
for t in socket system; do
	within_a_second "InterfacesAdded device ($t)" seen "InterfacesAdded $edu3" $t
done
[ "$(get_property --system "$edu3" Name)" = "\"$EDU3\"" ] || fail "rescanned device's Name"
[ "$(get_property --system "$edu3" IommuGroup)" = "$(group_of "$EDU3")" ] ||
	fail "rescanned device's IommuGroup"

note "unbind a claimed device"
start_holder 1001 "$EDU1"
edu1=$(path_of "$EDU1")
[ "$(get_property --system "$edu1" ClaimState)" = '"claimed"' ] || fail "EDU1 not claimed"
busctl --system get-property io.vfiod.Broker1 "$edu1" "$DEVICE_IFACE" Holder |
	grep -q "\"uid\" u 1001" || fail "Holder does not name uid 1001"
group1=/io/vfiod/Broker1/group/$(group_of "$EDU1")
for t in socket system; do
	within_a_second "the claim's holder ($t)" seen "PropertiesChanged $edu1 ClaimState Claim Holder" $t
	within_a_second "the group's holder ($t)" seen "PropertiesChanged $group1 Claim Holder" $t
done
# The kernel blocks the unbind until every fd of the device is closed.
echo "$EDU1" >/sys/bus/pci/drivers/vfio-pci/unbind &
unbinder=$!
within_a_second "the holder is told" grep -q "^revoked $EDU1" /tmp/holder.out
cat /tmp/holder.out
wait_until 5 test ! -e "/proc/$unbinder" || fail "the unbind did not complete"
wait "$HOLDER_PID" || fail "the holder did not exit cleanly"
claim_state_is() { [ "$(get_property --system "$edu1" ClaimState)" = "\"$1\"" ]; }
within_a_second "EDU1 free again" claim_state_is free
[ "$(get_property --system "$edu1" Driver)" = '""' ] || fail "EDU1 still bound after unbind"
grep -q "InterfacesRemoved $HOLDER_CLAIM" /tmp/watch-socket.out ||
	fail "the claim object was not announced gone"
