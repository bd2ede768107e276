"""The one place for the incident reads every page, endpoint and command shares: the incident
with this number that the caller may see, and the determination in force."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery

from accounts.context import AgencyContext
from accounts.scoping import scope
from audit.trail import refuse_out_of_scope
from core.errors import NotFound

from .models import Determination, Incident


def visible_incident(ctx: AgencyContext, incident, queryset=None) -> Incident:
    """The incident (by number, pk or instance) that ``ctx`` may see, read through ``scope``
    from ``queryset`` (to select or prefetch related rows; default all incidents); else
    ``NotFound``: one outside the caller's scope looks exactly like one that does not exist
    (pages answer 404, the API 404, commands an error)."""
    qs = scope(queryset if queryset is not None else Incident.objects.all(), ctx)
    if isinstance(incident, str):
        found = qs.filter(number=incident).first()
    else:
        found = qs.filter(pk=getattr(incident, "pk", incident)).first()
    if found is None:
        lookup = (
            {"number": incident}
            if isinstance(incident, str)
            else {"pk": getattr(incident, "pk", incident)}
        )
        refuse_out_of_scope(ctx, Incident, what=f"incident {incident}", **lookup)
        raise NotFound("No such incident.")
    return found


def _current(determinations):
    return determinations.filter(superseded_by__isnull=True).order_by("-recorded_at", "-pk")


def current_determination(incident: Incident) -> Determination | None:
    """The determination in force: the latest recorded that no later one superseded."""
    return _current(incident.determinations).first()


def current_decision(ctx: AgencyContext) -> Subquery:
    """The decision in force of each incident of a queryset, as an annotation."""
    return Subquery(
        _current(scope(Determination.objects.all(), ctx))
        .filter(incident=OuterRef("pk"))
        .values("decision")[:1]
    )
