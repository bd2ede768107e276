"""The report workflow (docs/adr/0019-report-workflow.md): drafting a report from the data,
editing its narrative, review, approval (never by someone who edited it), new revisions after
approval, rendering immutable PDF versions in the worker, and recording the submission of the
exact version sent. Pages, the API, tasks and commands call these; ``reporting.documents``
turns data into HTML and PDF.

Every read goes through ``accounts.scoping.scope()``; every act on a report of an incident
takes the incident's row lock first (like every act on an incident) and is an entry in the
incident's history. The annual FISMA summary has no incident: only the agency-wide roles see
it, and its acts have no incident history to be written in (logged instead).
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django_fsm import has_transition_perm

from accounts.context import AgencyContext
from accounts.permissions import require
from accounts.scoping import scope
from core.canonical import canonical_json, canonical_sha256
from core.errors import Conflict, InvalidInput, NotFound, NotPermitted
from core.jobs import JobState, enqueue_on_commit, register_sweep, requeue_stale
from core.locking import lock_row
from core.storage import discard, hash_stored, open_stored
from core.time import format_local
from incidents.models import State
from incidents.selectors import visible_incident
from incidents.services import history_append, incident_update, lock_incident

from . import services
from .documents import (
    KINDS,
    RENDERER_VERSION,
    RenderError,
    definition_for,
    gather,
    narrative_problems,
    render_html,
    render_pdf,
    suggestions,
)
from .history import ReportingEventKind
from .models import (
    ANNUAL_KIND,
    INCIDENT_KIND,
    OBLIGATION_KINDS,
    CisaResponse,
    CisaSeverity,
    Obligation,
    RenderJob,
    Report,
    ReportState,
    ReportVersion,
    Submission,
)

logger = logging.getLogger(__name__)

RENDER_TASK = "reporting.tasks.render_report_version"

# Incidents whose post-incident report (lessons learned) may be drafted.
POST_INCIDENT_STATES = (State.RECOVERED, State.CLOSED)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


# --- reading ------------------------------------------------------------------------------


def visible_reports(ctx: AgencyContext, incident=None):
    """The reports ``ctx`` sees (of ``incident``, a number, pk or instance, when given; the
    incident must be visible), every revision, oldest first."""
    qs = scope(Report.objects.all(), ctx).select_related(
        "agency", "incident", "obligation__rule", "approved_by", "created_by"
    )
    if incident is not None:
        qs = qs.filter(incident=visible_incident(ctx, incident))
    return qs


def visible_report(ctx: AgencyContext, pk) -> Report:
    found = visible_reports(ctx).filter(pk=getattr(pk, "pk", pk)).first()
    if found is None:
        raise NotFound("No such report.")
    return found


def visible_version(ctx: AgencyContext, pk) -> ReportVersion:
    found = (
        scope(ReportVersion.objects.all(), ctx)
        .select_related("report__agency", "report__incident", "rendered_by")
        .filter(pk=getattr(pk, "pk", pk))
        .first()
    )
    if found is None:
        raise NotFound("No such report version.")
    return found


def annual_reports(ctx: AgencyContext, fiscal_year: int | None = None):
    """The annual FISMA summaries of the caller's agency (of ``fiscal_year`` when given)."""
    qs = visible_reports(ctx).filter(kind=ANNUAL_KIND, incident__isnull=True)
    return qs.filter(fiscal_year=fiscal_year) if fiscal_year is not None else qs


def current_version(report: Report) -> ReportVersion | None:
    """The latest rendering of this revision."""
    return report.versions.order_by("-number").first()


def render_jobs_pending(report: Report):
    return report.render_jobs.filter(state=JobState.QUEUED)


def allowed_report_transitions(ctx: AgencyContext, report: Report) -> list[str]:
    """The transitions ``ctx``'s user may take from the report's state (role conditions of
    django-fsm; separation of duties is checked on top by ``report_approve``)."""
    return [
        t.name
        for t in report.get_available_state_transitions()
        if t.name != "supersede" and has_transition_perm(getattr(report, t.name), ctx.user)
    ]


# --- helpers ------------------------------------------------------------------------------


def _ruleset(report_or_incident):
    incident = getattr(report_or_incident, "incident", report_or_incident)
    if incident is None:
        return None
    return incident.ruleset


def _definition(report: Report):
    return definition_for(report.kind, _ruleset(report))


