#!/bin/bash
# The fixture every other VM test relies on: the Intel IOMMU is active, the
# devices sit at their planned addresses with their planned drivers, each
# vfio-pci group has its /dev/vfio node, and the edu + e1000 behind the PCI
# bridge share one group.
# shellcheck source=tests/vm/lib.sh
. "$VM_LIB"

[ -e /sys/class/iommu/dmar0 ] || fail "no Intel IOMMU (/sys/class/iommu/dmar0)"
groups=(/sys/kernel/iommu_groups/*)
[ -e "${groups[0]}" ] || fail "/sys/kernel/iommu_groups is empty"
note "${#groups[@]} IOMMU groups"

# check_dev BDF VENDOR:DEVICE DRIVER
check_dev() {
	local bdf=$1 id=$2 drv=$3 d=/sys/bus/pci/devices/$1 g
	[ -e "$d" ] || fail "$bdf: no such device"
	[ "$(<"$d/vendor"):$(<"$d/device")" = "0x${id%:*}:0x${id#*:}" ] ||
		fail "$bdf: id $(<"$d/vendor"):$(<"$d/device"), expected $id"
	[ "$(driver_of "$bdf")" = "$drv" ] || fail "$bdf: driver '$(driver_of "$bdf")', expected $drv"
	g=$(group_of "$bdf")
	if [ "$drv" = vfio-pci ]; then
		[ -c "/dev/vfio/$g" ] || fail "$bdf: no /dev/vfio/$g"
	fi
	printf '%s %s %-8s group %s: %s\n' "$bdf" "$id" "$drv" "$g" "$(group_members "$g" | tr '\n' ' ')"
}

check_dev "$EDU1" 1234:11e8 vfio-pci
check_dev "$EDU2" 1234:11e8 vfio-pci
check_dev "$EDU3" 1234:11e8 vfio-pci
check_dev "$NVME" 1b36:0010 vfio-pci
check_dev "$E1000E" 8086:10d3 e1000e
check_dev "$SHARED_EDU" 1234:11e8 vfio-pci
check_dev "$SHARED_NIC" 8086:100e e1000
[ "$(<"/sys/bus/pci/devices/$BRIDGE/class")" = 0x060400 ] || fail "$BRIDGE is not a PCI bridge"

# Single-device groups for the three edu and the nvme, all different.
declare -A seen=()
for bdf in "${EDUS[@]}" "$NVME" "$E1000E"; do
	g=$(group_of "$bdf")
	[ -z "${seen[$g]:-}" ] || fail "$bdf shares group $g with ${seen[$g]}"
	seen[$g]=$bdf
	[ "$(group_members "$g")" = "$bdf" ] || fail "group $g holds more than $bdf: $(group_members "$g" | tr '\n' ' ')"
done

# The shared group: the bridge, the edu and the e1000, nothing else.
g=$(group_of "$SHARED_EDU")
[ "$(group_of "$SHARED_NIC")" = "$g" ] || fail "$SHARED_EDU and $SHARED_NIC are not in one group"
members=$(group_members "$g" | sort | tr '\n' ' ')
[ "$members" = "$BRIDGE $SHARED_EDU $SHARED_NIC " ] || fail "group $g holds: $members"
[ -z "${seen[$g]:-}" ] || fail "the shared group $g is also ${seen[$g]}'s"
note "shared group $g: $members"

kmsg=$(dmesg)
if [[ $kmsg == *"DMAR-IR: Enabled IRQ remapping"* ]]; then
	note "interrupt remapping on"
else
	note "interrupt remapping off"
fi
echo "iommu-layout: ok"
