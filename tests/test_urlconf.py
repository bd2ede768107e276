"""Walks the whole URLconf (manage.get.gov style): every view needs a signed-in user, except
the few named here on purpose. A new view that forgets its login check fails this test."""

import pytest

from .support.urls import ROUTES
from .support.urls import concrete as _concrete

# Reachable without signing in, and why.
PUBLIC = {
    "accounts/login/": "the sign-in page itself",
    "accounts/logout/": "signing out needs no session",
    "admin/login/": "the admin's sign-in page",
    "admin/logout/": "signing out needs no session",
    "favicon.ico": "the browser's icon, a redirect to a static file",
}


def test_the_walk_finds_the_api_and_the_admin():
    assert any(r.startswith("api/v1/") for r in ROUTES)
    assert any(r.startswith("admin/") for r in ROUTES)


@pytest.mark.parametrize("route", ROUTES)
def test_no_view_is_reachable_without_sign_in(client, db, route):
    url = _concrete(route)
    if any(url.startswith("/" + public) for public in PUBLIC):
        return
    response = client.get(url)
    assert response.status_code in (301, 302, 401, 403, 404, 405), (
        route,
        url,
        response.status_code,
    )
    if response.status_code in (301, 302):
        assert "login" in response["Location"], (route, response["Location"])
    if response.status_code == 404:
        # Only acceptable when the URL could not be built concretely (e.g. a format suffix);
        # it must not be a page that exists for anonymous users.
        assert b"<form" not in response.content


@pytest.fixture
def stranger(db):
    """Signed in, but holding no role in any agency."""
    from .support.factories import UserFactory

    return UserFactory(username="stranger")


def test_no_view_shows_agency_data_without_an_agency_scope(client, stranger, open_incident):
    from datetime import UTC, datetime

    incident = open_incident(now=datetime(2026, 4, 1, 12, 0, tzinfo=UTC), title="Zanzibar leak")
    client.force_login(stranger)
    for route in ROUTES:
        url = _concrete(route).replace("/1/", f"/{incident.number}/")
        response = client.get(url)
        body = response.content
        assert b"Zanzibar leak" not in body, (route, response.status_code)
        assert incident.number.encode() not in body, (route, response.status_code)
