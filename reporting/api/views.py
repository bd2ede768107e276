"""Obligation, submission and rule-set endpoints, scoped like every query."""

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api import AwareIsoDateTimeFilter, ScopedQuerysetMixin
from reporting import services
from reporting.clock import Status
from reporting.models import Obligation, RuleSet, Submission

from .serializers import (
    ObligationSerializer,
    RuleSetSerializer,
    SubmissionSerializer,
    WaiveSerializer,
)


class ObligationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=[(s.value, s.value) for s in Status], help_text="Status at the time of the request."
    )
    due_before = AwareIsoDateTimeFilter(field_name="due_at", lookup_expr="lte")
    due_after = AwareIsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    incident = django_filters.CharFilter(
        field_name="incident__number", help_text="Incident number."
    )
    rule = django_filters.CharFilter(field_name="rule__key")

    class Meta:
        model = Obligation
        fields = ["status", "due_before", "due_after", "incident", "rule"]


class ObligationViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Reporting obligations of the incidents you see, soonest due first."""

    queryset = Obligation.objects.all()
    serializer_class = ObligationSerializer
    filterset_class = ObligationFilter
    ordering_fields = ["due_at", "created_at"]
    ordering = ["due_at", "pk"]

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("incident__agency", "rule")
            .with_status(timezone.now())
        )

    @extend_schema(request=SubmissionSerializer, responses={201: SubmissionSerializer})
    @action(detail=True, methods=["post"], serializer_class=SubmissionSerializer)
    def submissions(self, request, pk=None):
        """Record that the report went out; the first submission meets the obligation."""
        obligation = self.get_object()
        body = SubmissionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sub = services.submission_record(
            ctx=request.agency_context, obligation=obligation, **body.validated_data
        )
        return Response(SubmissionSerializer(sub).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WaiveSerializer, responses={200: ObligationSerializer})
    @action(detail=True, methods=["post"], serializer_class=WaiveSerializer)
    def waive(self, request, pk=None):
        """An approving official excuses the obligation, with a reason."""
        obligation = self.get_object()
        body = WaiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.obligation_waive(
            ctx=request.agency_context, obligation=obligation, **body.validated_data
        )
        return Response(ObligationSerializer(self.get_queryset().get(pk=obligation.pk)).data)


class SubmissionViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Submissions recorded against obligations of the incidents you see."""

    queryset = Submission.objects.select_related("obligation__incident", "submitted_by")
    serializer_class = SubmissionSerializer
    filterset_fields = {"obligation": ["exact"], "obligation__incident__number": ["exact"]}
    ordering = ["-submitted_at", "-pk"]


class RuleSetViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Rule sets published for every agency and the agency's own variants."""

    queryset = RuleSet.objects.prefetch_related("rules")
    serializer_class = RuleSetSerializer
