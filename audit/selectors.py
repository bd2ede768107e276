"""Reads of the audit trail for other apps (packages: an incident's entries)."""

from __future__ import annotations

from .models import AuditEntry


def incident_entries(incident):
    """The entries about ``incident``, in the order they were written (by ``seq``)."""
    return AuditEntry.objects.filter(
        agency_id=incident.agency_id, incident_id=incident.pk
    ).order_by("seq")
