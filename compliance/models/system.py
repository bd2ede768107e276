from django.db import models


class ImpactLevel(models.IntegerChoices):
    """FIPS 199 potential impact. Ordered, so the high-water mark is the maximum."""

    LOW = 1, "Low"
    MODERATE = 2, "Moderate"
    HIGH = 3, "High"


class InformationSystem(models.Model):
    """An information system in the agency's FISMA inventory (FIPS 199 categorised).

    The system's overall level is the high-water mark of its confidentiality, integrity and
    availability impacts (FIPS 200). Later work adds ATO data, owners and the selectors that
    attribute detections to it.
    """

    agency_path = "agency"

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="systems")
    name = models.CharField(max_length=200)
    acronym = models.CharField(max_length=32)
    confidentiality = models.PositiveSmallIntegerField(choices=ImpactLevel.choices)
    integrity = models.PositiveSmallIntegerField(choices=ImpactLevel.choices)
    availability = models.PositiveSmallIntegerField(choices=ImpactLevel.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["acronym"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "acronym"], name="system_acronym_per_agency")
        ]

    def __str__(self) -> str:
        return f"{self.acronym} — {self.name}"

    @property
    def high_water_mark(self) -> int:
        return max(self.confidentiality, self.integrity, self.availability)

    def get_high_water_mark_display(self) -> str:
        return ImpactLevel(self.high_water_mark).label
