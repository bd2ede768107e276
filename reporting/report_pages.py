"""The report pages: the Reports section of the incident page, the editor, the HTML preview,
the version list with its rendering status, the comparison of two versions, the download, and
the annual FISMA summary of an agency per fiscal year.

A report of an incident lives under ``/incidents/<number>/reports/<report>/…``; an annual
summary under ``/reports/annual/<fiscal_year>/<report>/…``. The same views serve both: the
prefix must name the report's own incident (or fiscal year), else the report is not found.
Every read and write goes through ``reporting.reports`` (scoped selectors, services); a
service's refusal is shown on the page with its own message.

The editor works without JavaScript: a plain form POST saves, and a refused save shows what
was typed again with the problem named. It carries the report's ``updated_at`` as read: a
save over someone else's newer save is refused (409) and the page shows both texts.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.permissions import ACTS
from accounts.scoping import scope
from core.errors import Conflict, DocketError, InvalidInput, NotFound, NotPermitted
from core.locking import lock_row
from core.time import format_local, to_local_input
from incidents.models import State
from incidents.selectors import visible_incident
from incidents.web import forbidden, with_context

from . import reports as services
from .documents import KINDS, definition_for, gather, narrative_problems, suggestions
from .models import CisaSeverity, Report, Submission
from .presentation import RENDER_STATE_LABELS, report_state_label, report_state_tag
from .report_forms import (
    AnnualDraftForm,
    CisaResponseForm,
    ReportEditForm,
    ReportSubmissionForm,
    ReturnForm,
    fiscal_year_of,
    section_field,
)

log = logging.getLogger(__name__)

ANNUAL = "annual-fisma-summary"
POST_INCIDENT = "post-incident-report"
POLL_SECONDS = 3
# The acts of the report workflow (accounts.permissions.ACTS), as the pages offer them.
ACT_DRAFT = "report_draft"  # also editing and sending for review
ACT_SUBMIT = "report_submit"
ACT_RENDER = "report_render"
# An approved or submitted report is edited by starting a new revision; one in review goes
# back to draft first.
EDITABLE = ("draft", "approved", "submitted")


# --- plumbing ---------------------------------------------------------------------------------


def report_url(report, name: str = "edit", *extra) -> str:
    """The URL of page ``name`` of ``report``: under its incident, or under its fiscal year
    for the annual summary."""
    if report.kind == ANNUAL:
        return reverse(f"annual-report-page-{name}", args=[report.fiscal_year, report.pk, *extra])
    return reverse(f"report-page-{name}", args=[report.incident.number, report.pk, *extra])


def _report(ctx, report_pk, *, number=None, fiscal_year=None) -> Report:
    """The report of the URL, if the caller sees it and the URL's prefix is its own."""
    report = services.visible_report(ctx, report_pk)
    if number is not None:
        if report.incident_id is None or report.incident.number != number:
            raise NotFound("No such report.")
    elif report.kind != ANNUAL or report.fiscal_year != fiscal_year:
        raise NotFound("No such report.")
    return report


# The versions and render jobs of a report the caller already sees (``_report``: scoped by
# ``visible_report``) are the caller's to see too: they are read by the report here.
def _versions(ctx, report) -> list:
    return list(report.versions.select_related("rendered_by").order_by("-number"))


def _version(ctx, report, number: int):
    version = report.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"No version {number} of this report.")
    return services.visible_version(ctx, version.pk)


def _kind_title(kind: str) -> str:
    return KINDS.get(kind, kind)


def _label(report) -> str:
    """``FTA-2026-0001 · Supplemental report 1 · revision 2`` (the report's title, and its
    revision once there is more than one)."""
    if report.revision > 1:
        return f"{report.title} · revision {report.revision}"
    return report.title


def _definition(report):
    ruleset = report.incident.ruleset if report.incident_id else None
    return definition_for(report.kind, ruleset)


