"""``GET /api/v1/incidents/{number}/timeline/``: the incident timeline
(``incidents.timeline.incident_timeline``) as JSON, filterable with ``?source=…`` (repeat it
for several)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput
from incidents import timeline as timelines
from incidents.selectors import visible_incident
from incidents.timeline import parse_sources


class TimelineEntrySerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=list(timelines.SOURCES))
    source_label = serializers.CharField()
    origin = serializers.CharField(help_text="Falco, Sysdig, or the evidence file name.")
    time = serializers.DateTimeField(read_only=True, help_text="UTC, to the microsecond.")
    time_ns = serializers.IntegerField(
        allow_null=True, help_text="Nanoseconds since the epoch, where the source keeps them."
    )
    time_local = serializers.CharField(help_text="The agency's wall clock, zone printed.")
    user = serializers.CharField()
    pid = serializers.IntegerField(allow_null=True)
    ppid = serializers.IntegerField(allow_null=True)
    container = serializers.CharField()
    command = serializers.CharField()
    detail = serializers.CharField()
    ref = serializers.DictField(help_text="What the entry is: {type, id}.")


class ExtractionSerializer(serializers.Serializer):
    evidence = serializers.IntegerField(source="evidence_id")
    filename = serializers.CharField(source="evidence.original_filename")
    status = serializers.CharField()
    error = serializers.CharField()
    commands = serializers.IntegerField()
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)


class IncidentTimelineView(APIView):
    """The incident's detections, Sysdig command records, commands decoded from its scap
    evidence and handler actions, oldest first (nanoseconds where known)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "source",
                str,
                many=True,
                enum=list(timelines.SOURCES),
                description="Only these sources (repeat for several).",
            )
        ],
        responses={
            200: inline_serializer(
                "IncidentTimeline",
                {
                    "incident": serializers.CharField(),
                    "time_zone": serializers.CharField(),
                    "sources": serializers.ListField(child=serializers.CharField()),
                    "truncated": serializers.BooleanField(),
                    "limit": serializers.IntegerField(),
                    "count": serializers.IntegerField(),
                    "results": TimelineEntrySerializer(many=True),
                    "extractions": ExtractionSerializer(many=True),
                },
            )
        },
    )
    def get(self, request, number):
        ctx = request.agency_context
        incident = visible_incident(ctx, number)
        sources, error = parse_sources(request.query_params.getlist("source"))
        if error:
            raise InvalidInput(error, field="source")
        timeline = timelines.incident_timeline(ctx, incident, sources=sources)
        tz = ctx.agency.tz
        results = [
            {
                "source": e.source,
                "source_label": e.source_label,
                "origin": e.origin,
                "time": e.time,
                "time_ns": e.time_ns,
                "time_local": timelines.local_time(e, tz),
                "user": e.user,
                "pid": e.pid,
                "ppid": e.ppid,
                "container": e.container,
                "command": e.command,
                "detail": e.detail,
                "ref": e.ref,
            }
            for e in timeline.entries
        ]
        return Response(
            {
                "incident": incident.number,
                "time_zone": tz.key,
                "sources": list(timeline.sources),
                "truncated": timeline.truncated,
                "limit": timeline.limit,
                "count": len(results),
                "results": TimelineEntrySerializer(results, many=True).data,
                "extractions": ExtractionSerializer(timeline.extractions, many=True).data,
            }
        )
