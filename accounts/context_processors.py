from .context import AgencyContextError, get_context
from .models import Agency


def agency(request):
    """The active agency for templates (marking banner, zone, switcher choices)."""
    from django.conf import settings

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"mfa_required": settings.DOCKET_REQUIRE_MFA}
    choices = list(Agency.objects.filter(members__user=user).distinct().order_by("abbreviation"))
    try:
        ctx = get_context(request)
    except AgencyContextError:
        return {"agency_context": None, "agency_choices": choices}
    return {"agency_context": ctx, "active_agency": ctx.agency, "agency_choices": choices}
