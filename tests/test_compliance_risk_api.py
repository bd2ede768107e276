"""The REST API of risk assessments, POA&M items and compliance snapshots."""

import json
from datetime import UTC, date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from compliance.models import ComplianceSnapshot, PoamItem, RiskAssessment
from compliance.risk.services import poam_create, risk_assessment_record, snapshot_take

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)
DETECTED = datetime(2026, 3, 10, 14, tzinfo=UTC)


@pytest.fixture
def incident(open_incident):
    return open_incident(now=NOW, identified_at=DETECTED, first_detected_at=DETECTED)


def _item(ctx, system, n=0, **kw):
    return poam_create(
        ctx=ctx,
        system=system,
        weakness=f"Weakness {n}",
        source="scan",
        severity="moderate",
        scheduled_completion=date(2026, 6, 30),
        milestones=[("Patch", date(2026, 5, 1))],
        now=NOW,
        **kw,
    )


def test_record_a_risk_assessment_with_a_document(api, carol, web_system):
    body = b"risk report " * 100
    response = api(carol).post(
        "/api/v1/risk-assessments/",
        {
            "system": web_system.pk,
            "conducted_at": "2026-02-01T15:00:00Z",
            "assessor": "Acme Assessors LLC",
            "method": "qualitative",
            "overall_risk": "high",
            "summary": "Internet-facing.",
            "document": SimpleUploadedFile("ra.pdf", body),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    import hashlib

    assert data["document_sha256"] == hashlib.sha256(body).hexdigest()
    assert data["document_filename"] == "ra.pdf" and data["system_acronym"] == "FTA-WEB"
    assert data["recorded_by"] == "carol"


def test_a_future_risk_assessment_is_refused_naming_the_field(api, carol, web_system):
    response = api(carol).post(
        "/api/v1/risk-assessments/",
        {
            "system": web_system.pk,
            "conducted_at": "2999-01-01T00:00:00Z",
            "assessor": "A",
            "method": "qualitative",
            "overall_risk": "high",
            "summary": "s",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "conducted_at"
    assert not RiskAssessment.objects.exists()


def test_create_list_and_close_poam_items(api, carol, olivia, web_system, incident):
    client = api(carol)
    response = client.post(
        "/api/v1/poam-items/",
        {
            "system": web_system.pk,
            "weakness": "Audit logs writable",
            "source": "incident",
            "severity": "high",
            "scheduled_completion": "2026-06-30",
            "milestones": [{"description": "Ship logs", "due_date": "2026-05-01"}],
            "incident": incident.number,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    item = response.json()
    assert item["incident"] == incident.number and item["status"] == "open"
    assert item["milestones"][0]["description"] == "Ship logs"

    added = client.post(
        f"/api/v1/poam-items/{item['id']}/milestones/",
        {"description": "Verify", "due_date": "2026-06-01"},
        format="json",
    )
    assert added.status_code == 201
    done = client.post(
        f"/api/v1/poam-items/{item['id']}/milestones/{added.json()['id']}/done/",
        {"completed_on": "2026-03-31"},
        format="json",
    )
    assert done.status_code == 200 and done.json()["completed_on"] == "2026-03-31"
    missing = client.post(f"/api/v1/poam-items/{item['id']}/milestones/999999/done/")
    assert missing.status_code == 404
    refused = client.post(
        f"/api/v1/poam-items/{item['id']}/close/",
        {"status": "risk_accepted", "note": "fine"},
        format="json",
    )
    assert refused.status_code == 403
    closed = client.post(
        f"/api/v1/poam-items/{item['id']}/close/", {"note": "Shipped."}, format="json"
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = client.post(f"/api/v1/poam-items/{item['id']}/close/", {"note": "x"}, format="json")
    assert again.status_code == 409
    listed = client.get("/api/v1/poam-items/", {"status": "closed"}).json()
    assert [r["id"] for r in listed["results"]] == [item["id"]]


def test_poam_oscal_export_over_the_api(api, carol, web_system, agency_a, ctx):
    from trestle.oscal.poam import PlanOfActionAndMilestones

    _item(ctx(carol, agency_a), web_system)
    response = api(carol).get(f"/api/v1/systems/{web_system.pk}/poam/oscal")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)["plan-of-action-and-milestones"]
    parsed = PlanOfActionAndMilestones.model_validate(body)
    assert [i.title for i in parsed.poam_items] == ["Weakness 0"]


def test_take_list_and_read_snapshots(api, alice, audrey, incident, agency_a, ctx):
    client = api(alice)
    assert (
        client.get(f"/api/v1/incidents/{incident.number}/compliance-snapshots/latest/").status_code
        == 404
    )
    taken = client.post(f"/api/v1/incidents/{incident.number}/compliance-snapshots/")
    assert taken.status_code == 201
    snap = taken.json()
    assert snap["as_of"] == "2026-03-10T14:00:00Z" and snap["taken_by"] == "alice"
    assert snap["document"]["incident"]["number"] == incident.number
    listed = client.get(f"/api/v1/incidents/{incident.number}/compliance-snapshots/").json()
    assert [s["id"] for s in listed] == [snap["id"]] and "document" not in listed[0]
    latest = client.get(f"/api/v1/incidents/{incident.number}/compliance-snapshots/latest/")
    assert latest.json()["sha256"] == snap["sha256"]
    assert client.get(f"/api/v1/compliance-snapshots/{snap['id']}/").status_code == 200
    # An auditor not granted the incident sees nothing of it; not granted, cannot take one.
    assert api(audrey).get(f"/api/v1/compliance-snapshots/{snap['id']}/").status_code == 404
    assert (
        api(audrey).post(f"/api/v1/incidents/{incident.number}/compliance-snapshots/").status_code
        == 404
    )


def test_outsider_gets_404_everywhere(api, bob, carol, web_system, incident, agency_a, ctx):
    c = ctx(carol, agency_a)
    item = _item(c, web_system)
    ra = risk_assessment_record(
        ctx=c,
        system=web_system,
        conducted_at=DETECTED,
        assessor="A",
        method="qualitative",
        overall_risk="low",
        summary="s",
        now=NOW,
    )
    snap = snapshot_take(ctx=c, incident=incident, now=NOW)
    client = api(bob)
    for url in (
        f"/api/v1/risk-assessments/{ra.pk}/",
        f"/api/v1/poam-items/{item.pk}/",
        f"/api/v1/systems/{web_system.pk}/poam/oscal",
        f"/api/v1/incidents/{incident.number}/compliance-snapshots/",
        f"/api/v1/incidents/{incident.number}/compliance-snapshots/latest/",
        f"/api/v1/compliance-snapshots/{snap.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        "/api/v1/risk-assessments/",
        "/api/v1/poam-items/",
        "/api/v1/compliance-snapshots/",
    ):
        assert client.get(url).json()["count"] == 0, url
    for url in ("/api/v1/risk-assessments/", "/api/v1/poam-items/"):
        # Another agency's system id answers exactly like an id that does not exist.
        mine, missing = (client.get(url, {"system": pk}) for pk in (web_system.pk, 999999))
        assert mine.status_code == missing.status_code == 200, url
        assert (
            mine.json()
            == missing.json()
            == {
                "count": 0,
                "next": None,
                "previous": None,
                "results": [],
            }
        )
    for url, body in (
        (f"/api/v1/poam-items/{item.pk}/close/", {"note": "x"}),
        (f"/api/v1/poam-items/{item.pk}/milestones/{item.milestones.get().pk}/done/", {}),
        (
            f"/api/v1/poam-items/{item.pk}/milestones/",
            {"description": "x", "due_date": "2026-05-01"},
        ),
        (f"/api/v1/incidents/{incident.number}/compliance-snapshots/", {}),
    ):
        assert client.post(url, body, format="json").status_code == 404, url
    created = client.post(
        "/api/v1/poam-items/",
        {
            "system": web_system.pk,
            "weakness": "w",
            "source": "scan",
            "severity": "low",
            "scheduled_completion": "2026-06-30",
        },
        format="json",
    )
    assert created.status_code == 404
    assert PoamItem.objects.count() == 1 and ComplianceSnapshot.objects.count() == 1


@pytest.mark.parametrize("count", [1, 5])
def test_poam_list_query_count_is_constant(
    api, carol, web_system, agency_a, ctx, django_assert_num_queries, count
):
    c = ctx(carol, agency_a)
    for n in range(count):
        _item(c, web_system, n)
    client = api(carol)
    # memberships 2 (context), count, page, controls, milestones
    with django_assert_num_queries(6):
        response = client.get("/api/v1/poam-items/")
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [1, 5])
def test_risk_assessment_list_query_count_is_constant(
    api, carol, web_system, agency_a, ctx, django_assert_num_queries, count
):
    c = ctx(carol, agency_a)
    for _ in range(count):
        risk_assessment_record(
            ctx=c,
            system=web_system,
            conducted_at=DETECTED,
            assessor="A",
            method="qualitative",
            overall_risk="low",
            summary="s",
            now=NOW,
        )
    with django_assert_num_queries(4):
        response = api(carol).get("/api/v1/risk-assessments/")
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [1, 4])
def test_snapshot_lists_query_count_is_constant(
    api, carol, incident, agency_a, ctx, django_assert_num_queries, count
):
    for _ in range(count):
        snapshot_take(ctx=ctx(carol, agency_a), incident=incident, now=NOW)
    client = api(carol)
    # memberships 2, the incident, the snapshots
    with django_assert_num_queries(4):
        rows = client.get(f"/api/v1/incidents/{incident.number}/compliance-snapshots/").json()
    assert len(rows) == count
    with django_assert_num_queries(4):
        page = client.get("/api/v1/compliance-snapshots/").json()
    assert page["count"] == count


def test_a_risk_assessment_time_without_a_zone_is_refused(api, carol, web_system):
    response = api(carol).post(
        "/api/v1/risk-assessments/",
        {
            "system": web_system.pk,
            "conducted_at": "2026-02-01T15:00:00",
            "assessor": "A",
            "method": "qualitative",
            "overall_risk": "high",
            "summary": "s",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "conducted_at" in json.dumps(response.json())
    assert not RiskAssessment.objects.exists()


def test_a_poam_item_cannot_name_another_agencys_licensed_control(api, carol, web_system, agency_b):
    from compliance.models import Control, Framework

    theirs = Framework.objects.create(name="Licensed elsewhere", version="1", agency=agency_b)
    secret = Control.objects.create(
        framework=theirs, identifier="x-1", label="X-1", title="Their text", sort_key="x-0001"
    )
    response = api(carol).post(
        "/api/v1/poam-items/",
        {
            "system": web_system.pk,
            "weakness": "w",
            "source": "scan",
            "severity": "high",
            "scheduled_completion": "2026-06-30",
            "controls": [secret.pk],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "controls"
    assert "Their text" not in json.dumps(response.json())
    assert not PoamItem.objects.exists()