def _narrative_keys(definition) -> list[str]:
    return [s.key for s in definition.sections if s.mode == "narrative"]


def _gather(report: Report, now: datetime) -> dict:
    """The report's data; once approved, with ``signer``: the approving official."""
    if report.kind == ANNUAL_KIND:
        data = gather(report.kind, agency=report.agency, fiscal_year=report.fiscal_year, now=now)
    elif report.obligation_id:
        data = gather(
            report.kind,
            obligation=report.obligation,
            incident=report.incident,
            sequence=report.obligation.sequence,
            now=now,
        )
    else:
        data = gather(report.kind, incident=report.incident, now=now)
    approver = report.approved_by if report.approved_by_id else None
    if approver is not None and report.state in (ReportState.APPROVED, ReportState.SUBMITTED):
        data["signer"] = approver.get_full_name() or approver.get_username()
    return data


def _label(report: Report, number: int | None = None) -> str:
    label = f"{report.title} · revision {report.revision}" if report.revision > 1 else report.title
    return f"{label} · version {number}" if number else label


def _title(kind: str, *, incident=None, obligation=None, agency=None, fiscal_year=None) -> str:
    name = KINDS[kind]
    if kind == ANNUAL_KIND:
        return f"{agency.abbreviation} · {name} FY{fiscal_year}"
    if obligation is not None and obligation.rule.repeatable:
        name = f"{name} {obligation.sequence}"
    elif obligation is not None and obligation.rule.title and kind != "supplemental-report":
        name = obligation.rule.title
    return f"{incident.number} · {name}"


def _log(report: Report, kind: str, actor, now: datetime, note: str, **data) -> None:
    """An entry in the incident's history (the caller holds the incident's lock); the annual
    summary has no incident and is logged only."""
    payload = {"report": report.pk, "kind": report.kind, "revision": report.revision, **data}
    if report.incident_id is None:
        logger.info("report %s: %s (%s) %s", report.pk, kind, note, payload)
        return
    history_append(
        incident=report.incident, kind=kind, actor=actor, at=now, note=note, data=payload
    )


def _lock_report(ctx: AgencyContext, report: Report) -> Report:
    """Re-read ``report`` under a row lock, through the caller's scope; the incident's lock is
    taken first, so acts on the report serialise with every other act on the incident."""
    report = visible_report(ctx, report)
    if report.incident_id:
        lock_incident(ctx, report.incident)
    return lock_row(
        scope(Report.objects.select_related("agency", "incident", "obligation__rule"), ctx),
        report.pk,
        missing="No such report.",
    )


def _refuse_transition(ctx: AgencyContext, report: Report, name: str, doing: str) -> None:
    allowed = allowed_report_transitions(ctx, report)
    if name not in allowed:
        raise Conflict(
            f"Cannot {doing}: the report is {report.get_state_display().lower()}"
            + (f"; allowed: {', '.join(allowed)}." if allowed else "."),
            allowed_transitions=allowed,
            state=report.state,
        )


def _check_narrative(definition, narrative) -> dict[str, str]:
    if not isinstance(narrative, dict):
        raise InvalidInput("Narrative must map section keys to text.", field="narrative")
    keys = _narrative_keys(definition)
    unknown = sorted(set(narrative) - set(keys))
    if unknown:
        raise InvalidInput(
            f"Narrative: no section {', '.join(map(repr, unknown))} in this report "
            f"(its narrative sections: {', '.join(keys) or 'none'}).",
            field="narrative",
        )
    clean = {}
    for key, text in narrative.items():
        if not isinstance(text, str):
            raise InvalidInput(f"Narrative {key!r}: text expected.", field=f"narrative.{key}")
        problems = narrative_problems(text)
        if problems:
            section = next(s for s in definition.sections if s.key == key)
            raise InvalidInput(
                f"{section.title}: {'; '.join(problems)}", field=f"narrative.{key}", section=key
            )
        clean[key] = text.replace("\r\n", "\n")
    return clean


def _check_recipients(recipients) -> list[str]:
    if not isinstance(recipients, list) or not all(
        isinstance(r, str) and r.strip() for r in recipients
    ):
        raise InvalidInput("Recipients must be a list of names.", field="recipients")
    return [r.strip() for r in recipients]


# --- drafting and editing -------------------------------------------------------------------


