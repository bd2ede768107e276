"""The format inspector and the scap validator: pure Python, no database.

The four real captures of falcosecurity/libs must validate with their real block counts; each
crafted defect must fail with the problem named and its byte offset; other formats are told
by their content, whatever their name.
"""

import gzip
import io
import json
import struct
import zlib

import pytest

from evidence import formats
from evidence.formats import FormatError, inspect, kind_mismatch, validate_scap

from .support.captures import pcapng, raw_scap, scap_blocks
from .support.data import CAPTURES, shared_file

# What libscap's own test suite recorded in each capture (block counts by family).
EXPECTED = {
    "curl_google.scap": ("gzip", {"event": 1536, "fd_list": 54}),
    "curl_google_comments.scap": ("gzip", {"event": 1536, "fd_list": 54}),
    "raw.scap": (None, {"event": 1536, "fd_list": 54}),
    "test_ipv6_client.scap": ("gzip", {"event": 326, "fd_list": 58}),
}


def _scap_error(data: bytes, **kwargs) -> FormatError:
    with pytest.raises(FormatError) as caught:
        validate_scap(io.BytesIO(data), **kwargs)
    return caught.value


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, as a slow socket does."""

    def __init__(self, data: bytes, step: int):
        self.data, self.pos, self.step = data, 0, step

    def readable(self):
        return True

    def read(self, size=-1):
        chunk = self.data[self.pos : self.pos + min(self.step, size if size > 0 else self.step)]
        self.pos += len(chunk)
        return chunk


# --- the real captures ----------------------------------------------------------------------


@pytest.mark.parametrize("name", CAPTURES)
def test_real_capture_validates_with_its_details(name):
    path = shared_file("scap", name)
    with path.open("rb") as fh:
        info = validate_scap(fh)
    compression, counts = EXPECTED[name]
    assert info.format == "scap"
    assert info.compression == compression
    assert info.details["version"] == "1.0"
    families = info.details["block_counts"]
    assert families["event"] == counts["event"]
    assert families["fd_list"] == counts["fd_list"]
    for family in ("section_header", "machine_info", "process_list", "user_list"):
        assert families[family] == 1, family
    assert info.details["blocks"] == sum(families.values())
    assert "unknown_block_types" not in info.details


def test_capture_fed_in_tiny_pieces_gives_the_same_answer():
    path = shared_file("scap", "curl_google.scap")
    whole = path.read_bytes()
    assert validate_scap(Trickle(whole, 7)).as_dict() == validate_scap(io.BytesIO(whole)).as_dict()


def test_gzip_wrapping_is_recognised_by_content_not_name():
    raw = raw_scap()
    info = inspect(io.BytesIO(gzip.compress(raw)))
    assert (info.format, info.compression) == ("scap", "gzip")
    assert info.details["decompressed_size"] == len(raw)


def test_a_large_block_is_skipped_not_buffered():
    raw = raw_scap()
    machine = next(b for b in scap_blocks(raw) if b[1] == 0x201)
    body = 8 << 20
    big = struct.pack("<II", 0x203, body + 12) + b"\0" * body + struct.pack("<I", body + 12)
    end = machine[0] + machine[2]
    data = raw[:end] + big + raw[end:]
    inspector = formats.Inspector()
    for start in range(0, len(data), 1 << 16):
        inspector.feed(data[start : start + (1 << 16)])
        walker = inspector.delegate
        assert walker is None or len(walker.buf) < (1 << 17)
    assert inspector.close().details["block_counts"]["fd_list"] == 55


# --- crafted defects -----------------------------------------------------------------------


def test_truncated_capture_is_refused_naming_the_block():
    raw = raw_scap()
    last_offset, _, _ = list(scap_blocks(raw))[-1]
    error = _scap_error(raw[:-10])
    assert "truncated" in error.reason
    assert f"block at offset {last_offset}" in error.reason
    assert error.offset == len(raw) - 10


def test_truncated_gzip_capture_is_refused():
    compressed = shared_file("scap", "curl_google.scap").read_bytes()
    error = _scap_error(compressed[: len(compressed) // 2])
    assert "truncated" in error.reason


def test_bad_trailing_length_is_refused_with_its_offset():
    raw = bytearray(raw_scap())
    offset, _, length = list(scap_blocks(bytes(raw)))[3]
    struct.pack_into("<I", raw, offset + length - 4, length + 4)
    error = _scap_error(bytes(raw))
    assert f"trailing length {length + 4} differs from the leading length {length}" in error.reason
    assert error.offset == offset + length - 4


def test_length_not_a_multiple_of_four_is_refused():
    raw = bytearray(raw_scap())
    offset, _, length = list(scap_blocks(bytes(raw)))[2]
    struct.pack_into("<I", raw, offset + 4, length + 2)
    error = _scap_error(bytes(raw))
    assert "not a multiple of 4" in error.reason
    assert error.offset == offset + 4


def test_swapped_byte_order_magic_is_refused():
    raw = raw_scap()
    error = _scap_error(raw[:8] + b"\x1a\x2b\x3c\x4d" + raw[12:])
    assert "byte-swapped" in error.reason
    assert error.offset == 8


def test_wrong_byte_order_magic_is_refused():
    raw = raw_scap()
    error = _scap_error(raw[:8] + b"\x00\x00\x00\x00" + raw[12:])
    assert "byte-order magic is 00 00 00 00" in error.reason
    assert error.offset == 8


@pytest.mark.parametrize(("major", "minor"), [(2, 0), (1, 3), (0, 1)])
def test_unsupported_version_is_refused(major, minor):
    raw = bytearray(raw_scap())
    struct.pack_into("<HH", raw, 12, major, minor)
    error = _scap_error(bytes(raw))
    assert f"version {major}.{minor} is not supported" in error.reason
    assert error.offset == 12


@pytest.mark.parametrize("minor", [0, 1, 2])
def test_minor_versions_zero_to_two_are_accepted(minor):
    raw = bytearray(raw_scap())
    struct.pack_into("<H", raw, 14, minor)
    assert validate_scap(io.BytesIO(bytes(raw))).details["version"] == f"1.{minor}"


def test_pcapng_is_not_mistaken_for_scap():
    data = pcapng()
    info = inspect(io.BytesIO(data))
    assert info.format == "pcapng"
    assert info.details["block_counts"] == {
        "interface_description": 1,
        "packet": 1,
        "section_header": 1,
    }
    error = _scap_error(data)
    assert "pcapng" in error.reason
    assert "0x201" in error.reason
    assert error.offset == 28


def test_big_endian_pcapng_is_pcapng():
    info = inspect(io.BytesIO(pcapng(">")))
    assert (info.format, info.details["byte_order"]) == ("pcapng", "big")


def test_unknown_second_block_is_refused():
    raw = bytearray(raw_scap())
    struct.pack_into("<I", raw, 28, 0x999)
    error = _scap_error(bytes(raw))
    assert "second block has type 0x999" in error.reason
    assert error.offset == 28


def test_capture_without_event_block_is_refused():
    raw = raw_scap()
    first_event = next(off for off, btype, _ in scap_blocks(raw) if btype == 0x204)
    error = _scap_error(raw[:first_event])
    assert "no event block" in error.reason


def test_section_header_alone_is_refused():
    raw = raw_scap()
    error = _scap_error(raw[:28])
    assert "no second block" in error.reason


def test_gzip_bomb_over_the_cap_is_refused_early():
    bomb = gzip.compress(b"\0" * (32 << 20), compresslevel=9)
    inspector = formats.Inspector(max_decompressed=4 << 20)
    with pytest.raises(FormatError) as caught:
        inspector.feed(bomb)
    assert "exceeds the cap of 4194304 bytes" in caught.value.reason
    # Stopped as soon as the cap was passed: far from all of the compressed input was read.
    assert caught.value.offset < len(bomb)


def test_gzip_bomb_wrapping_a_capture_is_refused_by_validate_scap():
    raw = raw_scap()
    body = 64 << 20  # one well-formed, enormous block of zeros: the walk alone would accept it
    big = struct.pack("<II", 0x203, body + 12) + b"\0" * body + struct.pack("<I", body + 12)
    error = _scap_error(gzip.compress(raw + big, compresslevel=1), max_decompressed=16 << 20)
    assert "exceeds the cap of 16777216 bytes (gzip bomb?)" in error.reason


def test_random_bytes_are_not_a_capture():
    noise = bytes((i * 7919 + 13) % 251 for i in range(50_000))
    assert inspect(io.BytesIO(noise)).format == "data"
    error = _scap_error(noise)
    assert "binary data" in error.reason


def test_empty_input_is_empty():
    assert inspect(io.BytesIO(b"")).format == "empty"
    assert kind_mismatch("other", inspect(io.BytesIO(b""))) == "The file is empty."


# --- other formats ---------------------------------------------------------------------------


def _pcap(magic: bytes, order: str) -> bytes:
    header = magic + struct.pack(order + "HHiIII", 2, 4, 0, 0, 65535, 1)
    packet = b"\x45" + b"\0" * 41
    record = struct.pack(order + "IIII", 1_700_000_000, 5, len(packet), len(packet))
    return header + record + packet + record + packet


@pytest.mark.parametrize(
    ("magic", "order", "byte_order", "resolution"),
    [
        (b"\xd4\xc3\xb2\xa1", "<", "little", "microsecond"),
        (b"\xa1\xb2\xc3\xd4", ">", "big", "microsecond"),
        (b"\x4d\x3c\xb2\xa1", "<", "little", "nanosecond"),
        (b"\xa1\xb2\x3c\x4d", ">", "big", "nanosecond"),
    ],
)
def test_pcap_in_both_byte_orders_and_resolutions(magic, order, byte_order, resolution):
    info = inspect(io.BytesIO(_pcap(magic, order)))
    assert info.format == "pcap"
    assert info.details["byte_order"] == byte_order
    assert info.details["timestamp_resolution"] == resolution
    assert info.details["packets"] == 2


def test_truncated_pcap_is_refused():
    data = _pcap(b"\xd4\xc3\xb2\xa1", "<")
    with pytest.raises(FormatError) as caught:
        inspect(io.BytesIO(data[:-5]))
    assert "packet record at offset 82 is truncated" in caught.value.reason


def _png() -> bytes:
    def chunk(ctype: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(ctype + body)
        return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0\1\2\3" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _jpeg() -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\1\1\0\0\1\0\1\0\0"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 48, 64, 1) + b"\1\x11\0"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\1\0\0\x3f\0"
    return b"\xff\xd8" + app0 + sof0 + sos + b"\x12\x34\xff\x00\x56" + b"\xff\xd9"


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FALCO_ALERT = {
    "hostname": "falco-xczjd",
    "output": "13:44:05.478445995: Critical A shell was spawned in a container",
    "priority": "Critical",
    "rule": "Terminal shell in container",
    "source": "syscall",
    "tags": ["container", "mitre_execution", "shell"],
    "time": "2023-05-25T13:44:05.478445995Z",
    "output_fields": {"container.id": "ee97d9c4186f", "evt.time": 1685022245478445995},
}
K8S_AUDIT = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "level": "Metadata",
    "verb": "create",
    "requestURI": "/api/v1/namespaces/default/pods/kubecon/exec",
}


@pytest.mark.parametrize(
    ("content", "expected", "details"),
    [
        (_png(), "png", {"width": 3, "height": 2}),
        (_jpeg(), "jpeg", {"width": 64, "height": 48}),
        (PDF, "pdf", {"version": "1.7"}),
        (json.dumps([FALCO_ALERT, FALCO_ALERT], indent=2).encode(), "json", {"falco_alerts": 2}),
        (
            "\n".join(json.dumps(x) for x in (FALCO_ALERT, FALCO_ALERT, FALCO_ALERT)).encode(),
            "jsonl",
            {"records": 3, "falco_alerts": 3},
        ),
        (
            "\n".join(json.dumps(K8S_AUDIT) for _ in range(4)).encode() + b"\n",
            "jsonl",
            {"records": 4, "k8s_audit_events": 4},
        ),
        ("Nov 27 00:07:01 host sshd[42]: Accepted key for root ✓\n".encode() * 3, "text", {}),
    ],
    ids=["png", "jpeg", "pdf", "json", "jsonl-falco", "jsonl-k8s", "text"],
)
def test_formats_are_told_by_content(content, expected, details):
    info = inspect(io.BytesIO(content))
    assert info.format == expected
    assert info.compression is None
    for key, value in details.items():
        assert info.details[key] == value, key
    zipped = inspect(io.BytesIO(gzip.compress(content)))
    assert (zipped.format, zipped.compression) == (expected, "gzip")


def test_truncated_pdf_png_and_jpeg_are_refused():
    for content, words in (
        (PDF[:-8], "no %%EOF"),
        (_png()[:-12], "no IEND"),
        (_jpeg()[:-2], "no JPEG end-of-image"),
    ):
        with pytest.raises(FormatError) as caught:
            inspect(io.BytesIO(content))
        assert words in caught.value.reason


def test_bad_json_line_is_refused_with_its_line_and_offset():
    first = json.dumps(FALCO_ALERT).encode() + b"\n"
    data = first + first + b'{"rule": "x", \n'
    with pytest.raises(FormatError) as caught:
        inspect(io.BytesIO(data))
    assert "record 3 is not valid JSON" in caught.value.reason
    assert caught.value.offset == 2 * len(first)


def test_invalid_utf8_in_text_is_refused_with_its_offset():
    data = b"plain log line\n" * 1000 + b"bad \xff byte\n"
    with pytest.raises(FormatError) as caught:
        inspect(io.BytesIO(data))
    assert caught.value.reason == "invalid UTF-8"
    assert caught.value.offset == 15_000 + 4


def test_gzip_of_unknown_content_is_gzip():
    info = inspect(io.BytesIO(gzip.compress(bytes(range(256)) * 64)))
    assert (info.format, info.compression) == ("gzip", "gzip")


@pytest.mark.parametrize(
    ("kind", "content", "words"),
    [
        ("image", b"just some text\n", "UTF-8 text, not an image"),
        ("scap", _pcap(b"\xd4\xc3\xb2\xa1", "<"), "a pcap capture, not a scap capture"),
        ("falco_alerts", b'{"a": 1}\n{"a": 2}\n', "Falco alert"),
        ("k8s_audit", json.dumps(FALCO_ALERT).encode(), "Kubernetes audit event"),
        ("document", _png(), "a PNG image, not a document"),
    ],
)
def test_declared_kind_contradicted_by_content_names_the_reason(kind, content, words):
    reason = kind_mismatch(kind, inspect(io.BytesIO(content)))
    assert reason is not None
    assert words in reason


def test_pcapng_declared_as_scap_names_the_second_block():
    reason = kind_mismatch("scap", inspect(io.BytesIO(pcapng())))
    assert "pcapng capture, not a scap capture" in reason
    assert "second block at offset 28" in reason


def test_matching_kinds_pass():
    assert kind_mismatch("pcap", inspect(io.BytesIO(pcapng()))) is None
    assert kind_mismatch("other", inspect(io.BytesIO(b"\x00\x01"))) is None
    assert kind_mismatch("scap", validate_scap(io.BytesIO(raw_scap()))) is None
