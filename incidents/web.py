"""The plumbing of the incident pages (list, detail, triage, timeline): the decorator, the
"not allowed" page and URLs. The visible incident by number is ``selectors.visible_incident``."""

from __future__ import annotations

from django.urls import reverse

from accounts.pages import agency_view, forbidden_page


def page_url(name, *args) -> str:
    """A URL of these pages (the API's routes are named api-*, so the names do not clash)."""
    return reverse(name, args=args)


def forbidden(request, message):
    return forbidden_page(
        request,
        message,
        template="incidents/forbidden.html",
        nav="incidents",
        list_url=page_url("incident-list"),
    )


def with_context(view):
    """``accounts.pages.agency_view`` for the incident pages."""
    return agency_view(nav="incidents", forbidden=forbidden)(view)
