from django.conf import settings

from .context import AgencyContextError, get_context
from .models import Agency
from .permissions import ACTS


class UnknownAct(LookupError):
    """A template asked about an act that is not in ``accounts.permissions.ACTS``. Not a
    ``KeyError``: Django's template engine would swallow that and hide the button silently."""


class May:
    """``{% if may.evidence_upload %}``: whether the request's context may do an act (the
    role from the map; object rules are the view's). No agency context: nothing."""

    def __init__(self, ctx=None):
        self._ctx = ctx

    def __getitem__(self, act: str) -> bool:
        if act not in ACTS:
            raise UnknownAct(f"No act {act!r} in accounts.permissions.ACTS.")
        return self._ctx is not None and self._ctx.may(act)

    def __contains__(self, act: str) -> bool:
        return act in ACTS


def agency(request):
    """The active agency for templates (marking banner, zone, switcher choices) and ``may``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"mfa_required": settings.DOCKET_REQUIRE_MFA, "may": May()}
    choices = list(Agency.objects.filter(members__user=user).distinct().order_by("abbreviation"))
    try:
        ctx = get_context(request)
    except AgencyContextError:
        return {"agency_context": None, "agency_choices": choices, "may": May()}
    return {
        "agency_context": ctx,
        "active_agency": ctx.agency,
        "agency_choices": choices,
        "may": May(ctx),
    }
