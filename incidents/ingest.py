"""Detections in: storing a batch of alerts, grouping them into incident candidates, and the
ISSO's three answers to a candidate (promote, attach, dismiss).

Storing is one transaction per batch: every valid item is committed before the sender hears
2xx (falcosidekick drops an event on any other answer), invalid items are reported by index
and skipped, and a redelivery — recognised by its content hash, not falcosidekick's uuid —
stores nothing. Grouping touches other rows, so it runs after commit, in Celery
(``incidents.tasks.group_detections``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from accounts.context import AgencyContext
from accounts.models import Agency, IngestToken
from accounts.permissions import require
from accounts.scoping import scope
from audit.trail import record
from compliance.models import InformationSystem
from core.errors import Conflict, InvalidInput, NotFound

from . import falco, sysdig
from .models import (
    CandidateStatus,
    CommandRecord,
    Detection,
    DetectionKind,
    EventKind,
    Incident,
    IncidentCandidate,
    IncidentEvent,
    State,
)
from .services import incident_open, lock_incident

log = logging.getLogger(__name__)

GROUP_TASK = "incidents.tasks.group_detections"


@dataclass
class IngestResult:
    """What happened to a batch: stored, already stored, refused (index and reason)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }

    def add(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)


def delivery_record(*, token, result: IngestResult, now: datetime, agency=None) -> None:
    """The one audit entry of a delivery of detections (however many it held)."""
    agency = agency if agency is not None else token.agency
    record(
        "detections_ingest",
        agency=agency,
        subject_type="accounts.IngestToken" if token is not None else "incidents.Detection",
        subject_id=token.pk if token is not None else None,
        subject_ref=f"delivery via token {token.name!r}" if token is not None else "delivery",
        at=now,
        changes={
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": len(result.rejected),
        },
    )


def agency_selectors(agency: Agency) -> list[falco.Selectors]:
    """The agency's systems' selectors, in the order attribution tries them: by acronym (the
    order the inventory lists them), so which system wins is predictable and stable."""
    rows = (
        InformationSystem.objects.filter(agency=agency)
        .order_by(*SELECTOR_ORDER)
        .values_list(*SELECTOR_FIELDS)
    )
    return _selectors_from_rows(rows)


# The systems' columns attribution reads, and the order it tries them in.
SELECTOR_FIELDS = ("pk", "host_patterns", "k8s_clusters", "k8s_namespaces", "image_repositories")
SELECTOR_ORDER = ("acronym", "pk")


def _selectors_from_rows(rows) -> list[falco.Selectors]:
    """Rows of ``SELECTOR_FIELDS`` (JSON already decoded) → the systems that have any."""
    selectors = []
    for pk, hosts, clusters, namespaces, images in rows:
        if hosts or clusters or namespaces or images:
            selectors.append(
                falco.Selectors(
                    system_id=pk,
                    host_patterns=tuple(hosts or ()),
                    k8s_clusters=tuple(clusters or ()),
                    k8s_namespaces=tuple(namespaces or ()),
                    image_repositories=tuple(images or ()),
                )
            )
    return selectors


def _reject(item: falco.Item, reason: str) -> dict:
    entry = {"index": item.index, "reason": reason}
    if item.line is not None:
        entry["line"] = item.line
    return entry


def _detection(alert: falco.Alert, *, agency, token, system_id, now) -> Detection:
    return Detection(
        agency=agency,
        system_id=system_id,
        token=token,
        content_hash=alert.content_hash,
        kind=alert.kind,
        rule=alert.rule,
        priority=alert.priority,
        source=alert.source,
        hostname=alert.hostname,
        time=alert.time,
        time_ns=alert.time_ns,
        output=alert.output,
        tags=alert.tags,
        output_fields=alert.output_fields,
        container_id=alert.container_id,
        container_image=alert.container_image,
        k8s_cluster=alert.k8s_cluster,
        k8s_namespace=alert.k8s_namespace,
        k8s_pod=alert.k8s_pod,
        process_name=alert.process_name,
        process_cmdline=alert.process_cmdline,
        process_pid=alert.process_pid,
        user_name=alert.user_name,
        file_path=alert.file_path,
        mitre_tactics=alert.mitre_tactics,
        mitre_techniques=alert.mitre_techniques,
        control_refs=alert.control_refs,
        raw=alert.raw,
        received_at=now,
    )


