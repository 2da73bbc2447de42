#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares the dynamic symbols libvfioc.so exports with libvfioc.sym and the
functions vfioc.h declares. Usage: check-symbols.py LIB SYMFILE HEADER"""
import re
import subprocess
import sys


def sym_file(path):
    """Returns {symbol: version node} from a linker version script."""
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    symbols = {}
    for node, body in re.findall(r"([\w.]+)\s*\{(.*?)\}\s*[\w.]*\s*;", text, flags=re.S):
        glob = re.split(r"\blocal\s*:", body)[0]
        glob = re.sub(r"\bglobal\s*:", "", glob)
        for name in re.findall(r"([A-Za-z_]\w*)\s*;", glob):
            symbols[name] = node
    return symbols, set(re.findall(r"([\w.]+)\s*\{", text))


def exported(lib, nodes):
    """Returns {symbol: version} for the defined dynamic symbols of lib."""
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        name, _, version = fields[2].partition("@")
        version = version.lstrip("@")
        if fields[1] == "A" and name in nodes:
            continue  # the version node itself
        symbols[name] = version
    return symbols


def declared(header):
    text = re.sub(r"/\*.*?\*/", "", open(header).read(), flags=re.S)
    return set(re.findall(r"\b(vfioc_\w+)\s*\(", text)) - {"vfioc_log_fn"}


def main():
    lib, symfile, header = sys.argv[1:4]
    want, nodes = sym_file(symfile)
    have = exported(lib, nodes)
    decl = declared(header)
    errors = []
    for name in sorted(set(want) - set(have)):
        errors.append(f"{name} is in {symfile} but not exported (missing VFIOC_EXPORT?)")
    for name in sorted(set(have) - set(want)):
        errors.append(f"{name} is exported but not in {symfile}")
    for name in sorted(set(want) & set(have)):
        if have[name] != want[name]:
            errors.append(f"{name} has version '{have[name]}', expected {want[name]}")
    for name in sorted(decl - set(want)):
        errors.append(f"{name} is declared in {header} but not in {symfile}")
    for name in sorted(set(want) - decl):
        errors.append(f"{name} is in {symfile} but not declared in {header}")
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{len(have)} symbols exported, {len(want)} in {symfile}, {len(decl)} declared")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
