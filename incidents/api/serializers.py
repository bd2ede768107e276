from rest_framework import serializers

from accounts.api import AwareDateTimeField, LocalTimeField, StrictFieldsMixin
from incidents import indicators
from incidents.models import (
    AttackVector,
    Decision,
    Determination,
    FunctionalImpact,
    Incident,
    IncidentEvent,
    Indicator,
    IndicatorType,
    InformationImpact,
    Location,
    NcissLevel,
    PiiAct,
    Recoverability,
)
from incidents.services import EDITABLE_FIELDS


class IndicatorSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    type = serializers.ChoiceField(choices=IndicatorType.choices)

    class Meta:
        model = Indicator
        fields = ["id", "type", "value", "note", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs):
        if found := indicators.problem(attrs["type"], attrs.get("value", "")):
            raise serializers.ValidationError({"value": [found]})
        return attrs


class IncidentSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """An incident as the API shows and takes it. Times are ISO 8601 in UTC; ``*_local``
    fields repeat them on the agency's wall clock with the zone printed."""

    functional_impact = serializers.ChoiceField(
        choices=FunctionalImpact.choices, required=False, allow_blank=True
    )
    information_impact = serializers.ListField(
        child=serializers.ChoiceField(choices=InformationImpact.choices), required=False
    )
    recoverability = serializers.ChoiceField(
        choices=Recoverability.choices, required=False, allow_blank=True
    )
    location = serializers.ChoiceField(choices=Location.choices, required=False, allow_blank=True)
    attack_vectors = serializers.ListField(
        child=serializers.ChoiceField(choices=AttackVector.choices), required=False
    )
    nciss_level = serializers.ChoiceField(
        choices=NcissLevel.choices, required=False, allow_null=True
    )
    identified_at = AwareDateTimeField(required=False)
    systems = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        write_only=True,
        help_text="Ids of the agency's information systems.",
    )
    related = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        write_only=True,
        help_text="Numbers of related incidents of the agency.",
    )
    indicators = IndicatorSerializer(many=True, required=False)
    agency = serializers.CharField(source="agency.abbreviation", read_only=True)
    time_zone = serializers.CharField(source="agency.time_zone", read_only=True)
    identified_at_local = serializers.SerializerMethodField()
    is_major = serializers.SerializerMethodField()
    ruleset = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = Incident
        fields = [
            "number",
            "agency",
            "state",
            "dismissed_reason",
            *EDITABLE_FIELDS,
            "identified_at_local",
            "systems",
            "related",
            "indicators",
            "is_major",
            "ruleset",
            "time_zone",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["number", "state", "dismissed_reason", "created_at", "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["systems"] = [
            {"id": s.pk, "acronym": s.acronym, "name": s.name} for s in instance.systems.all()
        ]
        data["related"] = [r.number for r in instance.related.all()]
        return data

    def get_identified_at_local(self, obj) -> str:
        return LocalTimeField.render(obj.identified_at, obj.agency)

    def get_is_major(self, obj) -> bool | None:
        """True for a current major or suspected-major determination; null before any."""
        decision = getattr(obj, "current_decision", None)
        if decision is None:
            return None
        return decision in (Decision.MAJOR, Decision.SUSPECTED_MAJOR)


class IncidentUpdateSerializer(IncidentSerializer):
    indicators = None

    class Meta(IncidentSerializer.Meta):
        fields = [f for f in IncidentSerializer.Meta.fields if f != "indicators"]


class TransitionSerializer(StrictFieldsMixin, serializers.Serializer):
    transition = serializers.CharField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class HarmSerializer(serializers.Serializer):
    likely = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class AssessmentSerializer(StrictFieldsMixin, serializers.Serializer):
    harms = serializers.DictField(child=HarmSerializer(), required=False, default=dict)
    nciss_level = serializers.ChoiceField(
        choices=NcissLevel.choices, required=False, allow_null=True
    )
    pii_individuals = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    pii_acts = serializers.ListField(
        child=serializers.ChoiceField(choices=PiiAct.choices), required=False, default=list
    )


class DeterminationCreateSerializer(AssessmentSerializer):
    breach = serializers.BooleanField(required=False, default=False)
    breach_discovered_at = AwareDateTimeField(required=False, allow_null=True)
    decision = serializers.ChoiceField(choices=Decision.choices)
    rationale = serializers.CharField()
    basis_at = AwareDateTimeField(
        required=False,
        allow_null=True,
        help_text="When there was a reasonable basis to conclude; default now, never future.",
    )


class DeterminationSerializer(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.number", read_only=True)
    decided_by = serializers.CharField(source="decided_by.get_username", read_only=True)
    basis_at_local = serializers.SerializerMethodField()
    supersedes = serializers.PrimaryKeyRelatedField(read_only=True)
    current = serializers.SerializerMethodField()

    class Meta:
        model = Determination
        fields = [
            "id",
            "incident",
            "harms",
            "nciss_level",
            "pii_individuals",
            "pii_acts",
            "breach",
            "breach_discovered_at",
            "recommendation",
            "criteria_fired",
            "decision",
            "rationale",
            "basis_at",
            "basis_at_local",
            "decided_by",
            "recorded_at",
            "supersedes",
            "current",
        ]
        read_only_fields = fields

    def get_basis_at_local(self, obj) -> str:
        return LocalTimeField.render(obj.basis_at, obj.incident.agency)

    def get_current(self, obj) -> bool:
        return obj.is_current


class AdditionalInformationSerializer(StrictFieldsMixin, serializers.Serializer):
    summary = serializers.CharField()
    recorded_at = AwareDateTimeField(required=False, allow_null=True)


class IncidentEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    at_local = serializers.SerializerMethodField()

    class Meta:
        model = IncidentEvent
        fields = ["id", "kind", "actor", "at", "at_local", "from_state", "to_state", "note", "data"]
        read_only_fields = fields

    def get_actor(self, obj) -> str | None:
        return obj.actor.get_username() if obj.actor else None

    def get_at_local(self, obj) -> str:
        return LocalTimeField.render(obj.at, obj.incident.agency)
