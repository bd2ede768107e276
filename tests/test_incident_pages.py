"""The incident pages as ISSOs, compliance officers, approving officials and auditors use them."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse as _reverse

from incidents.models import (
    AuditorGrant,
    Determination,
    Incident,
    IncidentEvent,
    State,
)
from incidents.services import (
    additional_information_record,
    determination_record,
    incident_transition,
    indicator_add,
)
from reporting.models import Obligation

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST, the Monday after DST ended
EARLIER = NOW - timedelta(hours=2)
HARMS = (
    "national_security",
    "foreign_relations",
    "economy",
    "public_confidence",
    "civil_liberties",
    "public_health_safety",
)


def reverse(name, args=()):
    """The pages' URLs (the REST API's router registers some of the same names)."""
    return _reverse(name, args=args, urlconf="incidents.urls")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


def _numbers(response):
    return re.findall(r'href="/incidents/(FTA-\d{4}-\d{4})/"', response.content.decode())


def _text(response):
    return response.content.decode()


# --- list ---------------------------------------------------------------------------------------


def test_list_shows_rows_with_state_systems_and_next_deadline_in_local_time(
    login, carol, open_incident
):
    incident = open_incident(now=EARLIER, identified_at=EARLIER)
    response = login(carol).get(reverse("incident-list"))
    assert response.status_code == 200
    body = _text(response)
    assert _numbers(response) == [incident.number]
    assert "Shell spawned in store-frontend" in body
    assert "Detected" in body and "FTA-WEB" in body
    # CISA's one hour from identification: 13:00 UTC = 08:00 EST, zone printed.
    assert "2026-11-02 08:00 EST (America/New_York)" in body
    assert 'data-due="2026-11-02T13:00:00+00:00"' in body
    assert "overdue by 1 h 0 min" in body


def test_list_filters_by_state_major_system_and_due_window(
    login, carol, olivia, ctx, agency_a, open_incident, hr_system
):
    detected = open_incident(now=EARLIER, title="still detected")
    triaged = open_incident(now=EARLIER, title="in triage", systems=[hr_system.pk], by=carol)
    incident_transition(ctx=ctx(carol, agency_a), incident=triaged, transition="start_triage")
    major = open_incident(now=NOW - timedelta(minutes=30), title="the major one")
    determination_record(
        ctx=ctx(olivia, agency_a),
        incident=major,
        decision="major",
        rationale="Exfiltration of 200,000 records.",
        nciss_level=3,
        now=NOW - timedelta(minutes=20),
    )
    client = login(carol)
    url = reverse("incident-list")

    def numbers(**params):
        return set(_numbers(client.get(url, params)))

    assert numbers() == {detected.number, triaged.number, major.number}
    assert numbers(state=["triage"]) == {triaged.number}
    assert numbers(state=["triage", "detected"]) == {detected.number, triaged.number, major.number}
    assert numbers(major="yes") == {major.number}
    assert numbers(major="no") == {detected.number, triaged.number}
    assert numbers(system=str(hr_system.pk)) == {triaged.number}
    # The first two are past CISA's hour; the major one's CISA clocks run until 14:30 / 14:40.
    assert numbers(due="overdue") == {detected.number, triaged.number}
    assert numbers(due="24h") == {major.number}
    assert numbers(due="7d") == {major.number}


def test_list_sorts_and_paginates(login, carol, open_incident):
    opened = [
        open_incident(now=NOW, identified_at=NOW - timedelta(minutes=i), title=f"incident {i}")
        for i in range(27)
    ]
    client = login(carol)
    url = reverse("incident-list")

    first = client.get(url)
    assert _numbers(first) == [i.number for i in opened[:25]]  # newest identified first
    assert 'aria-current="page"' in _text(first) and "usa-pagination" in _text(first)
    second = client.get(url, {"page": 2})
    assert _numbers(second) == [i.number for i in opened[25:]]

    ascending = client.get(url, {"sort": "identified_at"})
    assert _numbers(ascending)[:2] == [opened[26].number, opened[25].number]
    by_number = client.get(url, {"sort": "number"})
    assert _numbers(by_number)[:3] == ["FTA-2026-0001", "FTA-2026-0002", "FTA-2026-0003"]
    by_number_desc = client.get(url, {"sort": "-number", "page": 2})
    assert _numbers(by_number_desc) == ["FTA-2026-0002", "FTA-2026-0001"]

    incident_transition(
        ctx=_ctx(carol), incident=opened[5], transition="dismiss", note="false positive"
    )
    by_state = client.get(url, {"sort": "-state"})
    assert _numbers(by_state)[0] == opened[5].number  # dismissed is last in the lifecycle
    assert _numbers(client.get(url, {"sort": "state", "page": 2}))[-1] == opened[5].number


def _ctx(user):
    from accounts.context import context_for

    return context_for(user, user.memberships.first().agency)


def test_list_query_count_does_not_grow_with_rows(
    login, carol, open_incident, django_assert_num_queries
):
    open_incident(now=EARLIER)
    client = login(carol)
    url = reverse("incident-list")
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for _ in range(9):
        open_incident(now=EARLIER)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert len(_numbers(response)) == 10


# --- detail -------------------------------------------------------------------------------------


def test_detail_shows_cisa_fields_with_labels_and_the_event_log(login, carol, open_incident):
    incident = open_incident(
        now=EARLIER,
        functional_impact="minimal_critical",
        information_impact=["core_credential_compromise"],
        location="2",
        attack_vectors=["email_phishing"],
        poc_name="Pat Doe",
    )
    indicator_add(ctx=_ctx(carol), incident=incident, type="domain", value="evil.example")
    body = _text(login(carol).get(reverse("incident-detail", args=[incident.number])))
    for text in (
        "Minimal Impact to Critical Services",
        "Core Credential Compromise",
        "Level 2 – Business Network",
        "Email/Phishing",
        "Pat Doe",
        "evil.example",
        "FTA-WEB",
        "CISA incident notification",
        "2026-11-02 07:00 EST (America/New_York)",  # opened at 12:00 UTC
        "Opened",
        "alice",
    ):
        assert text in body, text


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("alice", {"start_triage", "dismiss"}),
        ("carol", {"start_triage", "dismiss"}),
        ("olivia", set()),
        ("audrey", set()),
    ],
)
def test_detail_offers_only_the_allowed_transitions(
    request, login, persona, expected, open_incident, audrey
):
    incident = open_incident(now=EARLIER)
    AuditorGrant.objects.create(incident=incident, user=audrey)
    response = login(request.getfixturevalue(persona)).get(
        reverse("incident-detail", args=[incident.number])
    )
    assert response.status_code == 200
    offered = set(re.findall(r'name="transition" value="(\w+)"', _text(response)))
    assert offered == expected


def test_posting_a_transition_moves_the_state_and_logs_it(login, alice, open_incident):
    incident = open_incident(now=EARLIER)
    client = login(alice)
    url = reverse("incident-transition", args=[incident.number])
    response = client.post(url, {"transition": "start_triage"}, follow=True)
    assert response.status_code == 200
    assert "is now triage" in _text(response)
    incident.refresh_from_db()
    assert incident.state == State.TRIAGE
    event = IncidentEvent.objects.filter(incident=incident, kind="transition").get()
    assert (event.from_state, event.to_state, event.actor) == ("detected", "triage", alice)
    assert "detected → triage" in _text(response)


def test_a_refused_transition_shows_the_message_and_changes_nothing(login, alice, open_incident):
    incident = open_incident(now=EARLIER)
    events = IncidentEvent.objects.count()
    response = login(alice).post(
        reverse("incident-transition", args=[incident.number]), {"transition": "close"}
    )
    assert response.status_code == 409
    assert re.search(
        r"is not allowed from state .*detected.* allowed: "
        r"(start_triage, dismiss|dismiss, start_triage)\.",
        _text(response),
    )
    incident.refresh_from_db()
    assert incident.state == State.DETECTED
    assert IncidentEvent.objects.count() == events


def test_dismissing_needs_a_reason(login, alice, open_incident):
    incident = open_incident(now=EARLIER)
    response = login(alice).post(
        reverse("incident-transition", args=[incident.number]), {"transition": "dismiss"}
    )
    assert response.status_code == 400
    assert "needs a reason" in _text(response)
    assert 'aria-describedby="dismiss-note-error"' in _text(response)
    incident.refresh_from_db()
    assert incident.state == State.DETECTED


def test_detail_query_count_does_not_grow_with_history(
    login, carol, olivia, agency_a, ctx, open_incident, django_assert_num_queries
):
    small = open_incident(now=EARLIER)
    big = open_incident(now=EARLIER, related=[small.number])
    for i in range(10):
        indicator_add(ctx=ctx(carol, agency_a), incident=big, type="domain", value=f"e{i}.example")
    for rationale, decision in (("first look", "suspected_major"), ("confirmed", "major")):
        determination_record(
            ctx=ctx(olivia, agency_a), incident=big, decision=decision, rationale=rationale
        )
    for i in range(3):
        additional_information_record(ctx=ctx(carol, agency_a), incident=big, summary=f"news {i}")
    client = login(olivia)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("incident-detail", args=[small.number])).status_code == 200
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(reverse("incident-detail", args=[big.number]))
    assert "Supplemental report to Congress" in _text(response)


def test_additional_information_is_recorded_from_the_detail_page(login, carol, open_incident):
    incident = open_incident(now=EARLIER)
    client = login(carol)
    url = reverse("incident-additional-information", args=[incident.number])
    empty = client.post(url, {"summary": ""})
    assert empty.status_code == 400
    assert "info-summary-error" in _text(empty)
    response = client.post(url, {"summary": "Second host found."}, follow=True)
    assert "Second host found." in _text(response)
    assert incident.additional_information.count() == 1


# --- create / edit ------------------------------------------------------------------------------


def _form(**overrides):
    data = {
        "title": "Phishing wave",
        "summary": "Credential phishing against staff.",
        "identified_at": "2026-11-02T08:30",
        "functional_impact": "no_impact",
        "information_impact": ["suspected_not_identified"],
        "recoverability": "regular",
        "location": "2",
        "attack_vectors": ["email_phishing"],
        "systems_affected_count": "1",
        "poc_name": "Pat Doe",
        "poc_email": "pat@example.gov",
        "nciss_level": "1",
    }
    data.update(overrides)
    return data


def test_create_form_renders_uswds_markup_with_a_local_default(login, alice, web_system):
    response = login(alice).get(reverse("incident-create"))
    body = _text(response)
    assert response.status_code == 200
    assert 'class="usa-checkbox__input"' in body and 'name="attack_vectors"' in body
    assert 'class="usa-select"' in body and 'class="usa-label"' in body
    assert 'value="2026-11-02T09:00"' in body  # now, on New York's wall clock
    assert "FTA-WEB" in body


def test_create_reads_local_time_in_the_agency_zone_on_a_dst_night(login, alice, web_system):
    response = login(alice).post(
        reverse("incident-create"),
        _form(identified_at="2026-11-01T02:30", systems=[str(web_system.pk)]),
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("incident-detail", args=[incident.number])
    # 02:30 after the clocks went back is EST (UTC-5).
    assert incident.identified_at == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    assert incident.attack_vectors == ["email_phishing"]
    assert list(incident.systems.all()) == [web_system]
    assert incident.created_by == alice


@pytest.mark.parametrize(
    ("local", "words"),
    [
        ("2026-11-01T01:30", "occurs twice in America/New_York"),
        ("2026-03-08T02:30", "does not exist in America/New_York"),
    ],
)
def test_create_refuses_ambiguous_or_missing_local_times(login, alice, local, words):
    response = login(alice).post(reverse("incident-create"), _form(identified_at=local))
    assert response.status_code == 400
    body = _text(response)
    assert f"Identified at: {local.replace('T', ' ')} {words}" in body
    assert 'href="#id_identified_at"' in body  # the error summary links to the field
    assert 'aria-describedby="id_identified_at-error id_identified_at-hint"' in body
    assert "usa-form-group--error" in body
    assert not Incident.objects.exists()


def test_create_refuses_an_unknown_enumeration_value(login, alice):
    response = login(alice).post(
        reverse("incident-create"), _form(functional_impact="catastrophic")
    )
    assert response.status_code == 400
    assert 'id="id_functional_impact-error"' in _text(response)
    assert "catastrophic is not one of the available choices" in _text(response)
    assert not Incident.objects.exists()
    assert not IncidentEvent.objects.exists()


def test_create_refuses_another_agencys_system(login, alice, b_system):
    response = login(alice).post(reverse("incident-create"), _form(systems=[str(b_system.pk)]))
    assert response.status_code == 400
    assert 'id="id_systems-error"' in _text(response)
    assert not Incident.objects.exists()


def test_create_maps_a_service_refusal_to_the_field(login, alice):
    response = login(alice).post(
        reverse("incident-create"), _form(identified_at="2026-11-02T10:00")
    )
    assert response.status_code == 400
    assert 'id="id_identified_at-error"' in _text(response)
    assert "cannot be in the future" in _text(response)
    assert not Incident.objects.exists()


def test_auditor_cannot_open_an_incident(login, audrey):
    response = login(audrey).post(reverse("incident-create"), _form())
    assert response.status_code == 403
    assert not Incident.objects.exists()


def test_edit_updates_and_logs_only_what_changed(login, alice, open_incident, hr_system):
    incident = open_incident(now=EARLIER, identified_at=EARLIER - timedelta(seconds=17))
    client = login(alice)
    url = reverse("incident-edit", args=[incident.number])
    form = client.get(url)
    assert 'value="2026-11-02T06:59"' in _text(form)
    response = client.post(
        url,
        _form(
            title="Shell spawned in store-frontend",
            identified_at="2026-11-02T06:59",  # unchanged on the wall clock
            cisa_tracking_number="CISA-2026-123",
            systems=[str(s) for s in incident.systems.values_list("pk", flat=True)],
        ),
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.cisa_tracking_number == "CISA-2026-123"
    assert incident.identified_at == EARLIER - timedelta(seconds=17)  # seconds kept
    event = IncidentEvent.objects.filter(incident=incident, kind="updated").get()
    assert "cisa_tracking_number" in event.data["changed"]
    assert "identified_at" not in event.data["changed"]
    assert "title" not in event.data["changed"]


# --- determination ------------------------------------------------------------------------------


def _assessment(**overrides):
    data = {f"harm_{key}": "no" for key in HARMS}
    data.update({"nciss_level": "", "pii_individuals": "", "basis_at": "2026-11-02T08:00"})
    data.update(overrides)
    return data


def test_only_approving_officials_reach_the_determination_form(login, alice, open_incident):
    incident = open_incident(now=EARLIER)
    response = login(alice).get(reverse("incident-determine", args=[incident.number]))
    assert response.status_code == 403
    assert "Only an approving official" in _text(response)


def test_determination_form_has_a_fieldset_per_harm_category(login, olivia, open_incident):
    incident = open_incident(now=EARLIER)
    body = _text(login(olivia).get(reverse("incident-determine", args=[incident.number])))
    assert body.count('class="usa-radio__input"') >= len(HARMS) * 2 + 3
    assert "Economy of the United States" in body
    assert 'name="preview"' in body
    assert 'value="2026-11-02T09:00"' in body  # basis time defaults to now, local


def test_preview_shows_fired_criteria_and_stores_nothing(login, olivia, open_incident):
    incident = open_incident(now=EARLIER)
    events = IncidentEvent.objects.count()
    response = login(olivia).post(
        reverse("incident-determine", args=[incident.number]),
        _assessment(
            harm_economy="yes",
            pii_individuals="150000",
            pii_acts=["exfiltration"],
            preview="1",
        ),
    )
    assert response.status_code == 200
    body = _text(response)
    assert "The rule set recommends: Major incident" in body
    assert 'data-criterion="pii_100k"' in body
    assert 'data-criterion="demonstrable_harm"' in body
    assert 'data-criterion="nciss_high"' not in body
    assert not Determination.objects.exists()
    assert IncidentEvent.objects.count() == events


def test_saving_a_major_determination_creates_the_seven_day_clock(login, olivia, open_incident):
    incident = open_incident(now=EARLIER)
    client = login(olivia)
    response = client.post(
        reverse("incident-determine", args=[incident.number]),
        _assessment(
            nciss_level="3",
            decision="major",
            rationale="NCISS level 3 assessed by the SOC.",
            basis_at="2026-11-02T08:00",
        ),
    )
    assert response.status_code == 302
    det = Determination.objects.get()
    assert det.decision == "major"
    assert det.basis_at == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    assert [c["key"] for c in det.criteria_fired] == ["nciss_high"]
    congress = Obligation.objects.get(incident=incident, rule__key="congress-7-day")
    # The end of the seventh local day after 2 November: 9 November 23:59:59.999999 EST.
    assert congress.due_at == datetime(2026, 11, 10, 4, 59, 59, 999999, tzinfo=UTC)
    body = _text(client.get(response["Location"]))
    assert "Congressional notification (7 days)" in body
    assert "2026-11-09 23:59 EST (America/New_York)" in body
    assert f'data-due="{congress.due_at.isoformat()}"' in body
    assert "Reasonable-basis time: <strong>2026-11-02 08:00 EST (America/New_York)" in body
    assert "NCISS level 3 (High/Orange) or above" in body
    assert 'action="/obligations/' in body  # submit and waive forms for the open ones


def test_saving_without_decision_or_rationale_names_the_fields(login, olivia, open_incident):
    incident = open_incident(now=EARLIER)
    response = login(olivia).post(
        reverse("incident-determine", args=[incident.number]), _assessment()
    )
    assert response.status_code == 400
    assert 'href="#id_decision_0"' in _text(response)
    assert 'id="id_rationale-error"' in _text(response)
    assert not Determination.objects.exists()


def test_waive_form_is_shown_only_to_approving_officials(login, carol, olivia, open_incident):
    incident = open_incident(now=EARLIER)
    url = reverse("incident-detail", args=[incident.number])
    assert "/waive/" not in _text(login(carol).get(url))
    assert "/submit/" in _text(login(carol).get(url))
    assert "/waive/" in _text(login(olivia).get(url))


# --- isolation ----------------------------------------------------------------------------------


def test_another_agency_gets_404_everywhere(login, bob, open_incident):
    incident = open_incident(now=EARLIER)
    client = login(bob)
    number = incident.number
    assert client.get(reverse("incident-detail", args=[number])).status_code == 404
    assert client.get(reverse("incident-edit", args=[number])).status_code == 404
    assert client.post(reverse("incident-edit", args=[number]), _form()).status_code == 404
    assert (
        client.post(
            reverse("incident-transition", args=[number]), {"transition": "start_triage"}
        ).status_code
        == 404
    )
    assert client.get(reverse("incident-determine", args=[number])).status_code == 404
    assert (
        client.post(
            reverse("incident-determine", args=[number]),
            _assessment(decision="major", rationale="x"),
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("incident-additional-information", args=[number]), {"summary": "x"}
        ).status_code
        == 404
    )
    assert number not in _text(client.get(reverse("incident-list")))
    incident.refresh_from_db()
    assert incident.state == State.DETECTED
    assert not Determination.objects.exists()


def test_an_isso_does_not_see_other_systems_incidents(
    login, alice, carol, open_incident, hr_system
):
    hidden = open_incident(now=EARLIER, by=carol, systems=[hr_system.pk])
    client = login(alice)
    assert client.get(reverse("incident-detail", args=[hidden.number])).status_code == 404
    assert hidden.number not in _text(client.get(reverse("incident-list")))
