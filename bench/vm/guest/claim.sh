#!/bin/bash
# Item 1: claim cost, vfiod (root, static policy, private socket) against raw ioctls.
. "$(dirname "$0")/bench-lib.sh"
"$BENCH_BIN/claim-bench" --json "$BENCH_JSON" "$EDU1"
