"""Pages: a system's risk assessments and POA&M, an incident's compliance snapshot."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from compliance.models import ComplianceSnapshot, PoamItem, RiskAssessment
from compliance.risk.services import poam_create, risk_assessment_record, snapshot_take

DETECTED = datetime(2026, 3, 10, 14, tzinfo=UTC)


@pytest.fixture
def incident(open_incident):
    now = timezone.now().replace(microsecond=0)
    return open_incident(
        now=now, identified_at=now - timedelta(hours=1), first_detected_at=DETECTED
    )


def _item(c, system, **kw):
    return poam_create(
        ctx=c,
        system=system,
        weakness="Audit logs writable by the web user",
        source="assessment",
        severity="high",
        scheduled_completion=date(2026, 6, 30),
        milestones=[("Ship logs off-host", date(2026, 5, 1))],
        **kw,
    )


def test_record_a_risk_assessment_through_the_page(client, alice, web_system):
    client.force_login(alice)
    url = f"/systems/{web_system.acronym}/risk-assessments/new/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "conducted_at": "2026-02-01T10:00",
            "assessor": "Acme Assessors LLC",
            "method": "qualitative",
            "overall_risk": "high",
            "summary": "Internet-facing store.",
            "document": SimpleUploadedFile("ra.pdf", b"%PDF-1.7 report"),
        },
    )
    assert response.status_code == 302
    ra = RiskAssessment.objects.get()
    # 10:00 EST in New York is 15:00 UTC
    assert ra.conducted_at == datetime(2026, 2, 1, 15, tzinfo=UTC)
    assert len(ra.document_sha256) == 64
    page = client.get(f"/systems/{web_system.acronym}/risk-assessments/").content.decode()
    assert "Acme Assessors LLC" in page and ra.document_sha256 in page
    assert "2026-02-01 10:00 EST (America/New_York)" in page


def test_a_future_risk_assessment_is_shown_as_a_field_error(client, alice, web_system):
    client.force_login(alice)
    response = client.post(
        f"/systems/{web_system.acronym}/risk-assessments/new/",
        {
            "conducted_at": "2999-01-01T10:00",
            "assessor": "A",
            "method": "qualitative",
            "overall_risk": "high",
            "summary": "s",
        },
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert not RiskAssessment.objects.exists()


def test_isso_of_another_system_does_not_reach_its_risk_pages(client, alice, hr_system):
    # The inventory pages' rule: an ISSO with no agency-wide role sees their own systems only.
    client.force_login(alice)
    assert client.get(f"/systems/{hr_system.acronym}/risk-assessments/").status_code == 404
    assert client.get(f"/systems/{hr_system.acronym}/risk-assessments/new/").status_code == 404
    assert client.get(f"/systems/{hr_system.acronym}/poam/").status_code == 404
    assert client.get(f"/systems/{hr_system.acronym}/poam/new/").status_code == 404


def test_closing_an_item_twice_from_the_page_says_why(client, carol, web_system, ctx, agency_a):
    item = _item(ctx(carol, agency_a), web_system)
    client.force_login(carol)
    first = client.post(f"/poam/{item.pk}/close/", {"status": "closed", "note": "Shipped."})
    assert first.status_code == 302
    again = client.post(
        f"/poam/{item.pk}/close/", {"status": "closed", "note": "Again."}, follow=True
    )
    assert again.redirect_chain[-1][0] == f"/poam/{item.pk}/"
    assert f"POA&amp;M item {item.pk} is already closed (remediated)." in again.content.decode()


def test_open_a_poam_item_add_a_milestone_and_close_it(client, carol, web_system):
    client.force_login(carol)
    response = client.post(
        f"/systems/{web_system.acronym}/poam/new/",
        {
            "weakness": "Dormant accounts not disabled",
            "source": "assessment",
            "severity": "moderate",
            "scheduled_completion": "2026-06-30",
        },
    )
    assert response.status_code == 302
    item = PoamItem.objects.get()
    detail = f"/poam/{item.pk}/"
    assert response["Location"] == detail
    added = client.post(
        f"{detail}milestones/", {"description": "Disable accounts", "due_date": "2026-05-01"}
    )
    assert added.status_code == 302
    bad = client.post(f"{detail}milestones/", {"description": "", "due_date": "x"})
    assert bad.status_code == 400
    milestone = item.milestones.get()
    assert "Mark done" in client.get(detail).content.decode()
    assert client.post(f"{detail}milestones/{milestone.pk}/done/").status_code == 302
    milestone.refresh_from_db()
    assert milestone.completed_on is not None
    closed = client.post(f"{detail}close/", {"status": "closed", "note": "Accounts disabled."})
    assert closed.status_code == 302
    item.refresh_from_db()
    assert item.status == "closed" and item.milestones.count() == 1
    page = client.get(detail).content.decode()
    assert "Disable accounts" in page and "Accounts disabled." in page
    assert "Close this item" not in page
    listing = client.get(f"/systems/{web_system.acronym}/poam/?status=closed").content.decode()
    assert "Dormant accounts not disabled" in listing
    assert f"/api/v1/systems/{web_system.pk}/poam/oscal" in listing


def test_only_an_approving_official_is_offered_risk_acceptance(
    client, carol, olivia, web_system, agency_a, ctx
):
    item = _item(ctx(carol, agency_a), web_system)
    client.force_login(carol)
    assert "Risk accepted" not in client.get(f"/poam/{item.pk}/").content.decode()
    refused = client.post(f"/poam/{item.pk}/close/", {"status": "risk_accepted", "note": "ok"})
    assert refused.status_code == 400
    client.force_login(olivia)
    assert "Risk accepted" in client.get(f"/poam/{item.pk}/").content.decode()
    done = client.post(f"/poam/{item.pk}/close/", {"status": "risk_accepted", "note": "ok"})
    assert done.status_code == 302
    item.refresh_from_db()
    assert item.status == "risk_accepted"


def test_the_incident_compliance_page_shows_the_latest_snapshot_and_takes_one(
    client, alice, audrey, carol, incident, web_system, agency_a, ctx
):
    c = ctx(carol, agency_a)
    risk_assessment_record(
        ctx=c,
        system=web_system,
        conducted_at=DETECTED - timedelta(days=30),
        assessor="Acme Assessors LLC",
        method="qualitative",
        overall_risk="moderate",
        summary="Moderate residual risk.",
    )
    client.force_login(alice)
    url = f"/incidents/{incident.number}/compliance/"
    page = client.get(url).content.decode()
    assert "No snapshot yet" in page and "Take snapshot now" in page
    assert url in client.get(f"/incidents/{incident.number}/").content.decode()
    assert client.post(f"{url}snapshot/").status_code == 302
    snap = ComplianceSnapshot.objects.get()
    page = client.get(url).content.decode()
    assert snap.sha256 in page
    assert "2026-03-10 10:00 EDT (America/New_York)" in page  # as of first detection
    assert "Acme Assessors LLC" in page
    older = snap
    snapshot_take(ctx=c, incident=incident)
    history = client.get(f"{url}?snapshot={older.pk}").content.decode()
    assert "(shown)" in history and older.sha256 in history


def test_plan_the_remediation_from_the_incident_page(client, alice, incident, web_system):
    client.force_login(alice)
    url = f"/incidents/{incident.number}/compliance/poam/"
    bad = client.post(
        url, {"weakness": "W", "severity": "high", "remediation": "soon: rotate the token"}
    )
    assert bad.status_code == 400
    assert "Remediation actions, line 1" in bad.content.decode()
    assert not PoamItem.objects.exists()
    ok = client.post(
        url,
        {
            "weakness": "Service account token readable by www-data",
            "severity": "high",
            "remediation": "2026-04-10 Rotate the token\n2026-05-01 Rebuild the image",
        },
    )
    assert ok.status_code == 302
    (item,) = PoamItem.objects.all()
    assert item.incident == incident and item.system == web_system
    assert item.milestones.count() == 2


def test_auditors_read_but_do_not_take_snapshots(client, audrey, olivia, incident, agency_a, ctx):
    from incidents.services import auditor_grant

    auditor_grant(ctx=ctx(olivia, agency_a), incident=incident, user=audrey)
    client.force_login(audrey)
    url = f"/incidents/{incident.number}/compliance/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Take snapshot now" not in page.content.decode()
    assert "Plan the remediation" not in page.content.decode()
    assert client.post(f"{url}snapshot/").status_code == 403
    assert not ComplianceSnapshot.objects.exists()


def test_outsider_gets_404_on_every_page(client, bob, carol, web_system, incident, agency_a, ctx):
    item = _item(ctx(carol, agency_a), web_system)
    snapshot_take(ctx=ctx(carol, agency_a), incident=incident)
    client.force_login(bob)
    for url in (
        f"/systems/{web_system.acronym}/risk-assessments/",
        f"/systems/{web_system.acronym}/risk-assessments/new/",
        f"/systems/{web_system.acronym}/poam/",
        f"/systems/{web_system.acronym}/poam/new/",
        f"/poam/{item.pk}/",
        f"/incidents/{incident.number}/compliance/",
    ):
        assert client.get(url).status_code == 404, url
    for url, body in (
        (f"/poam/{item.pk}/milestones/", {"description": "x", "due_date": "2026-05-01"}),
        (f"/poam/{item.pk}/close/", {"status": "closed", "note": "x"}),
        (f"/poam/{item.pk}/milestones/{item.milestones.get().pk}/done/", {}),
        (f"/incidents/{incident.number}/compliance/snapshot/", {}),
        (
            f"/incidents/{incident.number}/compliance/poam/",
            {"weakness": "w", "severity": "low", "remediation": "2026-05-01 x"},
        ),
    ):
        assert client.post(url, body).status_code == 404, url
    item.refresh_from_db()
    assert item.is_open and item.milestones.count() == 1
    assert item.milestones.get().completed_on is None
    assert ComplianceSnapshot.objects.count() == 1


@pytest.mark.parametrize("count", [1, 5])
def test_poam_list_page_query_count_is_constant(
    client, carol, web_system, agency_a, ctx, django_assert_num_queries, count
):
    c = ctx(carol, agency_a)
    for _ in range(count):
        _item(c, web_system)
    client.force_login(carol)
    url = f"/systems/{web_system.acronym}/poam/"
    client.get(url)
    # session, user, memberships 2, system, items, controls, milestones, the agencies of
    # base.html, the session saved (with its savepoint and release): whatever the count
    with django_assert_num_queries(12):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("count", [1, 5])
def test_risk_assessment_page_query_count_is_constant(
    client, carol, web_system, agency_a, ctx, django_assert_num_queries, count
):
    for _ in range(count):
        risk_assessment_record(
            ctx=ctx(carol, agency_a),
            system=web_system,
            conducted_at=DETECTED,
            assessor="A",
            method="qualitative",
            overall_risk="low",
            summary="s",
        )
    client.force_login(carol)
    url = f"/systems/{web_system.acronym}/risk-assessments/"
    client.get(url)
    # session, user, memberships 2, system, assessments (with system and recorder), the
    # agencies of base.html, the session saved (with its savepoint and release)
    with django_assert_num_queries(10):
        assert client.get(url).status_code == 200
