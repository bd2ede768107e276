"""Row locks that serialise concurrent acts on one record."""

from __future__ import annotations

from django.db.models import QuerySet

from .errors import NotFound


def lock_row(queryset: QuerySet, pk, *, missing: str = "No such record."):
    """Re-read row ``pk`` of ``queryset`` (already scoped to the caller) under a row lock, in
    the caller's transaction; ``NotFound`` when the caller cannot see it."""
    locked = queryset.select_for_update(of=("self",)).filter(pk=pk).first()
    if locked is None:
        raise NotFound(missing)
    return locked