def _gather(report, now):
    """The data the report would be rendered from now (as ``reporting.reports`` gathers it)."""
    if report.kind == ANNUAL:
        return gather(report.kind, agency=report.agency, fiscal_year=report.fiscal_year, now=now)
    if report.obligation_id:
        return gather(
            report.kind,
            obligation=report.obligation,
            incident=report.incident,
            sequence=report.obligation.sequence,
            now=now,
        )
    return gather(report.kind, incident=report.incident, now=now)


def _header(ctx, report) -> dict:
    tz = ctx.agency.tz
    ob = report.obligation if report.obligation_id else None
    return {
        "report": report,
        "label": _label(report),
        "kind_title": _kind_title(report.kind),
        "state_label": report_state_label(report.state),
        "state_tag": report_state_tag(report.state),
        "incident": report.incident if report.incident_id else None,
        "obligation": ob,
        "due_local": format_local(ob.due_at, tz) if ob else "",
        "updated_local": format_local(report.updated_at, tz) if report.updated_at else "",
        "created_local": format_local(report.created_at, tz),
        "approved_local": format_local(report.approved_at, tz) if report.approved_at else "",
        "urls": {
            name.replace("-", "_"): report_url(report, name)
            for name in (
                "edit",
                "transition",
                "preview",
                "versions",
                "render",
                "submission",
                "compare",
                "status",
                "cisa-response",
            )
        },
        "back_url": reverse("incident-detail", args=[report.incident.number])
        if report.incident_id
        else reverse("annual-summary-year", args=[report.fiscal_year]),
        "back_label": f"Back to {report.incident.number}"
        if report.incident_id
        else f"Back to FY{report.fiscal_year}",
        "nav": "incidents" if report.incident_id else "annual",
    }


def _prefilled_html(definition, section, data: dict, label: str) -> str:
    """A prefilled section as the report prints it: its own template of ``templates/reports/
    sections/`` (the kind's, else the shared one — the lookup ``render_html`` makes), with the
    context ``render_html`` gives it. Docket's own autoescaped template: safe to embed."""
    try:
        template = select_template(
            [
                f"reports/sections/{definition.kind}/{section.key}.html",
                f"reports/sections/{section.key}.html",
            ]
        )
    except TemplateDoesNotExist:
        return ""
    return template.render(
        {
            "definition": definition,
            "data": data,
            "meta": data.get("meta", {}),
            "section": section,
            "label": label,
            "draft": True,
            "preview": True,
            "lang": "en-US",
        }
    )


def _suggestions(definition, data: dict) -> dict[str, str]:
    """The suggested narrative, or none when drafting it fails: a suggestion is a help, and
    the editor must open (and save) without it. The failure is logged with its traceback."""
    try:
        return suggestions(definition, data)
    except Exception:
        log.exception("No suggested text for %s: drafting it failed", definition.kind)
        return {}


def _may(ctx, act: str) -> bool:
    return ctx.may(act)


def _actions(ctx, report) -> dict:
    """Which workflow buttons the page offers: the transitions the state machine allows the
    caller from here (``allowed_report_transitions``). The service still decides: approval by
    someone who edited the narrative is offered, and refused with its reason."""
    state = str(report.state)
    allowed = set(services.allowed_report_transitions(ctx, report))
    return {
        "edit": _may(ctx, ACT_DRAFT) and state in EDITABLE,
        "review": "submit_for_review" in allowed,
        "return": "return_to_draft" in allowed,
        "approve": "approve" in allowed,
        "submit": "submit" in allowed and _may(ctx, ACT_SUBMIT),
        "render": _may(ctx, ACT_RENDER) and state not in ("submitted", "superseded"),
        "in_review": state == "in_review",
    }


def _render_status(ctx, report) -> dict:
    """The latest render job of the report: rendering, done (with its version) or failed."""
    job = report.render_jobs.select_related("version").order_by("-requested_at", "-pk").first()
    if job is None:
        return {"job": None, "rendering": False}
    tz = ctx.agency.tz
    state = str(job.state)
    return {
        "job": job,
        "rendering": state == "queued",
        "failed": state == "failed",
        "label": RENDER_STATE_LABELS.get(state, state),
        "requested_local": format_local(job.requested_at, tz),
        "finished_local": format_local(job.finished_at, tz) if job.finished_at else "",
        "version_number": job.version.number if job.version_id else None,
        "poll_seconds": POLL_SECONDS,
    }


