"""Risk assessments of information systems (NIST SP 800-30): what the agency knew of a system's
risk before an incident. FISMA asks every supplemental report for the risk assessments of the
affected systems conducted before the incident (``compliance.risk.selectors``).
"""

from django.conf import settings
from django.db import models


class RiskLevel(models.TextChoices):
    """The qualitative scale of NIST SP 800-30 Rev. 1 (Appendix I, Table I-2)."""

    VERY_LOW = "very_low", "Very low"
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    VERY_HIGH = "very_high", "Very high"


class RiskAssessmentMethod(models.TextChoices):
    """The assessment approaches of NIST SP 800-30 Rev. 1 (§2.3.2)."""

    QUALITATIVE = "qualitative", "Qualitative"
    SEMI_QUANTITATIVE = "semi_quantitative", "Semi-quantitative"
    QUANTITATIVE = "quantitative", "Quantitative"


class RiskAssessment(models.Model):
    """One risk assessment of one system, conducted at one moment by one assessor.

    ``assessor`` is a name (assessors are often contractors without a Docket account); who
    recorded it and when is kept beside it. The optional report document is stored with the
    SHA-256 computed while it was streamed to storage.
    """

    agency_path = "system__agency"
    system_path = "system"

    system = models.ForeignKey(
        "compliance.InformationSystem", on_delete=models.PROTECT, related_name="risk_assessments"
    )
    conducted_at = models.DateTimeField()
    assessor = models.CharField(max_length=200)
    method = models.CharField(max_length=32, choices=RiskAssessmentMethod.choices)
    overall_risk = models.CharField("overall risk level", max_length=16, choices=RiskLevel.choices)
    summary = models.TextField()
    document_name = models.CharField(
        max_length=500, blank=True, help_text="Where the document is stored (storage name)."
    )
    document_filename = models.CharField(max_length=255, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    document_size = models.PositiveBigIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["-conducted_at", "-pk"]
        indexes = [models.Index(fields=["system", "conducted_at"], name="risk_system_conducted")]

    def __str__(self) -> str:
        return f"{self.system_id} risk {self.overall_risk} at {self.conducted_at:%Y-%m-%d}"
