from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from reporting.clock import Counting, Unit
from reporting.criteria import CriteriaError, validate_criteria


class RuleSetLocked(Exception):
    """A rule set that an agency adopted or an incident uses cannot change: supersede it."""


class Anchor(models.TextChoices):
    IDENTIFIED = "identified", "Incident identified"
    DETERMINED_MAJOR = "determined_major", "Determined (suspected) major"
    BREACH_DISCOVERED = "breach_discovered", "Breach discovered"
    ADDITIONAL_INFORMATION = "additional_information", "Additional information recorded"
    PREVIOUS_SUBMISSION = "previous_submission", "Previous submission"


class AppliesTo(models.TextChoices):
    ALL = "all", "Every incident"
    MAJOR = "major", "Major and suspected major incidents"
    MAJOR_BREACH = "major_breach", "Major incidents that are breaches"


class RuleSet(models.Model):
    """A versioned set of reporting rules, e.g. "FISMA 2014 / OMB M-17-05" version 1.

    Rules change with each OMB memo, so they are data. Once an agency has adopted a rule set
    or an incident was opened under it, it is frozen; a change is a new version that agencies
    adopt (``reporting.services.ruleset_supersede``). ``agency`` empty means published for every
    agency; otherwise the set is that agency's own variant.
    """

    agency_path = "agency"
    shared_when_agency_null = True

    name = models.CharField(max_length=200)
    version = models.CharField(max_length=32)
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="rulesets"
    )
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    source = models.TextField("source citation")
    major_criteria = models.JSONField(help_text="See reporting/criteria.py for the shape.")
    supersedes = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="successors"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="ruleset_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding and self.in_use:
            raise RuleSetLocked(f"{self} is in use; supersede it with a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.in_use:
            raise RuleSetLocked(f"{self} is in use and cannot be deleted.")
        return super().delete(*args, **kwargs)

    def clean(self):
        try:
            validate_criteria(self.major_criteria)
        except CriteriaError as exc:
            raise ValidationError({"major_criteria": str(exc)}) from exc

    @property
    def in_use(self) -> bool:
        if self.pk is None:
            return False
        return self.adoptions.exists() or self.incidents.exists()


# The fields that make up a rule as data: what a rule-set document holds, what the API and
# the admin show.
RULE_DATA_FIELDS = (
    "key",
    "title",
    "anchor",
    "anchor_rule_key",
    "offset_amount",
    "offset_unit",
    "counting",
    "recipients",
    "report_kind",
    "applies_to",
    "agency_may_change_offset",
    "citation",
)


class ObligationRule(models.Model):
    """One reporting duty: from which event, after how long, counted how, to whom."""

    agency_path = "ruleset__agency"
    shared_when_agency_null = True

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    key = models.SlugField(max_length=64)
    title = models.CharField(max_length=200)
    anchor = models.CharField(max_length=32, choices=Anchor.choices)
    anchor_rule_key = models.SlugField(
        max_length=64, blank=True, help_text="For 'previous submission': whose submission."
    )
    offset_amount = models.PositiveIntegerField()
    offset_unit = models.CharField(max_length=10, choices=[(u.value, u.value) for u in Unit])
    counting = models.CharField(
        max_length=20,
        choices=[
            (Counting.ELAPSED.value, "Elapsed time"),
            (Counting.END_OF_LOCAL_DAY.value, "Calendar days, to the end of the local day"),
        ],
    )
    recipients = models.JSONField(default=list)
    report_kind = models.SlugField(max_length=64)
    applies_to = models.CharField(max_length=20, choices=AppliesTo.choices)
    agency_may_change_offset = models.BooleanField(
        default=False, help_text="An adopting agency may set its own offset (e.g. supplementals)."
    )
    citation = models.CharField(max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["ruleset", "order", "key"]
        constraints = [models.UniqueConstraint(fields=["ruleset", "key"], name="rule_key_once")]

    def __str__(self) -> str:
        return f"{self.title} ({self.key})"

    def save(self, *args, **kwargs):
        if self.ruleset.in_use:
            raise RuleSetLocked(
                f"{self.ruleset} is in use; supersede it with a new version instead."
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.ruleset.in_use:
            raise RuleSetLocked(
                f"{self.ruleset} is in use; supersede it with a new version instead."
            )
        return super().delete(*args, **kwargs)

    def clean(self):
        if self.counting == Counting.END_OF_LOCAL_DAY and self.offset_unit != Unit.DAYS:
            raise ValidationError({"offset_unit": "Calendar-day counting needs an offset in days."})
        if self.anchor == Anchor.PREVIOUS_SUBMISSION and not self.anchor_rule_key:
            raise ValidationError(
                {"anchor_rule_key": "Name the rule whose submission anchors this."}
            )
        if not isinstance(self.recipients, list) or not all(
            isinstance(r, str) and r.strip() for r in self.recipients
        ):
            raise ValidationError({"recipients": "A list of recipient names."})

    @property
    def repeatable(self) -> bool:
        return self.anchor in (Anchor.ADDITIONAL_INFORMATION, Anchor.PREVIOUS_SUBMISSION)


class RuleSetAdoption(models.Model):
    """An agency puts a rule set in force from a moment on. Incidents opened afterwards use it.

    ``offsets`` overrides the offset amount of rules that allow it, e.g. ``{"supplemental": 10}``.
    """

    agency_path = "agency"

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="adoptions"
    )
    ruleset = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="adoptions")
    adopted_at = models.DateTimeField()
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    offsets = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["agency", "-adopted_at"]
        get_latest_by = "adopted_at"

    def __str__(self) -> str:
        return f"{self.agency.abbreviation} adopted {self.ruleset} at {self.adopted_at:%Y-%m-%d}"
