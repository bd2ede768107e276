"""A system's POA&M as an OSCAL 1.x plan-of-action-and-milestones document, built with
compliance-trestle's models (``trestle.oscal.poam``), so what is exported is schema-valid OSCAL.

Mapping: each POA&M item is a ``poam-item`` titled by its weakness, associated with one
``risk`` that carries the status (open → ``open``, closed → ``closed``, risk accepted →
``deviation-approved``), the scheduled completion as ``deadline`` and one planned
``remediation`` whose ``milestone`` tasks are the item's milestones (on their due dates, end of
day in the agency's zone). Severity, source, related controls and the originating incident are
``props`` in Docket's namespace (OSCAL defines no POA&M property for them). UUIDs are derived
from the database ids (UUIDv5), so exporting twice yields the same identifiers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

DOCKET_NS = "https://docket.example.gov/ns/oscal"
_UUID_NS = uuid.UUID("6f1e9f5c-3a0e-4d8e-9a55-4c6b8b0d0c11")
RISK_STATUS = {"open": "open", "closed": "closed", "risk_accepted": "deviation-approved"}


def _uuid(*parts) -> str:
    return str(uuid.uuid5(_UUID_NS, ":".join(str(p) for p in parts)))


def _end_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def poam_document(system, items, *, now: datetime):
    """The trestle ``PlanOfActionAndMilestones`` of ``system`` with ``items`` (PoamItem rows,
    controls, milestones and incident prefetched)."""
    # trestle (pydantic models of all of OSCAL) is heavy: loaded when an export runs
    from trestle.oscal import common

    # trestle (pydantic models of all of OSCAL) is heavy: loaded when an export runs
    from trestle.oscal.poam import OSCAL_VERSION, PlanOfActionAndMilestones, PoamItem

    tz = system.agency.tz
    agency = system.agency.abbreviation

    def prop(name, value):
        return common.Property(name=name, value=str(value), ns=DOCKET_NS)

    risks, poam_items = [], []
    for item in items:
        risk_uuid = _uuid(agency, "risk", item.pk)
        tasks = [
            common.Task(
                uuid=_uuid(agency, "milestone", m.pk),
                type=common.TaskValidValues.milestone,
                title=m.description,
                timing=common.TimingOnDate(on_date=common.OnDate(date=_end_of_day(m.due_date, tz))),
                remarks=f"Completed on {m.completed_on.isoformat()}." if m.completed_on else None,
            )
            for m in item.milestones.all()
        ]
        remediation = common.Response(
            uuid=_uuid(agency, "remediation", item.pk),
            lifecycle=common.Lifecycle.planned,
            title=f"Plan for: {item.weakness}"[:500],
            description=item.description or item.weakness,
            tasks=tasks or None,
        )
        risks.append(
            common.Risk(
                uuid=risk_uuid,
                title=item.weakness,
                description=item.description or item.weakness,
                statement=item.closure_note or item.description or item.weakness,
                status=common.RiskStatus(RISK_STATUS[item.status]),
                deadline=_end_of_day(item.scheduled_completion, tz),
                remediations=[remediation],
            )
        )
        props = [
            prop("severity", item.severity),
            prop("source", item.source),
            *(prop("control-id", c.identifier) for c in item.controls.all()),
        ]
        if item.incident_id:
            props.append(prop("incident", item.incident.number))
        if item.closed_at:
            props.append(prop("closed-at", item.closed_at.isoformat()))
        poam_items.append(
            PoamItem(
                uuid=_uuid(agency, "poam-item", item.pk),
                title=item.weakness,
                description=item.description or item.weakness,
                props=props,
                related_risks=[common.AssociatedRisk(risk_uuid=risk_uuid)],
            )
        )
    return PlanOfActionAndMilestones(
        uuid=_uuid(agency, "poam", system.pk, now.isoformat()),
        metadata=common.Metadata(
            title=f"Plan of action and milestones: {system.acronym} — {system.name}",
            last_modified=now,
            version=now.strftime("%Y%m%dT%H%M%SZ"),
            oscal_version=common.OscalVersion(OSCAL_VERSION),
        ),
        system_id=common.SystemId(
            identifier_type=common.IdentifierType.https___ietf_org_rfc_rfc4122,
            id=_uuid(agency, "system", system.pk),
        ),
        risks=risks or None,
        poam_items=poam_items,
    )


def poam_json(system, items, *, now: datetime) -> str:
    """The OSCAL JSON text: ``{"plan-of-action-and-milestones": {...}}`` with OSCAL's
    hyphenated field names."""
    return poam_document(system, items, now=now).oscal_serialize_json(pretty=True)
