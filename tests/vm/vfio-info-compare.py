#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares what daemon/vfio-info.c reads from a VFIO device (vfio-info-dump)
with what raw ioctls report (raw-vfio-probe dump), and checks the facts
measured for QEMU's edu device (VM.md). Used by tests/vm/guest/vfio-info.sh.

Usage: vfio-info-compare.py DIR NAME...
For each NAME, DIR/NAME.raw.json and DIR/NAME.reader.json must parse as JSON
(no duplicate keys) and be equal; "edu" is also checked against VM.md,
"nvme" and "e1000e" for reset and their MSI-X BAR (0 and 3).
Prints a summary of each device. Exit status 0 when everything holds, else 1.
"""
import json
import sys

REGION_FLAGS = {0x1: "read", 0x2: "write", 0x4: "mmap", 0x8: "caps"}
IRQ_FLAGS = {0x1: "eventfd", 0x2: "maskable", 0x4: "automasked", 0x8: "noresize"}
DEVICE_FLAGS = {0x1: "reset", 0x2: "pci", 0x80: "caps"}
PCI_REGIONS = ["BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA"]
PCI_IRQS = ["INTx", "MSI", "MSI-X", "ERR", "REQ"]
MIB = 1 << 20

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in " + repr(keys))
    return dict(pairs)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=no_duplicates)


def names(flags, table):
    out = [n for bit, n in table.items() if flags & bit]
    rest = flags & ~sum(table)
    if rest:
        out.append(hex(rest))
    return "|".join(out) or "-"


def summary(name, info):
    print(f"{name}: flags {names(info['flags'], DEVICE_FLAGS)} device caps {info['caps']}, "
          f"{len(info['regions'])} regions, {len(info['irqs'])} irqs")
    for r in info["regions"]:
        label = PCI_REGIONS[r["index"]] if r["index"] < len(PCI_REGIONS) else f"region {r['index']}"
        if r.get("absent"):
            print(f"  {label}: absent")
            continue
        extra = ""
        if r["sparse"]:
            extra += " sparse " + ", ".join(f"{hex(o)}+{hex(s)}" for o, s in r["sparse"])
        if r["msix_mappable"]:
            extra += " msix-mappable"
        if r["type"] is not None:
            extra += f" type {r['type']:#x}/{r['subtype']}"
        print(f"  {label}: size {r['size']:#x} offset {r['offset']:#x} "
              f"flags {names(r['flags'], REGION_FLAGS)} caps {r['caps']}{extra}")
    for i in info["irqs"]:
        label = PCI_IRQS[i["index"]] if i["index"] < len(PCI_IRQS) else f"irq {i['index']}"
        if i.get("absent"):
            print(f"  {label}: absent")
        else:
            print(f"  {label}: count {i['count']} flags {names(i['flags'], IRQ_FLAGS)}")


def compare(name, raw, reader):
    if raw == reader:
        return
    before = len(failures)
    for key in ("flags", "caps"):
        if raw[key] != reader[key]:
            fail(f"{name}: {key}: raw {raw[key]}, reader {reader[key]}")
    for key in ("regions", "irqs"):
        if len(raw[key]) != len(reader[key]):
            fail(f"{name}: {len(raw[key])} {key} raw, {len(reader[key])} from the reader")
        for a, b in zip(raw[key], reader[key]):
            if a != b:
                fail(f"{name}: {key} {a['index']}: raw {a}, reader {b}")
    if len(failures) == before:
        fail(f"{name}: outputs differ")


def check_edu(info):
    def expect(what, got, want):
        if got != want:
            fail(f"edu: {what} is {got!r}, expected {want!r}")

    expect("device flags", info["flags"], 0x2)  # pci, no reset
    expect("region count", len(info["regions"]), 9)
    expect("irq count", len(info["irqs"]), 5)
    bar0, config, vga = info["regions"][0], info["regions"][7], info["regions"][8]
    expect("BAR0 size", bar0["size"], MIB)
    expect("BAR0 flags", names(bar0["flags"], REGION_FLAGS), "read|write|mmap")
    expect("BAR0 caps", bar0["caps"], [])
    expect("CONFIG size", config["size"], 256)
    expect("CONFIG flags", names(config["flags"], REGION_FLAGS), "read|write")
    expect("VGA absent", vga.get("absent"), True)
    intx, msix, err = info["irqs"][0], info["irqs"][2], info["irqs"][3]
    expect("INTx count", intx["count"], 1)
    expect("INTx flags", names(intx["flags"], IRQ_FLAGS), "eventfd|maskable|automasked")
    expect("MSI-X count", msix["count"], 0)
    expect("ERR absent", err.get("absent"), True)


def check_msix_bar(name, info, bar):
    """vfio-pci on a 6.x kernel: the BAR holding the MSI-X table may be mapped
    whole (MSI-X mappable capability), so it carries no sparse areas."""
    r = info["regions"][bar]
    if not r["msix_mappable"] or r["caps"] != [3] or r["sparse"] or not r["flags"] & 0x4:
        fail(f"{name}: BAR{bar} is not the mmap-able, MSI-X mappable BAR: {r}")
    if not info["flags"] & 0x1:
        fail(f"{name}: no reset flag")
    msix = info["irqs"][2]
    if msix["count"] == 0 or msix.get("absent"):
        fail(f"{name}: no MSI-X vectors: {msix}")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    directory = sys.argv[1]
    for name in sys.argv[2:]:
        try:
            raw = load(f"{directory}/{name}.raw.json")
            reader = load(f"{directory}/{name}.reader.json")
        except (OSError, ValueError) as e:
            fail(f"{name}: {e}")
            continue
        summary(name, raw)
        compare(name, raw, reader)
        if name == "edu":
            check_edu(raw)
        elif name == "nvme":
            check_msix_bar(name, raw, 0)
        elif name == "e1000e":
            check_msix_bar(name, raw, 3)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
