"""The deadline board and the submission / waiver pages.

Agency A (FTA) keeps America/New_York time. In 2026 daylight time starts on 03-08 at 02:00 EST
(07:00Z) and ends on 11-01 at 02:00 EDT (06:00Z). The board is read at NOW, Tuesday
2026-03-10 15:00Z (11:00 EDT), with time frozen.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from accounts.services import membership_grant
from incidents.services import determination_record
from reporting.clock import Status
from reporting.forms import BOARD_STATUSES
from reporting.models import Obligation, Submission
from reporting.services import obligation_waive, submission_record

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 15, tzinfo=UTC)  # 11:00 EDT


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ob(incident, key: str, sequence: int = 1) -> Obligation:
    return Obligation.objects.select_related("rule", "incident__agency").get(
        incident=incident, rule__key=key, sequence=sequence
    )


def section(html: str, key: str) -> str:
    match = re.search(rf'<section[^>]*aria-labelledby="section-{key}">(.*?)</section>', html, re.S)
    assert match, f"no section {key!r} on the page"
    return match.group(1)


def ids_in(html: str, key: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-obligation="(\d+)"', section(html, key))}


def all_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-obligation="(\d+)"', html)}


def ctx_of(incident):
    from accounts.context import context_for

    return context_for(incident.created_by, incident.agency)


def board(client, user, **params):
    with time_machine.travel(NOW, tick=False):
        client.force_login(user)  # sessions expire after 30 idle minutes of (frozen) time
        response = client.get(reverse("board"), params)
    assert response.status_code == 200
    return response.content.decode()


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def determine(ctx, olivia, agency_a):
    def _determine(incident, *, basis_at, now, **more):
        return determination_record(
            ctx=ctx(olivia, agency_a),
            incident=incident,
            decision="major",
            basis_at=basis_at,
            now=now,
            rationale="Exfiltration from the store front; NCISS level 3 assessed.",
            **more,
        )

    return _determine


@pytest.fixture
def scene(open_incident, determine, ctx, carol, olivia, agency_a):
    """Obligations that, at NOW, belong in each section of the board (or in none)."""
    as_carol, as_olivia = ctx(carol, agency_a), ctx(olivia, agency_a)
    s = {}
    # Identified 3 h ago: CISA's hour ran out 2 h ago.
    late = open_incident(now=NOW - timedelta(hours=3), title="Late one")
    s["overdue"] = ob(late, "cisa-initial")
    # Identified 30 min ago: due in 30 min.
    soon = open_incident(now=NOW - timedelta(minutes=30), title="Soon one")
    s["soon"] = ob(soon, "cisa-initial")
    # Major since yesterday 11:00 EDT: CISA update overdue (due yesterday 12:00 EDT); the
    # seven-day notices are due 03-16 23:59:59.999999 EDT (03-17 03:59:59.999999Z).
    major = open_incident(now=NOW - timedelta(days=1, hours=1), title="Major one")
    submission_record(
        ctx=as_carol,
        obligation=ob(major, "cisa-initial"),
        channel="cisa_portal",
        submitted_at=NOW - timedelta(days=1, minutes=30),
        now=NOW - timedelta(days=1, minutes=30),
    )
    determine(major, basis_at=NOW - timedelta(days=1), now=NOW - timedelta(days=1))
    s["met"] = ob(major, "cisa-initial")
    s["major_update"] = ob(major, "cisa-major-update")
    s["congress"] = ob(major, "congress-7-day")
    s["ig"] = ob(major, "ig-7-day")
    # Major as of now: its seven-day notices fall due 03-17 23:59 EDT, beyond the week (in the
    # "within 30 days" section).
    fresh = open_incident(now=NOW - timedelta(minutes=10), title="Fresh major")
    determine(fresh, basis_at=NOW - timedelta(minutes=5), now=NOW - timedelta(minutes=5))
    s["beyond"] = ob(fresh, "congress-7-day")
    s["fresh_ig"] = ob(fresh, "ig-7-day")
    s["fresh_initial"] = ob(fresh, "cisa-initial")
    s["fresh_update"] = ob(fresh, "cisa-major-update")
    # Met ten days ago: off the board.
    old = open_incident(now=NOW - timedelta(days=10), title="Old one")
    submission_record(
        ctx=as_carol,
        obligation=ob(old, "cisa-initial"),
        channel="email",
        now=NOW - timedelta(days=10) + timedelta(minutes=20),
    )
    s["old_met"] = ob(old, "cisa-initial")
    # Waived: nothing owed, off the board.
    waived = open_incident(now=NOW - timedelta(hours=2), title="Waived one")
    obligation_waive(
        ctx=as_olivia,
        obligation=ob(waived, "cisa-initial"),
        reason="Reported by the parent department.",
        now=NOW - timedelta(hours=1, minutes=50),
    )
    s["waived"] = ob(waived, "cisa-initial")
    s["incidents"] = {"late": late, "soon": soon, "major": major, "fresh": fresh}
    return s


def test_sections_classify_obligations_at_a_frozen_time(client, carol, scene):
    html = board(client, carol)
    assert ids_in(html, "overdue") == {scene["overdue"].pk, scene["major_update"].pk}
    assert ids_in(html, "day") == {
        scene["soon"].pk,
        scene["fresh_initial"].pk,
        scene["fresh_update"].pk,
    }
    assert ids_in(html, "week") == {scene["congress"].pk, scene["ig"].pk}
    # Determined major five minutes ago: its seven-day notices are due in 7 days and 13 hours.
    assert ids_in(html, "month") == {scene["beyond"].pk, scene["fresh_ig"].pk}
    assert ids_in(html, "later") == set()
    assert ids_in(html, "met") == {scene["met"].pk}
    shown = all_ids(html)
    for absent in ("old_met", "waived"):
        assert scene[absent].pk not in shown, absent
    # Status tags carry their meaning in text.
    assert '<span class="usa-tag bg-secondary-dark">Overdue</span>' in section(html, "overdue")
    assert ">Met on time</span>" in section(html, "met")


def test_rows_print_the_zone_the_countdown_and_the_links(client, carol, scene):
    html = board(client, carol)
    day = section(html, "day")
    soon = scene["soon"]
    # Due 15:30Z = 11:30 EDT; the zone is always printed.
    assert "2026-03-10 11:30 EDT (America/New_York)" in day
    assert (
        '<span class="docket-countdown" data-due="2026-03-10T15:30:00+00:00">in 30 min</span>'
        in day
    )
    assert 'data-due="2026-03-10T13:00:00+00:00">overdue by 2 h 0 min<' in section(html, "overdue")
    number = soon.incident.number
    assert f'href="{reverse("incident-detail", args=[number])}"' in day
    assert "Soon one" in day
    assert "CISA" in day  # recipients
    # The seven-day notices are due at the end of the local day, printed in EDT.
    assert "2026-03-16 23:59 EDT (America/New_York)" in section(html, "week")
    assert "Office of Inspector General" in section(html, "week")


def test_repeatable_rules_show_their_sequence(client, carol, scene, ctx, agency_a):
    from incidents.services import additional_information_record

    major = scene["incidents"]["major"]
    additional_information_record(
        ctx=ctx(carol, agency_a),
        incident=major,
        summary="More records were taken.",
        now=NOW - timedelta(hours=1),
    )
    supplemental = ob(major, "supplemental", 1)
    assert supplemental.rule.repeatable
    html = board(client, carol)
    # Due 03-24 23:59 EDT: within 30 days now, within the week eight days later.
    assert supplemental.pk in ids_in(html, "month")
    assert f"{supplemental.rule.title} #1" in section(html, "month")
    with time_machine.travel(NOW + timedelta(days=8), tick=False):
        client.force_login(carol)
        page = client.get(reverse("board")).content.decode()
    assert f"{supplemental.rule.title} #1" in section(page, "week")


def test_another_agencys_obligations_are_absent(
    client, carol, bob, agency_b, b_system, scene, open_incident
):
    theirs = open_incident(
        now=NOW - timedelta(minutes=20),
        by=bob,
        agency=agency_b,
        systems=[b_system.pk],
        title="Their secret incident",
    )
    their_ob = ob(theirs, "cisa-initial")
    mine = board(client, carol)
    assert their_ob.pk not in all_ids(mine)
    assert "Their secret incident" not in mine
    assert "OTA-WEB" not in mine  # not even among the filter choices
    client.logout()
    html = board(client, bob)
    assert all_ids(html) == {their_ob.pk}
    assert "PDT (America/Los_Angeles)" in html
    assert "Late one" not in html


def test_an_isso_sees_only_their_systems_incidents(
    client, alice, carol, hr_system, scene, open_incident
):
    hr = open_incident(
        now=NOW - timedelta(minutes=15), by=carol, systems=[hr_system.pk], title="HR leak"
    )
    hr_ob = ob(hr, "cisa-initial")
    alice_html = board(client, alice)
    assert hr_ob.pk not in all_ids(alice_html)
    assert "HR leak" not in alice_html
    assert scene["soon"].pk in ids_in(alice_html, "day")
    client.logout()
    assert hr_ob.pk in ids_in(board(client, carol), "day")


def test_filters_by_system_kind_and_status(
    client, carol, hr_system, web_system, scene, open_incident
):
    hr = open_incident(
        now=NOW - timedelta(minutes=15), by=carol, systems=[hr_system.pk], title="HR leak"
    )
    hr_ob = ob(hr, "cisa-initial")
    html = board(client, carol, system=hr_system.pk)
    assert all_ids(html) == {hr_ob.pk}
    assert "matching the filters" in html
    html = board(client, carol, system=web_system.pk)
    assert hr_ob.pk not in all_ids(html) and scene["soon"].pk in all_ids(html)
    html = board(client, carol, kind="congress-7-day")
    # The fresh major's notice too: due in 7 days and 13 hours, it is on the board.
    assert all_ids(html) == {scene["congress"].pk, scene["beyond"].pk}
    html = board(client, carol, status=Status.OVERDUE.value)
    assert all_ids(html) == {scene["overdue"].pk, scene["major_update"].pk}
    html = board(client, carol, kind="cisa-initial", status=Status.MET_ON_TIME.value)
    # Filtered by a met status the board lists it whenever it was met, as the API does.
    assert all_ids(html) == {scene["met"].pk, scene["old_met"].pk}
    # The filter form is a plain GET form, with labels, that htmx may enhance.
    assert 'method="get"' in html and 'hx-get="/deadlines/"' in html
    assert f'<option value="{hr_system.pk}">FTA-HR' in html
    assert '<label class="usa-label" for="id_status">' in html
    # An unknown choice is reported and ignored, not a crash.
    html = board(client, carol, status="bogus")
    assert "usa-error-message" in html
    assert scene["overdue"].pk in all_ids(html)


@pytest.fixture
def breach(open_incident, determine):
    """A major breach discovered now: its 30-day report falls due 04-09 23:59 EDT, more than
    30 days away (and its seven-day notices within 30 days)."""
    incident = open_incident(now=NOW - timedelta(minutes=20), title="Breach one")
    determine(
        incident,
        basis_at=NOW - timedelta(minutes=2),
        now=NOW - timedelta(minutes=2),
        breach=True,
        breach_discovered_at=NOW - timedelta(minutes=2),
        pii_individuals=150_000,
        pii_acts=["exfiltration"],
    )
    return ob(incident, "major-breach-30-day")


def test_a_fresh_major_determination_is_on_the_board_at_once(
    client, carol, open_incident, determine
):
    """Right after the determination the Congress and IG notices are due in 7 days and some
    hours: beyond the week, yet on the board, with their countdown."""
    incident = open_incident(now=NOW - timedelta(minutes=30), title="Just determined")
    determine(incident, basis_at=NOW, now=NOW)
    congress, ig = ob(incident, "congress-7-day"), ob(incident, "ig-7-day")
    html = board(client, carol)
    month = section(html, "month")
    assert ids_in(html, "month") == {congress.pk, ig.pk}
    assert "Due within 30 days" in html
    # Due 03-17 23:59:59.999999 EDT = 03-18 03:59:59.999999Z: 7 d 12 h 59 min from 11:00 EDT.
    assert ">in 7 d 12 h 59 min</span>" in month
    assert "2026-03-17 23:59 EDT (America/New_York)" in month


def test_every_open_obligation_is_on_the_board_however_far_off(client, carol, scene, breach):
    html = board(client, carol)
    assert ids_in(html, "later") == {breach.pk}
    assert "Due later" in html
    open_ids = set(Obligation.objects.open().values_list("pk", flat=True))
    on_board = set().union(
        *(ids_in(html, key) for key in ("overdue", "day", "week", "month", "later"))
    )
    assert on_board == open_ids
    assert f"{len(open_ids) + 1} obligations on the board" in html  # and the one met this week


def api_ids(api, user, **params) -> set[int]:
    with time_machine.travel(NOW, tick=False):
        response = api(user).get("/api/v1/obligations/", params)
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None  # one page holds them all
    return {row["id"] for row in body["results"]}


@pytest.fixture
def met_late(open_incident, ctx, carol, agency_a):
    """CISA told two hours late, three days ago and twelve days ago."""
    found = []
    for days in (3, 12):
        incident = open_incident(now=NOW - timedelta(days=days), title=f"Late by {days}")
        found.append(ob(incident, "cisa-initial"))
        submission_record(
            ctx=ctx(carol, agency_a),
            obligation=found[-1],
            channel="email",
            now=NOW - timedelta(days=days) + timedelta(hours=3),
        )
    return found


@pytest.mark.parametrize("status", [s.value for s in BOARD_STATUSES])
def test_each_status_filter_lists_what_the_api_lists(
    client, api, carol, scene, breach, met_late, status
):
    assert api_ids(api, carol, status=status), "the scene has an obligation in every status"
    assert all_ids(board(client, carol, status=status)) == api_ids(api, carol, status=status)
    # And with an obligation kind too.
    for kind in ("cisa-initial", "congress-7-day", "major-breach-30-day"):
        html = board(client, carol, status=status, kind=kind)
        assert all_ids(html) == api_ids(api, carol, status=status, rule=kind), kind


def test_a_met_status_filter_lists_obligations_met_long_ago(client, carol, scene):
    html = board(client, carol, status=Status.MET_ON_TIME.value)
    assert ids_in(html, "met") == {scene["met"].pk, scene["old_met"].pk}
    assert "Met in the last 7 days" not in html
    assert '<h2 id="section-met">Met ' in html


def test_rows_are_ranked_by_due_time_and_the_last_hour_stands_out(
    client, carol, open_incident, determine
):
    """48 minutes left and 1 h 53 min left: both "Due soon", told apart by the time left,
    ranked by due time, and the one within the hour marked (bold, docket-urgent)."""
    read_at = utc(2026, 3, 11, 2, 6)  # 22:06 EDT on 03-10
    # Determined major 03-03 10:00 EST: the seven-day notices end 03-10 23:59:59.999999 EDT.
    major = open_incident(now=utc(2026, 3, 3, 14), title="Seven days ago")
    determine(major, basis_at=utc(2026, 3, 3, 15), now=utc(2026, 3, 3, 15))
    for key in ("cisa-initial", "cisa-major-update"):
        submission_record(
            ctx=ctx_of(major),
            obligation=ob(major, key),
            channel="email",
            now=utc(2026, 3, 3, 15, 30),
        )
    # Identified 21:54 EDT: CISA's hour ends 22:54 EDT, 48 minutes after the board is read.
    cisa = ob(open_incident(now=utc(2026, 3, 11, 1, 54), title="Just found"), "cisa-initial")
    with time_machine.travel(read_at, tick=False):
        client.force_login(carol)
        html = client.get(reverse("board")).content.decode()
    day = section(html, "day")
    rows = re.findall(
        r'data-obligation="(\d+)".*?<td data-label="Time left"( class="docket-urgent")?>'
        r'<span class="docket-countdown" data-due="[^"]+">([^<]+)</span>',
        day,
        re.S,
    )
    congress, ig = ob(major, "congress-7-day"), ob(major, "ig-7-day")
    assert [(int(pk), bool(urgent), left) for pk, urgent, left in rows] == [
        (cisa.pk, True, "in 48 min"),
        (congress.pk, False, "in 1 h 53 min"),
        (ig.pk, False, "in 1 h 53 min"),
    ]


def test_htmx_requests_get_only_the_results(client, carol, scene):
    client.force_login(carol)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("board"), {"status": "overdue"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board-results">')
    assert "<html" not in html
    assert all_ids(html) == {scene["overdue"].pk, scene["major_update"].pk}


def test_query_count_does_not_grow_with_rows(
    client, carol, olivia, open_incident, django_assert_num_queries
):
    open_incident(now=NOW - timedelta(minutes=30))
    with time_machine.travel(NOW, tick=False):
        client.force_login(carol)
        with CaptureQueriesContext(connection) as one:
            first = client.get(reverse("board"))
    assert len(all_ids(first.content.decode())) == 1
    for n in range(9):
        open_incident(now=NOW - timedelta(minutes=40 + n), title=f"Incident {n}")
    with time_machine.travel(NOW, tick=False):
        client.force_login(carol)
        with django_assert_num_queries(len(one)):
            second = client.get(reverse("board"), {"status": "due_soon"})
    assert len(all_ids(second.content.decode())) == 10


def test_a_user_in_several_agencies_is_asked_to_choose(client, carol, agency_b):
    membership_grant(user=carol, agency=agency_b, role=Role.COMPLIANCE_OFFICER)
    client.force_login(carol)
    response = client.get(reverse("board"))
    html = response.content.decode()
    assert "Choose an agency" in html
    assert f'action="{reverse("switch-agency")}"' in html
    assert "data-obligation" not in html


# --- Submission -----------------------------------------------------------------------------


def page_url(name: str, pk: int) -> str:
    return reverse(name, args=[pk])


def post(client, user, name, pk, data, *, at=NOW):
    with time_machine.travel(at, tick=False):
        client.force_login(user)
        return client.post(page_url(name, pk), data)


def test_submission_through_the_page_meets_the_obligation_on_time(client, alice, scene):
    soon = scene["soon"]
    response = post(
        client,
        alice,
        "obligation-submit",
        soon.pk,
        {"channel": "cisa_portal", "submitted_at": "", "reference": "CISA-123", "note": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("incident-detail", args=[soon.incident.number])
    soon.refresh_from_db()
    assert soon.met_at == NOW
    assert soon.status_at(NOW) == Status.MET_ON_TIME
    sub = Submission.objects.get(obligation=soon)
    assert (sub.channel, sub.reference, sub.submitted_by) == ("cisa_portal", "CISA-123", alice)
    [text] = message_texts(response)
    assert "met on time" in text and "EDT (America/New_York)" in text


def test_recording_a_submission_from_the_board_returns_to_the_board(client, alice, scene):
    soon = scene["soon"]
    html = board(client, alice, status="due_soon")
    # The board's link carries the board's own URL, filters included.
    link = f"/obligations/{soon.pk}/submit/?next=%2Fdeadlines%2F%3Fstatus%3Ddue_soon"
    assert f'href="{link}"' in html
    with time_machine.travel(NOW, tick=False):
        client.force_login(alice)
        form = client.get(link).content.decode()
    assert '<input type="hidden" name="next" value="/deadlines/?status=due_soon">' in form
    assert 'href="/deadlines/?status=due_soon">Back to the deadlines</a>' in form
    response = post(
        client,
        alice,
        "obligation-submit",
        soon.pk,
        {"channel": "email", "next": "/deadlines/?status=due_soon"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/deadlines/?status=due_soon"
    soon.refresh_from_db()
    assert soon.met_at == NOW


def test_a_refused_submission_keeps_next(client, alice, scene):
    response = post(
        client,
        alice,
        "obligation-submit",
        scene["soon"].pk,
        {"channel": "fax", "next": "/deadlines/"},
    )
    assert response.status_code == 400
    assert '<input type="hidden" name="next" value="/deadlines/">' in response.content.decode()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/deadlines/",
        "/\\evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_leading_off_the_site_is_ignored(client, alice, olivia, scene, open_incident, target):
    soon = scene["soon"]
    response = post(
        client, alice, "obligation-submit", soon.pk, {"channel": "email", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("incident-detail", args=[soon.incident.number])
    other = ob(open_incident(now=NOW - timedelta(minutes=5)), "cisa-initial")
    response = post(
        client, olivia, "obligation-waive", other.pk, {"reason": "Duplicate.", "next": target}
    )
    assert response["Location"] == reverse("incident-detail", args=[other.incident.number])


def test_waiving_with_next_returns_there(client, olivia, scene):
    response = post(
        client,
        olivia,
        "obligation-waive",
        scene["soon"].pk,
        {"reason": "Reported by the department.", "next": "/deadlines/?kind=cisa-initial"},
    )
    assert response["Location"] == "/deadlines/?kind=cisa-initial"


def test_a_local_time_on_the_spring_forward_night_is_converted(client, alice, open_incident):
    # Identified 01:00 EST (06:00Z); CISA's hour ends 07:00Z, which is 03:00 EDT: the
    # wall clock jumped from 01:59:59 EST to 03:00 EDT.
    incident = open_incident(now=utc(2026, 3, 8, 6))
    cisa = ob(incident, "cisa-initial")
    assert cisa.due_at == utc(2026, 3, 8, 7)
    # 02:30 does not exist that night: refused, nothing stored.
    response = post(
        client,
        alice,
        "obligation-submit",
        cisa.pk,
        {"channel": "email", "submitted_at": "2026-03-08T02:30"},
        at=utc(2026, 3, 8, 12),
    )
    assert response.status_code == 400
    assert "2026-03-08 02:30 does not exist in America/New_York" in response.content.decode()
    assert not Submission.objects.filter(obligation=cisa).exists()
    # 03:00 local is 07:00Z (EDT, UTC-4): exactly the due instant, so on time. Read as EST it
    # would be 08:00Z and late.
    response = post(
        client,
        alice,
        "obligation-submit",
        cisa.pk,
        {"channel": "email", "submitted_at": "2026-03-08T03:00"},
        at=utc(2026, 3, 8, 12),
    )
    assert response.status_code == 302
    cisa.refresh_from_db()
    assert cisa.met_at == utc(2026, 3, 8, 7)
    assert cisa.status_at(utc(2026, 3, 8, 12)) == Status.MET_ON_TIME


def test_a_repeated_local_time_on_the_fall_back_night_is_refused(client, alice, open_incident):
    incident = open_incident(now=utc(2026, 11, 1, 5))  # 01:00 EDT
    cisa = ob(incident, "cisa-initial")
    response = post(
        client,
        alice,
        "obligation-submit",
        cisa.pk,
        {"channel": "email", "submitted_at": "2026-11-01T01:30"},
        at=utc(2026, 11, 1, 12),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "happened twice in America/New_York" in html
    assert "EDT, UTC−04:00, then EST, UTC−05:00" in html
    cisa.refresh_from_db()
    assert cisa.met_at is None


def test_a_future_submission_shows_an_error_and_stores_nothing(client, alice, scene):
    soon = scene["soon"]
    response = post(
        client,
        alice,
        "obligation-submit",
        soon.pk,
        {"channel": "email", "submitted_at": "2026-03-10T12:00"},  # 16:00Z, an hour ahead
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert any("cannot be in the future" in m for m in message_texts(response))
    assert not Submission.objects.filter(obligation=soon).exists()
    soon.refresh_from_db()
    assert soon.met_at is None


def test_an_invalid_channel_is_refused(client, alice, scene):
    response = post(client, alice, "obligation-submit", scene["soon"].pk, {"channel": "fax"})
    assert response.status_code == 400
    assert (
        not Submission.objects.exists()
        or not Submission.objects.filter(obligation=scene["soon"]).exists()
    )


def test_the_submission_form_renders_for_the_obligation(client, alice, scene):
    client.force_login(alice)
    with time_machine.travel(NOW, tick=False):
        response = client.get(page_url("obligation-submit", scene["soon"].pk))
    html = response.content.decode()
    assert response.status_code == 200
    pk = scene["soon"].pk
    assert f'<label class="usa-label" for="ob-{pk}-submitted_at">' in html
    assert 'type="datetime-local"' in html
    assert "America/New_York" in html


# --- Waiver ---------------------------------------------------------------------------------


def test_carol_may_not_waive(client, carol, scene):
    soon = scene["soon"]
    response = post(client, carol, "obligation-waive", soon.pk, {"reason": "Not needed."})
    assert response.status_code == 403
    assert "Only an approving official may waive" in response.content.decode()
    assert any("not waived" in m for m in message_texts(response))
    soon.refresh_from_db()
    assert soon.waived_at is None and soon.waive_reason == ""


def test_olivia_waives(client, olivia, scene):
    soon = scene["soon"]
    response = post(
        client, olivia, "obligation-waive", soon.pk, {"reason": "Reported by the department."}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("incident-detail", args=[soon.incident.number])
    soon.refresh_from_db()
    assert soon.waived_at == NOW
    assert soon.waived_by == olivia
    assert soon.waive_reason == "Reported by the department."
    assert any("waived" in m for m in message_texts(response))


def test_a_waiver_needs_a_reason(client, olivia, scene):
    soon = scene["soon"]
    response = post(client, olivia, "obligation-waive", soon.pk, {"reason": "   "})
    assert response.status_code == 400
    soon.refresh_from_db()
    assert soon.waived_at is None


def test_another_agencys_obligation_is_not_found(client, bob, alice, olivia, scene, open_incident):
    for user, name, data in (
        (bob, "obligation-submit", {"channel": "email"}),
        (bob, "obligation-waive", {"reason": "Mine now."}),
    ):
        response = post(client, user, name, scene["soon"].pk, data)
        assert response.status_code == 404
        client.logout()
    scene["soon"].refresh_from_db()
    assert scene["soon"].met_at is None and scene["soon"].waived_at is None
    assert not Submission.objects.filter(obligation=scene["soon"]).exists()


def test_an_isso_cannot_reach_another_systems_obligation(
    client, alice, carol, hr_system, open_incident
):
    hr = open_incident(now=NOW - timedelta(minutes=15), by=carol, systems=[hr_system.pk])
    hr_ob = ob(hr, "cisa-initial")
    response = post(client, alice, "obligation-submit", hr_ob.pk, {"channel": "email"})
    assert response.status_code == 404
    assert not Submission.objects.filter(obligation=hr_ob).exists()


def test_the_page_url_names_reverse_to_the_pages():
    """The incident page posts to ``{% url 'obligation-submit' %}`` and
    ``{% url 'obligation-waive' %}``: those names must reverse to these views, not to a
    same-named route of the API router (which once also produced "obligation-waive")."""
    assert reverse("obligation-submit", args=[7]) == "/obligations/7/submit/"
    assert reverse("obligation-waive", args=[7]) == "/obligations/7/waive/"
    # The redirect after a submission and the calendar's URL use this one.
    assert reverse("incident-detail", args=["FTA-2026-0001"]) == "/incidents/FTA-2026-0001/"


def test_an_auditor_without_grants_sees_nothing_and_no_submit_links(client, audrey, scene):
    html = board(client, audrey)
    assert all_ids(html) == set()
    assert "Record submission" not in html


def test_long_sections_are_capped_and_listed_in_full_page_by_page(client, carol, open_incident):
    from reporting.views import SECTION_ROWS

    opened = NOW - timedelta(hours=3)
    for n in range(SECTION_ROWS + 2):
        open_incident(now=opened, title=f"Phishing wave {n}")
    expected = set(Obligation.objects.filter(rule__key="cisa-initial").values_list("pk", flat=True))
    assert len(expected) == SECTION_ROWS + 2

    html = board(client, carol)
    assert len(all_ids(html)) == SECTION_ROWS
    assert f"Showing the first {SECTION_ROWS} of {SECTION_ROWS + 2}" in html
    assert "?all=overdue" in html

    first = board(client, carol, all="overdue")
    second = board(client, carol, all="overdue", page="2")
    assert len(all_ids(first)) == SECTION_ROWS
    assert len(all_ids(second)) == 2
    assert all_ids(first) | all_ids(second) == expected
    assert "Met in the last 7 days" not in first
