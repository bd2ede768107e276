from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q


class ImpactLevel(models.IntegerChoices):
    """FIPS 199 potential impact. Ordered, so the high-water mark is the maximum."""

    LOW = 1, "Low"
    MODERATE = 2, "Moderate"
    HIGH = 3, "High"


class AuthorizationStatus(models.TextChoices):
    """Where the system stands in the RMF authorization step (NIST SP 800-37)."""

    NOT_AUTHORIZED = "not_authorized", "Not authorized"
    IN_PROGRESS = "in_progress", "Authorization in progress"
    AUTHORIZED = "authorized", "Authorized to operate"
    CONDITIONAL = "conditional", "Authorized with conditions"
    DENIED = "denied", "Authorization denied"
    REVOKED = "revoked", "Authorization revoked"


def validate_string_list(value) -> None:
    """Detection selectors are lists of non-empty strings (patterns, names)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError("Enter a list of non-empty strings.")


class InformationSystem(models.Model):
    """An information system in the agency's FISMA inventory (FIPS 199 categorised).

    The system's overall level is the high-water mark of its confidentiality, integrity and
    availability impacts (FIPS 200). It carries its authorization (ATO) status and dates, its
    owner and authorizing official (by name: they are often not Docket users; ISSOs are, through
    their memberships), its control baseline, and the selectors that attribute detections to
    it: host name patterns, Kubernetes clusters and namespaces, image repositories.
    """

    agency_path = "agency"
    # Handlers read the whole inventory (an ISSO names any of the agency's systems when opening
    # an incident); an auditor only the systems affected by the incidents granted to it.
    grant_path = "incidents"

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="systems")
    name = models.CharField(max_length=200)
    acronym = models.CharField(max_length=32)
    component = models.CharField(
        max_length=200, blank=True, help_text="The agency component (bureau, office) it serves."
    )
    confidentiality = models.PositiveSmallIntegerField(choices=ImpactLevel.choices)
    integrity = models.PositiveSmallIntegerField(choices=ImpactLevel.choices)
    availability = models.PositiveSmallIntegerField(choices=ImpactLevel.choices)
    high_value_asset = models.BooleanField("high-value asset", default=False)
    baseline = models.ForeignKey(
        "compliance.Baseline",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="systems",
        help_text="The control baseline it is assessed against.",
    )
    ato_status = models.CharField(
        "authorization status",
        max_length=32,
        choices=AuthorizationStatus.choices,
        default=AuthorizationStatus.NOT_AUTHORIZED,
    )
    ato_date = models.DateField("authorization date", null=True, blank=True)
    ato_expires = models.DateField("authorization expires", null=True, blank=True)
    system_owner = models.CharField(max_length=200, blank=True)
    authorizing_official = models.CharField(max_length=200, blank=True)
    host_patterns = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text="Host name patterns (shell-style, e.g. 'web-*.store.example.gov').",
    )
    k8s_clusters = models.JSONField(
        "Kubernetes clusters", default=list, blank=True, validators=[validate_string_list]
    )
    k8s_namespaces = models.JSONField(
        "Kubernetes namespaces", default=list, blank=True, validators=[validate_string_list]
    )
    image_repositories = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text="Container image repositories, e.g. 'registry.example.gov/store/'.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["acronym"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "acronym"], name="system_acronym_per_agency"),
            models.CheckConstraint(
                condition=Q(ato_date__isnull=True)
                | Q(ato_expires__isnull=True)
                | Q(ato_expires__gte=F("ato_date")),
                name="system_ato_expires_after_date",
                violation_error_message="The authorization cannot expire before it is granted.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.acronym} — {self.name}"

    @property
    def high_water_mark(self) -> int:
        return max(self.confidentiality, self.integrity, self.availability)

    def get_high_water_mark_display(self) -> str:
        return ImpactLevel(self.high_water_mark).label
