"""Writes of risk assessments, POA&M items and compliance snapshots.

Each service takes the acting ``AgencyContext`` and, where time matters, ``now``; each checks
the actor's role, reads what it touches through ``scope()`` and writes in one transaction, so a
refusal leaves nothing half-stored (a rejected document upload leaves no file either).

Who may do what: a compliance officer, or an ISSO assigned to the system, records risk
assessments and POA&M items of a system and closes them; only an approving official accepts
a risk (RMF: the AO owns residual risk). ISSOs and compliance officers who see the incident
take snapshots; one is taken automatically, after commit, when an incident is confirmed.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.context import AgencyContext
from accounts.labels import field_label, first_error
from accounts.permissions import require
from accounts.scoping import scope
from audit.trail import record, record_for
from compliance import selectors, uploads
from compliance.models import (
    ComplianceSnapshot,
    Control,
    InformationSystem,
    PoamItem,
    PoamMilestone,
    PoamSeverity,
    PoamSource,
    PoamStatus,
    RiskAssessment,
    RiskAssessmentMethod,
    RiskLevel,
    SnapshotJob,
    SnapshotReason,
)
from compliance.risk.selectors import implicated_controls, visible_incident, visible_system
from compliance.services import operator_context
from compliance.snapshots.document import SCHEMA_VERSION, build_document, document_sha256
from core.errors import Conflict, InvalidInput, NotFound
from core.events import IncidentTransitioned, Phase, subscribe
from core.jobs import JobState, enqueue_on_commit, register_sweep, requeue_stale
from evidence.services import clean_filename

logger = logging.getLogger(__name__)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def _system_writer(ctx: AgencyContext, system, act: str) -> InformationSystem:
    """The system through the caller's scope, if they may ``act`` on it (``system_record``)."""
    system = visible_system(ctx, system)
    require(ctx, "system_record", system=system, doing=act)
    return system


# Errors name a field by its label (``accounts.labels``); ``field=`` keeps the code name.


def _choice(model, name: str, value, choices) -> str:
    if value not in choices.values:
        raise InvalidInput(
            f"{field_label(model, name)}: {value!r} is not one of {', '.join(choices.values)}.",
            field=name,
        )
    return value


def _text(model, name: str, value, *, required: bool = True, limit: int | None = None) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"{field_label(model, name)}: this field is required.", field=name)
    if limit and len(value) > limit:
        raise InvalidInput(f"{field_label(model, name)}: at most {limit} characters.", field=name)
    return value


def _clean(instance, exclude) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        field, message = first_error(type(instance), exc)
        raise InvalidInput(message, field=field) from exc


# --- risk assessments ------------------------------------------------------------------------


def risk_assessment_record(
    *,
    ctx: AgencyContext,
    system: InformationSystem | int | str,
    conducted_at: datetime,
    assessor: str,
    method: str,
    overall_risk: str,
    summary: str,
    document=None,
    document_filename: str = "",
    now: datetime | None = None,
) -> RiskAssessment:
    """Record a risk assessment of ``system`` conducted at ``conducted_at`` (never in the
    future). ``document`` (a file-like object) is streamed to storage with its SHA-256; if
    anything is refused, no row and no file remain."""
    now = _now(now)
    system = _system_writer(ctx, system, "record its risk assessments")
    if conducted_at is None or timezone.is_naive(conducted_at):
        raise InvalidInput(
            f"{field_label(RiskAssessment, 'conducted_at')} needs a date, time and time zone.",
            field="conducted_at",
        )
    if conducted_at > now:
        raise InvalidInput(
            f"{field_label(RiskAssessment, 'conducted_at')} cannot be in the future.",
            field="conducted_at",
        )
    ra = RiskAssessment(
        system=system,
        conducted_at=conducted_at,
        assessor=_text(RiskAssessment, "assessor", assessor, limit=200),
        method=_choice(RiskAssessment, "method", method, RiskAssessmentMethod),
        overall_risk=_choice(RiskAssessment, "overall_risk", overall_risk, RiskLevel),
        summary=_text(RiskAssessment, "summary", summary),
        recorded_at=now,
        recorded_by=ctx.user,
    )
    if document is not None:
        ra.document_filename = clean_filename(document_filename or getattr(document, "name", ""))
    _clean(ra, exclude=["system", "recorded_by"])
    stored = None
    try:
        if document is not None:
            stored = uploads.store_hashed(
                document,
                folder=f"risk-assessments/{ctx.agency.abbreviation}",
                label="Assessment report",
            )
            ra.document_name, ra.document_sha256 = stored.name, stored.sha256
            ra.document_size = stored.size
        with transaction.atomic():
            ra.save()
            record_for(
                ctx,
                "system_record",
                subject=ra,
                subject_ref=f"{system.acronym} risk assessment {ra.pk}",
                at=now,
                changes={"overall_risk": {"before": None, "after": ra.overall_risk}},
            )
        return ra
    except BaseException:
        if stored is not None and ra.pk is None:
            uploads.discard(stored.name)
        raise


