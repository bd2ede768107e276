"""The records of an incident as a package writes them: plain JSON-ready dicts, every instant
in UTC (ISO 8601) with the agency's wall clock and zone beside it.

``report_parts`` and ``audit_parts`` are the two sources that come from other parts of Docket
(report versions, the audit trail): each returns the package's files for them as
``(path, make bytes, what)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from core.time import format_local

Part = tuple[str, Callable[[], bytes], str]

CUSTODY_CSV = [
    "seq",
    "action",
    "at",
    "at_local",
    "actor_name",
    "actor_roles",
    "from_person",
    "to_person",
    "location",
    "note",
    "data",
    "prev_hash",
    "entry_hash",
]
TIMELINE_CSV = [
    "time",
    "time_local",
    "time_ns",
    "source",
    "origin",
    "user",
    "pid",
    "ppid",
    "container",
    "command",
    "detail",
]


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _value(value):
    if isinstance(value, datetime):
        return _instant(value)
    return value


def row(obj: models.Model) -> dict:
    """Every concrete field of ``obj`` (foreign keys as ``<name>_id``), instants in UTC, and
    for each instant its local wall clock as ``<name>_local``."""
    tz = _agency_tz(obj)
    out: dict = {}
    for f in obj._meta.concrete_fields:
        value = f.value_from_object(obj)
        key = f.attname
        out[key] = _value(value)
        if isinstance(value, datetime) and tz is not None:
            out[f"{key}_local"] = format_local(value, tz)
        if f.choices and not f.is_relation and value not in (None, ""):
            out[f"{key}_label"] = str(dict(f.flatchoices).get(value, value))
    return out


def _agency_tz(obj):
    for path in ("agency", "incident", "obligation"):
        holder = getattr(obj, path, None)
        if holder is None:
            continue
        if path == "agency":
            return holder.tz
        if path == "incident":
            return holder.agency.tz
        return holder.incident.agency.tz
    return None


def evidence_record(ev, tz) -> dict:
    return {
        "id": ev.pk,
        "uid": str(ev.uid),
        "original_filename": ev.original_filename,
        "kind": ev.kind,
        "size": ev.size,
        "sha256": ev.sha256,
        "md5": ev.md5,
        "detected_format": ev.detected_format,
        "uploaded_at": _instant(ev.uploaded_at),
        "uploaded_at_local": format_local(ev.uploaded_at, tz),
        "collected_at": _instant(ev.collected_at),
        "collected_by": ev.collected_by,
        "collecting_tool": ev.collecting_tool,
        "source_host": ev.source_host,
        "description": ev.description,
        "withdrawn_at": _instant(ev.withdrawn_at),
        "withdrawn_reason": ev.withdrawn_reason,
    }


def _person(user) -> str:
    return user.get_username() if user is not None else ""


def custody_record(entry, ev, tz) -> dict:
    return {
        "seq": entry.seq,
        "action": entry.action,
        "at": _instant(entry.at),
        "at_local": format_local(entry.at, tz),
        "actor_name": entry.actor_name,
        "actor_roles": entry.actor_roles,
        "from_person": _person(entry.from_person),
        "to_person": _person(entry.to_person),
        "location": entry.location,
        "note": entry.note,
        "data": json.dumps(entry.data, sort_keys=True, cls=DjangoJSONEncoder),
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
        "hashed": entry.hashed_fields(ev.uid),
    }


def timeline_record(entry, tz, local_time) -> dict:
    return {
        "time": _instant(entry.time),
        "time_local": local_time(entry, tz),
        "time_ns": entry.time_ns,
        "source": entry.source_label,
        "origin": entry.origin,
        "user": entry.user,
        "pid": entry.pid,
        "ppid": entry.ppid,
        "container": entry.container,
        "command": entry.command,
        "detail": entry.detail,
    }


def snapshot_record(snap, tz) -> dict:
    return {
        "id": snap.pk,
        "schema_version": snap.schema_version,
        "taken_at": _instant(snap.taken_at),
        "taken_at_local": format_local(snap.taken_at, tz),
        "as_of": _instant(snap.as_of),
        "as_of_local": format_local(snap.as_of, tz),
        "reason": snap.reason,
        "sha256": snap.sha256,
        "document": snap.document,
    }


def report_parts(incident) -> Iterable[Part]:
    """The submitted and approved report versions of ``incident`` (PDF and data JSON).

    Report versions (issue 10) are not part of this branch yet: nothing is packed for them,
    and ``index.html`` says so."""
    return ()


def audit_parts(incident, tz) -> Iterable[Part]:
    """The incident's audit entries and the checkpoints that cover them.

    The audit trail (``audit.AuditEntry``) is not part of this branch yet: nothing is packed
    for it, and ``index.html`` says so."""
    return ()
