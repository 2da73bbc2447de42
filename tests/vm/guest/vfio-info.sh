#!/bin/bash
# daemon/vfio-info.c against the kernel: for edu, nvme and e1000e, what
# vfio_info_read() reads (vfio-info-dump) equals what raw ioctls report
# (raw-vfio-probe dump, the independent witness), both parse as JSON, and edu
# shows the facts measured in VM.md.
# shellcheck source=tests/vm/lib.sh
. "$VM_LIB"
probe=$BUILD_DIR/tests/vm/raw-vfio-probe
reader=$BUILD_DIR/tests/vm/vfio-info-dump
[ -x "$probe" ] || fail "$probe not built"
[ -x "$reader" ] || fail "$reader not built"
dir=$VM_ARTIFACTS # its files are appended to the log if the test fails
mkdir -p "$dir"

bind_vfio "$E1000E" # on its host driver in the plan
for dev in "edu:$EDU1" "nvme:$NVME" "e1000e:$E1000E"; do
	name=${dev%%:*} bdf=${dev#*:}
	note "$name $bdf"
	"$probe" dump "$bdf" >"$dir/$name.raw.json" 2>"$dir/$name.raw.log" ||
		fail "raw-vfio-probe dump $bdf failed: $(<"$dir/$name.raw.log")"
	"$reader" "$bdf" >"$dir/$name.reader.json" 2>"$dir/$name.reader.log" ||
		fail "vfio-info-dump $bdf failed: $(<"$dir/$name.reader.log")"
	# The reader's own names for what it read.
	printf '%s\n' "$(<"$dir/$name.reader.log")"
done
python3 "$SOURCE_DIR/tests/vm/vfio-info-compare.py" "$dir" edu nvme e1000e ||
	fail "the reader and the raw ioctls disagree, or edu is not as measured"
for name in nvme e1000e; do
	echo "--- $name (raw-vfio-probe dump)"
	printf '%s\n' "$(<"$dir/$name.raw.json")"
done
echo "vfio-info: ok"
