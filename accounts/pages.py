"""The plumbing every page shares: signed in, acting within one agency.

``agency_view`` makes the decorator of each group of pages (incidents, systems, evidence…):
the view is called as ``view(request, ctx, ...)`` with the request's ``AgencyContext``; a
request with no agency context gets the page asking to choose one; a service's ``NotFound``
becomes a 404 and ``NotPermitted`` the group's "not allowed" page.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from core.errors import NotFound, NotPermitted

from .context import AgencyContextError, get_context


def forbidden_page(request, message: str, *, template: str, nav: str, list_url: str):
    """The 403 page of a group of pages, with the service's message."""
    return render(
        request, template, {"nav": nav, "message": message, "list_url": list_url}, status=403
    )


def agency_view(*, nav: str, forbidden):
    """A decorator for pages: signed in, with an agency context (otherwise the page asking to
    choose an agency), called as ``view(request, ctx, ...)``; a service's ``NotFound`` becomes
    a 404 and ``NotPermitted`` the ``forbidden(request, message)`` page. ``nav`` marks the
    primary navigation item."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                ctx = get_context(request)
            except AgencyContextError as exc:
                return render(
                    request,
                    "incidents/choose_agency.html",
                    {"nav": nav, "reason": str(exc)},
                    status=403,
                )
            try:
                return view(request, ctx, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except NotPermitted as exc:
                return forbidden(request, exc.message)

        return wrapper

    return decorate