# --- the Reports section of the incident page -------------------------------------------------


def incident_reports(ctx, incident, obligations) -> dict:
    """The Reports section of the incident page: each obligation (``Obligation`` rows, in the
    page's order) with its current report (the newest revision), and the post-incident report
    once the incident is recovered or closed. One query, whatever the number of obligations."""
    current: dict[object, Report] = {}
    for report in services.visible_reports(ctx, incident=incident).order_by("revision", "pk"):
        report.incident = incident  # its URLs name the incident: no query per report
        key = report.obligation_id or report.kind
        current[key] = report  # the highest revision wins
    may_draft = _may(ctx, ACT_DRAFT)
    draft_url = reverse("report-page-draft", args=[incident.number])
    rows = []
    for ob in obligations:
        if ob.waived_at or ob.withdrawn_at:
            continue
        report = current.get(ob.pk)
        title = ob.rule.title + (f" #{ob.sequence}" if ob.rule.repeatable else "")
        rows.append(_section_row(report, title, ob.rule.report_kind, may_draft, obligation=ob))
    if incident.state in (State.RECOVERED, State.CLOSED) or POST_INCIDENT in current:
        rows.append(
            _section_row(
                current.get(POST_INCIDENT),
                _kind_title(POST_INCIDENT),
                POST_INCIDENT,
                may_draft,
            )
        )
    return {"rows": rows, "draft_url": draft_url}


def _section_row(report, title, kind, may_draft, *, obligation=None) -> dict:
    return {
        "title": title,
        "kind_title": _kind_title(kind),
        "kind": kind,
        "obligation": obligation,
        "report": report,
        "url": report_url(report) if report else "",
        "versions_url": report_url(report, "versions") if report else "",
        "state_label": report_state_label(report.state) if report else "",
        "state_tag": report_state_tag(report.state) if report else "",
        "may_draft": may_draft and report is None,
    }


@with_context
@require_POST
def report_draft(request, ctx, number):
    """Draft the report of an obligation (``obligation``) or the post-incident report
    (``kind=post-incident-report``) of the incident; then its editor."""
    incident = visible_incident(ctx, number)
    try:
        if request.POST.get("kind") == POST_INCIDENT:
            report = services.report_draft(ctx, incident=incident, kind=POST_INCIDENT)
        else:
            try:
                pk = int(request.POST.get("obligation", ""))
            except ValueError:
                raise InvalidInput("Name the obligation to draft a report for.") from None
            ob = scope(incident.obligations.all(), ctx).filter(pk=pk).first()
            if ob is None:
                raise NotFound("No such obligation of this incident.")
            report = services.report_draft(ctx, obligation=ob)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, f"No report was drafted: {exc.message}")
        return redirect(reverse("incident-detail", args=[incident.number]) + "#reports")
    messages.success(request, f"{_label(report)} drafted.")
    return redirect(report_url(report))


# --- the editor -------------------------------------------------------------------------------


def _edit_form(report, definition, data=None, **kwargs):
    # Every narrative section of the definition, also one the data does not call for now
    # (e.g. the determination of a CISA update): what was written there is kept.
    narrative = definition.narrative_sections()
    form = ReportEditForm(
        data,
        sections=narrative,
        problems=narrative_problems,
        auto_id="report-%s",
        **kwargs,
    )
    return form


def _initial(report, definition) -> dict:
    initial = {
        "title": report.title,
        "recipients": "\n".join(report.recipients or []),
        "updated_at": report.updated_at.astimezone(UTC).isoformat(),
    }
    for section in definition.sections:
        if section.mode == "narrative":
            initial[section_field(section.key)] = (report.narrative or {}).get(section.key, "")
    return initial


