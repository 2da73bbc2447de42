#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails when io.vfiod.Broker1(5) and what vfiod really serves drift apart.

For every interface `vfiod --bus-introspect=list` names, the methods (with
argument directions, types and names), signals (types and names) and
properties (types and access) in `vfiod --bus-introspect=INTERFACE` must be
exactly those of the interface's block in the man page, written in the
systemd style:

    interface io.vfiod.Broker1.Claim {
      methods:
        SetIrqs(in  s device,
                out ah eventfds);
      signals:
        Revoked(s device,
                s reason);
      properties:
        readonly as Devices;
    };

usage: check-bus-manpage.py VFIOD MANPAGE.scd
"""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET


def from_introspection(vfiod, interface):
    xml = subprocess.run([vfiod, "--bus-introspect=" + interface], check=True,
                         capture_output=True, text=True).stdout
    node = ET.fromstring(xml)
    members = set()
    for iface in node.findall("interface"):
        if iface.get("name") != interface:
            continue
        for m in iface.findall("method"):
            args = ", ".join(f"{a.get('direction', 'in')} {a.get('type')} {a.get('name')}"
                             for a in m.findall("arg"))
            members.add(f"method {m.get('name')}({args})")
        for s in iface.findall("signal"):
            args = ", ".join(f"{a.get('type')} {a.get('name')}" for a in s.findall("arg"))
            members.add(f"signal {s.get('name')}({args})")
        for p in iface.findall("property"):
            access = "readonly" if p.get("access") == "read" else "readwrite"
            members.add(f"property {access} {p.get('type')} {p.get('name')}")
    return members


def from_manpage(text):
    """{interface: set of members} from every `interface NAME { ... };` block."""
    interfaces = {}
    for m in re.finditer(r"^\s*interface ([\w.]+) \{\n(.*?)^\s*\};", text, re.M | re.S):
        name, body = m.group(1), m.group(2)
        members = set()
        section = None
        # Join continuation lines so that each member is one statement ending in ';'.
        statements = re.sub(r",\s*\n\s*", ", ", body)
        for line in statements.splitlines():
            line = line.strip()
            if not line or line.startswith("@"):
                continue
            if line in ("methods:", "signals:", "properties:"):
                section = line[:-1]
                continue
            line = line.rstrip(";")
            if section in ("methods", "signals"):
                mm = re.fullmatch(r"(\w+)\((.*)\)", line)
                if not mm:
                    raise SystemExit(f"{name}: cannot parse {section[:-1]} line: {line}")
                args = [" ".join(a.split()) for a in mm.group(2).split(",") if a.strip()]
                kind = section[:-1]
                members.add(f"{kind} {mm.group(1)}({', '.join(args)})")
            elif section == "properties":
                mm = re.fullmatch(r"(readonly|readwrite) (\S+) (\w+)(?: = .*)?", line)
                if not mm:
                    raise SystemExit(f"{name}: cannot parse property line: {line}")
                members.add(f"property {mm.group(1)} {mm.group(2)} {mm.group(3)}")
            else:
                raise SystemExit(f"{name}: member outside a section: {line}")
        interfaces[name] = members
    return interfaces


def main():
    vfiod, manpage = sys.argv[1], sys.argv[2]
    documented = from_manpage(open(manpage, encoding="utf-8").read())
    served = subprocess.run([vfiod, "--bus-introspect=list"], check=True, capture_output=True,
                            text=True).stdout.split()
    failures = 0
    for interface in served:
        real = from_introspection(vfiod, interface)
        doc = documented.pop(interface, None)
        if doc is None:
            print(f"{interface}: not documented in {manpage}")
            failures += 1
            continue
        for m in sorted(real - doc):
            print(f"{interface}: served but not documented: {m}")
            failures += 1
        for m in sorted(doc - real):
            print(f"{interface}: documented but not served: {m}")
            failures += 1
        print(f"{interface}: {len(real)} members checked")
    for interface in documented:
        print(f"{interface}: documented but not served")
        failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
