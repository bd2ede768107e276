"""The incident timeline page (``/incidents/<number>/timeline/``): detections, Sysdig command
records, commands decoded from scap evidence and handler actions in time order
(``incidents.selectors.incident_timeline``), every time in the agency's zone with the zone
printed, filterable by source with GET parameters (``?source=command&source=capture``)."""

from __future__ import annotations

from django.shortcuts import render

from . import selectors
from .views import _incident_or_404, page_url, with_context


def parse_sources(values: list[str]) -> tuple[list[str] | None, str]:
    """The sources asked for (``None``: all) and an error naming unknown ones."""
    values = [v for v in values if v]
    unknown = sorted({v for v in values if v not in selectors.SOURCES})
    if unknown:
        known = ", ".join(selectors.SOURCES)
        return None, f"Unknown source(s) {', '.join(unknown)}; choose from {known}."
    return (values or None), ""


@with_context
def incident_timeline_page(request, ctx, number):
    incident = _incident_or_404(ctx, number)
    tz = ctx.agency.tz
    sources, error = parse_sources(request.GET.getlist("source"))
    timeline = selectors.incident_timeline(ctx, incident, sources=sources)
    rows = [{"e": e, "time_local": selectors.local_time(e, tz)} for e in timeline.entries]
    return render(
        request,
        "incidents/timeline.html",
        {
            "nav": "incidents",
            "incident": incident,
            "rows": rows,
            "timeline": timeline,
            "failed": [x for x in timeline.extractions if x.status == "failed"],
            "choices": [
                {"key": k, "label": label, "checked": k in timeline.sources}
                for k, label in selectors.SOURCES.items()
            ],
            "all_sources": len(timeline.sources) == len(selectors.SOURCES),
            "error": error,
            "tz_key": tz.key,
            "list_url": page_url("incident-list"),
            "detail_url": page_url("incident-detail", incident.number),
            "timeline_url": page_url("incident-timeline", incident.number),
        },
        status=400 if error else 200,
    )
