"""The filters of the audit trail's pages and exports (times in the agency's zone)."""

from __future__ import annotations

from django import forms

from core.forms import LocalDateTimeField, UswdsForm

from .acts import ACTS
from .models import Outcome


class AuditFilterForm(UswdsForm):
    actor = forms.CharField(
        label="Actor", required=False, max_length=150, help_text="Username, token or command."
    )
    act = forms.ChoiceField(label="Act", required=False)
    subject = forms.CharField(
        label="Subject",
        required=False,
        max_length=300,
        help_text="A reference (an incident number, a file name) or an id.",
    )
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any"), *Outcome.choices]
    )
    since = LocalDateTimeField(label="From", required=False)
    until = LocalDateTimeField(label="Until", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["act"].choices = [
            ("", "Any act"),
            *sorted(ACTS.items(), key=lambda item: item[1]),
        ]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "“Until” is before “From”.")
        return cleaned