def _editor(
    request,
    ctx,
    report,
    *,
    form=None,
    status=200,
    action_error=None,
    conflict=None,
    return_form=None,
):
    now = timezone.now()
    definition = _definition(report)
    if form is None:
        form = _edit_form(report, definition, initial=_initial(report, definition))
    data = _gather(report, now)
    suggested = _suggestions(definition, data)
    by_key = {section.key: field for section, field in form.section_rows()}
    label = _label(report)
    sections = []
    for section in definition.sections_for(data):
        row = {"section": section, "field": by_key.get(section.key)}
        if section.mode == "prefilled":
            row["html"] = _prefilled_html(definition, section, data, label)
        else:
            row["suggestion"] = suggested.get(section.key, "")
            if conflict is not None:
                row["theirs"] = conflict.get(section.key, "")
        sections.append(row)
    context = {
        **_header(ctx, report),
        "form": form,
        "sections": sections,
        "actions": _actions(ctx, report),
        "action_error": action_error,
        "conflict": conflict is not None,
        "return_form": return_form or ReturnForm(auto_id="return-%s"),
        "as_of_local": format_local(now, ctx.agency.tz),
        "definition": definition,
    }
    return render(request, "reporting/report_edit.html", context, status=status)


@with_context
@require_http_methods(["GET", "HEAD", "POST"])
def report_edit(request, ctx, report_pk, number=None, fiscal_year=None):
    """The editor: GET shows it; POST saves the narrative, the recipients and the title
    (``suggest=<key>`` puts a section's suggested text in its field, unsaved)."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    if request.method != "POST":
        return _editor(request, ctx, report)
    if not _may(ctx, ACT_DRAFT):
        return forbidden(request, _act_message(ACT_DRAFT))
    if str(report.state) not in EDITABLE:
        return _editor(
            request,
            ctx,
            report,
            status=409,
            action_error=f"This report is {report_state_label(report.state).lower()}; "
            "it can no longer be changed.",
        )
    definition = _definition(report)
    form = _edit_form(report, definition, request.POST)
    suggest = request.POST.get("suggest")
    if suggest:
        return _with_suggestion(request, ctx, report, definition, form, suggest)
    if not form.is_valid():
        messages.error(request, "The report was not saved. " + _problems(form))
        return _editor(request, ctx, report, form=form, status=400)
    try:
        with transaction.atomic():
            locked = lock_row(
                scope(Report.objects.all(), ctx), report.pk, missing="No such report."
            )
            if locked.updated_at != form.cleaned_data["updated_at"]:
                return _conflict(request, ctx, locked, form)
            saved = services.report_edit(
                ctx,
                locked,
                narrative={**(locked.narrative or {}), **form.narrative()},
                recipients=form.cleaned_data["recipients"],
                title=form.cleaned_data["title"],
            )
    except InvalidInput as exc:
        _apply(form, exc)
        messages.error(request, f"The report was not saved: {exc.message}")
        return _editor(request, ctx, report, form=form, status=400)
    except Conflict as exc:
        messages.error(request, f"The report was not saved: {exc.message}")
        return _editor(request, ctx, report, form=form, status=409, action_error=exc.message)
    if saved.pk != report.pk:
        messages.success(
            request,
            f"Saved as revision {saved.revision}: the approved revision {report.revision} "
            "stays as it was approved.",
        )
    else:
        messages.success(request, "Report saved.")
    return redirect(report_url(saved))


def _apply(form, exc: InvalidInput) -> None:
    field = exc.extra.get("field") or ""
    section = exc.extra.get("section")
    name = section_field(section) if section else field
    form.add_error(name if name in form.fields else None, exc.message)


def _problems(form) -> str:
    return " ".join(text for _, text in form.error_list())


def _with_suggestion(request, ctx, report, definition, form, key):
    """The form as typed, with section ``key``'s suggested text in its field (not saved)."""
    data = _gather(report, timezone.now())
    suggested = _suggestions(definition, data).get(key)
    name = section_field(key)
    if suggested is None or name not in form.fields:
        raise Http404("No suggested text for that section.")
    values = request.POST.copy()
    values[name] = suggested
    form = _edit_form(report, definition, values)
    messages.info(
        request,
        "The suggested text is in the field. Nothing is saved until you press Save.",
    )
    return _editor(request, ctx, report, form=form)


