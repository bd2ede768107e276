"""Pages of a system's risk assessments and POA&M, and of an incident's compliance snapshot.

Same plumbing as the incident pages (``incidents.web.with_context``): signed in, with an
agency context; systems and incidents read through ``scope()`` (outside it: 404); every write
a service call whose refusal is shown with its own message.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.scoping import scope
from compliance import selectors
from compliance.models import (
    AuthorizationStatus,
    ControlAssessment,
    PoamItem,
    PoamSeverity,
    PoamStatus,
    RiskLevel,
)
from compliance.risk import selectors as selectors_risk
from compliance.risk import services as services_risk
from compliance.risk.forms import (
    CloseForm,
    IncidentPoamForm,
    MilestoneForm,
    PoamForm,
    RiskAssessmentForm,
)
from core.errors import Conflict, InvalidInput
from core.time import format_local
from core.web import apply_service_error
from incidents.web import forbidden, with_context

STATUS_TAG = {
    PoamStatus.OPEN: "bg-secondary-dark",
    PoamStatus.CLOSED: "bg-green",
    PoamStatus.RISK_ACCEPTED: "bg-gold text-ink",
}
RISK_LABELS = dict(RiskLevel.choices)
SEVERITY_LABELS = dict(PoamSeverity.choices)
POAM_LABELS = dict(PoamStatus.choices)
ATO_LABELS = dict(AuthorizationStatus.choices)
FILTERS = [
    ("open", "Open"),
    ("closed", "Closed"),
    ("risk_accepted", "Risk accepted"),
    ("all", "All"),
]
STATUS_LABELS = {
    "satisfied": "Satisfied",
    "other_than_satisfied": "Other than satisfied",
    "not_applicable": "Not applicable",
    "not_assessed": "Not assessed",
}


def _system(ctx, acronym):
    """The system through the caller's scope (``with_context`` turns NotFound into 404)."""
    return selectors_risk.visible_system(ctx, acronym)


_may_write = selectors.may_record_assessments


def _system_context(ctx, system, nav="systems"):
    return {
        "nav": nav,
        "system": system,
        "tz_key": ctx.agency.tz.key,
        "may_write": _may_write(ctx, system),
    }


# --- risk assessments ------------------------------------------------------------------------


@with_context
def risk_assessment_list(request, ctx, acronym):
    system = _system(ctx, acronym)
    tz = ctx.agency.tz
    rows = [
        {
            "ra": ra,
            "conducted_local": format_local(ra.conducted_at, tz),
            "recorded_local": format_local(ra.recorded_at, tz),
        }
        for ra in selectors_risk.risk_assessments(ctx).filter(system=system)
    ]
    return render(
        request,
        "compliance/risk_assessment_list.html",
        {**_system_context(ctx, system), "rows": rows},
    )


@with_context
def risk_assessment_create(request, ctx, acronym):
    system = _system(ctx, acronym)
    if not _may_write(ctx, system):
        return forbidden(
            request, "Only a compliance officer, or an ISSO of this system, may record it."
        )
    tz = ctx.agency.tz
    if request.method == "POST":
        form = RiskAssessmentForm(request.POST, request.FILES, tz=tz)
        if form.is_valid():
            data = dict(form.cleaned_data)
            document = data.pop("document", None)
            try:
                services_risk.risk_assessment_record(
                    ctx=ctx,
                    system=system,
                    document=document,
                    document_filename=getattr(document, "name", ""),
                    **data,
                )
            except InvalidInput as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, f"Risk assessment of {system.acronym} recorded.")
                return redirect(reverse("risk-assessment-list", args=[system.acronym]))
        status = 400
    else:
        form, status = RiskAssessmentForm(tz=tz), 200
    return render(
        request,
        "compliance/risk_assessment_form.html",
        {**_system_context(ctx, system), "form": form},
        status=status,
    )


# --- POA&M -----------------------------------------------------------------------------------


def _controls_for(ctx, system):
    base = selectors.controls_visible(ctx).select_related("framework").defer("statement")
    if system.baseline_id:
        return base.filter(baselines=system.baseline).order_by("sort_key")
    assessed = ControlAssessment.objects.filter(system=system).values("control__framework")
    qs = base.filter(framework__in=assessed)
    return (
        qs.order_by("framework__name", "sort_key")
        if qs.exists()
        else base.order_by("framework__name", "sort_key")
    )


def _item_row(item, tz):
    return {
        "item": item,
        "tag": STATUS_TAG[item.status],
        "closed_local": format_local(item.closed_at, tz) if item.closed_at else "",
        "created_local": format_local(item.created_at, tz),
        "url": reverse("poam-detail", args=[item.pk]),
    }


