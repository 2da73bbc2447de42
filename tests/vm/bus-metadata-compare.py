#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares what vfiod publishes for a device with the raw ioctls' answer.

usage: bus-metadata-compare.py BUSCTL_JSON RAW_JSON
       bus-metadata-compare.py --vfioctl SHOW_JSON ADDRESS RAW_JSON
  BUSCTL_JSON: the output of `busctl --json=short get-property ... DeviceFlags
               DeviceCapabilities Regions Irqs` (one JSON value a line, in
               that order)
  SHOW_JSON:   the output of `vfioctl show --json DEVICE...`; the device
               named ADDRESS in it is compared
  RAW_JSON:    the output of `raw-vfio-probe dump ADDRESS`

Prints every difference and exits 1 if there is one.
"""
import json
import sys

PCI_REGION_NAMES = ["BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA"]
PCI_IRQ_NAMES = ["INTx", "MSI", "MSI-X", "ERR", "REQ"]


def extra(extras, key, default=None):
    return extras[key]["data"] if key in extras else default


def from_bus(lines):
    flags, caps, regions, irqs = (json.loads(line)["data"] for line in lines)
    out = {"flags": flags, "caps": caps, "regions": [], "irqs": []}
    names = {}
    for index, name, size, offset, rflags, sparse, extras in regions:
        out["regions"].append({
            "index": index, "size": size, "offset": offset, "flags": rflags,
            "sparse": [list(a) for a in sparse],
            "type": extra(extras, "type"), "subtype": extra(extras, "subtype"),
            "msix_mappable": extra(extras, "msix-mappable", False),
            "caps": extra(extras, "caps", []),
            "absent": extra(extras, "absent", False)})
        names[("region", index)] = name
    for index, name, count, iflags, extras in irqs:
        out["irqs"].append({"index": index, "count": count, "flags": iflags,
                            "absent": extra(extras, "absent", False)})
        names[("irq", index)] = name
    return out, names


def from_vfioctl(devices, address):
    """The same shape as from_bus(), from vfioctl show --json (vfioctl(1))."""
    matches = [d for d in devices if d["name"] == address]
    if len(matches) != 1:
        sys.exit(f"{address} appears {len(matches)} times in the vfioctl output")
    dev = matches[0]
    out = {"flags": dev["device_flags"], "caps": dev["capabilities"], "regions": [], "irqs": []}
    names = {}
    for r in dev["regions"]:
        out["regions"].append({
            "index": r["index"], "size": r["size"], "offset": r["offset"], "flags": r["flags"],
            "sparse": r["sparse"], "type": r["type"], "subtype": r["subtype"],
            "msix_mappable": r["msix_mappable"], "caps": r["caps"], "absent": r["absent"]})
        names[("region", r["index"])] = r["name"]
    for i in dev["irqs"]:
        out["irqs"].append({"index": i["index"], "count": i["count"], "flags": i["flags"],
                            "absent": i["absent"]})
        names[("irq", i["index"])] = i["name"]
    return out, names


def normalized_raw(raw):
    for r in raw["regions"]:
        r.setdefault("absent", False)
    for i in raw["irqs"]:
        i.setdefault("absent", False)
    return raw


def diff(a, b, where, problems):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            diff(a.get(key), b.get(key), f"{where}.{key}", problems)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{where}[{i}]", problems)
    elif a != b:
        problems.append(f"{where}: vfiod says {a!r}, the kernel {b!r}")


def main():
    if sys.argv[1] == "--vfioctl":
        with open(sys.argv[2], encoding="utf-8") as f:
            bus, names = from_vfioctl(json.load(f), sys.argv[3])
        raw_path = sys.argv[4]
    else:
        with open(sys.argv[1], encoding="utf-8") as f:
            bus, names = from_bus([line for line in f if line.strip()])
        raw_path = sys.argv[2]
    with open(raw_path, encoding="utf-8") as f:
        raw = normalized_raw(json.load(f))
    problems = []
    diff(bus, raw, "device", problems)
    for (kind, index), name in sorted(names.items()):
        table = PCI_REGION_NAMES if kind == "region" else PCI_IRQ_NAMES
        if index < len(table) and name != table[index]:
            problems.append(f"{kind} {index} is named {name!r}, not {table[index]!r}")
    for p in problems:
        print(p)
    print(f"{len(bus['regions'])} regions, {len(bus['irqs'])} IRQ indexes compared: "
          f"{len(problems)} difference(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
