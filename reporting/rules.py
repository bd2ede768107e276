"""Which rule set an agency follows: adoption, and the rule set in force at an instant. The
rules layer of reporting (beside ``clock`` and ``criteria``): incidents read it when an
incident is opened; it subscribes to ``AgencyCreated`` so a new agency adopts the default."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from accounts.models import Agency
from core.errors import InvalidInput
from core.events import AgencyCreated, Phase, subscribe

from .models import RuleSet, RuleSetAdoption


def ruleset_in_force(agency: Agency, at: datetime) -> RuleSet:
    """The rule set the agency had adopted most recently at ``at``."""
    adoption = (
        RuleSetAdoption.objects.filter(agency=agency, adopted_at__lte=at)
        .select_related("ruleset")
        .order_by("-adopted_at", "-pk")
        .first()
    )
    if adoption is None:
        raise InvalidInput(f"Agency {agency.abbreviation} has adopted no reporting rule set.")
    return adoption.ruleset


@subscribe(AgencyCreated, phase=Phase.IN_TRANSACTION)
def adopt_on_agency_created(event: AgencyCreated) -> None:
    """A new agency adopts the rule set it was created with, else the settings' default
    (refused, and the agency not created, when that is not loaded)."""
    ruleset = event.ruleset
    if ruleset is None:
        rs_name, rs_version = settings.DOCKET_DEFAULT_RULESET
        ruleset = RuleSet.objects.filter(name=rs_name, version=rs_version).first()
        if ruleset is None:
            raise InvalidInput(f"The default rule set {rs_name} v{rs_version} is not loaded.")
    RuleSetAdoption.objects.create(agency=event.agency, ruleset=ruleset, adopted_at=event.at)
