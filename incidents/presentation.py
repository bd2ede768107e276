"""How an incident's facts read, wherever they are shown: the incident page, the API, the
CISA notification and the reports built on it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from core.time import format_local

from .models import AttackVector, Incident, InformationImpact

UNKNOWN = "Unknown"


def _count(value) -> str:
    return UNKNOWN if value is None else f"{value:,}"


def _when(value, tz: ZoneInfo) -> str:
    return format_local(value, tz) if value else UNKNOWN


def cisa_fields(incident: Incident, tz: ZoneInfo) -> list[tuple[str, str]]:
    """The CISA notification elements of ``incident`` as (label, text) pairs, every time in
    ``tz`` with its zone printed; an element not yet known reads "Unknown"."""
    labels_ii = dict(InformationImpact.choices)
    labels_av = dict(AttackVector.choices)
    return [
        ("Functional impact", incident.get_functional_impact_display() or UNKNOWN),
        (
            "Information impact",
            ", ".join(labels_ii.get(v, v) for v in incident.information_impact) or UNKNOWN,
        ),
        ("Recoverability", incident.get_recoverability_display() or UNKNOWN),
        ("Location of observed activity", incident.get_location_display() or UNKNOWN),
        (
            "Attack vectors",
            ", ".join(labels_av.get(v, v) for v in incident.attack_vectors) or UNKNOWN,
        ),
        ("Number of systems affected", _count(incident.systems_affected_count)),
        ("Number of records affected", _count(incident.records_affected_count)),
        ("Number of users affected", _count(incident.users_affected_count)),
        ("Identified at", format_local(incident.identified_at, tz)),
        ("Activity first detected at", _when(incident.first_detected_at, tz)),
        ("Occurred at", _when(incident.occurred_at, tz)),
        (
            "Point of contact",
            " · ".join(v for v in (incident.poc_name, incident.poc_email, incident.poc_phone) if v)
            or UNKNOWN,
        ),
        ("CISA tracking number", incident.cisa_tracking_number or "Not yet assigned"),
        ("Assessed NCISS level", incident.get_nciss_level_display() or UNKNOWN),
    ]
