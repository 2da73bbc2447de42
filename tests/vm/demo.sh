#!/bin/bash
# demo.sh BUILD_DIR [--shell]
#
# Boots the VM test guest and runs tests/vm/guest-demo.sh in it with its
# output streamed to the terminal (and to BUILD_DIR/tests/vm/demo/console.log).
# With --shell, an interactive root shell in the guest instead (exit it to
# power off). Builds nothing: build BUILD_DIR first.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [--shell]" >&2; exit 2; }
build=$1
mode=demo
case ${2:-} in
"") ;;
--shell) mode=shell ;;
*) echo "usage: $0 BUILD_DIR [--shell]" >&2; exit 2 ;;
esac
[ -x "$build/tests/vm/raw-vfio-probe" ] || { echo "demo: build $build first (ninja -C $build)" >&2; exit 1; }

exec "$here/run-vm.sh" --build "$build" --mode "$mode" \
	--results "$build/tests/vm/demo/results" --console "$build/tests/vm/demo/console.log" \
	--timeout "${VFIOD_VM_TIMEOUT:-600}"
