#!/bin/bash
# The demo, run in the VM by demo.sh with its output on the terminal. Starts
# from the same state as every guest test (lib.sh's device plan).
# shellcheck source=tests/vm/lib.sh
. "$VM_LIB"

# TODO: placeholder. The demo client (examples/edu-demo: vfiod running, the
# client claiming an edu device through it as an unprivileged uid) replaces
# this raw, root-only VFIO probe.
echo "demo: raw VFIO on $EDU1 as root (placeholder for the vfiod demo client)"
"$BUILD_DIR/tests/vm/raw-vfio-probe" --irq --dma "$EDU1"
