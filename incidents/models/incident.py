from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from accounts.models import Membership
from accounts.permissions import permitted
from incidents.indicators import problem as indicator_problem

from .enums import (
    FunctionalImpact,
    IndicatorType,
    Location,
    NcissLevel,
    Recoverability,
    validate_attack_vectors,
    validate_information_impact,
)


class State(models.TextChoices):
    """NIST SP 800-61 phases as Docket tracks them."""

    DETECTED = "detected", "Detected"
    TRIAGE = "triage", "Triage"
    CONFIRMED = "confirmed", "Confirmed"
    CONTAINED = "contained", "Contained"
    ERADICATED = "eradicated", "Eradicated"
    RECOVERED = "recovered", "Recovered"
    CLOSED = "closed", "Closed"
    DISMISSED = "dismissed", "Dismissed"


def _may(act: str):
    """A django-fsm permission: the user's roles in the incident's agency allow ``act``
    (``accounts.permissions.ACTS``)."""

    def allowed(instance, user) -> bool:
        roles = Membership.objects.filter(user=user, agency_id=instance.agency_id).values_list(
            "role", flat=True
        )
        return permitted(roles, act)

    allowed.act = act
    return allowed


# Who may move an incident along its lifecycle: the act → roles map's answer.
HANDLE = _may("incident_transition")
CLOSE = _may("incident_close")


class Incident(FSMModelMixin, models.Model):
    """A security incident of one agency, from detection to closure.

    Carries the fields CISA's notification asks for, the lifecycle (a protected django-fsm
    field: only transitions change it, through ``incidents.services.incident_transition``,
    which checks the actor's role and appends an ``IncidentEvent``) and the anchors of the
    reporting clocks (identified-at here; determination and breach times on ``Determination``).
    """

    agency_path = "agency"
    incident_path = ""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="incidents"
    )
    number = models.CharField(max_length=32, editable=False)
    year = models.PositiveSmallIntegerField(editable=False)
    sequence = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    state = FSMField(default=State.DETECTED, choices=State.choices, protected=True)
    dismissed_reason = models.TextField(blank=True)

    # CISA notification elements. Blank means "Unknown", which CISA accepts at first.
    functional_impact = models.CharField(
        max_length=40, choices=FunctionalImpact.choices, blank=True
    )
    information_impact = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_information_impact],
        help_text="Several allowed.",
    )
    recoverability = models.CharField(max_length=20, choices=Recoverability.choices, blank=True)
    location = models.CharField(
        "location of observed activity", max_length=10, choices=Location.choices, blank=True
    )
    attack_vectors = models.JSONField(
        default=list, blank=True, validators=[validate_attack_vectors]
    )
    systems_affected_count = models.PositiveIntegerField(null=True, blank=True)
    records_affected_count = models.PositiveBigIntegerField(null=True, blank=True)
    users_affected_count = models.PositiveIntegerField(null=True, blank=True)
    poc_name = models.CharField("point of contact", max_length=200, blank=True)
    poc_email = models.EmailField("point of contact email", blank=True)
    poc_phone = models.CharField("point of contact phone", max_length=40, blank=True)
    identified_at = models.DateTimeField(
        help_text="When the agency's SOC/CSIRT identified it: CISA's one-hour clock starts here."
    )
    first_detected_at = models.DateTimeField(null=True, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    cisa_tracking_number = models.CharField(max_length=64, blank=True)
    nciss_level = models.PositiveSmallIntegerField(
        "assessed NCISS level", choices=NcissLevel.choices, null=True, blank=True
    )
    systems = models.ManyToManyField(
        "compliance.InformationSystem", blank=True, related_name="incidents"
    )
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    ruleset = models.ForeignKey(
        "reporting.RuleSet",
        on_delete=models.PROTECT,
        related_name="incidents",
        help_text="The rule set in force for the agency when the incident was opened.",
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "number"], name="incident_number_per_agency"),
            models.UniqueConstraint(
                fields=["agency", "year", "sequence"], name="incident_sequence_per_agency"
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "state"]),
            # The incident list's default order (newest identified first), read a page at a time.
            models.Index(
                fields=["agency", "-identified_at", "-id"], name="incident_agency_identified"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    # --- lifecycle -------------------------------------------------------------------------
    # Side effects of every transition (the event row, the domain events reporting and
    # compliance act on) live in incidents.services.incident_transition, not here.

    @transition(field=state, source=State.DETECTED, target=State.TRIAGE, permission=HANDLE)
    def start_triage(self):
        """Detected → triage."""

    @transition(field=state, source=State.TRIAGE, target=State.CONFIRMED, permission=HANDLE)
    def confirm(self):
        """Triage → confirmed: the occurrence is an incident."""

    @transition(field=state, source=State.CONFIRMED, target=State.CONTAINED, permission=HANDLE)
    def contain(self):
        """Confirmed → contained."""

    @transition(field=state, source=State.CONTAINED, target=State.ERADICATED, permission=HANDLE)
    def eradicate(self):
        """Contained → eradicated."""

    @transition(field=state, source=State.ERADICATED, target=State.RECOVERED, permission=HANDLE)
    def recover(self):
        """Eradicated → recovered."""

    @transition(field=state, source=State.RECOVERED, target=State.CLOSED, permission=CLOSE)
    def close(self):
        """Recovered → closed. The service refuses while a reporting obligation is open."""

    @transition(
        field=state,
        source=[State.DETECTED, State.TRIAGE, State.CONFIRMED],
        target=State.DISMISSED,
        permission=HANDLE,
    )
    def dismiss(self):
        """Detected/triage/confirmed → dismissed (a reason is required). Unmet obligations are
        withdrawn by the service."""


class IncidentSequence(models.Model):
    """The last incident number handed out per agency and year.

    Incremented under a row lock in the same transaction that inserts the incident, so numbers
    are gapless (a rolled-back incident returns its number) and two openings at the same moment
    get different numbers.
    """

    agency = models.ForeignKey("accounts.Agency", on_delete=models.CASCADE)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "year"], name="one_sequence_per_agency_year")
        ]

    def __str__(self) -> str:
        return f"{self.agency_id}/{self.year}: {self.last_value}"


