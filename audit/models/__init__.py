"""The agency audit trail (NIST AU-2/AU-3/AU-9, PCI DSS 10.2–10.3): one append-only,
hash-chained entry per act, per agency.

``AuditEntry`` rows form one chain per agency (``chain`` = ``agency-<pk>``) plus one for the
installation (``chain`` = ``installation``: acts of no agency, such as a failed sign-in for an
unknown username). ``AuditHead`` holds each chain's length and last hash; ``audit.trail``
locks it FOR UPDATE to append, so the chain is gapless under concurrent acts. Written only
through ``audit.trail``.
"""

from django.conf import settings
from django.db import models

from core import ledger
from core.append_only import AppendOnlyModel

from .checkpoint import Checkpoint, CheckpointKind  # noqa: F401 (the app's models)

INSTALLATION_CHAIN = "installation"


def chain_key(agency) -> str:
    """The chain an agency's entries belong to (``agency`` a model, a pk or ``None``)."""
    if agency is None:
        return INSTALLATION_CHAIN
    return f"agency-{getattr(agency, 'pk', agency)}"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class AuditEntry(AppendOnlyModel):
    """One act: who (``actor``/``actor_label``: a user, a token, a command or a task), what
    (``act``, the subject by type, id and human reference, ``changes`` before and after),
    when (``at``, UTC), where from (``address``, ``user_agent``, ``request_id``) and the
    ``outcome`` with its ``reason``. ``entry_hash`` is the SHA-256 of the canonical JSON of
    ``hashed_fields()`` and ``prev_hash`` (``core.ledger``)."""

    # Scoping (accounts.scoping.scope): the agency's own rows; an auditor reaches those of
    # the incidents granted to it.
    agency_path = "agency"
    grant_path = "incident"

    chain = models.CharField(max_length=40, editable=False)
    agency = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # (agency, -at) below
        help_text="Empty: the installation's own chain.",
    )
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    # Few indexes: every act pays for each on insert. The pages read by agency and time, an
    # incident's entries by incident; the chain by (chain, seq).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    actor_label = models.CharField(max_length=300, help_text="As it was at the time.")
    act = models.CharField(max_length=80)
    subject_type = models.CharField(max_length=80, blank=True)
    subject_id = models.CharField(max_length=80, blank=True)
    subject_ref = models.CharField(max_length=300, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # (incident, seq) below
    )
    changes = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    reason = models.TextField(blank=True)
    address = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    append_only_message = "The audit trail is append-only."

    class Meta:
        ordering = ["chain", "seq"]
        verbose_name_plural = "audit entries"
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_seq_per_chain")]
        indexes = [
            models.Index(fields=["agency", "-at"], name="audit_agency_at"),
            models.Index(fields=["incident", "seq"], name="audit_incident_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.act} by {self.actor_label} ({self.outcome})"

    def hashed_fields(self) -> dict:
        """The fields the entry hash covers, in the form ``ledger.entry_hash`` takes."""
        return ledger.entry_fields(
            chain=self.chain,
            seq=self.seq,
            agency=self.agency_id,
            at=self.at,
            actor=self.actor_id,
            actor_label=self.actor_label,
            act=self.act,
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            subject_ref=self.subject_ref,
            incident=self.incident_id,
            changes=self.changes,
            outcome=self.outcome,
            reason=self.reason,
            address=self.address,
            user_agent=self.user_agent,
            request_id=self.request_id,
        )


class AuditHead(models.Model):
    """The head of one chain: its length and last hash. Locked FOR UPDATE by every append
    (the per-agency lock); the entries, not this row, are the record (``check_agency_chain``
    compares the two)."""

    chain = models.CharField(max_length=40, unique=True)
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    length = models.PositiveBigIntegerField(default=0)
    head_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.chain}: {self.length} entries"
