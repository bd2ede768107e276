"""Visibility inside one agency (issue 12, defect 2), page and API, list, detail, filters and
exports.

The world: FTA-WEB (alice is its ISSO) and FTA-HR (no ISSO of ours). Carol opens three
incidents: GRANTED (FTA-WEB, promoted from the store-1 pod's candidate, granted to audrey),
SECRET (FTA-WEB, not granted) and HR (FTA-HR). POA&M items on FTA-WEB: one from GRANTED, one
from SECRET, one from a scan; on FTA-HR one from HR and one from a scan. A risk assessment of
each system. In the triage queue, still open: another pod's ``cat /etc/shadow``.

- audrey, an auditor with no grant, reaches none of it.
- Once granted GRANTED, she reads FTA-WEB (inventory, compliance state, risk assessments) and
  its POA&M items except the one made from SECRET; nothing of FTA-HR; of the triage queue only
  the candidate that became GRANTED; and is offered no act.
- alice, ISSO of FTA-WEB only, reads FTA-WEB's records and none of FTA-HR's.
"""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.context import context_for
from compliance.models import ComplianceSnapshot, Control, ControlAssessment, Framework
from compliance.risk.services import poam_create, risk_assessment_record, snapshot_take
from compliance.selectors import system_state_as_of
from compliance.services import assessment_record
from core.errors import NotFound
from incidents import falco
from incidents.ingest import alerts_store, candidate_promote, detections_group
from incidents.models import AuditorGrant, IncidentCandidate
from incidents.services import incident_open

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)
ALERTED = datetime(2026, 4, 1, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _alert(*, pod, ns, cmd, minute):
    return {
        "rule": "Read sensitive file untrusted",
        "priority": "Warning",
        "time": (ALERTED + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z"),
        "hostname": "node-1",
        "source": "syscall",
        "output": f"Sensitive file opened for reading ({cmd})",
        "tags": ["filesystem", "mitre_credential_access"],
        "output_fields": {
            "container.id": f"c-{pod}",
            "k8s.pod.name": pod,
            "k8s.ns.name": ns,
            "proc.cmdline": cmd,
            "user.name": "www-data",
        },
    }


def _poam(ctx, system, weakness, *, source="scan", incident=None):
    return poam_create(
        ctx=ctx,
        system=system,
        weakness=weakness,
        source=source,
        severity="high",
        scheduled_completion=date(2026, 6, 30),
        milestones=[("Fix it", date(2026, 5, 1))],
        incident=incident,
        now=NOW,
    )


def _risk(ctx, system, summary):
    return risk_assessment_record(
        ctx=ctx,
        system=system,
        conducted_at=datetime(2026, 2, 1, tzinfo=UTC),
        assessor="Acme Assessors LLC",
        method="qualitative",
        overall_risk="high",
        summary=summary,
        now=NOW,
    )


@pytest.fixture
def world(agency_a, web_system, hr_system, alice, carol, audrey):
    c = context_for(carol, agency_a)
    web_system.k8s_namespaces = ["store"]
    web_system.save()
    items = [
        falco.Item(index=0, value=_alert(pod="store-1", ns="store", cmd="bash -i", minute=0)),
        falco.Item(
            index=1,
            value=_alert(pod="payroll-9", ns="payroll", cmd="cat /etc/shadow", minute=1),
        ),
    ]
    assert alerts_store(agency=agency_a, items=items, now=NOW).accepted == 2
    detections_group(agency_id=agency_a.pk, now=NOW)
    store = IncidentCandidate.objects.get(group_key__contains="store-1")
    shadow = IncidentCandidate.objects.get(group_key__contains="payroll-9")
    granted = candidate_promote(ctx=c, candidate=store, title="Granted incident", now=NOW)
    assert list(granted.systems.all()) == [web_system]
    secret = incident_open(ctx=c, title="Secret incident", systems=[web_system.pk], now=NOW)
    hr = incident_open(ctx=c, title="HR incident", systems=[hr_system.pk], now=NOW)
    framework = Framework.objects.create(name="Test framework", version="1")
    control = Control.objects.create(
        framework=framework, identifier="ac-1", label="AC-1", title="Policy", sort_key="ac-0001"
    )
    for system in (web_system, hr_system):
        assessment_record(
            ctx=c,
            system=system,
            control=control,
            status="other_than_satisfied",
            assessed_at=datetime(2026, 3, 1, tzinfo=UTC),
            now=NOW,
        )
    return {
        "granted": granted,
        "secret": secret,
        "hr": hr,
        "store": store,
        "shadow": shadow,
        "framework": framework,
        "web_from_granted": _poam(
            c, web_system, "Shell allowed in store image", source="incident", incident=granted
        ),
        "web_from_secret": _poam(
            c, web_system, "Secret weakness of WEB", source="incident", incident=secret
        ),
        "web_scan": _poam(c, web_system, "Outdated TLS on WEB"),
        "hr_from_hr": _poam(c, hr_system, "HR payroll exposed", source="incident", incident=hr),
        "hr_scan": _poam(c, hr_system, "Outdated TLS on HR"),
        "web_risk": _risk(c, web_system, "WEB is internet-facing."),
        "hr_risk": _risk(c, hr_system, "HR holds PII of every employee."),
    }


@pytest.fixture
def grant(world, audrey):
    AuditorGrant.objects.create(incident=world["granted"], user=audrey)
    return world


def _weaknesses(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(i["weakness"] for i in response.json()["results"])


def _summaries(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(r["summary"] for r in response.json()["results"])


def _page(client, user, url):
    client.force_login(user)
    return client.get(url)


# --- an auditor with no grant reaches nothing ---------------------------------------------------


def test_auditor_without_grant_reads_no_poam_item_through_the_api(
    api, audrey, world, web_system, hr_system
):
    client = api(audrey)
    assert client.get("/api/v1/poam-items/").json()["count"] == 0
    for key in ("web_from_granted", "web_from_secret", "web_scan", "hr_from_hr", "hr_scan"):
        assert client.get(f"/api/v1/poam-items/{world[key].pk}/").status_code == 404, key
    for number in (world["granted"].number, world["secret"].number):
        assert _weaknesses(client.get(f"/api/v1/poam-items/?incident={number}")) == []
    for system in (web_system, hr_system):
        assert _weaknesses(client.get(f"/api/v1/poam-items/?system={system.pk}")) == []
        assert client.get(f"/api/v1/systems/{system.pk}/poam/oscal").status_code == 404


def test_auditor_without_grant_reads_no_poam_page(client, audrey, world):
    for key in ("web_from_granted", "web_from_secret", "web_scan", "hr_scan"):
        assert _page(client, audrey, f"/poam/{world[key].pk}/").status_code == 404, key
    for acronym in ("FTA-WEB", "FTA-HR"):
        assert _page(client, audrey, f"/systems/{acronym}/poam/").status_code == 404
        assert _page(client, audrey, f"/systems/{acronym}/risk-assessments/").status_code == 404


def test_auditor_without_grant_reads_no_system_or_compliance_state(
    api, client, audrey, world, web_system, hr_system, agency_a
):
    a = api(audrey)
    assert a.get("/api/v1/systems/").json()["count"] == 0
    assert a.get("/api/v1/assessments/").json()["count"] == 0
    assert a.get("/api/v1/risk-assessments/").json()["count"] == 0
    fw = world["framework"].pk
    for system in (web_system, hr_system):
        assert a.get(f"/api/v1/systems/{system.pk}/").status_code == 404
        assert a.get(f"/api/v1/systems/{system.pk}/state/?framework={fw}").status_code == 404
    for key in ("web_risk", "hr_risk"):
        assert a.get(f"/api/v1/risk-assessments/{world[key].pk}/").status_code == 404
    listing = _page(client, audrey, "/systems/")
    assert listing.status_code == 200
    assert "FTA-WEB" not in listing.content.decode() and "FTA-HR" not in listing.content.decode()
    assert _page(client, audrey, "/systems/FTA-WEB/").status_code == 404
    assert "FTA-HR" not in a.get("/api/v1/systems/export.csv").content.decode()
    with pytest.raises(NotFound):
        system_state_as_of(
            ctx=context_for(audrey, agency_a),
            system=web_system,
            framework=world["framework"],
            at=NOW,
        )


def test_auditor_without_grant_sees_no_triage_queue(client, audrey, world):
    queue = _page(client, audrey, "/triage/")
    assert queue.status_code == 200
    body = queue.content.decode()
    assert "/etc/shadow" not in body and "payroll-9" not in body and "store-1" not in body
    assert "0 open candidates" in body
    for key in ("shadow", "store"):
        assert _page(client, audrey, f"/triage/{world[key].pk}/").status_code == 404
    post = client.post(f"/triage/{world['shadow'].pk}/", {"action": "dismiss", "reason": "x"})
    assert post.status_code == 404
    world["shadow"].refresh_from_db()
    assert world["shadow"].status == "open"


# --- a granted auditor reads what follows from its grant ------------------------------------


def test_granted_auditor_reads_the_affected_systems_poam_but_not_another_incidents(
    api, audrey, grant, web_system, hr_system
):
    client = api(audrey)
    web = ["Outdated TLS on WEB", "Shell allowed in store image"]
    assert _weaknesses(client.get("/api/v1/poam-items/")) == web
    assert _weaknesses(client.get(f"/api/v1/poam-items/?system={web_system.pk}")) == web
    assert _weaknesses(client.get(f"/api/v1/poam-items/?system={hr_system.pk}")) == []
    assert _weaknesses(client.get(f"/api/v1/poam-items/?incident={grant['granted'].number}")) == [
        "Shell allowed in store image"
    ]
    assert _weaknesses(client.get(f"/api/v1/poam-items/?incident={grant['secret'].number}")) == []
    assert _weaknesses(client.get(f"/api/v1/poam-items/?incident={grant['hr'].number}")) == []
    assert client.get(f"/api/v1/poam-items/{grant['web_from_granted'].pk}/").status_code == 200
    assert client.get(f"/api/v1/poam-items/{grant['web_scan'].pk}/").status_code == 200
    for key in ("web_from_secret", "hr_from_hr", "hr_scan"):
        assert client.get(f"/api/v1/poam-items/{grant[key].pk}/").status_code == 404, key

    oscal = client.get(f"/api/v1/systems/{web_system.pk}/poam/oscal")
    assert oscal.status_code == 200
    text = oscal.content.decode()
    assert "Shell allowed in store image" in text and "Outdated TLS on WEB" in text
    assert "Secret weakness" not in text and grant["secret"].number not in text
    assert json.loads(text)["plan-of-action-and-milestones"]
    assert client.get(f"/api/v1/systems/{hr_system.pk}/poam/oscal").status_code == 404


def test_granted_auditor_poam_pages_follow_the_grant(client, audrey, grant):
    listing = _page(client, audrey, "/systems/FTA-WEB/poam/?status=all")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "Shell allowed in store image" in body and "Outdated TLS on WEB" in body
    assert "Secret weakness" not in body and grant["secret"].number not in body
    assert _page(client, audrey, f"/poam/{grant['web_from_granted'].pk}/").status_code == 200
    for key in ("web_from_secret", "hr_from_hr", "hr_scan"):
        assert _page(client, audrey, f"/poam/{grant[key].pk}/").status_code == 404, key
    assert _page(client, audrey, "/systems/FTA-HR/poam/").status_code == 404
    # Milestones of an item out of sight cannot be reached either.
    milestone = grant["web_from_secret"].milestones.get()
    done = client.post(f"/poam/{grant['web_from_secret'].pk}/milestones/{milestone.pk}/done/")
    assert done.status_code == 404


def test_granted_auditor_reads_the_affected_systems_risk_and_state_only(
    api, client, audrey, grant, web_system, hr_system
):
    a = api(audrey)
    assert _summaries(a.get("/api/v1/risk-assessments/")) == ["WEB is internet-facing."]
    assert _summaries(a.get(f"/api/v1/risk-assessments/?system={hr_system.pk}")) == []
    assert a.get(f"/api/v1/risk-assessments/{grant['web_risk'].pk}/").status_code == 200
    assert a.get(f"/api/v1/risk-assessments/{grant['hr_risk'].pk}/").status_code == 404
    assert [s["acronym"] for s in a.get("/api/v1/systems/").json()["results"]] == ["FTA-WEB"]
    fw = grant["framework"].pk
    assert a.get(f"/api/v1/systems/{web_system.pk}/state/?framework={fw}").status_code == 200
    assert a.get(f"/api/v1/systems/{hr_system.pk}/state/?framework={fw}").status_code == 404
    assessed = {r["system"] for r in a.get("/api/v1/assessments/").json()["results"]}
    assert assessed == {web_system.pk}
    assert _page(client, audrey, "/systems/FTA-WEB/").status_code == 200
    risks = _page(client, audrey, "/systems/FTA-WEB/risk-assessments/").content.decode()
    assert "WEB is internet-facing." in risks
    for url in ("/systems/FTA-HR/", "/systems/FTA-HR/risk-assessments/"):
        assert _page(client, audrey, url).status_code == 404, url


def test_granted_auditor_reads_only_the_candidates_of_granted_incidents(client, audrey, grant):
    queue = _page(client, audrey, "/triage/").content.decode()
    assert "/etc/shadow" not in queue and "payroll-9" not in queue
    assert _page(client, audrey, f"/triage/{grant['shadow'].pk}/").status_code == 404
    detail = _page(client, audrey, f"/triage/{grant['store'].pk}/")
    assert detail.status_code == 200
    assert "bash -i" in detail.content.decode()
    assert "/etc/shadow" not in detail.content.decode()


def _assert_no_triage_controls(body: str) -> None:
    for control in ('name="action"', 'value="promote"', 'value="attach"', 'value="dismiss"'):
        assert control not in body, control
    for label in (">Promote<", ">Attach<", ">Dismiss<"):
        assert label not in body, label


def test_auditor_pages_offer_no_promote_attach_or_dismiss(client, audrey, grant):
    queue = _page(client, audrey, "/triage/")
    assert queue.status_code == 200
    _assert_no_triage_controls(queue.content.decode())
    # Every candidate of the agency: out of her sight, or read without a control.
    for candidate in IncidentCandidate.objects.all():
        response = _page(client, audrey, f"/triage/{candidate.pk}/")
        assert response.status_code in (200, 404)
        _assert_no_triage_controls(response.content.decode())
    assert _page(client, audrey, f"/triage/{grant['store'].pk}/").status_code == 200


def test_an_open_candidate_offers_no_decision_to_those_who_may_not_decide(
    client, olivia, adam, carol, world
):
    # The approving official and the administrator see the agency's queue but do not triage.
    url = f"/triage/{world['shadow'].pk}/"
    for user in (olivia, adam):
        response = _page(client, user, url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "/etc/shadow" in body
        _assert_no_triage_controls(body)
    # The compliance officer does.
    body = _page(client, carol, url).content.decode()
    assert 'value="promote"' in body and 'value="dismiss"' in body


def test_auditor_is_offered_no_import(client, audrey, alice, grant):
    listing = _page(client, audrey, "/systems/").content.decode()
    assert reverse("compliance-import") not in listing
    assert _page(client, audrey, reverse("compliance-import")).status_code == 403
    # An ISSO imports the assessments of their systems: offered.
    assert reverse("compliance-import") in _page(client, alice, "/systems/").content.decode()


# --- an ISSO reads its own systems' records only --------------------------------------------


def test_unassigned_isso_reads_no_risk_assessment_of_another_system(
    api, client, alice, world, web_system, hr_system
):
    a = api(alice)
    assert _summaries(a.get("/api/v1/risk-assessments/")) == ["WEB is internet-facing."]
    assert _summaries(a.get(f"/api/v1/risk-assessments/?system={hr_system.pk}")) == []
    assert a.get(f"/api/v1/risk-assessments/{world['hr_risk'].pk}/").status_code == 404
    assert a.get(f"/api/v1/risk-assessments/{world['web_risk'].pk}/").status_code == 200
    assert _page(client, alice, "/systems/FTA-HR/risk-assessments/").status_code == 404
    assert "WEB is internet-facing." in (
        _page(client, alice, "/systems/FTA-WEB/risk-assessments/").content.decode()
    )


def test_unassigned_isso_reads_no_poam_item_of_another_system(
    api, client, alice, world, web_system, hr_system
):
    a = api(alice)
    mine = ["Outdated TLS on WEB", "Secret weakness of WEB", "Shell allowed in store image"]
    assert _weaknesses(a.get("/api/v1/poam-items/")) == mine
    assert _weaknesses(a.get(f"/api/v1/poam-items/?system={hr_system.pk}")) == []
    assert _weaknesses(a.get(f"/api/v1/poam-items/?incident={world['hr'].number}")) == []
    for key in ("hr_from_hr", "hr_scan"):
        assert a.get(f"/api/v1/poam-items/{world[key].pk}/").status_code == 404, key
        assert _page(client, alice, f"/poam/{world[key].pk}/").status_code == 404, key
    assert a.get(f"/api/v1/systems/{hr_system.pk}/poam/oscal").status_code == 404
    assert _page(client, alice, "/systems/FTA-HR/poam/").status_code == 404
    # Her own system's items, whichever incident they came from.
    assert _page(client, alice, f"/poam/{world['web_from_secret'].pk}/").status_code == 200
    assert a.get(f"/api/v1/systems/{web_system.pk}/poam/oscal").status_code == 200


def test_unassigned_isso_reads_no_compliance_state_of_another_system(
    alice, world, hr_system, agency_a
):
    with pytest.raises(NotFound):
        system_state_as_of(
            ctx=context_for(alice, agency_a),
            system=hr_system,
            framework=world["framework"],
            at=NOW,
        )


def test_a_snapshot_holds_every_affected_system_whoever_takes_it(
    world, alice, carol, agency_a, web_system, hr_system
):
    """The snapshot is the incident's record: alice (ISSO of FTA-WEB only) sees an incident she
    opened on both systems, and its snapshot holds FTA-HR's state as carol's would."""
    both = incident_open(
        ctx=context_for(alice, agency_a),
        title="Both systems",
        systems=[web_system.pk, hr_system.pk],
        now=NOW,
    )
    mine = snapshot_take(ctx=context_for(alice, agency_a), incident=both, now=NOW)
    hers = snapshot_take(ctx=context_for(carol, agency_a), incident=both, now=NOW)
    assert mine.sha256 == hers.sha256
    hr = next(s for s in mine.document["systems"] if s["acronym"] == "FTA-HR")
    assert [r["summary"] for r in hr["prior_risk_assessments"]] == [
        "HR holds PII of every employee."
    ]
    assert sorted(p["weakness"] for p in hr["open_poam_items"]) == [
        "HR payroll exposed",
        "Outdated TLS on HR",
    ]
    assert hr["frameworks"][0]["counts"]["other_than_satisfied"] == 1
    assert ComplianceSnapshot.objects.filter(incident=both).count() == 2


def test_the_snapshot_page_links_only_to_what_the_reader_may_open(
    client, world, alice, agency_a, web_system, hr_system
):
    both = incident_open(
        ctx=context_for(alice, agency_a),
        title="Both systems",
        systems=[web_system.pk, hr_system.pk],
        now=NOW,
    )
    snapshot_take(ctx=context_for(alice, agency_a), incident=both, now=NOW)
    body = _page(client, alice, f"/incidents/{both.number}/compliance/").content.decode()
    assert "HR payroll exposed" in body and "HR holds PII of every employee." in body
    for item in ("hr_scan", "hr_from_hr"):
        assert f'href="/poam/{world[item].pk}/"' not in body, item
    assert 'href="/systems/FTA-HR/poam/"' not in body
    assert 'href="/systems/FTA-HR/risk-assessments/"' not in body
    assert f'href="/poam/{world["web_scan"].pk}/"' in body
    assert 'href="/systems/FTA-WEB/poam/"' in body


def test_the_compliance_officer_still_reads_everything(api, carol, world):
    client = api(carol)
    assert client.get("/api/v1/poam-items/").json()["count"] == 5
    assert client.get("/api/v1/risk-assessments/").json()["count"] == 2
    assert client.get("/api/v1/systems/").json()["count"] == 2
    assert client.get("/api/v1/assessments/").json()["count"] == ControlAssessment.objects.count()


def test_an_auditor_reads_the_agencys_licensed_catalog_only_through_a_grant(
    api, audrey, agency_a, web_system, audit_grant
):
    """Found by the route walk: an auditor with no grant listed the frameworks agency A
    imported under its licence. A reference catalog (no agency) stays readable."""
    from compliance.models import Control, Framework

    licensed = Framework.objects.create(agency=agency_a, name="Licensed Standard", version="1")
    Control.objects.create(framework=licensed, identifier="LS-1", title="x", sort_key="1")
    reference = Framework.objects.create(agency=None, name="Open Reference", version="1")
    client = api(audrey)

    def names():
        body = client.get("/api/v1/frameworks/").json()
        rows = body["results"] if isinstance(body, dict) else body
        return {row["name"] for row in rows}

    assert "Licensed Standard" not in names() and reference.name in names()
    assert client.get(f"/api/v1/frameworks/{licensed.pk}/").status_code == 404
    assert client.get(f"/api/v1/frameworks/{licensed.pk}/controls/").status_code == 404
    audit_grant(audrey, web_system)
    assert "Licensed Standard" in names()
    assert client.get(f"/api/v1/frameworks/{licensed.pk}/controls/").status_code == 200
