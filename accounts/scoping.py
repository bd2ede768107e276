"""The one place where a query is limited to what the caller may see.

Each scoped model names the path from itself to its agency (``agency_path``). ``scope()``
applies the agency filter and the role rules inside the agency, which the model's other
declarations select:

- ``incident_path`` — the row belongs to an incident (``""`` for the incident itself): it is
  seen with that incident (``visible_incident_filter``). Compliance officers, approving
  officials and agency administrators see every incident of the agency; ISSOs the incidents
  that affect a system they are assigned to or that they opened; auditors the incidents they
  were granted.
- ``system_path`` — the row is a compliance record of an information system (a control
  assessment, a risk assessment, a POA&M item or milestone): it is seen with that system's
  records (``visible_system_filter``): the whole agency's for the agency-wide roles, an
  ISSO's assigned systems, and for an auditor the systems affected by the incidents it was
  granted. ``from_incident_path`` (optional) is the record's link to the incident it was made
  from: an auditor reads such a record only if it sees that incident too.
- ``agency_wide_when_incident_null`` (with ``incident_path``) — a row that may belong to no
  incident (the annual FISMA summary, which spans all the agency's incidents): without one it
  is seen by the agency-wide roles only (compliance officers, approving officials,
  administrators); with one, like any row of that incident.
- ``shared_when_agency_null`` — reference data (frameworks, controls, crosswalks): rows of no
  agency are read by everyone; the agency's own (licensed catalogs) by its members, except an
  auditor holding no grant.
- ``grant_path`` — the row is read agency-wide by those who handle the agency's incidents (the
  system inventory, which ISSOs name when they open incidents; the triage queue), but an
  auditor reaches it only through its grants: the path to the incident(s) it leads to.

An auditor only reads: whatever it reaches follows from the incidents it was granted. Views,
the API, the admin and commands all call ``scope()``.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Q, QuerySet
from django.utils import timezone

from .context import AGENCY_WIDE_ROLES, AgencyContext
from .models import Membership, Role


def _model(label: str):
    """A model named like a string foreign key (``"incidents.Incident"``): scoping's rules are
    about incidents and systems, but ``accounts`` sits below those apps and imports neither
    (ADR 0012); Django's app registry hands their models over once loaded."""
    return apps.get_model(label)


def _grants_in_force():
    """The auditor grants whose window holds now (from ``valid_from``, until ``valid_until``):
    before and after it, the incident is not granted at all."""
    now = timezone.now()
    return _model("incidents.AuditorGrant").objects.filter(valid_from__lte=now, valid_until__gt=now)


def _granted_incidents(ctx: AgencyContext):
    """A subquery: the ids of the incidents of ``ctx``'s agency granted to its user, now."""
    return (
        _grants_in_force().filter(user=ctx.user, incident__agency=ctx.agency).values("incident_id")
    )


def _granted_systems(ctx: AgencyContext):
    """A subquery: the ids of the systems affected by the incidents granted to ``ctx``."""
    return (
        _model("incidents.Incident")
        .systems.through.objects.filter(incident_id__in=_granted_incidents(ctx))
        .values("informationsystem_id")
    )


def _path(prefix: str, name: str) -> str:
    return f"{prefix}__{name}" if prefix else name


def visible_incident_filter(ctx: AgencyContext, prefix: str = "") -> Q:
    """A filter, relative to ``prefix`` (a path to an Incident), of the incidents ``ctx`` sees."""
    q = Q(**{_path(prefix, "agency"): ctx.agency})
    if ctx.sees_whole_agency:
        return q
    allowed = Q(pk__in=[])
    if ctx.has_role(Role.ISSO):
        by_system = (
            _model("incidents.Incident")
            .systems.through.objects.filter(informationsystem_id__in=ctx.isso_system_ids)
            .values("incident_id")
        )
        allowed |= Q(**{_path(prefix, "pk__in"): by_system}) | Q(
            **{_path(prefix, "created_by"): ctx.user}
        )
    if ctx.has_role(Role.AUDITOR):
        allowed |= Q(**{_path(prefix, "pk__in"): _granted_incidents(ctx)})
    return q & allowed


def _system_parts(ctx: AgencyContext, prefix: str) -> tuple[Q, Q]:
    """(what the context's own systems give, what its grants give), relative to ``prefix``
    (a path to an InformationSystem); each matches nothing when the role is not held."""
    pk_in = _path(prefix, "pk__in")
    own = Q(**{pk_in: sorted(ctx.isso_system_ids if ctx.has_role(Role.ISSO) else ())})
    if ctx.incident_system_ids:
        own |= Q(**{pk_in: sorted(ctx.incident_system_ids)})
    granted = Q(**{pk_in: _granted_systems(ctx) if ctx.has_role(Role.AUDITOR) else []})
    return own, granted


