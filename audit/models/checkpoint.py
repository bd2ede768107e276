"""Signed checkpoints of hash chains (docs/adr/0021-signed-checkpoints.md)."""

from django.db import models

from core.append_only import AppendOnlyModel


class CheckpointKind(models.TextChoices):
    AUDIT = "audit", "Audit trail"
    CUSTODY = "custody", "Custody ledger"


class Checkpoint(AppendOnlyModel):
    """The head of one chain (its length and last entry hash) at a moment, signed with the
    installation's Ed25519 key (``core.signing``). ``body`` is the signed text (a signed-note
    style checkpoint: origin and kind, chain, length, head hash, time in UTC, key id); the
    columns repeat it for queries. A chain that was rewritten from its first entry, cut at its
    end or deleted no longer matches the checkpoints signed before."""

    agency_path = "agency"

    kind = models.CharField(max_length=10, choices=CheckpointKind.choices)
    chain = models.CharField(
        max_length=80, help_text="audit: agency-<pk> or installation; custody: evidence-<uid>."
    )
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    length = models.PositiveBigIntegerField()
    head_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.TextField()
    body = models.TextField()

    append_only_message = "Checkpoints are append-only."

    class Meta:
        ordering = ["kind", "chain", "length"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "chain", "length"], name="checkpoint_once_per_length"
            )
        ]
        indexes = [models.Index(fields=["kind", "chain", "-length"], name="checkpoint_latest")]

    def __str__(self) -> str:
        return f"{self.kind} {self.chain} @ {self.length}"
