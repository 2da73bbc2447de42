#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A vfiod client written with GLib's GDBus, not with this project's code.

usage: gdbus-client.py DEVICE [TIMES]

Claims the edu DEVICE (a PCI address) over the system bus with
io.vfiod.Broker1.Manager.Claim, takes the device fd from the reply's
Gio.UnixFDList, asks it for BAR0 with VFIO_DEVICE_GET_REGION_INFO, mmaps
BAR0, reads the id register and exercises the liveness register, then calls
Release() on the claim; all that TIMES times (default 1) on one connection.
It proves the D-Bus API of io.vfiod.Broker1(5) is usable from another D-Bus
stack.

Prints "claim PATH", "mode MODE", "bar0 size SIZE offset OFFSET flags FLAGS",
"id 0x...", "liveness ok", "released" for each claim. Exit status: 0 on
success, 1 when the device misbehaves, 2 when vfiod answers with a D-Bus
error, printed as "error NAME: MESSAGE" (NAME is the D-Bus error name, e.g.
io.vfiod.Error.PermissionDenied), 77 without python3-gi.
"""

import fcntl
import mmap
import os
import struct
import sys

try:
    import gi

    gi.require_version("Gio", "2.0")
    from gi.repository import Gio, GLib
except (ImportError, ValueError) as e:
    print(f"python3-gi with Gio 2.0 is not available: {e}", file=sys.stderr)
    sys.exit(77)

BUS_NAME = "io.vfiod.Broker1"
MANAGER_PATH = "/io/vfiod/Broker1"
TIMEOUT_MS = 30_000

# <linux/ioctl.h>: _IOC(dir, type, nr, size) is
# dir << 30 | size << 16 | type << 8 | nr. VFIO declares its ioctls with _IO
# (dir 0, size 0) and passes the size in the struct's argsz instead.
IOC_NRSHIFT, IOC_TYPESHIFT = 0, 8


def _io(ioc_type, nr):
    return ioc_type << IOC_TYPESHIFT | nr << IOC_NRSHIFT


# <linux/vfio.h>: VFIO_TYPE is ';', VFIO_BASE 100, and
# VFIO_DEVICE_GET_REGION_INFO is _IO(VFIO_TYPE, VFIO_BASE + 8).
VFIO_TYPE = ord(";")
VFIO_BASE = 100
VFIO_DEVICE_GET_REGION_INFO = _io(VFIO_TYPE, VFIO_BASE + 8)
VFIO_PCI_BAR0_REGION_INDEX = 0
VFIO_REGION_INFO_FLAG_MMAP = 1 << 2

# struct vfio_region_info: __u32 argsz, flags, index, cap_offset;
# __u64 size, offset.
REGION_INFO = struct.Struct("=IIIIQQ")

# The edu device (QEMU docs/specs/edu.rst), BAR0 registers.
EDU_ID = 0x00  # 0xRRrr00ed: version RR.rr
EDU_ID_VALUE = 0x010000ED
EDU_LIVENESS = 0x04  # reads back the bitwise NOT of what was written


def region_info(device_fd, index):
    """Returns (flags, size, offset) of region INDEX of a VFIO device fd."""
    buf = bytearray(REGION_INFO.pack(REGION_INFO.size, 0, index, 0, 0, 0))
    fcntl.ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, buf, True)
    _, flags, _, _, size, offset = REGION_INFO.unpack(buf)
    return flags, size, offset


def check_bar0(device_fd):
    """Maps BAR0, checks the id and liveness registers; True when both are right."""
    flags, size, offset = region_info(device_fd, VFIO_PCI_BAR0_REGION_INDEX)
    print(f"bar0 size {size:#x} offset {offset:#x} flags {flags:#x}")
    if not flags & VFIO_REGION_INFO_FLAG_MMAP or size < 8:
        print("bar0 cannot be mapped", file=sys.stderr)
        return False
    bar = mmap.mmap(device_fd, size, mmap.MAP_SHARED,
                    mmap.PROT_READ | mmap.PROT_WRITE, offset=offset)
    # edu answers only 4- and 8-byte accesses: a memoryview of native
    # unsigned ints reads and writes each register with one 4-byte access.
    with memoryview(bar) as raw, raw.cast("I") as regs:
        dev_id = regs[EDU_ID // 4]
        print(f"id {dev_id:#010x}")
        alive = True
        for pattern in (0x00000000, 0x12345678, 0xFFFFFFFF, 0xA5A5A5A5):
            regs[EDU_LIVENESS // 4] = pattern
            got = regs[EDU_LIVENESS // 4]
            if got != ~pattern & 0xFFFFFFFF:
                print(f"liveness: wrote {pattern:#010x}, read {got:#010x}",
                      file=sys.stderr)
                alive = False
    bar.close()
    if alive:
        print("liveness ok")
    return dev_id == EDU_ID_VALUE and alive


def claim(bus, device):
    """Claims DEVICE; returns (claim path, device fd, DMA mode). The caller owns the fd."""
    reply, fd_list = bus.call_with_unix_fd_list_sync(
        BUS_NAME, MANAGER_PATH, "io.vfiod.Broker1.Manager", "Claim",
        GLib.Variant("(asa{sv})", ([device], {})),
        GLib.VariantType("(oa(sh)a{sv})"),
        Gio.DBusCallFlags.NONE, TIMEOUT_MS, None, None)
    # The 'h' values are indexes into fd_list. Take every fd (the device's
    # and, in container mode, the container's) so none is left unowned.
    fds = fd_list.steal_fds() if fd_list is not None else []
    path, device_fds, dma = reply.unpack()
    device_fd = None
    for address, index in device_fds:
        if address == device and 0 <= index < len(fds):
            device_fd = fds[index]
    for fd in fds:
        if fd != device_fd:
            os.close(fd)
    if device_fd is None:
        raise RuntimeError(f"no fd for {device} in the reply")
    return path, device_fd, dma.get("mode", "")


def release(bus, path):
    bus.call_sync(BUS_NAME, path, "io.vfiod.Broker1.Claim", "Release",
                  None, None, Gio.DBusCallFlags.NONE, TIMEOUT_MS, None)


def claim_check_release(bus, device):
    """One claim; True when the device answered right."""
    path, device_fd, mode = claim(bus, device)
    print(f"claim {path}")
    print(f"mode {mode}")
    try:
        ok = check_bar0(device_fd)
    finally:
        os.close(device_fd)
    release(bus, path)
    print("released", flush=True)
    return ok


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    device = sys.argv[1]
    times = int(sys.argv[2]) if len(sys.argv) == 3 else 1
    bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    ok = True
    try:
        for _ in range(times):
            ok = claim_check_release(bus, device) and ok
    except GLib.Error as e:
        if not Gio.DBusError.is_remote_error(e):
            raise
        name = Gio.DBusError.get_remote_error(e)
        # The message reads "GDBus.Error:NAME: text"; the Python copy of the
        # error cannot be stripped in place with strip_remote_error().
        prefix = f"GDBus.Error:{name}: "
        message = e.message[len(prefix):] if e.message.startswith(prefix) else e.message
        print(f"error {name}: {message}")
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
