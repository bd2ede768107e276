"""Forms of the risk assessment, POA&M and snapshot pages (USWDS markup through
``core.forms.UswdsForm``; local times in the agency's zone)."""

from __future__ import annotations

from django import forms

from compliance.models import (
    Control,
    PoamSeverity,
    PoamSource,
    PoamStatus,
    RiskAssessmentMethod,
    RiskLevel,
)
from core.forms import LocalDateTimeField, UswdsForm

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RiskAssessmentForm(UswdsForm):
    conducted_at = LocalDateTimeField(label="Conducted at")
    assessor = forms.CharField(max_length=200, help_text="Person or organisation who assessed.")
    method = forms.ChoiceField(choices=RiskAssessmentMethod.choices, label="Assessment approach")
    overall_risk = forms.ChoiceField(
        choices=RiskLevel.choices, label="Overall risk level", help_text="NIST SP 800-30 scale."
    )
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    document = forms.FileField(
        required=False,
        label="Assessment report (optional)",
        help_text="Stored with its SHA-256.",
    )


class PoamForm(UswdsForm):
    weakness = forms.CharField(max_length=500)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    source = forms.ChoiceField(choices=PoamSource.choices)
    severity = forms.ChoiceField(choices=PoamSeverity.choices)
    scheduled_completion = forms.DateField(widget=DATE, help_text="YYYY-MM-DD.")
    controls = forms.ModelMultipleChoiceField(
        queryset=Control.objects.none(),
        required=False,
        label="Related controls",
        help_text="Hold Ctrl (or Cmd) to choose several.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    def __init__(self, *args, controls=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = controls if controls is not None else Control.objects.none()
        self.fields["controls"].queryset = qs
        self.fields["controls"].label_from_instance = lambda c: (
            f"{c.label or c.identifier} {c.title} ({c.framework.name})"
        )


class MilestoneForm(UswdsForm):
    description = forms.CharField(max_length=500, label="Milestone")
    due_date = forms.DateField(widget=DATE, label="Due date", help_text="YYYY-MM-DD.")


class CloseForm(UswdsForm):
    status = forms.ChoiceField(
        choices=[(PoamStatus.CLOSED, "Closed (remediated)")], label="Outcome"
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Why")

    def __init__(self, *args, may_accept=False, **kwargs):
        super().__init__(*args, **kwargs)
        if may_accept:
            self.fields["status"].choices = [
                (PoamStatus.CLOSED, "Closed (remediated)"),
                (PoamStatus.RISK_ACCEPTED, "Risk accepted"),
            ]


class IncidentPoamForm(UswdsForm):
    weakness = forms.CharField(max_length=500)
    severity = forms.ChoiceField(choices=PoamSeverity.choices)
    remediation = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Remediation actions",
        help_text="One per line: the due date (YYYY-MM-DD), then the action.",
    )
