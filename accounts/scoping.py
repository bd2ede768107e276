"""The one place where a query is limited to what the caller may see.

Each scoped model names the path from itself to its agency (``agency_path``) and, when it
belongs to an incident, the path to that incident (``incident_path``; ``""`` for the incident
itself). ``scope()`` applies the agency filter and, for incident data, the role rules:
compliance officers, approving officials and agency administrators see every incident of the
agency; ISSOs the incidents that affect a system they are assigned to or that they opened;
auditors the incidents they were granted. Views, the API, the admin and commands all call it.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .context import AGENCY_WIDE_ROLES, AgencyContext
from .models import Membership, Role


def _incident_model(model, incident_path: str):
    """The incident model, found by following ``incident_path`` from ``model`` (the
    relations are the models' own: scoping needs no import of the incidents app)."""
    for name in filter(None, incident_path.split("__")):
        model = model._meta.get_field(name).related_model
    return model


def visible_incident_filter(ctx: AgencyContext, incident_model, prefix: str = "") -> Q:
    """A filter, relative to ``prefix`` (a path to an incident), of the incidents ``ctx``
    sees. ``incident_model`` is the incident model (``_incident_model``)."""
    p = f"{prefix}__" if prefix else ""
    q = Q(**{f"{p}agency": ctx.agency})
    if ctx.sees_whole_agency:
        return q
    allowed = Q(pk__in=[])
    if ctx.has_role(Role.ISSO):
        by_system = incident_model.systems.through.objects.filter(
            informationsystem_id__in=ctx.isso_system_ids
        ).values("incident_id")
        allowed |= Q(**{f"{p}pk__in": by_system}) | Q(**{f"{p}created_by": ctx.user})
    if ctx.has_role(Role.AUDITOR):
        grants = incident_model._meta.get_field("auditor_grants").related_model
        granted = grants.objects.filter(user=ctx.user, incident__agency=ctx.agency).values(
            "incident_id"
        )
        allowed |= Q(**{f"{p}pk__in": granted})
    return q & allowed


def members_who_see(incident) -> QuerySet:
    """The memberships, in the incident's agency, of everyone who sees ``incident`` by the
    rules above: the agency-wide roles, ISSOs of one of its systems or who opened it, and
    auditors granted it. The one place custody transfers and reminders ask "who sees it"."""
    granted = incident.auditor_grants.values("user_id")
    systems = incident.systems.through.objects.filter(incident_id=incident.pk).values(
        "informationsystem_id"
    )
    return Membership.objects.filter(agency_id=incident.agency_id).filter(
        Q(role__in=AGENCY_WIDE_ROLES)
        | (Q(role=Role.ISSO) & (Q(systems__in=systems) | Q(user_id=incident.created_by_id)))
        | (Q(role=Role.AUDITOR) & Q(user_id__in=granted))
    )


def scope(queryset: QuerySet, ctx: AgencyContext) -> QuerySet:
    """``queryset`` limited to the rows ``ctx`` may see."""
    model = queryset.model
    agency_path = getattr(model, "agency_path", None)
    if agency_path is None:
        raise TypeError(f"{model.__name__} declares no agency_path and cannot be scoped.")
    incident_path = getattr(model, "incident_path", None)
    if incident_path is not None:
        incident_model = _incident_model(model, incident_path)
        return queryset.filter(visible_incident_filter(ctx, incident_model, incident_path))
    q = Q(**{agency_path: ctx.agency})
    if getattr(model, "shared_when_agency_null", False):
        q |= Q(**{f"{agency_path}__isnull": True})
    return queryset.filter(q)
