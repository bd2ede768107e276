"""The system pages: inventory list, a system's compliance state "as of" an instant, a control's
history, and recording an assessment, as each persona uses them.

Timeline (UTC, 2026) on FTA-WEB under the "Test framework": AC-1 satisfied on 1 March, found
other than satisfied on 1 June; AC-2 not applicable on 1 April; AC-3 never assessed.
FTA's zone is America/New_York; the clock stands at NOW.
"""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse as _reverse

from accounts.context import context_for
from compliance import selectors
from compliance.models import (
    AssessmentStatus,
    AuthorizationStatus,
    Baseline,
    Control,
    ControlAssessment,
    Framework,
    ImpactLevel,
)
from compliance.services import assessment_record

from .support.compliance import make_framework
from .support.factories import SystemFactory

S = AssessmentStatus
MARCH = datetime(2026, 3, 1, 12, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, 12, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, 12, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST


def reverse(name, args=()):
    return _reverse(name, args=args, urlconf="compliance.urls")


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


@pytest.fixture
def framework(db):
    return make_framework(3)


@pytest.fixture
def history(framework, web_system, carol, agency_a):
    fw, (ac1, ac2, _ac3) = framework
    c = context_for(carol, agency_a)
    for control, status, at, finding in [
        (ac1, S.SATISFIED, MARCH, ""),
        (ac2, S.NOT_APPLICABLE, APRIL, ""),
        (ac1, S.OTHER_THAN_SATISFIED, JUNE, "MFA not enforced for admins."),
    ]:
        assessment_record(
            ctx=c,
            system=web_system,
            control=control,
            status=status,
            assessed_at=at,
            method="test",
            finding=finding,
            now=NOW - timedelta(days=1),
        )
    return fw


def _text(response):
    return response.content.decode()


def _acronyms(response):
    return re.findall(r'href="/systems/([A-Z0-9-]+)/"', _text(response))


# --- list -------------------------------------------------------------------------------------


def test_list_shows_inventory_ato_issos_and_compliance_summary(
    login, carol, alice, web_system, hr_system, history
):
    web_system.component = "Office of Commerce"
    web_system.confidentiality = ImpactLevel.HIGH
    web_system.high_value_asset = True
    web_system.ato_status = AuthorizationStatus.AUTHORIZED
    web_system.ato_date = date(2023, 1, 1)
    web_system.ato_expires = date(2026, 12, 1)  # within 90 days of 2 November
    web_system.save()
    hr_system.ato_status = AuthorizationStatus.AUTHORIZED
    hr_system.ato_date = date(2022, 1, 1)
    hr_system.ato_expires = date(2026, 10, 1)
    hr_system.save()

    response = login(carol).get(reverse("system-list"))

    assert response.status_code == 200
    body = _text(response)
    assert _acronyms(response) == ["FTA-HR", "FTA-WEB"]
    assert "Office of Commerce" in body
    assert "High / Moderate / Low" in body
    assert "Expired" in body and "Expires within 90 days" in body
    assert "alice" in body  # ISSO of FTA-WEB
    # 0 of 3 satisfied, 1 other than satisfied (AC-1 since June).
    assert "Test framework: <strong>0.0%</strong> satisfied, 1 other than satisfied" in body
    assert "EST (America/New_York)" in body


def test_list_summary_counts_baseline_controls(login, carol, web_system, framework):
    fw, (ac1, ac2, _ac3) = framework
    low = Baseline.objects.create(framework=fw, name="LOW")
    low.controls.set([ac1, ac2])
    web_system.baseline = low
    web_system.save()
    assessment_record(
        ctx=context_for(carol, web_system.agency),
        system=web_system,
        control=ac1,
        status=S.SATISFIED,
        assessed_at=MARCH,
        now=NOW,
    )
    body = _text(login(carol).get(reverse("system-list")))
    assert "Test framework: <strong>50.0%</strong> satisfied, 0 other than satisfied" in body


def test_list_filters_by_expiry_and_hva(login, carol, web_system, hr_system):
    hr_system.high_value_asset = True
    hr_system.ato_expires = date(2026, 1, 1)
    hr_system.ato_date = date(2025, 1, 1)
    hr_system.save()
    client = login(carol)
    assert _acronyms(client.get(reverse("system-list"), {"expiry": "expired"})) == ["FTA-HR"]
    assert _acronyms(client.get(reverse("system-list"), {"hva": "no"})) == ["FTA-WEB"]
    assert _acronyms(client.get(reverse("system-list"), {"q": "human"})) == ["FTA-HR"]


def test_isso_lists_only_assigned_systems(login, alice, web_system, hr_system):
    response = login(alice).get(reverse("system-list"))
    assert _acronyms(response) == ["FTA-WEB"]


def test_auditor_lists_only_the_systems_of_granted_incidents(
    login, audrey, web_system, hr_system, audit_grant
):
    assert _acronyms(login(audrey).get(reverse("system-list"))) == []
    audit_grant(audrey, web_system)
    assert _acronyms(login(audrey).get(reverse("system-list"))) == ["FTA-WEB"]


def test_list_query_count_does_not_grow_with_systems(
    login, carol, alice, agency_a, history, django_assert_num_queries
):
    client = login(carol)
    url = reverse("system-list")
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    fw = history
    for i in range(10):
        system = SystemFactory(agency=agency_a, acronym=f"FTA-X{i}")
        for control in fw.controls.all():
            assessment_record(
                ctx=context_for(carol, agency_a),
                system=system,
                control=control,
                status=S.SATISFIED,
                assessed_at=MARCH,
                now=NOW,
            )
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert len(_acronyms(response)) == 11


def test_outsider_sees_none_of_our_systems(login, bob, web_system, history):
    client = login(bob)
    body = _text(client.get(reverse("system-list")))
    assert "FTA-WEB" not in body and "OTA-WEB" in body
    control = Control.objects.get(identifier="ac-1", framework=history)
    for url in (
        reverse("system-detail", args=["FTA-WEB"]),
        reverse("system-control-history", args=["FTA-WEB", control.pk]),
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(
        reverse("system-assess", args=["FTA-WEB"]),
        {"framework": history.pk, "control": "AC-1", "status": "satisfied"},
    )
    assert response.status_code == 404
    assert ControlAssessment.objects.count() == 3


# --- detail -----------------------------------------------------------------------------------


def test_detail_shows_inventory_selectors_and_the_state_now(login, carol, web_system, history):
    web_system.host_patterns = ["web-*.store.example.gov"]
    web_system.k8s_namespaces = ["store"]
    web_system.save()
    response = login(carol).get(reverse("system-detail", args=["FTA-WEB"]))
    assert response.status_code == 200
    body = _text(response)
    assert "web-*.store.example.gov" in body and "store" in body
    assert "Test framework (1) as of 2026-11-02 09:00 EST (America/New_York) (now)" in body
    # Other than satisfied: AC-1 (since June, with its finding); not assessed: AC-3.
    assert "MFA not enforced for admins." in body
    assert "AC-3" in body and "Never" in body
    assert "2026-06-01 08:00 EDT (America/New_York)" in body
    assert ">AC-2<" not in body  # not applicable: not in the list of controls to look at
    assert "33.3%" in body
    assert 'id="record-assessment"' in body


def test_detail_as_of_a_past_instant_reads_the_state_then(login, carol, web_system, history):
    # 1 May 2026 10:00 in New York: AC-1 was still satisfied.
    response = login(carol).get(
        reverse("system-detail", args=["FTA-WEB"]),
        {"framework": history.pk, "as_of": "2026-05-01T10:00"},
    )
    assert response.status_code == 200
    body = _text(response)
    assert "as of 2026-05-01 10:00 EDT (America/New_York)" in body
    assert "MFA not enforced" not in body
    assert "AC-3" in body


def test_as_of_minute_includes_the_whole_minute(login, carol, web_system, framework):
    _fw, (ac1, *_) = framework
    assessment_record(
        ctx=context_for(carol, web_system.agency),
        system=web_system,
        control=ac1,
        status=S.OTHER_THAN_SATISFIED,
        finding="seen at 10:00:30",
        assessed_at=datetime(2026, 5, 1, 14, 0, 30, tzinfo=UTC),  # 10:00:30 EDT
        now=NOW,
    )
    url = reverse("system-detail", args=["FTA-WEB"])
    client = login(carol)
    assert "seen at 10:00:30" in _text(client.get(url, {"as_of": "2026-05-01T10:00"}))
    assert "seen at 10:00:30" not in _text(client.get(url, {"as_of": "2026-05-01T09:59"}))


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2026-11-03T09:00", "is in the future"),
        ("2026-03-08T02:30", "does not exist in America/New_York"),
        ("2026-11-01T01:30", "occurs twice in America/New_York"),
        ("yesterday", "Enter a date and time"),
    ],
    ids=["future", "nonexistent", "ambiguous", "garbage"],
)
def test_as_of_refuses_by_name(login, carol, web_system, history, as_of, message):
    response = login(carol).get(reverse("system-detail", args=["FTA-WEB"]), {"as_of": as_of})
    assert response.status_code == 400
    body = _text(response)
    assert "As of" in body and message in body
    assert "(now)" in body  # the current state is shown instead


