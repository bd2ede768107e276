"""Hash chains (the custody ledger of each evidence item; the audit trail): entry hashes and
the chain check, pure Python.

An entry's hash is the SHA-256 of the canonical JSON (``core.canonical``) of its fields
together with the previous entry's hash; the first entry chains to a genesis hash that binds
the chain to what it is about (for custody, the item's id and file SHA-256). Changing any
field of any entry, removing one, reordering them or changing what the genesis binds breaks
the chain from that point on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .canonical import canonical_json


def _instant(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("chain entry times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_fields(*, at: datetime, **fields: Any) -> dict[str, Any]:
    """The hashed fields of an entry, with ``at`` as UTC text to the microsecond."""
    return {**fields, "at": _instant(at)}


def canonical(fields: Mapping[str, Any], prev_hash: str) -> bytes:
    return canonical_json({**fields, "prev_hash": prev_hash})


def entry_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()


def genesis_hash(evidence_uid: str, sha256: str) -> str:
    return hashlib.sha256(f"docket-custody-v1:{evidence_uid}:{sha256}".encode()).hexdigest()


def check_chain(
    entries: Iterable[tuple[int, dict[str, Any], str, str]], genesis: str, *, first_seq: int = 1
) -> list[str]:
    """Problems of a chain given as ``(seq, hashed fields, prev_hash, entry_hash)`` in seq
    order; empty when it holds. With ``first_seq`` above 1, the entries are the chain's tail
    from that entry on and ``genesis`` the hash of the entry before it (a checkpoint's head)."""
    problems: list[str] = []
    expected_prev, expected_seq = genesis, first_seq
    for seq, fields, prev, stored in entries:
        if seq != expected_seq:
            problems.append(f"entry #{seq}: expected #{expected_seq} (gap or reorder)")
        if prev != expected_prev:
            problems.append(f"entry #{seq}: prev_hash does not match the hash of the entry before")
        recomputed = entry_hash(fields, prev)
        if recomputed != stored:
            problems.append(f"entry #{seq}: contents do not match its hash (altered)")
        expected_prev, expected_seq = stored, seq + 1
    if expected_seq == 1 and first_seq == 1:
        problems.append("the ledger is empty")
    return problems
