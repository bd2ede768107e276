"""A package build: a job row (``core.jobs.Job``) written when someone asks for an incident's
package, built by the worker into storage, then offered for download.

Once built, the row is the record of what Docket issued: the ZIP's SHA-256 and size, and every
file in it with its SHA-256 (``contents``), so ``verify_package`` can answer "is this the
package Docket issued?" for a copy handed back years later."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from core.jobs import Job


class Package(Job):
    """One evidence package of an incident, as built for ``requested_by`` (what it holds is
    what that person could see at ``requested_at``'s build)."""

    agency_path = "incident__agency"
    incident_path = "incident"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="packages"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="Empty for an operator's export_package run without --user.",
    )
    written_to = models.CharField(
        max_length=20,
        choices=[("storage", "Storage, for download"), ("file", "A file (export_package)")],
        default="storage",
    )
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker took the build (one at a time)."
    )
    name = models.CharField(
        max_length=200, help_text="The ZIP's file name without .zip: also the bag's folder."
    )
    storage_name = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    contents = models.JSONField(
        default=list, blank=True, help_text="Every file of the ZIP: path, bytes, SHA-256."
    )
    key_id = models.CharField(max_length=100, blank=True, help_text="The attestation's key.")

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "queued_at"], name="package_state_queued"),
            models.Index(fields=["incident", "-requested_at"], name="package_incident"),
        ]

    def __str__(self) -> str:
        return f"package {self.name}: {self.state}"

    @property
    def file_name(self) -> str:
        return f"{self.name}.zip"

    @property
    def ready(self) -> bool:
        return self.state == "done" and bool(self.storage_name)
