"""Incident endpoints. Every queryset is scoped (``ScopedQuerysetMixin``); every write is a
service call, which checks the actor's role and logs the event."""

import django_filters
from django.db.models import OuterRef, Prefetch, Subquery
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api import AwareIsoDateTimeFilter, ScopedQuerysetMixin
from incidents import services
from incidents.models import Determination, Incident, IncidentEvent, State
from reporting.criteria import Assessment

from .serializers import (
    AdditionalInformationSerializer,
    AssessmentSerializer,
    DeterminationCreateSerializer,
    DeterminationSerializer,
    IncidentEventSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    IndicatorSerializer,
    TransitionSerializer,
)


class IncidentFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices)
    system = django_filters.NumberFilter(field_name="systems", help_text="Information system id.")
    major = django_filters.BooleanFilter(
        method="filter_major", help_text="Current determination is (suspected) major."
    )
    identified_after = AwareIsoDateTimeFilter(field_name="identified_at", lookup_expr="gte")
    identified_before = AwareIsoDateTimeFilter(field_name="identified_at", lookup_expr="lt")

    class Meta:
        model = Incident
        fields = ["state", "system", "major", "identified_after", "identified_before"]

    def filter_major(self, queryset, name, value):
        majors = ["major", "suspected_major"]
        if value:
            return queryset.filter(current_decision__in=majors)
        return queryset.exclude(current_decision__in=majors)


def _current_decision():
    return Subquery(
        Determination.objects.filter(incident=OuterRef("pk"), superseded_by__isnull=True)
        .order_by("-recorded_at", "-pk")
        .values("decision")[:1]
    )


class IncidentViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Incidents of the caller's agency (ISSOs: their systems'; auditors: those granted)."""

    queryset = Incident.objects.all()
    lookup_field = "number"
    lookup_value_regex = r"[A-Z0-9]+-\d{4}-\d{4,}"
    filterset_class = IncidentFilter
    ordering_fields = ["identified_at", "created_at", "number", "state"]
    ordering = ["-created_at", "-pk"]

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("agency", "ruleset")
            .prefetch_related(
                "systems", "indicators", Prefetch("related", Incident.objects.only("number"))
            )
            .annotate(current_decision=_current_decision())
        )

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return IncidentUpdateSerializer
        return IncidentSerializer

    def _ctx(self):
        return self.request.agency_context

    def _fresh(self, incident):
        return self.get_queryset().get(pk=incident.pk)

    def perform_create(self, serializer):
        serializer.instance = services.incident_open(ctx=self._ctx(), **serializer.validated_data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(
            self.get_serializer(self._fresh(serializer.instance)).data,
            status=status.HTTP_201_CREATED,
        )

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        incident = self.get_object()
        serializer = self.get_serializer(incident, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        incident = services.incident_update(
            ctx=self._ctx(), incident=incident, changes=serializer.validated_data
        )
        return Response(
            IncidentSerializer(self._fresh(incident), context=self.get_serializer_context()).data
        )

    @extend_schema(
        request=TransitionSerializer,
        responses={
            200: IncidentSerializer,
            409: inline_serializer(
                "TransitionRefused",
                {
                    "detail": serializers.CharField(),
                    "allowed_transitions": serializers.ListField(child=serializers.CharField()),
                },
            ),
        },
    )
    @action(detail=True, methods=["get", "post"], serializer_class=TransitionSerializer)
    def transitions(self, request, number=None):
        """GET: the transitions you may take now. POST {transition, note}: take one; 409 lists
        the allowed ones when it is not allowed."""
        incident = self.get_object()
        if request.method == "GET":
            return Response(
                {
                    "state": incident.state,
                    "allowed_transitions": services.allowed_transitions(self._ctx(), incident),
                }
            )
        body = TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = services.incident_transition(
            ctx=self._ctx(), incident=incident, **body.validated_data
        )
        return Response(
            IncidentSerializer(self._fresh(incident), context=self.get_serializer_context()).data
        )

    @extend_schema(
        request=DeterminationCreateSerializer,
        responses={200: DeterminationSerializer(many=True), 201: DeterminationSerializer},
    )
    @action(detail=True, methods=["get", "post"], serializer_class=DeterminationCreateSerializer)
    def determinations(self, request, number=None):
        """GET: every determination, corrections included. POST: record one (approving
        officials); a second one is a correction and recomputes the clocks."""
        incident = self.get_object()
        if request.method == "GET":
            dets = incident.determinations.select_related(
                "decided_by", "incident__agency", "superseded_by"
            )
            return Response(DeterminationSerializer(dets, many=True).data)
        body = DeterminationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        det = services.determination_record(
            ctx=self._ctx(), incident=incident, **body.validated_data
        )
        return Response(DeterminationSerializer(det).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=AssessmentSerializer,
        responses={
            200: inline_serializer(
                "Recommendation",
                {
                    "recommendation": serializers.CharField(),
                    "criteria_fired": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="determinations/recommend",
        serializer_class=AssessmentSerializer,
    )
    def recommend(self, request, number=None):
        """What the rule set recommends for an assessment, and which criteria fired (no write)."""
        incident = self.get_object()
        body = AssessmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rec = services.determination_recommend(
            incident=incident,
            assessment=Assessment(
                harms=body.validated_data["harms"],
                nciss_level=body.validated_data.get("nciss_level"),
                pii_individuals=body.validated_data.get("pii_individuals"),
                pii_acts=tuple(body.validated_data["pii_acts"]),
            ),
        )
        return Response({"recommendation": rec.decision, "criteria_fired": list(rec.fired)})

    @extend_schema(
        request=AdditionalInformationSerializer, responses={201: AdditionalInformationSerializer}
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="additional-information",
        serializer_class=AdditionalInformationSerializer,
    )
    def additional_information(self, request, number=None):
        """Record new information; for a major incident it starts a supplemental report's clock."""
        incident = self.get_object()
        body = AdditionalInformationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        info = services.additional_information_record(
            ctx=self._ctx(), incident=incident, **body.validated_data
        )
        return Response(
            {"id": info.pk, "summary": info.summary, "recorded_at": info.recorded_at},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=IndicatorSerializer, responses={201: IndicatorSerializer})
    @action(detail=True, methods=["post"], serializer_class=IndicatorSerializer)
    def indicators(self, request, number=None):
        """Add an indicator of compromise."""
        incident = self.get_object()
        body = IndicatorSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        indicator = services.indicator_add(
            ctx=self._ctx(), incident=incident, **body.validated_data
        )
        return Response(IndicatorSerializer(indicator).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: IncidentEventSerializer(many=True)})
    @action(detail=True, methods=["get"], serializer_class=IncidentEventSerializer)
    def events(self, request, number=None):
        """The incident's append-only history, oldest first."""
        incident = self.get_object()
        events = IncidentEvent.objects.filter(incident=incident).select_related(
            "actor", "incident__agency"
        )
        page = self.paginate_queryset(events)
        return self.get_paginated_response(IncidentEventSerializer(page, many=True).data)


class DeterminationViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Every determination of the agency's visible incidents, corrections included."""

    queryset = Determination.objects.select_related(
        "incident__agency", "decided_by", "superseded_by"
    )
    serializer_class = DeterminationSerializer
    filterset_fields = {"decision": ["exact"], "incident__number": ["exact"]}
    ordering = ["-recorded_at", "-pk"]
