"""The reporting clocks through the services: obligations created, recomputed, withdrawn,
reinstated, met, waived; and gapless incident numbers.

Agency A (FTA) keeps America/New_York time: EST is UTC-5, EDT UTC-4; in 2026 daylight time
runs from 03-08 02:00 EST (07:00Z) to 11-01 02:00 EDT (06:00Z). Expected instants are written
out in UTC with the local arithmetic in a comment.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import Conflict, InvalidInput, NotPermitted
from incidents.models import (
    Determination,
    EventKind,
    Incident,
    IncidentEvent,
    IncidentSequence,
)
from incidents.selectors import current_determination
from incidents.services import (
    additional_information_record,
    determination_record,
    incident_open,
)
from reporting.clock import ONE_MICROSECOND, Status
from reporting.history import ReportingEventKind
from reporting.models import Obligation, ObligationRule, RuleSetAdoption, Submission
from reporting.models.obligation import due_soon_window
from reporting.services import obligation_waive, submission_record

MAJOR_KEYS = {"cisa-major-update", "congress-7-day", "ig-7-day"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def obligations(incident) -> dict[tuple[str, int], Obligation]:
    rows = Obligation.objects.filter(incident=incident).select_related("rule", "incident")
    return {(o.rule.key, o.sequence): o for o in rows}


def ob(incident, key: str, sequence: int = 1) -> Obligation:
    return Obligation.objects.select_related("rule", "incident").get(
        incident=incident, rule__key=key, sequence=sequence
    )


def events(incident, kind, **filters):
    return list(
        IncidentEvent.objects.filter(incident=incident, kind=kind, **filters).order_by("pk")
    )


def recomputed(incident, at) -> dict[str, dict]:
    """The clock_recomputed events logged at ``at``, by rule key."""
    found = {}
    for e in events(incident, ReportingEventKind.CLOCK_RECOMPUTED, at=at):
        assert e.data["rule"] not in found, "one event per obligation and act"
        found[e.data["rule"]] = e.data
    return found


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture
def as_alice(ctx, alice, agency_a):
    return ctx(alice, agency_a)


@pytest.fixture
def as_carol(ctx, carol, agency_a):
    return ctx(carol, agency_a)


@pytest.fixture
def as_olivia(ctx, olivia, agency_a):
    return ctx(olivia, agency_a)


@pytest.fixture
def determine(as_olivia):
    """``determine(incident, decision, basis_at=..., now=..., **more)`` as olivia."""

    def _determine(incident, decision="major", *, basis_at, now, **more):
        return determination_record(
            ctx=as_olivia,
            incident=incident,
            decision=decision,
            basis_at=basis_at,
            now=now,
            rationale="Exfiltration from the store front; NCISS level 3 assessed.",
            **more,
        )

    return _determine


def submit(ctx, obligation, *, submitted_at, now, channel="email"):
    return submission_record(
        ctx=ctx, obligation=obligation, submitted_at=submitted_at, now=now, channel=channel
    )


# --- opening ---------------------------------------------------------------------------------


def test_opening_creates_the_cisa_one_hour_obligation(open_incident):
    # Identified 2026-03-08 01:30 EST (06:30Z) on the spring-forward night; opened 01:45 EST.
    incident = open_incident(now=utc(2026, 3, 8, 6, 45), identified_at=utc(2026, 3, 8, 6, 30))
    assert incident.number == "FTA-2026-0001"
    obs = obligations(incident)
    assert list(obs) == [("cisa-initial", 1)]
    cisa = obs["cisa-initial", 1]
    # One elapsed hour: 07:30Z, which the wall clock shows as 03:30 EDT.
    assert cisa.due_at == utc(2026, 3, 8, 7, 30)
    assert cisa.anchor_at == utc(2026, 3, 8, 6, 30)
    assert cisa.anchor_ref == "incident"
    assert cisa.recipients == ["CISA"]
    assert cisa.created_at == utc(2026, 3, 8, 6, 45)
    assert cisa.status_at(utc(2026, 3, 8, 6, 45)) is Status.DUE_SOON
    assert cisa.status_at(utc(2026, 3, 8, 7, 30)) is Status.DUE_SOON
    assert cisa.status_at(utc(2026, 3, 8, 7, 30) + ONE_MICROSECOND) is Status.OVERDUE
    (created,) = events(incident, ReportingEventKind.OBLIGATION_CREATED)
    assert created.data["rule"] == "cisa-initial"
    assert parse(created.data["due_at"]) == utc(2026, 3, 8, 7, 30)
    assert created.note == (
        "CISA incident notification due 2026-03-08 03:30 EDT (America/New_York) (incident opened)."
    )


def test_opening_defaults_identified_to_now(open_incident):
    incident = open_incident(now=utc(2026, 11, 1, 5, 30))  # 01:30 EDT, the first one
    # An hour later is 06:30Z, the second 01:30 (EST).
    assert ob(incident, "cisa-initial").due_at == utc(2026, 11, 1, 6, 30)


def test_opening_with_a_local_identified_time_on_the_fall_back_night(open_incident):
    """Forms and the API hand the service datetimes in the user's zone, not in UTC."""
    ny = ZoneInfo("America/New_York")
    # The first 01:30 (EDT) = 05:30Z; one real hour later is 06:30Z (the second 01:30, EST),
    # not 02:30 EST (07:30Z), which wall-clock arithmetic would give.
    incident = open_incident(
        now=utc(2026, 11, 1, 5, 45), identified_at=datetime(2026, 11, 1, 1, 30, tzinfo=ny)
    )
    cisa = ob(incident, "cisa-initial")
    assert cisa.anchor_at == utc(2026, 11, 1, 5, 30)
    assert cisa.due_at == utc(2026, 11, 1, 6, 30)


