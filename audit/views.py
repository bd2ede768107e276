"""The audit trail's pages: ``/audit/`` (the agency's entries; an auditor's, those of the
incidents granted to it), an incident's entries (``/incidents/<number>/audit/``), and both
exported as CSV or JSON lines with the same filters. Every read and export is an entry."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from accounts.pages import agency_view, forbidden_page
from core.time import format_local
from incidents.selectors import visible_incident

from . import acts, reads
from .forms import AuditFilterForm

PAGE_SIZE = 50
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _forbidden(request, message):
    return forbidden_page(
        request,
        message,
        template="incidents/forbidden.html",
        nav="audit",
        list_url=reverse("incident-list"),
    )


with_context = agency_view(nav="audit", forbidden=_forbidden)


def _filters(request, ctx):
    form = AuditFilterForm(request.GET or None, tz=ctx.agency.tz, auto_id="audit-%s")
    if form.is_bound and form.is_valid():
        return form, reads.Filters.of(form.cleaned_data)
    return form, reads.Filters()


def _shown(value) -> str:
    return "—" if value is None or value == "" else str(value)


def _changes(changes) -> list[tuple[str, str]]:
    """An entry's changes as (field, "before → after") lines (a count or a value as it is)."""
    lines = []
    for name, change in sorted((changes or {}).items()):
        if isinstance(change, dict) and set(change) == {"before", "after"}:
            text = _shown(change["after"])
            if change["before"] is not None:
                text = f"{_shown(change['before'])} → {text}"
        else:
            text = _shown(change)
        lines.append((name, text))
    return lines


def _page(request, ctx, *, incident=None):
    form, filters = _filters(request, ctx)
    if form.is_bound and not form.is_valid():
        entries = reads.entries_read(ctx=ctx, incident=incident).none()
        status = 400
    else:
        entries = reads.entries_read(ctx=ctx, filters=filters, incident=incident)
        status = 200
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    tz = ctx.agency.tz
    rows = [
        {
            "entry": e,
            "at_local": format_local(e.at, tz),
            "act_label": acts.label(e.act),
            "changes": _changes(e.changes),
        }
        for e in page.object_list
    ]
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])
    base = reverse("incident-audit", args=[incident.number]) if incident else reverse("audit-list")
    links = (
        list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
        if page.paginator.num_pages > 1
        else []
    )
    return render(
        request,
        "audit/list.html",
        {
            "nav": "audit",
            "form": form,
            "incident": incident,
            "page": page,
            "rows": rows,
            "page_query": query,
            "page_links": links,
            "list_url": base,
            "export_csv": f"{base}export.csv" + (f"?{query}" if query else ""),
            "export_jsonl": f"{base}export.jsonl" + (f"?{query}" if query else ""),
            "tz_key": tz.key,
        },
        status=status,
    )


def _export(request, ctx, fmt, *, incident=None):
    form, filters = _filters(request, ctx)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponseBadRequest(
            f"The filters are not valid: {problems}", content_type="text/plain; charset=utf-8"
        )
    chunks = reads.export(ctx=ctx, fmt=fmt, filters=filters, incident=incident)
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    name = f"audit-{incident.number if incident else ctx.agency.abbreviation}-{stamp}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@with_context
def audit_list(request, ctx):
    return _page(request, ctx)


@with_context
def audit_export(request, ctx, fmt):
    return _export(request, ctx, fmt)


@with_context
def incident_audit(request, ctx, number):
    return _page(request, ctx, incident=visible_incident(ctx, number))


@with_context
def incident_audit_export(request, ctx, number, fmt):
    return _export(request, ctx, fmt, incident=visible_incident(ctx, number))
