"""The records of an incident as a package writes them: plain JSON-ready dicts, every instant
in UTC (ISO 8601) with the agency's wall clock and zone beside it.

``audit_parts`` returns the package's files for the audit trail as ``(path, make bytes,
what)``; report versions are streamed by ``packages.bag`` (their PDFs are stored files).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from audit import acts as audit_acts
from audit.checkpoints import checkpoints_covering
from audit.models import CheckpointKind, chain_key
from audit.selectors import incident_entries
from core.time import format_local
from evidence.checkpoints import custody_chain

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


AUDIT_CSV = [
    "seq",
    "at",
    "at_local",
    "actor_label",
    "act",
    "act_label",
    "subject_type",
    "subject_id",
    "subject_ref",
    "outcome",
    "reason",
    "changes",
    "address",
    "user_agent",
    "request_id",
    "prev_hash",
    "entry_hash",
]


def audit_record(entry, tz) -> dict:
    return {
        "seq": entry.seq,
        "chain": entry.chain,
        "at": _instant(entry.at),
        "at_local": format_local(entry.at, tz),
        "actor_label": entry.actor_label,
        "act": entry.act,
        "act_label": audit_acts.label(entry.act),
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "subject_ref": entry.subject_ref,
        "outcome": entry.outcome,
        "reason": entry.reason,
        "changes": json.dumps(entry.changes, sort_keys=True, cls=DjangoJSONEncoder),
        "address": entry.address,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
        "hashed": entry.hashed_fields(),
    }


def checkpoint_record(cp, tz) -> dict:
    return {
        "kind": cp.kind,
        "chain": cp.chain,
        "length": cp.length,
        "head_hash": cp.head_hash,
        "signed_at": _instant(cp.signed_at),
        "signed_at_local": format_local(cp.signed_at, tz),
        "key_id": cp.key_id,
        "signature": cp.signature,
        "body": cp.body,
    }


def custody_checkpoints(ev, length: int, tz) -> list[dict]:
    """The signed checkpoints of the item's custody chain covering its first ``length``
    entries."""
    covering = checkpoints_covering(CheckpointKind.CUSTODY, custody_chain(ev.uid), length)
    return [checkpoint_record(cp, tz) for cp in covering]


def _json(document) -> bytes:
    return json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def audit_parts(incident, tz) -> Iterable[Part]:
    """The incident's audit entries (JSON with what each hash covers, and CSV) and the signed
    checkpoints of the agency's chain that cover them (from the first on). The entries are a part of
    the agency's chain (other incidents' entries lie between them): each entry's hash is
    recomputed from its ``hashed`` fields and ``prev_hash``; the links between them, and the
    checkpoints, are checked against the whole chain by ``verify_audit`` where Docket runs."""
    chain = chain_key(incident.agency_id)
    read: dict = {}

    def gathered() -> tuple[list, list[dict], list]:
        # Read when the stream reaches the first of these files (after the evidence, so the
        # items' export entries are in), once for all three.
        if not read:
            entries = list(incident_entries(incident))
            first = entries[0].seq if entries else 0
            read["entries"] = entries
            read["rows"] = [audit_record(e, tz) for e in entries]
            read["covering"] = list(checkpoints_covering(CheckpointKind.AUDIT, chain, first))
        return read["entries"], read["rows"], read["covering"]

    def entries_json() -> bytes:
        _, rows, _ = gathered()
        return _json(
            {
                "chain": chain,
                "time_zone": tz.key,
                "hash": "SHA-256 of the canonical JSON of 'hashed' with 'prev_hash'",
                "entries": rows,
            }
        )

    def entries_csv() -> bytes:
        _, rows, _ = gathered()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(AUDIT_CSV)
        writer.writerows([row[f] for f in AUDIT_CSV] for row in rows)
        return out.getvalue().encode()

    def checkpoints_json() -> bytes:
        entries, _, covering = gathered()
        return _json(
            {
                "chain": chain,
                "first_seq": entries[0].seq if entries else None,
                "last_seq": entries[-1].seq if entries else None,
                "note": "Signed heads of the agency's audit chain at or after the first entry "
                "here: each covers the entries up to its length. Entries written after the "
                "last checkpoint (this package's own, for one) are covered by the next.",
                "checkpoints": [checkpoint_record(cp, tz) for cp in covering],
            }
        )

    return [
        ("data/audit/entries.json", entries_json, "audit entries"),
        ("data/audit/entries.csv", entries_csv, "audit entries"),
        ("data/audit/checkpoints.json", checkpoints_json, "audit checkpoints"),
    ]
