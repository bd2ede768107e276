from django.conf import settings
from django.db import models

from core.append_only import AppendOnlyModel

# The kinds of act an incident's history records. Each app registers its own
# (``register_event_kinds``): incidents' below, reporting's in ``reporting.history``, so a new
# kind needs no migration here (the field's choices are this list, read when used).
EVENT_KIND_CHOICES: list[tuple[str, str]] = []


def register_event_kinds(kinds: type[models.TextChoices]) -> None:
    """Add ``kinds`` to the kinds an incident's history may record (idempotent)."""
    known = {value for value, _ in EVENT_KIND_CHOICES}
    EVENT_KIND_CHOICES.extend((v, label) for v, label in kinds.choices if v not in known)


def event_kind_choices() -> list[tuple[str, str]]:
    return list(EVENT_KIND_CHOICES)


class EventKind(models.TextChoices):
    """The incidents app's own acts."""

    OPENED = "opened", "Opened"
    UPDATED = "updated", "Updated"
    TRANSITION = "transition", "State changed"
    DETERMINATION = "determination", "Major-incident determination"
    ADDITIONAL_INFORMATION = "additional_information", "Additional information recorded"
    INDICATOR = "indicator", "Indicator added"
    GRANT = "grant", "Auditor granted"


register_event_kinds(EventKind)


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
    kind = models.CharField(max_length=32, choices=event_kind_choices)
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
