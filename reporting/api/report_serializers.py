"""Serializers of the report endpoints (reporting.api.reports)."""

from rest_framework import serializers

from accounts.api import AwareDateTimeField, LocalTimeField, StrictFieldsMixin
from reporting.models import (
    CisaSeverity,
    RenderJob,
    Report,
    ReportVersion,
    Submission,
)
from reporting.models.report import REPORT_KIND_CHOICES


class ReportVersionSerializer(serializers.ModelSerializer):
    """A rendering: the PDF's SHA-256 and size, the data's SHA-256, the versions it was
    made with, who rendered it and when (UTC and the agency's wall clock)."""

    rendered_by = serializers.CharField(source="rendered_by.get_username", default=None)
    rendered_at_local = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField()

    class Meta:
        model = ReportVersion
        fields = [
            "id",
            "report",
            "number",
            "pdf_sha256",
            "pdf_size",
            "data_sha256",
            "definition_version",
            "ruleset_version",
            "renderer_version",
            "draft",
            "report_state",
            "rendered_by",
            "rendered_at",
            "rendered_at_local",
            "download",
        ]
        read_only_fields = fields

    def get_rendered_at_local(self, obj) -> str | None:
        return LocalTimeField.render(obj.rendered_at, obj.report.agency)

    def get_download(self, obj) -> str:
        return f"/api/v1/report-versions/{obj.pk}/pdf/"


class RenderJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = RenderJob
        fields = [
            "id",
            "report",
            "state",
            "requested_at",
            "attempts",
            "finished_at",
            "error",
            "version",
        ]
        read_only_fields = fields


class ReportSerializer(serializers.ModelSerializer):
    """A report revision with its state, narrative, recipients and the latest version."""

    incident = serializers.CharField(source="incident.number", default=None, read_only=True)
    agency = serializers.CharField(source="agency.abbreviation", read_only=True)
    sequence = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(source="created_by.get_username", default=None)
    approved_by = serializers.CharField(source="approved_by.get_username", default=None)
    editors = serializers.SerializerMethodField()
    latest_version = serializers.SerializerMethodField()
    rendering = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "agency",
            "incident",
            "obligation",
            "kind",
            "sequence",
            "fiscal_year",
            "title",
            "revision",
            "revises",
            "state",
            "narrative",
            "recipients",
            "return_reason",
            "definition_version",
            "editors",
            "created_by",
            "created_at",
            "updated_at",
            "approved_by",
            "approved_at",
            "submitted_at",
            "latest_version",
            "rendering",
        ]
        read_only_fields = fields

    def get_editors(self, obj) -> list[str]:
        return sorted(u.get_username() for u in obj.editors.all())

    def get_latest_version(self, obj) -> dict | None:
        version = obj.versions.order_by("-number").first()
        return ReportVersionSerializer(version).data if version else None

    def get_rendering(self, obj) -> bool:
        """Whether a render job is waiting for the worker."""
        return obj.render_jobs.filter(state="queued").exists()


class ReportCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Draft a report: ``obligation`` (its rule names the kind), or ``incident`` + ``kind``
    ``post-incident-report``, or ``kind`` ``annual-fisma-summary`` + ``fiscal_year``."""

    obligation = serializers.IntegerField(required=False)
    incident = serializers.CharField(required=False, help_text="Incident number.")
    kind = serializers.ChoiceField(choices=REPORT_KIND_CHOICES, required=False)
    fiscal_year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)


class ReportEditSerializer(StrictFieldsMixin, serializers.Serializer):
    narrative = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    recipients = serializers.ListField(child=serializers.CharField(), required=False)
    title = serializers.CharField(required=False, max_length=300)


class ReasonSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField()


class ReportSubmissionSerializer(StrictFieldsMixin, serializers.Serializer):
    submitted_at = AwareDateTimeField(required=False, help_text="Default now; never future.")
    channel = serializers.ChoiceField(choices=Submission.Channel.choices)
    recipients = serializers.ListField(child=serializers.CharField(), required=False)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=200)
    note = serializers.CharField(required=False, allow_blank=True)


class CisaResponseSerializer(StrictFieldsMixin, serializers.Serializer):
    tracking_number = serializers.CharField(max_length=64)
    severity = serializers.ChoiceField(
        choices=CisaSeverity.choices, required=False, allow_blank=True
    )


class AnnualCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    fiscal_year = serializers.IntegerField(min_value=2000, max_value=2100)


class CompareSectionSerializer(serializers.Serializer):
    section = serializers.CharField()
    title = serializers.CharField()
    diff = serializers.ListField(child=serializers.CharField())