@with_context
def poam_list(request, ctx, acronym):
    system = _system(ctx, acronym)
    tz = ctx.agency.tz
    items = selectors_risk.poam_items(ctx).filter(system=system)
    show = request.GET.get("status", "open")
    if show in PoamStatus.values:
        items = items.filter(status=show)
    else:
        show = "all"
    rows = [_item_row(i, tz) for i in items]
    return render(
        request,
        "compliance/poam_list.html",
        {
            **_system_context(ctx, system),
            "rows": rows,
            "show": show,
            "filters": FILTERS,
            "show_label": dict(FILTERS)[show].lower(),
            "oscal_url": reverse("api-system-poam-oscal", args=[system.pk]),
            # OSCAL holds at least one poam-item: no export is offered before the first.
            "exportable": bool(rows)
            or selectors_risk.poam_items(ctx).filter(system=system).exists(),
        },
    )


@with_context
def poam_create(request, ctx, acronym):
    system = _system(ctx, acronym)
    if not _may_write(ctx, system):
        return forbidden(
            request, "Only a compliance officer, or an ISSO of this system, may plan for it."
        )
    controls = _controls_for(ctx, system)
    if request.method == "POST":
        form = PoamForm(request.POST, controls=controls)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                item = services_risk.poam_create(
                    ctx=ctx,
                    system=system,
                    controls=[c.pk for c in data.pop("controls")],
                    **data,
                )
            except InvalidInput as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, "POA&M item opened.")
                return redirect(reverse("poam-detail", args=[item.pk]))
        status = 400
    else:
        form, status = PoamForm(controls=controls), 200
    return render(
        request,
        "compliance/poam_form.html",
        {**_system_context(ctx, system), "form": form},
        status=status,
    )


def _render_poam(request, ctx, pk, *, milestone_form=None, close_form=None, status=200):
    tz = ctx.agency.tz
    item = selectors_risk.poam_items(ctx).filter(pk=pk).first()
    if item is None:
        raise Http404("No such POA&M item.")
    may_write = _may_write(ctx, item.system)
    may_accept = ctx.may("risk_accept")
    if item.is_open:
        if milestone_form is None and may_write:
            milestone_form = MilestoneForm(auto_id="ms-%s")
        if close_form is None and (may_write or may_accept):
            close_form = CloseForm(auto_id="close-%s", may_accept=may_accept)
    return render(
        request,
        "compliance/poam_detail.html",
        {
            **_system_context(ctx, item.system),
            **_item_row(item, tz),
            "milestones": list(item.milestones.all()),
            "controls": list(item.controls.all()),
            "milestone_form": milestone_form if item.is_open and may_write else None,
            "may_complete": item.is_open and may_write,
            "close_form": close_form if item.is_open and (may_write or may_accept) else None,
        },
        status=status,
    )


@with_context
def poam_detail(request, ctx, pk):
    return _render_poam(request, ctx, pk)


@with_context
@require_POST
def poam_milestone_add(request, ctx, pk):
    form = MilestoneForm(request.POST, auto_id="ms-%s")
    if form.is_valid():
        try:
            services_risk.poam_milestone_add(ctx=ctx, item=pk, **form.cleaned_data)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect(reverse("poam-detail", args=[pk]))
        except InvalidInput as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, "Milestone added.")
            return redirect(reverse("poam-detail", args=[pk]))
    return _render_poam(request, ctx, pk, milestone_form=form, status=400)


@with_context
@require_POST
def poam_milestone_complete(request, ctx, pk, milestone_pk):
    if not selectors_risk.poam_items(ctx).filter(pk=pk, milestones__pk=milestone_pk).exists():
        raise Http404("No such milestone.")
    try:
        services_risk.poam_milestone_complete(ctx=ctx, milestone=milestone_pk)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Milestone marked done.")
    return redirect(reverse("poam-detail", args=[pk]))


@with_context
@require_POST
def poam_close(request, ctx, pk):
    form = CloseForm(request.POST, auto_id="close-%s", may_accept=ctx.may("risk_accept"))
    if form.is_valid():
        try:
            item = services_risk.poam_close(ctx=ctx, item=pk, **form.cleaned_data)
        except Conflict as exc:  # closed meanwhile (a second click): the page says so
            messages.error(request, exc.message)
            return redirect(reverse("poam-detail", args=[pk]))
        except InvalidInput as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"POA&M item {item.get_status_display().lower()}.")
            return redirect(reverse("poam-detail", args=[pk]))
    return _render_poam(request, ctx, pk, close_form=form, status=400)


# --- the incident's compliance snapshot ------------------------------------------------------


def _incident(ctx, number):
    return selectors_risk.visible_incident(ctx, number)


def _poam_labels(p: dict, readable: set[int]) -> dict:
    return {
        **p,
        "severity_label": SEVERITY_LABELS.get(p["severity"], p["severity"]),
        "status_label": POAM_LABELS.get(p["status"], p["status"]),
        "readable": p["id"] in readable,
    }


def _readable(ctx, doc) -> tuple[set[int], set[int]]:
    """Of the systems and POA&M items the snapshot names, those the reader may open now (the
    snapshot holds every affected system; their live pages follow the reader's scope). Two
    queries."""
    systems = {s["id"] for s in doc.get("systems", [])}
    items = {p["id"] for s in doc.get("systems", []) for p in s.get("open_poam_items", [])}
    items |= {p["id"] for p in doc.get("poam_items_from_incident", [])}
    return (
        set(selectors.systems_visible(ctx).filter(pk__in=systems).values_list("pk", flat=True)),
        set(scope(PoamItem.objects.filter(pk__in=items), ctx).values_list("pk", flat=True)),
    )