def test_identified_in_the_future_is_rejected(open_incident):
    now = utc(2026, 3, 8, 6, 45)
    with pytest.raises(InvalidInput):
        open_incident(now=now, identified_at=now + ONE_MICROSECOND)
    assert not Incident.objects.exists()
    assert not Obligation.objects.exists()


# --- determinations --------------------------------------------------------------------------

SPRING = {
    # Identified 00:40 EST; basis 01:50 EST (06:50Z); recorded 03:10 EDT (07:10Z).
    "identified": utc(2026, 3, 8, 5, 40),
    "basis": utc(2026, 3, 8, 6, 50),
    "now": utc(2026, 3, 8, 7, 10),
    # 06:50Z + 1 h = 07:50Z (03:50 EDT on the wall).
    "cisa": utc(2026, 3, 8, 7, 50),
    # Local date 03-08 + 7 = 03-15, ends 23:59:59.999999 EDT = 03-16 03:59:59.999999Z.
    "seven": utc(2026, 3, 16, 3, 59, 59, 999999),
    "seven_local": "2026-03-15 23:59 EDT",
}
FALL = {
    # Identified 01:10 EDT; basis 01:50 EDT (05:50Z); recorded 01:20 EST (06:20Z).
    "identified": utc(2026, 11, 1, 5, 10),
    "basis": utc(2026, 11, 1, 5, 50),
    "now": utc(2026, 11, 1, 6, 20),
    # 05:50Z + 1 h = 06:50Z (01:50 EST: the wall clock shows the same time again).
    "cisa": utc(2026, 11, 1, 6, 50),
    # Local date 11-01 + 7 = 11-08, ends 23:59:59.999999 EST = 11-09 04:59:59.999999Z.
    "seven": utc(2026, 11, 9, 4, 59, 59, 999999),
    "seven_local": "2026-11-08 23:59 EST",
}


@pytest.mark.parametrize("night", [SPRING, FALL], ids=["spring-forward", "fall-back"])
@pytest.mark.parametrize("decision", ["major", "suspected_major"])
def test_major_determination_on_a_dst_night(open_incident, determine, night, decision):
    incident = open_incident(now=night["identified"], identified_at=night["identified"])
    det = determine(incident, decision, basis_at=night["basis"], now=night["now"])
    obs = obligations(incident)
    assert set(obs) == {("cisa-initial", 1)} | {(k, 1) for k in MAJOR_KEYS}
    assert obs["cisa-major-update", 1].due_at == night["cisa"]
    assert obs["congress-7-day", 1].due_at == night["seven"]
    assert obs["ig-7-day", 1].due_at == night["seven"]
    for key in MAJOR_KEYS:
        assert obs[key, 1].anchor_at == night["basis"]
        assert obs[key, 1].anchor_ref == f"determination:{det.pk}"
        assert obs[key, 1].created_at == night["now"]
        assert obs[key, 1].recipients == list(obs[key, 1].rule.recipients)
    assert obs["ig-7-day", 1].recipients == ["Office of Inspector General"]
    assert "House Committee on Homeland Security" in obs["congress-7-day", 1].recipients
    created = {
        e.data["rule"]: e
        for e in events(incident, ReportingEventKind.OBLIGATION_CREATED, at=night["now"])
    }
    assert set(created) == MAJOR_KEYS
    assert parse(created["congress-7-day"].data["due_at"]) == night["seven"]
    assert created["congress-7-day"].note == (
        f"Congressional notification (7 days) due {night['seven_local']} (America/New_York) "
        "(determination recorded)."
    )


def test_not_major_creates_no_major_obligation(open_incident, determine, as_carol):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    determine(incident, "not_major", basis_at=utc(2026, 3, 3, 15), now=utc(2026, 3, 3, 15))
    # Neither does additional information, nor a breach determined not major.
    additional_information_record(
        ctx=as_carol, incident=incident, summary="More logs", now=utc(2026, 3, 4, 15)
    )
    determine(
        incident,
        "not_major",
        basis_at=utc(2026, 3, 3, 15),
        now=utc(2026, 3, 5, 15),
        breach=True,
        breach_discovered_at=utc(2026, 3, 2, 13),
    )
    assert list(obligations(incident)) == [("cisa-initial", 1)]
    assert len(events(incident, ReportingEventKind.OBLIGATION_CREATED)) == 1


# Determination corrections. Identified 2026-03-02 12:00Z; first basis 03-06 10:00 EST (15:00Z):
# CISA update 16:00Z; seven-day: 03-13 ends 23:59:59.999999 EDT = 03-14 03:59:59.999999Z.
FIRST_BASIS = utc(2026, 3, 6, 15)
FIRST_CISA = utc(2026, 3, 6, 16)
FIRST_SEVEN = utc(2026, 3, 14, 3, 59, 59, 999999)


