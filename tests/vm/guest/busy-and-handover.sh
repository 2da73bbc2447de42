#!/bin/bash
# A held device is refused to a second uid, naming the holder; after an
# explicit release (and after the holder exits) another uid gets it.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
start_holder 1001 "$EDU1"
out=$(run_as 1002 1002 "$PROBE" claim "$EDU1") && fail "second claim succeeded: $out"
echo "$out"
grep -q "io.vfiod.Error.Busy" <<<"$out" || fail "expected Busy"
grep -q "uid=1001 pid=$HOLDER_PID" <<<"$out" || fail "the refusal does not name the holder"
# The same uid cannot take the group twice either.
out=$(run_as 1001 1001 "$PROBE" claim "$EDU1") && fail "double claim succeeded"
stop_holder
# Explicit release (the probe calls Release before exiting), then another uid.
run_as 1001 1001 "$PROBE" claim "$EDU1" || fail "claim after holder exit failed"
run_as 1002 1002 "$PROBE" claim "$EDU1" || fail "claim by uid 1002 after release failed"
