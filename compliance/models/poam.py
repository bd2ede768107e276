"""Plans of action and milestones (POA&M, OMB M-02-01, NIST SP 800-37 task A-6): the
weaknesses of a system, what will be done about them, by when, and how each ended.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class PoamSource(models.TextChoices):
    """Where the weakness was found."""

    INCIDENT = "incident", "Incident"
    ASSESSMENT = "assessment", "Control or risk assessment"
    SCAN = "scan", "Vulnerability scan"


class PoamSeverity(models.TextChoices):
    """The weakness's severity (the levels FedRAMP's POA&M template uses)."""

    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class PoamStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed (remediated)"
    RISK_ACCEPTED = "risk_accepted", "Risk accepted"


class PoamItem(models.Model):
    """One weakness of one system and the plan to correct it.

    Created open; ends closed (remediated) or risk accepted (only an approving official
    accepts risk), with the time, the person and a note. ``incident`` links an item created
    from an incident's remediation actions.
    """

    agency_path = "system__agency"
    system_path = "system"
    from_incident_path = "incident"

    system = models.ForeignKey(
        "compliance.InformationSystem", on_delete=models.PROTECT, related_name="poam_items"
    )
    weakness = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=PoamSource.choices)
    controls = models.ManyToManyField(
        "compliance.Control", blank=True, related_name="poam_items", verbose_name="related controls"
    )
    severity = models.CharField(max_length=16, choices=PoamSeverity.choices)
    scheduled_completion = models.DateField()
    status = models.CharField(max_length=16, choices=PoamStatus.choices, default=PoamStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    closure_note = models.TextField(blank=True)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="poam_items",
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["scheduled_completion", "pk"]
        verbose_name = "POA&M item"
        indexes = [models.Index(fields=["system", "status"], name="poam_system_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | (~Q(status="open") & Q(closed_at__isnull=False)),
                name="poam_closed_at_matches_status",
            )
        ]

    def __str__(self) -> str:
        return f"POA&M {self.pk}: {self.weakness}"

    @property
    def is_open(self) -> bool:
        return self.status == PoamStatus.OPEN


class PoamMilestone(models.Model):
    """A dated step of a POA&M item's plan; ``completed_on`` once done."""

    agency_path = "item__system__agency"
    system_path = "item__system"
    from_incident_path = "item__incident"

    item = models.ForeignKey(PoamItem, on_delete=models.CASCADE, related_name="milestones")
    description = models.CharField(max_length=500)
    due_date = models.DateField()
    completed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_date", "pk"]

    def __str__(self) -> str:
        return f"{self.due_date}: {self.description}"
