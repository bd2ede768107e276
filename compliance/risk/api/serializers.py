"""Serializers of risk assessments, POA&M items and compliance snapshots. Writes go through
``compliance.risk.services``; these only shape and check the input."""

from rest_framework import serializers

from accounts.api import AwareDateTimeField, StrictFieldsMixin
from compliance.models import (
    ComplianceSnapshot,
    PoamItem,
    PoamMilestone,
    PoamSeverity,
    PoamSource,
    PoamStatus,
    RiskAssessment,
    RiskAssessmentMethod,
    RiskLevel,
)


class RiskAssessmentSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A risk assessment (NIST SP 800-30). ``document`` (multipart) is optional; the stored
    file's SHA-256 and size come back."""

    system = serializers.IntegerField(source="system_id", min_value=1)
    system_acronym = serializers.CharField(source="system.acronym", read_only=True)
    conducted_at = AwareDateTimeField(help_text="ISO 8601 with a zone; never in the future.")
    method = serializers.ChoiceField(choices=RiskAssessmentMethod.choices)
    overall_risk = serializers.ChoiceField(choices=RiskLevel.choices)
    document = serializers.FileField(write_only=True, required=False)
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RiskAssessment
        fields = [
            "id",
            "system",
            "system_acronym",
            "conducted_at",
            "assessor",
            "method",
            "overall_risk",
            "summary",
            "document",
            "document_filename",
            "document_sha256",
            "document_size",
            "recorded_at",
            "recorded_by",
        ]
        read_only_fields = [
            "id",
            "document_filename",
            "document_sha256",
            "document_size",
            "recorded_at",
        ]


class PoamMilestoneSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = PoamMilestone
        fields = ["id", "description", "due_date", "completed_on"]
        read_only_fields = ["id", "completed_on"]


class PoamMilestoneDoneSerializer(StrictFieldsMixin, serializers.Serializer):
    completed_on = serializers.DateField(required=False)


class PoamItemSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A POA&M item with its related controls (ids) and milestones."""

    system = serializers.IntegerField(source="system_id", min_value=1)
    system_acronym = serializers.CharField(source="system.acronym", read_only=True)
    source = serializers.ChoiceField(choices=PoamSource.choices)
    severity = serializers.ChoiceField(choices=PoamSeverity.choices)
    controls = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        write_only=True,
        help_text="Control ids (shown as objects in answers).",
    )
    milestones = PoamMilestoneSerializer(many=True, required=False)
    incident = serializers.CharField(
        source="incident.number",
        required=False,
        allow_null=True,
        help_text="Number of the incident the item comes from.",
    )
    status = serializers.CharField(read_only=True)
    closed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PoamItem
        fields = [
            "id",
            "system",
            "system_acronym",
            "weakness",
            "description",
            "source",
            "severity",
            "controls",
            "scheduled_completion",
            "milestones",
            "status",
            "incident",
            "created_at",
            "closed_at",
            "closed_by",
            "closure_note",
        ]
        read_only_fields = ["id", "status", "created_at", "closed_at", "closure_note"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["controls"] = [
            {"id": c.pk, "identifier": c.identifier, "label": c.label, "title": c.title}
            for c in instance.controls.all()
        ]
        data["incident"] = instance.incident.number if instance.incident_id else None
        return data


class PoamCloseSerializer(StrictFieldsMixin, serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[PoamStatus.CLOSED, PoamStatus.RISK_ACCEPTED], default=PoamStatus.CLOSED
    )
    note = serializers.CharField()


class ComplianceSnapshotSerializer(serializers.ModelSerializer):
    """A frozen compliance snapshot: ``document`` as stored, ``sha256`` of its canonical JSON
    (keys sorted, no whitespace, UTF-8)."""

    incident = serializers.CharField(source="incident.number", read_only=True)
    taken_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ComplianceSnapshot
        fields = [
            "id",
            "incident",
            "schema_version",
            "taken_at",
            "as_of",
            "taken_by",
            "reason",
            "sha256",
            "document",
        ]
        read_only_fields = fields


class ComplianceSnapshotSummarySerializer(ComplianceSnapshotSerializer):
    class Meta(ComplianceSnapshotSerializer.Meta):
        fields = [f for f in ComplianceSnapshotSerializer.Meta.fields if f != "document"]
        read_only_fields = fields
