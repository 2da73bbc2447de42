#!/bin/bash
# vfiod keeps its mapping of a memfd for the next MapDma of the same buffer:
# edu's DMA must always read the memfd passed in that call, write seals and
# the quota still hold, and nothing of the client's memory stays mapped in
# the daemon once the claim is released.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
run_as 1001 1001 "$PROBE" map-reuse "$EDU1" || fail "a mapping was wrong"
vfiod_pid=$(<"$_vm_pids/vfiod")
if grep -F 'memfd:probe' "/proc/$vfiod_pid/maps"; then
	fail "vfiod still maps the client's memfds after the release"
fi
