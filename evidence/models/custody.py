from django.conf import settings
from django.db import models

from core import ledger
from core.append_only import AppendOnlyModel


class Action(models.TextChoices):
    COLLECT = "collect", "Collected"
    UPLOAD = "upload", "Uploaded"
    TRANSFER = "transfer", "Transferred"
    VIEW = "view", "Viewed"
    DOWNLOAD = "download", "Downloaded"
    VERIFY = "verify", "Verified"
    EXPORT = "export", "Exported"
    WITHDRAW = "withdraw", "Withdrawn"


class CustodyEntry(AppendOnlyModel):
    """One handling of an evidence item (NIST SP 800-86 chain of custody): who, when (UTC,
    shown in the agency's zone), what, where, and for transfers from whom to whom.

    The entries of an item form a hash chain: ``entry_hash`` is the SHA-256 of the canonical
    JSON of the entry's fields and ``prev_hash`` (the previous entry's hash; for the first,
    a hash of the item's id and file SHA-256). ``seq`` runs 1, 2, 3… without gaps, appended
    under a lock on the evidence row. Append-only: the model refuses updates and deletes and
    on PostgreSQL a trigger refuses them too; ``verify_ledger`` recomputes every chain.
    """

    agency_path = "evidence__incident__agency"
    incident_path = "evidence__incident"

    evidence = models.ForeignKey(
        "evidence.Evidence", on_delete=models.PROTECT, related_name="custody"
    )
    seq = models.PositiveIntegerField()
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    actor_name = models.CharField(max_length=200, help_text="As it was at the time.")
    actor_roles = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()
    note = models.TextField(blank=True)
    from_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    to_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    location = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    append_only_message = "The custody ledger is append-only."

    class Meta:
        ordering = ["evidence_id", "seq"]
        verbose_name_plural = "custody entries"
        constraints = [
            models.UniqueConstraint(fields=["evidence", "seq"], name="custody_seq_per_evidence")
        ]

    def __str__(self) -> str:
        return f"{self.evidence_id}#{self.seq} {self.action} by {self.actor_name}"

    def hashed_fields(self, evidence_uid) -> dict:
        """The fields the entry hash covers, in the form ``ledger.entry_hash`` takes."""
        return ledger.entry_fields(
            evidence=str(evidence_uid),
            seq=self.seq,
            action=self.action,
            actor=self.actor_id,
            actor_name=self.actor_name,
            actor_roles=self.actor_roles,
            at=self.at,
            note=self.note,
            from_person=self.from_person_id,
            to_person=self.to_person_id,
            location=self.location,
            data=self.data,
        )
