from rest_framework import serializers

from accounts.api import AwareDateTimeField, LocalTimeField, StrictFieldsMixin
from reporting.models import RULE_DATA_FIELDS, Obligation, ObligationRule, RuleSet, Submission


class ObligationSerializer(serializers.ModelSerializer):
    """An obligation with its status at the moment of the request and its due time both in
    UTC and on the agency's wall clock (zone printed)."""

    incident = serializers.CharField(source="incident.number", read_only=True)
    incident_title = serializers.CharField(source="incident.title", read_only=True)
    rule = serializers.CharField(source="rule.key", read_only=True)
    title = serializers.CharField(source="rule.title", read_only=True)
    report_kind = serializers.CharField(source="rule.report_kind", read_only=True)
    status = serializers.CharField(read_only=True)
    due_at_local = serializers.SerializerMethodField()
    time_zone = serializers.CharField(source="incident.agency.time_zone", read_only=True)

    class Meta:
        model = Obligation
        fields = [
            "id",
            "incident",
            "incident_title",
            "rule",
            "title",
            "report_kind",
            "sequence",
            "recipients",
            "anchor_at",
            "due_at",
            "due_at_local",
            "time_zone",
            "status",
            "met_at",
            "waived_at",
            "waive_reason",
            "withdrawn_at",
            "withdrawn_reason",
            "created_at",
        ]
        read_only_fields = fields

    def get_due_at_local(self, obj) -> str:
        return LocalTimeField.render(obj.due_at, obj.incident.agency)


class SubmissionSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    obligation = serializers.PrimaryKeyRelatedField(read_only=True)
    incident = serializers.CharField(source="obligation.incident.number", read_only=True)
    submitted_by = serializers.CharField(source="submitted_by.get_username", read_only=True)
    channel = serializers.ChoiceField(choices=Submission.Channel.choices)
    recipients = serializers.ListField(child=serializers.CharField(), required=False)
    submitted_at = AwareDateTimeField(required=False, help_text="Default now; never future.")

    class Meta:
        model = Submission
        fields = [
            "id",
            "obligation",
            "incident",
            "submitted_at",
            "submitted_by",
            "recipients",
            "channel",
            "reference",
            "note",
            "recorded_at",
            "report_version",
        ]
        read_only_fields = [
            "id",
            "obligation",
            "incident",
            "submitted_by",
            "recorded_at",
            "report_version",
        ]


class WaiveSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField()


class ObligationRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ObligationRule
        fields = list(RULE_DATA_FIELDS)
        read_only_fields = fields


class RuleSetSerializer(serializers.ModelSerializer):
    rules = ObligationRuleSerializer(many=True, read_only=True)
    in_use = serializers.BooleanField(read_only=True)

    class Meta:
        model = RuleSet
        fields = [
            "id",
            "name",
            "version",
            "effective_from",
            "effective_to",
            "source",
            "major_criteria",
            "supersedes",
            "in_use",
            "rules",
        ]
        read_only_fields = fields
