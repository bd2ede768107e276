"""Forms of the system pages: the "as of" picker and the assessment entry.

Both read local times in the AGENCY's zone with the incident pages' ``LocalDateTimeField``, so a
wall time the zone skips or repeats is refused by name rather than guessed.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.db.models import Q

from core.forms import LocalDateTimeField, UswdsForm
from core.time import format_local

from .models import AssessmentMethod, AssessmentStatus, Control, ImplementationStatus

OPTIONAL = [("", "Not stated")]


class AsOfForm(UswdsForm):
    """GET form of the system detail page: which framework, and the instant to read.

    The picker has minute precision, and "as of 14:05" means through the end of that minute.
    A minute after the present is refused (the state of the future is not known); the
    present minute reads the state now.
    """

    framework = forms.ChoiceField(label="Framework", required=False)
    as_of = LocalDateTimeField(
        label="As of",
        required=False,
        help_text="",
    )

    def __init__(self, *args, frameworks, now: datetime, **kwargs):
        self.now = now
        super().__init__(*args, **kwargs)
        self.fields["framework"].choices = [(str(f.pk), str(f)) for f in frameworks]
        self.fields[
            "as_of"
        ].help_text = f"Local time in {self.tz.key}; leave empty for now. Never in the future."
        self.fields["as_of"].widget.attrs["aria-describedby"] = self._hint_id("as_of")

    def clean_as_of(self):
        start = self.cleaned_data.get("as_of")
        if start is None:
            return None
        if start > self.now:
            raise forms.ValidationError(
                f"As of: {format_local(start, self.tz)} is in the future; the state is known "
                f"up to now ({format_local(self.now, self.tz)}).",
                code="future",
            )
        return min(start.replace(second=59, microsecond=999999), self.now)


class AssessmentForm(UswdsForm):
    """Recording one assessment of one control; the service decides and checks the rest."""

    framework = forms.ModelChoiceField(label="Framework", queryset=None, empty_label=None)
    control = forms.CharField(
        label="Control",
        max_length=100,
        help_text="As the catalog writes it, e.g. AC-2(1) or ac-2.1.",
    )
    status = forms.ChoiceField(
        label="Determination", choices=AssessmentStatus.choices, widget=forms.RadioSelect
    )
    implementation_status = forms.ChoiceField(
        label="Implementation status",
        choices=OPTIONAL + ImplementationStatus.choices,
        required=False,
    )
    assessed_at = LocalDateTimeField(label="Assessed at")
    method = forms.ChoiceField(
        label="Assessment method", choices=OPTIONAL + AssessmentMethod.choices, required=False
    )
    finding = forms.CharField(
        label="Finding", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args, frameworks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["framework"].queryset = frameworks
        self.fields[
            "assessed_at"
        ].help_text = (
            f"Local time in {self.tz.key}; the assessment holds from then on. Never in the future."
        )
        self.fields["assessed_at"].widget.attrs["aria-describedby"] = self._hint_id("assessed_at")

    def clean(self):
        data = super().clean()
        framework, wanted = data.get("framework"), (data.get("control") or "").strip()
        if framework is not None and wanted:
            control = (
                Control.objects.filter(framework=framework)
                .filter(Q(identifier__iexact=wanted) | Q(label__iexact=wanted))
                .order_by("pk")
                .first()
            )
            if control is None:
                self.add_error("control", f"Control: no control {wanted!r} in {framework}.")
            else:
                data["control_obj"] = control
        return data


IMPORT_KINDS = (
    ("framework", "A licensed framework (CSV or YAML): its controls and their text"),
    ("crosswalk", "Crosswalk rows (CSV or YAML): mappings between controls"),
    ("systems", "The system inventory (CSV, the columns of the export)"),
    ("assessments", "Control assessments (CSV, or OSCAL assessment results in JSON)"),
)


class ImportForm(UswdsForm):
    """One file for one of the compliance imports (formats in docs/compliance-import.md)."""

    kind = forms.ChoiceField(
        label="What the file holds", choices=IMPORT_KINDS, widget=forms.RadioSelect
    )
    file = forms.FileField(
        label="File", help_text="All of it is stored, or nothing: an error names the line or path."
    )
    system = forms.CharField(
        label="System acronym (OSCAL assessment results only)",
        required=False,
        max_length=32,
        help_text="For results that do not name their system in a system-acronym property.",
    )
    framework = forms.CharField(
        label="Framework name (OSCAL assessment results only)",
        required=False,
        max_length=200,
        help_text="Default NIST SP 800-53.",
    )