def _normalised(items: Iterable[falco.Item], normalise, result: IngestResult) -> dict:
    """The valid items of a batch, normalised, by content hash (first of each kept): the
    unreadable and rejected are listed in ``result`` with their index and reason, repeats
    within the batch counted as duplicates."""
    found: dict = {}
    for item in items:
        if item.error:
            result.rejected.append(_reject(item, item.error))
            continue
        try:
            value = normalise(item.value)
        except falco.Rejected as exc:
            result.rejected.append(_reject(item, str(exc)))
            continue
        if value.content_hash in found:
            result.duplicates += 1
        else:
            found[value.content_hash] = value
    return found


def alerts_store(
    *,
    agency: Agency,
    items: Iterable[falco.Item],
    token: IngestToken | None = None,
    selectors: list[falco.Selectors] | None = None,
    now: datetime | None = None,
    normalise: Callable[[object], falco.Alert] = falco.normalise,
) -> IngestResult:
    """Normalise (``normalise``: Falco's, or Sysdig's for policy events), attribute and store
    ``items`` for ``agency`` in one transaction.

    Each valid item becomes a ``Detection`` unless the agency already holds one with the same
    content hash (counted as a duplicate, also within the batch). Items that are not alerts
    are listed with their index and reason; nothing of them is stored. Once the transaction
    commits, grouping of the new alerts is queued.

    On PostgreSQL the whole batch is one ``INSERT … SELECT FROM json_to_recordset(…) ON
    CONFLICT DO NOTHING RETURNING``: one statement (so one transaction, committed when it
    returns, even outside ``atomic``), whatever the batch size, and the unique constraint
    decides what is new, so two concurrent requests carrying the same new alert store it once
    and only one of them counts it as accepted. Elsewhere (SQLite) the batch is read, then
    inserted, in one transaction; in that race both may count it as accepted.
    """
    now = now or timezone.now()
    if selectors is None:
        selectors = agency_selectors(agency)
    result = IngestResult()
    alerts: dict[str, falco.Alert] = _normalised(items, normalise, result)
    if not alerts:
        return result
    if connection.vendor == "postgresql":
        stored = _insert_postgresql(
            alerts, agency=agency, token=token, selectors=selectors, now=now
        )
    else:
        stored = _insert_portable(alerts, agency=agency, token=token, selectors=selectors, now=now)
    result.accepted += len(stored)
    result.duplicates += len(alerts) - len(stored)
    if any(alerts[digest].kind == DetectionKind.ALERT for digest in stored):
        agency_id = agency.pk
        transaction.on_commit(lambda: _enqueue_grouping(agency_id), robust=True)
    return result


# What ingestion leaves unset: the id, and what grouping sets later.
_UNSET_COLUMNS = frozenset({"id", "candidate_id", "grouped_at"})
# Columns not taken from the Alert of the same name.
_CONTEXT_COLUMNS = frozenset({"agency_id", "system_id", "token_id", "received_at"})


@cache
def _pg_insert() -> tuple[str, tuple[str, ...]]:
    """The INSERT of a batch, and the Alert attributes that fill its columns."""
    quote = connection.ops.quote_name
    columns = [
        (f.column, f.db_type(connection))
        for f in Detection._meta.concrete_fields
        if f.column not in _UNSET_COLUMNS
    ]
    names = ", ".join(quote(name) for name, _ in columns)
    shape = ", ".join(f"{quote(name)} {kind}" for name, kind in columns)
    # Identifiers come from the model; every value travels in the one parameter.
    table = quote(Detection._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608
        f"FROM json_to_recordset(%s::json) AS r({shape}) "
        "ON CONFLICT (agency_id, content_hash) DO NOTHING RETURNING content_hash"
    )
    return sql, tuple(name for name, _ in columns if name not in _CONTEXT_COLUMNS)


def _insert_postgresql(alerts, *, agency, token, selectors, now) -> list[str]:
    """Insert the alerts in one statement, the batch as one JSON parameter (no per-value
    binding); the content hashes of the rows it stored."""
    sql, fields = _pg_insert()
    context = {
        "agency_id": agency.pk,
        "token_id": token.pk if token is not None else None,
        "received_at": now.isoformat(),
    }
    rows = []
    for alert in alerts.values():
        row = {name: getattr(alert, name) for name in fields}
        row["time"] = alert.time.isoformat()
        row["system_id"] = falco.attribute(alert, selectors)
        row.update(context)
        rows.append(row)
    # normalise() scrubbed NUL and lone surrogates from every string, so the text is valid
    # UTF-8 and PostgreSQL's json accepts every value.
    payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])
        return [digest for (digest,) in cursor.fetchall()]