# --- POA&M -----------------------------------------------------------------------------------


def _controls(ctx: AgencyContext, ids) -> list[Control]:
    """The controls of ``ids`` among those the caller's agency may see (never another agency's
    licensed ones: an id of one is answered like an absent id)."""
    ids = list(dict.fromkeys(getattr(i, "pk", i) for i in ids or ()))
    found = {c.pk: c for c in selectors.controls_visible(ctx).filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(
            f"{field_label(PoamItem, 'controls')}: no control {missing}.", field="controls"
        )
    return [found[i] for i in ids]


def _date(model, name: str, value) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(
            f"{field_label(model, name)}: a date (YYYY-MM-DD) is required.", field=name
        )
    return value


@transaction.atomic
def poam_create(
    *,
    ctx: AgencyContext,
    system: InformationSystem | int | str,
    weakness: str,
    source: str,
    severity: str,
    scheduled_completion: date,
    description: str = "",
    controls=(),
    milestones=(),
    incident=None,
    now: datetime | None = None,
) -> PoamItem:
    """Open a POA&M item on ``system``. ``controls`` are Control ids; ``milestones`` pairs of
    (description, due date); ``incident`` links the incident it comes from (of the same
    agency, visible to the caller, and affecting the system)."""
    now = _now(now)
    system = _system_writer(ctx, system, "plan actions and milestones for it")
    _choice(PoamItem, "source", source, PoamSource)
    if incident is not None:
        incident = visible_incident(ctx, incident)
        if not incident.systems.filter(pk=system.pk).exists():
            raise InvalidInput(
                f"{incident.number} does not affect {system.acronym}.", field="incident"
            )
    item = PoamItem(
        system=system,
        weakness=_text(PoamItem, "weakness", weakness, limit=500),
        description=(description or "").strip(),
        source=source,
        severity=_choice(PoamItem, "severity", severity, PoamSeverity),
        scheduled_completion=_date(PoamItem, "scheduled_completion", scheduled_completion),
        incident=incident,
        created_at=now,
        created_by=ctx.user,
    )
    _clean(item, exclude=["system", "incident", "created_by", "closed_by"])
    chosen = _controls(ctx, controls)
    item.save()
    item.controls.set(chosen)
    for i, (text, due) in enumerate(milestones):
        _milestone(item, text, due, now, path=f"milestones[{i}]")
    record_for(
        ctx,
        "system_record",
        subject=item,
        subject_ref=f"{system.acronym} POA&M item {item.pk}",
        at=now,
        changes={
            "status": {"before": None, "after": item.status},
            "weakness": {"before": None, "after": item.weakness},
            "milestones": {"before": None, "after": len(milestones)},
        },
    )
    return item


def _milestone(item, description, due_date, now, *, path="Milestone") -> PoamMilestone:
    text = (description or "").strip()
    if not text:
        raise InvalidInput(f"{path}: a milestone needs a description.", field="milestones")
    if len(text) > 500:
        raise InvalidInput(f"{path}: at most 500 characters.", field="milestones")
    if not isinstance(due_date, date) or isinstance(due_date, datetime):
        raise InvalidInput(f"{path}: a due date (YYYY-MM-DD) is required.", field="milestones")
    return PoamMilestone.objects.create(
        item=item, description=text, due_date=due_date, created_at=now
    )


def _writable_item(ctx, item, act: str) -> PoamItem:
    found = (
        scope(PoamItem.objects.select_for_update(of=("self",)), ctx)
        .filter(pk=getattr(item, "pk", item))
        .first()
    )
    if found is None:
        raise NotFound("No such POA&M item.")
    _system_writer(ctx, found.system_id, act)
    return found


@transaction.atomic
def poam_milestone_add(
    *, ctx: AgencyContext, item, description: str, due_date: date, now: datetime | None = None
) -> PoamMilestone:
    """Add a dated milestone to an open POA&M item."""
    now = _now(now)
    item = _writable_item(ctx, item, "change its POA&M")
    if not item.is_open:
        raise Conflict(f"POA&M item {item.pk} is {item.get_status_display().lower()}.")
    milestone = _milestone(item, description, due_date, now)
    record_for(
        ctx,
        "system_record",
        subject=milestone,
        subject_ref=f"POA&M item {item.pk} milestone {milestone.pk}",
        at=now,
        changes={"due_date": {"before": None, "after": milestone.due_date}},
    )
    return milestone


@transaction.atomic
def poam_milestone_complete(
    *, ctx: AgencyContext, milestone, completed_on: date | None = None, now: datetime | None = None
) -> PoamMilestone:
    """Mark a milestone of an open POA&M item done on ``completed_on`` (today in the agency's
    zone by default; never in the future)."""
    now = _now(now)
    found = (
        scope(PoamMilestone.objects.select_related("item"), ctx)
        .filter(pk=getattr(milestone, "pk", milestone))
        .first()
    )
    if found is None:
        raise NotFound("No such milestone.")
    item = _writable_item(ctx, found.item_id, "change its POA&M")
    if not item.is_open:
        raise Conflict(f"POA&M item {item.pk} is {item.get_status_display().lower()}.")
    today = now.astimezone(ctx.agency.tz).date()
    completed_on = completed_on or today
    _date(PoamMilestone, "completed_on", completed_on)
    if completed_on > today:
        raise InvalidInput(
            f"{field_label(PoamMilestone, 'completed_on')} cannot be in the future.",
            field="completed_on",
        )
    if found.completed_on is not None:
        raise Conflict(f"The milestone was already completed on {found.completed_on}.")
    found.completed_on = completed_on
    found.save(update_fields=["completed_on"])
    record_for(
        ctx,
        "system_record",
        subject=found,
        subject_ref=f"POA&M item {item.pk} milestone {found.pk}",
        at=now,
        changes={"completed_on": {"before": None, "after": completed_on}},
    )
    return found


@transaction.atomic
def poam_close(
    *,
    ctx: AgencyContext,
    item,
    note: str,
    status: str = PoamStatus.CLOSED,
    now: datetime | None = None,
) -> PoamItem:
    """End an open POA&M item: ``closed`` (remediated) or ``risk_accepted`` (approving
    officials only), with a note saying why."""
    now = _now(now)
    if status not in (PoamStatus.CLOSED, PoamStatus.RISK_ACCEPTED):
        raise InvalidInput(
            f"Status: {status!r} is not one of closed, risk_accepted.", field="status"
        )
    if status == PoamStatus.RISK_ACCEPTED:
        require(ctx, "risk_accept")
        found = scope(PoamItem.objects.select_for_update(of=("self",)), ctx).filter(
            pk=getattr(item, "pk", item)
        )
        item = found.first()
        if item is None:
            raise NotFound("No such POA&M item.")
    else:
        item = _writable_item(ctx, item, "close its POA&M items")
    if not item.is_open:
        raise Conflict(f"POA&M item {item.pk} is already {item.get_status_display().lower()}.")
    item.closure_note = _text(PoamItem, "note", note)
    before = item.status
    item.status, item.closed_at, item.closed_by = status, now, ctx.user
    item.save(update_fields=["status", "closed_at", "closed_by", "closure_note"])
    record_for(
        ctx,
        "risk_accept" if status == PoamStatus.RISK_ACCEPTED else "system_record",
        subject=item,
        subject_ref=f"POA&M item {item.pk}",
        at=now,
        changes={"status": {"before": before, "after": status}},
        reason=item.closure_note,
    )
    return item


_LINE = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})\s*(?:[:\-–—]\s*)?(?P<text>.*)$")