@pytest.mark.parametrize(
    ("basis", "now", "cisa", "seven"),
    [
        # Earlier: 03-04 23:30 EST (03-05 04:30Z, a UTC date later than the local one)
        # -> CISA 05:30Z; 03-04 + 7 = 03-11, ends 23:59:59.999999 EDT = 03-12 03:59:59.999999Z.
        (
            utc(2026, 3, 5, 4, 30),
            utc(2026, 3, 6, 16, 30),
            utc(2026, 3, 5, 5, 30),
            utc(2026, 3, 12, 3, 59, 59, 999999),
        ),
        # Later: 03-07 00:30 EST (05:30Z) -> CISA 06:30Z; 03-07 + 7 = 03-14, ends EDT
        # = 03-15 03:59:59.999999Z.
        (
            utc(2026, 3, 7, 5, 30),
            utc(2026, 3, 7, 6),
            utc(2026, 3, 7, 6, 30),
            utc(2026, 3, 15, 3, 59, 59, 999999),
        ),
    ],
    ids=["earlier", "later"],
)
def test_correction_recomputes_open_obligations(open_incident, determine, basis, now, cisa, seven):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    first = determine(incident, basis_at=FIRST_BASIS, now=utc(2026, 3, 6, 15, 30))
    before = obligations(incident)
    assert before["cisa-major-update", 1].due_at == FIRST_CISA
    assert before["congress-7-day", 1].due_at == FIRST_SEVEN

    second = determine(incident, basis_at=basis, now=now)

    after = obligations(incident)
    assert set(after) == set(before)  # recomputed in place, nothing duplicated
    assert {k: o.pk for k, o in after.items()} == {k: o.pk for k, o in before.items()}
    assert after["cisa-major-update", 1].due_at == cisa
    assert after["congress-7-day", 1].due_at == seven
    assert after["ig-7-day", 1].due_at == seven
    assert after["cisa-initial", 1].due_at == utc(2026, 3, 2, 13)  # untouched
    for key in MAJOR_KEYS:
        assert after[key, 1].anchor_at == basis
        assert after[key, 1].anchor_ref == f"determination:{second.pk}"
        assert after[key, 1].withdrawn_at is None

    logged = recomputed(incident, now)
    assert set(logged) == MAJOR_KEYS  # and nothing for the CISA initial notification
    assert parse(logged["cisa-major-update"]["old_due"]) == FIRST_CISA
    assert parse(logged["cisa-major-update"]["new_due"]) == cisa
    for key in ("congress-7-day", "ig-7-day"):
        assert parse(logged[key]["old_due"]) == FIRST_SEVEN
        assert parse(logged[key]["new_due"]) == seven
        assert logged[key]["reinstated"] is False
        assert logged[key]["obligation"] == after[key, 1].pk

    # The first determination stays, superseded by the correction.
    assert Determination.objects.filter(incident=incident).count() == 2
    first.refresh_from_db()
    assert first.basis_at == FIRST_BASIS
    assert first.decision == "major"
    assert not first.is_current
    assert second.supersedes_id == first.pk
    assert current_determination(incident) == second
    (logged_det,) = events(incident, EventKind.DETERMINATION, at=now)
    assert logged_det.data["corrects"] == first.pk
    assert parse(logged_det.data["basis_at"]) == basis


def test_chain_of_corrections(open_incident, determine):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    first = determine(incident, basis_at=FIRST_BASIS, now=utc(2026, 3, 6, 15, 30))
    second = determine(incident, basis_at=utc(2026, 3, 5, 4, 30), now=utc(2026, 3, 6, 16, 30))
    third = determine(incident, basis_at=utc(2026, 3, 7, 5, 30), now=utc(2026, 3, 7, 6))
    assert [d.pk for d in Determination.objects.filter(incident=incident)] == [
        first.pk,
        second.pk,
        third.pk,
    ]
    assert (second.supersedes_id, third.supersedes_id) == (first.pk, second.pk)
    assert current_determination(incident) == third
    # Second recomputation: old_due is the first correction's due, not the original's.
    logged = recomputed(incident, utc(2026, 3, 7, 6))
    assert parse(logged["congress-7-day"]["old_due"]) == utc(2026, 3, 12, 3, 59, 59, 999999)
    assert parse(logged["congress-7-day"]["new_due"]) == utc(2026, 3, 15, 3, 59, 59, 999999)


def test_correction_within_the_same_local_day_keeps_the_seven_day_due(open_incident, determine):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    determine(incident, basis_at=FIRST_BASIS, now=utc(2026, 3, 6, 15, 30))
    # 03-06 10:00 EST -> 03-06 06:00 EST (11:00Z): the same local date.
    now = utc(2026, 3, 6, 16, 30)
    determine(incident, basis_at=utc(2026, 3, 6, 11), now=now)
    assert ob(incident, "congress-7-day").due_at == FIRST_SEVEN
    assert ob(incident, "cisa-major-update").due_at == utc(2026, 3, 6, 12)
    assert set(recomputed(incident, now)) == {"cisa-major-update"}


