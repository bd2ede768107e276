import uuid

from django.conf import settings
from django.db import models


class WriteOnceError(Exception):
    """Raised on an attempt to change a recorded file, its hashes or its provenance."""


class Kind(models.TextChoices):
    SCAP = "scap", "scap capture"
    PCAP = "pcap", "pcap / pcapng capture"
    FALCO_ALERTS = "falco_alerts", "Falco alert export"
    K8S_AUDIT = "k8s_audit", "Kubernetes audit log"
    LOG = "log", "Log file"
    DOCUMENT = "document", "Document"
    IMAGE = "image", "Image"
    OTHER = "other", "Other"


# The only fields that may change once an item is recorded; everything else — the file, its
# hashes, its format and its provenance — is fixed at upload. The withdrawal fields are set
# once (from empty) and never again.
WITHDRAWAL_FIELDS = frozenset(
    {"withdrawn_at", "withdrawn_by", "withdrawn_by_id", "withdrawn_reason"}
)
MUTABLE_FIELDS = frozenset({"description"}) | WITHDRAWAL_FIELDS


class EvidenceQuerySet(models.QuerySet):
    def update(self, **kwargs):
        fixed = sorted(set(kwargs) - MUTABLE_FIELDS)
        if fixed:
            raise WriteOnceError(f"Evidence is write-once: {', '.join(fixed)} cannot change.")
        if set(kwargs) & WITHDRAWAL_FIELDS and self.filter(withdrawn_at__isnull=False).exists():
            raise WriteOnceError("Evidence already withdrawn: its withdrawal cannot change.")
        return super().update(**kwargs)

    def current(self):
        """Items not withdrawn: what new reports and evidence packages may include."""
        return self.filter(withdrawn_at__isnull=True)

    def delete(self):
        raise WriteOnceError("Evidence is never deleted (an item may be withdrawn instead).")


class Evidence(models.Model):
    """One file collected for an incident, with the hashes taken as it was stored.

    Write-once: the file, its size, SHA-256 and MD5, its recognised format and where it came
    from never change after upload (the model refuses; on PostgreSQL a trigger refuses too);
    only the description may change, and the withdrawal fields be set once.
    Every handling of it — collection, upload, transfer, view, download, verification — is a
    ``CustodyEntry`` in its hash-chained ledger. Stored under a name of Docket's making
    (``storage_name``); the uploader's file name is kept only as a label.
    """

    agency_path = "incident__agency"
    incident_path = "incident"
    # Its write-once trigger is in the migrations; core.append_only adds the TRUNCATE refusal.
    refuse_truncate = True
    append_only_message = "Evidence is write-once and never deleted"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="evidence"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    original_filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(help_text="Bytes, as stored.")
    sha256 = models.CharField("SHA-256", max_length=64)
    md5 = models.CharField("MD5", max_length=32, help_text="For cross-reference with older tools.")
    detected_format = models.CharField(max_length=20)
    compression = models.CharField(max_length=10, blank=True)
    format_details = models.JSONField(
        default=dict, blank=True, help_text="For scap: version and block counts by family."
    )
    storage_name = models.CharField(max_length=500, unique=True)
    storage_backend = models.CharField(max_length=200)

    collected_at = models.DateTimeField(null=True, blank=True)
    collected_by = models.CharField(max_length=200, blank=True)
    collecting_tool = models.CharField(max_length=200, blank=True, help_text="Tool and version.")
    source_host = models.CharField(max_length=255, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    source_container = models.CharField(max_length=255, blank=True)
    source_pod = models.CharField(max_length=255, blank=True)
    source_namespace = models.CharField(max_length=255, blank=True)
    source_image = models.CharField(max_length=500, blank=True)
    source_description = models.TextField(blank=True)
    description = models.TextField(blank=True)

    uploaded_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    # Withdrawal (by an approving official, with a reason): the item stays, with its file and
    # ledger, but is left out of new reports and packages. Set once, never cleared.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    withdrawn_reason = models.TextField(blank=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name_plural = "evidence"
        indexes = [models.Index(fields=["incident", "uploaded_at"])]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.get_kind_display()}, {self.sha256[:12]}…)"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            stored = type(self).objects.filter(pk=self.pk).values().first()
            if stored is not None and stored["withdrawn_at"] is not None:
                again = sorted(
                    name
                    for name in ("withdrawn_at", "withdrawn_by_id", "withdrawn_reason")
                    if stored[name] != getattr(self, name)
                )
                if again:
                    raise WriteOnceError(
                        "Evidence already withdrawn: its withdrawal cannot change."
                    )
            if update_fields is None or set(update_fields) - MUTABLE_FIELDS:
                changed = sorted(
                    f.attname
                    for f in self._meta.concrete_fields
                    if f.name not in MUTABLE_FIELDS
                    and stored is not None
                    and stored[f.attname] != getattr(self, f.attname)
                )
                if changed:
                    raise WriteOnceError(
                        f"Evidence is write-once: {', '.join(changed)} cannot change."
                    )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise WriteOnceError("Evidence is never deleted (an item may be withdrawn instead).")

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None
