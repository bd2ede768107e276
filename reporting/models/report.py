"""Reports: the documents the law asks for, drafted from the data, reviewed, approved, rendered
as immutable PDF versions and submitted (docs/adr/0019-report-workflow.md).

A ``Report`` is one revision of one document: the report of an obligation (the CISA
notification, the seven-day notice, supplemental report N, the breach report), the
post-incident report of an incident, or the annual FISMA summary of an agency and fiscal year.
Its state is a protected django-fsm field; only ``reporting.reports`` moves it. Approval
freezes the content; a change after approval starts revision n+1 from the approved content and
the old revision becomes ``superseded``.

A ``ReportVersion`` is one rendering (append-only: model and database trigger): the PDF in
storage with its SHA-256, the canonical JSON it was made from with its SHA-256, and the
definition, rule set and renderer versions. A ``RenderJob`` asks the worker for one.

``CisaResponse`` records what CISA answered to a notification (its tracking number and its
severity rating), append-only; ``cisa_response_for(incident)`` is the latest of them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from accounts.models import Membership
from accounts.permissions import permitted
from core.append_only import AppendOnlyModel
from core.jobs import Job


class ReportState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    SUBMITTED = "submitted", "Submitted"
    SUPERSEDED = "superseded", "Superseded"


# The kinds drafted for an obligation (its rule's ``report_kind``); the other two are drafted
# for an incident (post-incident) or an agency and fiscal year (annual summary).
OBLIGATION_KINDS = (
    "cisa-notification",
    "congressional-notification",
    "supplemental-report",
    "major-breach-report",
)
INCIDENT_KIND = "post-incident-report"
ANNUAL_KIND = "annual-fisma-summary"
REPORT_KINDS = (*OBLIGATION_KINDS, INCIDENT_KIND, ANNUAL_KIND)
REPORT_KIND_CHOICES = [(k, k) for k in REPORT_KINDS]


def _may(act: str):
    """A django-fsm permission: the user's roles in the report's agency allow ``act``."""

    def allowed(instance, user) -> bool:
        roles = Membership.objects.filter(user=user, agency_id=instance.agency_id).values_list(
            "role", flat=True
        )
        return permitted(roles, act)

    allowed.act = act
    return allowed


DRAFT = _may("report_draft")
RETURN = _may("report_return")
APPROVE = _may("report_approve")
SUBMIT = _may("report_submit")


class Report(FSMModelMixin, models.Model):
    """One revision of one report (see the module docstring).

    Scoping: a report of an incident is seen with that incident; the annual summary (no
    incident) by the agency-wide roles only, since it spans all the agency's incidents
    (``accounts.scoping``: ``agency_wide_when_incident_null``)."""

    agency_path = "agency"
    incident_path = "incident"
    agency_wide_when_incident_null = True

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    obligation = models.ForeignKey(
        "reporting.Obligation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    kind = models.CharField(max_length=40, choices=REPORT_KIND_CHOICES)
    fiscal_year = models.PositiveSmallIntegerField(null=True, blank=True)
    definition_version = models.CharField(max_length=20)
    revision = models.PositiveSmallIntegerField(default=1)
    revises = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="revised_by"
    )
    state = FSMField(default=ReportState.DRAFT, choices=ReportState.choices, protected=True)
    narrative = models.JSONField(default=dict, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    title = models.CharField(max_length=300)
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Everyone who edited the narrative of this revision (separation of duties: "
        "none of them may approve it).",
    )
    return_reason = models.TextField(blank=True, help_text="Why it was last returned to draft.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # One current revision per document.
            models.UniqueConstraint(
                fields=["obligation"],
                condition=Q(obligation__isnull=False) & ~Q(state="superseded"),
                name="report_current_per_obligation",
            ),
            models.UniqueConstraint(
                fields=["incident", "kind"],
                condition=Q(obligation__isnull=True, incident__isnull=False)
                & ~Q(state="superseded"),
                name="report_current_per_incident_kind",
            ),
            models.UniqueConstraint(
                fields=["agency", "kind", "fiscal_year"],
                condition=Q(incident__isnull=True) & ~Q(state="superseded"),
                name="report_current_per_fiscal_year",
            ),
            models.CheckConstraint(
                condition=Q(incident__isnull=False) | Q(fiscal_year__isnull=False),
                name="report_has_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (revision {self.revision}, {self.get_state_display().lower()})"

    @property
    def is_frozen(self) -> bool:
        """Content no longer edited in place (approved, submitted or superseded)."""
        return self.state != ReportState.DRAFT and self.state != ReportState.IN_REVIEW

    @property
    def sequence(self) -> int | None:
        return self.obligation.sequence if self.obligation_id else None

    # --- the state machine (side effects in reporting.reports) ---------------------------
    @transition(
        field=state, source=ReportState.DRAFT, target=ReportState.IN_REVIEW, permission=DRAFT
    )
    def submit_for_review(self):
        """Draft → in review."""

    @transition(
        field=state, source=ReportState.IN_REVIEW, target=ReportState.DRAFT, permission=RETURN
    )
    def return_to_draft(self):
        """In review → draft, with a reason."""

    @transition(
        field=state, source=ReportState.IN_REVIEW, target=ReportState.APPROVED, permission=APPROVE
    )
    def approve(self):
        """In review → approved (refused to anyone who edited the narrative)."""

    @transition(
        field=state, source=ReportState.APPROVED, target=ReportState.SUBMITTED, permission=SUBMIT
    )
    def submit(self):
        """Approved → submitted: the submission is recorded against the obligation."""

    @transition(
        field=state,
        source=[ReportState.APPROVED, ReportState.SUBMITTED],
        target=ReportState.SUPERSEDED,
        permission=DRAFT,
    )
    def supersede(self):
        """Approved/submitted → superseded by a new revision."""


class ReportVersion(AppendOnlyModel):
    """One rendering of a report, never changed (PostgreSQL and SQLite triggers refuse
    UPDATE and DELETE: ``reporting_reportversion_append_only``)."""

    append_only_message = "Report versions are append-only."

    agency_path = "report__agency"
    incident_path = "report__incident"
    agency_wide_when_incident_null = True

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    pdf_name = models.CharField(max_length=300)
    pdf_sha256 = models.CharField(max_length=64)
    pdf_size = models.PositiveBigIntegerField()
    data = models.JSONField()
    data_sha256 = models.CharField(max_length=64)
    narrative = models.JSONField(default=dict)
    definition_version = models.CharField(max_length=20)
    ruleset_version = models.CharField(max_length=120, blank=True)
    renderer_version = models.CharField(max_length=200)
    draft = models.BooleanField(help_text="Rendered with the DRAFT watermark.")
    rendered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rendered_at = models.DateTimeField()
    report_state = models.CharField(max_length=12, choices=ReportState.choices)

    class Meta:
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="reportversion_number_once")
        ]

    def __str__(self) -> str:
        return f"{self.report.title} · version {self.number}"


class RenderJob(Job):
    """A rendering asked for by an act, written in its transaction and done by the worker
    (``reporting.tasks.render_report_version``); the job sweep queues it again if its message
    was lost. It renders the report's content as it is when the worker runs."""

    agency_path = "report__agency"
    incident_path = "report__incident"
    agency_wide_when_incident_null = True

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="render_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.OneToOneField(
        ReportVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="job"
    )

    class Meta:
        indexes = [models.Index(fields=["state", "queued_at"], name="renderjob_state_queued")]

    def __str__(self) -> str:
        return f"render job {self.pk} of report {self.report_id}: {self.state}"


