from django.conf import settings
from django.db import models


class TransferState(models.TextChoices):
    PENDING = "pending", "Awaiting acknowledgement"
    ACCEPTED = "accepted", "Acknowledged"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


class CustodyTransfer(models.Model):
    """A hand-over of an evidence item from its current custodian to another member of the
    same agency, offered by the custodian (or an agency administrator) and acknowledged by the
    receiver. The offer is only a workflow row; custody changes — and the ledger records a
    ``transfer`` entry from → to — when the receiver acknowledges it. At most one offer per
    item is pending at a time. Declined and cancelled offers stay as they were decided."""

    agency_path = "evidence__incident__agency"
    incident_path = "evidence__incident"

    evidence = models.ForeignKey(
        "evidence.Evidence", on_delete=models.PROTECT, related_name="transfers"
    )
    from_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    to_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    note = models.TextField(blank=True, help_text="Purpose or where the item is handed over.")
    state = models.CharField(
        max_length=20, choices=TransferState.choices, default=TransferState.PENDING
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["evidence"],
                condition=models.Q(state="pending"),
                name="one_pending_transfer_per_evidence",
            )
        ]

    def __str__(self) -> str:
        return f"{self.evidence_id}: {self.from_person_id} → {self.to_person_id} ({self.state})"
