"""Reading and exporting the audit trail, for the pages (``audit.views``) and anyone else
above the trail: scoped (``accounts.scoping.scope``: the agency's entries; an auditor's are
those of the incidents granted to it), filtered, and each read or export itself an entry."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from accounts.context import AgencyContext
from accounts.permissions import require
from accounts.scoping import scope
from core.time import format_local

from .models import AuditEntry
from .trail import record_for


@dataclass(frozen=True)
class Filters:
    actor: str = ""
    act: str = ""
    subject: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def of(cls, cleaned: dict) -> Filters:
        return cls(
            **{
                k: cleaned.get(k) or ("" if k not in ("since", "until") else None)
                for k in cls.__dataclass_fields__
            }
        )

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}

    def apply(self, queryset: QuerySet) -> QuerySet:
        if self.actor:
            queryset = queryset.filter(
                Q(actor__username__iexact=self.actor) | Q(actor_label__icontains=self.actor)
            )
        if self.act:
            queryset = queryset.filter(act=self.act)
        if self.subject:
            queryset = queryset.filter(
                Q(subject_ref__icontains=self.subject) | Q(subject_id=self.subject)
            )
        if self.outcome:
            queryset = queryset.filter(outcome=self.outcome)
        if self.since:
            queryset = queryset.filter(at__gte=self.since)
        if self.until:
            queryset = queryset.filter(at__lte=self.until)
        return queryset


def _entries(ctx: AgencyContext, filters: Filters, incident=None) -> QuerySet:
    queryset = scope(AuditEntry.objects.select_related("actor", "incident"), ctx)
    if incident is not None:
        queryset = queryset.filter(incident=incident)
    return filters.apply(queryset).order_by("-at", "-seq")


def entries_read(*, ctx: AgencyContext, filters: Filters | None = None, incident=None) -> QuerySet:
    """The entries ``ctx`` may read (of ``incident`` only, when given), newest first; the
    read is recorded (``audit_read``) with the filters used."""
    require(ctx, "read_audit")
    filters = filters or Filters()
    record_for(
        ctx,
        "read_audit",
        subject_type="audit.AuditEntry",
        subject_ref=f"audit trail of {incident.number}" if incident else "audit trail",
        incident=incident,
        changes={"filters": filters.as_dict()},
    )
    return _entries(ctx, filters, incident)


COLUMNS = [
    "chain",
    "seq",
    "at",
    "at_local",
    "agency",
    "actor",
    "actor_label",
    "act",
    "subject_type",
    "subject_id",
    "subject_ref",
    "incident",
    "incident_number",
    "changes",
    "outcome",
    "reason",
    "address",
    "user_agent",
    "request_id",
    "prev_hash",
    "entry_hash",
]


def row(entry: AuditEntry, tz) -> dict:
    """An entry as exported: its hashed fields as ``core.ledger`` hashes them (so its
    ``entry_hash`` can be recomputed), with the local time and the incident number beside."""
    fields = entry.hashed_fields()
    return {
        **fields,
        "at_local": format_local(entry.at, tz),
        "incident_number": entry.incident.number if entry.incident_id else "",
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def _csv_cell(value) -> str:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = "" if value is None else str(value)
    # A spreadsheet must not run what a title or a user agent holds (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export(
    *, ctx: AgencyContext, fmt: str, filters: Filters | None = None, incident=None
) -> Iterator[str]:
    """The entries as CSV or JSON lines (``fmt``: ``csv`` or ``jsonl``), oldest first, as an
    iterator of text chunks (streamed: constant memory); the export is recorded first."""
    require(ctx, "export_audit")
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r}")
    filters = filters or Filters()
    record_for(
        ctx,
        "export_audit",
        subject_type="audit.AuditEntry",
        subject_ref=f"audit trail of {incident.number} ({fmt})"
        if incident
        else f"audit trail ({fmt})",
        incident=incident,
        changes={"filters": filters.as_dict(), "format": fmt},
    )
    queryset = _entries(ctx, filters, incident).order_by("at", "chain", "seq")
    tz = ctx.agency.tz
    return _csv(queryset, tz) if fmt == "csv" else _jsonl(queryset, tz)


def _csv(queryset, tz) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for n, entry in enumerate(queryset.iterator(chunk_size=1000), start=1):
        values = row(entry, tz)
        writer.writerow([_csv_cell(values[c]) for c in COLUMNS])
        if n % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _jsonl(queryset, tz) -> Iterator[str]:
    for entry in queryset.iterator(chunk_size=1000):
        values = row(entry, tz)
        yield json.dumps({c: values[c] for c in COLUMNS}, ensure_ascii=False) + "\n"
