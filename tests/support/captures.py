"""Captures: skipping without sysdig, a stand-in sysdig, and capture bytes (the real
``raw.scap`` and its blocks; a crafted pcapng)."""

from __future__ import annotations

import os
import shutil
import stat
import struct

import pytest

from evidence import formats

from .data import shared_file

# Like the shared data: without sysdig these skip with the reason, except under CI=true.
needs_sysdig = pytest.mark.skipif(
    shutil.which("sysdig") is None and os.environ.get("CI") != "true",
    reason="Debian's sysdig is not installed (make test installs it)",
)


def fake_sysdig(tmp_path, script: str) -> str:
    path = tmp_path / "sysdig"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def raw_scap() -> bytes:
    """The bytes of libscap's uncompressed ``raw.scap``."""
    return shared_file("scap", "raw.scap").read_bytes()


def scap_blocks(data: bytes):
    """(offset, type, length) of every block of an uncompressed capture."""
    offset = 0
    while offset < len(data):
        btype, length = struct.unpack_from("<II", data, offset)
        yield offset, btype, length
        offset += length


def pcapng_block(btype: int, body: bytes, order="<") -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack(order + "II", btype, length) + body + struct.pack(order + "I", length)


def pcapng(order="<") -> bytes:
    """A minimal pcapng (section header, interface, one packet) in byte order ``order``."""
    bom = formats.BOM_LE if order == "<" else formats.BOM_BE
    shb = pcapng_block(0x0A0D0D0A, bom[::1] + struct.pack(order + "HHq", 1, 0, -1), order)
    if order == ">":  # the magic is a number written in the file's order
        shb = shb[:8] + formats.BOM_BE + shb[12:]
    idb = pcapng_block(0x1, struct.pack(order + "HHI", 1, 0, 65535), order)
    packet = b"\x45" + b"\0" * 59
    epb = pcapng_block(
        0x6, struct.pack(order + "IIIII", 0, 0, 0, len(packet), len(packet)) + packet, order
    )
    return shb + idb + epb
