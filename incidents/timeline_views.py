"""The incident timeline page (``/incidents/<number>/timeline/``): detections, Sysdig command
records, commands decoded from scap evidence and handler actions in time order
(``incidents.timeline.incident_timeline``), every time in the agency's zone with the zone
printed, filterable by source with GET parameters (``?source=command&source=capture``)."""

from __future__ import annotations

from django.shortcuts import render

from . import timeline as timelines
from .selectors import visible_incident
from .timeline import parse_sources
from .web import page_url, with_context


@with_context
def incident_timeline_page(request, ctx, number):
    incident = visible_incident(ctx, number)
    tz = ctx.agency.tz
    sources, error = parse_sources(request.GET.getlist("source"))
    timeline = timelines.incident_timeline(ctx, incident, sources=sources)
    rows = [{"e": e, "time_local": timelines.local_time(e, tz)} for e in timeline.entries]
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
                for k, label in timelines.SOURCES.items()
            ],
            "all_sources": len(timeline.sources) == len(timelines.SOURCES),
            "error": error,
            "tz_key": tz.key,
            "list_url": page_url("incident-list"),
            "detail_url": page_url("incident-detail", incident.number),
            "timeline_url": page_url("incident-timeline", incident.number),
        },
        status=400 if error else 200,
    )
