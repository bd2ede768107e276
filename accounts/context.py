"""Which agency a request acts within, and with which roles.

Every request acts within exactly one agency. It is chosen, in order, by the
``X-Docket-Agency`` header (API clients), the agency picked in the session (pages), or — for a
user with roles in one agency only — that agency. ``accounts.scoping`` turns the context into
the one filter every query goes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import Agency, Membership, Role

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

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def sees_whole_agency(self) -> bool:
        return bool(self.roles & AGENCY_WIDE_ROLES)


def context_for(user, agency: Agency) -> AgencyContext:
    """The context of ``user`` acting within ``agency``; raises if they hold no role there."""
    if not getattr(user, "is_authenticated", False):
        raise AgencyContextError("Sign in first.")
    memberships = list(
        Membership.objects.filter(user=user, agency=agency).prefetch_related("systems")
    )
    if not memberships:
        raise AgencyContextError(f"You hold no role in agency {agency.abbreviation}.")
    return AgencyContext(
        user=user,
        agency=agency,
        roles=frozenset(m.role for m in memberships),
        isso_system_ids=frozenset(
            s.pk for m in memberships if m.role == Role.ISSO for s in m.systems.all()
        ),
    )


def resolve(user, *, abbreviation: str | None = None, agency_id: int | None = None):
    """Pick the agency a request acts within (see the module docstring)."""
    if not getattr(user, "is_authenticated", False):
        raise AgencyContextError("Sign in first.")
    if abbreviation:
        agency = Agency.objects.filter(abbreviation=abbreviation.strip().upper()).first()
        if agency is None:
            raise AgencyContextError(f"You hold no role in agency {abbreviation!r}.")
        return context_for(user, agency)
    if agency_id:
        agency = Agency.objects.filter(pk=agency_id).first()
        if agency is not None:
            try:
                return context_for(user, agency)
            except AgencyContextError:
                pass  # membership revoked since the session chose it: fall through
    agency_ids = set(Membership.objects.filter(user=user).values_list("agency_id", flat=True))
    if len(agency_ids) == 1:
        return context_for(user, Agency.objects.get(pk=agency_ids.pop()))
    if not agency_ids:
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