def test_not_major_withdraws_and_major_reinstates(open_incident, determine):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    determine(incident, basis_at=FIRST_BASIS, now=utc(2026, 3, 6, 15, 30))
    pks = {k: o.pk for k, o in obligations(incident).items()}

    withdrawn_now = utc(2026, 3, 6, 16)
    determine(incident, "not_major", basis_at=FIRST_BASIS, now=withdrawn_now)
    obs = obligations(incident)
    for key in MAJOR_KEYS:
        assert obs[key, 1].withdrawn_at == withdrawn_now
        assert obs[key, 1].withdrawn_reason == "determination corrected"
        assert obs[key, 1].status_at(withdrawn_now) is Status.WITHDRAWN
        assert obs[key, 1].status_at(withdrawn_now + timedelta(days=30)) is Status.WITHDRAWN
    assert obs["cisa-initial", 1].withdrawn_at is None
    assert obs["cisa-initial", 1].status_at(withdrawn_now) is Status.OVERDUE
    gone = events(incident, ReportingEventKind.OBLIGATION_WITHDRAWN, at=withdrawn_now)
    assert {e.data["rule"] for e in gone} == MAJOR_KEYS
    assert Obligation.objects.filter(incident=incident).open().count() == 1

    # Corrected back to major with the same basis: the same rows come back, same dues.
    back_now = utc(2026, 3, 6, 17)
    determine(incident, basis_at=FIRST_BASIS, now=back_now)
    obs = obligations(incident)
    assert {k: o.pk for k, o in obs.items()} == pks
    for key in MAJOR_KEYS:
        assert obs[key, 1].withdrawn_at is None
        assert obs[key, 1].withdrawn_reason == ""
    assert obs["cisa-major-update", 1].due_at == FIRST_CISA
    assert obs["cisa-major-update", 1].status_at(back_now) is Status.OVERDUE
    assert obs["congress-7-day", 1].due_at == FIRST_SEVEN
    assert obs["congress-7-day", 1].status_at(back_now) is Status.UPCOMING
    logged = recomputed(incident, back_now)
    assert set(logged) == MAJOR_KEYS
    for data in logged.values():
        assert data["reinstated"] is True
        assert data["old_due"] == data["new_due"]
    assert Obligation.objects.filter(incident=incident).open().count() == 4

    # Withdrawn again, then reinstated with a later basis: the reinstated dues move.
    determine(incident, "not_major", basis_at=FIRST_BASIS, now=utc(2026, 3, 7, 5))
    final_now = utc(2026, 3, 7, 6)
    determine(incident, basis_at=utc(2026, 3, 7, 5, 30), now=final_now)
    assert ob(incident, "congress-7-day").due_at == utc(2026, 3, 15, 3, 59, 59, 999999)
    assert ob(incident, "cisa-major-update").due_at == utc(2026, 3, 7, 6, 30)
    logged = recomputed(incident, final_now)
    assert parse(logged["congress-7-day"]["new_due"]) == utc(2026, 3, 15, 3, 59, 59, 999999)
    assert logged["congress-7-day"]["reinstated"] is True
    assert Obligation.objects.filter(incident=incident).count() == 4


def test_met_and_waived_obligations_are_frozen(open_incident, determine, as_carol, as_olivia):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    determine(incident, basis_at=FIRST_BASIS, now=utc(2026, 3, 6, 15, 30))
    congress = ob(incident, "congress-7-day")
    submit(as_carol, congress, submitted_at=utc(2026, 3, 10, 14), now=utc(2026, 3, 10, 14))
    obligation_waive(
        ctx=as_olivia,
        obligation=ob(incident, "cisa-major-update"),
        reason="CISA was briefed by phone",
        now=utc(2026, 3, 10, 14, 30),
    )

    # Later basis 03-09 10:00 EDT (14:00Z): IG moves to 03-16 end EDT = 03-17 03:59:59.999999Z.
    now = utc(2026, 3, 10, 15)
    determine(incident, basis_at=utc(2026, 3, 9, 14), now=now)
    congress = ob(incident, "congress-7-day")
    assert congress.due_at == FIRST_SEVEN
    assert congress.anchor_at == FIRST_BASIS
    assert congress.met_at == utc(2026, 3, 10, 14)
    assert congress.status_at(now) is Status.MET_ON_TIME
    waived = ob(incident, "cisa-major-update")
    assert waived.due_at == FIRST_CISA
    assert waived.status_at(now) is Status.WAIVED
    assert ob(incident, "ig-7-day").due_at == utc(2026, 3, 17, 3, 59, 59, 999999)
    assert set(recomputed(incident, now)) == {"ig-7-day"}

    # Corrected to not major: the open one is withdrawn, the met and waived ones stay.
    now = utc(2026, 3, 10, 16)
    determine(incident, "not_major", basis_at=utc(2026, 3, 9, 14), now=now)
    assert ob(incident, "congress-7-day").withdrawn_at is None
    assert ob(incident, "congress-7-day").status_at(now) is Status.MET_ON_TIME
    assert ob(incident, "cisa-major-update").withdrawn_at is None
    assert ob(incident, "cisa-major-update").status_at(now) is Status.WAIVED
    assert ob(incident, "ig-7-day").status_at(now) is Status.WITHDRAWN
    assert {e.data["rule"] for e in events(incident, ReportingEventKind.OBLIGATION_WITHDRAWN)} == {
        "ig-7-day"
    }


