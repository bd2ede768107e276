"""Reads of risk assessments, POA&M items and compliance snapshots, always scoped.

The instant an incident's compliance is read "as of" is its first-detected time, or its
identified time when first detection was not recorded (``incident_as_of``).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from accounts.context import AgencyContext
from accounts.scoping import scope
from compliance.crosswalk import controls_for_refs
from compliance.models import (
    ComplianceSnapshot,
    Control,
    InformationSystem,
    PoamItem,
    PoamMilestone,
    PoamStatus,
    RiskAssessment,
)
from compliance.selectors import frameworks_visible, systems_visible
from core.errors import NotFound
from incidents.models import Detection
from incidents.selectors import visible_incident


def incident_as_of(incident) -> datetime:
    """When the incident's activity was first detected (else when it was identified)."""
    return incident.first_detected_at or incident.identified_at


def visible_system(ctx: AgencyContext, system) -> InformationSystem:
    """The system (instance, pk or acronym) through the caller's scope, or NotFound."""
    qs = systems_visible(ctx).select_related("baseline__framework")
    if isinstance(system, str):
        found = qs.filter(acronym=system).first()
    else:
        found = qs.filter(pk=getattr(system, "pk", system)).first()
    if found is None:
        raise NotFound("No such information system.")
    return found


def risk_assessments(ctx: AgencyContext) -> QuerySet:
    return scope(RiskAssessment.objects.select_related("system", "recorded_by"), ctx)


def prior_risk_assessments(ctx: AgencyContext, incident) -> list[RiskAssessment]:
    """Risk assessments of the incident's affected systems conducted BEFORE it: strictly
    before its first-detected time (``incident_as_of``). One conducted at that very instant
    could not have informed what was known before the incident, so it is left out."""
    incident = visible_incident(ctx, incident)
    return list(
        risk_assessments(ctx)
        .filter(
            system__in=incident.systems.values("pk"),
            conducted_at__lt=incident_as_of(incident),
        )
        .order_by("system__acronym", "-conducted_at", "-pk")
    )


def poam_items(ctx: AgencyContext) -> QuerySet:
    return scope(
        PoamItem.objects.select_related("system", "incident", "closed_by", "created_by"), ctx
    ).prefetch_related(
        Prefetch("controls", Control.objects.defer("statement").order_by("sort_key")),
        Prefetch("milestones", PoamMilestone.objects.order_by("due_date", "pk")),
    )


def poam_items_open_at(ctx: AgencyContext, systems, at: datetime) -> QuerySet:
    """POA&M items of ``systems`` open at ``at``: created by then and not closed by then."""
    return poam_items(ctx).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gt=at),
        system__in=systems,
        created_at__lte=at,
    )


def open_poam_items(ctx: AgencyContext) -> QuerySet:
    return poam_items(ctx).filter(status=PoamStatus.OPEN)


def incident_detections(ctx: AgencyContext, incident) -> QuerySet:
    """The detections that led to the incident (through its promoted/attached candidates)."""
    return scope(Detection.objects.all(), ctx).filter(candidate__incident=incident)


def implicated_controls(ctx: AgencyContext, incident) -> list[Control]:
    """The controls the incident's detections name (control references, ATT&CK techniques)."""
    refs: set[str] = set()
    techniques: set[str] = set()
    for control_refs, mitre in incident_detections(ctx, incident).values_list(
        "control_refs", "mitre_techniques"
    ):
        refs.update(r for r in control_refs or () if isinstance(r, str))
        techniques.update(t for t in mitre or () if isinstance(t, str))
    if not refs and not techniques:
        return []
    return controls_for_refs(
        sorted(refs), techniques=sorted(techniques), frameworks=frameworks_visible(ctx)
    )


def snapshots(ctx: AgencyContext, incident) -> QuerySet:
    """The incident's snapshots, newest first."""
    return (
        scope(ComplianceSnapshot.objects.select_related("taken_by", "incident"), ctx)
        .filter(incident=incident)
        .order_by("-taken_at", "-pk")
    )


def latest_snapshot(ctx: AgencyContext, incident) -> ComplianceSnapshot | None:
    """The incident's most recent compliance snapshot (None before the first)."""
    incident = visible_incident(ctx, incident)
    return snapshots(ctx, incident).first()
