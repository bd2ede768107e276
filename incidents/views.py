"""Incident pages: list, detail, create/edit, lifecycle, determination, additional information.

Every page resolves the agency context first (no context → a page asking to choose an agency)
and reads incidents only through ``scope()``; an incident outside the caller's scope is a 404.
Every write is a service call; a service's refusal is shown with its own message.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from accounts.permissions import ACTS
from accounts.scoping import scope
from compliance.models import InformationSystem
from core.errors import DocketError, InvalidInput, NotFound, NotPermitted
from core.time import format_local, time_left, to_local_input
from core.web import apply_service_error
from reporting.clock import OPEN_STATUSES, Status
from reporting.criteria import Assessment
from reporting.forms import SubmissionForm, WaiveForm
from reporting.models import Obligation, Submission
from reporting.presentation import STATUS_LABELS, STATUS_TAG
from reporting.report_pages import incident_reports

from . import services
from .forms import AdditionalInformationForm, DeterminationForm, IncidentForm
from .models import (
    AdditionalInformation,
    Decision,
    Determination,
    Incident,
    IncidentEvent,
    State,
)
from .presentation import cisa_fields
from .selectors import current_decision, current_determination, visible_incident
from .web import forbidden, page_url, with_context

PAGE_SIZE = 25
MAJOR = (Decision.MAJOR, Decision.SUSPECTED_MAJOR)
STATE_ORDER = list(State.values)
SORTS = {
    "identified_at": ("identified_at", "pk"),
    "-identified_at": ("-identified_at", "-pk"),
    "number": ("year", "sequence"),
    "-number": ("-year", "-sequence"),
    "state": ("state_order", "-identified_at", "-pk"),
    "-state": ("-state_order", "-identified_at", "-pk"),
}
DUE_WINDOWS = {"24h": "Due within 24 hours", "7d": "Due within 7 days", "overdue": "Overdue"}
TRANSITION_LABELS = {
    "start_triage": "Start triage",
    "confirm": "Confirm incident",
    "contain": "Mark contained",
    "eradicate": "Mark eradicated",
    "recover": "Mark recovered",
    "close": "Close incident",
    "dismiss": "Dismiss",
}
STATE_TAG = {
    State.DETECTED: "bg-secondary-dark",
    State.TRIAGE: "bg-gold text-ink",
    State.CONFIRMED: "bg-orange text-ink",
    State.CONTAINED: "bg-primary",
    State.ERADICATED: "bg-primary-dark",
    State.RECOVERED: "bg-green",
    State.CLOSED: "bg-base-darker",
    State.DISMISSED: "bg-base",
}


# --- plumbing ---------------------------------------------------------------------------------


def _to_detail(incident):
    return redirect(page_url("incident-detail", incident.number))


def _open_obligations(ctx):
    return scope(Obligation.objects.open(), ctx).filter(incident=OuterRef("pk"))


def _tag(state):
    return STATE_TAG.get(state, "bg-base")


# --- list -------------------------------------------------------------------------------------


@with_context
def incident_list(request, ctx):
    now = timezone.now()
    tz = ctx.agency.tz
    systems = list(scope(InformationSystem.objects.all(), ctx))
    next_due = _open_obligations(ctx).order_by("due_at", "pk")
    qs = (
        scope(Incident.objects.all(), ctx)
        .annotate(
            current_decision=current_decision(ctx),
            next_due_at=Subquery(next_due.values("due_at")[:1]),
            next_due_title=Subquery(next_due.values("rule__title")[:1]),
            state_order=Case(
                *[When(state=s, then=Value(i)) for i, s in enumerate(STATE_ORDER)],
                output_field=IntegerField(),
            ),
        )
        .prefetch_related(Prefetch("systems", InformationSystem.objects.order_by("acronym")))
    )

    states = [s for s in request.GET.getlist("state") if s in State.values]
    if states:
        qs = qs.filter(state__in=states)
    major = request.GET.get("major", "")
    if major == "yes":
        qs = qs.filter(current_decision__in=MAJOR)
    elif major == "no":
        qs = qs.filter(Q(current_decision__isnull=True) | Q(current_decision=Decision.NOT_MAJOR))
    else:
        major = ""
    system = request.GET.get("system", "")
    system_ids = {str(s.pk) for s in systems}
    if system in system_ids:
        qs = qs.filter(systems__pk=int(system))
    else:
        system = ""
    due = request.GET.get("due", "")
    if due == "24h":
        qs = qs.filter(
            Exists(_open_obligations(ctx).filter(due_at__gte=now, due_at__lte=now + _hours(24)))
        )
    elif due == "7d":
        qs = qs.filter(
            Exists(_open_obligations(ctx).filter(due_at__gte=now, due_at__lte=now + _hours(168)))
        )
    elif due == "overdue":
        qs = qs.filter(Exists(_open_obligations(ctx).filter(due_at__lt=now)))
    else:
        due = ""
    sort = request.GET.get("sort", "-identified_at")
    if sort not in SORTS:
        sort = "-identified_at"
    qs = qs.order_by(*SORTS[sort])

    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for incident in page.object_list:
        rows.append(
            {
                "incident": incident,
                "url": page_url("incident-detail", incident.number),
                "tag": _tag(incident.state),
                "major": incident.current_decision in MAJOR,
                "decision_label": Decision(incident.current_decision).label
                if incident.current_decision
                else "",
                "systems": list(incident.systems.all()),
                "identified_local": format_local(incident.identified_at, tz),
                "next_due_local": format_local(incident.next_due_at, tz)
                if incident.next_due_at
                else "",
                "next_due_iso": incident.next_due_at.isoformat() if incident.next_due_at else "",
                "next_due_overdue": bool(incident.next_due_at and incident.next_due_at < now),
                "next_due_left": time_left(incident.next_due_at, now)
                if incident.next_due_at
                else "",
            }
        )

    filters = {"state": states, "major": major, "system": system, "due": due}
    base = [("state", s) for s in states] + [
        (k, v) for k, v in (("major", major), ("system", system), ("due", due)) if v
    ]

    def sort_link(key):
        target = key if sort != key else f"-{key}"
        return "?" + urlencode([*base, ("sort", target)])

    columns = []
    for key, label in (("number", "Number"), ("state", "State"), ("identified_at", "Identified")):
        direction = "ascending" if sort == key else "descending" if sort == f"-{key}" else ""
        columns.append({"key": key, "label": label, "url": sort_link(key), "dir": direction})
    page_query = urlencode([*base, ("sort", sort)])
    return render(
        request,
        "incidents/list.html",
        {
            "nav": "incidents",
            "page": page,
            "rows": rows,
            "filters": filters,
            "states": State.choices,
            "systems": systems,
            "due_windows": DUE_WINDOWS.items(),
            "sort": sort,
            "columns": columns,
            "page_query": page_query,
            "page_links": _page_links(page),
            "list_url": page_url("incident-list"),
            "tz_key": tz.key,
        },
    )


def _hours(n):
    return timedelta(hours=n)


def _page_links(page):
    """Page numbers with ``None`` for the gaps, USWDS pagination style."""
    if page.paginator.num_pages <= 1:
        return []
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


# --- detail -----------------------------------------------------------------------------------


def _detail_queryset(ctx, now):
    submissions = Prefetch(
        "submissions", Submission.objects.select_related("submitted_by").order_by("submitted_at")
    )
    return Incident.objects.select_related("agency", "ruleset", "created_by").prefetch_related(
        Prefetch("systems", InformationSystem.objects.order_by("acronym")),
        "indicators",
        Prefetch("related", scope(Incident.objects.all(), ctx).only("number", "title", "state")),
        Prefetch(
            "determinations",
            Determination.objects.select_related("decided_by").order_by("-recorded_at", "-pk"),
        ),
        Prefetch(
            "obligations",
            Obligation.objects.with_status(now)
            .select_related("rule", "waived_by")
            .prefetch_related(submissions)
            .order_by("due_at", "pk"),
        ),
        Prefetch("events", IncidentEvent.objects.select_related("actor").order_by("at", "pk")),
        Prefetch(
            "additional_information",
            AdditionalInformation.objects.select_related("recorded_by").order_by("recorded_at"),
        ),
    )


def _render_detail(
    request,
    ctx,
    number,
    *,
    status=200,
    action_error=None,
    info_form=None,
    dismiss_error=None,
):
    now = timezone.now()
    tz = ctx.agency.tz
    incident = visible_incident(ctx, number, _detail_queryset(ctx, now))

    dets = list(incident.determinations.all())
    superseded = {d.supersedes_id for d in dets if d.supersedes_id}
    determinations = []
    for d in dets:
        labels = dict(Decision.choices)
        determinations.append(
            {
                "det": d,
                "current": d.pk not in superseded,
                "decision": labels.get(d.decision, d.decision),
                "recommendation": labels.get(d.recommendation, d.recommendation),
                "basis_local": format_local(d.basis_at, tz),
                "recorded_local": format_local(d.recorded_at, tz),
                "breach_local": format_local(d.breach_discovered_at, tz)
                if d.breach_discovered_at
                else "",
            }
        )
    current = next((d for d in determinations if d["current"]), None)

    may_waive = ctx.may("obligation_waive")
    may_submit = ctx.may("obligation_submit")
    obligations = []
    for ob in incident.obligations.all():
        status_ = Status(ob.status)
        is_open = status_ in OPEN_STATUSES
        row = {
            "ob": ob,
            "status": STATUS_LABELS[status_],
            "tag": STATUS_TAG[status_],
            "open": is_open,
            "due_local": format_local(ob.due_at, tz),
            "due_iso": ob.due_at.isoformat(),
            "left": time_left(ob.due_at, now),
            "overdue": status_ is Status.OVERDUE,
            "submissions": [
                {
                    "sub": s,
                    "at_local": format_local(s.submitted_at, tz),
                    "channel": s.get_channel_display(),
                }
                for s in ob.submissions.all()
            ],
            "met_local": format_local(ob.met_at, tz) if ob.met_at else "",
            "waived_local": format_local(ob.waived_at, tz) if ob.waived_at else "",
            "withdrawn_local": format_local(ob.withdrawn_at, tz) if ob.withdrawn_at else "",
            "submit_form": None,
            "waive_form": None,
        }
        if is_open and may_submit:
            row["submit_form"] = SubmissionForm(obligation=ob, tz=tz)
        if is_open and may_waive:
            row["waive_form"] = WaiveForm(obligation=ob, tz=tz)
        obligations.append(row)

    cisa = cisa_fields(incident, tz)

    events = [
        {
            "ev": ev,
            "at_local": format_local(ev.at, tz),
            "kind": ev.get_kind_display(),
            "actor": ev.actor.get_username() if ev.actor else "system",
        }
        for ev in incident.events.all()
    ]
    transitions = [
        {"name": t, "label": TRANSITION_LABELS.get(t, t)}
        for t in services.allowed_transitions(ctx, incident)
    ]
    open_ = incident.state not in (State.CLOSED, State.DISMISSED)
    editable = ctx.may("incident_edit") and open_
    may_inform = ctx.may("incident_additional_information") and open_
    if info_form is None and may_inform:
        info_form = AdditionalInformationForm(auto_id="info-%s")
    return render(
        request,
        "incidents/detail.html",
        {
            "nav": "incidents",
            "incident": incident,
            "tag": _tag(incident.state),
            "cisa": cisa,
            "systems": list(incident.systems.all()),
            "indicators": list(incident.indicators.all()),
            "related": [
                {"incident": r, "url": page_url("incident-detail", r.number)}
                for r in incident.related.all()
            ],
            "list_url": page_url("incident-list"),
            "info_url": page_url("incident-additional-information", incident.number),
            "determinations": determinations,
            "current": current,
            "obligations": obligations,
            "reports": incident_reports(ctx, incident, incident.obligations.all()),
            "events": events,
            "additional_information": [
                {"info": i, "at_local": format_local(i.recorded_at, tz)}
                for i in incident.additional_information.all()
            ],
            "transitions": transitions,
            "action_error": action_error,
            "dismiss_error": dismiss_error,
            "info_form": info_form if may_inform else None,
            "can_edit": editable,
            "can_determine": ctx.may("incident_determine")
            and incident.state not in (State.CLOSED, State.DISMISSED),
            "identified_local": format_local(incident.identified_at, tz),
            "dismissed": incident.state == State.DISMISSED,
        },
        status=status,
    )


@with_context
def incident_detail(request, ctx, number):
    return _render_detail(request, ctx, number)


@with_context
@require_POST
def incident_transition(request, ctx, number):
    incident = visible_incident(ctx, number)
    name = request.POST.get("transition", "")
    note = request.POST.get("note", "")
    try:
        incident = services.incident_transition(
            ctx=ctx, incident=incident, transition=name, note=note
        )
    except DocketError as exc:
        dismiss_error = exc.message if exc.extra.get("field") == "note" else None
        return _render_detail(
            request,
            ctx,
            number,
            status=exc.status,
            action_error=exc.message,
            dismiss_error=dismiss_error,
        )
    label = State(incident.state).label
    messages.success(request, f"{incident.number} is now {label.lower()}.")
    return _to_detail(incident)


@with_context
@require_POST
def incident_additional_information(request, ctx, number):
    incident = visible_incident(ctx, number)
    form = AdditionalInformationForm(request.POST, auto_id="info-%s")
    if form.is_valid():
        try:
            services.additional_information_record(
                ctx=ctx, incident=incident, summary=form.cleaned_data["summary"]
            )
        except InvalidInput as exc:
            form.add_error("summary" if exc.extra.get("field") == "summary" else None, exc.message)
        except DocketError as exc:
            if isinstance(exc, NotPermitted):
                raise
            return _render_detail(request, ctx, number, status=exc.status, action_error=exc.message)
        else:
            messages.success(request, "Additional information recorded.")
            return _to_detail(incident)
    return _render_detail(request, ctx, number, status=400, info_form=form)


# --- create / edit ----------------------------------------------------------------------------


@with_context
def incident_create(request, ctx):
    if not ctx.may("incident_open"):
        return forbidden(request, ACTS["incident_open"].message)
    tz = ctx.agency.tz
    if request.method == "POST":
        form = IncidentForm(request.POST, ctx=ctx)
        if form.is_valid():
            values = form.service_values()
            try:
                incident = services.incident_open(ctx=ctx, **values)
            except InvalidInput as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, f"Incident {incident.number} opened.")
                return _to_detail(incident)
        status = 400
    else:
        form = IncidentForm(ctx=ctx, initial={"identified_at": to_local_input(timezone.now(), tz)})
        status = 200
    return render(
        request,
        "incidents/form.html",
        {
            "nav": "incidents",
            "form": form,
            "incident": None,
            "tz_key": tz.key,
            "cancel_url": page_url("incident-list"),
        },
        status=status,
    )


@with_context
def incident_edit(request, ctx, number):
    incident = visible_incident(
        ctx, number, Incident.objects.prefetch_related("systems", "related")
    )
    if not ctx.may("incident_edit"):
        return forbidden(request, ACTS["incident_edit"].message)
    if incident.state in (State.CLOSED, State.DISMISSED):
        messages.error(
            request, f"{incident.number} is {incident.state}; it can no longer be edited."
        )
        return _to_detail(incident)
    tz = ctx.agency.tz
    initial = IncidentForm.initial_for(incident, tz)
    if request.method == "POST":
        form = IncidentForm(request.POST, ctx=ctx, initial=initial)
        if form.is_valid():
            changes = form.service_values(form.changed_data)
            try:
                incident = services.incident_update(ctx=ctx, incident=incident, changes=changes)
            except InvalidInput as exc:
                apply_service_error(form, exc)
            except DocketError as exc:
                if isinstance(exc, NotPermitted | NotFound):
                    raise
                form.add_error(None, exc.message)
            else:
                if changes:
                    messages.success(request, f"{incident.number} updated.")
                else:
                    messages.info(request, "Nothing changed.")
                return _to_detail(incident)
        status = 400
    else:
        form = IncidentForm(ctx=ctx, initial=initial)
        status = 200
    return render(
        request,
        "incidents/form.html",
        {
            "nav": "incidents",
            "form": form,
            "incident": incident,
            "tz_key": tz.key,
            "cancel_url": page_url("incident-detail", incident.number),
        },
        status=status,
    )


# --- determination ----------------------------------------------------------------------------


@with_context
def incident_determine(request, ctx, number):
    incident = visible_incident(ctx, number, Incident.objects.select_related("ruleset", "agency"))
    if not ctx.may("incident_determine"):
        return forbidden(request, ACTS["incident_determine"].message)
    tz = ctx.agency.tz
    categories = (incident.ruleset.major_criteria or {}).get("harm_categories", [])
    preview = request.method == "POST" and "preview" in request.POST
    recommendation = None
    status = 200
    if request.method == "POST":
        form = DeterminationForm(request.POST, categories=categories, preview=preview, tz=tz)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if preview:
                    rec = services.determination_recommend(
                        incident=incident,
                        assessment=Assessment(
                            harms=form.harms(),
                            nciss_level=data["nciss_level"],
                            pii_individuals=data["pii_individuals"],
                            pii_acts=tuple(data["pii_acts"]),
                        ),
                    )
                    recommendation = {
                        "decision": Decision(rec.decision).label,
                        "major": rec.major,
                        "fired": list(rec.fired),
                    }
                else:
                    services.determination_record(
                        ctx=ctx,
                        incident=incident,
                        decision=data["decision"],
                        rationale=data["rationale"],
                        harms=form.harms(),
                        nciss_level=data["nciss_level"],
                        pii_individuals=data["pii_individuals"],
                        pii_acts=list(data["pii_acts"]),
                        breach=data["breach"],
                        breach_discovered_at=data["breach_discovered_at"],
                        basis_at=data["basis_at"],
                    )
                    messages.success(
                        request,
                        f"Determination recorded: {Decision(data['decision']).label.lower()}.",
                    )
                    return _to_detail(incident)
            except InvalidInput as exc:
                apply_service_error(form, exc)
            except DocketError as exc:
                if isinstance(exc, NotPermitted | NotFound):
                    raise
                form.add_error(None, exc.message)
        if form.errors:
            status = 400
    else:
        current = current_determination(incident)
        initial = {"basis_at": to_local_input(timezone.now(), tz)}
        if current is not None:
            initial.update(
                {
                    "nciss_level": current.nciss_level,
                    "pii_individuals": current.pii_individuals,
                    "pii_acts": current.pii_acts,
                    "breach": current.breach,
                    "breach_discovered_at": to_local_input(current.breach_discovered_at, tz),
                }
            )
            for key, harm in (current.harms or {}).items():
                initial[f"harm_{key}"] = "yes" if harm.get("likely") else "no"
                initial[f"harm_{key}_note"] = harm.get("note", "")
        elif incident.nciss_level is not None:
            initial["nciss_level"] = incident.nciss_level
        form = DeterminationForm(categories=categories, initial=initial, tz=tz)
    return render(
        request,
        "incidents/determination.html",
        {
            "nav": "incidents",
            "incident": incident,
            "form": form,
            "recommendation": recommendation,
            "criteria": (incident.ruleset.major_criteria or {}).get("criteria", []),
            "ruleset": incident.ruleset,
            "tz_key": tz.key,
            "identified_local": format_local(incident.identified_at, tz),
            "list_url": page_url("incident-list"),
            "detail_url": page_url("incident-detail", incident.number),
        },
        status=status,
    )