def parse_remediation_lines(text: str) -> list[tuple[str, date]]:
    """Remediation actions typed one per line as ``YYYY-MM-DD description``; errors name the
    line. Blank lines are skipped."""
    out = []
    for n, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        m = _LINE.match(line)
        if m is None:
            raise InvalidInput(
                f"Remediation actions, line {n}: start with the due date (YYYY-MM-DD), then "
                "the action.",
                field="remediation",
            )
        try:
            due = date.fromisoformat(m["date"])
        except ValueError:
            raise InvalidInput(
                f"Remediation actions, line {n}: {m['date']} is not a date.", field="remediation"
            ) from None
        if not m["text"].strip():
            raise InvalidInput(
                f"Remediation actions, line {n}: describe the action after the date.",
                field="remediation",
            )
        out.append((m["text"].strip(), due))
    return out


@transaction.atomic
def poam_create_from_incident(
    *,
    ctx: AgencyContext,
    incident,
    weakness: str,
    severity: str,
    remediation: list[tuple[str, date]],
    description: str = "",
    now: datetime | None = None,
) -> list[PoamItem]:
    """From an incident's remediation actions, in one step: one POA&M item per affected
    system, source "incident", linked to the incident, carrying the controls the incident's
    detections implicate, with one milestone per remediation action; each item is scheduled
    for completion on the last milestone's date. All or nothing."""
    now = _now(now)
    incident = visible_incident(ctx, incident)
    if not remediation:
        raise InvalidInput("Remediation actions: enter at least one.", field="remediation")
    systems = list(incident.systems.order_by("acronym"))
    if not systems:
        raise InvalidInput(f"{incident.number} has no affected system.", field="incident")
    controls = [c.pk for c in implicated_controls(ctx, incident)]
    last = max(due for _, due in remediation)
    return [
        poam_create(
            ctx=ctx,
            system=s,
            weakness=weakness,
            description=description or f"From incident {incident.number}: {incident.title}",
            source=PoamSource.INCIDENT,
            severity=severity,
            scheduled_completion=last,
            controls=controls,
            milestones=remediation,
            incident=incident,
            now=now,
        )
        for s in systems
    ]


