from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When

from core.append_only import AppendOnlyModel
from reporting.clock import Status, obligation_status


def due_soon_window() -> timedelta:
    return timedelta(hours=settings.DOCKET_DUE_SOON_HOURS)


class ObligationQuerySet(models.QuerySet):
    def with_status(self, now: datetime):
        """Annotate ``status`` exactly as ``reporting.clock.obligation_status`` computes it, so
        lists can filter and sort by status in the database."""
        return self.annotate(
            status=Case(
                When(withdrawn_at__isnull=False, then=Value(Status.WITHDRAWN.value)),
                When(
                    Q(met_at__isnull=False) & Q(met_at__lte=models.F("due_at")),
                    then=Value(Status.MET_ON_TIME.value),
                ),
                When(met_at__isnull=False, then=Value(Status.MET_LATE.value)),
                When(waived_at__isnull=False, then=Value(Status.WAIVED.value)),
                When(due_at__lt=now, then=Value(Status.OVERDUE.value)),
                When(due_at__lte=now + due_soon_window(), then=Value(Status.DUE_SOON.value)),
                default=Value(Status.UPCOMING.value),
                output_field=models.CharField(),
            )
        )

    def open(self):
        return self.filter(met_at__isnull=True, waived_at__isnull=True, withdrawn_at__isnull=True)


class Obligation(models.Model):
    """A duty to report one incident to named recipients by a due time (stored in UTC).

    Created and recomputed by ``reporting.services.obligations_sync`` from the incident's rule
    set whenever an anchor changes; frozen once met (the first submission), waived or withdrawn.
    Its status is never stored: ``status_at(now)`` and ``with_status(now)`` derive it.
    """

    agency_path = "incident__agency"
    incident_path = "incident"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="obligations"
    )
    rule = models.ForeignKey("reporting.ObligationRule", on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveSmallIntegerField(
        default=1, help_text="1 for one-off duties; 1, 2, 3… for repeated ones (supplementals)."
    )
    anchor_ref = models.CharField(max_length=64, blank=True)
    anchor_at = models.DateTimeField()
    due_at = models.DateTimeField(db_index=True)
    recipients = models.JSONField(default=list)
    created_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    waive_reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)

    objects = ObligationQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "rule", "sequence"], name="obligation_once")
        ]
        indexes = [
            # Open obligations are few among all ever created: the board reads them by due time,
            # the incident list the next one due per incident.
            # (The condition is that of ObligationQuerySet.open().)
            models.Index(
                fields=["due_at"],
                condition=Q(met_at__isnull=True, waived_at__isnull=True, withdrawn_at__isnull=True),
                name="obligation_open_due",
            ),
            models.Index(
                fields=["incident", "due_at"],
                condition=Q(met_at__isnull=True, waived_at__isnull=True, withdrawn_at__isnull=True),
                name="obligation_open_incident_due",
            ),
            # "Met in the last 7 days" on the board.
            models.Index(fields=["met_at"], name="obligation_met_at"),
        ]

    def __str__(self) -> str:
        suffix = f" #{self.sequence}" if self.rule.repeatable else ""
        return f"{self.incident.number}: {self.rule.title}{suffix}"

    @property
    def is_frozen(self) -> bool:
        return bool(self.met_at or self.waived_at or self.withdrawn_at)

    def status_at(self, now: datetime) -> Status:
        return obligation_status(
            due=self.due_at,
            now=now,
            met_at=self.met_at,
            waived=self.waived_at is not None,
            withdrawn=self.withdrawn_at is not None,
            due_soon=due_soon_window(),
        )


class Submission(AppendOnlyModel):
    """A report actually sent to meet an obligation: who sent it, when, to whom, how."""

    agency_path = "obligation__incident__agency"
    incident_path = "obligation__incident"
    append_only_message = "Submissions are a record of what was sent: never edited or removed."

    class Channel(models.TextChoices):
        CISA_PORTAL = "cisa_portal", "CISA Incident Reporting System"
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"
        BRIEFING = "briefing", "Briefing"
        PHONE = "phone", "Phone"
        OTHER = "other", "Other"

    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="submissions")
    submitted_at = models.DateTimeField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recipients = models.JSONField(default=list)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    reference = models.CharField(
        max_length=200, blank=True, help_text="Tracking number, letter reference, message id."
    )
    note = models.TextField(blank=True)
    recorded_at = models.DateTimeField()
    report_version = models.ForeignKey(
        "reporting.ReportVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="submissions",
        help_text="The exact rendering sent (none for submissions recorded without a report).",
    )

    class Meta:
        ordering = ["submitted_at", "pk"]

    def __str__(self) -> str:
        return f"{self.obligation} submitted {self.submitted_at:%Y-%m-%d %H:%M}Z"


class ReminderDispatch(models.Model):
    """That the reminder for one threshold of one obligation went out. The unique constraint
    is what makes it go out once, however many workers run the reminder task."""

    agency_path = "obligation__incident__agency"
    incident_path = "obligation__incident"

    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="reminders")
    threshold = models.CharField(max_length=64)
    fire_at = models.DateTimeField()
    sent_at = models.DateTimeField()
    recipients = models.JSONField(default=list)

    class Meta:
        ordering = ["sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["obligation", "threshold"], name="reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.obligation} reminder {self.threshold}"
