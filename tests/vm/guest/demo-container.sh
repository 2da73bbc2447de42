#!/bin/bash
# The demo client (libvfioc) as an unprivileged uid in container mode: BAR0
# id and liveness, INTx and MSI on passed eventfds, a DMA round trip.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
run_as 1001 1001 "$BUILD_DIR/examples/edu-demo" --dma container "$EDU1" || fail "demo failed"
