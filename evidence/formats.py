"""What a file is, by its content — and whether it is a well-formed one. Pure Python, no Django.

Everything works on a stream: an ``Inspector`` is *fed* chunks as they arrive (so an upload is
hashed, stored and validated in one pass) and ``close()``\\ d at the end, when it answers with a
``FormatInfo`` or raises ``FormatError`` naming the problem and its byte offset. ``inspect()``
and ``validate_scap()`` do the same for a file-like object. Memory stays bounded whatever the
size: block bodies are skipped, not buffered, and gzip is inflated a bounded piece at a time
under a cap on the decompressed size (a gzip bomb fails, it does not fill memory or disk).

Recognised: scap captures (plain or gzip-wrapped), pcap (both byte orders, micro- and
nanosecond magic), pcapng, gzip, JSON, JSON lines, PDF, PNG, JPEG, UTF-8 text. The scap rules
follow ``../shared/DETECTION.md`` (libscap's reader): a pcapng-like block stream whose first
block is a section header (type 0x0A0D0D0A, byte-order magic ``4D 3C 2B 1A`` at offset 8,
version 1.0–1.2) and whose second block is machine info (0x201); pcapng shares the first block
and is told apart by the second (interface description 0x1, packets 0x6/0x3).
"""

from __future__ import annotations

import codecs
import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from core import safejson

HEAD_SIZE = 8192  # bytes looked at to choose a format
CHUNK_SIZE = 1 << 20
DEFAULT_MAX_DECOMPRESSED = 4 << 30  # inflating more than this is refused (gzip bomb)
JSON_DOCUMENT_CAP = 32 << 20  # one JSON document is parsed whole only up to this size
JSON_LINE_CAP = 16 << 20

SHB_TYPE = 0x0A0D0D0A
BOM_LE = b"\x4d\x3c\x2b\x1a"
BOM_BE = b"\x1a\x2b\x3c\x4d"

# scap block types by family (libscap's scap_savefile.h).
SCAP_EVENT_TYPES = frozenset({0x204, 0x216, 0x221, 0x208, 0x217, 0x222, 0x8010ABCD})
SCAP_FAMILIES: dict[int, str] = {SHB_TYPE: "section_header", 0x201: "machine_info"}
SCAP_FAMILIES.update(
    dict.fromkeys((0x202, 0x207, 0x209, *range(0x210, 0x216)), "process_list")
    | dict.fromkeys((0x203, 0x218), "fd_list")
    | dict.fromkeys((0x205, 0x219), "interface_list")
    | dict.fromkeys((0x206, 0x220), "user_list")
    | dict.fromkeys(SCAP_EVENT_TYPES, "event")
)
PCAPNG_FAMILIES = {
    SHB_TYPE: "section_header",
    0x1: "interface_description",
    0x2: "packet",
    0x3: "packet",
    0x6: "packet",
    0x4: "name_resolution",
    0x5: "interface_statistics",
    0xA: "decryption_secrets",
}
PCAPNG_SECOND_BLOCK = {
    0x1: "interface description",
    0x6: "enhanced packet",
    0x3: "simple packet",
}
PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", "microsecond"),
    b"\xa1\xb2\xc3\xd4": (">", "microsecond"),
    b"\x4d\x3c\xb2\xa1": ("<", "nanosecond"),
    b"\xa1\xb2\x3c\x4d": (">", "nanosecond"),
}
PCAP_MAX_RECORD = 256 << 20

# What each evidence kind may contain (keys are ``evidence.models.Kind`` values).
KIND_FORMATS: dict[str, frozenset[str]] = {
    "scap": frozenset({"scap"}),
    "pcap": frozenset({"pcap", "pcapng"}),
    "falco_alerts": frozenset({"json", "jsonl"}),
    "k8s_audit": frozenset({"json", "jsonl"}),
    "log": frozenset({"text", "json", "jsonl"}),
    "document": frozenset({"pdf", "text", "json", "jsonl"}),
    "image": frozenset({"png", "jpeg"}),
}
FORMAT_NAMES = {
    "scap": "a scap capture",
    "pcap": "a pcap capture",
    "pcapng": "a pcapng capture",
    "gzip": "gzip-compressed data of no recognised format",
    "json": "a JSON document",
    "jsonl": "JSON lines",
    "pdf": "a PDF document",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "text": "UTF-8 text",
    "data": "binary data of no recognised format",
    "empty": "an empty file",
}


