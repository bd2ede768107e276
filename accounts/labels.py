"""What error messages call a field: its human name, never its code name.

Services raise ``InvalidInput(message, field=<code name>)``: the API keeps ``field`` as the
key a program reads, the message is for a person and says "Submitted at", not
"submitted_at". Plain helpers over a model's ``verbose_name``s.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.utils.text import capfirst


def field_label(model, name: str) -> str:
    """``model``'s field ``name`` as a person reads it: its verbose name, capitalised
    (``submitted_at`` → ``Submitted at``); a name that is no field, in words."""
    try:
        verbose = model._meta.get_field(name).verbose_name
    except FieldDoesNotExist:
        verbose = name.replace("_", " ")
    return capfirst(str(verbose))


def first_error(model, exc: ValidationError) -> tuple[str, str]:
    """The first field (code name) of a model's ``ValidationError`` and its message, led by
    the field's label (no label for errors of the whole row)."""
    name, messages = next(iter(exc.message_dict.items()))
    text = " ".join(messages)
    if name == NON_FIELD_ERRORS:
        return name, text
    return name, f"{field_label(model, name)}: {text}"
