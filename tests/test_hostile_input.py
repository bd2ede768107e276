"""Hostile input never gets a 500 (issue 12, defect 3): JSON nested thousands of levels deep,
NUL characters in URLs, a POA&M export with nothing in it, and whatever else escapes a view
under /api/ (answered as JSON, never an HTML page: falcosidekick counts HTML as a drop)."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.parsers import JSONParser as DrfJSONParser
from rest_framework.test import APIClient

from accounts.models import IngestToken, Role
from accounts.parsers import JSONParser
from accounts.services import membership_grant
from compliance import services as compliance_services
from core import safejson
from core.errors import InvalidInput
from incidents.models import Detection

from .support.alerts import rule_alert
from .support.factories import UserFactory
from .support.urls import ROUTES
from .support.urls import concrete as _concrete

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000
NESTING = "nested more than 100 levels deep"
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def token(agency_a):
    return IngestToken.issue(agency=agency_a, name="falco-prod")[1]


@pytest.fixture
def webhook():
    return APIClient(raise_request_exception=False)


# --- JSON nested too deeply -------------------------------------------------------------------


def test_the_depth_scan_ignores_brackets_inside_strings_and_escapes():
    assert safejson.depth('{"a": [1, {"b": "[[[{{{"}]}') == 3
    assert safejson.depth(r'["a\"[[", "\\", [[]]]') == 3
    assert safejson.loads("[" * 100 + "]" * 100) is not None
    with pytest.raises(safejson.TooDeep, match=NESTING):
        safejson.loads("[" * 101 + "]" * 101)
    with pytest.raises(safejson.TooDeep):
        safejson.loads(DEEP_OBJECT.encode("utf-16"))


@pytest.mark.parametrize("url", ["/api/v1/ingest/falco", "/api/v1/ingest/sysdig"])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_deep_json_to_a_webhook_is_a_400_naming_the_nesting(webhook, token, url, body):
    response = webhook.post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert NESTING in response.json()["detail"]
    assert not Detection.objects.exists()


def test_one_deep_line_of_json_lines_is_one_rejected_item(webhook, token):
    good = json.dumps(rule_alert("Terminal shell in container"))
    response = webhook.post(
        "/api/v1/ingest/falco",
        f"{good}\n{DEEP}\n",
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 1
    assert NESTING in json.dumps(body["rejected"])


def _deep_json_targets(incident, web_system):
    number = incident.number
    return [
        ("post", "/api/v1/incidents/"),
        ("patch", f"/api/v1/incidents/{number}/"),
        ("post", f"/api/v1/incidents/{number}/transitions/"),
        ("post", f"/api/v1/incidents/{number}/indicators/"),
        ("post", f"/api/v1/incidents/{number}/determinations/"),
        ("post", "/api/v1/assessments/"),
        ("post", "/api/v1/risk-assessments/"),
        ("post", "/api/v1/poam-items/"),
    ]


def test_deep_json_to_api_endpoints_is_a_400_naming_the_nesting(
    api, carol, alice, open_incident, web_system
):
    incident = open_incident(now=NOW)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(carol)
    for method, url in _deep_json_targets(incident, web_system):
        response = getattr(client, method)(url, DEEP, content_type="application/json")
        assert response.status_code == 400, (url, response.status_code, response.content[:200])
        assert NESTING in response.json()["detail"], url


def _drf_views(patterns):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _drf_views(p.url_patterns)
        elif isinstance(p, URLPattern):
            view = getattr(p.callback, "cls", None)
            if view is not None:
                yield str(p.pattern), view


def test_every_api_view_reads_json_through_the_depth_limit():
    views = list(_drf_views(get_resolver().url_patterns))
    assert len(views) > 20
    for route, view in views:
        for parser in view.parser_classes:
            assert not (issubclass(parser, DrfJSONParser) and not issubclass(parser, JSONParser)), (
                route,
                parser,
            )


def test_deep_json_files_are_refused_by_the_imports_naming_the_nesting(db):
    with pytest.raises(InvalidInput, match=NESTING):
        compliance_services.catalog_import(path_or_file=io.BytesIO(DEEP_OBJECT.encode()))
    deep_yaml = "controls: " + "[" * 3000 + "]" * 3000
    with pytest.raises(InvalidInput, match="nested too deeply"):
        compliance_services.framework_file_import(
            source=io.BytesIO(deep_yaml.encode()), filename="deep.yaml"
        )


def test_a_deep_json_evidence_file_is_refused_naming_the_nesting(
    api, alice, open_incident, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    incident = open_incident(now=NOW)
    upload = io.BytesIO(DEEP.encode())
    upload.name = "alerts.json"
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(alice)
    response = client.post(
        f"/api/v1/incidents/{incident.number}/evidence/",
        {"file": upload, "kind": "falco_alerts"},
        format="multipart",
    )
    assert response.status_code == 400, response.content[:300]
    assert NESTING in response.json()["detail"]
    assert not incident.evidence.exists()


# --- NUL in URLs -------------------------------------------------------------------------------


@pytest.fixture
def everyone(agency_a, web_system):
    """Staff and every role of agency A, so that each route reaches its view."""
    user = UserFactory(username="max", is_staff=True)
    for role in (Role.ISSO, Role.COMPLIANCE_OFFICER, Role.APPROVING_OFFICIAL, Role.AGENCY_ADMIN):
        membership_grant(
            user=user, agency=agency_a, role=role, systems=[web_system] if role == Role.ISSO else ()
        )
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


PARAMETRISED = [r for r in ROUTES if re.search(r"<|\(\?P<", r)]


def _query_names(route: str) -> list[str]:
    """Names a route's view reads from the query string: an admin changelist its filters and
    search, every other route the filters the API and the pages take."""
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        if route == prefix:
            names = [f[0] if isinstance(f, tuple) else f for f in model_admin.list_filter]
            return [*[n for n in names if isinstance(n, str)][:1], "q"]
    return ["q", "incident", "kind", "system", "status", "as_of"]


def _not_refused(response, url) -> bool:
    if response.status_code != 400:
        return True
    text = response.json()["detail"] if url.startswith("/api/") else response.content.decode()
    return "NUL" not in text


def test_nul_in_a_path_value_is_refused_on_every_route(everyone, open_incident):
    open_incident(now=NOW)
    urls = [re.sub(r"/1(?=/|$|\.)", "/1%00", _concrete(route), count=1) for route in PARAMETRISED]
    assert len(urls) > 100
    answers = {url: everyone.get(url) for url in urls}
    assert [(url, r.status_code) for url, r in answers.items() if _not_refused(r, url)] == []


def test_nul_in_a_query_value_is_refused_on_every_route(everyone, open_incident):
    open_incident(now=NOW)
    urls = [f"{_concrete(r)}?{name}=FTA%00" for r in ROUTES for name in _query_names(r)]
    answers = {url: everyone.get(url) for url in urls}
    assert [(url, r.status_code) for url, r in answers.items() if _not_refused(r, url)] == []


def test_a_value_that_only_looks_like_nul_is_not_refused(everyone):
    assert everyone.get("/incidents/?q=%2500").status_code == 200


# --- the POA&M of a system without items ------------------------------------------------------


def test_oscal_poam_of_a_system_without_items_is_a_404_with_the_reason(
    api, carol, client, web_system
):
    response = APIClient(raise_request_exception=False)
    response.force_authenticate(carol)
    answer = response.get(f"/api/v1/systems/{web_system.pk}/poam/oscal")
    assert answer.status_code == 404
    assert "has no POA&M items" in answer.json()["detail"]
    client.force_login(carol)
    page = client.get(f"/systems/{web_system.acronym}/poam/").content.decode()
    assert "/poam/oscal" not in page
    assert "OSCAL export is offered once the first one exists" in page


# --- whatever escapes a view under /api/ ------------------------------------------------------


def test_an_unexpected_api_error_is_json_and_logged(carol, monkeypatch, caplog):
    from incidents.api import views

    def broken(self, request, *args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(views.IncidentViewSet, "list", broken)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(carol)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/api/v1/incidents/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "Internal server error" in response.json()["detail"]
    assert "the database went away" not in response.content.decode()
    assert any(
        r.exc_info and "the database went away" in str(r.exc_info[1]) for r in caplog.records
    )


def test_an_unexpected_webhook_error_is_json(webhook, token, monkeypatch):
    from incidents.api import ingest

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "alerts_store", broken)
    response = webhook.post(
        "/api/v1/ingest/falco",
        json.dumps(rule_alert("Terminal shell in container")),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 500
    assert "detail" in response.json()


def test_an_unknown_api_address_is_a_json_404_and_pages_keep_theirs(client, carol):
    client.force_login(carol)
    api = client.get("/api/v1/no-such-thing/")
    assert api.status_code == 404 and api.json() == {"detail": "Not found."}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