class FormatError(ValueError):
    """The content is not a well-formed file of its format. ``reason`` names the problem,
    ``offset`` the byte where it was found (in the decompressed stream when ``compressed``)."""

    def __init__(self, reason: str, offset: int | None = None, format: str | None = None):
        self.reason = reason
        self.offset = offset
        self.format = format
        self.compressed = False
        super().__init__(reason)

    def __str__(self) -> str:
        if self.offset is None:
            return self.reason
        where = "decompressed byte" if self.compressed else "byte"
        return f"{self.reason} (at {where} {self.offset})"


@dataclass
class FormatInfo:
    """The recognised format, its compression (``"gzip"`` or ``None``) and format details
    (for scap: version and block counts by family)."""

    format: str
    compression: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "compression": self.compression, **self.details}


def _hex(value: int) -> str:
    return f"0x{value:X}"


# --- sniffing -------------------------------------------------------------------------------


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _json_flavour(head: bytes) -> str | None:
    """``"json"``, ``"jsonl"`` or ``None`` from the first bytes."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")
    if text[:1] not in (b"{", b"["):
        return None
    first, newline, rest = text.partition(b"\n")
    if newline and rest.strip():
        try:
            safejson.loads(first)
        except ValueError:
            return "json"  # a document spread over lines (pretty-printed)
        return "jsonl"
    return "json"


def sniff(head: bytes) -> str:
    """A first guess from the leading bytes: ``"gzip"``, ``"blocks"`` (scap or pcapng: the
    block walk decides), ``"pcap"``, ``"pdf"``, ``"png"``, ``"jpeg"``, ``"json"``, ``"jsonl"``,
    ``"text"``, ``"data"`` or ``"empty"``."""
    if not head:
        return "empty"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x0a\x0d\x0d\x0a"):
        return "blocks"
    if head[:4] in PCAP_MAGIC:
        return "pcap"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if _looks_like_text(head):
        return _json_flavour(head) or "text"
    return "data"


# --- the scap / pcapng block walk -------------------------------------------------------------


class _BlockWalker:
    """Walks ``u32 type, u32 total_len, body, u32 total_len`` blocks. A tight loop over the
    buffered bytes (captures hold millions of small event blocks); bodies of blocks larger than
    the buffer are skipped, not kept."""

    def __init__(self):
        self.buf = bytearray()
        self.base = 0  # absolute offset of buf[0]
        self.counts: dict[int, int] = {}
        self.nblocks = 0
        self.fmt = "<"
        self.swapped = False
        self.kind: str | None = None  # "scap" or "pcapng" once the second block is seen
        self.version = ""
        self.second: tuple[int, int] | None = None
        self.skip = 0  # body bytes still to skip of the block in progress
        self.pending: tuple[int, int, int] | None = None  # (offset, type, length) awaiting trailer

    def _err(self, reason: str, offset: int) -> FormatError:
        return FormatError(reason, offset, format=self.kind or "scap")

    def _section_header(self, buf, pos: int, off: int) -> int:
        bom = bytes(buf[pos + 8 : pos + 12])
        if bom == BOM_BE:
            self.swapped, self.fmt = True, ">"
        elif bom != BOM_LE:
            raise self._err(
                f"section header byte-order magic is {bom.hex(' ').upper()}, expected 4D 3C 2B 1A",
                off + 8,
            )
        (length,) = struct.unpack_from(self.fmt + "I", buf, pos + 4)
        major, minor = struct.unpack_from(self.fmt + "HH", buf, pos + 12)
        if self.swapped and (length < 28 or length % 4 or major != 1 or minor > 2):
            raise self._swapped(off)
        if length < 28:
            raise self._err(f"section header total length {length} is below 28", off + 4)
        if major != 1 or minor > 2:
            raise self._err(
                f"section header version {major}.{minor} is not supported (1.0–1.2)", off + 12
            )
        if self.nblocks == 0:
            self.version = f"{major}.{minor}"
        return length

    def _swapped(self, off: int) -> FormatError:
        return FormatError(
            "section header byte-order magic is byte-swapped (1A 2B 3C 4D): libscap reads only "
            "little-endian captures (4D 3C 2B 1A)",
            off + 8,
            format="scap",
        )

    def _second_block(self, btype: int, off: int) -> None:
        self.second = (btype, off)
        if btype == 0x201:
            if self.swapped:
                raise self._swapped(0)
            self.kind = "scap"
        elif btype in PCAPNG_SECOND_BLOCK:
            self.kind = "pcapng"
        else:
            raise self._err(
                f"second block has type {_hex(btype)}: neither scap machine info (0x201) nor a "
                "pcapng interface description (0x1) or packet block (0x6, 0x3)",
                off,
            )

    def feed(self, data) -> None:
        self.buf += data
        self._run(final=False)

    def _run(self, final: bool) -> None:
        buf, fmt, pos, end = self.buf, self.fmt, 0, len(self.buf)
        unpack = struct.unpack_from
        counts = self.counts
        while True:
            if self.skip:
                take = min(self.skip, end - pos)
                pos += take
                self.skip -= take
                if self.skip:
                    break
            if self.pending is not None:
                if end - pos < 4:
                    break
                off, btype, length = self.pending
                (trail,) = unpack(fmt + "I", buf, pos)
                if trail != length:
                    raise self._err(
                        f"block at offset {off} (type {_hex(btype)}): trailing length {trail} "
                        f"differs from the leading length {length}",
                        self.base + pos,
                    )
                pos += 4
                self.pending = None
                continue
            if self.nblocks >= 2:
                pos = self._fast(buf, pos, end)
            avail = end - pos
            if avail < 8 or (self.nblocks == 0 and avail < 28 and not final):
                break
            off = self.base + pos
            btype, length = unpack(fmt + "II", buf, pos)
            if self.nblocks == 0:
                if btype != SHB_TYPE:
                    raise self._err(
                        f"first block has type {_hex(btype)}, expected a section header "
                        "(0x0A0D0D0A)",
                        off,
                    )
                if avail < 28:
                    break  # final: reported as truncated below
                length = self._section_header(buf, pos, off)
                fmt = self.fmt
            if length < 12 or length % 4:
                if self.swapped and self.nblocks <= 1:
                    raise self._swapped(0)
                problem = "below 12" if length < 12 else "not a multiple of 4"
                raise self._err(
                    f"block at offset {off} (type {_hex(btype)}): total length {length} is "
                    f"{problem}",
                    off + 4,
                )
            if self.nblocks == 1:
                self._second_block(btype, off)
            self.nblocks += 1
            counts[btype] = counts.get(btype, 0) + 1
            if length <= avail:  # the common case: the whole block is buffered
                (trail,) = unpack(fmt + "I", buf, pos + length - 4)
                if trail != length:
                    if self.swapped and self.nblocks <= 2:
                        raise self._swapped(0)
                    raise self._err(
                        f"block at offset {off} (type {_hex(btype)}): trailing length {trail} "
                        f"differs from the leading length {length}",
                        off + length - 4,
                    )
                pos += length
            else:
                self.skip = length - 12 - (avail - 8)
                self.pending = (off, btype, length)
                pos = end
        del buf[:pos]
        self.base += pos

    def _fast(self, buf, pos: int, end: int) -> int:
        """Walk whole, well-formed blocks with nothing but locals; stop at the first block
        that needs the careful path (incomplete, or malformed: reported from there)."""
        header = struct.Struct(self.fmt + "II").unpack_from
        trailer = struct.Struct(self.fmt + "I").unpack_from
        counts, n = self.counts, 0
        while end - pos >= 8:
            btype, length = header(buf, pos)
            if length < 12 or length & 3 or length > end - pos:
                break
            if trailer(buf, pos + length - 4)[0] != length:
                break
            try:
                counts[btype] += 1
            except KeyError:
                counts[btype] = 1
            pos += length
            n += 1
        self.nblocks += n
        return pos

    def close(self) -> FormatInfo:
        self._run(final=True)
        end = self.base + len(self.buf)
        if self.skip or self.pending is not None:
            off, btype, length = self.pending
            if self.swapped and self.nblocks <= 2:
                raise self._swapped(0)
            raise self._err(
                f"block at offset {off} (type {_hex(btype)}) is truncated: it declares {length} "
                f"bytes but the data ends at offset {end}",
                end,
            )
        if self.buf:
            what = "section header" if self.nblocks == 0 else "block header"
            raise self._err(
                f"truncated {what} at offset {self.base} ({len(self.buf)} bytes)", self.base
            )
        if self.nblocks < 2:
            raise self._err(
                "only a section header: no second block tells scap from pcapng", self.base
            )
        if self.kind == "scap":
            return self._scap_info(end)
        return self._pcapng_info()

    def _families(self, table: dict[int, str]) -> dict[str, int]:
        families: dict[str, int] = {}
        for btype, n in self.counts.items():
            name = table.get(btype, "other")
            families[name] = families.get(name, 0) + n
        return dict(sorted(families.items()))

    def _scap_info(self, end: int) -> FormatInfo:
        families = self._families(SCAP_FAMILIES)
        if not families.get("event"):
            raise self._err(
                f"no event block (0x204, 0x216, 0x221, 0x208, 0x217, 0x222 or 0x8010ABCD) in "
                f"{self.nblocks} blocks: a scap capture records at least one event",
                end,
            )
        unknown = sorted(_hex(t) for t in self.counts if t not in SCAP_FAMILIES)
        details = {
            "version": self.version,
            "blocks": self.nblocks,
            "block_counts": families,
            "size": end,
        }
        if unknown:
            details["unknown_block_types"] = unknown
        return FormatInfo("scap", details=details)

    def _pcapng_info(self) -> FormatInfo:
        btype, off = self.second
        return FormatInfo(
            "pcapng",
            details={
                "version": self.version,
                "byte_order": "big" if self.swapped else "little",
                "blocks": self.nblocks,
                "block_counts": self._families(PCAPNG_FAMILIES),
                "second_block_offset": off,
                "not_scap_because": (
                    f"second block at offset {off} is a pcapng {PCAPNG_SECOND_BLOCK[btype]} "
                    f"block ({_hex(btype)}), not scap machine info (0x201)"
                ),
            },
        )


# --- formats checked with a small pull-style parser ------------------------------------------


class _Parser:
    """Drives a generator that asks for bytes: ``data = yield n`` (up to ``n`` bytes; fewer only
    at the end of the data) and ``yield -n`` (skip ``n`` bytes; answered with the count skipped).
    The generator returns the ``FormatInfo``; whatever follows its return is ignored."""

    def __init__(self, gen):
        self.gen = gen
        self.buf = bytearray()
        self.done = False
        self.result: FormatInfo | None = None
        self.want = next(gen)
        self.skipped = 0

    def _send(self, value) -> None:
        try:
            self.want = self.gen.send(value)
        except StopIteration as stop:
            self.done, self.result = True, stop.value

    def feed(self, data) -> None:
        view = memoryview(data)
        while view and not self.done:
            want = self.want
            if want < 0:
                take = min(-want - self.skipped, len(view))
                self.skipped += take
                view = view[take:]
                if self.skipped == -want:
                    self.skipped = 0
                    self._send(-want)
            else:
                take = min(want - len(self.buf), len(view))
                self.buf += view[:take]
                view = view[take:]
                if len(self.buf) == want:
                    data, self.buf = bytes(self.buf), bytearray()
                    self._send(data)

    def close(self) -> FormatInfo:
        for _ in range(3):  # a parser asks at most a couple of times after the end
            if self.done:
                return self.result
            if self.want < 0:
                skipped, self.skipped = self.skipped, 0
                self._send(skipped)
            else:
                data, self.buf = bytes(self.buf), bytearray()
                self._send(data)
        raise RuntimeError("parser did not finish at the end of the data")


def _pcap():
    offset = 0
    header = yield 24
    if len(header) < 24:
        raise FormatError("truncated pcap global header", len(header), format="pcap")
    order, resolution = PCAP_MAGIC[header[:4]]
    major, minor, _zone, _sigfigs, snaplen, linktype = struct.unpack(order + "HHiIII", header[4:])
    if major != 2:
        raise FormatError(f"pcap version {major}.{minor} is not supported (2.x)", 4, format="pcap")
    limit = max(snaplen, 262144)
    offset, packets, first, last = 24, 0, None, None
    while True:
        record = yield 16
        if not record:
            break
        if len(record) < 16:
            raise FormatError(
                f"truncated packet record header at offset {offset} ({len(record)} of 16 bytes)",
                offset,
                format="pcap",
            )
        seconds, _fraction, incl_len, _orig_len = struct.unpack(order + "IIII", record)
        if incl_len > min(limit, PCAP_MAX_RECORD):
            raise FormatError(
                f"packet record at offset {offset}: captured length {incl_len} exceeds the "
                f"snapshot length {snaplen}",
                offset + 8,
                format="pcap",
            )
        got = (yield -incl_len) if incl_len else 0
        if got < incl_len:
            raise FormatError(
                f"packet record at offset {offset} is truncated: {incl_len} bytes declared, "
                f"{got} present",
                offset + 16 + got,
                format="pcap",
            )
        packets += 1
        first = seconds if first is None else first
        last = seconds
        offset += 16 + incl_len
    return FormatInfo(
        "pcap",
        details={
            "version": f"{major}.{minor}",
            "byte_order": "little" if order == "<" else "big",
            "timestamp_resolution": resolution,
            "snaplen": snaplen,
            "linktype": linktype & 0xFFFF,
            "packets": packets,
            "first_packet_epoch": first,
            "last_packet_epoch": last,
        },
    )


def _png():
    signature = yield 8
    if len(signature) < 8:
        raise FormatError("truncated PNG signature", 0, format="png")
    offset, chunks, width, height = 8, 0, None, None
    while True:
        header = yield 8
        if not header:
            raise FormatError("no IEND chunk: the image is truncated", offset, format="png")
        if len(header) < 8:
            raise FormatError(f"truncated chunk header at offset {offset}", offset, format="png")
        length, ctype = struct.unpack(">I4s", header)
        if length > 0x7FFFFFFF:
            raise FormatError(f"chunk length {length} is too large", offset, format="png")
        name = ctype.decode("latin-1")
        if chunks == 0:
            if ctype != b"IHDR" or length != 13:
                raise FormatError("the first chunk is not IHDR", offset, format="png")
            body = yield 13
            if len(body) < 13:
                raise FormatError("truncated IHDR chunk", offset + 8, format="png")
            width, height = struct.unpack(">II", body[:8])
            got = 13 + ((yield -4) or 0)
        else:
            got = (yield -(length + 4)) if length + 4 else 0
        if got < length + 4:
            raise FormatError(
                f"chunk {name} at offset {offset} is truncated", offset + 8 + got, format="png"
            )
        chunks += 1
        offset += 12 + length
        if ctype == b"IEND":
            return FormatInfo("png", details={"width": width, "height": height, "chunks": chunks})


_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE})


def _jpeg():
    soi = yield 2
    if soi != b"\xff\xd8":
        raise FormatError("no JPEG start-of-image marker", 0, format="jpeg")
    offset, width, height = 2, None, None
    while True:  # marker segments up to the start of scan
        marker = yield 2
        if len(marker) < 2:
            raise FormatError("the image is truncated before its scan", offset, format="jpeg")
        if marker[0] != 0xFF:
            raise FormatError(f"expected a marker at offset {offset}", offset, format="jpeg")
        code = marker[1]
        offset += 2
        if code == 0xFF or 0xD0 <= code <= 0xD7 or code == 0x01:
            continue
        raw = yield 2
        if len(raw) < 2:
            raise FormatError("truncated marker segment", offset, format="jpeg")
        (length,) = struct.unpack(">H", raw)
        if length < 2:
            raise FormatError(f"marker segment length {length} below 2", offset, format="jpeg")
        body = yield length - 2
        if len(body) < length - 2:
            raise FormatError("truncated marker segment", offset, format="jpeg")
        if code in _JPEG_SOF and len(body) >= 5:
            height, width = struct.unpack(">HH", body[1:5])
        offset += length
        if code == 0xDA:
            break
    tail = b""
    while True:  # entropy-coded data: only the end matters
        piece = yield CHUNK_SIZE
        if not piece:
            break
        tail = (tail + piece)[-4096:]
    if b"\xff\xd9" not in tail:
        raise FormatError("no JPEG end-of-image marker: the image is truncated", None, "jpeg")
    return FormatInfo("jpeg", details={"width": width, "height": height})


def _pdf():
    head = yield 1024
    start = head.find(b"%PDF-")
    version = head[start + 5 : start + 8].decode("latin-1")
    if not (len(version) == 3 and version[0].isdigit() and version[2].isdigit()):
        raise FormatError("malformed %PDF- header", start, format="pdf")
    tail, size = head[-2048:], len(head)
    while True:
        piece = yield CHUNK_SIZE
        if not piece:
            break
        size += len(piece)
        tail = (tail + piece)[-2048:]
    if b"%%EOF" not in tail[-1024:]:
        raise FormatError(
            "no %%EOF marker in the last 1024 bytes: the document is truncated", size, "pdf"
        )
    return FormatInfo("pdf", details={"version": version})


class _Text:
    """UTF-8 without NUL bytes; counts lines."""

    name = "text"

    def __init__(self):
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.size = 0
        self.lines = 0

    def feed(self, data) -> None:
        data = bytes(data)
        nul = data.find(b"\x00")
        if nul >= 0:
            raise FormatError("NUL byte in text", self.size + nul, format=self.name)
        pending = len(self.decoder.getstate()[0])
        try:
            self.decoder.decode(data)
        except UnicodeDecodeError as exc:
            raise FormatError(
                "invalid UTF-8", self.size - pending + exc.start, format=self.name
            ) from None
        self.lines += data.count(b"\n")
        self.size += len(data)

    def close(self) -> FormatInfo:
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FormatError("invalid UTF-8 at the end", self.size, format=self.name) from None
        return FormatInfo("text", details={"encoding": "utf-8", "lines": self.lines})


def _classify(value, tally: dict[str, int]) -> None:
    if not isinstance(value, dict):
        return
    tally["objects"] = tally.get("objects", 0) + 1
    if isinstance(value.get("event"), dict) and "outputs" in value:
        value = value["event"]  # falcosidekick-ui envelope
    if {"rule", "priority", "time"} <= value.keys():
        tally["falco_alerts"] = tally.get("falco_alerts", 0) + 1
    if str(value.get("apiVersion", "")).startswith("audit.k8s.io"):
        items = value.get("items") if value.get("kind") == "EventList" else [value]
        n = sum(1 for i in items or [] if isinstance(i, dict))
        tally["k8s_audit_events"] = tally.get("k8s_audit_events", 0) + n


class _JsonLines(_Text):
    name = "jsonl"

    def __init__(self):
        super().__init__()
        self.partial = bytearray()
        self.tally: dict[str, int] = {"records": 0}
        self.line_start = 0

    def feed(self, data) -> None:
        super().feed(data)
        self.partial += data
        if len(self.partial) > JSON_LINE_CAP and b"\n" not in self.partial:
            raise FormatError(
                f"line {self.tally['records'] + 1} exceeds {JSON_LINE_CAP} bytes",
                self.line_start,
                format="jsonl",
            )
        *complete, rest = bytes(self.partial).split(b"\n")
        for line in complete:
            self._line(line)
        self.partial = bytearray(rest)

    def _line(self, line: bytes) -> None:
        start, self.line_start = self.line_start, self.line_start + len(line) + 1
        line = line.strip()
        if start == 0:
            line = line.removeprefix(codecs.BOM_UTF8)
        if not line:
            return
        try:
            value = safejson.loads(line)
        except ValueError as exc:
            raise FormatError(
                f"record {self.tally['records'] + 1} is not valid JSON: {exc}", start, "jsonl"
            ) from None
        self.tally["records"] += 1
        _classify(value, self.tally)

    def close(self) -> FormatInfo:
        super().close()
        self._line(bytes(self.partial))
        if not self.tally["records"]:
            raise FormatError("no JSON record", 0, format="jsonl")
        return FormatInfo("jsonl", details=dict(self.tally))


class _JsonDocument(_Text):
    """One JSON document, parsed whole up to ``JSON_DOCUMENT_CAP``; beyond that only checked
    as UTF-8 text (``parsed: false``). A document that turns out to be several values on
    several lines is JSON lines."""

    name = "json"

    def __init__(self):
        super().__init__()
        self.data: bytearray | None = bytearray()

    def feed(self, data) -> None:
        super().feed(data)
        if self.data is not None:
            self.data += data
            if len(self.data) > JSON_DOCUMENT_CAP:
                self.data = None

    def close(self) -> FormatInfo:
        super().close()
        if self.data is None:
            return FormatInfo("json", details={"parsed": False, "size": self.size})
        text = bytes(self.data).removeprefix(codecs.BOM_UTF8)
        try:
            value = safejson.loads(text)
        except safejson.TooDeep as exc:
            raise FormatError(f"refused: the JSON is {exc}", 0, format="json") from None
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data":
                lines = _JsonLines()
                lines.feed(text)
                return lines.close()
            raise FormatError(f"not valid JSON: {exc.msg}", exc.pos, format="json") from None
        tally: dict[str, int] = {}
        for item in value if isinstance(value, list) else [value]:
            _classify(item, tally)
        return FormatInfo(
            "json", details={"parsed": True, "top_level": type(value).__name__, **tally}
        )


class _Opaque:
    """Recognised by nothing: only its size is known."""

    def __init__(self, name: str):
        self.name = name
        self.size = 0

    def feed(self, data) -> None:
        self.size += len(data)

    def close(self) -> FormatInfo:
        return FormatInfo(self.name, details={"size": self.size})


class _Gunzip:
    """Inflates a gzip stream (several members allowed) a bounded piece at a time and feeds
    the result to an inner inspector; more than ``cap`` decompressed bytes is an error."""

    def __init__(self, cap: int):
        self.cap = cap
        self.inner = Inspector(max_decompressed=cap, _nested=True)
        self.inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self.consumed = 0  # compressed bytes taken
        self.produced = 0
        self.members = 1

    def _err(self, exc: FormatError) -> FormatError:
        exc.compressed = True
        return exc

    def feed(self, data) -> None:
        data = bytes(data)
        while True:
            if self.inflater.eof:
                if not data:
                    return
                if not data.startswith(b"\x1f\x8b"):
                    if not data.strip(b"\x00"):
                        self.consumed += len(data)
                        return  # zero padding after the last member (tape and dd habits)
                    raise FormatError(
                        "data after the end of the gzip stream", self.consumed, format="gzip"
                    )
                self.inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
                self.members += 1
            try:
                out = self.inflater.decompress(data, CHUNK_SIZE)
            except zlib.error as exc:
                raise FormatError(
                    f"corrupt gzip stream: {exc}", self.consumed, format="gzip"
                ) from None
            inflater = self.inflater
            rest = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            self.consumed += len(data) - len(rest)
            data = rest
            self.produced += len(out)
            if self.produced > self.cap:
                raise FormatError(
                    f"decompressed size exceeds the cap of {self.cap} bytes (gzip bomb?)",
                    self.consumed,
                    format="gzip",
                )
            if out:
                try:
                    self.inner.feed(out)
                except FormatError as exc:
                    raise self._err(exc) from None
            if not data and len(out) < CHUNK_SIZE and not inflater.eof:
                return

    def close(self) -> FormatInfo:
        if not self.inflater.eof:
            raise FormatError(
                "the gzip stream is truncated (no end of member)", self.consumed, format="gzip"
            )
        try:
            info = self.inner.close()
        except FormatError as exc:
            raise self._err(exc) from None
        info.details.update({"compressed_size": self.consumed, "decompressed_size": self.produced})
        if info.format in ("data", "gzip"):
            return FormatInfo("gzip", "gzip", details={"members": self.members, **info.details})
        info.compression = "gzip"
        return info


class Inspector:
    """Feed it the content chunk by chunk, then ``close()`` for the ``FormatInfo`` (or a
    ``FormatError``). The first ``HEAD_SIZE`` bytes choose the format; the rest is validated
    as it passes. After a ``FormatError`` the inspector is spent."""

    def __init__(self, *, max_decompressed: int = DEFAULT_MAX_DECOMPRESSED, _nested=False):
        self.max_decompressed = max_decompressed
        self.nested = _nested
        self.head = bytearray()
        self.delegate = None
        self.guess: str | None = None

    @property
    def format_guess(self) -> str | None:
        """The format chosen from the first bytes (before the content is fully validated)."""
        return self.guess

    def _choose(self) -> None:
        guess = sniff(bytes(self.head[:HEAD_SIZE]))
        if guess == "gzip" and self.nested:
            guess = "data"  # gzip inside gzip: not unwrapped further
        self.guess = guess
        self.delegate = {
            "gzip": lambda: _Gunzip(self.max_decompressed),
            "blocks": _BlockWalker,
            "pcap": lambda: _Parser(_pcap()),
            "png": lambda: _Parser(_png()),
            "jpeg": lambda: _Parser(_jpeg()),
            "pdf": lambda: _Parser(_pdf()),
            "json": _JsonDocument,
            "jsonl": _JsonLines,
            "text": _Text,
            "data": lambda: _Opaque("data"),
            "empty": lambda: _Opaque("empty"),
        }[guess]()
        head, self.head = self.head, None
        if head:
            self.delegate.feed(head)

    def feed(self, data) -> None:
        if not data:
            return
        if self.delegate is not None:
            self.delegate.feed(data)
            return
        self.head += data
        if len(self.head) >= HEAD_SIZE:
            self._choose()

    def close(self) -> FormatInfo:
        if self.delegate is None:
            self._choose()
        return self.delegate.close()


def inspect(
    stream: BinaryIO, *, max_decompressed: int = DEFAULT_MAX_DECOMPRESSED, chunk_size=CHUNK_SIZE
) -> FormatInfo:
    """The format of the file-like ``stream``, read to its end in chunks."""
    inspector = Inspector(max_decompressed=max_decompressed)
    while chunk := stream.read(chunk_size):
        inspector.feed(chunk)
    return inspector.close()


def validate_scap(
    stream: BinaryIO, *, max_decompressed: int = DEFAULT_MAX_DECOMPRESSED
) -> FormatInfo:
    """A scap capture's version, compression and block counts; ``FormatError`` naming the
    problem (and its offset) when ``stream`` is not a well-formed capture."""
    info = inspect(stream, max_decompressed=max_decompressed)
    if info.format != "scap":
        raise FormatError(
            kind_mismatch("scap", info) or "not a scap capture",
            info.details.get("second_block_offset"),
            format="scap",
        )
    return info


def describe(info: FormatInfo) -> str:
    text = FORMAT_NAMES.get(info.format, info.format)
    if info.compression and info.format != "gzip":
        text += f" ({info.compression}-compressed)"
    return text


def kind_mismatch(kind: str, info: FormatInfo) -> str | None:
    """Why content of ``info`` cannot be evidence of ``kind`` (``None`` when it can). The kind
    ``other`` takes anything that is not empty."""
    if info.format == "empty":
        return "The file is empty."
    allowed = KIND_FORMATS.get(kind)
    if allowed is None:
        return None
    if info.format not in allowed:
        reason = f"The content is {describe(info)}, not {_kind_phrase(kind)}"
        because = info.details.get("not_scap_because")
        if kind == "scap" and because:
            reason += f": {because}"
        return reason + "."
    if kind == "falco_alerts" and not info.details.get("falco_alerts"):
        return "No record has the rule, priority and time of a Falco alert."
    if kind == "k8s_audit" and not info.details.get("k8s_audit_events"):
        return "No record is a Kubernetes audit event (apiVersion audit.k8s.io/…)."
    return None


def _kind_phrase(kind: str) -> str:
    return {
        "scap": "a scap capture",
        "pcap": "a pcap or pcapng capture",
        "falco_alerts": "a Falco alert export (JSON or JSON lines)",
        "k8s_audit": "a Kubernetes audit log (JSON or JSON lines)",
        "log": "a log file (text)",
        "document": "a document (PDF or text)",
        "image": "an image (PNG or JPEG)",
    }.get(kind, kind)