def _conflict(request, ctx, current, form):
    """Someone saved since this page was read: keep what was typed, show what they saved,
    and let a second save (with the newer ``updated_at``) replace it knowingly."""
    values = form.data.copy()
    values["updated_at"] = current.updated_at.astimezone(UTC).isoformat()
    definition = _definition(current)
    kept = _edit_form(current, definition, values)
    kept.is_valid()
    who = getattr(current, "updated_by", None) or getattr(current, "edited_by", None)
    when = format_local(current.updated_at, ctx.agency.tz)
    message = (
        f"Not saved: {'someone' if who is None else who.get_username()} saved this report at "
        f"{when}, after you opened it. Your text is kept below beside theirs; save again to "
        "replace theirs with yours."
    )
    return _editor(
        request,
        ctx,
        current,
        form=kept,
        status=409,
        action_error=message,
        conflict=dict(current.narrative or {}),
    )


# --- transitions and submission ---------------------------------------------------------------

TRANSITIONS = {
    "submit_for_review": ("report_submit_for_review", "sent for review"),
    "approve": ("report_approve", "approved"),
    "return_to_draft": ("report_return_to_draft", "returned to draft"),
}


@with_context
@require_POST
def report_transition(request, ctx, report_pk, number=None, fiscal_year=None):
    """Send for review, approve, or return to draft with a reason. A refusal (the drafter
    approving, the wrong state) is shown on the editor with its reason."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    name = request.POST.get("transition", "")
    if name not in TRANSITIONS:
        return _editor(request, ctx, report, status=400, action_error="No such step.")
    service_name, done = TRANSITIONS[name]
    try:
        if name == "return_to_draft":
            form = ReturnForm(request.POST, auto_id="return-%s")
            if not form.is_valid():
                return _editor(
                    request,
                    ctx,
                    report,
                    status=400,
                    action_error=_problems(form),
                    return_form=form,
                )
            report = services.report_return_to_draft(
                ctx, report, reason=form.cleaned_data["reason"]
            )
        else:
            report = getattr(services, service_name)(ctx, report)
    except (NotPermitted, Conflict, InvalidInput) as exc:
        return _editor(request, ctx, report, status=exc.status, action_error=exc.message)
    messages.success(request, f"{_label(report)} {done}.")
    return redirect(report_url(report))


def _submission_page(request, ctx, report, form, *, status=200, problem=None):
    context = {**_header(ctx, report), "form": form, "problem": problem}
    return render(request, "reporting/report_submission.html", context, status=status)


@with_context
@require_http_methods(["GET", "HEAD", "POST"])
def report_submission(request, ctx, report_pk, number=None, fiscal_year=None):
    """Record that the approved report went out (channel, time, recipients, reference); the
    submission meets the obligation and is linked to the version submitted."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    tz = ctx.agency.tz
    if not _may(ctx, ACT_SUBMIT):
        return forbidden(request, _act_message(ACT_SUBMIT))
    if request.method != "POST":
        form = ReportSubmissionForm(
            tz=tz,
            auto_id="submission-%s",
            initial={
                "submitted_at": to_local_input(timezone.now(), tz),
                "recipients": "\n".join(report.recipients or []),
            },
        )
        return _submission_page(request, ctx, report, form)
    form = ReportSubmissionForm(request.POST, tz=tz, auto_id="submission-%s")
    if not form.is_valid():
        return _submission_page(request, ctx, report, form, status=400)
    data = form.cleaned_data
    try:
        services.report_record_submission(
            ctx,
            report,
            submitted_at=data["submitted_at"],
            channel=data["channel"],
            recipients=data["recipients"],
            reference=data["reference"],
            note=data["note"],
        )
    except InvalidInput as exc:
        _apply(form, exc)
        return _submission_page(request, ctx, report, form, status=400, problem=exc.message)
    except Conflict as exc:
        return _submission_page(request, ctx, report, form, status=409, problem=exc.message)
    report = services.visible_report(ctx, report.pk)
    messages.success(
        request,
        f"{_label(report)}: submission sent {format_local(report.submitted_at, tz)} recorded.",
    )
    return redirect(report_url(report, "versions"))


