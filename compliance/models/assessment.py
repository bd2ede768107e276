"""Control assessments: the history from which a system's compliance state at any moment is read.

An assessment is never changed or removed. A later one for the same system and control
supersedes it from its own ``assessed_at`` on, so the state "as of" a past instant is the latest
assessment per control at or before that instant (``compliance.selectors``).
"""

from django.conf import settings
from django.db import models

from core.append_only import AppendOnlyModel


class AssessmentStatus(models.TextChoices):
    """The determination of an assessment (NIST SP 800-53A)."""

    SATISFIED = "satisfied", "Satisfied"
    OTHER_THAN_SATISFIED = "other_than_satisfied", "Other than satisfied"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NOT_ASSESSED = "not_assessed", "Not assessed"


class ImplementationStatus(models.TextChoices):
    """How far the control is implemented (OSCAL ``implementation-status`` tokens)."""

    IMPLEMENTED = "implemented", "Implemented"
    PARTIAL = "partial", "Partially implemented"
    PLANNED = "planned", "Planned"
    ALTERNATIVE = "alternative", "Alternative implementation"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class AssessmentMethod(models.TextChoices):
    """The SP 800-53A assessment methods."""

    EXAMINE = "examine", "Examine"
    INTERVIEW = "interview", "Interview"
    TEST = "test", "Test"


class ControlAssessment(AppendOnlyModel):
    """One assessment of one control on one system, at one moment, by one assessor.

    Append-only (NIST AU-9): the model refuses updates and deletes, and on PostgreSQL a trigger
    refuses them too. ``assessed_at`` is when the assessment holds from; ``recorded_at`` is when
    Docket learnt of it (an assessment may be entered after the fact).
    """

    agency_path = "system__agency"
    system_path = "system"

    system = models.ForeignKey(
        "compliance.InformationSystem", on_delete=models.PROTECT, related_name="assessments"
    )
    control = models.ForeignKey(
        "compliance.Control", on_delete=models.PROTECT, related_name="assessments"
    )
    status = models.CharField(max_length=32, choices=AssessmentStatus.choices)
    implementation_status = models.CharField(
        max_length=32, choices=ImplementationStatus.choices, blank=True
    )
    assessed_at = models.DateTimeField()
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    method = models.CharField(max_length=16, choices=AssessmentMethod.choices, blank=True)
    finding = models.TextField(blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    append_only_message = "Control assessments are append-only."

    class Meta:
        ordering = ["assessed_at", "pk"]
        indexes = [
            # Serves "latest per control at or before T" for one system: DISTINCT ON
            # (control_id) ORDER BY control_id, assessed_at DESC, id DESC reads it in order.
            models.Index(
                fields=["system", "control", "-assessed_at", "-id"],
                name="assessment_system_control_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system_id}/{self.control_id} {self.status} at {self.assessed_at:%Y-%m-%d}"
