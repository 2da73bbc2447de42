#!/bin/bash
# The daemon's open fd count returns to its baseline after 100 claim/release cycles.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
pid=$(vfiod_pid)
# One cycle first: fds the daemon opens once and keeps (the journal socket of
# the audit log) belong to the baseline.
run_as 1001 1001 "$PROBE" cycle "$EDU3" 1 >/dev/null || fail "warm-up cycle failed"
before=$(ls /proc/"$pid"/fd | wc -l)
run_as 1001 1001 "$PROBE" cycle "$EDU3" 100 || fail "cycles failed"
after=$(ls /proc/"$pid"/fd | wc -l)
echo "daemon fds: $before before, $after after 100 cycles"
[ "$before" -eq "$after" ] || { ls -l /proc/"$pid"/fd; fail "fd count changed"; }
