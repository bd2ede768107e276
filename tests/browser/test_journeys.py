"""End to end in the browser: the journeys people take through Docket's pages.

(a) a compliance officer signs in with an authenticator code and finds an overdue obligation;
(b) an ISSO opens an incident with the form and moves it to confirmed with the lifecycle buttons;
(c) an approving official records a major determination and the seven-day obligations appear,
due at 23:59 of the seventh local day in the agency's zone; (d) someone of another agency gets a
404 on that incident. Locators are the accessible ones (role, label), as a screen reader user
would find them.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.context import context_for
from core.time import format_local
from incidents.models import Decision, Incident, State
from incidents.selectors import current_determination
from incidents.services import determination_record, incident_transition
from reporting.models import Obligation

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _main_text(page) -> str:
    return page.get_by_role("main").inner_text()


def _choose(scope, label: str) -> None:
    """Tick a USWDS radio button or checkbox the way people do: by its label (the input itself
    is visually hidden behind the styled one)."""
    scope.locator("label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).click()
    assert scope.get_by_label(label, exact=True).is_checked(), f"{label!r} is not ticked"


def _current_code(device: TOTPDevice) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"


def test_compliance_officer_signs_in_with_totp_and_sees_an_overdue_obligation(
    settings, signed_in_page, agency_a, carol, open_incident
):
    settings.DOCKET_REQUIRE_MFA = True  # the live server runs in this process
    device = TOTPDevice.objects.create(user=carol, name="Authenticator app", confirmed=True)
    now = timezone.now()
    incident = open_incident(
        by=carol,
        now=now - timedelta(hours=3),
        identified_at=now - timedelta(hours=3),
        title="Credential-phishing emails to case workers",
    )
    overdue = Obligation.objects.get(incident=incident, rule__key="cisa-initial")
    assert overdue.due_at < now  # CISA's hour ran out two hours ago

    page = signed_in_page(carol)
    # The password alone is not enough: every page sends carol to the second factor.
    assert "/accounts/mfa/verify/" in page.url, page.url
    page.goto("/deadlines/")
    assert "/accounts/mfa/verify/" in page.url, f"the board was reachable without MFA: {page.url}"
    page.get_by_label("6-digit code").fill("000000" if _current_code(device) != "000000" else "1")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_role("alert").filter(has_text="did not match").is_visible()

    # django-otp throttles the device for a second after a failed code; a person waits too.
    page.wait_for_timeout(1500)
    page.get_by_label("6-digit code").fill(_current_code(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/deadlines/"))
    assert page.get_by_role("heading", level=1, name="Reporting deadlines").is_visible()

    section = page.get_by_role("region", name=re.compile(r"^Overdue"))
    row = section.get_by_role("row").filter(has_text=incident.number)
    assert row.count() == 1, f"{incident.number} is not in the Overdue section:\n{_main_text(page)}"
    assert row.get_by_role("link", name=incident.number, exact=True).is_visible()
    row_text = row.inner_text()
    assert "CISA incident notification" in row_text
    assert "overdue" in row_text.lower()
    assert format_local(overdue.due_at, agency_a.tz) in row_text


def test_isso_opens_an_incident_and_moves_it_to_confirmed(signed_in_page, agency_a, alice):
    page = signed_in_page(alice)
    page.get_by_role("link", name="Incidents").first.click()
    page.goto("/incidents/new/")
    assert page.get_by_role("heading", level=1, name="Open an incident").is_visible()
    page.get_by_label(re.compile(r"^Title")).fill("Shell spawned in store-frontend")
    page.get_by_label(re.compile(r"^Summary")).fill("Falco: terminal shell in container.")
    _choose(
        page.get_by_role("group", name=re.compile("Affected information systems")),
        "FTA-WEB — Public web store",
    )
    page.get_by_role("button", name="Open incident").click()

    page.wait_for_url(re.compile(r"/incidents/[A-Z]+-\d{4}-\d{4}/$"))
    incident = Incident.objects.get(agency=agency_a, title="Shell spawned in store-frontend")
    assert page.url.endswith(f"/incidents/{incident.number}/")
    assert incident.created_by == alice
    assert list(incident.systems.values_list("acronym", flat=True)) == ["FTA-WEB"]
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == f"{incident.number}: Shell spawned in store-frontend"
    obligations = page.get_by_role("table", name=re.compile("Reporting obligations"))
    assert obligations.get_by_role("row", name=re.compile("CISA incident notification")).count()

    page.get_by_role("button", name="Start triage").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").filter(has_text="is now triage").is_visible()
    page.get_by_role("button", name="Confirm incident").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").filter(has_text="is now confirmed").is_visible()
    assert page.get_by_role("button", name="Confirm incident").count() == 0
    assert page.get_by_role("button", name="Mark contained").is_visible()

    incident.refresh_from_db()
    assert incident.state == State.CONFIRMED
    moves = list(
        incident.events.filter(kind="transition").values_list("from_state", "to_state", "actor")
    )
    assert moves == [("detected", "triage", alice.pk), ("triage", "confirmed", alice.pk)]
    history = page.get_by_role("table", name=re.compile("Event log"))
    assert history.get_by_role("row", name=re.compile("triage → confirmed")).count() == 1


@pytest.fixture
def confirmed_incident(agency_a, alice, open_incident):
    now = timezone.now()
    incident = open_incident(
        now=now - timedelta(hours=2),
        identified_at=now - timedelta(hours=2, minutes=5),
        title="Compromised store-frontend pod",
    )
    ctx = context_for(alice, agency_a)
    for step, minutes in (("start_triage", 110), ("confirm", 100)):
        incident = incident_transition(
            ctx=ctx, incident=incident, transition=step, now=now - timedelta(minutes=minutes)
        )
    return incident


SEVEN_DAY = (
    ("congress-7-day", "Congressional notification (7 days)"),
    (
        "ig-7-day",
        "Inspector General notification (7 days)",
    ),
)


def test_approving_official_records_a_major_determination_and_the_seven_day_clocks_start(
    signed_in_page, agency_a, olivia, confirmed_incident
):
    incident = confirmed_incident
    page = signed_in_page(olivia)
    page.goto(f"/incidents/{incident.number}/")
    assert page.get_by_role("heading", level=2, name="Major-incident determination").is_visible()
    assert "No determination recorded yet." in _main_text(page)
    page.get_by_role("link", name="Record a major-incident determination").click()
    page.wait_for_url(re.compile(r"/determination/$"))

    categories = incident.ruleset.major_criteria["harm_categories"]
    for n, cat in enumerate(categories):
        group = page.get_by_role("group", name=f"Is demonstrable harm likely to: {cat['label']}?")
        _choose(group, "Yes, likely" if n == 0 else "No, not likely")
    _choose(page.get_by_role("group", name=re.compile(r"^Decision")), "Major incident")
    page.get_by_label(re.compile(r"^Rationale")).fill(
        "Root-level tooling staged in an internet-facing production pod."
    )
    page.get_by_role("button", name="Record determination").click()
    page.wait_for_url(re.compile(rf"/incidents/{incident.number}/$"))
    assert page.get_by_role("status").filter(has_text="Determination recorded").is_visible()

    det = current_determination(incident)
    assert det is not None and det.decision == Decision.MAJOR and det.decided_by == olivia
    tz = agency_a.tz
    # Independently of reporting.clock: 23:59 of the seventh local day after the decision.
    due_date = det.basis_at.astimezone(tz).date() + timedelta(days=7)
    zone_abbr = datetime.combine(due_date, time(23, 59), tzinfo=tz).tzname()
    independent = f"{due_date:%Y-%m-%d} 23:59 {zone_abbr}"
    table = page.get_by_role("table", name=re.compile("Reporting obligations"))
    for key, title in SEVEN_DAY:
        ob = Obligation.objects.get(incident=incident, rule__key=key)
        shown = format_local(ob.due_at, tz)
        assert shown == f"{independent} ({tz.key})", (shown, independent)
        row = table.get_by_role("row", name=re.compile(re.escape(title)))
        assert row.count() == 1, f"no row for {title}:\n{table.inner_text()}"
        row_text = row.inner_text()
        assert shown in row_text, f"{title}: expected due {shown!r} in {row_text!r}"
        assert "upcoming" in row_text.lower()  # the tag is styled upper-case


def test_another_agency_gets_404_on_the_incident(
    signed_in_page, agency_a, olivia, bob, confirmed_incident
):
    incident = confirmed_incident
    determination_record(
        ctx=context_for(olivia, agency_a),
        incident=incident,
        decision=Decision.MAJOR,
        rationale="Major.",
        nciss_level=3,
    )
    page = signed_in_page(bob)
    for url in (f"/incidents/{incident.number}/", f"/incidents/{incident.number}/determination/"):
        response = page.goto(url)
        assert response is not None and response.status == 404, (url, response and response.status)
        assert incident.title not in page.content()
    listing = page.goto("/incidents/")
    assert listing is not None and listing.status == 200
    assert incident.number not in _main_text(page)