# --- snapshots -------------------------------------------------------------------------------


def _snapshot(*, ctx: AgencyContext, incident, reason: str, taken_by, now: datetime):
    document = build_document(ctx=ctx, incident=incident, known_at=now)
    snapshot = ComplianceSnapshot.objects.create(
        incident=incident,
        schema_version=SCHEMA_VERSION,
        taken_at=now,
        as_of=incident.first_detected_at or incident.identified_at,
        taken_by=taken_by,
        reason=reason,
        document=document,
        sha256=document_sha256(document),
    )
    record(
        "snapshot_take",
        agency=incident.agency_id,
        actor=taken_by,
        subject=snapshot,
        subject_ref=f"{incident.number} compliance snapshot ({reason})",
        at=now,
        changes={"sha256": {"before": None, "after": snapshot.sha256}},
    )
    return snapshot


@transaction.atomic
def snapshot_take(
    *,
    ctx: AgencyContext,
    incident,
    reason: str = SnapshotReason.ON_DEMAND,
    now: datetime | None = None,
) -> ComplianceSnapshot:
    """Freeze the compliance state of the incident's affected systems as of its
    first-detected time, as known now (see ``compliance.snapshots.document``)."""
    now = _now(now)
    require(ctx, "snapshot_take")
    _choice(ComplianceSnapshot, "reason", reason, SnapshotReason)
    incident = visible_incident(ctx, incident)
    return _snapshot(ctx=ctx, incident=incident, reason=reason, taken_by=ctx.user, now=now)


SNAPSHOT_TASK = "compliance.tasks.take_snapshot"


@subscribe(IncidentTransitioned, phase=Phase.IN_TRANSACTION)
def snapshot_on_confirm(event: IncidentTransitioned) -> None:
    """Once an incident is confirmed, its snapshot is due: a job row written in the confirm's
    transaction, taken by the worker after commit (``snapshot_job_run``); the job sweep
    queues it again if the message is lost."""
    if event.transition != "confirm":
        return
    job = SnapshotJob.objects.create(
        incident=event.incident,
        reason=SnapshotReason.CONFIRMED,
        requested_by=event.ctx.user if event.ctx is not None else None,
        requested_at=event.at,
        queued_at=event.at,
    )
    enqueue_on_commit(SNAPSHOT_TASK, job.pk)


def snapshot_job_run(*, job_id: int, now: datetime | None = None) -> SnapshotJob | None:
    """Take the snapshot of a queued job (the worker; idempotent: a job already done or
    taken by another worker is left alone). A failure is recorded on the job and tried again
    by the sweep, up to ``Job.MAX_ATTEMPTS`` times; it never raises."""
    now = _now(now)
    with transaction.atomic():
        job = (
            SnapshotJob.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident__agency", "requested_by")
            .filter(pk=job_id, state=JobState.QUEUED)
            .first()
        )
        if job is None:
            return None
        job.attempts += 1
        try:
            with transaction.atomic():
                snap = _snapshot(
                    ctx=operator_context(job.incident.agency),
                    incident=job.incident,
                    reason=job.reason,
                    taken_by=job.requested_by,
                    now=job.requested_at,
                )
        except Exception as exc:
            logger.exception("Snapshot job %s failed", job.pk)
            job.error = f"{exc.__class__.__name__}: {exc}"
            if job.attempts >= SnapshotJob.MAX_ATTEMPTS:
                job.state, job.finished_at = JobState.FAILED, now
        else:
            job.snapshot, job.state, job.finished_at, job.error = snap, JobState.DONE, now, ""
        job.save()
        return job


def snapshot_jobs_requeue(now: datetime) -> int:
    return requeue_stale(SnapshotJob.objects.filter(state=JobState.QUEUED), SNAPSHOT_TASK, now)


register_sweep("compliance.snapshots", snapshot_jobs_requeue)
