import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/New_York).")


class Agency(models.Model):
    """A federal agency (or component) served by this installation.

    Everything an agency owns hangs off it, and every query is scoped to one agency through
    ``accounts.scoping``. The time zone is the one its people read deadlines in; the marking is
    printed on every page and report it produces.
    """

    name = models.CharField(max_length=200, unique=True)
    abbreviation = models.CharField(
        max_length=12,
        unique=True,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9]{1,11}$", "Use 2–12 capital letters/digits.")],
        help_text="Used in incident numbers, e.g. DOJ-2026-0007.",
    )
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    marking = models.CharField(
        "CUI / classification marking",
        max_length=200,
        default="CUI",
        help_text="Banner text on every page and report, e.g. 'CUI//SP-PRVCY'.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["abbreviation"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return f"{self.abbreviation} — {self.name}"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)
