#!/bin/bash
# The demo client in brokered mode: vfiod maps the client's sealed memfds.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
run_as 1002 1002 "$BUILD_DIR/examples/edu-demo" --dma brokered "$EDU2" || fail "demo failed"