def _act_message(act: str) -> str:
    return ACTS[act].message


# --- preview ----------------------------------------------------------------------------------


@with_context
@require_safe
def report_preview(request, ctx, report_pk, number=None, fiscal_year=None):
    """The report as it would render now, as HTML inside the page (no PDF is made)."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    try:
        html = services.report_preview_html(ctx, report)
        problem = None
    except DocketError as exc:
        html, problem = "", exc.message
    context = {**_header(ctx, report), "preview_html": html, "problem": problem}
    return render(request, "reporting/report_preview.html", context)


# --- versions, rendering, download, comparison ------------------------------------------------


def _version_rows(ctx, report, versions) -> list[dict]:
    tz = ctx.agency.tz
    return [
        {
            "v": v,
            "rendered_local": format_local(v.rendered_at, tz),
            "by": v.rendered_by.get_username() if v.rendered_by_id else "system",
            "state_label": report_state_label(v.report_state),
            "download_url": report_url(report, "download", v.number),
            "size_kib": f"{v.pdf_size / 1024:,.1f}",
        }
        for v in versions
    ]


CISA_KIND = "cisa-notification"


def _cisa_submission(ctx, report):
    """The latest submission of this CISA notification (the one CISA answers), or None."""
    if report.kind != CISA_KIND or not report.obligation_id:
        return None
    return (
        scope(Submission.objects.all(), ctx)
        .filter(report_version__report=report)
        .prefetch_related("cisa_responses")
        .order_by("-submitted_at", "-pk")
        .first()
    )


def _cisa_context(ctx, report, form=None) -> dict:
    sub = _cisa_submission(ctx, report)
    if sub is None:
        return {"cisa": None}
    tz = ctx.agency.tz
    answers = [
        {
            "r": r,
            "severity": CisaSeverity(r.severity).label if r.severity else "not rated",
            "at_local": format_local(r.recorded_at, tz),
        }
        for r in sorted(sub.cisa_responses.all(), key=lambda r: (r.recorded_at, r.pk))
    ]
    may = _may(ctx, ACT_SUBMIT)
    return {
        "cisa": {
            "submission": sub,
            "submitted_local": format_local(sub.submitted_at, tz),
            "answers": answers,
            "form": (form or CisaResponseForm(auto_id="cisa-%s")) if may else None,
        }
    }


def _versions_context(ctx, report) -> dict:
    versions = _versions(ctx, report)
    return {
        "versions": _version_rows(ctx, report, versions),
        "status": _render_status(ctx, report),
        "status_url": report_url(report, "status"),
        "versions_url": report_url(report, "versions"),
    }


@with_context
@require_safe
def report_versions(request, ctx, report_pk, number=None, fiscal_year=None):
    """Every rendering of the report, newest first, with the hashes of its PDF and its data,
    the definition, rule set and renderer versions, who and when; the rendering status."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    context = {
        **_header(ctx, report),
        **_versions_context(ctx, report),
        **_cisa_context(ctx, report),
        "actions": _actions(ctx, report),
    }
    return render(request, "reporting/report_versions.html", context)


