"""What a compliance snapshot holds, built from the selectors, and its canonical JSON.

``build_document`` reads, for each affected system of an incident, its state as of the
incident's first-detected time (``selectors.system_state_as_of``) as Docket knew it at
``known_at``, per framework it is assessed against; the controls the incident's detections
implicate with their state then; the POA&M items open then; the risk assessments conducted
before. Its SHA-256 is taken over Docket's canonical JSON (``core.canonical``): keys sorted,
no insignificant whitespace, UTF-8.
"""

from __future__ import annotations

from datetime import UTC, datetime

from accounts.context import AgencyContext
from compliance.models import AssessmentStatus, ControlAssessment, Framework, ImpactLevel
from compliance.risk.selectors import (
    implicated_controls,
    incident_as_of,
    poam_items,
    poam_items_open_at,
    prior_risk_assessments,
)
from compliance.selectors import system_state_as_of
from core.canonical import canonical_sha256

SCHEMA = "docket/compliance-snapshot"
SCHEMA_VERSION = 1


def document_sha256(document) -> str:
    return canonical_sha256(document)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _level(value: int) -> str:
    return ImpactLevel(value).name.lower()


def _frameworks_for(system, at: datetime, known_at: datetime) -> list[Framework]:
    """The baseline's framework, then every framework the system was assessed in by ``at``."""
    ids = list(
        ControlAssessment.objects.filter(
            system=system, assessed_at__lte=at, recorded_at__lte=known_at
        )
        .values_list("control__framework", flat=True)
        .distinct()
    )
    if system.baseline_id:
        ids.append(system.baseline.framework_id)
    frameworks = list(Framework.objects.filter(pk__in=set(ids)).order_by("name", "version"))
    if system.baseline_id:  # the framework the system is authorised against comes first
        frameworks.sort(key=lambda f: f.pk != system.baseline.framework_id)
    return frameworks


def _framework_state(ctx, system, framework, at, known_at) -> dict:
    state = system_state_as_of(
        ctx=ctx, system=system, framework=framework, at=at, known_at=known_at
    )
    return {
        "name": framework.name,
        "version": framework.version,
        "total": state.total,
        "counts": state.counts,
        "percentages": state.percentages,
        "other_than_satisfied": [
            {
                "identifier": c.control.identifier,
                "label": c.control.label,
                "title": c.control.title,
                "assessed_at": _iso(c.assessment.assessed_at),
                "finding": c.assessment.finding,
            }
            for c in state.with_status(AssessmentStatus.OTHER_THAN_SATISFIED)
        ],
    }


def _implicated(system, controls, at, known_at) -> list[dict]:
    latest: dict[int, ControlAssessment] = {}
    for a in ControlAssessment.objects.filter(
        system=system, control__in=controls, assessed_at__lte=at, recorded_at__lte=known_at
    ).order_by("control_id", "-assessed_at", "-id"):
        latest.setdefault(a.control_id, a)
    rows = []
    for c in controls:
        a = latest.get(c.pk)
        rows.append(
            {
                "framework": c.framework.name,
                "version": c.framework.version,
                "identifier": c.identifier,
                "label": c.label,
                "title": c.title,
                "status": a.status if a else AssessmentStatus.NOT_ASSESSED.value,
                "assessed_at": _iso(a.assessed_at) if a else None,
            }
        )
    return rows


def _poam(item) -> dict:
    return {
        "id": item.pk,
        "weakness": item.weakness,
        "severity": item.severity,
        "source": item.source,
        "status": item.status,
        "created_at": _iso(item.created_at),
        "scheduled_completion": item.scheduled_completion.isoformat(),
        "closed_at": _iso(item.closed_at),
        "controls": [c.label or c.identifier for c in item.controls.all()],
        "incident": item.incident.number if item.incident_id else None,
        "milestones": [
            {
                "description": m.description,
                "due_date": m.due_date.isoformat(),
                "completed_on": m.completed_on.isoformat() if m.completed_on else None,
            }
            for m in item.milestones.all()
        ],
    }


def _risk(ra) -> dict:
    return {
        "id": ra.pk,
        "conducted_at": _iso(ra.conducted_at),
        "assessor": ra.assessor,
        "method": ra.method,
        "overall_risk": ra.overall_risk,
        "summary": ra.summary,
        "document_sha256": ra.document_sha256 or None,
    }


def build_document(*, ctx: AgencyContext, incident, known_at: datetime) -> dict:
    """The snapshot document of ``incident`` (see the module docstring). It is the incident's
    record, so it holds every affected system's state whoever builds it: ``ctx`` reads the
    affected systems' compliance records as if it were their ISSO (``recording_incident``)."""
    ctx = ctx.recording_incident(incident)
    at = incident_as_of(incident)
    systems = list(incident.systems.select_related("baseline__framework").order_by("acronym"))
    controls = implicated_controls(ctx, incident)
    open_then = list(
        poam_items_open_at(ctx, systems, at)
        .filter(created_at__lte=known_at)
        .order_by("scheduled_completion", "pk")
    )
    risks = prior_risk_assessments(ctx, incident)
    out = []
    for system in systems:
        baseline = system.baseline
        out.append(
            {
                "id": system.pk,
                "acronym": system.acronym,
                "name": system.name,
                "fips199": {
                    "confidentiality": _level(system.confidentiality),
                    "integrity": _level(system.integrity),
                    "availability": _level(system.availability),
                    "high_water_mark": _level(system.high_water_mark),
                },
                "high_value_asset": system.high_value_asset,
                "authorization": {
                    "status": system.ato_status,
                    "date": system.ato_date.isoformat() if system.ato_date else None,
                    "expires": system.ato_expires.isoformat() if system.ato_expires else None,
                },
                "baseline": {
                    "framework": baseline.framework.name,
                    "version": baseline.framework.version,
                    "name": baseline.name,
                }
                if baseline
                else None,
                "frameworks": [
                    _framework_state(ctx, system, fw, at, known_at)
                    for fw in _frameworks_for(system, at, known_at)
                ],
                "implicated_controls": _implicated(system, controls, at, known_at),
                "open_poam_items": [_poam(i) for i in open_then if i.system_id == system.pk],
                "prior_risk_assessments": [
                    _risk(r)
                    for r in risks
                    if r.system_id == system.pk and r.recorded_at <= known_at
                ],
            }
        )
    from_incident = poam_items(ctx).filter(incident=incident, created_at__lte=known_at)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "incident": {
            "number": incident.number,
            "title": incident.title,
            "first_detected_at": _iso(incident.first_detected_at),
            "identified_at": _iso(incident.identified_at),
        },
        "as_of": _iso(at),
        "as_of_basis": "first_detected_at" if incident.first_detected_at else "identified_at",
        "known_at": _iso(known_at),
        # The inventory (FIPS 199 levels, ATO, baseline) keeps no history: those fields of
        # each system are as Docket held them at ``known_at``, not at ``as_of``; the document
        # says so to whoever reads it.
        "inventory_as_of": "known_at",
        "systems": out,
        "poam_items_from_incident": [
            _poam(i) for i in from_incident.order_by("system__acronym", "pk")
        ],
    }