@transaction.atomic
def report_draft(
    ctx: AgencyContext,
    *,
    obligation=None,
    incident=None,
    kind: str | None = None,
    fiscal_year: int | None = None,
    now: datetime | None = None,
) -> Report:
    """Draft a report: for an obligation (its rule's kind), for an incident (the post-incident
    report, once it is recovered or closed) or for the caller's agency and a fiscal year (the
    annual summary). Narrative sections start from the suggestions the data allows."""
    now = _now(now)
    require(ctx, "report_draft")
    agency, ob = ctx.agency, None
    if obligation is not None:
        ob = (
            scope(Obligation.objects.select_related("rule", "incident__agency"), ctx)
            .filter(pk=getattr(obligation, "pk", obligation))
            .first()
        )
        if ob is None:
            raise NotFound("No such obligation.")
        incident = lock_incident(ctx, ob.incident)
        kind = ob.rule.report_kind
        if kind not in OBLIGATION_KINDS:
            raise InvalidInput(f"The rule {ob.rule.key!r} names no known report kind ({kind!r}).")
        if ob.withdrawn_at or ob.waived_at:
            raise Conflict(f"{ob} was {'withdrawn' if ob.withdrawn_at else 'waived'}; no report.")
        existing = Report.objects.filter(obligation=ob).exclude(state=ReportState.SUPERSEDED)
    elif kind == ANNUAL_KIND:
        if not ctx.sees_whole_agency:
            raise NotPermitted(
                "Only a compliance officer may draft the annual summary (it spans every "
                "incident of the agency)."
            )
        if not isinstance(fiscal_year, int) or not 2000 <= fiscal_year <= 2100:
            raise InvalidInput("The annual summary needs a fiscal year.", field="fiscal_year")
        incident = None
        existing = Report.objects.filter(
            agency=agency, kind=ANNUAL_KIND, fiscal_year=fiscal_year, incident__isnull=True
        ).exclude(state=ReportState.SUPERSEDED)
    elif kind == INCIDENT_KIND:
        if incident is None:
            raise InvalidInput("The post-incident report needs an incident.", field="incident")
        incident = lock_incident(ctx, visible_incident(ctx, incident))
        if incident.state not in POST_INCIDENT_STATES:
            raise Conflict(
                f"The post-incident report is drafted once the incident is recovered or "
                f"closed; {incident.number} is {incident.get_state_display().lower()}."
            )
        existing = Report.objects.filter(incident=incident, kind=kind, obligation__isnull=True)
        existing = existing.exclude(state=ReportState.SUPERSEDED)
    else:
        raise InvalidInput(
            f"Kind: {kind!r} is drafted for an obligation, or is not a report kind "
            f"({', '.join(KINDS)}).",
            field="kind",
        )
    if incident is not None:
        agency = incident.agency
    found = existing.first()
    if found is not None:
        raise Conflict(
            f"{found.title} already has a report (revision {found.revision}, "
            f"{found.get_state_display().lower()}).",
            report=found.pk,
        )
    definition = definition_for(kind, _ruleset(incident))
    report = Report(
        agency=agency,
        incident=incident,
        obligation=ob,
        kind=kind,
        fiscal_year=fiscal_year if kind == ANNUAL_KIND else None,
        definition_version=definition.version,
        title=_title(
            kind, incident=incident, obligation=ob, agency=agency, fiscal_year=fiscal_year
        ),
        recipients=list(ob.recipients) if ob is not None else [],
        created_by=ctx.user,
        created_at=now,
        updated_at=now,
    )
    data = _gather(report, now)
    suggested = suggestions(definition, data)
    report.narrative = {k: suggested.get(k, "") for k in _narrative_keys(definition)}
    report.save()
    if ctx.user is not None:
        report.editors.add(ctx.user)  # the drafter chose the narrative it starts with
    _log(report, ReportingEventKind.REPORT_DRAFTED, ctx.user, now, f"{report.title} drafted.")
    return report