@with_context
@require_POST
def report_cisa_response(request, ctx, report_pk, number=None, fiscal_year=None):
    """Record CISA's answer to the submitted notification: tracking number and severity
    (later reports print them). A refusal shows the version list with the reason."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    sub = _cisa_submission(ctx, report)
    if sub is None:
        raise NotFound("This report has no submission to CISA to record an answer to.")
    if not _may(ctx, ACT_SUBMIT):
        return forbidden(request, _act_message(ACT_SUBMIT))
    form = CisaResponseForm(request.POST, auto_id="cisa-%s")
    problem = None
    if form.is_valid():
        try:
            services.cisa_response_record(
                ctx,
                sub,
                tracking_number=form.cleaned_data["tracking_number"],
                severity=form.cleaned_data["severity"],
            )
        except InvalidInput as exc:
            _apply(form, exc)
            problem = exc.message
        else:
            messages.success(
                request, f"CISA's answer recorded: {form.cleaned_data['tracking_number']}."
            )
            return redirect(report_url(report, "versions"))
    context = {
        **_header(ctx, report),
        **_versions_context(ctx, report),
        **_cisa_context(ctx, report, form),
        "actions": _actions(ctx, report),
        "action_error": problem,
    }
    return render(request, "reporting/report_versions.html", context, status=400)


@with_context
@require_safe
def report_render_status(request, ctx, report_pk, number=None, fiscal_year=None):
    """The fragment htmx polls while a render is queued: the status and the version table.
    Once the job is done or failed the fragment no longer asks to be polled."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    context = {
        **_header(ctx, report),
        **_versions_context(ctx, report),
        "actions": _actions(ctx, report),
    }
    response = render(request, "reporting/_report_versions.html", context)
    response["Cache-Control"] = "no-store"
    return response


@with_context
@require_POST
def report_render(request, ctx, report_pk, number=None, fiscal_year=None):
    """Ask for a PDF rendering (a job row now, the worker renders it); the version list then
    shows that it is rendering."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    try:
        services.report_request_render(ctx, report)
    except (Conflict, InvalidInput) as exc:
        messages.error(request, f"No rendering was asked for: {exc.message}")
    else:
        messages.success(request, "Rendering asked for; the list updates when it is done.")
    return redirect(report_url(report, "versions"))


SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def download_name(report, version) -> str:
    """``FTA-2026-0001_supplemental-report_r1_v3.pdf``: letters, digits, ``.``, ``_``, ``-``."""
    prefix = report.incident.number if report.incident_id else f"FY{report.fiscal_year}"
    name = f"{prefix}_{report.kind}_r{report.revision}_v{version.number}"
    if version.draft:
        name += "_DRAFT"
    return SAFE_NAME.sub("-", name).strip("-.") + ".pdf"


@with_context
@require_safe
def report_download(request, ctx, report_pk, version, number=None, fiscal_year=None):
    """The PDF of one version (the read is recorded by the service)."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    row = _version(ctx, report, version)
    handle = services.report_open_version(ctx, row)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=download_name(report, row),
        content_type="application/pdf",
    )
    response["Content-Length"] = str(row.pdf_size)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _diff_rows(lines) -> list[dict]:
    """Diff lines as rows with their kind: added, removed, context or a hunk header."""
    rows = []
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith(("+++", "---")):
            continue
        if line.startswith("@@"):
            rows.append({"kind": "hunk", "text": line})
        elif line.startswith("+"):
            rows.append({"kind": "added", "sign": "+", "text": line[1:]})
        elif line.startswith("-"):
            rows.append({"kind": "removed", "sign": "−", "text": line[1:]})
        else:
            rows.append({"kind": "same", "sign": " ", "text": line[1:] if line else ""})
    return rows


def _diff_sections(ctx, a, b) -> list[dict]:
    """``report_compare`` of versions a and b, as rows for the page: per narrative section,
    its title and its changed lines (none when the section is unchanged)."""
    out = []
    for section, lines in services.report_compare(ctx, a, b):
        key = getattr(section, "key", section)
        title = getattr(section, "title", section)
        out.append({"key": key, "title": title, "rows": _diff_rows(lines)})
    return out


