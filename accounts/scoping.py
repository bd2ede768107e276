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

from .context import AgencyContext
from .models import Role


def visible_incident_filter(ctx: AgencyContext, prefix: str = "") -> Q:
    """A filter, relative to ``prefix`` (a path to an Incident), of the incidents ``ctx`` sees."""
    from incidents.models import AuditorGrant, Incident

    p = f"{prefix}__" if prefix else ""
    q = Q(**{f"{p}agency": ctx.agency})
    if ctx.sees_whole_agency:
        return q
    allowed = Q(pk__in=[])
    if ctx.has_role(Role.ISSO):
        by_system = Incident.systems.through.objects.filter(
            informationsystem_id__in=ctx.isso_system_ids
        ).values("incident_id")
        allowed |= Q(**{f"{p}pk__in": by_system}) | Q(**{f"{p}created_by": ctx.user})
    if ctx.has_role(Role.AUDITOR):
        granted = AuditorGrant.objects.filter(user=ctx.user, incident__agency=ctx.agency).values(
            "incident_id"
        )
        allowed |= Q(**{f"{p}pk__in": granted})
    return q & allowed


def scope(queryset: QuerySet, ctx: AgencyContext) -> QuerySet:
    """``queryset`` limited to the rows ``ctx`` may see."""
    model = queryset.model
    agency_path = getattr(model, "agency_path", None)
    if agency_path is None:
        raise TypeError(f"{model.__name__} declares no agency_path and cannot be scoped.")
    incident_path = getattr(model, "incident_path", None)
    if incident_path is not None:
        return queryset.filter(visible_incident_filter(ctx, incident_path))
    q = Q(**{agency_path: ctx.agency})
    if getattr(model, "shared_when_agency_null", False):
        q |= Q(**{f"{agency_path}__isnull": True})
    return queryset.filter(q)
