"""Which agency a request acts within, and with which roles.

Every request acts within exactly one agency. It is chosen, in order, by the
``X-Docket-Agency`` header (API clients), the agency picked in the session (pages), or — for a
user with roles in one agency only — that agency. ``accounts.scoping`` turns the context into
the one filter every query goes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .models import Agency, Membership, Role
from .permissions import may as _may

HEADER = "HTTP_X_DOCKET_AGENCY"
SESSION_KEY = "docket_agency_id"

# Roles that see every incident of the agency. ISSOs see their systems' incidents (and those
# they opened), auditors the incidents they were granted.
AGENCY_WIDE_ROLES = frozenset({Role.COMPLIANCE_OFFICER, Role.APPROVING_OFFICIAL, Role.AGENCY_ADMIN})


class AgencyContextError(Exception):
    """The request names no agency, or one the user holds no role in."""


@dataclass(frozen=True)
class AgencyContext:
    user: object
    agency: Agency
    roles: frozenset[str]
    isso_system_ids: frozenset[int] = field(default_factory=frozenset)
    # Systems whose compliance records this context reads beyond what its roles give: set only
    # by ``recording_incident`` while an incident's compliance snapshot is built.
    incident_system_ids: frozenset[int] = field(default_factory=frozenset)

    def recording_incident(self, incident) -> AgencyContext:
        """This context, reading the compliance records of every system ``incident`` affects.

        A compliance snapshot is part of the incident's record: it holds the state of all its
        affected systems, whoever takes it (an ISSO of one of them, say). Only for reading;
        what the context may write is unchanged (``isso_system_ids`` is not widened)."""
        ids = frozenset(incident.systems.values_list("pk", flat=True))
        return replace(self, incident_system_ids=self.incident_system_ids | ids)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def may(self, act: str, *, system=None) -> bool:
        """Whether this context may do ``act`` (``accounts.permissions.ACTS``), on ``system``
        for an act that holds for some roles only on their assigned systems."""
        return _may(self, act, system=system)

    @property
    def sees_whole_agency(self) -> bool:
        return bool(self.roles & AGENCY_WIDE_ROLES)


def _build(user, agency: Agency, memberships) -> AgencyContext:
    mine = [m for m in memberships if m.agency_id == agency.pk]
    if not mine:
        raise AgencyContextError(f"You hold no role in agency {agency.abbreviation}.")
    return AgencyContext(
        user=user,
        agency=agency,
        roles=frozenset(m.role for m in mine),
        isso_system_ids=frozenset(
            s.pk for m in mine if m.role == Role.ISSO for s in m.systems.all()
        ),
    )


def _memberships(user) -> list[Membership]:
    if not getattr(user, "is_authenticated", False):
        raise AgencyContextError("Sign in first.")
    return list(
        Membership.objects.filter(user=user).select_related("agency").prefetch_related("systems")
    )


def context_for(user, agency: Agency) -> AgencyContext:
    """The context of ``user`` acting within ``agency``; raises if they hold no role there."""
    return _build(user, agency, _memberships(user))


def resolve(user, *, abbreviation: str | None = None, agency_id: int | None = None):
    """Pick the agency a request acts within (see the module docstring). Two queries."""
    memberships = _memberships(user)
    agencies = {m.agency_id: m.agency for m in memberships}
    if abbreviation:
        wanted = abbreviation.strip().upper()
        agency = next((a for a in agencies.values() if a.abbreviation == wanted), None)
        if agency is None:
            raise AgencyContextError(f"You hold no role in agency {abbreviation!r}.")
        return _build(user, agency, memberships)
    if agency_id in agencies:
        return _build(user, agencies[agency_id], memberships)
    if len(agencies) == 1:
        return _build(user, next(iter(agencies.values())), memberships)
    if not agencies:
        raise AgencyContextError("Your account holds no role in any agency.")
    raise AgencyContextError(
        "Your account holds roles in several agencies: choose one "
        "(header X-Docket-Agency: <ABBR>, or the agency switcher)."
    )


def get_context(request) -> AgencyContext:
    """The agency context of a Django or DRF request, resolved once and cached on it."""
    django_request = getattr(request, "_request", request)
    user = request.user
    cached = getattr(django_request, "_docket_context", None)
    if cached is not None and cached.user == user:
        return cached
    session = getattr(django_request, "session", None)
    ctx = resolve(
        user,
        abbreviation=django_request.META.get(HEADER),
        agency_id=session.get(SESSION_KEY) if session is not None else None,
    )
    django_request._docket_context = ctx
    return ctx
