#!/bin/bash
# What vfiod publishes about edu, nvme and e1000e (regions with their
# capabilities, IRQs, device flags) equals what raw VFIO ioctls on the device
# fd say; it is read lazily (GetManagedObjects opens nothing), through the
# holder's fd for a claimed device, on the system bus and the socket alike;
# an unmanaged device and a group open elsewhere are explained, not opened.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

RAW=$BUILD_DIR/tests/vm/raw-vfio-probe
IFACE=io.vfiod.Broker1.Device
path_of() { echo "/io/vfiod/Broker1/device/pci_$(tr ':.' '__' <<<"$1")"; }
props() { # TRANSPORT DEVICE PROPERTY...
	local transport=$1 path
	path=$(path_of "$2")
	shift 2
	busctl "$transport" --json=short get-property io.vfiod.Broker1 "$path" "$IFACE" "$@"
}

bind_vfio "$E1000E"
# Every device in an IOMMU group but one is managed here; uid 1001 may claim the edus.
cat >/tmp/vfiod.conf <<CONF
[Manage]
Devices=all

[Ignore]
Addresses=$SHARED_EDU

[Rule edu]
Ids=1234:11e8
Users=1001
CONF
start_udevd
start_system_bus
start_vfiod --config /tmp/vfiod.conf --log-level debug

# Enumeration and GetManagedObjects open nothing.
busctl --system call io.vfiod.Broker1 /io/vfiod/Broker1 \
	org.freedesktop.DBus.ObjectManager GetManagedObjects >/dev/null
grep -q "Read the VFIO information" "$VM_ARTIFACTS/vfiod.log" &&
	fail "GetManagedObjects read VFIO information"
state=$(props --system "$NVME" MetadataState)
[ "$state" = '{"type":"s","data":"unread"}' ] || fail "NVMe metadata read before anyone asked: $state"

for dev in "$EDU1" "$NVME" "$E1000E"; do
	# The raw witness first: vfiod opens the group only for the moment of a read.
	"$RAW" dump "$dev" >"/tmp/raw-$dev.json" 2>/tmp/raw.err || { cat /tmp/raw.err; fail "raw dump of $dev"; }
	for transport in --system --address="$VFIOD_ADDRESS"; do
		props "$transport" "$dev" DeviceFlags DeviceCapabilities Regions Irqs >"/tmp/bus-$dev.json" ||
			fail "get-property on $dev ($transport)"
		python3 "$SOURCE_DIR/tests/vm/bus-metadata-compare.py" "/tmp/bus-$dev.json" \
			"/tmp/raw-$dev.json" || fail "$dev ($transport): vfiod and the kernel disagree"
	done
	props --system "$dev" MetadataState | grep -q '"data":"read"' || fail "$dev: MetadataState"
done
props --system "$NVME" ResetSupported | grep -q '"data":true' || fail "nvme: ResetSupported"
props --system "$EDU1" ResetSupported | grep -q '"data":false' || fail "edu: ResetSupported"

# A claim reads the metadata through its own fd, and the holder keeps using
# the device undisturbed while others look.
start_holder 1001 "$EDU2"
props --system "$EDU2" Regions | grep -q '"BAR0",1048576' || fail "claimed edu: Regions"
grep -q "^holding" /tmp/holder.out || fail "the holder was disturbed"
stop_holder

# A group held by another VFIO user on the host is explained, not taken.
"$RAW" hold "$EDU3" >/tmp/raw-hold.out 2>&1 &
raw_holder=$!
wait_until 10 grep -q holding /tmp/raw-hold.out || { cat /tmp/raw-hold.out; fail "raw holder"; }
out=$(busctl --system get-property io.vfiod.Broker1 "$(path_of "$EDU3")" "$IFACE" Regions 2>&1) &&
	fail "Regions of a group open elsewhere: $out"
grep -q "open elsewhere" <<<"$out" || fail "unexpected error: $out"
props --system "$EDU3" MetadataState | grep -q '"unavailable"' || fail "MetadataState"
props --system "$EDU3" MetadataError | grep -q "open elsewhere" || fail "MetadataError"
kill "$raw_holder"
wait "$raw_holder" || true

# An ignored device is never opened, and says so.
out=$(busctl --system get-property io.vfiod.Broker1 "$(path_of "$SHARED_EDU")" "$IFACE" Regions 2>&1) &&
	fail "Regions of an ignored device: $out"
grep -q "does not manage" <<<"$out" || fail "unexpected error: $out"
props --system "$SHARED_EDU" Managed | grep -q '"data":false' || fail "Managed of an ignored device"

# Devices not bound to vfio-pci are explained too.
bind_host "$E1000E" e1000e
wait_until 2 eval 'props --system "$E1000E" Driver | grep -q e1000e' || fail "the rebind to e1000e was not seen"
out=$(busctl --system get-property io.vfiod.Broker1 "$(path_of "$E1000E")" "$IFACE" Regions 2>&1) &&
	fail "Regions of a host-bound device: $out"
grep -q "bound to e1000e" <<<"$out" || fail "unexpected error: $out"
