"""Evidence page forms (USWDS markup through templates/incidents/_field.html). Collection times
are typed in the agency's zone; the shared ``LocalDateTimeField`` refuses wall times that do
not exist or occur twice there."""

from __future__ import annotations

from django import forms

from core.forms import LocalDateTimeField, UswdsForm

from .models import Kind
from .services import METADATA_FIELDS


class UploadForm(UswdsForm):
    file = forms.FileField(
        label="File",
        allow_empty_file=True,
        help_text="Recognised by its content; a capture is validated before it is kept.",
    )
    kind = forms.ChoiceField(label="Kind", choices=[("", "- Select -"), *Kind.choices])
    collected_at = LocalDateTimeField(label="Collected at", required=False)
    collected_by = forms.CharField(label="Collected by", max_length=200, required=False)
    source_host = forms.CharField(label="Source host", max_length=255, required=False)
    source_ip = forms.GenericIPAddressField(label="Source IP address", required=False)
    source_namespace = forms.CharField(label="Namespace", max_length=255, required=False)
    source_pod = forms.CharField(label="Pod", max_length=255, required=False)
    source_container = forms.CharField(label="Container", max_length=255, required=False)
    source_image = forms.CharField(label="Image", max_length=500, required=False)
    collecting_tool = forms.CharField(
        label="Collecting tool and version",
        max_length=200,
        required=False,
        help_text="For example: sysdig 0.38.1.",
    )
    description = forms.CharField(
        label="Description", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    # A service refusal naming one of its own fields lands on the form field it came from.
    SERVICE_FIELDS = {"filename": "file", "kind": "kind", "collected_at": "collected_at"}

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "collected_at": data.get("collected_at"),
            "metadata": {
                k: data[k]
                for k in METADATA_FIELDS
                if k in self.fields and data.get(k) not in (None, "")
            },
        }


class WithdrawForm(UswdsForm):
    reason = forms.CharField(
        label="Reason for withdrawing",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the custody ledger; the item stays but leaves new reports and packages.",
    )


class TransferForm(UswdsForm):
    to_user = forms.ChoiceField(label="Hand custody to")
    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Purpose of the transfer, or where the item is handed over.",
    )

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {str(u.pk): u for u in candidates}
        self.fields["to_user"].choices = [("", "- Select -")] + [
            (str(u.pk), _label(u)) for u in candidates
        ]

    def receiver(self):
        return self.candidates.get(self.cleaned_data["to_user"])


def _label(user) -> str:
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()