# --- submissions and waivers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "delta", "expected"),
    [
        ("cisa-initial", timedelta(0), Status.MET_ON_TIME),
        ("cisa-initial", -ONE_MICROSECOND, Status.MET_ON_TIME),
        ("cisa-initial", ONE_MICROSECOND, Status.MET_LATE),
        ("congress-7-day", timedelta(0), Status.MET_ON_TIME),
        ("congress-7-day", ONE_MICROSECOND, Status.MET_LATE),
    ],
)
def test_submission_at_the_due_instant(open_incident, determine, as_carol, key, delta, expected):
    incident = open_incident(now=utc(2026, 3, 8, 5, 40))
    determine(incident, basis_at=utc(2026, 3, 8, 6, 50), now=utc(2026, 3, 8, 7, 10))
    obligation = ob(incident, key)
    # cisa-initial: 05:40Z + 1 h; congress: 03-15 ends 23:59:59.999999 EDT.
    assert (
        obligation.due_at
        == {
            "cisa-initial": utc(2026, 3, 8, 6, 40),
            "congress-7-day": utc(2026, 3, 16, 3, 59, 59, 999999),
        }[key]
    )
    submitted_at = obligation.due_at + delta
    now = obligation.due_at + timedelta(hours=1)
    sub = submit(as_carol, obligation, submitted_at=submitted_at, now=now)

    obligation.refresh_from_db()
    assert obligation.met_at == submitted_at  # to the microsecond, through PostgreSQL
    assert obligation.status_at(now) is expected
    assert Obligation.objects.with_status(now).get(pk=obligation.pk).status == expected.value
    sub.refresh_from_db()
    assert sub.submitted_at == submitted_at
    (logged,) = events(incident, ReportingEventKind.SUBMISSION)
    assert logged.data["status"] == expected.value
    assert logged.data["submission"] == sub.pk

    # A second submission is kept, but the first one met the obligation.
    submit(as_carol, obligation, submitted_at=now, now=now)
    obligation.refresh_from_db()
    assert obligation.met_at == submitted_at
    assert Submission.objects.filter(obligation=obligation).count() == 2
    assert obligation.status_at(now) is expected


def test_submission_refusals(open_incident, determine, as_carol, ctx, audrey, agency_a):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    obligation = ob(incident, "cisa-initial")
    now = utc(2026, 3, 2, 12, 30)
    with pytest.raises(InvalidInput):
        submit(as_carol, obligation, submitted_at=now + ONE_MICROSECOND, now=now)
    with pytest.raises(NotPermitted):
        submit(ctx(audrey, agency_a), obligation, submitted_at=now, now=now)
    determine(incident, basis_at=utc(2026, 3, 2, 12, 10), now=utc(2026, 3, 2, 12, 15))
    determine(incident, "not_major", basis_at=utc(2026, 3, 2, 12, 10), now=utc(2026, 3, 2, 12, 20))
    with pytest.raises(Conflict):
        submit(as_carol, ob(incident, "congress-7-day"), submitted_at=now, now=now)
    assert not Submission.objects.exists()
    assert Obligation.objects.filter(met_at__isnull=False).count() == 0


def test_waiver_needs_an_approving_official_and_a_reason(
    open_incident, determine, as_alice, as_carol, as_olivia, olivia
):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    determine(incident, basis_at=FIRST_BASIS, now=utc(2026, 3, 6, 15, 30))
    obligation = ob(incident, "ig-7-day")
    now = utc(2026, 3, 7, 12)
    for who in (as_alice, as_carol):
        with pytest.raises(NotPermitted):
            obligation_waive(ctx=who, obligation=obligation, reason="Briefed in person", now=now)
    for reason in ("", "   ", None):
        with pytest.raises(InvalidInput):
            obligation_waive(ctx=as_olivia, obligation=obligation, reason=reason, now=now)
    obligation.refresh_from_db()
    assert obligation.waived_at is None
    assert obligation.status_at(now) is Status.UPCOMING
    assert not events(incident, ReportingEventKind.WAIVED)

    obligation_waive(
        ctx=as_olivia, obligation=obligation, reason="  IG briefed in person  ", now=now
    )
    obligation.refresh_from_db()
    assert (obligation.waived_at, obligation.waived_by, obligation.waive_reason) == (
        now,
        olivia,
        "IG briefed in person",
    )
    # Waived is not overdue, however late.
    assert obligation.status_at(obligation.due_at + timedelta(days=9)) is Status.WAIVED
    (logged,) = events(incident, ReportingEventKind.WAIVED)
    assert logged.note == "IG briefed in person"
    with pytest.raises(Conflict):
        obligation_waive(ctx=as_olivia, obligation=obligation, reason="again", now=now)
    with pytest.raises(Conflict):
        submit(as_carol, obligation, submitted_at=now, now=now)


# --- supplementals and breaches --------------------------------------------------------------

# Supplemental tests: identified 2026-02-27 12:00Z; major as of 03-01 10:00 EST (15:00Z).
SUPP_BASIS = utc(2026, 3, 1, 15)
# Information 1: 03-01 22:30 EST = 03-02 03:30Z (UTC date already the next day).
INFO_1 = utc(2026, 3, 2, 3, 30)
# Information 2: 03-10 14:00 EDT = 18:00Z.
INFO_2 = utc(2026, 3, 10, 18)