class Indicator(models.Model):
    """An indicator of compromise observed in the incident."""

    agency_path = "incident__agency"
    incident_path = "incident"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="indicators")
    type = models.CharField(max_length=20, choices=IndicatorType.choices)
    value = models.CharField(max_length=2048)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "type", "value"], name="indicator_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.value}"

    def clean(self):
        """The value must look like its type (``incidents.indicators``): ``zzz`` is no
        SHA-256, a host name no IPv4 address."""
        if self.type in IndicatorType.values and (
            found := indicator_problem(self.type, self.value)
        ):
            raise ValidationError({"value": found})


class AdditionalInformation(models.Model):
    """New information about a major incident. FISMA asks Congress to be updated within a
    reasonable period after it is discovered: each record anchors one supplemental report."""

    agency_path = "incident__agency"
    incident_path = "incident"

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="additional_information"
    )
    summary = models.TextField()
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["recorded_at", "pk"]
        verbose_name_plural = "additional information"

    def __str__(self) -> str:
        return f"{self.incident.number}: additional information of {self.recorded_at:%Y-%m-%d}"


def grant_default_until():
    return timezone.now() + timedelta(days=settings.DOCKET_AUDITOR_GRANT_DEFAULT_DAYS)


class AuditorGrant(models.Model):
    """An auditor may read this incident (and only the incidents granted to them), from
    ``valid_from`` until ``valid_until`` (set by whoever grants; ``incidents.services
    .auditor_grant`` checks the window). Outside it the incident answers 404 to that auditor
    everywhere (``accounts.scoping``); ``expiry_recorded_at`` is when the expiry was written
    to the audit trail (once, by ``incidents.tasks.record_grant_expiries``)."""

    agency_path = "incident__agency"
    incident_path = "incident"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="auditor_grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    valid_from = models.DateTimeField("valid from", default=timezone.now)
    valid_until = models.DateTimeField("valid until", default=grant_default_until)
    expiry_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="grant_once"),
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")),
                name="grant_until_after_from",
            ),
        ]
        indexes = [models.Index(fields=["user", "valid_until"], name="grant_user_until")]

    def __str__(self) -> str:
        return f"{self.user} may audit {self.incident.number}"

    def is_valid_at(self, when) -> bool:
        return self.valid_from <= when < self.valid_until
