"""Page plumbing that needs no app: a service's refusal shown on its form."""

from __future__ import annotations

from .errors import InvalidInput


def apply_service_error(form, exc: InvalidInput) -> None:
    """Show a service's ``InvalidInput`` on ``form``: on the field it names when the form has
    that field, else above the form."""
    field = exc.extra.get("field")
    form.add_error(field if field in form.fields else None, exc.message)