def test_detail_paginates_the_controls_to_look_at(login, carol, web_system):
    fw, _ = make_framework(60)
    client = login(carol)
    url = reverse("system-detail", args=["FTA-WEB"])
    first = _text(client.get(url, {"framework": fw.pk}))
    assert "60 controls, page 1 of 2" in first and ">AC-50<" in first and ">AC-51<" not in first
    second = _text(client.get(url, {"framework": fw.pk, "page": 2}))
    assert ">AC-51<" in second and ">AC-60<" in second


def test_detail_query_count_does_not_grow_with_controls_or_history(
    login, carol, agency_a, web_system, django_assert_num_queries
):
    small, _ = make_framework(3, name="Small")
    big, controls = make_framework(80, name="Big")
    ControlAssessment.objects.bulk_create(
        ControlAssessment(
            system=web_system,
            control=control,
            status=[S.SATISFIED, S.OTHER_THAN_SATISFIED, S.NOT_ASSESSED][(i + k) % 3],
            assessed_at=MARCH + timedelta(days=30 * k),
            assessor=carol,
            recorded_at=NOW,
        )
        for i, control in enumerate(controls)
        for k in range(3)
    )
    client = login(carol)
    url = reverse("system-detail", args=["FTA-WEB"])
    with CaptureQueriesContext(connection) as one:
        assert client.get(url, {"framework": small.pk}).status_code == 200
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url, {"framework": big.pk})
    assert "carol" in _text(response)


