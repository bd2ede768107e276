from rest_framework import serializers

from accounts.api import AwareDateTimeField, LocalTimeField, StrictFieldsMixin
from compliance.models import (
    AssessmentMethod,
    AssessmentStatus,
    Control,
    ControlAssessment,
    Framework,
    ImplementationStatus,
    InformationSystem,
)


class InformationSystemSerializer(serializers.ModelSerializer):
    """A system of the agency's FISMA inventory, with its FIPS 199 levels and authorization."""

    high_water_mark = serializers.CharField(source="get_high_water_mark_display", read_only=True)
    confidentiality = serializers.CharField(source="get_confidentiality_display", read_only=True)
    integrity = serializers.CharField(source="get_integrity_display", read_only=True)
    availability = serializers.CharField(source="get_availability_display", read_only=True)

    class Meta:
        model = InformationSystem
        fields = [
            "id",
            "acronym",
            "name",
            "confidentiality",
            "integrity",
            "availability",
            "high_water_mark",
            "component",
            "high_value_asset",
            "ato_status",
            "ato_date",
            "ato_expires",
            "baseline",
        ]
        read_only_fields = fields


class FrameworkSerializer(serializers.ModelSerializer):
    """A control catalog at one version; ``control_count`` counts its controls."""

    control_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Framework
        fields = ["id", "name", "version", "source", "licence_note", "control_count"]
        read_only_fields = fields


class ControlSerializer(serializers.ModelSerializer):
    """One control or enhancement (``parent``: the control it enhances)."""

    class Meta:
        model = Control
        fields = [
            "id",
            "framework",
            "identifier",
            "label",
            "title",
            "family",
            "parent",
            "sort_key",
            "statement",
            "withdrawn",
        ]
        read_only_fields = fields


class ControlBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Control
        fields = ["id", "framework", "identifier", "label", "title"]
        read_only_fields = fields


class AssessmentSerializer(serializers.ModelSerializer):
    """An assessment as recorded. ``assessed_at`` is when it holds from, ``recorded_at`` when
    Docket learnt of it; ``*_local`` repeat them on the agency's wall clock."""

    control = ControlBriefSerializer(read_only=True)
    system_acronym = serializers.CharField(source="system.acronym", read_only=True)
    assessor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    assessed_at_local = serializers.SerializerMethodField()
    recorded_at_local = serializers.SerializerMethodField()

    class Meta:
        model = ControlAssessment
        fields = [
            "id",
            "system",
            "system_acronym",
            "control",
            "status",
            "implementation_status",
            "assessed_at",
            "assessed_at_local",
            "assessor",
            "method",
            "finding",
            "recorded_at",
            "recorded_at_local",
            "recorded_by",
        ]
        read_only_fields = fields

    def get_assessed_at_local(self, obj) -> str:
        return LocalTimeField.render(obj.assessed_at, obj.system.agency)

    def get_recorded_at_local(self, obj) -> str:
        return LocalTimeField.render(obj.recorded_at, obj.system.agency)


class AssessmentCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Recording an assessment; it supersedes earlier ones of the control from ``assessed_at``
    on. The recorder is the assessor."""

    system = serializers.IntegerField(min_value=1, help_text="Information system id.")
    control = serializers.IntegerField(min_value=1, help_text="Control id.")
    status = serializers.ChoiceField(choices=AssessmentStatus.choices)
    implementation_status = serializers.ChoiceField(
        choices=ImplementationStatus.choices, required=False, allow_blank=True, default=""
    )
    assessed_at = AwareDateTimeField(help_text="ISO 8601 with a zone; never in the future.")
    method = serializers.ChoiceField(
        choices=AssessmentMethod.choices, required=False, allow_blank=True, default=""
    )
    finding = serializers.CharField(required=False, allow_blank=True, default="")


class ControlStateSerializer(serializers.Serializer):
    control = ControlBriefSerializer()
    status = serializers.ChoiceField(choices=AssessmentStatus.choices)
    assessment = AssessmentSerializer(allow_null=True)


class SystemStateSerializer(serializers.Serializer):
    """A system's state under one framework at one instant: per control, the latest
    assessment at or before ``as_of`` (never assessed by then: ``not_assessed``, no
    assessment)."""

    system = serializers.IntegerField()
    acronym = serializers.CharField()
    framework = serializers.IntegerField()
    # Output only (query parameters, read by views._instant, say the instant).
    as_of = serializers.DateTimeField(read_only=True)
    as_of_local = serializers.CharField()
    known_at = serializers.DateTimeField(read_only=True, allow_null=True)
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    percentages = serializers.DictField(child=serializers.FloatField())
    controls = ControlStateSerializer(many=True)
