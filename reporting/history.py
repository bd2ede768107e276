"""Reporting's acts in an incident's history: an obligation created, a due time recomputed, an
obligation withdrawn, a submission recorded, a waiver. Reporting owns these kinds and writes
the entries (through ``incidents.services.history_append``); the incident page shows them
with the incident's own acts, in one history."""

from __future__ import annotations

from django.db import models

from incidents.models.event import register_event_kinds


class ReportingEventKind(models.TextChoices):
    OBLIGATION_CREATED = "obligation_created", "Reporting obligation created"
    CLOCK_RECOMPUTED = "clock_recomputed", "Due time recomputed"
    OBLIGATION_WITHDRAWN = "obligation_withdrawn", "Obligation withdrawn"
    SUBMISSION = "submission", "Submission recorded"
    WAIVED = "waived", "Obligation waived"


register_event_kinds(ReportingEventKind)
