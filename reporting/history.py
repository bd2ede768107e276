"""Reporting's acts in an incident's history: an obligation created, a due time recomputed, an
obligation withdrawn, a submission recorded, a waiver, every step of a report (drafted,
revised, sent for review, returned, approved, submitted, rendered, downloaded) and CISA's
answer. Reporting owns these kinds and writes the entries (through
``incidents.services.history_append``); the incident page shows them with the incident's own
acts, in one history."""

from __future__ import annotations

from django.db import models

from incidents.models.event import register_event_kinds


class ReportingEventKind(models.TextChoices):
    OBLIGATION_CREATED = "obligation_created", "Reporting obligation created"
    CLOCK_RECOMPUTED = "clock_recomputed", "Due time recomputed"
    OBLIGATION_WITHDRAWN = "obligation_withdrawn", "Obligation withdrawn"
    SUBMISSION = "submission", "Submission recorded"
    WAIVED = "waived", "Obligation waived"
    REPORT_DRAFTED = "report_drafted", "Report drafted"
    REPORT_REVISED = "report_revised", "Report revision started"
    REPORT_IN_REVIEW = "report_in_review", "Report sent for review"
    REPORT_RETURNED = "report_returned", "Report returned to draft"
    REPORT_APPROVED = "report_approved", "Report approved"
    REPORT_SUBMITTED = "report_submitted", "Report submitted"
    REPORT_RENDERED = "report_rendered", "Report version rendered"
    REPORT_RENDER_FAILED = "report_render_failed", "Report rendering failed"
    REPORT_DOWNLOADED = "report_downloaded", "Report version downloaded"
    CISA_RESPONSE = "cisa_response", "CISA tracking number recorded"


register_event_kinds(ReportingEventKind)