@transaction.atomic
def report_edit(
    ctx: AgencyContext,
    report: Report,
    *,
    narrative: dict[str, str],
    recipients: list[str] | None = None,
    title: str | None = None,
    now: datetime | None = None,
) -> Report:
    """Change a draft's narrative (the sections given; the others stay), recipients or title.
    On an approved or submitted report this starts revision n+1 from its content (the old
    revision becomes superseded) and returns the new one. A report in review is returned to
    draft first; a superseded one is no longer edited."""
    now = _now(now)
    require(ctx, "report_draft", doing="edit a report")
    report = _lock_report(ctx, report)
    definition = definition_for(report.kind, _ruleset(report))
    changes = _check_narrative(definition, narrative or {})
    recipients = _check_recipients(recipients) if recipients is not None else None
    if title is not None and not title.strip():
        raise InvalidInput("A report needs a title.", field="title")
    if report.state == ReportState.IN_REVIEW:
        raise Conflict("The report is in review: return it to draft to change it.")
    if report.state == ReportState.SUPERSEDED:
        raise Conflict("This revision was superseded: edit the current one.")
    if report.state in (ReportState.APPROVED, ReportState.SUBMITTED):
        old = report
        old.supersede()
        old.updated_at = now
        old.save(update_fields=["state", "updated_at"])
        report = Report.objects.create(
            agency=old.agency,
            incident=old.incident,
            obligation=old.obligation,
            kind=old.kind,
            fiscal_year=old.fiscal_year,
            definition_version=old.definition_version,
            revision=old.revision + 1,
            revises=old,
            narrative=dict(old.narrative),
            recipients=list(old.recipients),
            title=old.title,
            created_by=ctx.user,
            created_at=now,
            updated_at=now,
        )
        _log(
            report,
            ReportingEventKind.REPORT_REVISED,
            ctx.user,
            now,
            f"{report.title}: revision {report.revision} started from the "
            f"{old.get_state_display().lower()} revision {old.revision}.",
            revises=old.pk,
        )
    narrative_changed = any(report.narrative.get(k, "") != v for k, v in changes.items())
    report.narrative = {**report.narrative, **changes}
    if recipients is not None:
        report.recipients = recipients
    if title is not None:
        report.title = title.strip()
    report.updated_at = now
    report.save(update_fields=["narrative", "recipients", "title", "updated_at"])
    if narrative_changed and ctx.user is not None:
        report.editors.add(ctx.user)
    return report


# --- review and approval --------------------------------------------------------------------


@transaction.atomic
def report_submit_for_review(ctx: AgencyContext, report: Report, *, now=None) -> Report:
    now = _now(now)
    require(ctx, "report_draft", doing="send a report for review")
    report = _lock_report(ctx, report)
    _refuse_transition(ctx, report, "submit_for_review", "send it for review")
    definition = definition_for(report.kind, _ruleset(report))
    empty = [
        s.title
        for s in definition.sections
        if s.mode == "narrative" and s.required and not report.narrative.get(s.key, "").strip()
    ]
    if empty:
        raise InvalidInput(
            f"Write the required sections first: {', '.join(empty)}.", field="narrative"
        )
    report.submit_for_review()
    report.return_reason, report.updated_at = "", now
    report.save(update_fields=["state", "return_reason", "updated_at"])
    _log(report, ReportingEventKind.REPORT_IN_REVIEW, ctx.user, now, f"{report.title} in review.")
    return report


@transaction.atomic
def report_return_to_draft(ctx: AgencyContext, report: Report, *, reason: str, now=None) -> Report:
    now = _now(now)
    require(ctx, "report_return")
    report = _lock_report(ctx, report)
    if not (reason or "").strip():
        raise InvalidInput("Returning a report to draft needs a reason.", field="reason")
    _refuse_transition(ctx, report, "return_to_draft", "return it to draft")
    report.return_to_draft()
    report.return_reason, report.updated_at = reason.strip(), now
    report.save(update_fields=["state", "return_reason", "updated_at"])
    _log(
        report,
        ReportingEventKind.REPORT_RETURNED,
        ctx.user,
        now,
        f"{report.title} returned to draft: {reason.strip()}",
        reason=reason.strip(),
    )
    return report


@transaction.atomic
def report_approve(ctx: AgencyContext, report: Report, *, now=None) -> Report:
    """An approving official approves a report in review, freezing its content, unless they
    edited its narrative (separation of duties). The approved content is rendered (without
    the DRAFT watermark) by the worker."""
    now = _now(now)
    require(ctx, "report_approve")
    report = _lock_report(ctx, report)
    if ctx.user is not None and report.editors.filter(pk=ctx.user.pk).exists():
        raise NotPermitted(
            "You edited this report's narrative, so you cannot approve it: another approving "
            "official must (separation of duties)."
        )
    _refuse_transition(ctx, report, "approve", "approve it")
    report.approve()
    report.approved_by, report.approved_at, report.updated_at = ctx.user, now, now
    report.save(update_fields=["state", "approved_by", "approved_at", "updated_at"])
    _log(report, ReportingEventKind.REPORT_APPROVED, ctx.user, now, f"{report.title} approved.")
    _queue_render(report, ctx.user, now)
    return report


