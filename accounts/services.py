"""Writes for agencies and memberships."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .errors import InvalidInput
from .models import Agency, Membership


@transaction.atomic
def agency_create(
    *,
    name: str,
    abbreviation: str,
    time_zone: str,
    marking: str = "CUI",
    ruleset=None,
    now: datetime | None = None,
) -> Agency:
    """Create an agency that adopts ``ruleset`` (default: the settings' default rule set)."""
    from reporting.models import RuleSet, RuleSetAdoption

    now = now or timezone.now()
    agency = Agency(name=name, abbreviation=abbreviation, time_zone=time_zone, marking=marking)
    agency.full_clean()
    agency.save()
    if ruleset is None:
        rs_name, rs_version = settings.DOCKET_DEFAULT_RULESET
        ruleset = RuleSet.objects.filter(name=rs_name, version=rs_version).first()
        if ruleset is None:
            raise InvalidInput(f"The default rule set {rs_name} v{rs_version} is not loaded.")
    RuleSetAdoption.objects.create(agency=agency, ruleset=ruleset, adopted_at=now)
    return agency


def membership_grant(*, user, agency: Agency, role: str, systems=()) -> Membership:
    """Give ``user`` ``role`` in ``agency`` (idempotent); ISSOs get their systems."""
    bad = [s for s in systems if s.agency_id != agency.pk]
    if bad:
        raise InvalidInput(f"Systems of another agency cannot be assigned: {bad}")
    membership, _ = Membership.objects.get_or_create(user=user, agency=agency, role=role)
    if systems:
        membership.systems.add(*systems)
    return membership