class CisaSeverity(models.TextChoices):
    """CISA's National Cyber Incident Scoring System levels, as CISA returns them."""

    EMERGENCY = "emergency", "Emergency (black)"
    SEVERE = "severe", "Severe (red)"
    HIGH = "high", "High (orange)"
    MEDIUM = "medium", "Medium (yellow)"
    LOW = "low", "Low (green)"
    BASELINE = "baseline", "Baseline (white)"


class CisaResponse(AppendOnlyModel):
    """What CISA answered to a notification of the incident: its tracking number and its
    severity rating (append-only; a later answer, e.g. a re-rated severity, is a new row and
    the latest counts)."""

    append_only_message = "CISA's answers are recorded once and never changed."

    agency_path = "incident__agency"
    incident_path = "incident"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="cisa_responses"
    )
    submission = models.ForeignKey(
        "reporting.Submission", on_delete=models.PROTECT, related_name="cisa_responses"
    )
    tracking_number = models.CharField(max_length=64)
    severity = models.CharField(max_length=12, choices=CisaSeverity.choices, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at", "pk"]

    def __str__(self) -> str:
        return f"CISA {self.tracking_number}"


def cisa_response_for(incident) -> CisaResponse | None:
    """The latest answer CISA gave about ``incident`` (tracking number, severity), or None.
    The caller has already read ``incident`` through its scope."""
    return (
        CisaResponse.objects.filter(incident_id=getattr(incident, "pk", incident))
        .order_by("-recorded_at", "-pk")
        .first()
    )
