# shellcheck shell=bash
# Shared by the guest benchmark scripts: lib.sh, vfiod with the benchmark
# policy on the private socket, and where the figures go (the results share,
# which tools/bench reads back).
. "$VM_LIB"
BENCH_BIN=$BUILD_DIR/bench/vm
BENCH_JSON=/run/vmtest/results/$VM_TEST.jsonl
export VFIOD_ADDRESS=unix:path=/run/vfiod/broker.sock
start_vfiod --no-system-bus --config "$SOURCE_DIR/bench/vm/vfiod-bench.conf"
