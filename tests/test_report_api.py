"""The report endpoints: drafting, editing, the transitions (409 when not allowed), renders,
versions with hashes, the PDF whose SHA-256 is the version's, the preview, the annual
summaries, and isolation (404 for other agencies and ungranted auditors)."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from incidents.models import AuditorGrant

from .support.factories import person


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def cisa(open_incident):
    now = timezone.now()
    incident = open_incident(now=now - timedelta(hours=2), identified_at=now - timedelta(hours=2))
    return incident.obligations.get(rule__key="cisa-initial")


def draft(client, cisa) -> dict:
    """A drafted report with every narrative section written."""
    response = client.post("/api/v1/reports/", {"obligation": cisa.pk}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    narrative = {k: v or f"What we know for {k}." for k, v in body["narrative"].items()}
    response = client.patch(
        f"/api/v1/reports/{body['id']}/", {"narrative": narrative}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()


def render(client, pk, capture) -> dict:
    """Ask for a rendering; the eager test broker runs the task when the request commits."""
    with capture(execute=True):
        response = client.post(f"/api/v1/reports/{pk}/render/")
    assert response.status_code == 202, response.json()
    return client.get(f"/api/v1/render-jobs/{response.json()['id']}/").json()


def narrative_key(body) -> str:
    return sorted(body["narrative"])[0]


def test_the_whole_workflow_through_the_api(api, alice, olivia, agency_a, cisa):
    as_alice, as_olivia = api(alice), api(olivia)
    body = draft(as_alice, cisa)
    assert body["state"] == "draft" and body["incident"] == cisa.incident.number
    assert body["kind"] == "cisa-notification" and body["editors"] == ["alice"]
    pk, key = body["id"], narrative_key(body)

    edited = as_alice.patch(
        f"/api/v1/reports/{pk}/",
        {"narrative": {key: "Contained at 10:40 EST."}, "recipients": ["CISA", "US-CERT"]},
        format="json",
    )
    assert edited.status_code == 200, edited.json()
    assert edited.json()["narrative"][key] == "Contained at 10:40 EST."
    assert edited.json()["recipients"] == ["CISA", "US-CERT"]

    refused = as_alice.post(f"/api/v1/reports/{pk}/submissions/", {"channel": "cisa_portal"})
    assert refused.status_code == 409
    assert "Only an approved report can be submitted" in refused.json()["detail"]

    assert as_alice.post(f"/api/v1/reports/{pk}/submit-for-review/").status_code == 200
    returned = as_olivia.post(f"/api/v1/reports/{pk}/return/", {"reason": ""}, format="json")
    assert returned.status_code == 400
    assert as_olivia.post(f"/api/v1/reports/{pk}/approve/").json()["state"] == "approved"

    sent = as_alice.post(
        f"/api/v1/reports/{pk}/submissions/",
        {"channel": "cisa_portal", "reference": "CISA-2026-0001"},
        format="json",
    )
    assert sent.status_code == 201, sent.json()
    version_id = sent.json()["report_version"]
    assert version_id

    versions = as_alice.get(f"/api/v1/reports/{pk}/versions/").json()
    version = next(v for v in versions if v["id"] == version_id)
    assert version["draft"] is False and version["report_state"] == "approved"

    pdf = as_alice.get(f"/api/v1/report-versions/{version_id}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    content = b"".join(pdf.streaming_content)
    assert hashlib.sha256(content).hexdigest() == version["pdf_sha256"]
    assert pdf["Digest"] == "sha-256=" + base64.b64encode(hashlib.sha256(content).digest()).decode()
    assert len(content) == version["pdf_size"]

    cisa_answer = as_alice.post(
        f"/api/v1/reports/{pk}/cisa-response/",
        {"tracking_number": "CISA-2026-0417", "severity": "high"},
        format="json",
    )
    assert cisa_answer.status_code == 201

    # Editing the submitted report starts revision 2.
    revised = as_alice.patch(
        f"/api/v1/reports/{pk}/", {"narrative": {key: "Correction."}}, format="json"
    )
    assert revised.status_code == 200
    assert revised.json()["revision"] == 2 and revised.json()["revises"] == pk
    assert as_alice.get(f"/api/v1/reports/{pk}/").json()["state"] == "superseded"
    current = as_alice.get(f"/api/v1/reports/?incident={cisa.incident.number}&current=1").json()
    rows = current["results"] if isinstance(current, dict) else current
    assert [r["id"] for r in rows] == [revised.json()["id"]]


def test_approval_by_an_editor_is_refused_with_the_reason(api, olivia, cisa):
    client = api(olivia)
    pk = draft(client, cisa)["id"]
    client.post(f"/api/v1/reports/{pk}/submit-for-review/")
    refused = client.post(f"/api/v1/reports/{pk}/approve/")
    assert refused.status_code == 403
    assert "separation of duties" in refused.json()["detail"]


def test_a_transition_not_allowed_from_here_is_409(api, alice, olivia, cisa):
    pk = draft(api(alice), cisa)["id"]
    response = api(olivia).post(f"/api/v1/reports/{pk}/approve/")
    assert response.status_code == 409
    assert response.json()["state"] == "draft"


def test_render_preview_and_jobs(api, alice, cisa, django_capture_on_commit_callbacks):
    client = api(alice)
    pk = draft(client, cisa)["id"]
    done = render(client, pk, django_capture_on_commit_callbacks)
    assert done["state"] == "done" and done["version"]
    report = client.get(f"/api/v1/reports/{pk}/").json()
    assert report["latest_version"]["id"] == done["version"] and report["rendering"] is False
    assert report["latest_version"]["draft"] is True
    preview = client.get(f"/api/v1/reports/{pk}/preview/")
    assert preview.status_code == 200 and preview["Content-Type"].startswith("text/html")
    assert cisa.incident.number in preview.content.decode()


def test_compare_two_versions(api, alice, cisa, django_capture_on_commit_callbacks):
    client = api(alice)
    body = draft(client, cisa)
    pk, key = body["id"], narrative_key(body)
    client.patch(f"/api/v1/reports/{pk}/", {"narrative": {key: "First."}}, format="json")
    a = render(client, pk, django_capture_on_commit_callbacks)["version"]
    client.patch(f"/api/v1/reports/{pk}/", {"narrative": {key: "Second."}}, format="json")
    b = render(client, pk, django_capture_on_commit_callbacks)["version"]
    diff = client.get(f"/api/v1/report-versions/{b}/compare/?a={a}")
    assert diff.status_code == 200
    section = next(s for s in diff.json() if s["section"] == key)
    assert "-First." in section["diff"] and "+Second." in section["diff"]


def test_unknown_fields_and_bad_kinds_are_refused(api, alice, cisa):
    client = api(alice)
    assert client.post("/api/v1/reports/", {"obligation": cisa.pk, "x": 1}).status_code == 400
    response = client.post("/api/v1/reports/", {"kind": "post-incident-report"})
    assert response.status_code == 400 and "needs an incident" in response.json()["detail"]


def test_annual_summaries(api, carol, alice, agency_a):
    created = api(carol).post("/api/v1/annual-summaries/", {"fiscal_year": 2027})
    assert created.status_code == 201, created.json()
    listed = api(carol).get("/api/v1/annual-summaries/?fiscal_year=2027").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["id"] for r in rows] == [created.json()["id"]]
    assert rows[0]["fiscal_year"] == 2027 and rows[0]["incident"] is None
    # An ISSO sees only her systems' incidents, so not the agency-wide summary.
    assert api(alice).get(f"/api/v1/reports/{created.json()['id']}/").status_code == 404
    assert api(alice).post("/api/v1/annual-summaries/", {"fiscal_year": 2026}).status_code == 403


def test_other_agencies_and_ungranted_auditors_get_404(
    api, alice, audrey, bob, agency_a, cisa, django_capture_on_commit_callbacks
):
    client = api(alice)
    pk = draft(client, cisa)["id"]
    version = render(client, pk, django_capture_on_commit_callbacks)["version"]
    for outsider in (api(bob), api(audrey)):
        for url in (
            f"/api/v1/reports/{pk}/",
            f"/api/v1/reports/{pk}/versions/",
            f"/api/v1/reports/{pk}/preview/",
            f"/api/v1/report-versions/{version}/",
            f"/api/v1/report-versions/{version}/pdf/",
        ):
            assert outsider.get(url).status_code == 404, url
        assert outsider.post(f"/api/v1/reports/{pk}/approve/").status_code in (403, 404)
        listed = outsider.get("/api/v1/reports/").json()
        assert (listed["results"] if isinstance(listed, dict) else listed) == []
    AuditorGrant.objects.create(incident=cisa.incident, user=audrey)
    assert api(audrey).get(f"/api/v1/report-versions/{version}/pdf/").status_code == 200
    assert (
        api(audrey).patch(f"/api/v1/reports/{pk}/", {"narrative": {}}, format="json").status_code
        == 403
    )


def test_a_second_approving_official_approves(api, agency_a, olivia, cisa):
    other = person("oscar", agency_a, Role.APPROVING_OFFICIAL)
    pk = draft(api(olivia), cisa)["id"]
    api(olivia).post(f"/api/v1/reports/{pk}/submit-for-review/")
    assert api(other).post(f"/api/v1/reports/{pk}/approve/").json()["approved_by"] == "oscar"


def test_the_schema_documents_the_report_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path, method in [
        ("/api/v1/reports/", "get"),
        ("/api/v1/reports/", "post"),
        ("/api/v1/reports/{id}/", "patch"),
        ("/api/v1/reports/{id}/submit-for-review/", "post"),
        ("/api/v1/reports/{id}/return/", "post"),
        ("/api/v1/reports/{id}/approve/", "post"),
        ("/api/v1/reports/{id}/submissions/", "post"),
        ("/api/v1/reports/{id}/render/", "post"),
        ("/api/v1/reports/{id}/versions/", "get"),
        ("/api/v1/reports/{id}/preview/", "get"),
        ("/api/v1/report-versions/{id}/pdf/", "get"),
        ("/api/v1/report-versions/{id}/compare/", "get"),
        ("/api/v1/render-jobs/{id}/", "get"),
        ("/api/v1/annual-summaries/", "post"),
    ]:
        assert method in paths[path], (path, method)
    assert (
        "application/pdf"
        in (paths["/api/v1/report-versions/{id}/pdf/"]["get"]["responses"]["200"]["content"])
    )
