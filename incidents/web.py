"""The plumbing of the incident pages (list, detail, triage, timeline): the decorator, the
"not allowed" page, URLs, and the visible incident by number."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse

from accounts.pages import agency_view, forbidden_page
from accounts.scoping import scope

from .models import Incident


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


def incident_or_404(ctx, number, queryset=None) -> Incident:
    """The incident numbered ``number`` that ``ctx`` may see (``queryset`` to prefetch), else
    a 404: one outside the caller's scope looks exactly like one that does not exist."""
    qs = scope(queryset if queryset is not None else Incident.objects.all(), ctx)
    incident = qs.filter(number=number).first()
    if incident is None:
        raise Http404("No such incident.")
    return incident