def test_additional_information_creates_numbered_supplementals(open_incident, determine, as_carol):
    incident = open_incident(now=utc(2026, 2, 27, 12))
    determine(incident, basis_at=SUPP_BASIS, now=SUPP_BASIS)
    info1 = additional_information_record(
        ctx=as_carol, incident=incident, summary="Scope grew", recorded_at=INFO_1, now=INFO_1
    )
    info2 = additional_information_record(
        ctx=as_carol, incident=incident, summary="Actor named", recorded_at=INFO_2, now=INFO_2
    )
    first, second = ob(incident, "supplemental", 1), ob(incident, "supplemental", 2)
    # 03-01 + 14 = 03-15, ends 23:59:59.999999 EDT = 03-16 03:59:59.999999Z.
    assert first.due_at == utc(2026, 3, 16, 3, 59, 59, 999999)
    # 03-10 + 14 = 03-24, ends EDT = 03-25 03:59:59.999999Z.
    assert second.due_at == utc(2026, 3, 25, 3, 59, 59, 999999)
    assert (first.anchor_at, first.anchor_ref) == (INFO_1, f"additional_information:{info1.pk}")
    assert (second.anchor_at, second.anchor_ref) == (INFO_2, f"additional_information:{info2.pk}")
    assert "Office of Inspector General" in first.recipients
    assert str(first).endswith("Supplemental report to Congress #1")
    assert str(second).endswith("Supplemental report to Congress #2")
    assert [k for k in obligations(incident) if k[0] == "supplemental"] == [
        ("supplemental", 1),
        ("supplemental", 2),
    ]
    # Meeting the first leaves the second open.
    submit(as_carol, first, submitted_at=INFO_2, now=INFO_2)
    assert ob(incident, "supplemental", 1).status_at(INFO_2) is Status.MET_ON_TIME
    assert ob(incident, "supplemental", 2).status_at(INFO_2) is Status.UPCOMING


def test_agency_offset_override_changes_the_supplemental_period(
    open_incident, determine, as_carol, agency_a
):
    incident = open_incident(now=utc(2026, 2, 27, 12))
    RuleSetAdoption.objects.create(
        agency=agency_a,
        ruleset=incident.ruleset,
        adopted_at=utc(2021, 1, 1),
        # congress-7-day does not allow an agency offset: the override must be ignored.
        offsets={"supplemental": 10, "congress-7-day": 30},
    )
    determine(incident, basis_at=SUPP_BASIS, now=SUPP_BASIS)
    additional_information_record(
        ctx=as_carol, incident=incident, summary="Scope grew", recorded_at=INFO_1, now=INFO_1
    )
    # 03-01 + 10 = 03-11, ends 23:59:59.999999 EDT = 03-12 03:59:59.999999Z.
    assert ob(incident, "supplemental", 1).due_at == utc(2026, 3, 12, 3, 59, 59, 999999)
    # 03-01 + 7 = 03-08 (the spring-forward day), ends EDT = 03-09 03:59:59.999999Z.
    assert ob(incident, "congress-7-day").due_at == utc(2026, 3, 9, 3, 59, 59, 999999)
    assert (
        ObligationRule.objects.get(ruleset=incident.ruleset, key="supplemental").offset_amount == 14
    )


def test_supplementals_only_for_information_at_or_after_the_basis(
    open_incident, determine, as_carol
):
    incident = open_incident(now=utc(2026, 2, 27, 12))
    before = utc(2026, 2, 28, 12)
    additional_information_record(
        ctx=as_carol, incident=incident, summary="Early note", recorded_at=before, now=before
    )
    determine(incident, basis_at=SUPP_BASIS, now=SUPP_BASIS)
    assert not [k for k in obligations(incident) if k[0] == "supplemental"]
    # Recorded exactly at the basis time: counts. Its sequence follows the record's position
    # among all the incident's records (2), so numbers stay put when a correction moves the
    # basis.
    additional_information_record(
        ctx=as_carol,
        incident=incident,
        summary="At basis",
        recorded_at=SUPP_BASIS,
        now=utc(2026, 3, 1, 16),
    )
    assert [k for k in obligations(incident) if k[0] == "supplemental"] == [("supplemental", 2)]
    # 03-01 + 14 = 03-15, ends EDT = 03-16 03:59:59.999999Z.
    assert ob(incident, "supplemental", 2).due_at == utc(2026, 3, 16, 3, 59, 59, 999999)

    # A correction to an earlier basis brings in the early note...
    now = utc(2026, 3, 1, 17)
    determine(incident, basis_at=utc(2026, 2, 28, 11), now=now)
    early = ob(incident, "supplemental", 1)
    # 02-28 + 14 = 03-14, ends EDT = 03-15 03:59:59.999999Z.
    assert early.due_at == utc(2026, 3, 15, 3, 59, 59, 999999)
    assert early.withdrawn_at is None
    # ...and one to a later basis withdraws both.
    now = utc(2026, 3, 1, 18)
    determine(incident, basis_at=utc(2026, 3, 1, 15, 0, 0, 1), now=now)
    assert ob(incident, "supplemental", 1).status_at(now) is Status.WITHDRAWN
    assert ob(incident, "supplemental", 2).status_at(now) is Status.WITHDRAWN


