#!/bin/bash
# Item 3: DMA map+unmap, direct on a container-mode claim (EDU1) against brokered (EDU2), as uid 1001.
. "$(dirname "$0")/bench-lib.sh"
: >"$BENCH_JSON"
chmod 0666 "$BENCH_JSON"
run_as 1001 1001 "$BENCH_BIN/dma-bench" --json "$BENCH_JSON" "$EDU1" "$EDU2"