def _present(ctx, snapshot, tz):
    """The snapshot document, with local times and labels for the template, and which of its
    systems and POA&M items the reader may open."""
    doc = snapshot.document
    readable_systems, readable_items = _readable(ctx, doc)
    systems = []
    for s in doc.get("systems", []):
        frameworks = []
        for fw in s.get("frameworks", []):
            frameworks.append(
                {
                    **fw,
                    "rows": [
                        (
                            STATUS_LABELS.get(k, k),
                            fw["counts"].get(k, 0),
                            fw["percentages"].get(k, 0),
                        )
                        for k in STATUS_LABELS
                    ],
                }
            )
        implicated = [
            {**c, "status_label": STATUS_LABELS.get(c["status"], c["status"])}
            for c in s.get("implicated_controls", [])
        ]
        risks = [
            {
                **r,
                "conducted_local": format_local(datetime.fromisoformat(r["conducted_at"]), tz),
                "risk_label": RISK_LABELS.get(r["overall_risk"], r["overall_risk"]),
            }
            for r in s.get("prior_risk_assessments", [])
        ]
        status = s.get("authorization", {}).get("status", "")
        systems.append(
            {
                **s,
                "frameworks": frameworks,
                "implicated": implicated,
                "risks": risks,
                "poams": [_poam_labels(p, readable_items) for p in s.get("open_poam_items", [])],
                "readable": s.get("id") in readable_systems,
                "authorization_label": ATO_LABELS.get(status, status),
            }
        )
    return {
        "snapshot": snapshot,
        "systems": systems,
        "from_incident": [
            _poam_labels(p, readable_items) for p in doc.get("poam_items_from_incident", [])
        ],
        "taken_local": format_local(snapshot.taken_at, tz),
        "as_of_local": format_local(snapshot.as_of, tz),
        "basis": "first detected"
        if doc.get("as_of_basis") == "first_detected_at"
        else "identified",
    }


def _render_compliance(request, ctx, number, *, poam_form=None, status=200):
    tz = ctx.agency.tz
    incident = _incident(ctx, number)
    history = list(selectors_risk.snapshots(ctx, incident).defer("document"))
    chosen_id = request.GET.get("snapshot", "")
    chosen = None
    if history:
        pk = int(chosen_id) if chosen_id.isdigit() else history[0].pk
        chosen = selectors_risk.snapshots(ctx, incident).filter(pk=pk).first()
        if chosen is None:
            raise Http404("No such snapshot.")
    may_plan = ctx.may("system_record") and all(
        ctx.may("system_record", system=pk) for pk in incident.systems.values_list("pk", flat=True)
    )
    if poam_form is None and may_plan:
        poam_form = IncidentPoamForm(auto_id="plan-%s")
    return render(
        request,
        "compliance/incident_compliance.html",
        {
            "nav": "incidents",
            "incident": incident,
            "detail_url": reverse("incident-detail", args=[incident.number]),
            "current": _present(ctx, chosen, tz) if chosen else None,
            "history": [
                {
                    "snap": s,
                    "taken_local": format_local(s.taken_at, tz),
                    "url": f"?snapshot={s.pk}",
                    "shown": chosen is not None and s.pk == chosen.pk,
                }
                for s in history
            ],
            "poam_form": poam_form if may_plan else None,
            "tz_key": tz.key,
        },
        status=status,
    )


@with_context
def incident_compliance(request, ctx, number):
    return _render_compliance(request, ctx, number)


@with_context
@require_POST
def incident_snapshot_take(request, ctx, number):
    incident = _incident(ctx, number)
    snap = services_risk.snapshot_take(ctx=ctx, incident=incident)
    messages.success(request, f"Compliance snapshot taken (SHA-256 {snap.sha256[:12]}…).")
    return redirect(reverse("incident-compliance", args=[incident.number]))


@with_context
@require_POST
def incident_poam_create(request, ctx, number):
    incident = _incident(ctx, number)
    form = IncidentPoamForm(request.POST, auto_id="plan-%s")
    if form.is_valid():
        try:
            items = services_risk.poam_create_from_incident(
                ctx=ctx,
                incident=incident,
                weakness=form.cleaned_data["weakness"],
                severity=form.cleaned_data["severity"],
                remediation=services_risk.parse_remediation_lines(form.cleaned_data["remediation"]),
            )
        except InvalidInput as exc:
            apply_service_error(form, exc)
        else:
            messages.success(
                request,
                f"{len(items)} POA&M item{'s' if len(items) != 1 else ''} opened from "
                f"{incident.number}.",
            )
            return redirect(reverse("incident-compliance", args=[incident.number]))
    return _render_compliance(request, ctx, number, poam_form=form, status=400)