def test_breach_creates_the_thirty_day_report(open_incident, determine):
    incident = open_incident(now=utc(2026, 2, 20, 14))
    # Discovered 02-20 10:00 EST (15:00Z): 02-20 + 30 = 03-22, ends 23:59:59.999999 EDT
    # = 03-23 03:59:59.999999Z.
    det = determine(
        incident,
        basis_at=utc(2026, 2, 21, 12),
        now=utc(2026, 2, 21, 13),
        breach=True,
        breach_discovered_at=utc(2026, 2, 20, 15),
        pii_individuals=150_000,
        pii_acts=["exfiltration"],
    )
    report = ob(incident, "major-breach-30-day")
    assert report.due_at == utc(2026, 3, 23, 3, 59, 59, 999999)
    assert report.anchor_at == utc(2026, 2, 20, 15)
    assert report.anchor_ref == f"determination:{det.pk}"
    assert {"House Committee on the Judiciary", "Senate Committee on the Judiciary"} <= set(
        report.recipients
    )
    assert set(obligations(incident)) == {("cisa-initial", 1), ("major-breach-30-day", 1)} | {
        (k, 1) for k in MAJOR_KEYS
    }
    # A correction of the discovery time moves it: 02-20 23:30 EST (02-21 04:30Z) is still
    # local 02-20; 02-21 00:30 EST (05:30Z) is 02-21 -> 03-23 ends EDT = 03-24 03:59:59.999999Z.
    determine(
        incident,
        basis_at=utc(2026, 2, 21, 12),
        now=utc(2026, 2, 21, 14),
        breach=True,
        breach_discovered_at=utc(2026, 2, 21, 4, 30),
    )
    assert ob(incident, "major-breach-30-day").due_at == utc(2026, 3, 23, 3, 59, 59, 999999)
    now = utc(2026, 2, 21, 15)
    determine(
        incident,
        basis_at=utc(2026, 2, 21, 12),
        now=now,
        breach=True,
        breach_discovered_at=utc(2026, 2, 21, 5, 30),
    )
    assert ob(incident, "major-breach-30-day").due_at == utc(2026, 3, 24, 3, 59, 59, 999999)
    assert parse(recomputed(incident, now)["major-breach-30-day"]["old_due"]) == utc(
        2026, 3, 23, 3, 59, 59, 999999
    )
    # No longer a breach: withdrawn.
    now = utc(2026, 2, 21, 16)
    determine(incident, basis_at=utc(2026, 2, 21, 12), now=now)
    assert ob(incident, "major-breach-30-day").status_at(now) is Status.WITHDRAWN
    assert ob(incident, "congress-7-day").status_at(now) is Status.UPCOMING


def test_major_without_breach_has_no_breach_report(open_incident, determine):
    incident = open_incident(now=utc(2026, 2, 20, 14))
    determine(incident, basis_at=utc(2026, 2, 21, 12), now=utc(2026, 2, 21, 13))
    assert ("major-breach-30-day", 1) not in obligations(incident)


# --- refusals that store nothing -------------------------------------------------------------


@pytest.mark.parametrize(
    "more",
    [
        {"basis_at": utc(2026, 3, 6, 15) + ONE_MICROSECOND},
        {"basis_at": utc(2026, 3, 7)},
        # Before the incident was identified.
        {"basis_at": utc(2026, 3, 2, 11, 59, 59, 999999)},
        {
            "basis_at": utc(2026, 3, 6, 15),
            "breach": True,
            "breach_discovered_at": utc(2026, 3, 6, 15) + ONE_MICROSECOND,
        },
        {"basis_at": utc(2026, 3, 6, 15), "breach": True},
    ],
)
def test_invalid_determination_stores_nothing(open_incident, determine, more):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    events_before = IncidentEvent.objects.filter(incident=incident).count()
    with pytest.raises(InvalidInput) as caught:
        determine(incident, now=utc(2026, 3, 6, 15), **more)
    assert caught.value.extra["field"] in ("basis_at", "breach_discovered_at")
    assert not Determination.objects.exists()
    assert list(obligations(incident)) == [("cisa-initial", 1)]
    assert IncidentEvent.objects.filter(incident=incident).count() == events_before


def test_future_correction_leaves_the_current_determination(open_incident, determine):
    incident = open_incident(now=utc(2026, 3, 2, 12))
    first = determine(incident, basis_at=FIRST_BASIS, now=utc(2026, 3, 6, 15, 30))
    snapshot = {k: (o.due_at, o.withdrawn_at) for k, o in obligations(incident).items()}
    events_before = IncidentEvent.objects.filter(incident=incident).count()
    now = utc(2026, 3, 6, 16)
    with pytest.raises(InvalidInput):
        determine(incident, "not_major", basis_at=now + timedelta(minutes=1), now=now)
    assert current_determination(incident) == first
    assert Determination.objects.count() == 1
    assert {k: (o.due_at, o.withdrawn_at) for k, o in obligations(incident).items()} == snapshot
    assert IncidentEvent.objects.filter(incident=incident).count() == events_before


# --- status in the database and in Python agree ----------------------------------------------


