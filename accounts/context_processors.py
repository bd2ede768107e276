from .context import AgencyContextError, get_context


def agency(request):
    """The active agency for templates: banner marking, zone, switcher."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    try:
        ctx = get_context(request)
    except AgencyContextError:
        return {"agency_context": None}
    return {"agency_context": ctx, "active_agency": ctx.agency}
