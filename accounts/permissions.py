from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from core.errors import NotPermitted

from .context import AgencyContextError, get_context
from .models import Role


class InAgency(BasePermission):
    """The caller is signed in and acts within one agency they hold a role in. The context is
    left on ``request.agency_context`` for the view's queryset (always ``scope``d)."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()
        try:
            request.agency_context = get_context(request)
        except AgencyContextError as exc:
            raise PermissionDenied(str(exc)) from exc
        return True


def require_roles(ctx, roles, act: str) -> None:
    """Refuse ``act`` (``NotPermitted``, naming who may) unless ``ctx`` holds one of
    ``roles``."""
    if not ctx.has_role(*roles):
        names = ", ".join(Role(r).label for r in roles)
        raise NotPermitted(f"Only a {names} may {act}.")
