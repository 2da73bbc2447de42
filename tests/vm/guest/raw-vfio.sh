#!/bin/bash
# The baseline without vfiod: root opens an edu device with raw VFIO ioctls
# (container, group, type1v2, device fd), reads BAR0 through mmap, gets INTx
# and MSI on eventfds, does a DMA round trip through the IOMMU; resets the
# nvme; is refused the edu whose group holds a host-driver device; an
# unprivileged uid is refused /dev/vfio/N.
# shellcheck source=tests/vm/lib.sh
. "$VM_LIB"
probe=$BUILD_DIR/tests/vm/raw-vfio-probe
[ -x "$probe" ] || fail "$probe not built"

# expect OUTPUT LINE-PATTERN...: every pattern (an ERE) matches a whole line
# of OUTPUT. Bash's own matching: every exec costs under TCG.
expect() {
	local out=$1 pat line found
	shift
	for pat in "$@"; do
		found=0
		while IFS= read -r line; do
			if [[ $line =~ ^($pat)$ ]]; then
				found=1
				break
			fi
		done <<<"$out"
		[ "$found" -eq 1 ] || fail "no line matching '$pat'"
	done
}

note "edu $EDU1: info, BAR0, INTx, MSI, DMA"
out=$("$probe" --irq --dma "$EDU1") || { echo "$out"; fail "raw-vfio-probe $EDU1 failed"; }
echo "$out"
expect "$out" \
	"type1v2 yes" "group $(group_of "$EDU1")" "group-viable yes" "device-fd cloexec yes" \
	"device flags 0x[0-9a-f]+ pci regions 9 irqs 5" \
	"region 0 size 0x100000 offset 0x0 flags read write mmap" \
	"region 7 size 0x100 .*flags read write" \
	"irq 0 count 1 flags eventfd maskable automasked" "irq 1 count 1 flags eventfd noresize" \
	"pci-id 1234:11e8" "id 0x010000ed" "liveness ok" \
	"intx ok latency-us [0-9]+" "msi ok latency-us [0-9]+" "dma ok"

note "nvme $NVME: info and reset (FLR)"
out=$("$probe" --reset "$NVME") || { echo "$out"; fail "raw-vfio-probe $NVME failed"; }
echo "$out"
expect "$out" "pci-id 1b36:0010" "device flags 0x[0-9a-f]+ pci reset regions [0-9]+ irqs [0-9]+" "reset ok"

note "$SHARED_EDU: its group holds $SHARED_NIC on e1000, so it is not viable"
rc=0
out=$("$probe" "$SHARED_EDU" 2>&1) || rc=$?
echo "$out"
[ "$rc" -eq 3 ] || fail "expected exit 3 (group not viable), got $rc"
expect "$out" "group-viable no"

note "uid 1001 cannot open /dev/vfio/$(group_of "$EDU2") (root-only)"
rc=0
out=$(run_as 1001 1001 "$probe" "$EDU2" 2>&1) || rc=$?
echo "$out"
[ "$rc" -eq 1 ] || fail "uid 1001: expected exit 1, got $rc"
[[ $out == *"Permission denied"* ]] || fail "uid 1001: expected EACCES"

note "with $SHARED_NIC on vfio-pci too, the shared group is viable"
bind_vfio "$SHARED_NIC"
out=$("$probe" "$SHARED_EDU") || { echo "$out"; fail "raw-vfio-probe $SHARED_EDU failed"; }
echo "$out"
expect "$out" "group-viable yes" "id 0x010000ed" "liveness ok"
echo "raw-vfio: ok"
