"""Risk assessment, POA&M and compliance snapshot endpoints. Querysets are scoped; writes are
service calls (``compliance.risk.services``), whose refusals become 400/403/404/409."""

import django_filters
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.api import ScopedQuerysetMixin
from accounts.parsers import JSONParser
from compliance.models import ComplianceSnapshot, PoamItem, RiskAssessment
from compliance.risk import selectors as selectors_risk
from compliance.risk import services as services_risk
from compliance.risk.api.serializers import (
    ComplianceSnapshotSerializer,
    ComplianceSnapshotSummarySerializer,
    PoamCloseSerializer,
    PoamItemSerializer,
    PoamMilestoneDoneSerializer,
    PoamMilestoneSerializer,
    RiskAssessmentSerializer,
)
from compliance.risk.oscal_poam import poam_json
from core.errors import NotFound


class RiskAssessmentFilter(django_filters.FilterSet):
    # A number, not a model choice: an id of another agency's system filters to nothing
    # rather than answering differently from an id that does not exist.
    system = django_filters.NumberFilter(field_name="system_id", help_text="System id.")

    class Meta:
        model = RiskAssessment
        fields = ["system", "overall_risk"]


class PoamItemFilter(django_filters.FilterSet):
    system = django_filters.NumberFilter(field_name="system_id", help_text="System id.")
    incident = django_filters.CharFilter(field_name="incident__number", help_text="Number.")

    class Meta:
        model = PoamItem
        fields = ["system", "status", "severity", "source", "incident"]


class RiskAssessmentViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Risk assessments of the systems you may read (``scope()``; filter: ``?system=<id>``).
    Create with JSON, or multipart with a ``document`` file."""

    queryset = RiskAssessment.objects.select_related("system", "recorded_by")
    serializer_class = RiskAssessmentSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filterset_class = RiskAssessmentFilter
    ordering = ["-conducted_at", "-pk"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        document = data.pop("document", None)
        ra = services_risk.risk_assessment_record(
            ctx=request.agency_context,
            system=data.pop("system_id"),
            document=document,
            document_filename=getattr(document, "name", ""),
            **data,
        )
        ra = self.get_queryset().get(pk=ra.pk)
        return Response(self.get_serializer(ra).data, status=status.HTTP_201_CREATED)


class PoamItemViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """POA&M items of the systems you may read (``scope()``; filters: ``?system=<id>``,
    ``?status=open``, ``?incident=<number>``)."""

    queryset = PoamItem.objects.all()
    serializer_class = PoamItemSerializer
    filterset_class = PoamItemFilter
    ordering = ["scheduled_completion", "pk"]

    def get_queryset(self):
        return selectors_risk.poam_items(self.request.agency_context)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        incident = (data.pop("incident", None) or {}).get("number")
        item = services_risk.poam_create(
            ctx=request.agency_context,
            system=data.pop("system_id"),
            milestones=[(m["description"], m["due_date"]) for m in data.pop("milestones", [])],
            incident=incident,
            **data,
        )
        item = self.get_queryset().get(pk=item.pk)
        return Response(self.get_serializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PoamCloseSerializer, responses={200: PoamItemSerializer})
    @action(detail=True, methods=["post"], serializer_class=PoamCloseSerializer)
    def close(self, request, pk=None):
        """Close the item (``closed``) or, as an approving official, accept its risk."""
        item = self.get_object()
        body = PoamCloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services_risk.poam_close(ctx=request.agency_context, item=item, **body.validated_data)
        fresh = self.get_queryset().get(pk=item.pk)
        return Response(PoamItemSerializer(fresh).data)

    @extend_schema(request=PoamMilestoneSerializer, responses={201: PoamMilestoneSerializer})
    @action(detail=True, methods=["post"], serializer_class=PoamMilestoneSerializer)
    def milestones(self, request, pk=None):
        """Add a dated milestone to an open item."""
        item = self.get_object()
        body = PoamMilestoneSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        milestone = services_risk.poam_milestone_add(
            ctx=request.agency_context, item=item, **body.validated_data
        )
        return Response(PoamMilestoneSerializer(milestone).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: PoamMilestoneSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"milestones/(?P<milestone_pk>\d+)/done",
        serializer_class=PoamMilestoneSerializer,
    )
    def milestone_done(self, request, pk=None, milestone_pk=None):
        """Mark a milestone done today (agency zone), or on ``completed_on`` if given."""
        item = self.get_object()
        milestone = item.milestones.filter(pk=milestone_pk).first()
        if milestone is None:
            return Response({"detail": "No such milestone."}, status=status.HTTP_404_NOT_FOUND)
        body = PoamMilestoneDoneSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = services_risk.poam_milestone_complete(
            ctx=request.agency_context, milestone=milestone, **body.validated_data
        )
        return Response(PoamMilestoneSerializer(done).data)


@extend_schema(
    responses={(200, "application/json"): OpenApiTypes.OBJECT},
    description="The system's POA&M items as an OSCAL plan-of-action-and-milestones document "
    "(built and validated with compliance-trestle). 404 naming the reason when the system has "
    "no POA&M item: OSCAL requires at least one poam-item.",
)
@api_view(["GET"])
def poam_oscal(request, pk: int):
    ctx = request.agency_context
    system = selectors_risk.visible_system(ctx, pk)
    items = selectors_risk.poam_items(ctx).filter(system=system).select_related("system__agency")
    if not items.exists():
        raise NotFound(
            f"{system.acronym} has no POA&M items, and an OSCAL plan of action and milestones "
            "holds at least one poam-item: there is nothing to export yet."
        )
    text = poam_json(system, items, now=timezone.now().replace(microsecond=0))
    response = HttpResponse(text, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{system.acronym}-poam.json"'
    return response


class IncidentSnapshotViewSet(viewsets.GenericViewSet):
    """Compliance snapshots of one incident: list (newest first, without documents), take one
    now (ISSOs, compliance officers), the latest one in full."""

    serializer_class = ComplianceSnapshotSerializer
    queryset = ComplianceSnapshot.objects.none()
    pagination_class = None

    def _incident(self):
        return selectors_risk.visible_incident(self.request.agency_context, self.kwargs["number"])

    @extend_schema(responses={200: ComplianceSnapshotSummarySerializer(many=True)})
    def list(self, request, number=None):
        rows = selectors_risk.snapshots(request.agency_context, self._incident()).defer("document")
        return Response(ComplianceSnapshotSummarySerializer(rows, many=True).data)

    @extend_schema(request=None, responses={201: ComplianceSnapshotSerializer})
    def create(self, request, number=None):
        snap = services_risk.snapshot_take(ctx=request.agency_context, incident=self._incident())
        return Response(ComplianceSnapshotSerializer(snap).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ComplianceSnapshotSerializer})
    def latest(self, request, number=None):
        snap = selectors_risk.latest_snapshot(request.agency_context, self._incident())
        if snap is None:
            return Response({"detail": "No snapshot yet."}, status=status.HTTP_404_NOT_FOUND)
        return Response(ComplianceSnapshotSerializer(snap).data)


class ComplianceSnapshotViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """One compliance snapshot by id (the incident's scope applies)."""

    queryset = ComplianceSnapshot.objects.select_related("incident", "taken_by")
    serializer_class = ComplianceSnapshotSerializer
    filterset_fields = []

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset()).defer("document")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            ComplianceSnapshotSummarySerializer(page, many=True).data
        )
