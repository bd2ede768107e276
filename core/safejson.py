"""JSON from outside Docket, read with a limit on nesting.

Python's ``json`` recurses once per level of arrays and objects: a body of a few thousand
``[`` raises ``RecursionError``, which is no ``ValueError``, so every caller that refuses bad
JSON by catching ``ValueError`` let it through as a 500. Whatever Docket parses from a request
or an uploaded file (the DRF parser, the ingest webhooks and commands, OSCAL imports, evidence
format checks) goes through ``loads`` here: more than ``MAX_DEPTH`` levels is ``TooDeep``, a
``ValueError`` that names the limit, found by a scan of the text before the parser recurses.

Pure Python, no Django.
"""

from __future__ import annotations

import json
from itertools import accumulate

# Real documents nest far less: a Falco alert 3 levels, an OSCAL catalog about 15.
MAX_DEPTH = 100

# Every byte but brackets and the quote, for bytes.translate to delete (C speed, no regex).
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TooDeep(ValueError):
    """The JSON nests arrays and objects more deeply than Docket reads."""


def depth(text: str | bytes) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest; brackets inside strings do
    not count. For text that is not JSON the number means little (the parser refuses it)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if b"\\" in data:
        # Escaped backslashes first, then escaped quotes: no quote left can be inside a string
        # without delimiting it. (UTF-8 continuation bytes never equal an ASCII byte.)
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(None, _NOT_STRUCTURE)
    outside_strings = b"".join(skeleton.split(b'"')[::2])
    return max(accumulate(map(_STEP.__getitem__, outside_strings)), default=0)


def check_depth(text: str | bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``TooDeep`` when ``text`` nests more than ``max_depth`` levels."""
    if isinstance(text, bytes | bytearray):
        if json.detect_encoding(text) not in ("utf-8", "utf-8-sig"):
            # UTF-16 and UTF-32 code units may hold a bracket's byte: scan the decoded text.
            text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
            return check_depth(text, max_depth)
        opening = text.count(b"[") + text.count(b"{")
    else:
        opening = text.count("[") + text.count("{")
    if opening <= max_depth:
        return  # cannot be deeper: skip the scan
    if depth(text) > max_depth:
        raise TooDeep(too_deep_message(max_depth))


def too_deep_message(max_depth: int = MAX_DEPTH) -> str:
    return f"nested more than {max_depth} levels deep (arrays and objects within each other)"


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, **kwargs):
    """``json.loads`` that refuses documents nested more than ``max_depth`` levels with
    ``TooDeep`` instead of recursing until Python gives up."""
    check_depth(text, max_depth)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise TooDeep(too_deep_message(max_depth)) from None
