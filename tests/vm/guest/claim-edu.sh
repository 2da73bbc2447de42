#!/bin/bash
# An unprivileged uid claims an edu device over the private socket, reads its
# id register through the passed device fd, and releases it.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
out=$(run_as 1001 1001 "$PROBE" claim "$EDU1") || fail "claim failed: $out"
echo "$out"
grep -q "^id 0x010000ed" <<<"$out" || fail "id register not read through the passed fd"
grep -q "mode container" <<<"$out" || fail "container mode is the policy's default"
