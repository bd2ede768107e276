"""Forms of the reporting pages: recording a submission, waiving an obligation, filtering the
deadline board.

``SubmissionForm`` and ``WaiveForm`` are also rendered by the incident detail page, which posts
them to ``obligation-submit`` / ``obligation-waive``. Pass ``obligation=`` so that the local
time is read in the obligation's agency zone and the field ids are unique per obligation
(several forms on one page)::

    SubmissionForm(obligation=ob)          # unbound, ids like "ob-12-submitted_at"
    SubmissionForm(request.POST, obligation=ob)
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms

from core.forms import UswdsForm
from core.time import LOCAL_FORMATS, local_to_utc

from .clock import Status
from .models import Submission
from .presentation import STATUS_LABELS


class _ObligationForm(UswdsForm):
    def __init__(self, *args, obligation=None, tz: ZoneInfo | None = None, **kwargs):
        if obligation is not None:
            kwargs.setdefault("auto_id", f"ob-{obligation.pk}-%s")
            tz = tz or obligation.incident.agency.tz
        self.obligation = obligation
        super().__init__(*args, tz=tz or ZoneInfo("UTC"), **kwargs)


class SubmissionForm(_ObligationForm):
    channel = forms.ChoiceField(label="Channel", choices=Submission.Channel.choices)
    submitted_at = forms.CharField(
        label="Sent at (local time)",
        required=False,
        help_text="Leave empty for now. Read in the agency's time zone.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "60"}),
    )
    reference = forms.CharField(
        label="Reference",
        required=False,
        max_length=200,
        help_text="Tracking number, letter reference or message id.",
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "submitted_at"
        ].help_text = (
            f"Leave empty for now. Read as {self.tz.key} time, as a wall clock there shows it."
        )

    def clean_submitted_at(self) -> datetime | None:
        raw = (self.cleaned_data.get("submitted_at") or "").strip()
        if not raw:
            return None
        for fmt in LOCAL_FORMATS:
            try:
                naive = datetime.strptime(raw, fmt)  # noqa: DTZ007 (a wall time, placed below)
            except ValueError:
                continue
            return local_to_utc(naive, self.tz)
        raise forms.ValidationError(
            "Enter the date and time as YYYY-MM-DD HH:MM, e.g. 2026-03-08 14:30.", code="invalid"
        )


class WaiveForm(_ObligationForm):
    reason = forms.CharField(
        label="Reason for the waiver",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded in the incident's log and shown to auditors.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give a reason for the waiver.", code="required")
        return reason


BOARD_STATUSES = (
    Status.OVERDUE,
    Status.DUE_SOON,
    Status.UPCOMING,
    Status.MET_ON_TIME,
    Status.MET_LATE,
)


class BoardFilterForm(UswdsForm):
    """The board's filters (GET). Choices are given by the view, already scoped."""

    system = forms.ChoiceField(label="System", required=False)
    kind = forms.ChoiceField(label="Obligation", required=False)
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *((s.value, STATUS_LABELS[s]) for s in BOARD_STATUSES)],
    )

    def __init__(self, *args, systems=(), kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].choices = [
            ("", "All systems"),
            *((str(pk), label) for pk, label in systems),
        ]
        self.fields["kind"].choices = [("", "All obligations"), *kinds]
