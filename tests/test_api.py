"""The REST API as ISSOs, compliance officers and approving officials use it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.models import Determination, Incident, IncidentEvent
from reporting.models import Obligation, Submission

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST, the Monday after DST ended


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _create(client, **body):
    body.setdefault("title", "Shell in store-frontend")
    return client.post("/api/v1/incidents/", body, format="json")


def test_isso_opens_incident_with_cisa_fields_and_gets_a_number(api, alice, web_system):
    response = _create(
        api(alice),
        systems=[web_system.pk],
        functional_impact="minimal_critical",
        information_impact=["suspected_not_identified", "core_credential_compromise"],
        recoverability="supplemented",
        location="2",
        attack_vectors=["web"],
        systems_affected_count=1,
        identified_at="2026-11-02T13:30:00Z",
        indicators=[{"type": "url", "value": "http://evil.example/rootkit.tgz"}],
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == "FTA-2026-0001"
    assert body["state"] == "detected"
    assert body["identified_at_local"] == "2026-11-02 08:30 EST (America/New_York)"
    assert [s["acronym"] for s in body["systems"]] == ["FTA-WEB"]
    assert body["indicators"][0]["value"] == "http://evil.example/rootkit.tgz"
    cisa = Obligation.objects.get(incident__number="FTA-2026-0001")
    assert cisa.due_at == datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"functional_impact": "catastrophic"}, "functional_impact"),
        ({"information_impact": ["no_impact", "stolen_cookies"]}, "information_impact"),
        ({"location": "9"}, "location"),
        ({"attack_vectors": ["telepathy"]}, "attack_vectors"),
        ({"nciss_level": 7}, "nciss_level"),
        ({"colour": "red"}, "colour"),
        ({"identified_at": "2026-11-02T15:00:00Z"}, "identified_at"),
    ],
)
def test_bad_incident_input_names_the_field_and_stores_nothing(api, alice, body, field):
    response = _create(api(alice), **body)
    assert response.status_code == 400
    assert field in str(response.json())
    assert not Incident.objects.exists()
    assert not IncidentEvent.objects.exists()
    assert not Obligation.objects.exists()


def test_incident_naming_another_agencys_system_is_refused(api, alice, b_system):
    response = _create(api(alice), systems=[b_system.pk])
    assert response.status_code == 400
    assert "No information system" in response.json()["detail"]
    assert not Incident.objects.exists()


def test_transition_not_allowed_answers_409_with_allowed_ones(api, alice, open_incident):
    incident = open_incident(now=NOW)
    url = f"/api/v1/incidents/{incident.number}/transitions/"
    response = api(alice).post(url, {"transition": "close"}, format="json")
    assert response.status_code == 409
    assert response.json()["allowed_transitions"] == ["dismiss", "start_triage"]
    incident.refresh_from_db()
    assert incident.state == "detected"
    assert not incident.events.filter(kind="transition").exists()


def test_isso_moves_incident_through_triage_to_confirmed(api, alice, open_incident):
    incident = open_incident(now=NOW)
    url = f"/api/v1/incidents/{incident.number}/transitions/"
    client = api(alice)
    assert (
        client.post(
            url, {"transition": "start_triage", "note": "looking"}, format="json"
        ).status_code
        == 200
    )
    response = client.post(url, {"transition": "confirm"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "confirmed"
    events = list(
        incident.events.filter(kind="transition").values_list(
            "from_state", "to_state", "actor__username"
        )
    )
    assert events == [("detected", "triage", "alice"), ("triage", "confirmed", "alice")]


def test_dismissal_needs_a_reason(api, alice, open_incident):
    incident = open_incident(now=NOW)
    url = f"/api/v1/incidents/{incident.number}/transitions/"
    response = api(alice).post(url, {"transition": "dismiss"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["detail"]
    response = api(alice).post(url, {"transition": "dismiss", "note": "Pen test"}, format="json")
    assert response.status_code == 200
    assert Obligation.objects.get(incident=incident).withdrawn_at is not None


def test_auditor_cannot_take_transitions(api, audrey, open_incident, agency_a):
    from incidents.models import AuditorGrant

    incident = open_incident(now=NOW)
    AuditorGrant.objects.create(incident=incident, user=audrey)
    url = f"/api/v1/incidents/{incident.number}/transitions/"
    response = api(audrey).post(url, {"transition": "start_triage"}, format="json")
    assert response.status_code == 409
    assert response.json()["allowed_transitions"] == []
    assert api(audrey).get(f"/api/v1/incidents/{incident.number}/").status_code == 200


def test_approving_official_determines_major_and_the_clocks_start(api, olivia, open_incident):
    incident = open_incident(now=NOW - timedelta(hours=2))
    response = api(olivia).post(
        f"/api/v1/incidents/{incident.number}/determinations/",
        {
            "decision": "major",
            "rationale": "Rootkit on a public store",
            "nciss_level": 3,
            "harms": {"public_confidence": {"likely": True, "note": "store defaced"}},
            "basis_at": "2026-11-02T13:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["recommendation"] == "major"
    assert [c["key"] for c in body["criteria_fired"]] == ["nciss_high", "demonstrable_harm"]
    congress = Obligation.objects.get(incident=incident, rule__key="congress-7-day")
    # 08:00 EST on 2 Nov → end of 9 Nov local = 10 Nov 04:59:59.999999 UTC
    assert congress.due_at == datetime(2026, 11, 10, 4, 59, 59, 999999, tzinfo=UTC)
    listed = (
        api(olivia)
        .get(f"/api/v1/obligations/?incident={incident.number}&rule=congress-7-day")
        .json()
    )
    assert listed["results"][0]["due_at_local"] == "2026-11-09 23:59 EST (America/New_York)"
    assert listed["results"][0]["status"] == "upcoming"


def test_recommendation_preview_writes_nothing(api, olivia, open_incident):
    incident = open_incident(now=NOW)
    response = api(olivia).post(
        f"/api/v1/incidents/{incident.number}/determinations/recommend/",
        {"pii_individuals": 250000, "pii_acts": ["exfiltration"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["recommendation"] == "major"
    assert response.json()["criteria_fired"][0]["key"] == "pii_100k"
    assert not Determination.objects.exists()


def test_determination_in_the_future_is_refused(api, olivia, open_incident):
    incident = open_incident(now=NOW)
    response = api(olivia).post(
        f"/api/v1/incidents/{incident.number}/determinations/",
        {"decision": "major", "rationale": "x", "basis_at": "2026-11-02T14:01:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "future" in response.json()["detail"]
    assert not Determination.objects.exists()
    assert not incident.events.filter(kind="determination").exists()


def test_only_an_approving_official_decides(api, alice, carol, open_incident):
    incident = open_incident(now=NOW)
    for user in (alice, carol):
        response = api(user).post(
            f"/api/v1/incidents/{incident.number}/determinations/",
            {"decision": "major", "rationale": "x"},
            format="json",
        )
        assert response.status_code == 403
    assert not Determination.objects.exists()


def test_correction_keeps_the_old_determination_visible(api, olivia, open_incident):
    incident = open_incident(now=NOW - timedelta(hours=3))
    url = f"/api/v1/incidents/{incident.number}/determinations/"
    api(olivia).post(
        url,
        {"decision": "major", "rationale": "first", "basis_at": "2026-11-02T12:00:00Z"},
        format="json",
    )
    api(olivia).post(
        url,
        {"decision": "major", "rationale": "earlier", "basis_at": "2026-11-02T11:30:00Z"},
        format="json",
    )
    listed = api(olivia).get(url).json()
    assert [(d["rationale"], d["current"]) for d in listed] == [("first", False), ("earlier", True)]
    recomputed = incident.events.filter(
        kind="clock_recomputed", data__rule="cisa-major-update"
    ).get()
    assert recomputed.data["old_due"] == "2026-11-02T13:00:00+00:00"
    assert recomputed.data["new_due"] == "2026-11-02T12:30:00+00:00"


def test_submission_meets_obligation_and_filters_by_status(api, carol, open_incident):
    incident = open_incident(now=NOW - timedelta(minutes=30))
    cisa = Obligation.objects.get(incident=incident)
    client = api(carol)
    assert client.get("/api/v1/obligations/?status=due_soon").json()["count"] == 1
    response = client.post(
        f"/api/v1/obligations/{cisa.pk}/submissions/",
        {"channel": "cisa_portal", "reference": "CISA-2026-123"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["recipients"] == ["CISA"]
    assert client.get("/api/v1/obligations/?status=met_on_time").json()["count"] == 1
    assert client.get("/api/v1/obligations/?status=due_soon").json()["count"] == 0
    assert (
        client.get(f"/api/v1/submissions/?obligation__incident__number={incident.number}").json()[
            "count"
        ]
        == 1
    )


def test_submission_in_the_future_or_with_bad_channel_is_refused(api, carol, open_incident):
    incident = open_incident(now=NOW)
    cisa = Obligation.objects.get(incident=incident)
    url = f"/api/v1/obligations/{cisa.pk}/submissions/"
    assert api(carol).post(url, {"channel": "pigeon"}, format="json").status_code == 400
    response = api(carol).post(
        url, {"channel": "email", "submitted_at": "2026-11-02T15:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert "future" in response.json()["detail"]
    assert not Submission.objects.exists()
    cisa.refresh_from_db()
    assert cisa.met_at is None


def test_waiver_is_for_approving_officials_with_a_reason(api, carol, olivia, open_incident):
    incident = open_incident(now=NOW)
    cisa = Obligation.objects.get(incident=incident)
    url = f"/api/v1/obligations/{cisa.pk}/waive/"
    assert api(carol).post(url, {"reason": "n/a"}, format="json").status_code == 403
    assert api(olivia).post(url, {}, format="json").status_code == 400
    response = api(olivia).post(url, {"reason": "Reported by the parent agency"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "waived"


def test_patch_logs_the_change_and_moves_the_clock(api, alice, open_incident):
    incident = open_incident(now=NOW)
    response = api(alice).patch(
        f"/api/v1/incidents/{incident.number}/",
        {"identified_at": "2026-11-02T13:00:00Z", "summary": "More detail"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    cisa = Obligation.objects.get(incident=incident)
    assert cisa.due_at == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    update = incident.events.get(kind="updated")
    assert set(update.data["changed"]) == {"identified_at", "summary"}


def test_schema_and_docs_are_served(api, carol):
    assert api(carol).get("/api/v1/schema/").status_code == 200
    assert api(carol).get("/api/v1/docs/").status_code == 200


def test_token_authentication_works(client, carol, open_incident):
    from rest_framework.authtoken.models import Token

    open_incident(now=NOW)
    token = Token.objects.create(user=carol)
    response = client.get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_user_with_two_agencies_must_choose(api, agency_a, agency_b, carol):
    from accounts.models import Role
    from accounts.services import membership_grant

    membership_grant(user=carol, agency=agency_b, role=Role.COMPLIANCE_OFFICER)
    response = api(carol).get("/api/v1/incidents/")
    assert response.status_code == 403
    assert "X-Docket-Agency" in response.json()["detail"]
    assert api(carol, agency_b).get("/api/v1/incidents/").status_code == 200


@pytest.mark.parametrize("count", [1, 6])
def test_incident_list_query_count_is_constant(
    api, carol, open_incident, web_system, django_assert_num_queries, count
):
    for _ in range(count):
        open_incident(now=NOW)
    client = api(carol)
    client.get("/api/v1/incidents/")  # warm the content-type cache
    # session/auth 0 (forced), memberships 2 (context), count, page, prefetch ×3
    with django_assert_num_queries(7):
        response = client.get("/api/v1/incidents/")
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [1, 6])
def test_obligation_list_query_count_is_constant(
    api, carol, olivia, open_incident, ctx, agency_a, django_assert_num_queries, count
):
    from incidents.services import determination_record

    for _ in range(count):
        incident = open_incident(now=NOW)
        determination_record(
            ctx=ctx(olivia, agency_a), incident=incident, decision="major", rationale="r", now=NOW
        )
    client = api(carol)
    with django_assert_num_queries(4):
        response = client.get("/api/v1/obligations/")
    assert response.json()["count"] == 4 * count
