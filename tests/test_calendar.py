"""The personal calendar feed: issued and rotated on the settings page, read without a session.

Agency A (FTA) keeps America/New_York time, agency B (OTA) America/Los_Angeles.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from accounts.models import Role
from accounts.services import membership_grant
from reporting.models import CalendarToken, Obligation
from reporting.services import obligation_waive, submission_record

from .support.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 15, tzinfo=UTC)  # 11:00 EDT


def ob(incident, key: str) -> Obligation:
    return Obligation.objects.select_related("rule", "incident__agency").get(
        incident=incident, rule__key=key
    )


def issue(client, user) -> str:
    """Create or rotate ``user``'s feed on the settings page; the URL it shows once."""
    with time_machine.travel(NOW, tick=False):
        client.force_login(user)
        response = client.post(reverse("calendar-settings"))
    assert response.status_code == 200
    match = re.search(r'value="(http://testserver/calendar/[^"]+\.ics)"', response.content.decode())
    assert match, "the new feed URL is shown"
    return match.group(1)


def fetch(url: str):
    """The feed as a calendar app reads it: a fresh client, no session."""
    with time_machine.travel(NOW, tick=False):
        return Client().get(url)


def events(url: str) -> dict[str, object]:
    response = fetch(url)
    assert response.status_code == 200
    cal = Calendar.from_ical(response.content)
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def uid(obligation) -> str:
    return f"obligation-{obligation.pk}@docket"


@pytest.fixture
def scene(open_incident, ctx, carol, olivia, agency_a):
    """Three incidents of agency A: one obligation open, one met, one waived."""
    open_one = open_incident(now=NOW - timedelta(minutes=30), title="Open one")
    met = open_incident(now=NOW - timedelta(hours=2), title="Met one")
    submission_record(
        ctx=ctx(carol, agency_a),
        obligation=ob(met, "cisa-initial"),
        channel="cisa_portal",
        now=NOW - timedelta(hours=1, minutes=30),
    )
    waived = open_incident(now=NOW - timedelta(hours=3), title="Waived one")
    obligation_waive(
        ctx=ctx(olivia, agency_a),
        obligation=ob(waived, "cisa-initial"),
        reason="Reported by the department.",
        now=NOW - timedelta(hours=2),
    )
    return {
        "open": ob(open_one, "cisa-initial"),
        "met": ob(met, "cisa-initial"),
        "waived": ob(waived, "cisa-initial"),
    }


def test_the_feed_lists_open_obligations_only(client, carol, scene):
    found = events(issue(client, carol))
    assert set(found) == {uid(scene["open"])}


def test_an_event_carries_the_due_time_in_utc_and_the_details(client, carol, scene):
    url = issue(client, carol)
    response = fetch(url)
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"] == "private, no-store"
    cal = Calendar.from_ical(response.content)
    assert str(cal["version"]) == "2.0"
    assert "Docket" in str(cal["prodid"])
    assert "carol" in str(cal["x-wr-calname"])
    [event] = cal.walk("VEVENT")
    open_ob = scene["open"]
    start = event.decoded("dtstart")
    assert start == open_ob.due_at == datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    assert start.utcoffset() == timedelta(0)
    assert event.decoded("dtend") == start
    assert b"DTSTART:20260310T153000Z" in response.content
    number = open_ob.incident.number
    assert str(event["summary"]) == f"Due: CISA incident notification — {number}"
    description = str(event["description"])
    assert "CISA" in description
    assert "2026-03-10 11:30 EDT (America/New_York)" in description
    assert str(event["url"]) == "http://testserver" + reverse("incident-detail", args=[number])


def test_each_event_has_the_reminder_alarms(client, carol, scene):
    [event] = events(issue(client, carol)).values()
    alarms = event.walk("VALARM")
    triggers = sorted(a.decoded("trigger") for a in alarms)
    expected = sorted(-timedelta(hours=h) for h in settings.DOCKET_REMINDER_THRESHOLDS_HOURS)
    assert triggers == expected
    assert timedelta(0) in triggers  # the threshold 0 fires at the start
    assert -timedelta(hours=72) in triggers
    assert all(str(a["action"]) == "DISPLAY" for a in alarms)