@pytest.fixture
def every_status(open_incident, determine, as_carol, as_olivia):
    """Obligations that, at the right moments, are in each of the seven statuses."""
    incident = open_incident(now=utc(2026, 3, 2, 12))  # cisa-initial due 03-02 13:00Z
    determine(incident, basis_at=FIRST_BASIS, now=utc(2026, 3, 6, 15, 30))
    # Met exactly at the due instant (on time) and one microsecond after (late).
    submit(
        as_carol,
        ob(incident, "cisa-major-update"),
        submitted_at=FIRST_CISA,
        now=utc(2026, 3, 6, 16, 30),
    )
    submit(
        as_carol,
        ob(incident, "cisa-initial"),
        submitted_at=utc(2026, 3, 2, 13) + ONE_MICROSECOND,
        now=utc(2026, 3, 6, 16, 30),
    )
    obligation_waive(
        ctx=as_olivia,
        obligation=ob(incident, "ig-7-day"),
        reason="Briefed",
        now=utc(2026, 3, 6, 16, 30),
    )
    additional_information_record(
        ctx=as_carol,
        incident=incident,
        summary="More",
        recorded_at=utc(2026, 3, 6, 17),
        now=utc(2026, 3, 6, 17),
    )
    # A second incident whose major obligations were withdrawn.
    other = open_incident(now=utc(2026, 3, 3, 12))
    determine(other, basis_at=utc(2026, 3, 4, 12), now=utc(2026, 3, 4, 12))
    determine(other, "not_major", basis_at=utc(2026, 3, 4, 12), now=utc(2026, 3, 4, 13))
    return list(Obligation.objects.select_related("rule"))


def _compare(now: datetime) -> set[str]:
    in_db = dict(Obligation.objects.with_status(now).values_list("pk", "status"))
    in_python = {o.pk: o.status_at(now).value for o in Obligation.objects.all()}
    assert in_db == in_python, now
    return set(in_db.values())


def test_with_status_agrees_with_status_at_on_every_boundary(every_status):
    window = due_soon_window()
    nows = {utc(2026, 3, 1), utc(2026, 4, 30)}
    for o in every_status:
        for edge in (o.due_at, o.due_at - window):
            nows |= {edge - ONE_MICROSECOND, edge, edge + ONE_MICROSECOND}
    seen = set()
    for now in sorted(nows):
        seen |= _compare(now)
    assert seen == {s.value for s in Status}


def test_with_status_agrees_with_status_at_anywhere(every_status):
    congress = next(o for o in every_status if o.rule.key == "congress-7-day")
    center = congress.due_at

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        offset=st.one_of(
            st.integers(min_value=-2_000_000, max_value=2_000_000),  # microseconds around due
            st.integers(min_value=-(14 * 86_400 * 10**6), max_value=14 * 86_400 * 10**6),
        ),
        around_soon=st.booleans(),
    )
    def check(offset, around_soon):
        edge = center - due_soon_window() if around_soon else center
        _compare(edge + timedelta(microseconds=offset))

    check()


# --- incident numbers ------------------------------------------------------------------------


def test_rolled_back_opening_returns_its_number(open_incident, agency_a):
    now = utc(2026, 5, 1, 12)
    assert open_incident(now=now).number == "FTA-2026-0001"

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        assert open_incident(now=now).number == "FTA-2026-0002"
        raise Abort
    # The service's own transaction rolls back too: a duplicate indicator fails after the
    # number was allocated.
    dup = {"type": "ipv4", "value": "203.0.113.7"}
    with pytest.raises(InvalidInput):
        open_incident(now=now, indicators=[dup, dup])
    assert open_incident(now=now).number == "FTA-2026-0002"
    assert open_incident(now=now).number == "FTA-2026-0003"
    assert IncidentSequence.objects.get(agency=agency_a, year=2026).last_value == 3
    assert sorted(Incident.objects.values_list("sequence", flat=True)) == [1, 2, 3]


def test_number_year_is_the_agencys_local_year(open_incident):
    # 2027-01-01 03:00Z is still 2026-12-31 22:00 EST.
    assert open_incident(now=utc(2027, 1, 1, 3)).number == "FTA-2026-0001"
    # 2027-01-01 05:00Z is 00:00 EST: a new year, a new sequence.
    assert open_incident(now=utc(2027, 1, 1, 5)).number == "FTA-2027-0001"
    assert open_incident(now=utc(2027, 1, 1, 6)).number == "FTA-2027-0002"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("threads", [2, 6])
def test_concurrent_openings_get_distinct_gapless_numbers(
    ctx, alice, agency_a, web_system, threads
):
    as_alice = ctx(alice, agency_a)
    now = utc(2026, 5, 1, 12)
    barrier = threading.Barrier(threads)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def open_one(i: int) -> None:
        try:
            close_old_connections()
            barrier.wait(timeout=30)
            incident = incident_open(
                ctx=as_alice, title=f"Concurrent {i}", systems=[web_system.pk], now=now
            )
            with lock:
                numbers.append(incident.number)
        except BaseException as exc:  # re-raised in the main thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=open_one, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers)
    assert not errors, errors
    assert sorted(numbers) == [f"FTA-2026-{n:04d}" for n in range(1, threads + 1)]
    assert IncidentSequence.objects.get(agency=agency_a, year=2026).last_value == threads
    assert Incident.objects.filter(agency=agency_a).count() == threads
    # Each opening started its own clock.
    assert Obligation.objects.filter(rule__key="cisa-initial").count() == threads
