from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    ISSO = "isso", "Information System Security Officer"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    APPROVING_OFFICIAL = "approving_official", "Approving official"
    AUDITOR = "auditor", "Auditor"
    AGENCY_ADMIN = "agency_admin", "Agency administrator"


class Membership(models.Model):
    """One role a user holds in one agency.

    A user may hold several roles in one agency and roles in several agencies; each request
    acts within one agency (``accounts.context``). An ISSO membership names the information
    systems the ISSO is assigned to, and the ISSO sees only incidents affecting them.
    """

    agency_path = "agency"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    agency = models.ForeignKey("accounts.Agency", on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=32, choices=Role.choices)
    systems = models.ManyToManyField(
        "compliance.InformationSystem",
        blank=True,
        related_name="isso_memberships",
        help_text="For ISSOs: the systems they are assigned to.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "agency", "role"], name="one_role_once")
        ]
        ordering = ["agency__abbreviation", "role"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.agency.abbreviation}"