# --- rendering ------------------------------------------------------------------------------


def _queue_render(report: Report, user, now: datetime) -> RenderJob:
    job = RenderJob.objects.create(
        report=report, requested_by=user, requested_at=now, queued_at=now
    )
    enqueue_on_commit(RENDER_TASK, job.pk)
    return job


@transaction.atomic
def report_request_render(ctx: AgencyContext, report: Report, *, now=None) -> RenderJob:
    """Ask the worker to render the report as it is now (a job row; the page shows it as
    rendering until it is done). A job already waiting for it is returned instead. Submitted
    and superseded reports are frozen: their versions are final."""
    now = _now(now)
    require(ctx, "report_render")
    report = _lock_report(ctx, report)
    if report.state in (ReportState.SUBMITTED, ReportState.SUPERSEDED):
        raise Conflict(
            f"The report is {report.get_state_display().lower()}: its versions are final."
        )
    waiting = render_jobs_pending(report).order_by("pk").first()
    if waiting is not None:
        return waiting
    return _queue_render(report, ctx.user, now)


@dataclass(frozen=True)
class _Rendered:
    name: str
    sha256: str
    size: int
    data: dict
    narrative: dict
    draft: bool
    state: str
    definition_version: str
    ruleset_version: str


def _render_and_store(report: Report, *, now: datetime) -> _Rendered:
    """Gather, render and store the PDF (no database write). Raises ``RenderError`` when the
    content cannot be rendered, anything else when the run was cut short."""
    definition = _definition(report)
    data = _gather(report, now)
    narrative = dict(report.narrative)
    draft = report.state not in (ReportState.APPROVED, ReportState.SUBMITTED)
    number = (report.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    html = render_html(definition, data, narrative, label=_label(report, number), draft=draft)
    pdf = render_pdf(html, title=report.title)
    where = report.incident.number if report.incident_id else f"FY{report.fiscal_year}"
    name = (
        f"reports/{report.agency.abbreviation}/{where}/"
        f"{report.kind}-{report.pk}-r{report.revision}-{uuid.uuid4().hex}.pdf"
    )
    sha = hashlib.sha256(pdf).hexdigest()
    stored = default_storage.save(name, ContentFile(pdf, name=name))
    try:
        check, size = hash_stored(stored)
        if check != sha or size != len(pdf):
            raise OSError(f"The stored PDF {stored} does not read back as written.")
    except Exception:
        discard(stored)
        raise
    ruleset = _ruleset(report)
    return _Rendered(
        name=stored,
        sha256=sha,
        size=len(pdf),
        data=data,
        narrative=narrative,
        draft=draft,
        state=report.state,
        definition_version=definition.version,
        ruleset_version=f"{ruleset.name} {ruleset.version}" if ruleset else "",
    )


def _record_version(report: Report, rendered: _Rendered, *, user, now: datetime) -> ReportVersion:
    """The version row of a stored PDF (the caller holds the report's lock)."""
    number = (report.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    document = canonical_json(rendered.data)
    version = ReportVersion.objects.create(
        report=report,
        number=number,
        pdf_name=rendered.name,
        pdf_sha256=rendered.sha256,
        pdf_size=rendered.size,
        data=rendered.data,
        data_sha256=canonical_sha256(rendered.data),
        narrative=rendered.narrative,
        definition_version=rendered.definition_version,
        ruleset_version=rendered.ruleset_version,
        renderer_version=RENDERER_VERSION,
        draft=rendered.draft,
        rendered_by=user,
        rendered_at=now,
        report_state=rendered.state,
    )
    _log(
        report,
        ReportingEventKind.REPORT_RENDERED,
        user,
        now,
        f"{report.title}: version {number} rendered"
        + (" (draft)" if rendered.draft else "")
        + f", SHA-256 {rendered.sha256}.",
        version=version.pk,
        pdf_sha256=rendered.sha256,
        data_bytes=len(document),
    )
    return version


def _render_now(report: Report, *, user, now: datetime) -> ReportVersion:
    """Render synchronously and record the version (the caller holds the report's lock)."""
    rendered = _render_and_store(report, now=now)
    try:
        with transaction.atomic():
            return _record_version(report, rendered, user=user, now=now)
    except Exception:
        discard(rendered.name)
        raise


def report_render_job_run(job_id: int, *, now: datetime | None = None) -> ReportVersion | None:
    """Do a queued render job (the worker; idempotent: a job already done, failed or taken by
    another worker is left alone). The PDF is stored first; the version row is written, and
    the job marked done, in one transaction after it — so a worker killed mid-render leaves
    no version and the job still queued, and the sweep's retry renders it. A ``RenderError``
    (content that cannot render) fails the job for good with the reason and no version;
    other failures are retried up to ``Job.MAX_ATTEMPTS`` times. Never raises."""
    now = _now(now)
    with transaction.atomic():
        job = (
            RenderJob.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("report__agency", "report__incident", "report__obligation__rule")
            .select_related("requested_by")
            .filter(pk=job_id, state=JobState.QUEUED)
            .first()
        )
        if job is None:
            return None
        report = Report.objects.select_for_update(of=("self",)).get(pk=job.report_id)
        if report.state in (ReportState.SUBMITTED, ReportState.SUPERSEDED):
            job.state, job.finished_at = JobState.DONE, now
            job.error = (
                f"Not rendered: the report was {report.get_state_display().lower()} first "
                "(its versions are final)."
            )
            job.save()
            return None
        job.attempts += 1
        version, rendered = None, None
        try:
            with transaction.atomic():
                rendered = _render_and_store(report, now=job.requested_at)
                version = _record_version(report, rendered, user=job.requested_by, now=now)
        except Exception as exc:
            if rendered is not None:
                discard(rendered.name)
            logger.exception("Render job %s failed", job.pk)
            job.error = f"{exc.__class__.__name__}: {exc}"
            if isinstance(exc, RenderError) or job.attempts >= RenderJob.MAX_ATTEMPTS:
                job.state, job.finished_at = JobState.FAILED, now
                if report.incident_id:
                    history_append(
                        incident=report.incident,
                        kind=ReportingEventKind.REPORT_RENDER_FAILED,
                        actor=job.requested_by,
                        at=now,
                        note=f"{report.title}: rendering failed — {exc}",
                        data={"report": report.pk, "job": job.pk, "error": job.error},
                    )
        else:
            job.version, job.state, job.finished_at, job.error = version, JobState.DONE, now, ""
        job.save()
        return version


def render_jobs_requeue(now: datetime) -> int:
    return requeue_stale(RenderJob.objects.filter(state=JobState.QUEUED), RENDER_TASK, now)


register_sweep("reporting.render", render_jobs_requeue)


def report_preview_html(ctx: AgencyContext, report: Report, *, now=None) -> str:
    """The report as it would render now, as HTML to embed in a Docket page."""
    report = visible_report(ctx, report)
    now = _now(now)
    return render_html(
        _definition(report),
        _gather(report, now),
        dict(report.narrative),
        label=_label(report),
        draft=report.state not in (ReportState.APPROVED, ReportState.SUBMITTED),
        preview=True,
    )


@transaction.atomic
def report_open_version(ctx: AgencyContext, version: ReportVersion, *, now=None):
    """The stored PDF of a version, opened for streaming; the read is recorded in the
    incident's history."""
    now = _now(now)
    version = visible_version(ctx, version)
    report = version.report
    if report.incident_id:
        lock_incident(ctx, report.incident)
    _log(
        report,
        ReportingEventKind.REPORT_DOWNLOADED,
        ctx.user,
        now,
        f"{report.title}: version {version.number} downloaded.",
        version=version.pk,
    )
    return open_stored(version.pdf_name)


def report_compare(ctx: AgencyContext, a: ReportVersion, b: ReportVersion):
    """The narrative of two versions of one document compared section by section: a list of
    (section, unified diff lines) in the definition's order, an empty list for a section
    that did not change."""
    a, b = visible_version(ctx, a), visible_version(ctx, b)
    if _document(a.report) != _document(b.report):
        raise InvalidInput("Only versions of the same report can be compared.")
    definition = _definition(b.report)
    sections = [s for s in definition.sections if s.mode == "narrative"]
    known = {s.key for s in sections}
    extra = sorted((set(a.narrative) | set(b.narrative)) - known)
    result = []
    for key, section in [(s.key, s) for s in sections] + [(k, k) for k in extra]:
        old = (a.narrative.get(key) or "").splitlines()
        new = (b.narrative.get(key) or "").splitlines()
        lines = list(
            difflib.unified_diff(
                old, new, f"version {a.number}", f"version {b.number}", lineterm="", n=2
            )
        )
        result.append((section, lines))
    return result


def _document(report: Report) -> tuple:
    return (
        report.agency_id,
        report.incident_id,
        report.obligation_id,
        report.kind,
        report.fiscal_year,
    )


# --- submission -----------------------------------------------------------------------------


def _approved_version(report: Report) -> ReportVersion | None:
    """The latest rendering of exactly the approved content, without watermark."""
    for version in report.versions.filter(draft=False).order_by("-number"):
        if version.narrative == report.narrative:
            return version
    return None


@transaction.atomic
def report_record_submission(
    ctx: AgencyContext,
    report: Report,
    *,
    submitted_at: datetime | None = None,
    channel: str,
    recipients: list[str] | None = None,
    reference: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Submission | None:
    """Record that an approved report went out (who, when, channel, recipients), linked to
    the exact version sent: the latest rendering of the approved content, rendered now if the
    worker has not done it yet. The obligation is met through
    ``reporting.services.submission_record``. A report that is not approved is refused
    (``Conflict``, 409). The post-incident report and the annual summary meet no obligation:
    they are marked submitted and no ``Submission`` is returned."""
    now = _now(now)
    require(ctx, "report_submit")
    report = _lock_report(ctx, report)
    if report.state != ReportState.APPROVED:
        raise Conflict(
            f"Only an approved report can be submitted; this one is "
            f"{report.get_state_display().lower()}.",
            state=report.state,
            allowed_transitions=allowed_report_transitions(ctx, report),
        )
    _refuse_transition(ctx, report, "submit", "record its submission")
    ob = report.obligation
    if ob is not None and (ob.withdrawn_at or ob.waived_at):
        # Before rendering anything: nothing is owed (submission_record says the same).
        raise Conflict(f"{ob} was {'withdrawn' if ob.withdrawn_at else 'waived'}; nothing is owed.")
    version = _approved_version(report) or _render_now(report, user=ctx.user, now=now)
    if recipients is not None:
        recipients = _check_recipients(recipients)
    sub = None
    if report.obligation_id:
        sub = services.submission_record(
            ctx=ctx,
            obligation=report.obligation,
            submitted_at=submitted_at,
            channel=channel,
            recipients=recipients or list(report.recipients) or None,
            reference=reference,
            note=note,
            now=now,
            report_version=version,
        )
        submitted_at = sub.submitted_at
    else:
        submitted_at = submitted_at or now
        if submitted_at > now:
            raise InvalidInput("The submission time cannot be in the future.", field="submitted_at")
    # Renders still waiting (e.g. the one approval queued) are answered by this version.
    for job in render_jobs_pending(report).order_by("pk"):
        job.state, job.finished_at = JobState.DONE, now
        if not RenderJob.objects.filter(version=version).exists():
            job.version = version
        job.save(update_fields=["state", "finished_at", "version"])
    report.submit()
    report.submitted_at, report.updated_at = submitted_at, now
    report.save(update_fields=["state", "submitted_at", "updated_at"])
    tz = report.agency.tz
    _log(
        report,
        ReportingEventKind.REPORT_SUBMITTED,
        ctx.user,
        now,
        f"{report.title} submitted {format_local(submitted_at, tz)} (version {version.number}, "
        f"SHA-256 {version.pdf_sha256}).",
        version=version.pk,
        submission=sub.pk if sub else None,
    )
    return sub


@transaction.atomic
def cisa_response_record(
    ctx: AgencyContext,
    submission: Submission,
    *,
    tracking_number: str,
    severity: str = "",
    now: datetime | None = None,
) -> CisaResponse:
    """Record CISA's answer to a notification of the incident: its tracking number and its
    severity rating (``reporting.models.cisa_response_for``). The tracking number is also set
    on the incident (``Incident.cisa_tracking_number``, which later reports print)."""
    now = _now(now)
    require(ctx, "report_submit", doing="record CISA's answer")
    sub = (
        scope(Submission.objects.select_related("obligation__rule", "obligation__incident"), ctx)
        .filter(pk=getattr(submission, "pk", submission))
        .first()
    )
    if sub is None:
        raise NotFound("No such submission.")
    incident = lock_incident(ctx, sub.obligation.incident)
    if sub.obligation.rule.report_kind != "cisa-notification":
        raise InvalidInput("CISA's answer is recorded on a submission of a CISA notification.")
    tracking_number = (tracking_number or "").strip()
    if not tracking_number:
        raise InvalidInput("CISA's tracking number is required.", field="tracking_number")
    if severity and severity not in CisaSeverity.values:
        raise InvalidInput(
            f"Severity: {severity!r} is not one of {', '.join(CisaSeverity.values)}.",
            field="severity",
        )
    response = CisaResponse.objects.create(
        incident=incident,
        submission=sub,
        tracking_number=tracking_number,
        severity=severity,
        recorded_by=ctx.user,
        recorded_at=now,
    )
    if incident.cisa_tracking_number != tracking_number and incident.state not in (
        State.CLOSED,
        State.DISMISSED,
    ):
        # The incident's own field, which its page and every report print.
        incident = incident_update(
            ctx=ctx, incident=incident, changes={"cisa_tracking_number": tracking_number}, now=now
        )
    history_append(
        incident=incident,
        kind=ReportingEventKind.CISA_RESPONSE,
        actor=ctx.user,
        at=now,
        note=f"CISA tracking number {tracking_number}"
        + (f", severity {CisaSeverity(severity).label}" if severity else "")
        + ".",
        data={"submission": sub.pk, "tracking_number": tracking_number, "severity": severity},
    )
    return response


# --- the current version (the render_report command, the demo) ------------------------------


def current_report(
    ctx: AgencyContext,
    *,
    kind: str,
    incident=None,
    sequence: int | None = None,
    rule: str | None = None,
    fiscal_year: int | None = None,
) -> tuple[Report | None, list[Obligation]]:
    """The current revision of one document and, for an obligation kind, the obligations of
    the incident that kind could mean (to name the choice). Obligation kinds: the obligation
    of ``rule`` (a rule key) or of ``sequence``; without either, the latest-anchored one
    that has a report (the CISA notification and its update share a kind)."""
    if kind == ANNUAL_KIND:
        return annual_reports(ctx, fiscal_year).exclude(state=ReportState.SUPERSEDED).first(), []
    incident = visible_incident(ctx, incident)
    current = visible_reports(ctx).filter(incident=incident).exclude(state=ReportState.SUPERSEDED)
    if kind == INCIDENT_KIND:
        return current.filter(kind=kind, obligation__isnull=True).first(), []
    if kind not in OBLIGATION_KINDS:
        raise InvalidInput(f"Kind: {kind!r} is not one of {', '.join(KINDS)}.", field="kind")
    obligations = list(
        scope(Obligation.objects.select_related("rule"), ctx)
        .filter(incident=incident, rule__report_kind=kind)
        .order_by("-anchor_at", "-pk")
    )
    if rule:
        obligations = [o for o in obligations if o.rule.key == rule]
    if sequence is not None:
        obligations = [o for o in obligations if o.sequence == sequence]
    by_obligation = {r.obligation_id: r for r in current.filter(obligation__in=obligations)}
    for ob in obligations:
        if ob.pk in by_obligation:
            return by_obligation[ob.pk], obligations
    return None, obligations


def report_render_now(ctx: AgencyContext, report: Report, *, now=None) -> ReportVersion:
    """Render the report synchronously (the command, the demo) and record the version."""
    now = _now(now)
    require(ctx, "report_render")
    with transaction.atomic():
        report = _lock_report(ctx, report)
        if report.state == ReportState.SUPERSEDED:
            raise Conflict("This revision was superseded: its versions are final.")
        return _render_now(report, user=ctx.user, now=now)


def report_current_version(ctx: AgencyContext, report: Report, *, now=None) -> ReportVersion:
    """The latest version of the report's revision, rendering one now if none exists."""
    report = visible_report(ctx, report)
    return current_version(report) or report_render_now(ctx, report, now=now)
