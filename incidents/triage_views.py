"""Triage pages: the queue of open incident candidates and a candidate's detail, where an ISSO
promotes it to an incident, attaches it to an existing one, or dismisses it with a reason.
Only those who may (``candidate_handle`` in ``accounts.permissions``) are offered those forms;
an auditor reads the candidates of the incidents granted to it (``scope()``), nothing else of
the queue.

Like the incident pages: the agency context is resolved first, every query goes through
``scope()`` (a candidate outside the caller's agency is a 404), and every write is a service
call (``incidents.ingest.candidate_*``) whose refusal is shown with its own message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render

from accounts.scoping import scope
from core.errors import DocketError, NotFound
from core.time import format_local

from . import ingest
from .models import (
    CandidateStatus,
    Detection,
    DetectionKind,
    Incident,
    IncidentCandidate,
    State,
)
from .web import page_url, with_context

PAGE_SIZE = 50
TOP_RULES = 3
DETECTIONS_SHOWN = 500
ACTIONS = ("promote", "attach", "dismiss")


def _top_rules(ctx, candidate_ids) -> dict[int, list[tuple[str, int]]]:
    """The most frequent rules of each candidate, in one query."""
    rows = (
        scope(Detection.objects.all(), ctx)
        .filter(candidate_id__in=candidate_ids)
        .values("candidate_id", "rule")
        .annotate(n=Count("pk"))
        .order_by("candidate_id", "-n", "rule")
    )
    top: dict[int, list[tuple[str, int]]] = {}
    for row in rows:
        rules = top.setdefault(row["candidate_id"], [])
        if len(rules) < TOP_RULES:
            rules.append((row["rule"], row["n"]))
    return top


def _may_triage(ctx) -> bool:
    """Whether ``ctx`` may promote, attach or dismiss candidates."""
    return ctx.may("candidate_handle")


@with_context
def triage_queue(request, ctx):
    tz = ctx.agency.tz
    candidates = (
        scope(IncidentCandidate.objects.all(), ctx)
        .filter(status=CandidateStatus.OPEN)
        .select_related("system")
        .order_by("-last_seen", "-pk")
    )
    page = Paginator(candidates, PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    top = _top_rules(ctx, [c.pk for c in items])
    rows = [
        {
            "candidate": c,
            "url": page_url("candidate-detail", c.pk),
            "first_local": format_local(c.first_seen, tz),
            "last_local": format_local(c.last_seen, tz),
            "rules": top.get(c.pk, []),
        }
        for c in items
    ]
    unattributed = (
        scope(Detection.objects.all(), ctx)
        .filter(kind=DetectionKind.ALERT, system__isnull=True)
        .count()
    )
    return render(
        request,
        "incidents/triage_queue.html",
        {
            "nav": "triage",
            "page": page,
            "rows": rows,
            "unattributed": unattributed,
            "tz_key": tz.key,
            "queue_url": page_url("triage-queue"),
        },
    )


def _candidate_or_404(ctx, pk) -> IncidentCandidate:
    candidate = (
        scope(IncidentCandidate.objects.all(), ctx)
        .filter(pk=pk)
        .select_related("system", "incident", "resolved_by")
        .first()
    )
    if candidate is None:
        raise Http404("No such incident candidate.")
    return candidate


def _open_incidents(ctx):
    return (
        scope(Incident.objects.all(), ctx)
        .exclude(state__in=(State.CLOSED, State.DISMISSED))
        .order_by("-year", "-sequence")
    )


def _render(request, ctx, candidate, *, status=200, action=None, error=None, values=None):
    tz = ctx.agency.tz
    detections = list(
        scope(Detection.objects.all(), ctx)
        .filter(candidate=candidate)
        .order_by("time_ns", "pk")
        .only(
            "pk",
            "time",
            "rule",
            "priority",
            "container_id",
            "k8s_namespace",
            "k8s_pod",
            "process_cmdline",
            "user_name",
            "hostname",
        )[:DETECTIONS_SHOWN]
    )
    is_open = candidate.status == CandidateStatus.OPEN
    # Only those who may decide are offered the forms (the services refuse anyone else).
    may_triage = _may_triage(ctx)
    incidents = (
        list(_open_incidents(ctx).only("pk", "year", "sequence", "number", "title"))
        if is_open and may_triage
        else []
    )
    return render(
        request,
        "incidents/candidate_detail.html",
        {
            "nav": "triage",
            "candidate": candidate,
            "is_open": is_open,
            "detections": [{"d": d, "time_local": format_local(d.time, tz)} for d in detections],
            "shown": len(detections),
            "first_local": format_local(candidate.first_seen, tz),
            "last_local": format_local(candidate.last_seen, tz),
            "resolved_local": (
                format_local(candidate.resolved_at, tz) if candidate.resolved_at else ""
            ),
            "incident_url": (
                page_url("incident-detail", candidate.incident.number)
                if candidate.incident_id
                else ""
            ),
            "open_incidents": incidents,
            "action": action,
            "error": error,
            "values": values or {},
            "tz_key": tz.key,
            "queue_url": page_url("triage-queue"),
            "detail_url": page_url("candidate-detail", candidate.pk),
        },
        status=status,
    )


@with_context
def candidate_detail(request, ctx, pk):
    candidate = _candidate_or_404(ctx, pk)
    if request.method != "POST":
        return _render(request, ctx, candidate)
    action = request.POST.get("action", "")
    values = {
        "title": request.POST.get("title", ""),
        "incident": request.POST.get("incident", ""),
        "reason": request.POST.get("reason", ""),
    }
    try:
        if action == "promote":
            incident = ingest.candidate_promote(ctx=ctx, candidate=candidate, title=values["title"])
            messages.success(request, f"Incident {incident.number} opened from this candidate.")
            return redirect(page_url("incident-detail", incident.number))
        if action == "attach":
            target = _open_incidents(ctx).filter(number=values["incident"]).first()
            if target is None:
                raise NotFound("Choose an open incident of this agency.")
            incident = ingest.candidate_attach(ctx=ctx, candidate=candidate, incident=target)
            messages.success(request, f"Candidate attached to {incident.number}.")
            return redirect(page_url("incident-detail", incident.number))
        if action == "dismiss":
            ingest.candidate_dismiss(ctx=ctx, candidate=candidate, reason=values["reason"])
            messages.success(request, "Candidate dismissed.")
            return redirect(page_url("triage-queue"))
        return _render(
            request, ctx, candidate, status=400, error="Choose promote, attach or dismiss."
        )
    except DocketError as exc:
        status = 400 if action == "attach" and isinstance(exc, NotFound) else exc.status
        candidate = _candidate_or_404(ctx, pk)
        return _render(
            request,
            ctx,
            candidate,
            status=status,
            action=action if action in ACTIONS else None,
            error=exc.message,
            values=values,
        )
