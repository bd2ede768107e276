"""Compliance endpoints: the inventory, a system's state "as of" an instant, assessments and
frameworks. Systems are read through ``selectors.systems_visible`` (``scope()``; an ISSO's
assigned systems), frameworks through ``selectors.frameworks_visible``; recording an
assessment is ``services.assessment_record``."""

import re
from datetime import datetime

import django_filters
from django.db.models import Count
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api import AwareDateTimeField, LocalTimeField, ScopedQuerysetMixin
from compliance import selectors, services
from compliance.models import (
    AssessmentStatus,
    Control,
    ControlAssessment,
    Framework,
    InformationSystem,
)
from core.errors import InvalidInput, NotFound

from .serializers import (
    AssessmentCreateSerializer,
    AssessmentSerializer,
    ControlSerializer,
    FrameworkSerializer,
    InformationSystemSerializer,
    SystemStateSerializer,
)


def _instant(value: str | None, name: str, now: datetime) -> datetime:
    """A query parameter holding an ISO 8601 instant with its zone, not after ``now``."""
    if not value:
        return now
    # An unencoded "+01:00" arrives as " 01:00" in a query string: take it as meant.
    value = re.sub(r" (\d\d:?\d\d)$", r"+\1", value.strip())
    try:
        at = AwareDateTimeField().to_internal_value(value)
    except serializers.ValidationError as exc:
        raise InvalidInput(f"{name}: {' '.join(exc.detail)}", field=name) from exc
    if at > now:
        raise InvalidInput(
            f"{name}: {at.isoformat()} is in the future; the state is known up to now "
            f"({now.isoformat()}).",
            field=name,
        )
    return at


class InformationSystemViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """The agency's information systems (ids are what incidents name in ``systems``); an ISSO
    with no agency-wide role sees the systems they are assigned to."""

    queryset = InformationSystem.objects.all()
    serializer_class = InformationSystemSerializer
    search_fields = ["acronym", "name"]
    ordering = ["acronym"]

    def get_queryset(self):
        return selectors.systems_visible(self.request.agency_context).select_related("agency")

    @extend_schema(
        parameters=[
            OpenApiParameter("framework", int, required=True, description="Framework id."),
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATETIME,
                description="ISO 8601 with a zone; default now; never in the future.",
            ),
            OpenApiParameter(
                "known_at",
                OpenApiTypes.DATETIME,
                description=(
                    "Leave out assessments recorded after this instant: what Docket knew then "
                    "of the state at as_of. Default: everything recorded so far."
                ),
            ),
        ],
        responses={200: SystemStateSerializer},
    )
    @action(detail=True, methods=["get"], serializer_class=SystemStateSerializer)
    def state(self, request, pk=None):
        """The system's state under a framework as of an instant: counts by status and, per
        control, its latest assessment at or before ``as_of``."""
        ctx = request.agency_context
        system = self.get_object()
        raw = request.query_params.get("framework", "")
        if not raw.isdigit():
            raise InvalidInput("framework: give a framework id.", field="framework")
        framework = selectors.frameworks_visible(ctx).filter(pk=int(raw)).first()
        if framework is None:
            raise InvalidInput(f"framework: no framework {raw}.", field="framework")
        now = timezone.now()
        at = _instant(request.query_params.get("as_of"), "as_of", now)
        known_at = None
        if request.query_params.get("known_at"):
            known_at = _instant(request.query_params["known_at"], "known_at", now)
        state = selectors.system_state_as_of(
            ctx=ctx, system=system, framework=framework, at=at, known_at=known_at
        )
        for c in state.controls:
            if c.assessment is not None:
                c.assessment.system = system
        body = {
            "system": system.pk,
            "acronym": system.acronym,
            "framework": framework.pk,
            "as_of": at,
            "as_of_local": LocalTimeField.render(at, system.agency),
            "known_at": known_at,
            "total": state.total,
            "counts": state.counts,
            "percentages": state.percentages,
            "controls": state.controls,
        }
        return Response(SystemStateSerializer(body).data)


class AssessmentFilter(django_filters.FilterSet):
    system = django_filters.NumberFilter(field_name="system", help_text="Information system id.")
    control = django_filters.NumberFilter(field_name="control", help_text="Control id.")
    framework = django_filters.NumberFilter(
        field_name="control__framework", help_text="Framework id."
    )
    status = django_filters.MultipleChoiceFilter(choices=AssessmentStatus.choices)
    assessed_after = django_filters.IsoDateTimeFilter(
        field_name="assessed_at", lookup_expr="gte", help_text="assessed_at ≥ this instant."
    )
    assessed_before = django_filters.IsoDateTimeFilter(
        field_name="assessed_at", lookup_expr="lt", help_text="assessed_at < this instant."
    )

    class Meta:
        model = ControlAssessment
        fields = ["system", "control", "framework", "status", "assessed_after", "assessed_before"]


class AssessmentViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Control assessments of the systems you may see (append-only: no update, no delete)."""

    queryset = ControlAssessment.objects.all()
    filterset_class = AssessmentFilter
    ordering_fields = ["assessed_at", "recorded_at"]
    ordering = ["-assessed_at", "-pk"]

    def get_queryset(self):
        ctx = self.request.agency_context
        return (
            super()
            .get_queryset()
            .filter(
                system__in=selectors.systems_visible(ctx),
                control__framework__in=selectors.frameworks_visible(ctx),
            )
            .select_related("system__agency", "control", "assessor", "recorded_by")
        )

    def get_serializer_class(self):
        if self.action == "create":
            return AssessmentCreateSerializer
        return AssessmentSerializer

    @extend_schema(request=AssessmentCreateSerializer, responses={201: AssessmentSerializer})
    def create(self, request, *args, **kwargs):
        """Record an assessment (compliance officers; ISSOs of the system). ``assessed_at``
        may be in the past, never in the future."""
        ctx = request.agency_context
        body = AssessmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if not selectors.systems_visible(ctx).filter(pk=data["system"]).exists():
            raise NotFound("No such information system.")
        assessment = services.assessment_record(ctx=ctx, **data)
        fresh = self.get_queryset().get(pk=assessment.pk)
        return Response(AssessmentSerializer(fresh).data, status=status.HTTP_201_CREATED)


class FrameworkViewSet(viewsets.ReadOnlyModelViewSet):
    """The control frameworks you may assess against, with their controls."""

    queryset = Framework.objects.none()  # for the schema; get_queryset decides
    serializer_class = FrameworkSerializer
    ordering = ["name", "version"]
    ordering_fields = ["name", "version"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Framework.objects.none()
        return selectors.frameworks_visible(self.request.agency_context).annotate(
            control_count=Count("controls")
        )

    @extend_schema(
        responses={
            200: inline_serializer(
                "PaginatedControlList",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": ControlSerializer(many=True),
                },
            )
        },
        filters=False,
        parameters=[OpenApiParameter("page", int, description="Page number.")],
    )
    @action(detail=True, methods=["get"], serializer_class=ControlSerializer)
    def controls(self, request, pk=None):
        """The framework's controls in catalog order (paginated)."""
        framework = self.get_object()
        controls = Control.objects.filter(framework=framework).order_by("sort_key", "identifier")
        page = self.paginate_queryset(controls)
        return self.get_paginated_response(ControlSerializer(page, many=True).data)