def visible_system_filter(ctx: AgencyContext, prefix: str = "") -> Q:
    """A filter, relative to ``prefix`` (a path to an InformationSystem), of the systems whose
    inventory entry and compliance records ``ctx`` reads: every system of the agency for
    compliance officers, approving officials and administrators; otherwise an ISSO's assigned
    systems, and an auditor's systems affected by the incidents granted to it (plus, while a
    compliance snapshot is built, the incident's affected systems: ``incident_system_ids``)."""
    q = Q(**{_path(prefix, "agency"): ctx.agency})
    if ctx.sees_whole_agency:
        return q
    own, granted = _system_parts(ctx, prefix)
    return q & (own | granted)


def _compliance_record_filter(ctx: AgencyContext, model) -> Q:
    system_path = model.system_path
    q = Q(**{_path(system_path, "agency"): ctx.agency})
    if ctx.sees_whole_agency:
        return q
    own, granted = _system_parts(ctx, system_path)
    from_incident = getattr(model, "from_incident_path", None)
    if from_incident and ctx.has_role(Role.AUDITOR):
        # Made from an incident the auditor was not granted: that incident's, not the
        # system's, so out of its sight.
        granted &= Q(**{f"{from_incident}__isnull": True}) | Q(
            **{f"{from_incident}__in": _granted_incidents(ctx)}
        )
    return q & (own | granted)


def _through_grants_only(ctx: AgencyContext) -> bool:
    """True for a context that reaches the agency only through auditor grants (no role that
    handles the agency's incidents)."""
    return not ctx.sees_whole_agency and not ctx.has_role(Role.ISSO)


def scope(queryset: QuerySet, ctx: AgencyContext) -> QuerySet:
    """``queryset`` limited to the rows ``ctx`` may see (see the module docstring)."""
    model = queryset.model
    agency_path = getattr(model, "agency_path", None)
    if agency_path is None:
        raise TypeError(f"{model.__name__} declares no agency_path and cannot be scoped.")
    incident_path = getattr(model, "incident_path", None)
    if incident_path is not None:
        q = visible_incident_filter(ctx, incident_path)
        if getattr(model, "agency_wide_when_incident_null", False):
            q = Q(**{f"{incident_path}__isnull": False}) & q
            if ctx.sees_whole_agency:
                q |= Q(**{f"{incident_path}__isnull": True, agency_path: ctx.agency})
        return queryset.filter(q)
    if getattr(model, "system_path", None) is not None:
        return queryset.filter(_compliance_record_filter(ctx, model))
    q = Q(**{agency_path: ctx.agency})
    if getattr(model, "shared_when_agency_null", False):
        shared = Q(**{f"{agency_path}__isnull": True})
        # The agency's licensed catalogs: an auditor reads them once a grant gives it systems
        # assessed against them; reference catalogs (no agency) are read by everyone.
        if _through_grants_only(ctx) and not _granted_incidents(ctx).exists():
            return queryset.filter(shared)
        q |= shared
    grant_path = getattr(model, "grant_path", None)
    if grant_path is not None and _through_grants_only(ctx):
        if ctx.has_role(Role.AUDITOR):
            # A subquery of pks, so a path through a many-valued relation (a system affected
            # by two granted incidents) yields each row once.
            reached = model._base_manager.filter(
                **{f"{grant_path}__in": _granted_incidents(ctx)}
            ).values("pk")
            q &= Q(pk__in=reached)
        else:
            q &= Q(pk__in=[])
    return queryset.filter(q)


def members_who_see(incident) -> QuerySet:
    """The memberships, in the incident's agency, of everyone who sees ``incident`` by the
    rules above: the agency-wide roles, ISSOs of one of its systems or who opened it, and
    auditors granted it. The one place custody transfers and reminders ask "who sees it"."""
    granted = _grants_in_force().filter(incident_id=incident.pk).values("user_id")
    systems = incident.systems.through.objects.filter(incident_id=incident.pk).values(
        "informationsystem_id"
    )
    return Membership.objects.filter(agency_id=incident.agency_id).filter(
        Q(role__in=AGENCY_WIDE_ROLES)
        | (Q(role=Role.ISSO) & (Q(systems__in=systems) | Q(user_id=incident.created_by_id)))
        | (Q(role=Role.AUDITOR) & Q(user_id__in=granted))
    )
