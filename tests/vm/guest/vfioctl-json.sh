#!/bin/bash
# vfioctl show --json, read by python3's json module, says about edu, nvme
# and e1000e what raw VFIO ioctls on the device fd say (the comparison of
# bus-metadata-compare.py); list --json and holders --json parse and name
# the holder. On the private socket and on the system bus.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

RAW=$BUILD_DIR/tests/vm/raw-vfio-probe
COMPARE=$SOURCE_DIR/tests/vm/bus-metadata-compare.py

bind_vfio "$E1000E"
cat >/tmp/vfiod.conf <<CONF
[Manage]
Devices=all

[Rule edu]
Ids=1234:11e8
Users=1001
CONF
start_system_bus
start_vfiod --config /tmp/vfiod.conf

for dev in "$EDU1" "$NVME" "$E1000E"; do
	# The raw witness first: vfiod opens a free group only for the moment of a read.
	"$RAW" dump "$dev" >"/tmp/raw-$dev.json" 2>/tmp/raw.err || { cat /tmp/raw.err; fail "raw dump of $dev"; }
done
"$VFIOCTL" show --json "$EDU1" "$NVME" >/tmp/show-socket.json || fail "show --json over the socket"
"$VFIOCTL" --system show --json "$E1000E" "$NVME" >/tmp/show-system.json ||
	fail "show --json on the system bus"
for dev in "$EDU1" "$NVME"; do
	python3 "$COMPARE" --vfioctl /tmp/show-socket.json "$dev" "/tmp/raw-$dev.json" ||
		fail "$dev (socket): vfioctl and the kernel disagree"
done
for dev in "$E1000E" "$NVME"; do
	python3 "$COMPARE" --vfioctl /tmp/show-system.json "$dev" "/tmp/raw-$dev.json" ||
		fail "$dev (system bus): vfioctl and the kernel disagree"
done

# The rest of show --json, list --json and holders --json, with a holder.
start_holder 1001 "$EDU2"
"$VFIOCTL" show --json "$EDU2" "$SHARED_EDU" >/tmp/show.json || fail "show --json"
"$VFIOCTL" --system list --json >/tmp/list.json || fail "list --json"
run_as 1003 1003 "$VFIOCTL" holders --json >/tmp/holders.json || fail "holders --json"
python3 - "$EDU2" "$SHARED_EDU" "$NVME" "$HOLDER_PID" "$HOLDER_CLAIM" <<'PY' || fail "the JSON is not what vfioctl(1) says"
import json, sys
edu2, shared, nvme, pid, claim = sys.argv[1:6]
pid = int(pid)
show = json.load(open("/tmp/show.json"))
devices = {d["name"]: d for d in json.load(open("/tmp/list.json"))}
holders = json.load(open("/tmp/holders.json"))
problems = []
def expect(what, got, want):
    if got != want:
        problems.append(f"{what}: {got!r}, expected {want!r}")
held, group6 = show
expect("show: holder", held["holder"], {"uid": 1001, "pid": pid, "claim": claim,
                                        "unit": held["holder"].get("unit"),
                                        "cgroup": held["holder"].get("cgroup")})
expect("show: claim_state", held["claim_state"], "claimed")
expect("show: group", (held["group"]["number"], held["group"]["viable"]), (2, True))
expect("show: regions read through the holder", held["metadata_state"], "read")
expect("shared: viable", group6["group"]["viable"], False)
expect("shared: members", [m["name"] for m in group6["group"]["members"]],
       ["0000:00:07.0", "0000:01:01.0", "0000:01:02.0"])
expect("shared: metadata_state", group6["metadata_state"], "unavailable")
expect("list: nvme ids", (devices[nvme]["vendor_id"], devices[nvme]["device_id"]), (0x1b36, 0x10))
expect("list: nvme name", devices[nvme]["device_name"], "QEMU NVM Express Controller")
expect("list: edu holder pid", devices[edu2]["holder"]["pid"], pid)
expect("holders", [(h["claim"], h["uid"], h["pid"], h["devices"], h["iommu_groups"]) for h in holders],
       [(claim, 1001, pid, [edu2], [2])])
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
stop_holder
