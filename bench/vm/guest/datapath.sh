#!/bin/bash
# Item 2: MMIO and IRQ round trips on EDU1, through raw fds and through vfiod's fds in turn.
. "$(dirname "$0")/bench-lib.sh"
"$BENCH_BIN/datapath-bench" --json "$BENCH_JSON" "$EDU1"
