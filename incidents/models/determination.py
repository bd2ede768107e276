from django.conf import settings
from django.db import models

from core.append_only import AppendOnlyModel


class Decision(models.TextChoices):
    MAJOR = "major", "Major incident"
    SUSPECTED_MAJOR = "suspected_major", "Suspected major incident"
    NOT_MAJOR = "not_major", "Not a major incident"


class PiiAct(models.TextChoices):
    """What happened to personally identifiable information (M-17-05's bright line)."""

    MODIFICATION = "modification", "Unauthorized modification"
    DELETION = "deletion", "Unauthorized deletion"
    EXFILTRATION = "exfiltration", "Exfiltration"
    ACCESS = "access", "Unauthorized access"


class Determination(AppendOnlyModel):
    """An approving official's major-incident determination, with the assessment behind it.

    The assessment (harm categories, NCISS level, PII, breach) is weighed against the criteria
    of the incident's rule set, which recommends and names the criteria that fired; the official
    decides. ``basis_at`` is the moment there was a reasonable basis to conclude the incident is
    major: the seven-day clock runs from it. Determinations are never edited: a correction is a
    new row that ``supersedes`` the previous one, which stays visible.
    """

    agency_path = "incident__agency"
    incident_path = "incident"
    append_only_message = "Determinations are never edited: a correction is a new determination."

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="determinations"
    )
    ruleset = models.ForeignKey("reporting.RuleSet", on_delete=models.PROTECT, related_name="+")
    harms = models.JSONField(
        default=dict,
        help_text="Per harm category of the rule set: {'likely': bool, 'note': str}.",
    )
    nciss_level = models.PositiveSmallIntegerField(null=True, blank=True)
    pii_individuals = models.PositiveBigIntegerField(null=True, blank=True)
    pii_acts = models.JSONField(default=list, blank=True)
    breach = models.BooleanField(default=False)
    breach_discovered_at = models.DateTimeField(null=True, blank=True)

    recommendation = models.CharField(max_length=20, choices=Decision.choices)
    criteria_fired = models.JSONField(default=list, blank=True)

    decision = models.CharField(max_length=20, choices=Decision.choices)
    rationale = models.TextField()
    basis_at = models.DateTimeField(
        "reasonable-basis time", help_text="When there was a reasonable basis to conclude."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )

    class Meta:
        ordering = ["recorded_at", "pk"]
        get_latest_by = ["recorded_at", "pk"]

    def __str__(self) -> str:
        decision = self.get_decision_display()
        return f"{self.incident.number}: {decision} as of {self.basis_at:%Y-%m-%d %H:%M}Z"

    @property
    def is_major(self) -> bool:
        """Major or suspected major: both start the major-incident clocks (M-17-05 asks that a
        suspected major incident be reported)."""
        return self.decision in (Decision.MAJOR, Decision.SUSPECTED_MAJOR)

    @property
    def is_current(self) -> bool:
        return not hasattr(self, "superseded_by") or self.superseded_by is None
