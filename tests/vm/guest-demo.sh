#!/bin/bash
# The demo, run in the VM by demo.sh with its output on the terminal: vfiod
# brokers a real edu device (vfio-pci, virtual Intel IOMMU) to unprivileged
# users. Starts from the same state as every guest test (lib.sh's plan).
# shellcheck source=tests/vm/vfiod-lib.sh
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

say "The host: edu devices bound to vfio-pci; /dev/vfio is root's only"
ls -l /dev/vfio
say "The policy vfiod enforces ($VFIOD_CONFIG)"
grep -v '^#' "$VFIOD_CONFIG" | sed '/^$/d'

say "vfiod starts (private socket /run/vfiod/broker.sock)"
start_vfiod --no-system-bus --config "$VFIOD_CONFIG"

say "What vfiod offers, as any user sees it (vfioctl list, then show)"
show run_as 1003 1003 "$VFIOCTL" list
show run_as 1003 1003 "$VFIOCTL" show "$EDU1"

say "uid 1001 drives $EDU1 with container DMA (its own VFIO_IOMMU_MAP_DMA)"
run_as 1001 1001 "$BUILD_DIR/examples/edu-demo" --dma container "$EDU1"

say "uid 1002 drives $EDU2 with brokered DMA (vfiod maps its sealed memfds)"
run_as 1002 1002 "$BUILD_DIR/examples/edu-demo" --dma brokered "$EDU2"

say "uid 1003 has no rule: refused, with the reason"
run_as 1003 1003 "$BUILD_DIR/examples/edu-demo" "$EDU1" || true

say "vfioctl claim hands the fds to any program (here: a shell that lists them and asks who holds what)"
run_as 1001 1001 "$VFIOCTL" claim --irq "$EDU3:msi:1" "$EDU3" -- \
	sh -c 'env | grep ^VFIOD_ | sort; ls -l /proc/$$/fd | sed -n "s/.* \([3-9]\) -> /  fd \1 -> /p"
		echo "\$ vfioctl holders"; "$0" holders' "$VFIOCTL"

say "vfiod's log"
cat "$VM_ARTIFACTS/vfiod.log" | sed 's/^<[0-9]>//; s/ (\.\..*)$//'
stop_vfiod
say "Done: every claim was released and scrubbed; vfiod exited cleanly."
