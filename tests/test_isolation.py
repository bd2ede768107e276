"""Agency isolation and role scoping, endpoint by endpoint (netbox-style permission matrix).

Agency A's incident carries everything the API serves (determination, obligations, a
submission, additional information, events); agency B's bob must see none of it, reach none
of it by id, and change none of it. Inside agency A, ISSOs see their systems' incidents and
auditors only what they were granted.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.context import context_for
from incidents.models import AuditorGrant, Determination, Incident, IncidentEvent
from incidents.services import additional_information_record, determination_record, incident_open
from reporting.models import Obligation, Submission
from reporting.services import submission_record

NOW = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def a_world(agency_a, alice, olivia, carol, open_incident):
    incident = open_incident(now=NOW - timedelta(hours=5), title="A secret incident")
    det = determination_record(
        ctx=context_for(olivia, agency_a),
        incident=incident,
        decision="major",
        rationale="r",
        nciss_level=3,
        now=NOW - timedelta(hours=4),
    )
    additional_information_record(
        ctx=context_for(alice, agency_a),
        incident=incident,
        summary="more",
        now=NOW - timedelta(hours=3),
    )
    cisa = Obligation.objects.get(incident=incident, rule__key="cisa-initial")
    sub = submission_record(
        ctx=context_for(carol, agency_a),
        obligation=cisa,
        channel="email",
        now=NOW - timedelta(hours=4, minutes=30),
    )
    return {"incident": incident, "determination": det, "obligation": cisa, "submission": sub}


@pytest.fixture
def b_incident(agency_b, bob, b_system):
    return incident_open(
        ctx=context_for(bob, agency_b),
        title="B incident",
        systems=[b_system.pk],
        now=NOW - timedelta(hours=1),
    )


def _list_urls():
    return [
        "/api/v1/incidents/",
        "/api/v1/obligations/",
        "/api/v1/submissions/",
        "/api/v1/determinations/",
        "/api/v1/systems/",
    ]


def test_outsider_lists_only_their_own_agency(api, bob, a_world, b_incident):
    client = api(bob)
    for url in _list_urls():
        body = client.get(url).json()
        text = str(body)
        assert "FTA-" not in text, url
        assert "A secret incident" not in text, url
        assert "Public web store" not in text, url
    assert [i["number"] for i in client.get("/api/v1/incidents/").json()["results"]] == [
        b_incident.number
    ]


def test_outsider_cannot_reach_another_agencys_objects_by_id(api, bob, a_world, b_incident):
    number = a_world["incident"].number
    client = api(bob)
    for url in [
        f"/api/v1/incidents/{number}/",
        f"/api/v1/incidents/{number}/events/",
        f"/api/v1/incidents/{number}/determinations/",
        f"/api/v1/incidents/{number}/transitions/",
        f"/api/v1/obligations/{a_world['obligation'].pk}/",
        f"/api/v1/submissions/{a_world['submission'].pk}/",
        f"/api/v1/determinations/{a_world['determination'].pk}/",
        f"/api/v1/systems/{a_world['incident'].systems.get().pk}/",
    ]:
        assert client.get(url).status_code == 404, url


def test_outsider_cannot_write_to_another_agency(api, bob, a_world, b_incident):
    incident, ob = a_world["incident"], a_world["obligation"]
    client = api(bob)
    before = (
        IncidentEvent.objects.count(),
        Determination.objects.count(),
        Submission.objects.count(),
    )
    writes = [
        ("patch", f"/api/v1/incidents/{incident.number}/", {"title": "pwned"}),
        (
            "post",
            f"/api/v1/incidents/{incident.number}/transitions/",
            {"transition": "start_triage"},
        ),
        (
            "post",
            f"/api/v1/incidents/{incident.number}/determinations/",
            {"decision": "not_major", "rationale": "x"},
        ),
        ("post", f"/api/v1/incidents/{incident.number}/additional-information/", {"summary": "x"}),
        (
            "post",
            f"/api/v1/incidents/{incident.number}/indicators/",
            {"type": "domain", "value": "x.example"},
        ),
        ("post", f"/api/v1/obligations/{ob.pk}/submissions/", {"channel": "email"}),
        ("post", f"/api/v1/obligations/{ob.pk}/waive/", {"reason": "x"}),
    ]
    for method, url, body in writes:
        assert getattr(client, method)(url, body, format="json").status_code == 404, url
    incident.refresh_from_db()
    assert incident.title == "A secret incident"
    assert (
        IncidentEvent.objects.count(),
        Determination.objects.count(),
        Submission.objects.count(),
    ) == before


def test_outsider_naming_their_agency_header_for_another_is_refused(api, bob, a_world, agency_a):
    response = api(bob, agency_a).get("/api/v1/incidents/")
    assert response.status_code == 403
    assert "no role in agency" in response.json()["detail"]


def test_outsider_cannot_attach_another_agencys_incident_as_related(api, bob, a_world, b_incident):
    response = api(bob).patch(
        f"/api/v1/incidents/{b_incident.number}/",
        {"related": [a_world["incident"].number]},
        format="json",
    )
    assert response.status_code == 400
    assert not b_incident.related.exists()


def test_isso_sees_only_incidents_of_assigned_systems(
    api, alice, carol, agency_a, hr_system, a_world
):
    hr_incident = incident_open(
        ctx=context_for(carol, agency_a), title="HR leak", systems=[hr_system.pk], now=NOW
    )
    numbers = [i["number"] for i in api(alice).get("/api/v1/incidents/").json()["results"]]
    assert numbers == [a_world["incident"].number]
    assert api(alice).get(f"/api/v1/incidents/{hr_incident.number}/").status_code == 404
    obligations = api(alice).get("/api/v1/obligations/").json()["results"]
    assert {o["incident"] for o in obligations} == {a_world["incident"].number}
    # The compliance officer sees both.
    assert api(carol).get("/api/v1/incidents/").json()["count"] == 2


def test_auditor_sees_only_granted_incidents(api, audrey, carol, agency_a, hr_system, a_world):
    incident_open(
        ctx=context_for(carol, agency_a), title="HR leak", systems=[hr_system.pk], now=NOW
    )
    assert api(audrey).get("/api/v1/incidents/").json()["count"] == 0
    AuditorGrant.objects.create(incident=a_world["incident"], user=audrey)
    listed = api(audrey).get("/api/v1/incidents/").json()["results"]
    assert [i["number"] for i in listed] == [a_world["incident"].number]
    assert (
        api(audrey).get(f"/api/v1/incidents/{a_world['incident'].number}/events/").status_code
        == 200
    )


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 201), ("carol", 201), ("olivia", 403), ("audrey", 403), ("adam", 403)],
)
def test_who_may_open_an_incident(request, api, persona, status, web_system):
    user = request.getfixturevalue(persona)
    response = api(user).post(
        "/api/v1/incidents/", {"title": "x", "systems": [web_system.pk]}, format="json"
    )
    assert response.status_code == status
    assert Incident.objects.exists() is (status == 201)


def test_anonymous_gets_nothing(client, a_world):
    detail = f"/api/v1/incidents/{a_world['incident'].number}/"
    for url in [*_list_urls(), "/api/v1/schema/", detail]:
        assert client.get(url).status_code in (401, 403), url


def test_pages_show_only_the_active_agency(client, bob, a_world, agency_a):
    client.force_login(bob)
    assert client.get("/")["Location"] == "/deadlines/"
    for url in ("/deadlines/", "/incidents/"):
        response = client.get(url)
        assert response.status_code == 200
        assert b"OTA" in response.content
        assert b"FTA" not in response.content
        assert b"A secret incident" not in response.content
    assert client.get(f"/incidents/{a_world['incident'].number}/").status_code == 404
    assert client.post("/agency/", {"agency": agency_a.abbreviation}).status_code == 404


def test_any_member_signs_in_through_the_sign_in_page(client, alice):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    board = client.get("/", follow=True)
    assert b"FTA" in board.content
    assert b"America/New_York" in board.content
