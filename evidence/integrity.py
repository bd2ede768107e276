"""Whether an evidence item's stored file still matches what was recorded at upload, as its
custody ledger tells it.

Two different things are checked about an item, and both are shown:

- its **ledger's hash chain** (``services.ledger_check``): that the record of its handling was
  not altered, removed or reordered;
- the **content** of its stored file: every re-hash of the file is a ledger entry — a
  ``verify`` (on request, by ``verify_evidence``, or when a download, export or decode found a
  mismatch: ``data.ok`` false), or an access that re-hashed the file before handing it out
  (``data.sha256_verified``: downloads, exports, sysdig's reads).

The integrity status is that of the **latest** content check: ``failed`` when it found the
file altered or missing, ``verified`` when it found it intact, ``unchecked`` when the file was
never re-hashed since upload. A failure is an alarm until a later check finds the file intact
again (the file restored from a trusted copy): a check compares against the SHA-256 and size
fixed at upload, so only the original bytes can pass it, and the download endpoint — which
re-hashes every time — hands the file out again from that moment. The failure itself is never
forgotten: it stays in the append-only ledger and is reported as ``last_failure`` beside the
status, so a page can say that an earlier check failed.

Lists read the two checks (latest, latest failed) as two correlated subqueries of the item's
query (``annotate``); the item page derives them from the ledger it has already read
(``from_entries``). No query per row either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import JSONObject
from django.utils.dateparse import parse_datetime

from .models import Action, CustodyEntry

VERIFIED, FAILED, UNCHECKED = "verified", "failed", "unchecked"
# Entries that re-hashed the stored file.
CHECKS = Q(action=Action.VERIFY) | Q(data__has_key="sha256_verified")
FAILURES = Q(action=Action.VERIFY, data__ok=False)
FAILED_PREFIX = "FAILED: "
HOW = {
    Action.VERIFY: "verification",
    Action.DOWNLOAD: "download",
    Action.VIEW: "read",
    Action.EXPORT: "export",
}


@dataclass(frozen=True)
class Check:
    """One re-hash of the stored file, as its ledger entry records it."""

    seq: int
    at: datetime
    action: str
    by: str
    ok: bool
    note: str = ""
    found_sha256: str = ""
    found_size: int | None = None

    @property
    def how(self) -> str:
        return HOW.get(self.action, self.action)

    @property
    def problem(self) -> str:
        """What the failed check found (its note without the ``FAILED:`` prefix)."""
        note = self.note
        return note[len(FAILED_PREFIX) :] if note.startswith(FAILED_PREFIX) else note


@dataclass(frozen=True)
class Integrity:
    """The content status of one item: its latest check and its latest failed one."""

    expected_sha256: str
    expected_size: int
    last: Check | None
    last_failure: Check | None

    @property
    def status(self) -> str:
        if self.last is None:
            return UNCHECKED
        return VERIFIED if self.last.ok else FAILED

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def failure(self) -> Check | None:
        """The failure to raise the alarm for: the latest check, when it failed."""
        return self.last if self.failed else None

    @property
    def recovered_from(self) -> Check | None:
        """A failure that a later check cleared (the file found intact again)."""
        if self.last_failure is not None and not self.failed:
            return self.last_failure
        return None


def _check_of_entry(entry: CustodyEntry) -> Check:
    data = entry.data if isinstance(entry.data, dict) else {}
    ok = not (entry.action == Action.VERIFY and data.get("ok") is False)
    return Check(
        seq=entry.seq,
        at=entry.at,
        action=entry.action,
        by=entry.actor_name,
        ok=ok,
        note=entry.note,
        found_sha256="" if ok else str(data.get("sha256") or ""),
        found_size=None if ok else _int(data.get("size")),
    )


def _is_check(entry: CustodyEntry) -> bool:
    data = entry.data if isinstance(entry.data, dict) else {}
    return entry.action == Action.VERIFY or "sha256_verified" in data


def from_entries(evidence, entries) -> Integrity:
    """The integrity of ``evidence`` from its ledger entries (any order)."""
    checks = sorted((_check_of_entry(e) for e in entries if _is_check(e)), key=lambda c: c.seq)
    failures = [c for c in checks if not c.ok]
    return Integrity(
        expected_sha256=evidence.sha256,
        expected_size=evidence.size,
        last=checks[-1] if checks else None,
        last_failure=failures[-1] if failures else None,
    )


def _summary(condition: Q) -> Subquery:
    latest = (
        CustodyEntry.objects.filter(condition, evidence=OuterRef("pk"))
        .order_by("-seq")
        .values(
            summary=JSONObject(
                seq=F("seq"),
                at=F("at"),
                action=F("action"),
                by=F("actor_name"),
                note=F("note"),
                # 1 when a verify entry recorded a mismatch (the same on every database).
                failed=Case(When(FAILURES, then=Value(1)), default=Value(0)),
                found_sha256=KT("data__sha256"),
                found_size=KT("data__size"),
            )
        )[:1]
    )
    return Subquery(latest)


def annotate(queryset):
    """``queryset`` of evidence with ``integrity_last`` and ``integrity_failure``: the latest
    check and the latest failed check, each one JSON object read in the item's own query."""
    return queryset.annotate(integrity_last=_summary(CHECKS), integrity_failure=_summary(FAILURES))


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _instant(value) -> datetime:
    if isinstance(value, datetime):
        at = value
    else:
        # PostgreSQL writes "2026-11-02T13:00:00+00:00", SQLite "2026-11-02 13:00:00" (UTC).
        at = parse_datetime(str(value))
        if at is None:
            raise ValueError(f"not a time: {value!r}")
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _check_of_summary(summary) -> Check | None:
    if not summary:
        return None
    ok = not _int(summary.get("failed"))
    return Check(
        seq=int(summary["seq"]),
        at=_instant(summary["at"]),
        action=summary["action"],
        by=summary.get("by") or "",
        ok=ok,
        note=summary.get("note") or "",
        found_sha256="" if ok else str(summary.get("found_sha256") or ""),
        found_size=None if ok else _int(summary.get("found_size")),
    )


def of(evidence) -> Integrity:
    """The integrity of ``evidence``: from ``annotate``'s columns when it was read through it,
    otherwise from its ledger (one query)."""
    if hasattr(evidence, "integrity_last"):
        return Integrity(
            expected_sha256=evidence.sha256,
            expected_size=evidence.size,
            last=_check_of_summary(evidence.integrity_last),
            last_failure=_check_of_summary(evidence.integrity_failure),
        )
    return from_entries(evidence, CustodyEntry.objects.filter(CHECKS, evidence=evidence))
