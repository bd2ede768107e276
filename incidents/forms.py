"""Incident page forms, rendered with USWDS markup (see templates/incidents/_field.html).

Local times are typed in the AGENCY's zone (``datetime-local``) and turned into aware instants
here: a wall time the zone skips (spring forward) or repeats (fall back) is refused with a
message naming the field, because guessing would move a statutory clock by an hour.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms

from accounts.scoping import scope
from compliance.models import InformationSystem
from core.forms import LocalDateTimeField, UswdsForm
from core.time import to_local_input

from .models import (
    AttackVector,
    Decision,
    FunctionalImpact,
    InformationImpact,
    Location,
    NcissLevel,
    PiiAct,
    Recoverability,
)

UNKNOWN = [("", "Unknown")]


def _checkboxes():
    return forms.CheckboxSelectMultiple()


class IncidentForm(UswdsForm):
    """Opening or editing an incident: the CISA notification elements and the clock anchors."""

    title = forms.CharField(max_length=200)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    systems = forms.ModelMultipleChoiceField(
        queryset=InformationSystem.objects.none(),
        widget=_checkboxes(),
        required=False,
        label="Affected information systems",
    )
    identified_at = LocalDateTimeField(
        label="Identified at",
        help_text="When your SOC/CSIRT identified it; CISA's one-hour clock starts here.",
    )
    first_detected_at = LocalDateTimeField(label="Activity first detected at", required=False)
    occurred_at = LocalDateTimeField(label="Occurred at", required=False)
    functional_impact = forms.ChoiceField(
        choices=UNKNOWN + FunctionalImpact.choices, required=False
    )
    information_impact = forms.MultipleChoiceField(
        choices=InformationImpact.choices,
        widget=_checkboxes(),
        required=False,
        help_text="Select every impact that applies; none selected means unknown.",
    )
    recoverability = forms.ChoiceField(choices=UNKNOWN + Recoverability.choices, required=False)
    location = forms.ChoiceField(
        label="Location of observed activity",
        choices=UNKNOWN + Location.choices,
        required=False,
    )
    attack_vectors = forms.MultipleChoiceField(
        label="Attack vectors",
        choices=AttackVector.choices,
        widget=_checkboxes(),
        required=False,
    )
    systems_affected_count = forms.IntegerField(
        label="Number of systems affected", min_value=0, required=False
    )
    records_affected_count = forms.IntegerField(
        label="Number of records affected", min_value=0, required=False
    )
    users_affected_count = forms.IntegerField(
        label="Number of users affected", min_value=0, required=False
    )
    poc_name = forms.CharField(label="Point of contact", max_length=200, required=False)
    poc_email = forms.EmailField(label="Point of contact email", required=False)
    poc_phone = forms.CharField(label="Point of contact phone", max_length=40, required=False)
    cisa_tracking_number = forms.CharField(
        label="CISA tracking number", max_length=64, required=False
    )
    nciss_level = forms.TypedChoiceField(
        label="Assessed NCISS level",
        choices=UNKNOWN + [(str(v), label) for v, label in NcissLevel.choices],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="Your agency's own assessment; CISA's scoring weights are not public.",
    )
    related = forms.CharField(
        label="Related incidents",
        required=False,
        help_text="Incident numbers, separated by commas (e.g. FTA-2026-0003).",
    )

    def __init__(self, *args, ctx, **kwargs):
        self.ctx = ctx
        super().__init__(*args, tz=ctx.agency.tz, **kwargs)
        self.fields["systems"].queryset = scope(InformationSystem.objects.all(), ctx)

    def clean_related(self):
        raw = self.cleaned_data.get("related") or ""
        return [n.strip().upper() for n in raw.replace(";", ",").split(",") if n.strip()]

    def service_values(self, names=None) -> dict:
        """The cleaned data as the services take it (systems as ids; blanks as the model's)."""
        data = self.cleaned_data
        names = list(self.fields) if names is None else names
        out = {}
        for name in names:
            value = data.get(name)
            if name == "systems":
                value = [s.pk for s in value or []]
            elif name in ("information_impact", "attack_vectors"):
                value = list(value or [])
            out[name] = value
        return out

    @classmethod
    def initial_for(cls, incident, tz: ZoneInfo) -> dict:
        initial = {
            name: getattr(incident, name)
            for name in (
                "title",
                "summary",
                "functional_impact",
                "information_impact",
                "recoverability",
                "location",
                "attack_vectors",
                "systems_affected_count",
                "records_affected_count",
                "users_affected_count",
                "poc_name",
                "poc_email",
                "poc_phone",
                "cisa_tracking_number",
                "nciss_level",
            )
        }
        for name in ("identified_at", "first_detected_at", "occurred_at"):
            initial[name] = to_local_input(getattr(incident, name), tz)
        initial["systems"] = [s.pk for s in incident.systems.all()]
        initial["related"] = ", ".join(sorted(r.number for r in incident.related.all()))
        return initial


YES_NO = [("yes", "Yes, likely"), ("no", "No, not likely")]


class DeterminationForm(UswdsForm):
    """The guided major-incident assessment, then the approving official's decision."""

    nciss_level = forms.TypedChoiceField(
        label="Assessed NCISS level",
        choices=UNKNOWN + [(str(v), label) for v, label in NcissLevel.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    pii_individuals = forms.IntegerField(
        label="Individuals whose PII was involved", min_value=0, required=False
    )
    pii_acts = forms.MultipleChoiceField(
        label="What happened to the PII",
        choices=PiiAct.choices,
        widget=_checkboxes(),
        required=False,
    )
    breach = forms.BooleanField(label="This incident is a breach of PII", required=False)
    breach_discovered_at = LocalDateTimeField(label="Breach discovered at", required=False)
    decision = forms.ChoiceField(
        label="Decision", choices=Decision.choices, widget=forms.RadioSelect
    )
    rationale = forms.CharField(label="Rationale", widget=forms.Textarea(attrs={"rows": 4}))
    basis_at = LocalDateTimeField(
        label="Reasonable-basis time",
        help_text="When there was a reasonable basis to conclude; the 7-day clocks run from it.",
    )

    def __init__(self, *args, categories, preview=False, **kwargs):
        self.categories = list(categories)
        super().__init__(*args, **kwargs)
        for cat in reversed(self.categories):
            key = cat["key"]
            self.fields = {
                f"harm_{key}": forms.ChoiceField(
                    label=f"Is demonstrable harm likely to: {cat['label']}?",
                    choices=YES_NO,
                    widget=forms.RadioSelect(attrs={"class": "usa-radio__input"}),
                ),
                f"harm_{key}_note": forms.CharField(
                    label="Note",
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 2, "class": "usa-textarea"}),
                ),
                **self.fields,
            }
        if preview:
            self.fields["decision"].required = False
            self.fields["rationale"].required = False

    def harm_groups(self):
        return [
            (cat, self[f"harm_{cat['key']}"], self[f"harm_{cat['key']}_note"])
            for cat in self.categories
        ]

    def harms(self) -> dict:
        return {
            cat["key"]: {
                "likely": self.cleaned_data.get(f"harm_{cat['key']}") == "yes",
                "note": self.cleaned_data.get(f"harm_{cat['key']}_note") or "",
            }
            for cat in self.categories
        }


class AdditionalInformationForm(UswdsForm):
    summary = forms.CharField(
        label="Additional information",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For a major incident this starts a supplemental report's clock.",
    )
