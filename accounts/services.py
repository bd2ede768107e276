"""Writes for agencies and memberships."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.trail import record
from core.errors import InvalidInput
from core.events import AgencyCreated, publish

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
    """Create an agency that adopts ``ruleset`` (default: the settings' default rule set).

    Publishes ``AgencyCreated`` (in the transaction: reporting records the adoption, and
    refuses when the default rule set is not loaded)."""
    now = now or timezone.now()
    agency = Agency(name=name, abbreviation=abbreviation, time_zone=time_zone, marking=marking)
    agency.full_clean()
    agency.save()
    publish(AgencyCreated(ctx=None, at=now, agency=agency, ruleset=ruleset))
    return agency


def membership_grant(*, user, agency: Agency, role: str, systems=()) -> Membership:
    """Give ``user`` ``role`` in ``agency`` (idempotent); ISSOs get their systems."""
    bad = [s for s in systems if s.agency_id != agency.pk]
    if bad:
        raise InvalidInput(f"Systems of another agency cannot be assigned: {bad}")
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(user=user, agency=agency, role=role)
        before = set(membership.systems.values_list("pk", flat=True)) if not created else set()
        if systems:
            membership.systems.add(*systems)
        after = before | {s.pk for s in systems}
        if created or after != before:
            changes = {"systems": {"before": sorted(before), "after": sorted(after)}}
            if created:
                changes["role"] = {"before": None, "after": role}
            record(
                "membership_change",
                agency=agency,
                subject=membership,
                subject_ref=f"{user.get_username()} {role} in {agency.abbreviation}",
                changes=changes,
            )
    return membership
