from django.conf import settings
from django.db import models

from core.append_only import AppendOnlyModel


class EventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    UPDATED = "updated", "Updated"
    TRANSITION = "transition", "State changed"
    DETERMINATION = "determination", "Major-incident determination"
    ADDITIONAL_INFORMATION = "additional_information", "Additional information recorded"
    OBLIGATION_CREATED = "obligation_created", "Reporting obligation created"
    CLOCK_RECOMPUTED = "clock_recomputed", "Due time recomputed"
    OBLIGATION_WITHDRAWN = "obligation_withdrawn", "Obligation withdrawn"
    SUBMISSION = "submission", "Submission recorded"
    WAIVED = "waived", "Obligation waived"
    INDICATOR = "indicator", "Indicator added"
    GRANT = "grant", "Auditor granted"


class IncidentEvent(AppendOnlyModel):
    """One act in an incident's history: who did what, when, from which state to which.

    Append-only (NIST AU-9, PCI DSS 10.3.2): the model refuses updates and deletes, and on
    PostgreSQL a trigger refuses them too, so not even a stray SQL statement rewrites history.
    """

    agency_path = "incident__agency"
    incident_path = "incident"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    at = models.DateTimeField()
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    append_only_message = "Incident events are append-only."

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["incident", "at"])]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}Z"