@with_context
@require_safe
def report_compare(request, ctx, report_pk, number=None, fiscal_year=None):
    """The narrative of two versions (``?a=1&b=3``, version numbers), section by section."""
    report = _report(ctx, report_pk, number=number, fiscal_year=fiscal_year)
    versions = _versions(ctx, report)
    by_number = {v.number: v for v in versions}
    problem = None
    sections = []
    a = b = None
    try:
        a_n, b_n = int(request.GET.get("a", "")), int(request.GET.get("b", ""))
    except ValueError:
        a_n = b_n = None
        if versions:
            problem = "Choose two versions to compare." if len(versions) > 1 else None
    if a_n is not None:
        a, b = by_number.get(a_n), by_number.get(b_n)
        if a is None or b is None:
            problem = "No such version of this report."
        else:
            sections = _diff_sections(ctx, a, b)
    context = {
        **_header(ctx, report),
        "choices": [v.number for v in versions],
        "a": a,
        "b": b,
        "sections": sections,
        "problem": problem,
        "changed": any(s["rows"] for s in sections),
    }
    status = 400 if problem and a_n is not None else 200
    return render(request, "reporting/report_compare.html", context, status=status)


# --- the annual FISMA summary -----------------------------------------------------------------


def _annual_reports(ctx):
    return services.annual_reports(ctx).order_by("-fiscal_year", "-revision")


def _may_draft_annual(ctx) -> bool:
    """The annual summary spans every incident of the agency: the agency-wide roles draft it
    (``reporting.reports.report_draft`` refuses the others)."""
    return _may(ctx, ACT_DRAFT) and ctx.sees_whole_agency


def _annual_rows(ctx, reports) -> list[dict]:
    tz = ctx.agency.tz
    return [
        {
            "report": r,
            "url": report_url(r),
            "versions_url": report_url(r, "versions"),
            "state_label": report_state_label(r.state),
            "state_tag": report_state_tag(r.state),
            "updated_local": format_local(r.updated_at, tz) if r.updated_at else "",
        }
        for r in reports
    ]


@with_context
@require_http_methods(["GET", "HEAD", "POST"])
def annual_list(request, ctx):
    """The agency's annual FISMA major-incident summaries, and drafting one for a year."""
    tz = ctx.agency.tz
    may_draft = _may_draft_annual(ctx)
    status = 200
    form = AnnualDraftForm(
        initial={"fiscal_year": fiscal_year_of(timezone.now(), tz)}, auto_id="annual-%s"
    )
    if request.method == "POST":
        if not may_draft:
            return forbidden(
                request,
                "Only a compliance officer or an approving official may draft the annual "
                "summary (it spans every incident of the agency).",
            )
        form = AnnualDraftForm(request.POST, auto_id="annual-%s")
        if form.is_valid():
            try:
                report = services.report_draft(
                    ctx, kind=ANNUAL, fiscal_year=form.cleaned_data["fiscal_year"]
                )
            except (InvalidInput, Conflict) as exc:
                form.add_error("fiscal_year", exc.message)
            else:
                messages.success(request, f"{_label(report)} drafted.")
                return redirect(report_url(report))
        status = 400
    reports = list(_annual_reports(ctx))
    years: dict[int, list] = {}
    for row in _annual_rows(ctx, reports):
        years.setdefault(row["report"].fiscal_year, []).append(row)
    return render(
        request,
        "reporting/annual_list.html",
        {
            "nav": "annual",
            "form": form if may_draft else None,
            "years": [
                {"year": y, "rows": rows, "url": reverse("annual-summary-year", args=[y])}
                for y, rows in years.items()
            ],
        },
        status=status,
    )


@with_context
@require_safe
def annual_year(request, ctx, fiscal_year):
    """One fiscal year's annual summary: its revisions, newest first."""
    reports = list(_annual_reports(ctx).filter(fiscal_year=fiscal_year))
    return render(
        request,
        "reporting/annual_year.html",
        {
            "nav": "annual",
            "fiscal_year": fiscal_year,
            "start": f"1 October {fiscal_year - 1}",
            "end": f"30 September {fiscal_year}",
            "rows": _annual_rows(ctx, reports),
            "may_draft": _may_draft_annual(ctx) and not reports,
            "list_url": reverse("annual-summary-list"),
        },
    )
