#!/bin/bash
# A holder killed with SIGKILL loses its claim: the device is claimable again within 1 s.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
start_holder 1001 "$EDU2"
kill -KILL "$HOLDER_PID"
start=${EPOCHREALTIME/./}
until run_as 1002 1002 "$PROBE" claim "$EDU2" >/tmp/out 2>&1; do
	(( ${EPOCHREALTIME/./} - start < 1000000 )) || { cat /tmp/out; fail "still held 1 s after SIGKILL"; }
	sleep 0.05
done
echo "claimable again after $(( (${EPOCHREALTIME/./} - start) / 1000 )) ms"
