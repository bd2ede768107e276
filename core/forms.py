"""The form plumbing of every page: the USWDS form base and the field for a local time.

``UswdsForm`` puts the USWDS classes on every widget; an invalid field gets ``aria-invalid``
and ``aria-describedby`` pointing at its error message (``<id>-error``, rendered by
``incidents/_field.html``). ``LocalDateTimeField`` reads a ``datetime-local`` input in the
form's zone (the agency's) through ``core.time.local_to_utc``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS

from .time import LOCAL_FORMAT, LOCAL_FORMATS, local_to_utc


class LocalDateTimeField(forms.Field):
    """A ``datetime-local`` input read in the agency's zone (``tz`` is set by the form)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)
    input_formats = LOCAL_FORMATS
    default_error_messages = {"invalid": "Enter a date and time as YYYY-MM-DDTHH:MM."}

    def __init__(self, *args, tz: ZoneInfo | None = None, **kwargs):
        self.tz = tz or ZoneInfo("UTC")
        super().__init__(*args, **kwargs)

    def _naive(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                return value.astimezone(self.tz).replace(tzinfo=None, second=0, microsecond=0)
            return value
        text = str(value).strip()
        for fmt in self.input_formats:
            try:
                return datetime.strptime(text, fmt)  # noqa: DTZ007 (a wall time, placed by clean)
            except ValueError:
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def to_python(self, value):
        return self._naive(value)

    def clean(self, value):
        naive = super().clean(value)
        if naive is None:
            return None
        return local_to_utc(naive, self.tz, str(self.label))

    def has_changed(self, initial, data):
        try:
            before, after = self._naive(initial), self._naive(data)
        except forms.ValidationError:
            return True
        return _shown(before) != _shown(after)


def _shown(value: datetime | None) -> str:
    return value.strftime(LOCAL_FORMAT) if value else ""


class UswdsForm(forms.Form):
    """USWDS classes on every widget; an invalid field gets aria-invalid and aria-describedby
    pointing at its error message (``<id>-error``, rendered by _field.html)."""

    error_css_class = "usa-form-group--error"

    def __init__(self, *args, tz: ZoneInfo | None = None, **kwargs):
        self.tz = tz or ZoneInfo("UTC")
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(field, LocalDateTimeField):
                field.tz = self.tz
                field.help_text = field.help_text or f"Local time in {self.tz.key}."
            if isinstance(widget, forms.CheckboxSelectMultiple):
                widget.attrs.setdefault("class", "usa-checkbox__input")
            elif isinstance(widget, forms.RadioSelect):
                widget.attrs.setdefault("class", "usa-radio__input")
            elif isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "usa-checkbox__input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "usa-select")
            elif isinstance(widget, forms.Textarea):
                widget.attrs.setdefault("class", "usa-textarea")
            else:
                widget.attrs.setdefault("class", "usa-input")
            if field.help_text:
                widget.attrs["aria-describedby"] = self._hint_id(name)

    def _hint_id(self, name):
        return f"{self.auto_id % name if self.auto_id else name}-hint"

    def error_id(self, name):
        return f"{self.auto_id % name if self.auto_id else name}-error"

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in list(self.errors):
            if name == NON_FIELD_ERRORS or name not in self.fields:
                continue
            widget = self.fields[name].widget
            described = [self.error_id(name)]
            if self.fields[name].help_text:
                described.append(self._hint_id(name))
            widget.attrs["aria-describedby"] = " ".join(described)
            widget.attrs["aria-invalid"] = "true"
            cls = widget.attrs.get("class", "")
            if "usa-input" in cls and "usa-input--error" not in cls:
                widget.attrs["class"] = cls + " usa-input--error"

    def error_list(self):
        """[(anchor id, text)] for the error summary at the top of the page."""
        items = []
        for name, errors in self.errors.items():
            if name == NON_FIELD_ERRORS or name not in self.fields:
                items.extend(("", str(message)) for message in errors)
                continue
            bf = self[name]
            anchor = bf.auto_id
            if isinstance(self.fields[name].widget, forms.RadioSelect):  # checkboxes too
                anchor = f"{bf.auto_id}_0"
            label = str(bf.label)
            for message in errors:
                text = message if message.startswith(label) else f"{label}: {message}"
                items.append((anchor, text))
        return items
