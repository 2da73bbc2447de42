#!/bin/bash
# MapDmaBatch/UnmapDmaBatch map, refuse and unmap a batch as a whole: edu's
# DMA goes through a batch's mappings, a batch with one bad entry maps
# nothing. Then, with vfio_iommu_type1's dma_entry_limit at 4 for the new
# containers, the kernel refuses a batch halfway: vfiod (brokered) and
# libvfioc (container mode) must unmap what they mapped of it.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"
start_broker
run_as 1001 1001 "$PROBE" map-batch "$EDU1" || fail "a brokered batch was wrong"

limit=/sys/module/vfio_iommu_type1/parameters/dma_entry_limit
[ -w "$limit" ] || fail "no $limit"
old_limit=$(<"$limit")
echo 4 >"$limit"
status=0
run_as 1001 1001 "$PROBE" map-batch-rollback "$EDU1" || status=1
run_as 1001 1001 "$BUILD_DIR/tests/vm/vfioc-batch" "$EDU1" || status=$((status | 2))
echo "$old_limit" >"$limit"
[ $((status & 1)) -eq 0 ] || fail "vfiod did not roll a refused batch back"
[ $((status & 2)) -eq 0 ] || fail "libvfioc did not roll a refused batch back"
