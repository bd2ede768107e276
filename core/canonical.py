"""The one canonical JSON of Docket: sorted keys, no spaces, UTF-8, no NaN. Every hash taken
over structured data (custody and audit chains, compliance snapshots, alert identities, report
data) is a SHA-256 of these bytes, so a verifier in another language can recompute it."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(document: Any, *, allow_nan: bool = False) -> bytes:
    """``document`` as canonical JSON bytes. Lone surrogates (which arrive in hostile JSON) are
    kept as they are rather than refused, so hashing never fails on a string JSON allowed."""
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=allow_nan
    )
    return text.encode("utf-8", "surrogatepass")


def canonical_sha256(document: Any, *, allow_nan: bool = False) -> str:
    """Hex SHA-256 of ``canonical_json(document)``."""
    return hashlib.sha256(canonical_json(document, allow_nan=allow_nan)).hexdigest()