def _insert_portable(alerts, *, agency, token, selectors, now) -> list[str]:
    with transaction.atomic():
        known = set(
            Detection.objects.filter(agency=agency, content_hash__in=list(alerts)).values_list(
                "content_hash", flat=True
            )
        )
        new = [
            _detection(
                alert,
                agency=agency,
                token=token,
                system_id=falco.attribute(alert, selectors),
                now=now,
            )
            for digest, alert in alerts.items()
            if digest not in known
        ]
        Detection.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return [d.content_hash for d in new]


# When this process last queued grouping, per agency (monotonic seconds); see below.
_grouping_queued: dict[int, float] = {}
_grouping_lock = threading.Lock()
_clock = time.monotonic


def commands_store(
    *,
    agency: Agency,
    items: Iterable[falco.Item],
    token: IngestToken | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store Sysdig activity-audit command records for ``agency`` in one transaction, each once
    (by content hash, also within the batch); invalid items are listed with their index and
    reason, like ``alerts_store``."""
    now = now or timezone.now()
    result = IngestResult()
    commands: dict[str, sysdig.Command] = _normalised(items, sysdig.normalise_command, result)
    if not commands:
        return result
    with transaction.atomic():
        known = set(
            CommandRecord.objects.filter(
                agency=agency, content_hash__in=list(commands)
            ).values_list("content_hash", flat=True)
        )
        new = [
            CommandRecord(
                agency=agency,
                token=token,
                content_hash=digest,
                time=c.time,
                time_ns=c.time_ns,
                cmdline=c.cmdline,
                comm=c.comm,
                pcomm=c.pcomm,
                pid=c.pid,
                ppid=c.ppid,
                uid=c.uid,
                user_name=c.user_name,
                cwd=c.cwd,
                tty=c.tty,
                container_id=c.container_id,
                container_image=c.container_image,
                hostname=c.hostname,
                k8s_cluster=c.k8s_cluster,
                k8s_namespace=c.k8s_namespace,
                k8s_pod=c.k8s_pod,
                group_key=c.group_key,
                labels=c.labels,
                raw=c.raw,
                received_at=now,
            )
            for digest, c in commands.items()
            if digest not in known
        ]
        CommandRecord.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
        result.duplicates += len(known)
        result.accepted += len(new)
    return result


def sysdig_store(
    *,
    agency: Agency,
    items: Iterable[falco.Item],
    token: IngestToken | None = None,
    selectors: list[falco.Selectors] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store a Sysdig Secure batch for ``agency`` in one transaction: runtime policy events
    become detections (``alerts_store`` with Sysdig's normaliser: attributed, grouped after
    commit), activity-audit command records become ``CommandRecord`` rows
    (``commands_store``). Each item is told apart by content (``incidents.sysdig.shape``);
    anything else is listed as rejected with its index and reason."""
    now = now or timezone.now()
    result = IngestResult()
    events: list[falco.Item] = []
    commands: list[falco.Item] = []
    for item in items:
        if item.error:
            result.rejected.append(_reject(item, item.error))
            continue
        try:
            kind = sysdig.shape(item.value)
        except falco.Rejected as exc:
            result.rejected.append(_reject(item, str(exc)))
            continue
        (events if kind == sysdig.POLICY_EVENT else commands).append(item)
    with transaction.atomic():
        if events:
            result.add(
                alerts_store(
                    agency=agency,
                    items=events,
                    token=token,
                    selectors=selectors,
                    now=now,
                    normalise=sysdig.normalise_event,
                )
            )
        if commands:
            result.add(commands_store(agency=agency, items=commands, token=token, now=now))
    result.rejected.sort(key=lambda r: r["index"])
    return result


def _enqueue_grouping(agency_id: int) -> None:
    """Queue grouping of the agency's new alerts; called after their commit.

    With ``DOCKET_GROUPING_DELAY_SECONDS`` (default 2) above zero, the task is queued to run
    that many seconds later, and further commits of this process for the same agency within
    the first half of that delay queue nothing: the task already queued starts after them
    (with up to half the delay of clock skew between web and worker hosts), so it places their
    alerts too. A sensor posting alert by alert then costs the broker and the worker about one
    grouping per agency, process and second instead of one per alert; the periodic sweep
    remains the safety net. Eager mode (tests) and a delay of 0 queue once per commit."""
    group_detections = current_app.tasks[GROUP_TASK]  # by name: tasks.py imports this module
    delay = float(getattr(settings, "DOCKET_GROUPING_DELAY_SECONDS", 2))
    if delay <= 0 or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        group_detections.delay(agency_id)
        return
    now = _clock()
    with _grouping_lock:
        last = _grouping_queued.get(agency_id)
        if last is not None and 0 <= now - last < delay / 2:
            return
        _grouping_queued[agency_id] = now
    try:
        group_detections.apply_async((agency_id,), countdown=delay)
    except Exception:
        with _grouping_lock:  # not queued: the next commit must try again
            if _grouping_queued.get(agency_id) == now:
                del _grouping_queued[agency_id]
        raise


# --- grouping ------------------------------------------------------------------------------


def candidate_window() -> timedelta:
    return timedelta(minutes=getattr(settings, "DOCKET_CANDIDATE_WINDOW_MINUTES", 10))


def _lock_agency_grouping(agency_id: int) -> None:
    """Serialise grouping per agency, so two workers never open two candidates for the same
    pod. PostgreSQL: a transaction-level advisory lock. SQLite serialises writers anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('docket.group_detections'), %s::int)",
                [agency_id],
            )


def detections_group(*, agency_id: int, now: datetime | None = None, batch: int = 2000) -> int:
    """Place every ungrouped alert of the agency in an incident candidate; returns how many.

    Alerts are taken in time order. One joins an open candidate of the same system (or of the
    triage queue) and the same group key (pod, else container, else host) when its time lies
    within the window of the candidate's span, widening the span; otherwise it opens a new
    candidate. Promoted, attached and dismissed candidates take no new detections: what comes
    later is a new candidate, so nothing is silently folded into a closed decision. Test events
    and internal messages are never grouped. Idempotent: safe to run twice or concurrently.
    """
    now = now or timezone.now()
    window = candidate_window()
    total = 0
    while True:
        with transaction.atomic():
            _lock_agency_grouping(agency_id)
            pending = list(
                Detection.objects.filter(
                    agency_id=agency_id, kind=DetectionKind.ALERT, grouped_at__isnull=True
                )
                .order_by("time_ns", "pk")
                .only(
                    "pk",
                    "system_id",
                    "time",
                    "k8s_namespace",
                    "k8s_pod",
                    "container_id",
                    "hostname",
                )[:batch]
            )
            if not pending:
                return total
            keys = {_key(d) for d in pending}
            by_key: dict[tuple, list[IncidentCandidate]] = {}
            for candidate in IncidentCandidate.objects.select_for_update().filter(
                agency_id=agency_id,
                status=CandidateStatus.OPEN,
                group_key__in=sorted({k for _, k in keys}),
            ):
                key = (candidate.system_id, candidate.group_key)
                if key in keys:
                    by_key.setdefault(key, []).append(candidate)
            touched: dict[int, IncidentCandidate] = {}
            for detection in pending:
                key = _key(detection)
                candidate = _joinable(by_key.get(key, ()), detection.time, window)
                if candidate is None:
                    candidate = IncidentCandidate.objects.create(
                        agency_id=agency_id,
                        system_id=key[0],
                        group_key=key[1],
                        first_seen=detection.time,
                        last_seen=detection.time,
                        count=0,
                        created_at=now,
                    )
                    by_key.setdefault(key, []).append(candidate)
                candidate.first_seen = min(candidate.first_seen, detection.time)
                candidate.last_seen = max(candidate.last_seen, detection.time)
                candidate.count += 1
                touched[candidate.pk] = candidate
                detection.candidate_id = candidate.pk
                detection.grouped_at = now
            Detection.objects.bulk_update(pending, ["candidate", "grouped_at"], batch_size=500)
            IncidentCandidate.objects.bulk_update(
                list(touched.values()), ["first_seen", "last_seen", "count"], batch_size=500
            )
            total += len(pending)
            if len(pending) < batch:
                return total


def _key(detection: Detection) -> tuple[int | None, str]:
    return detection.system_id, falco.group_key(
        k8s_namespace=detection.k8s_namespace,
        k8s_pod=detection.k8s_pod,
        container_id=detection.container_id,
        hostname=detection.hostname,
    )


def _joinable(candidates, time: datetime, window: timedelta) -> IncidentCandidate | None:
    near = [c for c in candidates if c.first_seen - window <= time <= c.last_seen + window]
    return max(near, key=lambda c: (c.last_seen, c.pk)) if near else None


# --- triage: promote, attach, dismiss ------------------------------------------------------


def _lock_candidate(ctx: AgencyContext, candidate: IncidentCandidate) -> IncidentCandidate:
    locked = (
        scope(IncidentCandidate.objects.select_for_update(of=("self",)), ctx)
        .filter(pk=candidate.pk)
        .select_related("system")
        .first()
    )
    if locked is None:
        raise NotFound("No such incident candidate.")
    if locked.status != CandidateStatus.OPEN:
        raise Conflict(f"This candidate is already {locked.get_status_display().lower()}.")
    return locked


def _resolve(candidate, status, *, ctx, now, incident=None, reason=""):
    candidate.status = status
    candidate.incident = incident
    candidate.dismissed_reason = reason
    candidate.resolved_by = ctx.user
    candidate.resolved_at = now
    candidate.save(
        update_fields=["status", "incident", "dismissed_reason", "resolved_by", "resolved_at"]
    )


def _detections_event(incident, candidate, *, ctx, now, note):
    IncidentEvent.objects.create(
        incident=incident,
        kind=EventKind.UPDATED,
        actor=ctx.user,
        at=now,
        note=note,
        data={
            "candidate": candidate.pk,
            "detections": candidate.count,
            "system": candidate.system_id,
            "group_key": candidate.group_key,
            "first_seen": candidate.first_seen.isoformat(),
            "last_seen": candidate.last_seen.isoformat(),
        },
    )


@transaction.atomic
def candidate_promote(
    *,
    ctx: AgencyContext,
    candidate: IncidentCandidate,
    title: str,
    now: datetime | None = None,
) -> Incident:
    """Open an incident from a candidate: first detected at its earliest detection, affecting
    its system (if it has one), identified now. The candidate is marked promoted and the
    incident's log names it."""
    now = now or timezone.now()
    require(ctx, "candidate_handle", doing="promote a candidate to an incident")
    candidate = _lock_candidate(ctx, candidate)
    if not (title or "").strip():
        raise InvalidInput("An incident needs a title.", field="title")
    earliest = candidate.detections.aggregate(first=Min("time"))["first"] or candidate.first_seen
    incident = incident_open(
        ctx=ctx,
        title=title.strip(),
        # A sensor whose clock runs ahead must not make the incident detected in the future.
        first_detected_at=min(earliest, now),
        systems=[candidate.system_id] if candidate.system_id else [],
        now=now,
    )
    _resolve(candidate, CandidateStatus.PROMOTED, ctx=ctx, now=now, incident=incident)
    _detections_event(
        incident,
        candidate,
        ctx=ctx,
        now=now,
        note=f"Opened from an incident candidate of {candidate.count} detection(s).",
    )
    return incident


@transaction.atomic
def candidate_attach(
    *,
    ctx: AgencyContext,
    candidate: IncidentCandidate,
    incident: Incident,
    now: datetime | None = None,
) -> Incident:
    """Attach a candidate's detections to an existing incident of the agency (not closed or
    dismissed). The candidate's system joins the incident's affected systems; the incident's
    log records both."""
    now = now or timezone.now()
    require(ctx, "candidate_handle", doing="attach a candidate to an incident")
    candidate = _lock_candidate(ctx, candidate)
    incident = lock_incident(ctx, incident)
    if incident.state in (State.CLOSED, State.DISMISSED):
        raise Conflict(f"{incident.number} is {incident.state}; nothing can be attached to it.")
    note = f"Attached an incident candidate of {candidate.count} detection(s)."
    if candidate.system_id and not incident.systems.filter(pk=candidate.system_id).exists():
        incident.systems.add(candidate.system_id)
        note += f" Added affected system {candidate.system.acronym}."
    incident.updated_at = now
    incident.save(update_fields=["updated_at"])
    _resolve(candidate, CandidateStatus.ATTACHED, ctx=ctx, now=now, incident=incident)
    _detections_event(incident, candidate, ctx=ctx, now=now, note=note)
    return incident


@transaction.atomic
def candidate_dismiss(
    *,
    ctx: AgencyContext,
    candidate: IncidentCandidate,
    reason: str,
    now: datetime | None = None,
) -> IncidentCandidate:
    """Dismiss a candidate (a reason is required). Its detections stay, with the reason."""
    now = now or timezone.now()
    require(ctx, "candidate_handle", doing="dismiss a candidate")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Dismissing a candidate needs a reason.", field="reason")
    candidate = _lock_candidate(ctx, candidate)
    _resolve(candidate, CandidateStatus.DISMISSED, ctx=ctx, now=now, reason=reason)
    return candidate
