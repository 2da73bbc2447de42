#!/bin/bash
# Item 2: MMIO and IRQ round trips through raw fds (EDU1) and vfiod's fds (EDU2).
. "$(dirname "$0")/bench-lib.sh"
"$BENCH_BIN/datapath-bench" --json "$BENCH_JSON" "$EDU1" "$EDU2"