def test_alarm_triggers_are_written_as_exact_hours(client, carol, scene):
    response = fetch(issue(client, carol))
    assert b"TRIGGER:-PT72H" in response.content
    assert b"TRIGGER:-PT24H" in response.content
    assert b"TRIGGER:PT0S" in response.content


def test_the_uid_is_stable_across_fetches(client, carol, scene):
    url = issue(client, carol)
    assert set(events(url)) == set(events(url)) == {uid(scene["open"])}


def test_rotating_invalidates_the_old_url(client, carol, scene):
    old = issue(client, carol)
    assert fetch(old).status_code == 200
    new = issue(client, carol)
    assert new != old
    assert fetch(old).status_code == 404
    assert set(events(new)) == {uid(scene["open"])}
    token = CalendarToken.objects.get(user=carol)
    assert token.rotated_at == NOW


def test_the_token_is_stored_hashed_and_shown_only_once(client, carol):
    url = issue(client, carol)
    plain = url.rsplit("/", 1)[1].removesuffix(".ics")
    token = CalendarToken.objects.get(user=carol)
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in token.token_hash
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("calendar-settings")).content.decode()
    assert plain not in page
    assert "Rotate to see a new URL" in page


def test_no_events_of_another_agency(client, carol, bob, agency_b, b_system, scene, open_incident):
    theirs = open_incident(
        now=NOW - timedelta(minutes=20),
        by=bob,
        agency=agency_b,
        systems=[b_system.pk],
        title="Their incident",
    )
    carols = events(issue(client, carol))
    assert uid(ob(theirs, "cisa-initial")) not in carols
    client.logout()
    bobs = events(issue(client, bob))
    assert set(bobs) == {uid(ob(theirs, "cisa-initial"))}
    [event] = bobs.values()
    assert "PDT (America/Los_Angeles)" in str(event["description"])


def test_a_user_in_two_agencies_gets_both(
    client, agency_a, agency_b, b_system, bob, scene, open_incident
):
    theirs = open_incident(
        now=NOW - timedelta(minutes=20), by=bob, agency=agency_b, systems=[b_system.pk]
    )
    mia = UserFactory(username="mia")
    membership_grant(user=mia, agency=agency_a, role=Role.COMPLIANCE_OFFICER)
    membership_grant(user=mia, agency=agency_b, role=Role.COMPLIANCE_OFFICER)
    found = events(issue(client, mia))
    assert set(found) == {uid(scene["open"]), uid(ob(theirs, "cisa-initial"))}


def test_an_isso_gets_only_their_systems_obligations(
    client, alice, carol, hr_system, scene, open_incident
):
    hr = open_incident(now=NOW - timedelta(minutes=10), by=carol, systems=[hr_system.pk])
    assert set(events(issue(client, alice))) == {uid(scene["open"])}
    client.logout()
    assert uid(ob(hr, "cisa-initial")) in events(issue(client, carol))


def test_an_unknown_token_is_not_found():
    response = Client().get(reverse("calendar-feed", args=["no-such-token"]))
    assert response.status_code == 404


def test_the_feed_needs_no_sign_in_but_the_settings_page_does(client, carol, scene):
    url = issue(client, carol)
    anonymous = Client()
    with time_machine.travel(NOW, tick=False):
        assert anonymous.get(url).status_code == 200
        page = anonymous.get(reverse("calendar-settings"))
    assert page.status_code == 302 and "login" in page["Location"]


def test_an_inactive_users_feed_stops_working(client, carol, scene):
    url = issue(client, carol)
    carol.is_active = False
    carol.save(update_fields=["is_active"])
    assert fetch(url).status_code == 404
