"""The DRF permission every API view starts from (``DEFAULT_PERMISSION_CLASSES``).

Kept apart from ``accounts.api`` (which imports ``rest_framework.views``: DRF imports its
permission classes while loading that module) and from ``accounts.permissions`` (the act map,
which ``accounts.context`` imports)."""

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from .context import AgencyContextError, get_context


class InAgency(BasePermission):
    """The caller is signed in and acts within one agency they hold a role in. The context is
    left on ``request.agency_context`` for the view's queryset (always ``scope``d); which acts
    it allows is ``accounts.permissions``' map, asked by the services."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()
        try:
            request.agency_context = get_context(request)
        except AgencyContextError as exc:
            raise PermissionDenied(str(exc)) from exc
        return True