def test_isso_reaches_only_assigned_systems(login, alice, web_system, hr_system, history):
    client = login(alice)
    assert client.get(reverse("system-detail", args=["FTA-WEB"])).status_code == 200
    assert client.get(reverse("system-detail", args=["FTA-HR"])).status_code == 404
    control = Control.objects.get(identifier="ac-1", framework=history)
    hr_history = reverse("system-control-history", args=["FTA-HR", control.pk])
    assert client.get(hr_history).status_code == 404
    response = client.post(
        reverse("system-assess", args=["FTA-HR"]),
        {
            "framework": history.pk,
            "control": "AC-1",
            "status": "satisfied",
            "assessed_at": "2026-11-01T08:00",
        },
    )
    assert response.status_code == 404
    assert not ControlAssessment.objects.filter(system=hr_system).exists()


@pytest.mark.parametrize("persona", ["audrey", "olivia", "adam"])
def test_readers_see_no_form_and_cannot_record(
    request, login, persona, web_system, history, audit_grant
):
    user = request.getfixturevalue(persona)
    if persona == "audrey":  # an auditor reads FTA-WEB through an incident granted to her
        audit_grant(user, web_system)
    client = login(user)
    body = _text(client.get(reverse("system-detail", args=["FTA-WEB"])))
    assert "MFA not enforced" in body
    assert 'id="record-assessment"' not in body
    response = client.post(
        reverse("system-assess", args=["FTA-WEB"]),
        {
            "framework": history.pk,
            "control": "AC-3",
            "status": "satisfied",
            "assessed_at": "2026-11-01T08:00",
        },
    )
    assert response.status_code == 403
    assert ControlAssessment.objects.count() == 3


# --- recording an assessment ------------------------------------------------------------------


def _assess(client, fw, **changes):
    data = {
        "framework": fw.pk,
        "control": "ac-3",
        "status": "other_than_satisfied",
        "implementation_status": "partial",
        "assessed_at": "2026-11-02T08:30",
        "method": "examine",
        "finding": "Audit log retention is 30 days, policy says 90.",
        **changes,
    }
    return client.post(reverse("system-assess", args=["FTA-WEB"]), data)


