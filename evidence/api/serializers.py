from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api import AwareDateTimeField, LocalTimeField, StrictFieldsMixin
from evidence import integrity
from evidence.models import CustodyEntry, CustodyTransfer, Evidence, Kind
from evidence.services import METADATA_FIELDS


class CheckSerializer(serializers.Serializer):
    """One re-hash of the stored file (a custody entry)."""

    entry = serializers.IntegerField(source="seq", help_text="Its seq in the custody ledger.")
    at = serializers.DateTimeField(read_only=True)
    at_local = serializers.SerializerMethodField()
    by = serializers.CharField()
    how = serializers.CharField(help_text="verification, download, read or export")
    ok = serializers.BooleanField()
    problem = serializers.CharField(help_text="What a failed check found; empty when ok.")
    found_sha256 = serializers.CharField(help_text="Failed checks: the SHA-256 found, if any.")
    found_size = serializers.IntegerField(allow_null=True)

    def get_at_local(self, obj) -> str | None:
        return LocalTimeField.render(obj.at, self.context["agency"])


class IntegritySerializer(serializers.Serializer):
    """Whether the stored file still matches what was recorded at upload. ``status`` is that
    of the latest check: ``failed`` (the file is altered or missing: no download),
    ``verified``, or ``unchecked`` (never re-hashed since upload). A later check that finds
    the file intact clears ``failed``; ``last_failure`` keeps the latest failure. Apart from
    this, the custody ledger's own hash chain is checked by ``verify_ledger``."""

    status = serializers.ChoiceField(choices=["verified", "failed", "unchecked"])
    expected_sha256 = serializers.CharField()
    expected_size = serializers.IntegerField()
    last_verification = CheckSerializer(source="last", allow_null=True)
    last_failure = CheckSerializer(allow_null=True)


class EvidenceSerializer(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.number", read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    uploaded_at_local = serializers.SerializerMethodField()
    collected_at_local = serializers.SerializerMethodField()
    withdrawn_by = serializers.CharField(source="withdrawn_by.username", default=None)
    integrity = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = [
            "id",
            "uid",
            "incident",
            "kind",
            "original_filename",
            "size",
            "sha256",
            "md5",
            "detected_format",
            "compression",
            "format_details",
            "collected_at",
            "collected_at_local",
            "collected_by",
            "collecting_tool",
            "source_host",
            "source_ip",
            "source_container",
            "source_pod",
            "source_namespace",
            "source_image",
            "source_description",
            "description",
            "uploaded_at",
            "uploaded_at_local",
            "uploaded_by",
            "withdrawn_at",
            "withdrawn_by",
            "withdrawn_reason",
            "integrity",
        ]
        read_only_fields = fields

    @extend_schema_field(IntegritySerializer)
    def get_integrity(self, obj) -> dict:
        state = integrity.of(obj)  # annotated by the views' queryset; else one query
        return IntegritySerializer(state, context={"agency": obj.incident.agency}).data

    def get_uploaded_at_local(self, obj) -> str | None:
        return LocalTimeField.render(obj.uploaded_at, obj.incident.agency)

    def get_collected_at_local(self, obj) -> str | None:
        return LocalTimeField.render(obj.collected_at, obj.incident.agency)


class CustodyEntrySerializer(serializers.ModelSerializer):
    from_person = serializers.CharField(source="from_person.username", default=None)
    to_person = serializers.CharField(source="to_person.username", default=None)
    at_local = serializers.SerializerMethodField()

    class Meta:
        model = CustodyEntry
        fields = [
            "seq",
            "action",
            "actor_name",
            "actor_roles",
            "at",
            "at_local",
            "note",
            "from_person",
            "to_person",
            "location",
            "data",
            "prev_hash",
            "entry_hash",
        ]
        read_only_fields = fields

    def get_at_local(self, obj) -> str | None:
        return LocalTimeField.render(obj.at, self.context["agency"])


class UploadParamsSerializer(StrictFieldsMixin, serializers.Serializer):
    """What accompanies a file: its kind, and optionally when and where it was collected."""

    kind = serializers.ChoiceField(choices=Kind.choices)
    filename = serializers.CharField(required=False, max_length=1000, trim_whitespace=False)
    collected_at = AwareDateTimeField(required=False)
    source = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    collected_by = serializers.CharField(required=False, allow_blank=True, max_length=200)
    collecting_tool = serializers.CharField(required=False, allow_blank=True, max_length=200)
    source_host = serializers.CharField(required=False, allow_blank=True, max_length=255)
    source_ip = serializers.IPAddressField(required=False, allow_blank=True)
    source_container = serializers.CharField(required=False, allow_blank=True, max_length=255)
    source_pod = serializers.CharField(required=False, allow_blank=True, max_length=255)
    source_namespace = serializers.CharField(required=False, allow_blank=True, max_length=255)
    source_image = serializers.CharField(required=False, allow_blank=True, max_length=500)
    description = serializers.CharField(required=False, allow_blank=True)

    def upload_kwargs(self) -> dict:
        data = dict(self.validated_data)
        return {
            "kind": data.pop("kind"),
            "collected_at": data.pop("collected_at", None),
            "source": data.pop("source", ""),
            "metadata": {k: data[k] for k in METADATA_FIELDS if k in data},
        }


class MultipartUploadSerializer(UploadParamsSerializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False)


class TransferSerializer(serializers.ModelSerializer):
    evidence = serializers.IntegerField(source="evidence_id", read_only=True)
    from_person = serializers.CharField(source="from_person.username", read_only=True)
    to_person = serializers.CharField(source="to_person.username", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = CustodyTransfer
        fields = [
            "id",
            "evidence",
            "from_person",
            "to_person",
            "requested_by",
            "requested_at",
            "note",
            "state",
            "decided_at",
            "decided_by",
            "decision_note",
        ]
        read_only_fields = fields


class TransferOfferSerializer(StrictFieldsMixin, serializers.Serializer):
    to_user = serializers.CharField(max_length=150, help_text="The receiver's username.")
    note = serializers.CharField(required=False, allow_blank=True)


class NoteSerializer(StrictFieldsMixin, serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True)


class WithdrawSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


class VerifyResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    entry = CustodyEntrySerializer()
