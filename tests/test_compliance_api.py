"""The compliance API: a system's state as of an instant, assessments, frameworks and their
controls, as each persona calls it, and isolated from the other agency.

Timeline (UTC, 2026) on FTA-WEB under the "Test framework": AC-1 satisfied on 1 March, found
other than satisfied on 1 June; AC-2 not applicable on 1 April; AC-3 never assessed.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.context import context_for
from compliance.models import AssessmentStatus, Control, ControlAssessment, Framework
from compliance.services import assessment_record

from .support.compliance import make_framework
from .support.factories import SystemFactory

S = AssessmentStatus
MARCH = datetime(2026, 3, 1, 12, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, 12, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, 12, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def framework(db):
    return make_framework(3)


@pytest.fixture
def history(framework, web_system, carol, agency_a):
    fw, (ac1, ac2, _ac3) = framework
    c = context_for(carol, agency_a)
    for control, status, at in [
        (ac1, S.SATISFIED, MARCH),
        (ac2, S.NOT_APPLICABLE, APRIL),
        (ac1, S.OTHER_THAN_SATISFIED, JUNE),
    ]:
        assessment_record(
            ctx=c,
            system=web_system,
            control=control,
            status=status,
            assessed_at=at,
            method="test",
            now=NOW - timedelta(days=1),
        )
    return fw


def _state_url(system, fw, **params):
    query = "&".join(f"{k}={v}" for k, v in {"framework": fw.pk, **params}.items())
    return f"/api/v1/systems/{system.pk}/state/?{query}"


# --- state as of --------------------------------------------------------------------------------


def test_state_now_counts_and_latest_assessments(api, carol, web_system, history):
    response = api(carol).get(_state_url(web_system, history))
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert body["counts"] == {
        "satisfied": 0,
        "other_than_satisfied": 1,
        "not_applicable": 1,
        "not_assessed": 1,
    }
    assert body["percentages"]["other_than_satisfied"] == 33.3
    by_id = {c["control"]["identifier"]: c for c in body["controls"]}
    assert by_id["ac-1"]["status"] == "other_than_satisfied"
    assert by_id["ac-1"]["assessment"]["assessed_at"] == "2026-06-01T12:00:00Z"
    assert by_id["ac-1"]["assessment"]["assessor"] == "carol"
    assert by_id["ac-1"]["assessment"]["assessed_at_local"] == (
        "2026-06-01 08:00 EDT (America/New_York)"
    )
    assert by_id["ac-3"] == {
        "control": by_id["ac-3"]["control"],
        "status": "not_assessed",
        "assessment": None,
    }
    assert body["as_of_local"] == "2026-11-02 09:00 EST (America/New_York)"


def test_state_as_of_a_past_instant(api, carol, web_system, history):
    body = api(carol).get(_state_url(web_system, history, as_of="2026-05-01T00:00:00Z")).json()
    by_id = {c["control"]["identifier"]: c["status"] for c in body["controls"]}
    assert by_id == {"ac-1": "satisfied", "ac-2": "not_applicable", "ac-3": "not_assessed"}
    assert body["as_of"] == "2026-05-01T00:00:00Z"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"as_of": "2026-11-03T00:00:00Z"}, "as_of: 2026-11-03T00:00:00+00:00 is in the future"),
        ({"as_of": "2026-05-01T00:00:00"}, "as_of: Needs a time zone"),
        ({"as_of": "May"}, "as_of: Datetime has wrong format"),
    ],
)
def test_state_refuses_bad_instants_by_name(api, carol, web_system, history, params, message):
    response = api(carol).get(_state_url(web_system, history, **params))
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)


def test_state_needs_a_visible_framework(api, carol, web_system, history, agency_b):
    client = api(carol)
    missing = client.get(f"/api/v1/systems/{web_system.pk}/state/")
    assert missing.status_code == 400 and missing.json()["field"] == "framework"
    # Another agency licensed it: invisible to FTA.
    Framework.objects.filter(pk=history.pk).update(agency=agency_b)
    hidden = client.get(_state_url(web_system, history))
    assert hidden.status_code == 400
    assert hidden.json()["detail"] == f"framework: no framework {history.pk}."


def test_state_query_count_does_not_grow_with_controls(
    api, carol, web_system, django_assert_num_queries
):
    small, _ = make_framework(3, name="Small")
    big, controls = make_framework(60, name="Big")
    ControlAssessment.objects.bulk_create(
        ControlAssessment(
            system=web_system, control=c, status=S.SATISFIED, assessed_at=MARCH, recorded_at=NOW
        )
        for c in controls
    )
    client = api(carol)
    client.get(_state_url(web_system, small))
    with CaptureQueriesContext(connection) as one:
        assert client.get(_state_url(web_system, small)).status_code == 200
    with django_assert_num_queries(len(one.captured_queries)):
        body = client.get(_state_url(web_system, big)).json()
    assert body["counts"]["satisfied"] == 60


# --- assessments --------------------------------------------------------------------------------


def test_assessments_list_filters_by_system_control_framework_and_time(
    api, carol, web_system, hr_system, history
):
    fw, (ac1, *_) = history, list(history.controls.all())
    other, (other_ac1,) = make_framework(1, name="Other")
    c = context_for(carol, web_system.agency)
    assessment_record(
        ctx=c, system=hr_system, control=ac1, status=S.SATISFIED, assessed_at=JUNE, now=NOW
    )
    assessment_record(
        ctx=c, system=web_system, control=other_ac1, status=S.SATISFIED, assessed_at=JUNE, now=NOW
    )
    client = api(carol)

    def ids(**params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        body = client.get(f"/api/v1/assessments/?{query}").json()
        return [
            (a["system_acronym"], a["control"]["identifier"], a["assessed_at"][:10])
            for a in body["results"]
        ]

    assert len(ids()) == 5
    assert ids(system=hr_system.pk) == [("FTA-HR", "ac-1", "2026-06-01")]
    assert ids(system=web_system.pk, control=ac1.pk) == [
        ("FTA-WEB", "ac-1", "2026-06-01"),
        ("FTA-WEB", "ac-1", "2026-03-01"),
    ]
    assert ids(framework=other.pk) == [("FTA-WEB", "ac-1", "2026-06-01")]
    assert ids(
        system=web_system.pk,
        framework=fw.pk,
        assessed_after="2026-03-15T00:00:00Z",
        assessed_before="2026-06-01T12:00:00Z",
    ) == [("FTA-WEB", "ac-2", "2026-04-01")]
    assert ids(status="not_applicable") == [("FTA-WEB", "ac-2", "2026-04-01")]


def test_assessments_list_query_count_is_pinned(
    api, carol, agency_a, web_system, history, django_assert_num_queries
):
    controls = list(history.controls.all())
    for i in range(5):
        system = SystemFactory(agency=agency_a, acronym=f"FTA-Q{i}")
        for control in controls:
            assessment_record(
                ctx=context_for(carol, agency_a),
                system=system,
                control=control,
                status=S.SATISFIED,
                assessed_at=MARCH,
                now=NOW,
            )
    client = api(carol)
    # Session/agency context (2), the count, the page with its joins.
    with django_assert_num_queries(4):
        body = client.get("/api/v1/assessments/").json()
    assert body["count"] == 18


def test_isso_records_and_lists_only_assigned_systems(
    api, alice, carol, web_system, hr_system, history
):
    ac3 = Control.objects.get(framework=history, identifier="ac-3")
    client = api(alice)
    response = client.post(
        "/api/v1/assessments/",
        {
            "system": web_system.pk,
            "control": ac3.pk,
            "status": "other_than_satisfied",
            "implementation_status": "partial",
            "assessed_at": "2026-11-02T08:30:00-05:00",
            "method": "interview",
            "finding": "Not yet documented.",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["assessed_at"] == "2026-11-02T13:30:00Z"
    assert (body["assessor"], body["recorded_by"]) == ("alice", "alice")
    assert body["recorded_at"] == "2026-11-02T14:00:00Z"

    refused = client.post(
        "/api/v1/assessments/",
        {
            "system": hr_system.pk,
            "control": ac3.pk,
            "status": "satisfied",
            "assessed_at": "2026-11-01T00:00:00Z",
        },
        format="json",
    )
    assert refused.status_code == 404
    assert not ControlAssessment.objects.filter(system=hr_system).exists()
    carol_hr = assessment_record(
        ctx=context_for(carol, hr_system.agency),
        system=hr_system,
        control=ac3,
        status=S.SATISFIED,
        assessed_at=MARCH,
        now=NOW,
    )
    listed = client.get("/api/v1/assessments/").json()
    assert {a["system_acronym"] for a in listed["results"]} == {"FTA-WEB"}
    assert client.get(f"/api/v1/assessments/{carol_hr.pk}/").status_code == 404
    assert client.get(_state_url(hr_system, history)).status_code == 404
    assert [s["acronym"] for s in client.get("/api/v1/systems/").json()["results"]] == ["FTA-WEB"]


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"assessed_at": "2026-11-02T14:00:01Z"}, 400, "Assessed at cannot be in the future"),
        ({"assessed_at": "2026-11-01T10:00:00"}, 400, "Needs a time zone"),
        ({"status": "great"}, 400, "not a valid choice"),
        ({"control": 987654}, 400, "No control 987654"),
        ({"colour": "red"}, 400, "Unknown field"),
    ],
)
def test_bad_assessment_is_refused_by_name(
    api, carol, web_system, history, changes, status, message
):
    ac3 = Control.objects.get(framework=history, identifier="ac-3")
    data = {
        "system": web_system.pk,
        "control": ac3.pk,
        "status": "satisfied",
        "assessed_at": "2026-11-01T10:00:00Z",
        **changes,
    }
    response = api(carol).post("/api/v1/assessments/", data, format="json")
    assert response.status_code == status
    assert message in str(response.json())
    assert ControlAssessment.objects.count() == 3


def test_control_of_a_framework_not_visible_cannot_be_assessed(
    api, carol, web_system, history, agency_b
):
    hidden, (hidden_ac1,) = make_framework(1, name="Hidden")
    # Another agency licensed it: invisible to FTA.
    Framework.objects.filter(pk=hidden.pk).update(agency=agency_b)
    client = api(carol)
    response = client.post(
        "/api/v1/assessments/",
        {
            "system": web_system.pk,
            "control": hidden_ac1.pk,
            "status": "satisfied",
            "assessed_at": "2026-11-01T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "control"
    assert not ControlAssessment.objects.filter(control=hidden_ac1).exists()
    names = [f["name"] for f in client.get("/api/v1/frameworks/").json()["results"]]
    assert "Hidden" not in names and "Test framework" in names
    assert client.get(f"/api/v1/frameworks/{hidden.pk}/controls/").status_code == 404


@pytest.mark.parametrize("persona", ["audrey", "olivia", "adam"])
def test_readers_read_but_cannot_record(request, api, persona, web_system, history, audit_grant):
    user = request.getfixturevalue(persona)
    if persona == "audrey":  # an auditor reads FTA-WEB through an incident granted to her
        audit_grant(user, web_system)
    client = api(user)
    assert client.get("/api/v1/assessments/").json()["count"] == 3
    assert client.get(_state_url(web_system, history)).status_code == 200
    ac3 = Control.objects.get(framework=history, identifier="ac-3")
    response = client.post(
        "/api/v1/assessments/",
        {
            "system": web_system.pk,
            "control": ac3.pk,
            "status": "satisfied",
            "assessed_at": "2026-11-01T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 403
    assert ControlAssessment.objects.count() == 3


def test_assessments_cannot_be_changed_or_deleted(api, carol, history):
    pk = ControlAssessment.objects.first().pk
    client = api(carol)
    assert (
        client.patch(f"/api/v1/assessments/{pk}/", {"finding": "x"}, format="json").status_code
        == 405
    )
    assert client.delete(f"/api/v1/assessments/{pk}/").status_code == 405


# --- frameworks -------------------------------------------------------------------------------


def test_frameworks_and_their_controls_in_catalog_order(
    api, carol, history, django_assert_num_queries
):
    make_framework(40, name="Big")
    client = api(carol)
    with django_assert_num_queries(4):
        body = client.get("/api/v1/frameworks/").json()
    listed = [(f["name"], f["control_count"]) for f in body["results"]]
    # The skeletons Docket ships (CIS, PCI DSS) are listed beside the test frameworks, by name.
    assert [row for row in listed if row[0] in {"Big", "Test framework"}] == [
        ("Big", 40),
        ("Test framework", 3),
    ]
    assert "PCI DSS" in {name for name, _ in listed}
    assert [name for name, _ in listed] == sorted(name for name, _ in listed)
    big = Framework.objects.get(name="Big")
    # Context (2), the framework, the count, the page.
    with django_assert_num_queries(5):
        controls = client.get(f"/api/v1/frameworks/{big.pk}/controls/").json()
    assert controls["count"] == 40
    assert [c["identifier"] for c in controls["results"][:3]] == ["ac-1", "ac-2", "ac-3"]
    assert controls["results"][9]["identifier"] == "ac-10"


# --- isolation --------------------------------------------------------------------------------


def test_outsider_reaches_none_of_our_compliance_data(api, bob, b_system, web_system, history):
    client = api(bob)
    assessment = ControlAssessment.objects.first()
    assert client.get(_state_url(web_system, history)).status_code == 404
    assert client.get(f"/api/v1/assessments/{assessment.pk}/").status_code == 404
    listed = client.get("/api/v1/assessments/").json()
    assert listed["count"] == 0
    assert client.get(f"/api/v1/assessments/?system={web_system.pk}").json()["count"] == 0
    ac3 = Control.objects.get(framework=history, identifier="ac-3")
    response = client.post(
        "/api/v1/assessments/",
        {
            "system": web_system.pk,
            "control": ac3.pk,
            "status": "satisfied",
            "assessed_at": "2026-11-01T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 404
    assert ControlAssessment.objects.count() == 3
    # Their own system's state does not count our assessments.
    own = client.get(_state_url(b_system, history)).json()
    assert own["counts"]["not_assessed"] == 3
    assert "FTA-" not in str(client.get("/api/v1/systems/").json())


def test_systems_list_query_count_is_pinned(api, carol, agency_a, django_assert_num_queries):
    for i in range(12):
        SystemFactory(agency=agency_a, acronym=f"FTA-L{i}")
    with django_assert_num_queries(4):
        body = api(carol).get("/api/v1/systems/").json()
    assert body["count"] == 12


def test_schema_documents_the_compliance_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/systems/{id}/state/", "get"),
        ("/api/v1/assessments/", "get"),
        ("/api/v1/assessments/", "post"),
        ("/api/v1/frameworks/", "get"),
        ("/api/v1/frameworks/{id}/controls/", "get"),
    ]:
        assert method in paths[path], (path, method)
    state_params = {p["name"] for p in paths["/api/v1/systems/{id}/state/"]["get"]["parameters"]}
    assert {"framework", "as_of"} <= state_params
    list_params = {p["name"] for p in paths["/api/v1/assessments/"]["get"]["parameters"]}
    assert {"system", "control", "framework", "assessed_after", "assessed_before"} <= list_params


def test_state_accepts_an_offset_whose_plus_was_not_encoded(api, carol, web_system, history):
    url = f"/api/v1/systems/{web_system.pk}/state/?framework={history.pk}"
    body = api(carol).get(url + "&as_of=2026-05-01T02:00:00+02:00").json()
    assert body["as_of"] == "2026-05-01T00:00:00Z"


def test_state_known_at_leaves_out_what_was_recorded_later(api, carol, web_system, framework):
    fw, (ac1, *_) = framework
    c = context_for(carol, web_system.agency)
    assessment_record(
        ctx=c, system=web_system, control=ac1, status=S.SATISFIED, assessed_at=MARCH, now=APRIL
    )
    # Recorded in September, effective from 2 March: a correction after the fact.
    assessment_record(
        ctx=c,
        system=web_system,
        control=ac1,
        status=S.OTHER_THAN_SATISFIED,
        assessed_at=MARCH + timedelta(days=1),
        now=datetime(2026, 9, 1, tzinfo=UTC),
    )
    client = api(carol)

    def ac1_status(**params):
        body = client.get(_state_url(web_system, fw, as_of="2026-06-01T00:00:00Z", **params))
        assert body.status_code == 200, body.json()
        return next(c["status"] for c in body.json()["controls"] if c["control"]["id"] == ac1.pk)

    assert ac1_status() == "other_than_satisfied"
    assert ac1_status(known_at="2026-06-01T00:00:00Z") == "satisfied"
    bad = client.get(_state_url(web_system, fw, known_at="2027-01-01T00:00:00Z"))
    assert bad.status_code == 400 and bad.json()["field"] == "known_at"