def test_isso_records_an_assessment_that_supersedes_from_its_time(
    login, alice, web_system, history
):
    client = login(alice)
    response = _assess(client, history, control="AC-1", status="satisfied", finding="Fixed.")
    assert response.status_code == 302
    assessment = ControlAssessment.objects.latest("pk")
    assert assessment.recorded_by.username == "alice"
    assert assessment.assessor == assessment.recorded_by
    # 08:30 EST = 13:30 UTC.
    assert assessment.assessed_at == datetime(2026, 11, 2, 13, 30, tzinfo=UTC)
    assert (assessment.status, assessment.method) == ("satisfied", "examine")
    followed = client.get(response["Location"])
    assert "Assessment of AC-1 recorded" in _text(followed)
    # The earlier finding still holds before 08:30 and stays in the history.
    before = _text(
        client.get(reverse("system-detail", args=["FTA-WEB"]), {"as_of": "2026-11-02T08:29"})
    )
    assert "MFA not enforced" in before
    ac1 = Control.objects.get(framework=history, identifier="ac-1")
    history_page = _text(client.get(reverse("system-control-history", args=["FTA-WEB", ac1.pk])))
    assert history_page.count('class="docket-in-force"') == 1
    assert "Fixed." in history_page and "MFA not enforced" in history_page
    assert ControlAssessment.objects.filter(control=ac1).count() == 3


def test_future_assessment_is_refused_by_name(login, carol, web_system, history):
    response = _assess(login(carol), history, assessed_at="2026-11-02T09:01")
    assert response.status_code == 400
    assert "cannot be in the future" in _text(response)
    assert 'id="assess-assessed_at-error"' in _text(response)
    assert ControlAssessment.objects.count() == 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"control": "XX-9"}, "Control: no control &#x27;XX-9&#x27; in Test framework (1)."),
        ({"status": "great"}, "Select a valid choice"),
        ({"assessed_at": "2026-03-08T02:30"}, "does not exist in America/New_York"),
        ({"assessed_at": ""}, "This field is required"),
    ],
)
def test_bad_assessment_input_is_refused_by_name(
    login, carol, web_system, history, changes, message
):
    response = _assess(login(carol), history, **changes)
    assert response.status_code == 400
    assert message in _text(response)
    assert ControlAssessment.objects.count() == 3


def test_control_of_a_framework_not_visible_is_refused(login, carol, web_system, history, agency_b):
    hidden, _ = make_framework(2, name="Hidden framework")
    # Another agency licensed it: invisible to FTA.
    Framework.objects.filter(pk=hidden.pk).update(agency=agency_b)
    client = login(carol)
    response = _assess(client, hidden, control="ac-1")
    assert response.status_code == 400
    assert "Select a valid choice" in _text(response)
    assert not ControlAssessment.objects.filter(control__framework=hidden).exists()
    # Nor is the framework offered, nor its controls' history reachable.
    detail = _text(client.get(reverse("system-detail", args=["FTA-WEB"])))
    assert "Hidden framework" not in detail
    hidden_control = hidden.controls.first()
    url = reverse("system-control-history", args=["FTA-WEB", hidden_control.pk])
    assert client.get(url).status_code == 404
    # The service refuses it too, whatever calls it.
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="No control"):
        assessment_record(
            ctx=context_for(carol, web_system.agency),
            system=web_system,
            control=hidden_control,
            status=S.SATISFIED,
            assessed_at=MARCH,
        )


# --- a control's history ----------------------------------------------------------------------


def test_control_history_marks_the_assessment_in_force_as_of(login, carol, web_system, history):
    ac1 = Control.objects.get(framework=history, identifier="ac-1")
    url = reverse("system-control-history", args=["FTA-WEB", ac1.pk])
    client = login(carol)
    now_page = _text(client.get(url))
    assert "In force as of 2026-11-02 09:00 EST (America/New_York) (now)" in now_page
    table = now_page[now_page.index("<caption>") :]
    assert table.index("2026-03-01 07:00 EST") < table.index("2026-06-01 08:00 EDT")
    in_force = re.search(r'class="docket-in-force">\s*<th scope="row"[^>]*>([^<]+)<', now_page)
    assert in_force.group(1) == "2026-06-01 08:00 EDT (America/New_York)"
    may = _text(client.get(url, {"as_of": "2026-05-01T10:00"}))
    in_force = re.search(r'class="docket-in-force">\s*<th scope="row"[^>]*>([^<]+)<', may)
    assert in_force.group(1) == "2026-03-01 07:00 EST (America/New_York)"
    assert "after the moment shown" in may
    before = _text(client.get(url, {"as_of": "2026-02-01T10:00"}))
    assert "docket-in-force" not in before and "Not assessed as of" in before


