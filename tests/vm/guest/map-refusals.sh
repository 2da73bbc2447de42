#!/bin/bash
# Brokered MapDma refuses unsealed memfds, non-memfds, IOVAs in the MSI
# window or beyond the IOMMU's ranges, overlaps and over-quota sizes.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
run_as 1001 1001 "$PROBE" map-refusals "$EDU1" || fail "a refusal was wrong"
