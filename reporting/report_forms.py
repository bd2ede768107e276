"""Forms of the report pages: the editor (one textarea per narrative section of the report's
definition, the recipients, the title, and the ``updated_at`` the page was read at, so that a
save over someone else's is caught), returning a report to draft, recording its submission,
drafting an annual summary.

Field names of the editor are ``section-<key>`` for the definition's narrative sections; the
section keys come from the definition (data), so the form is built per report.
"""

from __future__ import annotations

from datetime import datetime

from django import forms

from core.forms import LocalDateTimeField, UswdsForm
from core.time import parse_instant

from .models import CisaSeverity, Submission

SECTION_PREFIX = "section-"
RECIPIENTS_HELP = "One recipient a line (committees, the Inspector General, CISA)."


def section_field(key: str) -> str:
    return f"{SECTION_PREFIX}{key}"


class ReportEditForm(UswdsForm):
    """The editor. ``sections``: the definition's narrative sections (``Section``), in order;
    each becomes a textarea labelled with the section's title and its help."""

    title = forms.CharField(label="Title", max_length=300, required=False)
    recipients = forms.CharField(
        label="Recipients",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=RECIPIENTS_HELP,
    )
    updated_at = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, sections=(), problems=None, **kwargs):
        self.sections = list(sections)
        self.problems = problems  # narrative_problems(text) -> list[str]
        super().__init__(*args, **kwargs)
        # The narrative fields come first, in the definition's order; title and recipients
        # after them (they change least).
        fields = {}
        for section in self.sections:
            field = forms.CharField(
                label=section.title,
                required=False,
                widget=forms.Textarea(attrs={"rows": 8, "class": "usa-textarea docket-narrative"}),
                help_text=section.help or "",
                strip=False,
            )
            fields[section_field(section.key)] = field
        fields.update(self.fields)
        self.fields = fields
        # UswdsForm sets aria-describedby on fields with help when it is built; do the same
        # for the fields added here.
        for name, field in self.fields.items():
            if name.startswith(SECTION_PREFIX) and field.help_text:
                field.widget.attrs["aria-describedby"] = self._hint_id(name)

    def clean_updated_at(self) -> datetime:
        raw = self.cleaned_data["updated_at"]
        try:
            return parse_instant(raw)
        except (ValueError, forms.ValidationError) as exc:
            raise forms.ValidationError(
                "The page did not say when it read the report; reload it and type again.",
                code="invalid",
            ) from exc

    def clean_recipients(self) -> list[str]:
        lines = (self.cleaned_data.get("recipients") or "").splitlines()
        recipients = []
        for line in lines:
            line = line.strip()
            if line and line not in recipients:
                recipients.append(line)
        return recipients

    def clean(self):
        cleaned = super().clean()
        if self.problems is None:
            return cleaned
        for section in self.sections:
            name = section_field(section.key)
            text = cleaned.get(name)
            if text is None:
                continue
            for problem in self.problems(text):
                self.add_error(name, problem)
        return cleaned

    def narrative(self) -> dict[str, str]:
        """{section key: text} of the narrative fields the page showed and posted, as typed
        (line ends made \\n). A section the page did not show (the data does not call for it
        now) is not in it, so what was written there stays."""
        return {
            section.key: (self.cleaned_data.get(section_field(section.key)) or "").replace(
                "\r\n", "\n"
            )
            for section in self.sections
            if section_field(section.key) in self.data
        }

    def section_rows(self):
        """(section, bound field) pairs for the template."""
        return [(section, self[section_field(section.key)]) for section in self.sections]


class ReturnForm(UswdsForm):
    reason = forms.CharField(
        label="Why it goes back to draft",
        required=False,  # clean_reason names the problem (also for a reason of spaces)
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded in the incident's history; the drafter sees it.",
    )

    def clean_reason(self) -> str:
        reason = (self.cleaned_data.get("reason") or "").strip()
        if not reason:
            raise forms.ValidationError("Give the reason for returning it.", code="required")
        return reason


class ReportSubmissionForm(UswdsForm):
    """Recording that the approved report went out: channel, time (the agency's wall clock),
    recipients, the reference (tracking number) and a note."""

    channel = forms.ChoiceField(label="Channel", choices=Submission.Channel.choices)
    submitted_at = LocalDateTimeField(label="Sent at", help_text="")
    recipients = forms.CharField(
        label="Recipients",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=RECIPIENTS_HELP,
    )
    reference = forms.CharField(
        label="Reference",
        required=False,
        max_length=200,
        help_text="CISA tracking number, letter reference or message id.",
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_recipients(self) -> list[str]:
        recipients = []
        for line in (self.cleaned_data.get("recipients") or "").splitlines():
            line = line.strip()
            if line and line not in recipients:
                recipients.append(line)
        if not recipients:
            raise forms.ValidationError("Name at least one recipient.", code="required")
        return recipients


class AnnualDraftForm(UswdsForm):
    fiscal_year = forms.IntegerField(
        label="Fiscal year",
        min_value=2000,
        max_value=2100,
        help_text="FY2027 runs from 1 October 2026 to 30 September 2027.",
    )


def fiscal_year_of(instant: datetime, tz) -> int:
    """The federal fiscal year holding ``instant`` on the agency's calendar (FY N starts on
    1 October of year N-1)."""
    local = instant.astimezone(tz)
    return local.year + 1 if local.month >= 10 else local.year


class CisaResponseForm(UswdsForm):
    """What CISA answered to a submitted notification: its tracking number and severity."""

    tracking_number = forms.CharField(label="CISA tracking number", max_length=100)
    severity = forms.ChoiceField(
        label="CISA's severity rating",
        required=False,
        choices=[("", "Not rated yet"), *CisaSeverity.choices],
    )