# --- demo -------------------------------------------------------------------------------------


def test_demo_store_has_an_assessment_history(login, db):
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("load_demo", stdout=StringIO())
    client = login(get_user_model().objects.get(username="compliance"))
    body = _text(client.get(reverse("system-detail", args=["STORE"])))
    assert "The store-frontend image ships curl" in body
    assert "Expires within 90 days" in body
    # Thirty days ago AC-2 was still other than satisfied (fixed 12 days ago).
    month_ago = (NOW - timedelta(days=30)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    past = _text(client.get(reverse("system-detail", args=["STORE"]), {"as_of": month_ago}))
    assert "Two departed staff still hold accounts." in past
    assert "The store-frontend image ships curl" not in past
    # The outsider agency sees none of it.
    outsider = login(get_user_model().objects.get(username="outsider"))
    assert outsider.get(reverse("system-detail", args=["STORE"])).status_code == 404


def test_control_history_query_count_does_not_grow_with_history(
    login, carol, agency_a, web_system, history, django_assert_num_queries
):
    ac1, ac3 = (Control.objects.get(framework=history, identifier=i) for i in ("ac-1", "ac-3"))
    client = login(carol)
    with CaptureQueriesContext(connection) as one:
        assert (
            client.get(reverse("system-control-history", args=["FTA-WEB", ac3.pk])).status_code
            == 200
        )
    for day in range(1, 11):
        assessment_record(
            ctx=context_for(carol, agency_a),
            system=web_system,
            control=ac1,
            status=S.SATISFIED,
            assessed_at=JUNE + timedelta(days=day),
            now=NOW,
        )
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(reverse("system-control-history", args=["FTA-WEB", ac1.pk]))
    assert _text(response).count("<tr") == 1 + 12


# --- summaries agree with the state -------------------------------------------------------------


@pytest.mark.parametrize("distinct_on", [True, False], ids=["distinct-on", "window"])
def test_summaries_agree_with_the_state_of_each_system(
    carol, agency_a, web_system, hr_system, monkeypatch, distinct_on
):
    fw, controls = make_framework(6)
    _other, (other_ac1,) = make_framework(1, name="Other")
    low = Baseline.objects.create(framework=fw, name="LOW")
    low.controls.set(controls[:3])
    web_system.baseline = low
    web_system.save()
    c = context_for(carol, agency_a)
    plan = [
        (web_system, controls[0], S.SATISFIED, MARCH),
        (web_system, controls[0], S.OTHER_THAN_SATISFIED, JUNE),
        (web_system, controls[1], S.SATISFIED, APRIL),
        (web_system, controls[5], S.SATISFIED, APRIL),  # outside the baseline
        (web_system, other_ac1, S.OTHER_THAN_SATISFIED, APRIL),
        (hr_system, controls[2], S.SATISFIED, MARCH),
        (hr_system, controls[3], S.OTHER_THAN_SATISFIED, JUNE),
    ]
    for system, control, status, at in plan:
        assessment_record(
            ctx=c, system=system, control=control, status=status, assessed_at=at, now=NOW
        )
    monkeypatch.setattr(connection.features, "can_distinct_on_fields", distinct_on)
    for at in (MARCH, APRIL, JUNE, NOW):
        summaries = selectors.compliance_summaries(ctx=c, systems=[web_system, hr_system], at=at)
        for system in (web_system, hr_system):
            for summary in summaries[system.pk]:
                state = selectors.system_state_as_of(
                    ctx=c, system=system, framework=summary.framework, at=at
                )
                assert (summary.total, summary.satisfied, summary.other_than_satisfied) == (
                    state.total,
                    state.counts["satisfied"],
                    state.counts["other_than_satisfied"],
                ), (system.acronym, summary.framework.name, at)
    now = selectors.compliance_summaries(ctx=c, systems=[web_system, hr_system], at=NOW)
    assert [(s.framework.name, s.total) for s in now[web_system.pk]] == [
        ("Other", 1),
        ("Test framework", 4),
    ]
    assert [(s.framework.name, s.satisfied_percent) for s in now[hr_system.pk]] == [
        ("Test framework", 16.7)
    ]
