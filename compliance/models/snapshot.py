"""Compliance snapshots: the compliance state of an incident's affected systems at the time of
the incident, frozen when it was confirmed and again whenever a report is being drafted.

A snapshot is a JSON document (``document``, versioned by ``schema_version``) with the SHA-256
of its canonical JSON (``core.canonical.canonical_json``): reports quote it and can prove
what they quoted. Append-only: the model refuses updates and deletes and on PostgreSQL a
trigger refuses them too.
"""

from django.conf import settings
from django.db import models

from core.append_only import AppendOnlyModel
from core.jobs import Job


class SnapshotReason(models.TextChoices):
    CONFIRMED = "confirmed", "Incident confirmed"
    ON_DEMAND = "on_demand", "Taken on demand"


class ComplianceSnapshot(AppendOnlyModel):
    """The affected systems' compliance state as of ``as_of`` (the incident's first-detected
    time), as Docket knew it at ``taken_at``."""

    agency_path = "incident__agency"
    incident_path = "incident"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="compliance_snapshots"
    )
    schema_version = models.PositiveSmallIntegerField()
    taken_at = models.DateTimeField()
    as_of = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reason = models.CharField(max_length=16, choices=SnapshotReason.choices)
    document = models.JSONField()
    sha256 = models.CharField(max_length=64)

    append_only_message = "Compliance snapshots are append-only."

    class Meta:
        ordering = ["-taken_at", "-pk"]
        indexes = [models.Index(fields=["incident", "-taken_at"], name="snapshot_incident_taken")]

    def __str__(self) -> str:
        return f"{self.incident_id} snapshot as of {self.as_of:%Y-%m-%d %H:%M}Z"


class SnapshotJob(Job):
    """A snapshot asked for by an act (the confirm transition), written in the act's
    transaction and taken by the worker (``compliance.tasks.take_snapshot``); the job sweep
    queues it again if its message was lost. The snapshot is taken as known at
    ``requested_at``, so a late run freezes what was known when the act happened."""

    agency_path = "incident__agency"
    incident_path = "incident"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="snapshot_jobs"
    )
    reason = models.CharField(max_length=16, choices=SnapshotReason.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    snapshot = models.OneToOneField(
        ComplianceSnapshot, on_delete=models.PROTECT, null=True, blank=True, related_name="job"
    )

    class Meta:
        indexes = [models.Index(fields=["state", "queued_at"], name="snapshotjob_state_queued")]

    def __str__(self) -> str:
        return f"snapshot job {self.pk} of incident {self.incident_id}: {self.state}"
